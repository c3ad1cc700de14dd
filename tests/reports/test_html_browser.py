"""report.html in a real browser: Debian's headless Chromium, driven by Playwright.

Playwright drives the installed /usr/bin/chromium over the Chrome DevTools Protocol
(``executable_path``); it never downloads a browser of its own. The test skips only
when Chromium is missing outside CI; under CI (the env var CI set, as .ci/run is run)
a missing Chromium or Playwright fails it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from connectors.seed import read_seed
from kpi_engine import ScoringSettings, score_partners
from partner_kpi.reports.html import write_report_html
from tests.kpi_engine.builders import AS_OF, partner, won
from tests.reports.report_data import (
    AMPERSAND_NAME,
    BREAKOUT_NAME,
    HOSTILE_ID,
    HOSTILE_STAGE,
    SCRIPT_NAME,
    hostile_input,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

#: The flags this machine's Chromium needs headless as root (Playwright adds
#: --headless and --no-sandbox, and a new empty --user-data-dir for every launch).
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DRAW_TIMEOUT_S = 30.0


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    return found


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    assert executable is not None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Visit:
    """A page opened from a file, with everything that went wrong while it was open."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


OpenReport = Callable[[Path], "Visit"]


@pytest.fixture
def open_report(browser: Browser) -> Iterator[OpenReport]:
    visits: list[Visit] = []

    def open_(path: Path) -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        visit = Visit(page)
        page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                visit.errors.append(f"console {message.type}: {message.text}")
                if message.type in ("error", "warning")
                else None
            ),
        )

        def on_dialog(dialog: Dialog) -> None:
            visit.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("request", lambda request: visit.requests.append(request.url))
        # the page must work offline: anything but the file itself is refused and noted
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file:") else route.abort()
            ),
        )
        page.goto(path.as_uri(), wait_until="load")
        visits.append(visit)
        return visit

    yield open_
    for visit in visits:
        visit.page.context.close()


def chart_ids(page: Page) -> list[str]:
    ids: list[str] = page.evaluate(
        "Array.from(document.querySelectorAll('.chart[data-spec]'), c => c.id)"
    )
    return ids


def wait_drawn(page: Page, chart_id: str) -> None:
    """Scroll the chart into view (charts are drawn as they near the screen) and wait
    until plotly has put its SVG into it."""
    holder = page.locator(f"[id='{chart_id}']")
    holder.scroll_into_view_if_needed()
    deadline = time.monotonic() + DRAW_TIMEOUT_S
    while True:
        drawn = page.evaluate(
            "id => { const c = document.getElementById(id);"
            " return !!c && c.classList.contains('js-plotly-plot')"
            " && c.querySelectorAll('.plotly .main-svg').length > 0; }",
            chart_id,
        )
        if drawn:
            return
        assert time.monotonic() < deadline, f"chart {chart_id} was not drawn"
        page.wait_for_timeout(50)


def assert_clean(visit: Visit) -> None:
    assert visit.errors == []
    assert visit.dialogs == []
    assert [url for url in visit.requests if not url.startswith("file:")] == []


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = hostile_input()
    path = tmp_path_factory.mktemp("browser") / "report.html"
    write_report_html(data.result, path, **data.kwargs())
    return path


def test_every_chart_renders_without_script_errors(
    open_report: OpenReport, hostile_report: Path
) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    ids = chart_ids(page)
    # overview 4 (with the tier trend); per partner the components, and channels and
    # stages for the two with closed won deals, and the trend for the three in both runs
    assert len(ids) == 4 + 4 + 2 + 2 + 3
    page.click("#open-all")
    for chart_id in ids:
        wait_drawn(page, chart_id)
    assert page.locator(".chart .main-svg").count() >= len(ids)
    assert_clean(visit)


def test_hostile_partner_names_show_as_text_and_run_nothing(
    open_report: OpenReport, hostile_report: Path
) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    names = page.locator("#ranking-table td.partner").all_inner_texts()
    assert any(name.startswith(SCRIPT_NAME) for name in names)
    assert any(name.startswith(BREAKOUT_NAME) for name in names)
    assert any(name.startswith(AMPERSAND_NAME) for name in names)
    assert page.get_by_text(SCRIPT_NAME, exact=True).first.is_visible()
    # no element came out of a name: only the page's own two scripts and the JSON blocks
    assert page.locator("script:not([type='application/json'])").count() == 2
    assert page.locator("img").count() == 0
    assert page.locator("b").count() == 0

    card_id: str = page.evaluate(
        "pid => Array.from(document.querySelectorAll('details.scorecard'))"
        ".find(d => d.dataset.partnerId === pid).id",
        HOSTILE_ID,
    )
    page.locator(f"[id='{card_id}'] > summary").click()
    stages_id = f"{card_id}-stages"
    wait_drawn(page, stages_id)
    ticks = page.locator(f"[id='{stages_id}'] .xtick text").all_text_contents()
    assert ticks == [HOSTILE_STAGE]

    # plotly's hover text lists the partners of a score band, literally
    wait_drawn(page, "chart-distribution")
    curves = page.evaluate(
        "() => { const gd = document.getElementById('chart-distribution');"
        " return gd.data.map(t => t.y.map((y, i) => [i, y])); }"
    )
    hovered = []
    for curve, points in enumerate(curves):
        for point, count in points:
            if count:
                page.wait_for_timeout(120)  # plotly drops hovers less than 50 ms apart
                page.evaluate(
                    "([c, p]) => Plotly.Fx.hover('chart-distribution',"
                    " [{curveNumber: c, pointNumber: p}])",
                    [curve, point],
                )
                hovered.append(page.locator("#chart-distribution .hovertext").text_content() or "")
    hover_text = "\n".join(hovered)
    assert SCRIPT_NAME in hover_text
    assert BREAKOUT_NAME in hover_text
    assert AMPERSAND_NAME in hover_text
    assert_clean(visit)


def test_bundled_dataset_page_works(
    open_report: OpenReport, bundled_seed: Path, tmp_path: Path
) -> None:
    dataset = read_seed(bundled_seed)
    settings = ScoringSettings()
    result = score_partners(
        dataset.partners,
        dataset.opportunities,
        dataset.stage_events,
        as_of=date(2017, 12, 31),
        settings=settings,
    )
    path = tmp_path / "report.html"
    stage_order = [s.name for s in sorted(dataset.stage_defs, key=lambda s: s.sort_order)]
    write_report_html(
        result, path, settings=settings, source={"kind": "seed"}, stage_order=stage_order
    )
    visit = open_report(path)
    page = visit.page
    for chart_id in ("chart-distribution", "chart-tiers", "chart-channels"):
        wait_drawn(page, chart_id)

    # a name in the table opens its scorecard, whose charts then draw
    best = result.partners[0]
    page.locator("#ranking-table td.partner a").first.click()
    card = page.locator("details#partner-1")
    assert card.get_attribute("open") is not None
    for suffix in ("components", "channels", "stages"):
        wait_drawn(page, f"partner-1-{suffix}")
    assert best.partner_name in card.locator("summary").inner_text()

    # sorting and filtering the table
    page.locator("#ranking-table th", has_text="Won amount").click()
    first = page.locator("#ranking-table tbody tr").first.get_attribute("data-partner-id")
    assert first == max(result.partners, key=lambda p: p.kpis.won_amount).partner_id
    page.fill("#ranking-filter", best.partner_name.lower())
    assert page.locator("#ranking-count").inner_text() == "1"
    assert_clean(visit)


#: Salesforce lets an Account Name be 255 characters; a CRM holds longer ones through
#: imports, and a name with no space cannot wrap at a word.
UNBROKEN_NAME = "X" * 300


@pytest.fixture(scope="module")
def long_name_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = ScoringSettings()
    partners = [partner("p1", UNBROKEN_NAME), partner("p2", "Acme Resellers")]
    opportunities = [
        won("o1", "p1", 1000.0, created=date(2017, 1, 10), closed=date(2017, 2, 9)),
        won("o2", "p2", 2000.0, created=date(2017, 3, 1), closed=date(2017, 4, 30)),
    ]
    result = score_partners(partners, opportunities, [], as_of=AS_OF, settings=settings)
    path = tmp_path_factory.mktemp("long-name") / "report.html"
    write_report_html(result, path, settings=settings, source={"kind": "seed", "path": "x"})
    return path


def test_an_unbroken_300_character_name_keeps_the_table_on_screen(
    open_report: OpenReport, long_name_report: Path
) -> None:
    """The name wraps inside its cell: the partner column stays as narrow as a normal
    name's, the score beside it stays within the 1280-pixel viewport, and the page
    itself never scrolls sideways (the KPI columns scroll inside their own frame)."""
    visit = open_report(long_name_report)
    page = visit.page
    page.click("#open-all")
    widths = page.evaluate(
        "() => Array.from(document.querySelectorAll('#ranking-table td.partner'),"
        " c => c.getBoundingClientRect().width)"
    )
    assert len(widths) == 2
    assert max(widths) <= 340
    score_right = page.evaluate(
        "() => document.querySelector('#ranking-table td.score').getBoundingClientRect().right"
    )
    assert score_right < 1280
    page_overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert page_overflow <= 0
    assert_clean(visit)

"""report.html in a real browser (tests/reports/browser.py): every chart draws, CRM
strings show as text and run nothing, and the bundled dataset's page works end to end."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kpi_engine import ScoringSettings, score_partners
from partner_kpi.reports.html import write_report_html
from tests.kpi_engine.builders import AS_OF, partner, won
from tests.reports.browser import (
    OpenReport,
    assert_clean,
    chart_ids,
    figure,
    open_scorecard,
    wait_drawn,
    wait_open,
)
from tests.reports.conftest import BundledReport
from tests.reports.report_data import (
    AMPERSAND_NAME,
    BREAKOUT_NAME,
    HOSTILE_ID,
    HOSTILE_STAGE,
    SCRIPT_NAME,
)


def test_every_chart_renders_without_script_errors(
    open_report: OpenReport, hostile_report: Path
) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    # the overview 4 (with the tier trend); a scorecard's charts exist once it is opened
    assert len(chart_ids(page)) == 4
    page.click("#open-all")
    # per partner the components, and channels and stages for the two with closed won
    # deals, and the trend for the three in both runs
    expected = 4 + 4 + 2 + 2 + 3
    # a scorecard is filled on its toggle event, which the browser dispatches as a task
    # after the click: wait for the charts to be made before counting them
    page.wait_for_function(
        "n => document.querySelectorAll('.chart').length >= n", arg=expected, timeout=15_000
    )
    ids = chart_ids(page)
    assert len(ids) == expected
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
    open_report: OpenReport, deals_only_report: BundledReport
) -> None:
    result, path = deals_only_report.result, deals_only_report.path
    visit = open_report(path)
    page = visit.page
    for chart_id in ("chart-distribution", "chart-tiers", "chart-channels"):
        wait_drawn(page, chart_id)

    # a name in the table opens its scorecard, whose charts then draw
    best = result.partners[0]
    page.locator("#ranking-table td.partner a").first.click()
    wait_open(page, "partner-1")
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
    names = page.locator("#ranking-table td.partner a").all_text_contents()
    assert UNBROKEN_NAME in names  # the whole name, literally
    assert UNBROKEN_NAME in page.locator("details.scorecard strong.name").all_text_contents()
    score_right = page.evaluate(
        "() => document.querySelector('#ranking-table td.score').getBoundingClientRect().right"
    )
    assert score_right < 1280
    page_overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert page_overflow <= 0
    assert_clean(visit)


def test_a_channel_group_with_nothing_won_reads_its_texts_sent_once(
    open_report: OpenReport, hostile_report: Path
) -> None:
    # the hostile partner won one deal, of an earned lead source; every other group has
    # nothing won and no closed deal, which the data block sends as 0 for the texts it
    # holds once
    visit = open_report(hostile_report)
    card_id = open_scorecard(visit.page, HOSTILE_ID)
    mine = figure(visit.page, f"{card_id}-channels")[0]
    nothing = "won 0 in 0 deal(s), close rate —"
    assert mine["hovertext"] == [
        nothing,
        nothing,
        "won 500 in 1 deal(s), close rate 100.0%",
        nothing,
        nothing,
    ]
    # Acme's days in each stage, whole days sent as integers
    card_id = open_scorecard(visit.page, "p1")
    assert figure(visit.page, f"{card_id}-stages")[0]["y"] == [20, 25]
    assert_clean(visit)

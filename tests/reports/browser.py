"""Opening report.html in a real browser: Debian's headless Chromium, driven by Playwright.

Playwright drives the installed /usr/bin/chromium over the Chrome DevTools Protocol
(``executable_path``); it never downloads a browser of its own. The fixtures that use
these helpers (conftest.py) skip only when Chromium is missing outside CI; under CI
(the env var CI set, as .ci/run is run) a missing Chromium or Playwright fails them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

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


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs it)")
    pytest.skip(reason)


@dataclass
class Visit:
    """A page opened from a file, with everything that went wrong while it was open."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


OpenReport = Callable[[Path], Visit]


def open_visit(browser: Browser, path: Path) -> Visit:
    """Open ``path`` in a fresh context, noting errors, dialogs and any request that
    leaves the file (each refused: the page must work offline)."""
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
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.as_uri(), wait_until="load")
    return visit


def chart_ids(page: Page) -> list[str]:
    ids: list[str] = page.evaluate("Array.from(document.querySelectorAll('.chart'), c => c.id)")
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


def figure(page: Page, chart_id: str) -> list[dict[str, object]]:
    """The traces plotly drew in a chart (after :func:`wait_drawn`)."""
    wait_drawn(page, chart_id)
    traces: list[dict[str, object]] = page.evaluate(
        "id => JSON.parse(JSON.stringify(document.getElementById(id).data))", chart_id
    )
    return traces


def table_cells(page: Page) -> list[list[str]]:
    """The ranked table's rows as drawn: each cell's text."""
    cells: list[list[str]] = page.evaluate(
        "() => Array.from(document.querySelectorAll('#ranking-table tbody tr'),"
        " r => Array.from(r.cells, c => c.innerText.replace(/\\s+/g, ' ').trim()))"
    )
    return cells


def show_every_row(page: Page) -> None:
    """Press "Show more" until the table holds every row that matches."""
    more = page.locator("#ranking-more")
    while more.is_visible():
        more.click()


def open_scorecard(page: Page, partner_id: str) -> str:
    """Open a partner's scorecard from its name in the ranked table (searching for it
    first); returns the scorecard's element id."""
    page.fill("#ranking-filter", partner_id.lower())
    row = page.locator(f"#ranking-table tbody tr[data-partner-id='{css_string(partner_id)}']")
    row.locator("td.partner a").click()
    href = row.locator("td.partner a").get_attribute("href")
    assert href is not None and href.startswith("#")
    card_id = href[1:]
    wait_open(page, card_id)
    return card_id


def wait_open(page: Page, card_id: str) -> None:
    """Wait until the scorecard ``card_id`` is open: a link to it changes the page's hash,
    and the page opens the card on the hashchange event, a task after the click (a card
    that never opens fails here, after the timeout)."""
    page.wait_for_function(
        "id => { const d = document.getElementById(id); return !!d && d.open; }",
        arg=card_id,
        timeout=DRAW_TIMEOUT_S * 1000,
    )


def css_string(text: str) -> str:
    """``text`` for a quoted CSS attribute value."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def assert_clean(visit: Visit) -> None:
    assert visit.errors == []
    assert visit.dialogs == []
    assert [url for url in visit.requests if not url.startswith("file:")] == []

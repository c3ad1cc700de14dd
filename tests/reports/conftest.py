"""One headless Chromium for the report tests that open report.html in a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reports.browser import (
    CHROMIUM_FLAGS,
    OpenReport,
    Visit,
    chromium_path,
    open_visit,
    unavailable,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    assert executable is not None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def open_report(browser: Browser) -> Iterator[OpenReport]:
    visits: list[Visit] = []

    def open_(path: Path) -> Visit:
        visit = open_visit(browser, path)
        visits.append(visit)
        return visit

    yield open_
    for visit in visits:
        visit.page.context.close()

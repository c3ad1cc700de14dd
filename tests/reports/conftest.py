"""What the report tests share: the hostile report input and its report.html (also with
toy funnel KPIs), the bundled data's deals alone scored and written as report.html, and one
headless Chromium for the tests that open report.html in a browser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from connectors.seed import read_seed
from kpi_engine import ScoringResult, ScoringSettings, score_partners
from partner_kpi.reports.html import write_report_html
from tests.reports.browser import (
    CHROMIUM_FLAGS,
    OpenReport,
    Visit,
    chromium_path,
    open_visit,
    unavailable,
)
from tests.reports.report_data import (
    TOY_ACTIVITY,
    TOY_FUNNEL,
    ReportInput,
    catalogue_of,
    hostile_input,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@dataclass(frozen=True)
class BundledReport:
    """A scoring of the bundled data and the report.html written from it."""

    result: ScoringResult
    path: Path


@pytest.fixture(scope="session")
def deals_only_report(
    bundled_seed: Path, tmp_path_factory: pytest.TempPathFactory
) -> BundledReport:
    """The bundled data's partners, opportunities and stage history alone (what a CRM with
    none of the other objects gives), scored as of 2017-12-31 with the default settings."""
    dataset = read_seed(bundled_seed)
    settings = ScoringSettings()
    result = score_partners(
        dataset.partners,
        dataset.opportunities,
        dataset.stage_events,
        as_of=date(2017, 12, 31),
        settings=settings,
    )
    stage_order = [s.name for s in sorted(dataset.stage_defs, key=lambda s: s.sort_order)]
    path = tmp_path_factory.mktemp("deals-only") / "report.html"
    write_report_html(
        result, path, settings=settings, source={"kind": "seed"}, stage_order=stage_order
    )
    return BundledReport(result, path)


@pytest.fixture(scope="module")
def data() -> ReportInput:
    """The hostile input: names with markup, quotes and breakouts, empty KPIs, two runs."""
    return hostile_input()


@pytest.fixture(scope="module")
def hostile_report(data: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of ``data``."""
    path = tmp_path_factory.mktemp("hostile") / "report.html"
    write_report_html(data.result, path, **data.kwargs())
    return path


@pytest.fixture(scope="module")
def funnel_data() -> ReportInput:
    """The hostile input scored with the toy funnel KPIs (report_data.TOY_FUNNEL)."""
    with catalogue_of(*TOY_FUNNEL):
        return hostile_input(TOY_ACTIVITY)


@pytest.fixture(scope="module")
def funnel_report(funnel_data: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of ``funnel_data``, written with the toy funnel KPIs in the catalogue."""
    path = tmp_path_factory.mktemp("funnel") / "report.html"
    with catalogue_of(*TOY_FUNNEL):
        write_report_html(funnel_data.result, path, **funnel_data.kwargs())
    return path


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

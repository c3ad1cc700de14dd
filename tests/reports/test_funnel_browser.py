"""The funnel, customers and service section as the page's script draws it, in headless
Chromium (tests/reports/browser.py): a scorecard's section opens with the partner's
values against the median, empty values with their reason, a missing object said once;
the ranked table adds any KPI as a sortable column. Toy KPIs first, then the catalogue's
own on the bundled data, with and without the objects they read."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kpi_engine import KPIS, ScoringSettings
from partner_kpi.run import run_seed_audit
from tests.reports.browser import (
    OpenReport,
    assert_clean,
    open_scorecard,
    table_cells,
    wait_open,
)
from tests.reports.conftest import BundledReport
from tests.reports.report_data import HOSTILE_ID, ReportInput

if TYPE_CHECKING:
    from playwright.sync_api import Locator


def funnel_part(card: Locator) -> Locator:
    return card.locator("div.funnel-kpis")


def test_a_scorecard_shows_the_funnel_kpis_against_the_median(
    open_report: OpenReport, funnel_report: Path
) -> None:
    visit = open_report(funnel_report)
    page = visit.page
    card = page.locator(f"[id='{open_scorecard(page, 'p1')}']")
    part = funnel_part(card)
    assert part.locator("h3").inner_text() == "Funnel, customers and service"
    rows = part.locator("tr[data-kpi]").evaluate_all("rs => rs.map(r => r.dataset.kpi)")
    assert rows == ["toy_lead_count", "toy_quote_days", "toy_lead_conversion"]
    # the opportunity KPIs' table above holds none of them
    first_table = card.locator("table.kpis").first
    assert first_table.locator("tr[data-kpi^='toy_']").count() == 0
    assert first_table.locator("tr[data-kpi='deal_count']").count() == 1

    # Acme: 9 leads against a median of 1.5 (9, 3, 0, 0), better; the bar spans 0 to 9
    leads = part.locator("tr[data-kpi='toy_lead_count']")
    assert leads.locator("td.value").inner_text() == "9"
    assert leads.locator("td.median").inner_text() == "1.5"
    fill = leads.locator("div.fill")
    assert "better" in (fill.get_attribute("class") or "")
    assert fill.evaluate("f => [f.style.left, f.style.width]") == ["0%", "100%"]
    tick = leads.locator("div.tick").evaluate("t => parseFloat(t.style.left)")
    assert tick == pytest.approx(100 * 1.5 / 9, abs=0.01)

    # 7.5 days against a median of 5.0, and lower is better: worse, and said so
    days = part.locator("tr[data-kpi='toy_quote_days']")
    assert days.locator("td.value").inner_text() == "7.5"
    assert days.locator("td.median").inner_text() == "5.0"
    assert "worse" in (days.locator("div.fill").get_attribute("class") or "")
    assert days.locator("span.lower").inner_text() == "lower is better"
    assert leads.locator("span.lower").count() == 0

    # known for no partner although leads exist: a dash and the reason, no bar
    conversion = part.locator("tr[data-kpi='toy_lead_conversion']")
    assert conversion.locator("td.value").inner_text() == "—"
    assert conversion.locator("span.empty").inner_text() == "empty: no lead created in the window"
    assert conversion.locator("div.fill").count() == 0

    # the CRM has no calls: one line for both KPIs that read them, no row of blanks
    (missing,) = part.locator("tr.missing").all()
    assert missing.get_attribute("data-object") == "calls"
    assert missing.inner_text().split("\t") == [
        "Value-added calls (toy), Calls per lead (toy)",
        "no call data in the CRM",
    ]
    assert card.locator("tr[data-kpi='toy_value_calls']").count() == 0
    assert card.inner_text().count("no call data in the CRM") == 1
    assert_clean(visit)


def test_an_empty_funnel_kpi_shows_a_dash_and_why(
    open_report: OpenReport, funnel_report: Path
) -> None:
    visit = open_report(funnel_report)
    page = visit.page
    card = page.locator(f"[id='{open_scorecard(page, 'p4')}']")
    days = funnel_part(card).locator("tr[data-kpi='toy_quote_days']")
    assert days.locator("td.value").inner_text() == "—"
    assert days.locator("td.value").get_attribute("title") == "empty: no quote sent in the window"
    assert days.locator("span.empty").inner_text() == "empty: no quote sent in the window"
    assert days.locator("div.fill").count() == 0
    leads = funnel_part(card).locator("tr[data-kpi='toy_lead_count']")
    assert leads.locator("td.value").inner_text() == "0"
    assert_clean(visit)


def test_the_table_adds_a_funnel_kpi_as_a_sortable_column(
    open_report: OpenReport, funnel_report: Path, funnel_data: ReportInput
) -> None:
    visit = open_report(funnel_report)
    page = visit.page
    head = page.locator("#ranking-table thead th")
    columns = head.count()
    page.select_option("#ranking-column", label="Quote turnaround (toy)")
    assert head.count() == columns + 1
    assert head.last.inner_text() == "Quote turnaround (toy)"
    days = {"p1": "7.5", HOSTILE_ID: "2.5", "p3": "—", "p4": "—"}
    assert [row[-1] for row in table_cells(page)] == [
        days[p.partner_id] for p in funnel_data.result.partners
    ]
    # sorted by it: largest first, the empty last (ties in rank order)
    head.last.click()
    ids = page.evaluate(
        "() => Array.from(document.querySelectorAll('#ranking-table tbody tr'),"
        " r => r.dataset.partnerId)"
    )
    assert ids[:2] == ["p1", HOSTILE_ID]
    assert [row[-1] for row in table_cells(page)] == ["7.5", "2.5", "—", "—"]
    # another choice replaces the column; none removes it
    page.select_option("#ranking-column", label="Leads (toy)")
    assert head.count() == columns + 1
    assert head.last.inner_text() == "Leads (toy)"
    assert [row[-1] for row in table_cells(page)] == ["9", "3", "0", "0"]
    page.select_option("#ranking-column", value="")
    assert head.count() == columns
    assert all(len(row) == columns for row in table_cells(page))
    # the missing object's KPIs are not offered
    offered = page.locator("#ranking-column option").all_inner_texts()
    assert "Value-added calls (toy)" not in offered
    assert_clean(visit)


# -- the catalogue's own funnel KPIs on the bundled data -------------------------------------


def funnel_names() -> list[str]:
    return [kpi.name for kpi in KPIS if kpi.funnel and kpi.kind.numeric]


def shown(kind: str, value: float | None) -> str:
    """How the page writes a value of each kind the funnel KPIs have (KPIS.md units)."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "rate":
        return f"{100 * value:.1f}%"
    return f"{value:,.1f}"  # days, and averages such as tickets per customer


def test_the_bundled_audit_shows_every_funnel_kpi_of_the_catalogue(
    open_report: OpenReport, bundled_seed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    settings = ScoringSettings()
    run = run_seed_audit(bundled_seed, as_of=date(2017, 12, 31), settings=settings, out=out)
    names = funnel_names()
    assert names, "the catalogue has KPIs that read leads, quotes, cases, calls or line items"
    visit = open_report(out / "report.html")
    page = visit.page
    # the summary: every one over the portfolio, none said missing (the bundled data has
    # every object), the partners with a value counted
    summary = page.locator("#portfolio-funnel")
    assert summary.locator("tr[data-kpi]").evaluate_all("rs => rs.map(r => r.dataset.kpi)") == (
        names
    )
    assert summary.locator("tr.missing").count() == 0
    partners = run.result.partners
    for name in names:
        count = sum(p.kpis.values[name] is not None for p in partners)
        share = summary.locator(f"tr[data-kpi='{name}'] td.share").inner_text()
        assert share == f"{count} of {len(partners)} ({round(100 * count / len(partners))}%)"
    # the best partner's scorecard: each one's value as the KPI's kind writes it
    page.locator("#ranking-table td.partner a").first.click()
    wait_open(page, "partner-1")
    part = funnel_part(page.locator("details#partner-1"))
    assert part.locator("tr[data-kpi]").evaluate_all("rs => rs.map(r => r.dataset.kpi)") == names
    best = partners[0]
    for name in names:
        value = best.kpis.values[name]
        assert isinstance(value, int | float | None)
        cell = part.locator(f"tr[data-kpi='{name}'] td.value").inner_text()
        assert cell == shown(KPIS[name].kind.name, value), name
    assert best.kpis.values["lead_count"] is not None
    assert_clean(visit)


def test_without_the_objects_each_is_said_missing_once_in_every_scorecard(
    open_report: OpenReport, deals_only_report: BundledReport
) -> None:
    # opportunities alone, as a CRM with none of the other objects gives them
    path = deals_only_report.path
    streams = list(dict.fromkeys(s for kpi in KPIS if kpi.kind.numeric for s in kpi.sources))
    visit = open_report(path)
    page = visit.page
    summary = page.locator("#portfolio-funnel")
    # what deals alone give stays listed (customers, retention, referrals)
    of_deals = [name for name in funnel_names() if not KPIS[name].sources]
    assert of_deals == [
        "referral_count", "customer_count", "customer_growth", "account_retention",
        "revenue_retention",
    ]  # fmt: skip
    listed = summary.locator("tr[data-kpi]").evaluate_all("rs => rs.map(r => r.dataset.kpi)")
    assert listed == of_deals
    missing = summary.locator("tr.missing")
    assert missing.evaluate_all("rs => rs.map(r => r.dataset.object)") == streams
    page.locator("#ranking-table td.partner a").first.click()
    wait_open(page, "partner-1")
    part = funnel_part(page.locator("details#partner-1"))
    assert part.locator("tr[data-kpi]").evaluate_all("rs => rs.map(r => r.dataset.kpi)") == (
        of_deals
    )
    notes = part.locator("tr.missing td.note").all_inner_texts()
    assert len(notes) == len(streams)
    assert "no lead data in the CRM" in notes
    assert "no line item data in the CRM" in notes
    # every funnel KPI of another object is named once, on its object's line
    labels = ", ".join(part.locator("tr.missing td:first-child").all_inner_texts())
    for name in set(funnel_names()) - set(of_deals):
        assert labels.count(KPIS[name].label) == 1, name
    assert_clean(visit)

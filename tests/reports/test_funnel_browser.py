"""The funnel, customers and service section as the page's script draws it, in headless
Chromium (tests/reports/browser.py): a scorecard's section opens with the partner's
values against the median, empty values with their reason, a missing object said once;
the ranked table adds any KPI as a sortable column."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reports.browser import OpenReport, assert_clean, open_scorecard, table_cells
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

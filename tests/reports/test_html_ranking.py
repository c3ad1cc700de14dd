"""The ranked table and the scorecards as the page's script draws them from the data
block, in headless Chromium (tests/reports/browser.py): the numbers shown, the bars
against the median, the charts of an opened scorecard, and search, sort and the tier
filter at a few thousand partners."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kpi_engine import ScoringResult, ScoringSettings, score_partners
from partner_kpi.reports.html import write_report_html
from tests.kpi_engine.builders import AS_OF, lost, open_opp, partner, won
from tests.reports.browser import (
    OpenReport,
    assert_clean,
    figure,
    open_scorecard,
    show_every_row,
    table_cells,
    wait_drawn,
)
from tests.reports.report_data import (
    AMPERSAND_NAME,
    BREAKOUT_NAME,
    HOSTILE_ID,
    SCRIPT_NAME,
    ReportInput,
)


def test_the_table_shows_every_partner_in_rank_order_with_its_numbers(
    open_report: OpenReport, hostile_report: Path, data: ReportInput
) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    ids = page.evaluate(
        "() => Array.from(document.querySelectorAll('#ranking-table tbody tr'),"
        " r => r.dataset.partnerId)"
    )
    assert ids == [p.partner_id for p in data.result.partners]
    cells = table_cells(page)
    for rank, (row, score) in enumerate(zip(cells, data.result.partners, strict=True), 1):
        assert row[0] == str(rank)
        assert row[1] == f"{score.partner_name} {score.partner_id}"
        assert row[2] == f"{score.score:.1f}"
        assert row[3] == score.tier
    titles = page.locator("#ranking-table td.drivers").evaluate_all("cs => cs.map(c => c.title)")
    assert titles == [p.drivers_text() for p in data.result.partners]
    assert cells[0][5:] == ["3", "6,000", "75.0%", "5,000", "36.7"]  # 36.7 = (30 + 60 + 20) / 3
    assert cells[3][5:] == ["0", "0", "—", "0", "—"]
    # drivers in plain words, with the partner's percentiles
    best = data.result.partners[0]
    assert cells[0][4].startswith("▲ ") and "▼ " in cells[0][4]
    for name in best.drivers.strong:
        assert f"(p{round(100 * best.percentiles[name])})" in cells[0][4]
    assert page.locator("#ranking-count").inner_text() == "4"
    # hostile names are text in the cells, and made no element of their own
    assert {row[1] for row in cells} >= {
        f"{SCRIPT_NAME} {HOSTILE_ID}",
        f"{BREAKOUT_NAME} p3",
        f"{AMPERSAND_NAME} p4",
    }
    assert page.locator("img, b").count() == 0
    assert_clean(visit)


def test_a_scorecard_shows_each_kpi_against_the_portfolio_median(
    open_report: OpenReport, hostile_report: Path, data: ReportInput
) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    # the best partners' scorecards are listed collapsed, in rank order
    listed = page.locator("details.scorecard").evaluate_all(
        "ds => ds.map(d => [d.dataset.partnerId, d.open])"
    )
    assert listed == [[p.partner_id, False] for p in data.result.partners]
    card_id = open_scorecard(page, "p1")
    card = page.locator(f"[id='{card_id}']")
    assert card.evaluate("d => d.open") is True
    rows = card.locator("tr[data-kpi]")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.kpi)")[:3] == [
        "deal_count",
        "won_amount",
        "missing_amount_count",
    ]
    won_amount = card.locator("tr[data-kpi='won_amount']")
    assert won_amount.locator("td.value").inner_text() == "6,000"
    # won amounts 6000, 500, 0, 0: the median is 250
    assert won_amount.locator("td.median").inner_text() == "250"
    fill = won_amount.locator("div.fill")
    assert "better" in (fill.get_attribute("class") or "")
    assert fill.evaluate("f => [f.style.left, f.style.width]") == ["0%", "100%"]
    tick = won_amount.locator("div.tick").evaluate("t => parseFloat(t.style.left)")
    assert tick == pytest.approx(100 * 250 / 6000, abs=0.01)
    close_rate = card.locator("tr[data-kpi='close_rate'] td.value").inner_text()
    assert close_rate == "75.0%"
    # lower is better for the sales cycle: 36.7 days against a median of 38.3
    cycle = card.locator("tr[data-kpi='sales_cycle_days'] div.fill").get_attribute("class")
    assert "better" in (cycle or "")
    text = card.inner_text()
    assert "Strongest:" in text and "Weakest:" in text
    assert "Top channel: Owned (owned)." in text
    assert "Portfolio median" in text
    assert_clean(visit)


def test_empty_kpis_show_a_dash_and_why(open_report: OpenReport, hostile_report: Path) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    card = page.locator(f"[id='{open_scorecard(page, 'p4')}']")
    cell = card.locator("tr[data-kpi='avg_deal_size'] td.value")
    assert cell.inner_text() == "—"
    assert cell.get_attribute("title") == "empty: no won deal with an amount in the window"
    assert card.locator("tr[data-kpi='avg_deal_size'] div.fill").count() == 0
    text = " ".join(card.inner_text().split())
    assert "Channel mix: no won amount in the window." in text
    assert "Days in each stage: no deal of this partner closed" in text
    assert "this partner was scored in one run only" in text
    assert_clean(visit)


def test_an_opened_scorecard_draws_components_channels_stages_and_trend(
    open_report: OpenReport, hostile_report: Path, data: ReportInput
) -> None:
    visit = open_report(hostile_report)
    page = visit.page
    acme = data.result.partners[0]
    card_id = open_scorecard(page, acme.partner_id)
    components = figure(page, f"{card_id}-components")[0]
    assert sorted(components["x"]) == sorted(  # type: ignore[call-overload]
        round(100 * value) for value in acme.percentiles.values()
    )
    channels = figure(page, f"{card_id}-channels")
    assert channels[0]["x"] == ["Paid", "Owned", "Earned", "Other sources", "No lead source"]
    assert channels[0]["y"] == [33.3, 66.7, 0.0, 0.0, 0.0]  # 2000 paid, 4000 owned of 6000
    # o2 (Paid Search) won; o1 and o3 (Web) won; o4, with no lead source, lost; no deal
    # closed through an earned or other source, so their close rate is empty
    assert channels[0]["hovertext"] == [
        "won 2,000 in 1 deal(s), close rate 100.0%",
        "won 4,000 in 2 deal(s), close rate 100.0%",
        "won 0 in 0 deal(s), close rate —",
        "won 0 in 0 deal(s), close rate —",
        "won 0 in 0 deal(s), close rate 0.0%",
    ]
    stages = figure(page, f"{card_id}-stages")
    assert stages[0]["x"] == ["Prospecting", "Engaging"]  # pipeline order, not by name
    assert stages[0]["y"] == [20.0, 25.0]
    trend = figure(page, f"{card_id}-trend")[0]
    assert trend["x"] == ["2017-06-30", "2017-12-31"]
    assert trend["y"] == [60.0, acme.score]
    assert_clean(visit)


def test_a_partner_beyond_the_listed_scorecards_opens_from_the_table(
    open_report: OpenReport, data: ReportInput, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    write_report_html(data.result, path, **data.kwargs(scorecard_limit=2))
    visit = open_report(path)
    page = visit.page
    assert page.locator("details.scorecard").count() == 2
    card_id = open_scorecard(page, "p4")
    card = page.locator(f"[id='{card_id}']")
    assert card.evaluate("d => [d.open, d.dataset.partnerId]") == [True, "p4"]
    assert AMPERSAND_NAME in card.locator("summary").inner_text()
    wait_drawn(page, f"{card_id}-components")
    assert page.locator("details.scorecard").count() == 3
    assert_clean(visit)


# -- a few thousand partners -------------------------------------------------------------

MANY = 3000


@pytest.fixture(scope="module")
def many() -> ScoringResult:
    """3,000 partners with 0 to 3 won deals of varying amounts and closing days, some lost
    and some open deals: partners in every tier."""
    partners = [partner(f"p{i:05d}", f"Reseller {i % 50:02d}-{i:05d}") for i in range(MANY)]
    opportunities = []
    for i in range(MANY):
        pid = f"p{i:05d}"
        for d in range(i % 4):
            amount = float(100 * ((i * 7 + d) % 89 + 1))
            closed = date(2017, 1 + (i + d) % 12, 1 + i % 28)
            opportunities.append(won(f"w{i}-{d}", pid, amount, created=date(2017, 1, 1),
                                     closed=closed))  # fmt: skip
        if i % 5 < 2:
            opportunities.append(lost(f"l{i}", pid, created=date(2017, 2, 1),
                                      closed=date(2017, 3, 1)))  # fmt: skip
        if i % 7 < 3:
            opportunities.append(open_opp(f"n{i}", pid, float(50 * (i % 13 + 1)),
                                          created=date(2017, 11, 1)))  # fmt: skip
    return score_partners(partners, opportunities, [], as_of=AS_OF, settings=ScoringSettings())


@pytest.fixture(scope="module")
def many_report(many: ScoringResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("many") / "report.html"
    write_report_html(many, path, settings=ScoringSettings(), source={"kind": "test"})
    return path


def test_a_table_of_thousands_searches_filters_by_tier_and_sorts(
    open_report: OpenReport, many_report: Path, many: ScoringResult
) -> None:
    visit = open_report(many_report)
    page = visit.page
    rows = page.locator("#ranking-table tbody tr")
    assert page.locator("#ranking-count").inner_text() == str(MANY)
    assert 0 < rows.count() < MANY  # a page of rows; more on demand

    # search: name or id, any case
    page.fill("#ranking-filter", "RESELLER 07-")
    hits = [p for p in many.partners if "reseller 07-" in p.partner_name.lower()]
    assert len(hits) == MANY // 50
    assert page.locator("#ranking-count").inner_text() == str(len(hits))
    show_every_row(page)
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.partnerId)")
    assert shown == [p.partner_id for p in hits]

    # the tier filter, with the search cleared: every row of the tier, and only those
    page.fill("#ranking-filter", "")
    tiers = {p.tier for p in many.partners}
    assert len(tiers) == 4
    for tier in sorted(tiers):
        page.select_option("#ranking-tier", tier)
        counted = sum(1 for p in many.partners if p.tier == tier)
        assert page.locator("#ranking-count").inner_text() == str(counted)
        show_every_row(page)
        assert rows.count() == counted
        assert set(page.locator("#ranking-table tbody .badge").all_inner_texts()) == {tier}

    # sorting by won amount within the tier filter: largest first, ties in rank order
    tier = sorted(tiers)[0]
    page.select_option("#ranking-tier", tier)
    page.locator("#ranking-table th", has_text="Won amount").click()
    in_tier = [p for p in many.partners if p.tier == tier]
    by_amount = sorted(in_tier, key=lambda p: -p.kpis.won_amount)
    first = rows.evaluate_all("rs => rs.slice(0, 5).map(r => r.dataset.partnerId)")
    assert first == [p.partner_id for p in by_amount[:5]]
    page.locator("#ranking-table th", has_text="Won amount").click()  # then smallest first
    smallest = min(in_tier, key=lambda p: p.kpis.won_amount)  # the first of equals
    assert rows.first.get_attribute("data-partner-id") == smallest.partner_id
    assert_clean(visit)


def test_a_scorecard_far_down_a_table_of_thousands_opens_with_its_chart(
    open_report: OpenReport, many_report: Path, many: ScoringResult
) -> None:
    visit = open_report(many_report)
    page = visit.page
    assert page.locator("details.scorecard").count() == 200  # the best, listed collapsed
    last = many.partners[-1]
    card_id = open_scorecard(page, last.partner_id)
    card = page.locator(f"[id='{card_id}']")
    assert card.evaluate("d => d.open") is True
    assert last.partner_name in card.locator("summary").inner_text()
    rank = 1 + sum(1 for p in many.partners if p.score > last.score)  # ties share a rank
    assert card.locator("summary .rank").inner_text() == f"#{rank}"
    components = figure(page, f"{card_id}-components")[0]
    assert sorted(components["x"]) == sorted(  # type: ignore[call-overload]
        round(100 * value) for value in last.percentiles.values()
    )
    deals = card.locator("tr[data-kpi='deal_count'] td.value").inner_text()
    assert deals == str(last.kpis.deal_count)
    assert_clean(visit)

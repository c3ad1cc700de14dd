"""report.html as a file: its structure, the numbers it shows, and its escaping."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import statistics
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from connectors.seed import read_seed
from kpi_engine import ScoringResult, ScoringSettings, score_partners
from partner_kpi.reports import charts
from partner_kpi.reports.html import (
    KEY_COLUMNS,
    ScorePoint,
    render_report_html,
    write_report_html,
)
from tests.kpi_engine.builders import AS_OF, partner, won
from tests.reports.page_tree import Node, parse
from tests.reports.report_data import (
    AMPERSAND_NAME,
    BREAKOUT_NAME,
    HOSTILE_ID,
    HOSTILE_PATH,
    HOSTILE_SOURCE,
    HOSTILE_STAGE,
    HOSTILE_STRINGS,
    SCRIPT_NAME,
    ReportInput,
    hostile_input,
)

MB = 1024 * 1024


@pytest.fixture(scope="module")
def data() -> ReportInput:
    return hostile_input()


@pytest.fixture(scope="module")
def page_text(data: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report_html(data.result, path, **data.kwargs())
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(page_text: str) -> Node:
    return parse(page_text)


def specs(page: Node) -> dict[str, dict[str, Any]]:
    """Every chart's figure, by chart id."""
    found = {}
    for holder in page.find_all("div", cls="chart"):
        script = page.one("script", id=holder.attrs["data-spec"])
        assert script.attrs["type"] == "application/json"
        found[holder.attrs["id"]] = json.loads(script.raw())
    return found


def rows(page: Node) -> list[Node]:
    return page.one("table", id="ranking-table").one("tbody").find_all("tr")


# -- one self-contained page --------------------------------------------------------------


def test_page_is_one_html_document_with_plotly_inlined_once(page_text: str, page: Node) -> None:
    assert page_text.startswith("<!DOCTYPE html>")
    assert page_text.count(get_plotlyjs()) == 1
    # nothing is fetched: no external script, stylesheet, image or frame
    for node in page.iter():
        assert "src" not in node.attrs or node.tag not in {"script", "img", "iframe"}, node
        assert node.tag not in {"link", "iframe", "object", "embed", "img"}, node
    (policy,) = [
        m.attrs["content"]
        for m in page.find_all("meta")
        if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert "default-src 'none'" in policy


def test_only_the_pages_own_two_scripts_run_and_the_policy_names_them(page: Node) -> None:
    scripts = page.find_all("script")
    code = [s for s in scripts if s.attrs.get("type") != "application/json"]
    assert len(code) == 2  # plotly.js and the page's script
    assert len(scripts) == 2 + len(page.find_all("div", cls="chart"))
    (policy,) = [
        m.attrs["content"]
        for m in page.find_all("meta")
        if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    allowed = set(re.findall(r"'(sha256-[^']+)'", policy))
    hashes = {
        "sha256-" + base64.b64encode(hashlib.sha256(s.raw().encode()).digest()).decode()
        for s in code
    }
    assert hashes == allowed
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


# -- summary -----------------------------------------------------------------------------


def test_summary_header_shows_window_partners_tiers_and_totals(
    page: Node, data: ReportInput
) -> None:
    lede = page.one("p", cls="lede").text()
    assert "As of 2017-12-31" in lede
    assert "2017-01-01 – 2017-12-31 (365 days)" in lede
    assert "4 partners scored" in lede
    tiles = {
        t.attrs["data-tier"]: t.text()
        for t in page.one(id="tier-counts").find_all("div")
        if "data-tier" in t.attrs
    }
    assert list(tiles) == ["Platinum", "Gold", "Silver", "Bronze"]
    for tier, count in data.result.portfolio.tier_counts.items():
        assert tiles[tier].startswith(f"{count} {tier}")
    assert "Gold · score ≥ 50" in tiles["Gold"]
    portfolio = data.result.portfolio
    totals = {
        t.attrs["data-key"]: t.text()
        for t in page.one(id="portfolio-totals").children
        if isinstance(t, Node)
    }
    assert totals["opportunity_count"] == f"{portfolio.opportunity_count} opportunities"
    assert totals["won_amount"] == "7,200 won amount"  # 1000 + 2000 + 3000 + 500 + 700
    assert totals["pipeline_value"] == "5,800 pipeline value"
    no_partner = {
        t.attrs["data-key"]: t.text()
        for t in page.one(id="no-partner").children
        if isinstance(t, Node)
    }
    assert no_partner["deal_count"] == "1 deals won"
    assert no_partner["won_amount"] == "700 won amount"
    assert "(no partner)" in page.one(id="summary").text()


def test_source_is_shown_as_text(page: Node) -> None:
    assert f"path {HOSTILE_PATH}" in page.one("dl", id="source").text()


# -- ranked table ------------------------------------------------------------------------


def test_ranked_table_lists_every_partner_in_rank_order_with_its_numbers(
    page: Node, data: ReportInput
) -> None:
    table_rows = rows(page)
    assert [r.attrs["data-partner-id"] for r in table_rows] == [
        p.partner_id for p in data.result.partners
    ]
    heads = [th.text().rstrip() for th in page.one("table", id="ranking-table").find_all("th")]
    assert heads[:5] == ["Rank", "Partner", "Score", "Tier", "Top drivers"]
    assert heads[5:] == [
        "Deals won",
        "Won amount",
        "Close rate",
        "Pipeline value",
        "Sales cycle (days)",
    ]
    for rank, (row, score) in enumerate(zip(table_rows, data.result.partners, strict=True), 1):
        cells = row.find_all("td")
        assert cells[0].text() == str(rank)
        assert cells[1].text() == f"{score.partner_name} {score.partner_id}"
        assert cells[2].text() == f"{score.score:.1f}"
        assert cells[3].text() == score.tier
        assert cells[4].attrs["title"] == score.drivers_text()
        for cell, name in zip(cells[5:], KEY_COLUMNS, strict=True):
            value = getattr(score.kpis, name)
            assert cell.attrs["data-value"] == ("" if value is None else repr(float(value)))


def test_table_formats_money_rates_and_empty_values(page: Node, data: ReportInput) -> None:
    acme = {
        c: cell.text()
        for c, cell in zip(KEY_COLUMNS, rows(page)[0].find_all("td")[5:], strict=True)
    }
    assert acme == {
        "deal_count": "3",
        "won_amount": "6,000",
        "close_rate": "75.0%",
        "pipeline_value": "5,000",
        "sales_cycle_days": "36.7",  # (30 + 60 + 20) / 3
    }
    quiet = rows(page)[3].find_all("td")
    assert [c.text() for c in quiet[5:]] == ["0", "0", "—", "0", "—"]


def test_drivers_are_named_in_plain_words_with_percentiles(page: Node, data: ReportInput) -> None:
    best = data.result.partners[0]
    drivers = rows(page)[0].one("td", cls="drivers").text()
    for name in best.drivers.strong:
        assert f"(p{round(100 * best.percentiles[name])})" in drivers
    assert drivers.startswith("▲ ")
    assert "▼ " in drivers


# -- scorecards --------------------------------------------------------------------------


def scorecard(page: Node, partner_id: str) -> Node:
    (card,) = [
        d
        for d in page.find_all("details", cls="scorecard")
        if d.attrs["data-partner-id"] == partner_id
    ]
    return card


def kpi_rows(card: Node) -> dict[str, Node]:
    return {tr.attrs["data-kpi"]: tr for tr in card.find_all("tr") if "data-kpi" in tr.attrs}


def test_one_collapsed_scorecard_per_partner_in_rank_order(page: Node, data: ReportInput) -> None:
    cards = page.find_all("details", cls="scorecard")
    assert [c.attrs["data-partner-id"] for c in cards] == [
        p.partner_id for p in data.result.partners
    ]
    assert all("open" not in c.attrs for c in cards)
    # the table links each partner to its scorecard
    links = [r.one("a").attrs["href"] for r in rows(page)]
    assert links == [f"#{c.attrs['id']}" for c in cards]
    assert "One scorecard per partner" in page.one(id="scorecard-note").text()


def test_scorecard_shows_each_kpi_against_the_portfolio_median(
    page: Node, data: ReportInput
) -> None:
    acme = data.result.partners[0]
    card = scorecard(page, acme.partner_id)
    kpis = kpi_rows(card)
    # every numeric KPI in KPIS.md order; top_channel and stage_days have their own lines
    assert list(kpis) == [
        "deal_count",
        "won_amount",
        "missing_amount_count",
        "avg_deal_size",
        "pipeline_count",
        "pipeline_value",
        "weighted_pipeline",
        "close_rate",
        "sales_cycle_days",
        "deal_velocity",
        "deal_success",
        "quality_score",
        "new_revenue",
        "won_amount_growth",
    ]
    assert kpis["won_amount"].one("td", cls="value").text() == "6,000"
    # won amounts 6000, 500, 0, 0: the median is 250
    assert kpis["won_amount"].one("td", cls="median").text() == "250"
    deal_counts = [p.kpis.deal_count for p in data.result.partners]
    assert (
        kpis["deal_count"].one("td", cls="median").text() == f"{statistics.median(deal_counts):g}"
    )
    assert kpis["close_rate"].one("td", cls="value").text() == "75.0%"
    bar = kpis["won_amount"].one("div", cls="fill")
    assert "better" in bar.classes
    assert bar.attrs["style"] == "left: 0.0%; width: 100.0%"
    tick = kpis["won_amount"].one("div", cls="tick")
    assert tick.attrs["style"] == f"left: {round(100 * 250 / 6000, 2)}%"
    # lower is better for the sales cycle: 36.7 days against a median of 38.3
    assert "better" in kpis["sales_cycle_days"].one("div", cls="fill").classes
    text = card.text()
    assert "Strongest:" in text and "Weakest:" in text
    assert "Top channel: Owned (owned)." in text
    assert "Portfolio median" in text


def test_empty_kpis_show_a_dash_and_why(page: Node, data: ReportInput) -> None:
    quiet = scorecard(page, "p4")
    kpis = kpi_rows(quiet)
    cell = kpis["avg_deal_size"].one("td", cls="value")
    assert cell.text() == "—"
    assert cell.attrs["title"] == "empty: no won deal with an amount in the window"
    assert kpis["avg_deal_size"].find_all("div", cls="fill") == []
    text = quiet.text()
    assert "Channel mix: no won amount in the window." in text
    assert "Days in each stage: no deal of this partner closed" in text


def test_every_chart_has_a_valid_figure(page: Node, data: ReportInput) -> None:
    figures = specs(page)
    overview = {"chart-distribution", "chart-tiers", "chart-channels", "chart-tier-trend"}
    assert overview <= set(figures)
    for figure in figures.values():
        assert figure["data"], figure
        assert figure["config"]["displaylogo"] is False
    tiers = figures["chart-tiers"]["data"][0]
    assert tiers["x"] == ["Platinum", "Gold", "Silver", "Bronze"]
    assert tiers["y"] == list(data.result.portfolio.tier_counts.values())
    distribution = figures["chart-distribution"]["data"]
    assert sum(sum(trace["y"]) for trace in distribution) == len(data.result.partners)


def test_scorecard_charts_show_components_channels_stages_and_trend(
    page: Node, data: ReportInput
) -> None:
    acme = data.result.partners[0]
    card = scorecard(page, acme.partner_id)
    anchor = card.attrs["id"]
    figures = specs(page)
    components = figures[f"{anchor}-components"]["data"][0]
    assert sorted(components["x"]) == sorted(
        round(100 * value) for value in acme.percentiles.values()
    )
    channels = figures[f"{anchor}-channels"]["data"]
    assert channels[0]["x"] == ["Paid", "Owned", "Earned", "Other sources", "No lead source"]
    assert channels[0]["y"] == [33.3, 66.7, 0.0, 0.0, 0.0]  # 2000 paid, 4000 owned of 6000
    stages = figures[f"{anchor}-stages"]["data"]
    assert stages[0]["x"] == ["Prospecting", "Engaging"]  # pipeline order, not by name
    assert stages[0]["y"] == [20.0, 25.0]
    trend = figures[f"{anchor}-trend"]["data"][0]
    assert trend["x"] == ["2017-06-30", "2017-12-31"]
    assert trend["y"] == [60.0, acme.score]


# -- trend -------------------------------------------------------------------------------


def test_trend_against_the_earlier_run(page: Node, data: ReportInput) -> None:
    trend = page.one("section", id="trend")
    assert "2 runs in the store, from 2017-06-30 to 2017-12-31" in trend.text()
    movers = {
        r.find_all("td")[0].find_all("span")[0].text(): r.text()
        for r in trend.one("table", id="movers").one("tbody").find_all("tr")
    }
    assert set(movers) == {"p1", HOSTILE_ID, "p3"}  # p-gone is not scored now, p4 was not then
    figure = specs(page)["chart-tier-trend"]
    by_tier = {t["name"]: t["y"] for t in figure["data"]}
    assert by_tier["Platinum"] == [1, 1] and by_tier["Gold"] == [2, 1]
    quiet = scorecard(page, "p4")
    assert "this partner was scored in one run only" in quiet.text()


def test_without_history_a_note_says_the_trend_comes_with_the_second_run(
    data: ReportInput,
) -> None:
    page = parse(render_report_html(data.result, **data.kwargs(history=())))
    assert page.one(id="trend-note").text().startswith("The trend appears after the second run")
    assert "chart-tier-trend" not in specs(page)
    assert not any(key.endswith("-trend") for key in specs(page))
    notes = page.find_all("p", cls="trend-note")
    assert len(notes) == 4
    assert all("appears after the second run" in n.text() for n in notes)


def test_this_run_in_the_history_is_not_counted_twice(data: ReportInput) -> None:
    current = tuple(
        ScorePoint("run-2", data.result.as_of, p.partner_id, p.score, p.tier)
        for p in data.result.partners
    )
    only_this = parse(
        render_report_html(data.result, **data.kwargs(history=current, run_id="run-2"))
    )
    assert only_this.find_all(id="trend-note")
    both = parse(
        render_report_html(
            data.result, **data.kwargs(history=data.history + current, run_id="run-2")
        )
    )
    assert "2 runs in the store" in both.one("section", id="trend").text()


def test_runs_of_the_same_day_are_told_apart(data: ReportInput) -> None:
    same_day = tuple(dataclasses.replace(p, as_of=AS_OF) for p in data.history)
    page = parse(render_report_html(data.result, **data.kwargs(history=same_day)))
    figure = specs(page)["chart-tier-trend"]
    assert figure["data"][0]["x"] == ["2017-12-31 · run-1", "2017-12-31 · this run"]


# -- escaping ----------------------------------------------------------------------------


def test_crm_strings_never_reach_the_page_unescaped(page_text: str) -> None:
    for hostile in (*HOSTILE_STRINGS, HOSTILE_PATH, "<b>bold</b>"):
        assert hostile not in page_text


def test_crm_strings_show_as_text(page: Node) -> None:
    names = [r.find_all("td")[1] for r in rows(page)]
    shown = [n.text() for n in names]
    assert f"{SCRIPT_NAME} {HOSTILE_ID}" in shown
    assert f"{BREAKOUT_NAME} p3" in shown
    assert f"{AMPERSAND_NAME} p4" in shown
    channel_groups = page.one("dl", id="channel-groups").text()
    assert HOSTILE_SOURCE in channel_groups


def test_chart_json_cannot_end_its_script_element(page_text: str, page: Node) -> None:
    # the parser (like a browser) ends a script at the first "</script": had a name
    # broken out, there would be more script elements or unparsable JSON
    figures = specs(page)
    blocks = re.findall(
        r'<script type="application/json" id="[^"]+">(.*?)</script>', page_text, re.S
    )
    assert len(blocks) == len(figures)
    for block in blocks:
        assert "<" not in block and ">" not in block and "&" not in block


def test_crm_strings_in_charts_are_escaped_for_plotly_text(page: Node) -> None:
    figures = specs(page)
    hostile_card = scorecard(page, HOSTILE_ID).attrs["id"]
    stages = figures[f"{hostile_card}-stages"]["data"][0]["x"]
    # plotly decodes entities when it draws text: this shows as the literal stage name
    assert stages == ["&lt;/script&gt;&lt;script&gt;alert(4)&lt;/script&gt;"]
    hover = json.dumps(figures["chart-distribution"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hover
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in hover
    assert "Quiet &amp; Co &lt;b&gt;bold&lt;/b&gt;" in hover
    assert HOSTILE_STAGE not in hover and SCRIPT_NAME not in hover


# -- size --------------------------------------------------------------------------------


def test_scorecards_are_capped_with_a_note(data: ReportInput) -> None:
    page = parse(render_report_html(data.result, **data.kwargs(scorecard_limit=2)))
    assert len(page.find_all("details", cls="scorecard")) == 2
    assert "best 2 of 4 partners" in page.one(id="scorecard-note").text()
    table_rows = rows(page)
    assert len(table_rows) == 4
    assert [bool(r.find_all("a")) for r in table_rows] == [True, True, False, False]


def test_bundled_dataset_report(bundled_seed: Path, tmp_path: Path) -> None:
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
    path = tmp_path / "report.html"
    write_report_html(
        result, path, settings=settings, source={"kind": "seed"}, stage_order=stage_order
    )
    size = path.stat().st_size
    assert size < 6 * MB, size
    page = parse(path.read_text(encoding="utf-8"))
    assert len(rows(page)) == 35
    assert len(page.find_all("details", cls="scorecard")) == 35
    assert "35 partners scored" in page.one("p", cls="lede").text()
    assert rows(page)[0].find_all("td")[2].text() == f"{result.partners[0].score:.1f}"


def test_two_thousand_partners_stay_a_page_of_a_few_mb(tmp_path: Path) -> None:
    partners = [partner(f"p{i:04d}") for i in range(2000)]
    opportunities = [
        won(f"o{i}", f"p{i:04d}", float(100 * (i % 97 + 1)), closed=date(2017, 1 + i % 12, 1))
        for i in range(0, 2000, 2)
    ]
    settings = ScoringSettings()
    result: ScoringResult = score_partners(
        partners, opportunities, [], as_of=AS_OF, settings=settings
    )
    path = tmp_path / "report.html"
    write_report_html(result, path, settings=settings, source={"kind": "test"})
    size = path.stat().st_size
    assert size < 12 * MB, size
    page = parse(path.read_text(encoding="utf-8"))
    assert len(rows(page)) == 2000
    assert len(page.find_all("details", cls="scorecard")) == 200
    assert "best 200 of 2,000 partners" in page.one(id="scorecard-note").text()


def test_score_point_is_a_frozen_record() -> None:
    point = ScorePoint("run-1", date(2017, 6, 30), "p1", 60.0, "Gold")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.score = 1.0  # type: ignore[misc]


def test_negative_scorecard_limit_is_refused(data: ReportInput) -> None:
    with pytest.raises(ValueError, match="scorecard_limit"):
        render_report_html(data.result, **data.kwargs(scorecard_limit=-1))


def test_chart_json_stays_inert_even_if_a_chart_forgot_plot_text(
    data: ReportInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second line of defence alone: JSON embedding, with raw names inside the figures
    monkeypatch.setattr(charts, "plot_text", str)
    page_text = render_report_html(data.result, **data.kwargs())
    assert BREAKOUT_NAME not in page_text and SCRIPT_NAME not in page_text
    page = parse(page_text)
    figures = specs(page)
    assert len(page.find_all("script")) == 2 + len(figures)
    assert BREAKOUT_NAME in json.dumps(figures["chart-distribution"], ensure_ascii=False)


def test_a_run_dated_before_the_stored_ones_takes_its_place_in_time(data: ReportInput) -> None:
    later = tuple(dataclasses.replace(p, as_of=date(2018, 3, 31)) for p in data.history)
    page = parse(render_report_html(data.result, **data.kwargs(history=later)))
    figure = specs(page)["chart-tier-trend"]
    assert figure["data"][0]["x"] == ["2017-12-31", "2018-03-31"]
    assert page.one("section", id="trend").find_all("table") == []  # nothing before this run

"""report.html as a file: its structure, its data block, the numbers it holds, and its
escaping. What the page's script draws from the data block is tested in a browser
(test_html_browser.py, test_html_ranking.py)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import statistics
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from kpi_engine import KPIS, ScoringResult, ScoringSettings, score_partners
from partner_kpi.reports import charts
from partner_kpi.reports.html import ScorePoint, render_report_html, write_report_html
from partner_kpi.reports.partner_data import KEY_COLUMNS, numeric_kpis
from tests.kpi_engine.builders import AS_OF, event, lost, open_opp, partner, won
from tests.reports.conftest import BundledReport
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
    kpi_texts,
)

MB = 1024 * 1024


@pytest.fixture(scope="module")
def page_text(data: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report_html(data.result, path, **data.kwargs())
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(page_text: str) -> Node:
    return parse(page_text)


def report_data(page: Node) -> dict[str, Any]:
    """The page's one data block, parsed."""
    (block,) = [s for s in page.find_all("script") if s.attrs.get("type") == "application/json"]
    assert block.attrs["id"] == "report-data"
    data: dict[str, Any] = json.loads(block.raw())
    return data


def specs(page: Node) -> dict[str, dict[str, Any]]:
    """Every overview chart's figure, by chart id: one per chart holder."""
    figures: dict[str, dict[str, Any]] = report_data(page)["overview"]
    holders = [h.attrs["data-chart"] for h in page.find_all("div", cls="chart")]
    assert sorted(holders) == sorted(figures)
    return figures


def column(data: dict[str, Any], kind: str, kpi: str) -> list[Any]:
    """One numeric KPI's ``text`` or ``value`` over the partners, from the data block."""
    names = [k["name"] for k in data["kpis"]]
    if kind == "text":
        return kpi_texts(data, names.index(kpi))
    values: list[Any] = data["partners"][kind][names.index(kpi)]
    return values


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
    assert len(scripts) == 3  # and the one data block
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


# -- ranked table: the data block --------------------------------------------------------


def test_the_data_block_lists_every_partner_in_rank_order_with_its_numbers(
    page: Node, data: ReportInput
) -> None:
    block = report_data(page)
    partners = block["partners"]
    assert partners["id"] == [p.partner_id for p in data.result.partners]
    assert partners["name"] == [p.partner_name for p in data.result.partners]
    assert partners["rank"] == [1, 2, 3, 4]
    assert partners["score"] == [f"{p.score:.1f}" for p in data.result.partners]
    tiers = [block["tiers"][t][0] for t in partners["tier"]]
    assert tiers == [p.tier for p in data.result.partners]
    heads = [th.text().rstrip() for th in page.one("table", id="ranking-table").find_all("th")]
    assert heads[:5] == ["Rank", "Partner", "Score", "Tier", "Top drivers"]
    assert heads[5:] == [
        "Deals won",
        "Won amount",
        "Close rate",
        "Pipeline value",
        "Sales cycle (days)",
    ]
    # the table's KPI columns, in the order of its heads, point at the data's KPIs
    assert [block["kpis"][k]["name"] for k in block["key"]] == list(KEY_COLUMNS)
    # each value to the decimals its kind keeps (the sales cycle's 36.666… days as 36.67)
    for name in KEY_COLUMNS:
        decimals = KPIS[name].kind.decimals
        expected = [getattr(p.kpis, name) for p in data.result.partners]
        assert column(block, "value", name) == [
            None if v is None else pytest.approx(round(v, decimals), abs=1e-9) for v in expected
        ]
    assert column(block, "value", "sales_cycle_days")[0] == 36.67


def test_the_data_block_holds_money_rates_and_empty_values_as_the_page_shows_them(
    page: Node,
) -> None:
    block = report_data(page)
    acme = {name: column(block, "text", name)[0] for name in KEY_COLUMNS}
    assert acme == {
        "deal_count": "3",
        "won_amount": "6,000",
        "close_rate": "75.0%",
        "pipeline_value": "5,000",
        "sales_cycle_days": "36.7",  # (30 + 60 + 20) / 3
    }
    quiet = [column(block, "text", name)[3] for name in KEY_COLUMNS]
    assert quiet == ["0", "0", "—", "0", "—"]


def test_the_data_block_holds_each_partners_drivers_and_percentiles(
    page: Node, data: ReportInput
) -> None:
    block = report_data(page)
    components = [c[0] for c in block["components"]]
    for i, score in enumerate(data.result.partners):
        strong = [components[c] for c in block["partners"]["strong"][i]]
        weak = [components[c] for c in block["partners"]["weak"][i]]
        assert (strong, weak) == (list(score.drivers.strong), list(score.drivers.weak))
        pct = dict(zip(components, block["partners"]["pct"][i], strict=True))
        for name in (*strong, *weak):
            assert pct[name] == round(100 * score.percentiles[name])


def test_the_data_block_holds_each_kpi_against_the_portfolio_median(
    page: Node, data: ReportInput
) -> None:
    block = report_data(page)
    kpis = {k["name"]: k for k in block["kpis"]}
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
        "lead_count",
        "lead_conversion_rate",
        "referral_count",
        "customer_count",
        "customer_growth",
        "account_retention",
        "revenue_retention",
        "products_per_customer",
        "tickets_per_customer",
        "first_contact_resolution",
        "onboarding_days",
        "quote_turnaround_days",
        "value_added_calls",
    ]
    assert [k.name for k in numeric_kpis()] == list(kpis)
    # won amounts 6000, 500, 0, 0: the median is 250, the bar runs from 0 to 6000
    assert kpis["won_amount"]["median"] == "250"
    assert kpis["won_amount"]["scale"] == [0.0, 6000.0]
    assert kpis["won_amount"]["tick"] == round(100 * 250 / 6000, 2)
    deal_counts = [p.kpis.deal_count for p in data.result.partners]
    assert kpis["deal_count"]["median"] == f"{statistics.median(deal_counts):g}"
    verdicts = dict(zip(kpis, block["partners"]["verdict"], strict=True))
    assert verdicts["won_amount"][0] == "b"  # Acme, better than the median
    # lower is better for the sales cycle: 36.7 days against a median of 38.3
    assert verdicts["sales_cycle_days"][0] == "b"
    assert verdicts["avg_deal_size"][3] == "-"  # the quiet partner has none
    assert kpis["avg_deal_size"]["empty"] == "empty: no won deal with an amount in the window"
    assert block["tops"][block["partners"]["top"][0]] == "Owned (owned)"
    assert block["partners"]["mix"][3] is None
    assert block["partners"]["days"][3] is None


def test_every_chart_has_a_valid_figure(page: Node, data: ReportInput) -> None:
    figures = specs(page)
    assert set(figures) == {"chart-distribution", "chart-tiers", "chart-channels",
                            "chart-tier-trend"}  # fmt: skip
    templates = report_data(page)["charts"]
    assert set(templates) == {"components", "channels", "stages", "trend"}
    for figure in [*figures.values(), *templates.values()]:
        assert figure["data"], figure
        assert figure["config"]["displaylogo"] is False
    tiers = figures["chart-tiers"]["data"][0]
    assert tiers["x"] == ["Platinum", "Gold", "Silver", "Bronze"]
    assert tiers["y"] == list(data.result.portfolio.tier_counts.values())
    distribution = figures["chart-distribution"]["data"]
    assert sum(sum(trace["y"]) for trace in distribution) == len(data.result.partners)


def test_scorecard_chart_data_holds_channels_stages_and_trend(
    page: Node, data: ReportInput
) -> None:
    block = report_data(page)
    acme = block["partners"]
    shares, pieces = acme["mix"][0]
    assert shares == [33.3, 66.7, 0.0, 0.0, 0.0]  # 2000 paid, 4000 owned of 6000
    assert pieces[1] == ["4,000", "2", "100.0%"]
    # the hostile partner's open deal with no lead source: nothing won, no close rate
    assert acme["mix"][1][1][4] == 0
    assert block["mix_empty"] == ["0", "0", "—"]
    stages = [[block["stages"][s], days] for s, days in acme["days"][0]]
    assert stages == [["Prospecting", 20.0], ["Engaging", 25.0]]  # pipeline order
    trend = [[block["runs"][r], score] for r, score, _tier in acme["trend"][0]]
    assert trend == [["2017-06-30", 60.0], ["2017-12-31", data.result.partners[0].score]]


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
    block = report_data(page)
    assert block["partners"]["trend"][3] is None  # p4: scored in this run only
    assert "this partner was scored in one run only" in block["notes"]["trend"]


def test_without_history_a_note_says_the_trend_comes_with_the_second_run(
    data: ReportInput,
) -> None:
    page = parse(render_report_html(data.result, **data.kwargs(history=())))
    assert page.one(id="trend-note").text().startswith("The trend appears after the second run")
    assert "chart-tier-trend" not in specs(page)
    block = report_data(page)
    assert block["partners"]["trend"] == [None] * 4
    assert block["notes"]["trend"] == "Score trend: appears after the second run."


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


def test_crm_strings_travel_as_data_and_show_as_text(page: Node) -> None:
    names = report_data(page)["partners"]["name"]
    assert names[1:] == [SCRIPT_NAME, BREAKOUT_NAME, AMPERSAND_NAME]
    channel_groups = page.one("dl", id="channel-groups").text()
    assert HOSTILE_SOURCE in channel_groups


def test_the_data_block_cannot_end_its_script_element(page_text: str, page: Node) -> None:
    # the parser (like a browser) ends a script at the first "</script": had a name
    # broken out, there would be more script elements or unparsable JSON
    blocks = re.findall(
        r'<script type="application/json" id="([^"]+)">(.*?)</script>', page_text, re.S
    )
    assert [name for name, _ in blocks] == ["report-data"]
    (block,) = [text for _, text in blocks]
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block) == report_data(page)
    # compact: no spaces between tokens
    assert '": ' not in block and '", "' not in block


def test_crm_strings_in_charts_are_escaped_for_plotly_text(page: Node) -> None:
    figures = specs(page)
    block = report_data(page)
    hostile = block["partners"]["id"].index(HOSTILE_ID)
    stages = [block["stages"][s] for s, _days in block["partners"]["days"][hostile]]
    # plotly decodes entities when it draws text: this shows as the literal stage name
    assert stages == ["&lt;/script&gt;&lt;script&gt;alert(4)&lt;/script&gt;"]
    hover = json.dumps(figures["chart-distribution"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hover
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in hover
    assert "Quiet &amp; Co &lt;b&gt;bold&lt;/b&gt;" in hover
    assert HOSTILE_STAGE not in hover and SCRIPT_NAME not in hover


# -- size --------------------------------------------------------------------------------


def test_scorecards_listed_are_capped_with_a_note(data: ReportInput) -> None:
    page = parse(render_report_html(data.result, **data.kwargs(scorecard_limit=2)))
    assert report_data(page)["listed"] == 2
    assert "best 2 of 4 partners" in page.one(id="scorecard-note").text()
    assert len(report_data(page)["partners"]["id"]) == 4


def test_bundled_dataset_report(deals_only_report: BundledReport) -> None:
    result, path = deals_only_report.result, deals_only_report.path
    size = path.stat().st_size
    assert size < 6 * MB, size
    page = parse(path.read_text(encoding="utf-8"))
    block = report_data(page)
    assert len(block["partners"]["id"]) == 35
    assert block["listed"] == 35
    assert "35 partners scored" in page.one("p", cls="lede").text()
    assert block["partners"]["score"][0] == f"{result.partners[0].score:.1f}"


def many_partners(count: int) -> ScoringResult:
    """``count`` partners, every other one with a won deal of a varying amount."""
    partners = [partner(f"p{i:05d}") for i in range(count)]
    opportunities = [
        won(f"o{i}", f"p{i:05d}", float(100 * (i % 97 + 1)), closed=date(2017, 1 + i % 12, 1))
        for i in range(0, count, 2)
    ]
    return score_partners(partners, opportunities, [], as_of=AS_OF, settings=ScoringSettings())


def test_five_thousand_partners_cost_a_few_hundred_bytes_each(tmp_path: Path) -> None:
    # the data block grows with the partners; plotly.js is the page's one large part
    result = many_partners(5000)
    path = tmp_path / "report.html"
    write_report_html(result, path, settings=ScoringSettings(), source={"kind": "test"})
    text = path.read_text(encoding="utf-8")
    beyond_plotly = len(text.encode()) - len(get_plotlyjs().encode())
    assert beyond_plotly < 5000 * 400, beyond_plotly
    assert text.count(get_plotlyjs()) == 1
    page = parse(text)
    block = report_data(page)
    assert len(block["partners"]["id"]) == 5000
    assert block["listed"] == 200
    assert "best 200 of 5,000 partners" in page.one(id="scorecard-note").text()
    # no per-partner HTML: the table body is drawn by the page's script
    assert page.one("table", id="ranking-table").one("tbody").children == []
    assert page.find_all("details") == []


#: Bytes of the data block's partner columns per partner at 5,000 partners with every
#: funnel KPI filled, as the bench's 1M seed has them. bench/e2e.py allows report.html
#: 3 MiB beyond plotly.js there; the style, script, summary and overview charts take
#: about 60 kB, leaving 616 bytes a partner, and the bench's ids are 13 bytes longer than
#: these: 580 keeps some room (main before the compact encoding spent 620).
BLOCK_BYTES_PER_PARTNER = 580


def busy_partners(count: int) -> ScoringResult:
    """``count`` partners as a large CRM has them: deals won in three channel groups, a
    loss, an open deal with no lead source, days in two stages, and every funnel KPI
    with a value of its kind's precision, each different."""
    opportunities = []
    events = []
    for i in range(count):
        pid, day = f"p{i:05d}", date(2017, 1 + i % 12, 1 + i % 28)
        for n, source in enumerate(("Paid Search", "Web", "Referral")):
            amount = float(1000 + (i * 7919 + n * 104729) % 900_000)
            created = date(2016, 1 + (i + n) % 12, 1 + (i * 3 + n) % 28)
            opportunities.append(
                won(f"o{i}-{n}", pid, amount, closed=day, created=created, lead_source=source)
            )
            events.append(event(f"o{i}-{n}", "Prospecting", created))
            engaged = created + timedelta(days=i % 37 + n * n)  # a mean of thirds
            events.append(event(f"o{i}-{n}", "Engaging", engaged, 1))
        opportunities.append(lost(f"o{i}-l", pid, closed=day, lead_source="Email"))
        opportunities.append(open_opp(f"o{i}-o", pid, 5000.0 + i, created=day))
    partners = [partner(f"p{i:05d}", f"Agent {i:05d}") for i in range(count)]
    result = score_partners(partners, opportunities, events, as_of=AS_OF)
    funnel = [k for k in numeric_kpis() if k.funnel]
    filled = []
    for i, score in enumerate(result.partners):
        values = dict(score.kpis.values)
        for j, kpi in enumerate(funnel):
            spread = (i * 7919 + j * 104729) % 10_000
            decimals = kpi.kind.decimals or 0
            values[kpi.name] = round(spread / 10**decimals, decimals) if decimals else spread
        kpis = score.kpis.model_copy(update={"values": values})
        filled.append(score.model_copy(update={"kpis": kpis}))
    portfolio = result.portfolio.model_copy(update={"objects_missing": ()})
    return result.model_copy(update={"partners": filled, "portfolio": portfolio})


def test_five_thousand_busy_partners_with_the_funnel_stay_within_the_block_budget() -> None:
    result = busy_partners(5000)
    block = report_data(parse(render_report_html(result, settings=ScoringSettings(), source={})))
    names = [k["name"] for k in block["kpis"]]
    for kpi in numeric_kpis():
        assert block["partners"]["value"][names.index(kpi.name)] is not None, kpi.name
    assert all(block["partners"]["mix"]) and all(block["partners"]["days"])
    size = len(json.dumps(block["partners"], ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= 5000 * BLOCK_BYTES_PER_PARTNER, size / 5000


@pytest.mark.parametrize(
    ("days", "shown"),
    [
        (62.25, 62.3),  # a tie in binary too: toFixed takes the larger (round() says 62.2)
        (57.55, 57.5),  # 57.549999…: toFixed's "57.5", though the decimal reads as a tie
        (62.30177514792899, 62.3),
        (0.0, 0.0),
    ],
)
def test_stage_days_are_sent_as_the_stage_chart_shows_them(days: float, shown: float) -> None:
    # plotly formats ".1f" with JavaScript's toFixed: the rounded value must show the same
    assert charts.stage_days_shown(days) == shown


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
    assert len(page.find_all("script")) == 3
    assert BREAKOUT_NAME in json.dumps(figures["chart-distribution"], ensure_ascii=False)


def test_a_run_dated_before_the_stored_ones_takes_its_place_in_time(data: ReportInput) -> None:
    later = tuple(dataclasses.replace(p, as_of=date(2018, 3, 31)) for p in data.history)
    page = parse(render_report_html(data.result, **data.kwargs(history=later)))
    figure = specs(page)["chart-tier-trend"]
    assert figure["data"][0]["x"] == ["2017-12-31", "2018-03-31"]
    assert page.one("section", id="trend").find_all("table") == []  # nothing before this run

"""The funnel, customers and service section as report.html holds it: the KPIs the
catalogue marks ``funnel`` (toys here: report_data.TOY_FUNNEL), their portfolio
figures, the objects the CRM lacks said once, and the ranked table's column menu. What
the page's script draws from it is tested in a browser (test_funnel_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kpi_engine import ScoringSettings
from partner_kpi.reports.funnel import (
    Funnel,
    FunnelFigure,
    funnel_kpis,
    object_label,
    objects_in_words,
)
from partner_kpi.reports.html import render_report_html
from tests.reports.page_tree import Node, parse
from tests.reports.report_data import (
    HOSTILE_ID,
    TOY_CALLS,
    TOY_CALLS_PER_LEAD,
    TOY_FUNNEL,
    TOY_LEADS,
    TOY_QUOTE_DAYS,
    ReportInput,
    catalogue_of,
    kpi_texts,
)

#: Deals won per partner in the hostile input; the toys are made from them.
DEALS_WON = {"p1": 3, HOSTILE_ID: 1, "p3": 0, "p4": 0}


@pytest.fixture(scope="module")
def page(funnel_report: Path) -> Node:
    return parse(funnel_report.read_text(encoding="utf-8"))


def block_of(page: Node) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.one("script", id="report-data").raw())
    return data


def in_rank_order(data: ReportInput, by_partner: dict[str, Any]) -> list[Any]:
    return [by_partner[p.partner_id] for p in data.result.partners]


# -- which KPIs, and which objects are missing ---------------------------------------------


def test_the_section_is_every_numeric_kpi_of_the_funnel_in_catalogue_order() -> None:
    with catalogue_of(*TOY_FUNNEL):
        assert [k.name for k in funnel_kpis()] == [k.name for k in TOY_FUNNEL]
    with catalogue_of():
        assert funnel_kpis() == ()


def test_the_real_section_is_all_thirteen_kpis_of_kpis_md_including_those_of_deals() -> None:
    # customer_count & co. read opportunities alone, yet belong to KPIS.md's section
    assert [k.name for k in funnel_kpis()] == [
        "lead_count", "lead_conversion_rate", "referral_count", "customer_count",
        "customer_growth", "account_retention", "revenue_retention", "products_per_customer",
        "tickets_per_customer", "first_contact_resolution", "onboarding_days",
        "quote_turnaround_days", "value_added_calls",
    ]  # fmt: skip


def test_an_object_is_missing_when_the_engine_says_the_crm_had_none_of_it() -> None:
    columns: dict[str, list[float | None]] = {
        "toy_lead_count": [9, 3, 0, 0],
        "toy_quote_days": [7.5, 2.5, None, None],
        "toy_lead_conversion": [None] * 4,
        "toy_value_calls": [None] * 4,
        "toy_calls_per_lead": [None] * 4,
    }
    medians = {"toy_lead_count": 1.5, "toy_quote_days": 5.0}
    with catalogue_of(*TOY_FUNNEL):
        funnel = Funnel.of(columns, {name: medians.get(name) for name in columns}, ["calls"])
    # the KPI that reads calls and leads goes with the calls; a KPI null for everyone
    # whose object exists (lead conversion) stays listed, empty
    assert [(m.stream, m.note) for m in funnel.missing] == [("calls", "no call data in the CRM")]
    assert [k.name for k in funnel.missing[0].kpis] == ["toy_value_calls", "toy_calls_per_lead"]
    assert funnel.missing[0].labels == "Value-added calls (toy), Calls per lead (toy)"
    assert funnel.missing_names == {"toy_value_calls", "toy_calls_per_lead"}
    figures = {f.kpi.name: (f.median_text, f.share_text) for f in funnel.figures}
    assert figures == {
        "toy_lead_count": ("1.5", "4 of 4 (100%)"),
        "toy_quote_days": ("5.0", "2 of 4 (50%)"),
        "toy_lead_conversion": ("—", "0 of 4 (0%)"),
    }


def test_an_object_the_crm_has_is_never_missing_even_with_every_kpi_of_it_empty() -> None:
    with catalogue_of(TOY_CALLS, TOY_CALLS_PER_LEAD):
        no_value = Funnel.of(
            {"toy_value_calls": [None, None], "toy_calls_per_lead": [None, None]},
            {"toy_value_calls": None, "toy_calls_per_lead": None},
            [],
        )
        nobody = Funnel.of(
            {"toy_value_calls": [], "toy_calls_per_lead": []},
            {"toy_value_calls": None, "toy_calls_per_lead": None},
            [],
        )
    assert no_value.missing == ()
    assert [f.share_text for f in no_value.figures] == ["0 of 2 (0%)", "0 of 2 (0%)"]
    assert nobody.missing == ()
    assert [f.share_text for f in nobody.figures] == ["0 of 0 (0%)", "0 of 0 (0%)"]


def test_objects_are_named_as_the_schema_names_them() -> None:
    assert object_label("line_items") == "line item"
    assert object_label("cases") == "case"
    assert object_label("leads") == "lead"
    assert objects_in_words(["leads", "cases", "line_items"]) == "leads, cases and line items"
    assert objects_in_words(["calls"]) == "calls"
    assert objects_in_words([]) == ""


def test_lower_is_better_follows_the_catalogue() -> None:
    assert FunnelFigure(TOY_QUOTE_DAYS, 5.0, 2, 4).lower_is_better
    assert not FunnelFigure(TOY_LEADS, 1.5, 4, 4).lower_is_better


# -- the data block ------------------------------------------------------------------------


def test_the_data_block_holds_each_funnel_kpi_for_every_partner(
    page: Node, funnel_data: ReportInput
) -> None:
    block = block_of(page)
    kpis = {k["name"]: (i, k) for i, k in enumerate(block["kpis"])}
    texts = block["partners"]["text"]
    values = block["partners"]["value"]
    verdicts = block["partners"]["verdict"]

    leads, entry = kpis["toy_lead_count"]
    assert (entry["funnel"], entry["lower"], entry["median"]) == (True, False, "1.5")
    expected = in_rank_order(funnel_data, {p: 3 * n for p, n in DEALS_WON.items()})
    assert values[leads] == expected
    assert texts[leads] == 0  # each text is its count as written: the script writes it
    assert kpi_texts(block, leads) == [str(n) for n in expected]
    assert verdicts[leads] == "".join("b" if n > 1.5 else "w" for n in expected)

    days, entry = kpis["toy_quote_days"]
    assert (entry["funnel"], entry["lower"], entry["median"]) == (True, True, "5.0")
    assert entry["empty"] == "empty: no quote sent in the window"
    by_partner = {"p1": 7.5, HOSTILE_ID: 2.5, "p3": None, "p4": None}
    assert values[days] == in_rank_order(funnel_data, by_partner)
    # lower is better: 7.5 days is worse than the median of 5.0, 2.5 better
    verdict = {"p1": "w", HOSTILE_ID: "b", "p3": "-", "p4": "-"}
    assert verdicts[days] == "".join(in_rank_order(funnel_data, verdict))

    conversion, entry = kpis["toy_lead_conversion"]
    assert values[conversion] == [None] * 4
    assert texts[conversion] == ["—"] * 4
    assert kpi_texts(block, conversion) == ["—"] * 4
    assert verdicts[conversion] == "----"

    # an opportunity KPI is not in the section
    assert kpis["deal_count"][1]["funnel"] is False
    assert kpis["sales_cycle_days"][1]["lower"] is True


def test_a_missing_object_is_said_once_and_sends_no_value_per_partner(page: Node) -> None:
    block = block_of(page)
    names = [k["name"] for k in block["kpis"]]
    calls = [names.index("toy_value_calls"), names.index("toy_calls_per_lead")]
    assert block["missing"] == [["calls", "no call data in the CRM", calls]]
    for k in calls:
        assert block["partners"]["text"][k] is None
        assert block["partners"]["value"][k] is None
        assert block["partners"]["verdict"][k] == ""


# -- the summary's portfolio figures ---------------------------------------------------------


def test_the_summary_lists_each_funnel_kpi_over_the_portfolio(page: Node) -> None:
    table = page.one("section", id="summary").one("table", id="portfolio-funnel")
    rows = {r.attrs["data-kpi"]: r for r in table.find_all("tr") if "data-kpi" in r.attrs}
    assert list(rows) == ["toy_lead_count", "toy_quote_days", "toy_lead_conversion"]
    cells = {name: [td.text() for td in row.find_all("td")] for name, row in rows.items()}
    assert cells == {
        "toy_lead_count": ["Leads (toy)", "1.5", "4 of 4 (100%)"],
        "toy_quote_days": ["Quote turnaround (toy) lower is better", "5.0", "2 of 4 (50%)"],
        "toy_lead_conversion": ["Lead conversion (toy)", "—", "0 of 4 (0%)"],
    }
    assert rows["toy_quote_days"].one("span", cls="lower").text() == "lower is better"
    # the objects named are those the catalogue's KPIs read
    note = page.one("section", id="summary").find_all("p", cls="note")
    assert any("KPIs from the CRM's leads, quotes and calls:" in p.text() for p in note)
    (missing,) = table.find_all("tr", cls="missing")
    assert missing.attrs["data-object"] == "calls"
    assert [td.text() for td in missing.find_all("td")] == [
        "Value-added calls (toy), Calls per lead (toy)",
        "no call data in the CRM",
    ]
    assert table.text().count("no call data in the CRM") == 1


def test_without_funnel_kpis_the_summary_has_no_funnel_table(funnel_data: ReportInput) -> None:
    with catalogue_of():
        html = render_report_html(funnel_data.result, **funnel_data.kwargs())
    page = parse(html)
    assert page.find_all(id="portfolio-funnel") == []
    assert block_of(page)["missing"] == []


def test_the_glossary_names_the_objects_a_kpi_reads(page: Node) -> None:
    glossary = page.one("section", id="how-to-read").text()
    assert "Three leads per deal won: a toy. Reads the CRM's leads." in (glossary)
    assert "Reads the CRM's calls and leads." in glossary
    assert "Opportunities won in the window. Reads" not in glossary


# -- the ranked table's column menu ----------------------------------------------------------


def test_the_column_menu_offers_every_kpi_the_table_lacks_but_the_missing(page: Node) -> None:
    block = block_of(page)
    menu = page.one("select", id="ranking-column")
    kpis = block["kpis"]
    groups = {
        group.attrs["label"]: [
            (kpis[int(o.attrs["value"])]["name"], o.text()) for o in group.find_all("option")
        ]
        for group in menu.find_all("optgroup")
    }
    assert list(groups) == ["Opportunities", "Funnel, customers and service"]
    assert groups["Funnel, customers and service"] == [
        ("toy_lead_count", "Leads (toy)"),
        ("toy_quote_days", "Quote turnaround (toy)"),
        ("toy_lead_conversion", "Lead conversion (toy)"),
    ]
    shown = {block["kpis"][k]["name"] for k in block["key"]}
    offered = [name for name, _ in groups["Opportunities"]]
    assert "deal_velocity" in offered and "won_amount_growth" in offered
    assert shown.isdisjoint(offered)
    # the table's own KPI heads name their KPI in the data block
    heads = page.one("table", id="ranking-table").find_all("th")
    kpi_heads = [h for h in heads if h.attrs.get("data-sort") == "kpi"]
    assert [int(h.attrs["data-kpi"]) for h in kpi_heads] == block["key"]


# -- a funnel KPI given a weight -------------------------------------------------------------


def test_a_weighted_kpi_is_named_by_its_label_wherever_components_are(
    funnel_data: ReportInput,
) -> None:
    with catalogue_of(*TOY_FUNNEL):
        settings = ScoringSettings(weights={"toy_quote_days": 10.0})
        html = render_report_html(funnel_data.result, **funnel_data.kwargs(settings=settings))
    page = parse(html)
    components = block_of(page)["components"]
    assert components[-1] == [
        "toy_quote_days",
        "quote turnaround (toy) (lower is better)",
        "quote turnaround (toy)",
    ]
    weights = page.one("ul", id="weights").text()
    assert "quote turnaround (toy) (lower is better): weight 10" in weights
    # the eight of KPIS.md keep their own words
    assert components[0] == ["avg_deal_size", "average deal size", "average deal size"]
    assert [c[1] for c in components].count("sales cycle (shorter is better)") == 1

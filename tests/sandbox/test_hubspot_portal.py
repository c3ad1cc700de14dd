"""The HubSpot portal without HTTP: how the seed becomes records, and what reads, writes
and searches do with them.

Expected values come from the seed (read independently with ``connectors.seed``)
and from the rules of ../shared/data/README.md and HubSpot's search guide, not
from the portal's own seeding code.
"""

from __future__ import annotations

import csv
import functools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.seed import SeedDataset, read_seed
from core.schema import OpportunityStatus, StageEvent
from sandbox.hubspot.errors import HubSpotApiError
from sandbox.hubspot.portal import HubSpotPortal
from sandbox.server import RunningSandbox
from sandbox.store import SqlStore

ISO = "%Y-%m-%dT%H:%M:%S.000Z"


def write_seed(
    folder: Path,
    deals: int,
    *,
    won: int | None = None,
    currencies: dict[str, float] | None = None,
) -> Path:
    """A generated seed folder (the README's layout): three partners, three customers,
    ``deals`` pipeline rows of which the first ``won`` are Won and the rest Lost."""
    folder.mkdir(parents=True, exist_ok=True)
    won = deals if won is None else won
    agents = [("Ada Agent", "East"), ("Bo Broker", "West"), ("Cy Channel", "Central")]
    accounts = ["Alpha Corp", "Beta Ltd", "Gamma Inc"]
    codes = list(currencies or {"USD": 1.0})

    def write(
        name: str, header: list[str], rows: Iterator[list[object]] | list[list[object]]
    ) -> None:
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    write(
        "sales_teams.csv",
        ["sales_agent", "manager", "regional_office"],
        [[agent, "Mia Manager", region] for agent, region in agents],
    )
    write(
        "accounts.csv",
        ["account", "sector", "revenue", "employees"],
        [[account, "retail", "12.5", "40"] for account in accounts],
    )
    write("products.csv", ["product", "sales_price"], [["GTX Basic", "550"]])
    if currencies:
        write(
            "currencies.csv",
            ["iso_code", "conversion_rate"],
            [[code, rate] for code, rate in currencies.items()],
        )
    start = date(2017, 1, 1)

    def pipeline() -> Iterator[list[object]]:
        for i in range(deals):
            engage = start + timedelta(days=i % 300)
            yield [
                f"G{i:07d}",
                agents[i % 3][0],
                "GTX Basic",
                accounts[i % 3],
                "Won" if i < won else "Lost",
                engage.isoformat(),
                (engage + timedelta(days=30)).isoformat(),
                100 + i % 50,
                codes[i % len(codes)],
            ]

    write(
        "sales_pipeline.csv",
        [
            "opportunity_id",
            "sales_agent",
            "product",
            "account",
            "deal_stage",
            "engage_date",
            "close_date",
            "close_value",
            "currency",
        ],
        pipeline(),
    )
    return folder


@pytest.fixture(scope="module")
def seed(bundled_seed: Path) -> SeedDataset:
    return read_seed(bundled_seed)


@pytest.fixture(scope="module")
def portal(sandbox: RunningSandbox) -> HubSpotPortal:
    """The read-only shared sandbox's portal: tests using it must not write."""
    return sandbox.app.hubspot


@pytest.fixture
def fresh(fresh_sandbox: Callable[..., RunningSandbox]) -> HubSpotPortal:
    """The writable shared sandbox's portal, reset, for a test that writes."""
    return fresh_sandbox().app.hubspot


def walk(portal: HubSpotPortal, object_type: str, **options: Any) -> list[dict[str, Any]]:
    """Every record of a type, page by page (100 at a time)."""
    records: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = portal.list_objects(object_type, limit=100, after=after, **options)
        records += page.results
        if page.next_after is None:
            return records
        after = page.next_after


def search_all(portal: HubSpotPortal, object_type: str, body: dict[str, Any]) -> list[str]:
    """The ids a search finds, following its paging to the end."""
    ids: list[str] = []
    after = None
    while True:
        answer = portal.search(object_type, {**body, "limit": 200, "after": after})
        ids += [r["id"] for r in answer["results"]]
        if "paging" not in answer:
            assert answer["total"] == len(ids)
            return ids
        after = answer["paging"]["next"]["after"]


def stage_ids(portal: HubSpotPortal) -> dict[str, str]:
    return {stage.label: stage.id for stage in portal.pipeline.stages}


def error_of(excinfo: pytest.ExceptionInfo[HubSpotApiError]) -> tuple[int, str]:
    return excinfo.value.status, excinfo.value.category


# --- the seed, as HubSpot records -----------------------------------------------------------


def test_partners_and_customers_are_companies(portal: HubSpotPortal, seed: SeedDataset) -> None:
    props = [
        "name",
        "type",
        "region",
        "channel_manager",
        "industry",
        "annualrevenue",
        "numberofemployees",
        "founded_year",
        "country",
        "hs_parent_company_id",
    ]
    companies = walk(portal, "companies", properties=props)
    assert len(companies) == 120
    by_id = {c["id"]: c["properties"] for c in companies}
    partners = [p for p in by_id.values() if p["type"] == "PARTNER"]
    assert len(partners) == 35
    assert sum(p["type"] == "OTHER" for p in by_id.values()) == 85
    for partner in seed.partners:
        record = by_id[portal.id_map[partner.id]]
        assert (record["name"], record["region"], record["channel_manager"]) == (
            partner.name,
            partner.region,
            partner.channel_manager,
        )
    names = {c.name: portal.id_map[c.id] for c in seed.customers}
    for customer in seed.customers:
        record, fields = by_id[portal.id_map[customer.id]], customer.fields
        assert record["name"] == customer.name
        assert record["industry"] == fields["sector"]
        assert record["annualrevenue"] == str(round(float(fields["revenue"]) * 1_000_000))
        assert record["numberofemployees"] == fields["employees"]
        assert record["founded_year"] == fields["year_established"]
        assert record["country"] == fields["office_location"]
        assert record["hs_parent_company_id"] == (names.get(fields["subsidiary_of"]) or None)


def test_deals_carry_the_seed_values(portal: HubSpotPortal, seed: SeedDataset) -> None:
    props = [
        "dealname",
        "amount",
        "amount_in_home_currency",
        "deal_currency_code",
        "pipeline",
        "dealstage",
        "closedate",
        "createdate",
        "lead_source",
        "hs_is_closed",
        "hs_is_closed_won",
        "hs_deal_stage_probability",
        "hs_object_id",
    ]
    deals = {d["id"]: d for d in walk(portal, "deals", properties=props)}
    assert len(deals) == 8800
    stages = {stage.id: stage for stage in portal.pipeline.stages}
    for opportunity in seed.opportunities:
        deal = deals[portal.id_map[opportunity.id]]
        values = deal["properties"]
        stage = stages[values["dealstage"]]
        assert stage.label == opportunity.stage
        assert values["pipeline"] == portal.pipeline.id
        assert values["hs_object_id"] == deal["id"]
        assert values["dealname"] == opportunity.name
        assert _number(values["amount"]) == opportunity.amount_original
        assert _number(values["amount_in_home_currency"]) == opportunity.amount
        assert values["deal_currency_code"] == opportunity.currency
        assert values["lead_source"] == opportunity.lead_source
        assert values["createdate"] == f"{opportunity.created_date}T09:00:00.000Z"
        assert deal["createdAt"] == values["createdate"]
        assert values["closedate"] == f"{opportunity.close_date}T09:00:00.000Z"
        closed = opportunity.status is not OpportunityStatus.OPEN
        assert values["hs_is_closed"] == ("true" if closed else "false")
        won = opportunity.status is OpportunityStatus.WON
        assert values["hs_is_closed_won"] == ("true" if won else "false")
        assert float(values["hs_deal_stage_probability"]) == opportunity.probability


def _number(text: str | None) -> float | None:
    return None if text is None else float(text)


def test_stage_ids_say_nothing_and_metadata_says_everything(portal: HubSpotPortal) -> None:
    pipelines = portal.pipelines("deals")
    assert [p["label"] for p in pipelines] == ["Partner deals"]
    stages = pipelines[0]["stages"]
    assert [s["label"] for s in stages] == ["Prospecting", "Engaging", "Won", "Lost"]
    for stage in stages:
        assert stage["id"].isdigit() and len(stage["id"]) >= 9
        assert stage["label"].lower() not in stage["id"].lower()
    metadata = {s["label"]: s["metadata"] for s in stages}
    assert metadata == {
        "Prospecting": {"isClosed": "false", "probability": "0.1"},
        "Engaging": {"isClosed": "false", "probability": "0.5"},
        "Won": {"isClosed": "true", "probability": "1.0"},
        "Lost": {"isClosed": "true", "probability": "0.0"},
    }


def _histories(seed: SeedDataset) -> dict[str, list[StageEvent]]:
    """Each seeded deal's stage events, in order."""
    histories: dict[str, list[StageEvent]] = defaultdict(list)
    for event in sorted(seed.stage_events, key=lambda e: (e.opportunity_id, e.sequence)):
        histories[event.opportunity_id].append(event)
    return histories


def test_stage_history_is_visible_both_ways(portal: HubSpotPortal, seed: SeedDataset) -> None:
    ids = stage_ids(portal)
    names = {v: k for k, v in ids.items()}
    dated = [f"hs_v2_date_{kind}_{sid}" for sid in ids.values() for kind in ("entered", "exited")]
    histories = _histories(seed)
    for opportunity in seed.opportunities[:400]:
        deal_id = portal.id_map[opportunity.id]
        record = portal.get_object(
            "deals", deal_id, properties=dated, properties_with_history=["dealstage"]
        )
        events = histories[opportunity.id]
        expected = [(ids[e.stage], f"{e.entered_date}T09:{e.sequence:02d}:00.000Z") for e in events]
        history = record["propertiesWithHistory"]["dealstage"]
        assert [(h["value"], h["timestamp"]) for h in history] == expected[::-1]
        assert all(h["sourceType"] and h["sourceId"] for h in history)
        values = record["properties"]
        for position, (stage_id, moment) in enumerate(expected):
            assert values[f"hs_v2_date_entered_{stage_id}"] == moment, names[stage_id]
            leaving = expected[position + 1][1] if position + 1 < len(expected) else None
            assert values[f"hs_v2_date_exited_{stage_id}"] == leaving
        never = set(ids.values()) - {stage_id for stage_id, _ in expected}
        assert all(values[f"hs_v2_date_entered_{s}"] is None for s in never)


def test_last_modified_is_spread_over_the_last_activity_evening(
    portal: HubSpotPortal, seed: SeedDataset
) -> None:
    deals = {d["id"]: d for d in walk(portal, "deals", properties=["hs_lastmodifieddate"])}
    stamps = set()
    histories = _histories(seed)
    for serial, opportunity in enumerate(seed.opportunities):
        last_day = max(e.entered_date for e in histories[opportunity.id])
        expected = datetime.combine(last_day, datetime.min.time(), UTC) + timedelta(
            hours=18, seconds=serial % 3600
        )
        deal = deals[portal.id_map[opportunity.id]]
        assert deal["properties"]["hs_lastmodifieddate"] == expected.strftime(ISO)
        assert deal["updatedAt"] == expected.strftime(ISO)
        stamps.add(expected)
    assert len(stamps) > 5000  # spread, with some ties


def test_every_deal_is_associated_to_its_customer_and_partner(
    portal: HubSpotPortal, seed: SeedDataset
) -> None:
    labels = {
        (x["category"], x["typeId"]): x["label"]
        for x in portal.association_labels("deals", "companies")
    }
    assert labels[("HUBSPOT_DEFINED", 5)] == "Primary"
    assert labels[("HUBSPOT_DEFINED", 341)] is None
    reseller = [key for key, label in labels.items() if label == "Reseller"]
    assert len(reseller) == 1 and reseller[0][0] == "USER_DEFINED" and reseller[0][1] >= 100
    reseller_type = reseller[0][1]
    opportunities = seed.opportunities
    found: dict[str, dict[int, set[int]]] = {}
    for start in range(0, len(opportunities), 1000):
        batch = [{"id": portal.id_map[o.id]} for o in opportunities[start : start + 1000]]
        result = portal.read_associations("deals", "companies", {"inputs": batch})
        assert result.status == 200
        for entry in result.body["results"]:
            found[entry["from"]["id"]] = {
                int(to["toObjectId"]): {t["typeId"] for t in to["associationTypes"]}
                for to in entry["to"]
            }
    for opportunity in opportunities:
        expected: dict[int, set[int]] = {}
        if opportunity.account_id:
            expected[int(portal.id_map[opportunity.account_id])] = {5, 341}
        expected[int(portal.id_map[opportunity.partner_id or ""])] = {reseller_type, 341}
        assert found[portal.id_map[opportunity.id]] == expected
    partner = seed.partners[0]
    partner_deals = sum(o.partner_id == partner.id for o in opportunities)
    page = portal.object_associations(
        "companies", portal.id_map[partner.id], "deals", after=None, limit=500
    )
    assert len(page.results) == min(partner_deals, 500)
    inverse = {x["label"]: x["typeId"] for x in portal.association_labels("companies", "deals")}
    assert {t["typeId"] for t in page.results[0]["associationTypes"]} == {
        inverse["Reseller"],
        inverse[None],
    }


# --- reads ----------------------------------------------------------------------------


def test_reads_return_asked_properties_plus_the_system_ones(portal: HubSpotPortal) -> None:
    default = portal.list_objects("deals", limit=1).results[0]["properties"]
    assert set(default) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    company = portal.list_objects("companies", limit=1).results[0]["properties"]
    assert set(company) == {"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"}
    asked = portal.list_objects("deals", limit=1, properties=["lead_source", "no_such_property"])
    assert set(asked.results[0]["properties"]) == {
        "lead_source",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_list_limits(portal: HubSpotPortal) -> None:
    assert len(portal.list_objects("deals", limit=100).results) == 100
    for limit in (0, 101):
        with pytest.raises(HubSpotApiError) as excinfo:
            portal.list_objects("deals", limit=limit)
        assert error_of(excinfo) == (400, "VALIDATION_ERROR")
    with pytest.raises(HubSpotApiError):
        portal.list_objects("deals", limit=51, properties_with_history=["dealstage"])
    assert (
        len(portal.list_objects("deals", limit=50, properties_with_history=["dealstage"]).results)
        == 50
    )
    with pytest.raises(HubSpotApiError) as excinfo:
        portal.list_objects("widgets")  # tickets exist since issue 12
    assert error_of(excinfo) == (400, "VALIDATION_ERROR")


def test_object_types_by_any_name(portal: HubSpotPortal) -> None:
    first = portal.list_objects("deals", limit=1).results
    assert portal.list_objects("deal", limit=1).results == first
    assert portal.list_objects("0-3", limit=1).results == first


def test_batch_read_reports_missing_ids(portal: HubSpotPortal, seed: SeedDataset) -> None:
    known = [portal.id_map[o.id] for o in seed.opportunities[:3]]
    result = portal.batch_read(
        "deals", {"inputs": [{"id": i} for i in [*known, "1", "abc"]], "properties": ["amount"]}
    )
    assert result.status == 207
    assert [r["id"] for r in result.body["results"]] == known
    (error,) = result.body["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND" and error["context"] == {"ids": ["1", "abc"]}
    assert result.body["numErrors"] == 1
    full = portal.batch_read("deals", {"inputs": [{"id": i} for i in known]})
    assert full.status == 200 and "errors" not in full.body
    with pytest.raises(HubSpotApiError):
        portal.batch_read("deals", {"inputs": [{"id": str(n)} for n in range(101)]})


def test_get_missing_is_404(portal: HubSpotPortal) -> None:
    with pytest.raises(HubSpotApiError) as excinfo:
        portal.get_object("deals", "123")
    assert error_of(excinfo) == (404, "OBJECT_NOT_FOUND")


# --- writes -----------------------------------------------------------------------------


def test_batch_update_persists_and_bumps_last_modified(
    fresh: HubSpotPortal, seed: SeedDataset
) -> None:
    partner_ids = [fresh.id_map[p.id] for p in seed.partners[:3]]
    before = {
        r["id"]: r
        for r in fresh.batch_read("companies", {"inputs": [{"id": i} for i in partner_ids]}).body[
            "results"
        ]
    }
    result = fresh.batch_update(
        "companies",
        {
            "inputs": [
                {"id": i, "properties": {"region": f"Region {n}", "annualrevenue": 1000 + n}}
                for n, i in enumerate(partner_ids)
            ]
        },
    )
    assert result.status == 200 and result.written == 3
    assert [r["properties"]["region"] for r in result.body["results"]] == [
        "Region 0",
        "Region 1",
        "Region 2",
    ]
    after = fresh.get_object(
        "companies",
        partner_ids[1],
        properties=["region", "annualrevenue"],
        properties_with_history=["region"],
    )
    assert after["properties"]["region"] == "Region 1"
    assert after["properties"]["annualrevenue"] == "1001"
    assert after["updatedAt"] > before[partner_ids[1]]["updatedAt"]
    assert after["properties"]["hs_lastmodifieddate"] == after["updatedAt"]
    history = after["propertiesWithHistory"]["region"]
    assert [h["value"] for h in history] == ["Region 1", seed.partners[1].region]
    assert history[1]["sourceType"] == "IMPORT" and history[0]["sourceType"] == "INTEGRATION"
    found = fresh.search(
        "companies",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "region", "operator": "EQ", "value": "region 1"}]}
            ]
        },
    )
    assert [r["id"] for r in found["results"]] == [partner_ids[1]]
    newest = fresh.search(
        "companies",
        {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}], "limit": 3},
    )
    assert {r["id"] for r in newest["results"]} == set(partner_ids)


def test_batch_update_fails_records_one_by_one(fresh: HubSpotPortal, seed: SeedDataset) -> None:
    ids = [fresh.id_map[p.id] for p in seed.partners[:5]]
    result = fresh.batch_update(
        "companies",
        {
            "inputs": [
                {"id": ids[0], "properties": {"annualrevenue": "a lot"}},
                {"id": ids[1], "properties": {"region": "North"}},
                {"id": ids[2], "properties": {"partner_score": "5"}},
                {"id": ids[3], "properties": {"hs_object_id": "5", "type": "NOPE"}},
                {"id": "999", "properties": {"region": "South"}},
                {"id": ids[4], "properties": {"region": ""}},
            ]
        },
    )
    assert result.status == 207 and result.written == 2
    assert [r["id"] for r in result.body["results"]] == [ids[1], ids[4]]
    errors = {tuple(e["context"]["ids"]): e for e in result.body["errors"]}
    assert result.body["numErrors"] == 4
    assert errors[(ids[0],)]["category"] == "VALIDATION_ERROR"
    assert errors[(ids[0],)]["errors"][0]["code"] == "INVALID_FLOAT"
    assert errors[(ids[2],)]["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert [e["code"] for e in errors[(ids[3],)]["errors"]] == ["READ_ONLY_VALUE", "INVALID_OPTION"]
    assert errors[("999",)]["category"] == "OBJECT_NOT_FOUND"
    for error in result.body["errors"]:
        assert set(error) >= {"status", "category", "message", "context", "errors", "links"}
    values = fresh.batch_read(
        "companies", {"inputs": [{"id": i} for i in ids], "properties": ["region", "annualrevenue"]}
    )
    regions = [r["properties"]["region"] for r in values.body["results"]]
    assert regions == [
        seed.partners[0].region,
        "North",
        seed.partners[2].region,
        seed.partners[3].region,
        None,
    ]


def test_batch_update_refuses_malformed_batches(fresh: HubSpotPortal) -> None:
    malformed: tuple[dict[str, Any], ...] = (
        {"inputs": [{"id": str(n), "properties": {}} for n in range(101)]},
        {"inputs": [{"id": "1", "properties": {}}, {"id": "1", "properties": {}}]},
        {"inputs": [{"properties": {}}]},
        {"nothing": []},
    )
    for body in malformed:
        with pytest.raises(HubSpotApiError) as excinfo:
            fresh.batch_update("companies", body)
        assert error_of(excinfo) == (400, "VALIDATION_ERROR")


def test_injected_rejections_hit_single_records(fresh: HubSpotPortal, seed: SeedDataset) -> None:
    ids = [fresh.id_map[p.id] for p in seed.partners[:4]]
    calls = iter([False, True, False, True])
    result = fresh.batch_update(
        "companies",
        {"inputs": [{"id": i, "properties": {"region": "X"}} for i in ids]},
        reject=lambda: next(calls),
    )
    assert result.status == 207 and result.written == 2
    assert [r["id"] for r in result.body["results"]] == [ids[0], ids[2]]
    assert [e["context"]["ids"] for e in result.body["errors"]] == [[ids[1]], [ids[3]]]


def test_stage_changes_keep_derived_fields_consistent(
    fresh: HubSpotPortal, seed: SeedDataset
) -> None:
    ids = stage_ids(fresh)
    opportunity = next(o for o in seed.opportunities if o.stage == "Engaging")
    deal_id = fresh.id_map[opportunity.id]
    result = fresh.batch_update(
        "deals", {"inputs": [{"id": deal_id, "properties": {"dealstage": ids["Won"]}}]}
    )
    assert result.status == 200
    won = ids["Won"]
    record = fresh.get_object(
        "deals",
        deal_id,
        properties=[
            "hs_is_closed",
            "hs_is_closed_won",
            "hs_deal_stage_probability",
            f"hs_v2_date_entered_{won}",
            f"hs_v2_date_exited_{ids['Engaging']}",
        ],
        properties_with_history=["dealstage"],
    )
    values = record["properties"]
    assert (values["hs_is_closed"], values["hs_is_closed_won"]) == ("true", "true")
    assert values["hs_deal_stage_probability"] == "1"
    assert values[f"hs_v2_date_entered_{won}"] == values["hs_lastmodifieddate"]
    assert values[f"hs_v2_date_exited_{ids['Engaging']}"] == values["hs_lastmodifieddate"]
    assert record["propertiesWithHistory"]["dealstage"][0]["value"] == won
    assert len(record["propertiesWithHistory"]["dealstage"]) == 3
    bad = fresh.batch_update(
        "deals", {"inputs": [{"id": deal_id, "properties": {"dealstage": "Won"}}]}
    )
    assert bad.body["errors"][0]["errors"][0]["code"] == "INVALID_OPTION"


def test_amount_in_home_currency_follows_amount(tmp_path: Path) -> None:
    folder = write_seed(tmp_path / "seed", 6, currencies={"USD": 1.0, "EUR": 0.8})
    # a portal of its own: the bundled data has one currency
    portal = HubSpotPortal(SqlStore(), read_seed(folder))
    props = ["amount", "deal_currency_code", "amount_in_home_currency"]
    deals = walk(portal, "deals", properties=props)
    eur = next(d for d in deals if d["properties"]["deal_currency_code"] == "EUR")
    assert float(eur["properties"]["amount_in_home_currency"]) == pytest.approx(
        float(eur["properties"]["amount"]) / 0.8
    )
    portal.batch_update("deals", {"inputs": [{"id": eur["id"], "properties": {"amount": "400"}}]})
    again = portal.get_object("deals", eur["id"], properties=props)
    assert again["properties"]["amount_in_home_currency"] == "500"


def test_archived_records_leave_lists_searches_and_associations(
    fresh: HubSpotPortal, seed: SeedDataset
) -> None:
    opportunity = seed.opportunities[0]
    deal_id = fresh.id_map[opportunity.id]
    assert fresh.archive("deals", opportunity.id)
    assert not fresh.archive("deals", opportunity.id)
    assert deal_id not in {d["id"] for d in walk(fresh, "deals")}
    archived = fresh.list_objects("deals", archived=True).results
    assert [d["id"] for d in archived] == [deal_id]
    assert archived[0]["archived"] is True and "archivedAt" in archived[0]
    assert fresh.search("deals", {"limit": 1})["total"] == 8799
    with pytest.raises(HubSpotApiError):
        fresh.get_object("deals", deal_id)
    assert fresh.get_object("deals", deal_id, archived=True)["archived"] is True
    result = fresh.read_associations("deals", "companies", {"inputs": [{"id": deal_id}]})
    assert result.status == 207 and result.body["results"] == []


# --- properties ---------------------------------------------------------------------------


def test_a_created_property_is_at_once_readable_writable_searchable(
    fresh: HubSpotPortal, seed: SeedDataset
) -> None:
    group = fresh.create_group("companies", {"name": "partner_kpi", "label": "Partner KPI"})
    assert group == {
        "name": "partner_kpi",
        "label": "Partner KPI",
        "displayOrder": -1,
        "archived": False,
    }
    created = fresh.create_property(
        "companies",
        {
            "name": "partner_score",
            "label": "Partner score",
            "type": "number",
            "fieldType": "number",
            "groupName": "partner_kpi",
        },
    )
    assert created["name"] == "partner_score" and created["options"] == []
    assert "hubspotDefined" not in created
    assert fresh.property("companies", "partner_score") == created
    assert "partner_score" in {p["name"] for p in fresh.properties("companies")}
    ids = [fresh.id_map[p.id] for p in seed.partners]
    fresh.batch_update(
        "companies",
        {"inputs": [{"id": i, "properties": {"partner_score": str(n)}} for n, i in enumerate(ids)]},
    )
    read = fresh.get_object("companies", ids[7], properties=["partner_score"])
    assert read["properties"]["partner_score"] == "7"
    top = fresh.search(
        "companies",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "partner_score", "operator": "GTE", "value": "30"}]}
            ],
            "sorts": [{"propertyName": "partner_score", "direction": "DESCENDING"}],
            "properties": ["partner_score"],
        },
    )
    assert [r["properties"]["partner_score"] for r in top["results"]] == [
        "34",
        "33",
        "32",
        "31",
        "30",
    ]


def test_property_creation_is_validated(fresh: HubSpotPortal) -> None:
    base = {
        "name": "tier",
        "label": "Tier",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "companyinformation",
        "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}],
    }
    fresh.create_property("companies", base)
    with pytest.raises(HubSpotApiError) as excinfo:
        fresh.create_property("companies", base)
    assert excinfo.value.status == 409
    changes: tuple[dict[str, Any], ...] = (
        {"name": "hs_tier"},
        {"name": "Tier!"},
        {"type": "text"},
        {"fieldType": "text"},
        {"groupName": "nope"},
        {"options": []},
        {"label": None},
    )
    for change in changes:
        with pytest.raises(HubSpotApiError) as excinfo:
            fresh.create_property("companies", {**base, "name": "tier2", **change})
        assert error_of(excinfo) == (400, "VALIDATION_ERROR"), change
    company = fresh.list_objects("companies", limit=1).results[0]["id"]
    result = fresh.batch_update(
        "companies", {"inputs": [{"id": company, "properties": {"tier": "bronze"}}]}
    )
    assert result.body["errors"][0]["errors"][0]["code"] == "INVALID_OPTION"
    with pytest.raises(HubSpotApiError) as excinfo:
        fresh.create_group("companies", {"name": "companyinformation", "label": "Again"})
    assert excinfo.value.status == 409


# --- search ------------------------------------------------------------------------------


def _filter(name: str, operator: str, **more: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [{"propertyName": name, "operator": operator, **more}]}]}


def test_search_operators(portal: HubSpotPortal, seed: SeedDataset) -> None:
    opportunities = seed.opportunities
    ids = stage_ids(portal)

    def count(body: dict[str, Any], object_type: str = "deals") -> int:
        total: int = portal.search(object_type, {**body, "limit": 1})["total"]
        return total

    won = sum(o.stage == "Won" for o in opportunities)
    assert count(_filter("dealstage", "EQ", value=ids["Won"])) == won
    assert count(_filter("dealstage", "NEQ", value=ids["Won"])) == 8800 - won
    assert count(_filter("dealstage", "IN", values=[ids["Won"], ids["Lost"]])) == sum(
        o.stage in ("Won", "Lost") for o in opportunities
    )
    assert count(_filter("dealstage", "NOT_IN", values=[ids["Won"]])) == 8800 - won
    big = sum((o.amount_original or 0) > 5000 for o in opportunities)
    assert count(_filter("amount", "GT", value="5000")) == big
    assert count(_filter("amount", "LTE", value=5000)) == sum(
        o.amount_original is not None and o.amount_original <= 5000 for o in opportunities
    )
    assert count(_filter("amount", "BETWEEN", value="1000", highValue="2000")) == sum(
        o.amount_original is not None and 1000 <= o.amount_original <= 2000 for o in opportunities
    )
    no_amount = sum(o.amount_original is None for o in opportunities)
    assert count(_filter("amount", "NOT_HAS_PROPERTY")) == no_amount
    assert count(_filter("amount", "HAS_PROPERTY")) == 8800 - no_amount
    # datetimes compare as epoch milliseconds or ISO 8601 alike
    cut = date(2017, 6, 1)
    closed_before = sum(o.close_date is not None and o.close_date < cut for o in opportunities)
    ms = str(int(datetime.combine(cut, datetime.min.time(), UTC).timestamp() * 1000))
    assert count(_filter("closedate", "LT", value=ms)) == closed_before
    assert count(_filter("closedate", "LT", value="2017-06-01")) == closed_before
    assert count(_filter("closedate", "LT", value="2017-06-01T00:00:00Z")) == closed_before
    # strings: case-insensitive; IN wants lowercase values; enumerations are case-sensitive
    partner = seed.partners[0]
    assert count(_filter("name", "EQ", value=partner.name.upper()), "companies") == 1
    assert count(_filter("name", "IN", values=[partner.name.lower()]), "companies") == 1
    assert count(_filter("name", "IN", values=[partner.name]), "companies") == 0
    assert count(_filter("type", "EQ", value="PARTNER"), "companies") == 35
    assert count(_filter("type", "EQ", value="partner"), "companies") == 0
    # tokens: whole words, * as a wildcard
    assert count(_filter("name", "CONTAINS_TOKEN", value="snelling"), "companies") == 1
    assert count(_filter("name", "CONTAINS_TOKEN", value="snell"), "companies") == 0
    assert count(_filter("name", "CONTAINS_TOKEN", value="snell*"), "companies") == 1
    assert count(_filter("name", "NOT_CONTAINS_TOKEN", value="snelling"), "companies") == 119
    # OR of groups, AND within a group
    both = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "type", "operator": "EQ", "value": "PARTNER"},
                    {"propertyName": "region", "operator": "EQ", "value": "central"},
                ]
            },
            {"filters": [{"propertyName": "name", "operator": "EQ", "value": "acme corporation"}]},
        ]
    }
    assert count(both, "companies") == sum(p.region == "Central" for p in seed.partners) + 1
    # the association pseudo-property
    customer = seed.customers[0]
    with_customer = sum(o.account_id == customer.id for o in opportunities)
    assert (
        count(_filter("associations.company", "EQ", value=portal.id_map[customer.id]))
        == with_customer
    )
    # full-text query over the default searchable properties
    assert count({"query": "snelling"}, "companies") == 1


def test_search_sorts_page_stably(portal: HubSpotPortal) -> None:
    sort = {
        "sorts": [{"propertyName": "closedate", "direction": "DESCENDING"}],
        "properties": ["closedate"],
    }
    ids = search_all(portal, "deals", sort)
    assert len(ids) == len(set(ids)) == 8800
    records = portal.batch_read(
        "deals", {"inputs": [{"id": i} for i in ids[:100]], "properties": ["closedate"]}
    )
    dates = [r["properties"]["closedate"] for r in records.body["results"]]
    assert dates == sorted(dates, reverse=True)
    # ties (every company shares one createdate) fall back to id order, so pages never overlap
    companies = search_all(portal, "companies", {"sorts": ["createdate"]})
    assert companies == sorted(companies, key=int) and len(companies) == 120
    assert search_all(portal, "companies", {"sorts": ["-hs_object_id"]}) == companies[::-1]
    assert search_all(portal, "companies", {}) == companies  # oldest first by default


def test_search_limits(portal: HubSpotPortal) -> None:
    one = {"propertyName": "amount", "operator": "GT", "value": "1"}
    refused = [
        {"filterGroups": [{"filters": [one]}] * 6},
        {"filterGroups": [{"filters": [one] * 7}]},
        {"filterGroups": [{"filters": [one] * 6}] * 3 + [{"filters": [one]}]},
        {"limit": 201},
        {"after": "abc"},
        {"sorts": [{"propertyName": "amount"}, {"propertyName": "dealname"}]},
        {"sorts": [{"propertyName": "amount", "direction": "UP"}]},
        _filter("no_such_property", "EQ", value="1"),
        _filter("amount", "EQ", value="ten"),
        _filter("amount", "BETWEEN", value="1"),
        _filter("amount", "IN", values=[]),
        _filter("amount", "LIKE", value="1"),
    ]
    for body in refused:
        with pytest.raises(HubSpotApiError) as excinfo:
            portal.search("deals", body)
        assert error_of(excinfo) == (400, "VALIDATION_ERROR"), body
    allowed = {"filterGroups": [{"filters": [one] * 6}] * 3, "limit": 200}
    assert len(portal.search("deals", allowed)["results"]) == 200
    with pytest.raises(HubSpotApiError):
        portal.search("deals", {}, body_chars=3001)


def test_search_stops_at_ten_thousand_results(tmp_path: Path) -> None:
    # a portal of its own: the bundled data has fewer than 10,000 deals
    portal = HubSpotPortal(SqlStore(), read_seed(write_seed(tmp_path / "seed", 10_100, won=10_000)))
    won = stage_ids(portal)["Won"]
    exactly = search_all(portal, "deals", _filter("dealstage", "EQ", value=won))
    assert len(exactly) == len(set(exactly)) == 10_000
    last = portal.search("deals", {"limit": 200, "after": "9800"})
    assert last["total"] == 10_100 and len(last["results"]) == 200
    assert last["paging"]["next"]["after"] == "10000"
    for after, limit in (("10000", 200), ("9900", 200), ("10000", 1)):
        with pytest.raises(HubSpotApiError) as excinfo:
            portal.search("deals", {"limit": limit, "after": after})
        assert error_of(excinfo) == (400, "VALIDATION_ERROR")
    assert len(portal.search("deals", {"limit": 100, "after": "9900"})["results"]) == 100


def test_concurrent_reads_writes_and_property_creation(
    fresh: HubSpotPortal, seed: SeedDataset
) -> None:
    """The server is threaded: interleaved requests must neither fail nor lose writes."""
    partner_ids = [fresh.id_map[p.id] for p in seed.partners]
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        mine = partner_ids[worker::4]
        for round_ in range(10):
            body = {
                "inputs": [{"id": i, "properties": {"region": f"w{worker}r{round_}"}} for i in mine]
            }
            assert fresh.batch_update("companies", body).status == 200

    def reader() -> None:
        for _ in range(10):
            assert len(walk(fresh, "companies", properties=["region"])) == 120
            fresh.search("deals", {"sorts": ["-amount"], "limit": 50})

    def creator() -> None:
        for n in range(5):
            fresh.create_property(
                "companies",
                {"name": f"score_{n}", "label": f"Score {n}", "type": "number",
                 "fieldType": "number", "groupName": "companyinformation"},
            )  # fmt: skip

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # reported by the assert below
                errors.append(error)

        return run

    threads = [threading.Thread(target=guarded(functools.partial(writer, w))) for w in range(4)]
    threads += [threading.Thread(target=guarded(reader)) for _ in range(3)]
    threads.append(threading.Thread(target=guarded(creator)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    regions = {
        r["id"]: r["properties"]["region"] for r in walk(fresh, "companies", properties=["region"])
    }
    for worker in range(4):
        assert {regions[i] for i in partner_ids[worker::4]} == {f"w{worker}r9"}
    assert {f"score_{n}" for n in range(5)} <= {p["name"] for p in fresh.properties("companies")}

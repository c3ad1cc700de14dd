"""The bundled data through the connector equals the seed reader, record for record.

The unmodified simple-salesforce talks to the sandbox over HTTPS; ids are
translated through the sandbox's id map. Calls are counted by the sandbox.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest

from connectors.salesforce import queries
from connectors.salesforce.connector import SalesforceConnector
from connectors.seed import SeedDataset
from connectors.seed.mapping import SEED_STAGES
from core.connector import Connector, Cursor
from core.schema import Opportunity, Partner, StageChange
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import api_calls, history_rows, make_connector, records_of
from tests.sandbox.conftest import control

PAGE = 2000


def _expected_opportunities(seed: SeedDataset, id_map: dict[str, str]) -> dict[str, Opportunity]:
    return {
        id_map[o.id]: o.model_copy(
            update={
                "id": id_map[o.id],
                "partner_id": id_map[o.partner_id] if o.partner_id else None,
                "account_id": id_map[o.account_id] if o.account_id else None,
            }
        )
        for o in seed.opportunities
    }


def _assert_same_opportunities(
    got: list[Opportunity], seed: SeedDataset, id_map: dict[str, str]
) -> None:
    expected = _expected_opportunities(seed, id_map)
    by_id = {o.id: o for o in got}
    assert len(got) == len(by_id) == len(expected)
    for record_id, want in expected.items():
        assert by_id[record_id] == want, record_id


@pytest.fixture(scope="module")
def connector(sandbox: RunningSandbox) -> SalesforceConnector:
    return make_connector(sandbox)


def test_it_is_a_connector(connector: SalesforceConnector) -> None:
    assert isinstance(connector, Connector)
    assert connector.crm == "salesforce"


def test_stage_definitions_come_from_stage_metadata(connector: SalesforceConnector) -> None:
    assert connector.fetch_stage_defs() == list(SEED_STAGES)


def test_partners_match_the_seed(
    connector: SalesforceConnector, seed: SeedDataset, id_map: dict[str, str]
) -> None:
    pages = list(connector.fetch_partners())
    got = {p.id: p for page in pages for p in page.records}
    expected = {
        id_map[p.id]: Partner(
            id=id_map[p.id], name=p.name, region=p.region, channel_manager=p.channel_manager
        )
        for p in seed.partners
    }
    assert got == expected


def test_opportunities_match_the_seed_record_for_record(
    connector: SalesforceConnector, seed: SeedDataset, id_map: dict[str, str]
) -> None:
    pages = list(connector.fetch_opportunities(None))
    assert [len(p.records) for p in pages] == [2000, 2000, 2000, 2000, 800]
    assert all(p.deleted_ids == [] for p in pages)
    _assert_same_opportunities([o for p in pages for o in p.records], seed, id_map)
    # each page's cursor is the (SystemModstamp, Id) of its last record, rising
    cursors = [p.cursor for p in pages]
    assert all(c is not None for c in cursors)
    assert cursors == sorted(cursors)  # type: ignore[type-var]


def test_opportunity_partner_attribution_gives_the_same_partners(
    sandbox: RunningSandbox, seed: SeedDataset, id_map: dict[str, str]
) -> None:
    by_role = make_connector(sandbox, partner_attribution="opportunity_partner")
    _assert_same_opportunities(records_of(by_role.fetch_opportunities(None)), seed, id_map)
    # another role attributes nothing
    other = make_connector(
        sandbox, partner_attribution="opportunity_partner", partner_role="Distributor"
    )
    assert {o.partner_id for o in records_of(other.fetch_opportunities(None))} == {None}


def test_stage_changes_match_the_seed_history(
    connector: SalesforceConnector, seed: SeedDataset, id_map: dict[str, str]
) -> None:
    changes: list[StageChange] = records_of(connector.fetch_stage_changes(None))
    assert len(changes) == len({c.id for c in changes}) == history_rows(seed)
    got: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: (c.entered_at, c.id)):
        got[change.opportunity_id].append((change.stage, change.entered_at.date()))
    expected: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for event in sorted(seed.stage_events, key=lambda e: (e.opportunity_id, e.sequence)):
        expected[id_map[event.opportunity_id]].append((event.stage, event.entered_date))
    assert got == expected


def test_a_full_extract_makes_the_minimum_of_calls(
    sandbox: RunningSandbox, seed: SeedDataset
) -> None:
    connector = make_connector(sandbox)
    before = api_calls(sandbox)
    partners = records_of(connector.fetch_partners())
    opportunities = records_of(connector.fetch_opportunities(None))
    changes = records_of(connector.fetch_stage_changes(None))
    made = api_calls(sandbox) - before
    query_pages = (
        math.ceil(len(partners) / PAGE)
        + math.ceil(len(opportunities) / PAGE)
        + math.ceil(len(changes) / PAGE)
    )
    metadata = 2  # OpportunityStage, describe Opportunity (no CurrencyType: one currency)
    assert (query_pages, made) == (1 + 5 + 12, query_pages + metadata)
    assert connector.usage().calls_made == made
    # through OpportunityPartner, a full read loads the primary rows once: 5 more pages
    by_role = make_connector(sandbox, partner_attribution="opportunity_partner")
    before = api_calls(sandbox)
    records_of(by_role.fetch_opportunities(None))
    assert api_calls(sandbox) - before == 5 + math.ceil(len(seed.opportunities) / PAGE) + 2


def test_bulk_api_returns_the_same_records_as_rest(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    bulk = make_connector(sandbox, bulk_threshold=2001)
    before = control(sandbox, "stats")["requests"]
    bulk_opportunities = records_of(bulk.fetch_opportunities(None))
    bulk_changes = records_of(bulk.fetch_stage_changes(None))
    after = control(sandbox, "stats")["requests"]

    def delta(route: str) -> int:
        return int(after.get(route, 0)) - int(before.get(route, 0))

    jobs = "salesforce POST /services/data/v<version>/jobs/query"
    results = "salesforce GET /services/data/v<version>/jobs/query/<job_id>/results"
    assert (delta(jobs), delta(results)) == (2, 2)
    assert delta("salesforce GET /services/data/v<version>/query/<locator>") == 0
    assert bulk_opportunities == records_of(connector.fetch_opportunities(None))
    assert bulk_changes == records_of(connector.fetch_stage_changes(None))
    # below the switch point, REST serves
    small = make_connector(sandbox, bulk_threshold=9000)
    records_of(small.fetch_opportunities(None))
    assert delta(jobs) == 2 and control(sandbox, "stats")["requests"][jobs] == after[jobs]


def test_check_reports_everything_and_writes_nothing(
    sandbox: RunningSandbox, connector: SalesforceConnector
) -> None:
    before = control(sandbox, "stats")
    items = {item.name: item for item in connector.check()}
    after = control(sandbox, "stats")
    assert all(item.ok for item in items.values()), items
    assert set(items) == {
        "login",
        "api version",
        "api quota",
        "object Account",
        "object Opportunity",
        "object OpportunityStage",
        "object OpportunityHistory",
        "partner accounts",
        "currency",
    }
    assert "v60.0" in items["api version"].detail
    assert "35 Accounts" in items["partner accounts"].detail
    assert "single-currency" in items["currency"].detail
    assert after["records_written"] == before["records_written"]
    grown = [
        route
        for route, count in after["requests"].items()
        if count > before["requests"].get(route, 0) and route.startswith("salesforce")
    ]
    assert grown and all(route.split()[1] == "GET" or "oauth2/token" in route for route in grown), (
        grown
    )


def test_check_names_what_is_missing(sandbox: RunningSandbox) -> None:
    connector = make_connector(
        sandbox,
        partner_tier_field="Tier__c",
        partner_filter="Type = 'Reseller'",
        partner_attribution="opportunity_partner",
        api_version="62.0",
    )
    items = {item.name: item for item in connector.check()}
    assert not items["object Account"].ok and "Tier__c" in items["object Account"].detail
    assert not items["partner accounts"].ok and items["partner accounts"].detail.startswith("0 ")
    assert items["object OpportunityPartner"].ok


def test_a_field_list_too_long_for_one_url_is_split(
    sandbox: RunningSandbox, connector: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = Cursor(datetime(2017, 12, 31, 18, 30, tzinfo=UTC))
    whole = list(connector.fetch_opportunities(since))
    assert 0 < sum(len(p.records) for p in whole) < 200
    # a limit that fits the key fields and a few more, as a long custom field list would
    monkeypatch.setattr(queries, "MAX_QUERY_URL_BYTES", 280)
    split = make_connector(sandbox)
    before = control(sandbox, "stats")["requests"]
    assert list(split.fetch_opportunities(since)) == whole
    after = control(sandbox, "stats")["requests"]
    by_id = "salesforce GET /services/data/v<version>/query"
    assert after[by_id] - before.get(by_id, 0) > 2  # the other fields, fetched by Id

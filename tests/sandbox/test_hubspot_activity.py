"""The portal's activity objects as hubspot-api-client sees them: every answer deserializes
into the client's models (a shape it cannot read is wrong), and a token without an
object's scope gets HubSpot's 403 MISSING_SCOPES naming it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hubspot.crm.objects import ApiException

from connectors.seed import SeedDataset, read_seed
from core.schema import Call, CallOutcome, Case, Lead, Quote
from kpi_engine.frames import Activity
from sandbox.hubspot.portal import HubSpotPortal
from sandbox.server import RunningSandbox
from sandbox.store import SqlStore
from tests.sandbox.conftest import control, hubspot_client
from tests.sandbox.hubspot_activity import seeding_activity
from tests.sandbox.test_hubspot_portal import write_seed

__all__ = ["seeding_activity"]  # the fixture, used by name


@pytest.fixture
def running(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path, seeding_activity: Any
) -> RunningSandbox:
    return fresh_sandbox(write_seed(tmp_path / "seed", 40, won=25))


def test_every_object_deserializes(running: RunningSandbox) -> None:
    crm = hubspot_client(running).crm
    ids = running.app.hubspot.activity_ids
    leads = crm.objects.basic_api.get_page(
        "leads",
        limit=5,
        properties=["hs_pipeline_stage"],
        properties_with_history=["hs_pipeline_stage"],
    )
    first = leads.results[0]
    assert first.id == ids["leads"]["L000"] and first.properties["hs_pipeline_stage"] == (
        "qualified-stage-id"
    )
    assert [h.value for h in first.properties_with_history["hs_pipeline_stage"]] == [
        "qualified-stage-id",
        "new-stage-id",
    ]
    tickets = crm.tickets.basic_api.get_page(limit=10, properties=["hs_ticket_category"])
    assert {t.properties["hs_ticket_category"] for t in tickets.results} == {
        "QUESTION", "PROBLEM", "ONBOARDING",
    }  # fmt: skip
    quotes = crm.quotes.basic_api.get_page(limit=10, properties=["hs_status"])
    assert quotes.results[1].properties["hs_status"] == "DRAFT"  # Q001: never sent
    items = crm.line_items.basic_api.get_page(limit=3, properties=["name", "quantity", "amount"])
    assert items.results[1].properties == {**items.results[1].properties, "quantity": "2",
                                           "amount": "200", "name": "MG Special"}  # fmt: skip
    calls = crm.objects.search_api.do_search(
        "calls",
        public_object_search_request={
            "filterGroups": [{"filters": [
                {"propertyName": "hs_call_duration", "operator": "GTE", "value": "120000"}]}],
            "properties": ["hs_call_duration", "hs_call_disposition"],
            "limit": 100,
        },
    )  # fmt: skip
    # K002, K003, K006, K007, K010, K011, K014 on deals; the 4 calls logged on tickets (300 s)
    assert calls.total == 11
    contacts = crm.contacts.basic_api.get_page(limit=2, properties=["lifecyclestage"])
    assert [c.properties["lifecyclestage"] for c in contacts.results] == ["opportunity", "lead"]
    assert contacts.results[0].updated_at.year == 2017  # lastmodifieddate, as contacts stamp
    pipeline = crm.pipelines.pipelines_api.get_all("tickets").results[0]
    assert [(s.id, s.metadata["ticketState"]) for s in pipeline.stages][-1] == ("4", "CLOSED")
    labels = crm.associations.v4.schema.definitions_api.get_all("leads", "companies").results
    assert {(label.category, label.label) for label in labels} == {
        ("HUBSPOT_DEFINED", None), ("USER_DEFINED", "Reseller"),
    }  # fmt: skip
    ticket = ids["cases"]["C002"]  # two logged contacts: an email, then a call
    found = crm.associations.v4.batch_api.get_page(
        "tickets",
        "emails",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": ticket}]},
    )
    assert [len(r.to) for r in found.results] == [1]
    assert found.results[0].to[0].association_types[0].type_id == 223


def test_a_token_without_an_objects_scope_gets_missing_scopes(running: RunningSandbox) -> None:
    granted = control(running, "hubspot/scopes")["scopes"]
    narrowed = [s for s in granted if s != "crm.objects.line_items.read"]
    control(running, "hubspot/scopes", {"scopes": narrowed})
    crm = hubspot_client(running).crm
    with pytest.raises(ApiException) as excinfo:
        crm.objects.basic_api.get_page("line_items", limit=1)
    body = json.loads(excinfo.value.body)
    assert excinfo.value.status == 403 and body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.line_items.read"]
    assert crm.objects.basic_api.get_page("calls", limit=1).results  # other objects still read


def _one_busy_day(dataset: SeedDataset, count: int) -> Activity:
    """``count`` leads, quotes, calls and cases that all happen on the same days (what the
    generated data does at scale: hundreds of records a day at one hour of it)."""
    deals = sorted(dataset.records["id"].to_list())
    partners = [p.id for p in dataset.partners]
    customers = [c.id for c in dataset.customers]
    day, next_day = date(2017, 5, 2), date(2017, 5, 3)
    return Activity(
        leads=[Lead(id=f"L{n:04d}", partner_id=partners[n % len(partners)], created_date=day,
                    status="Converted" if n % 2 else "Open",
                    converted_date=next_day if n % 2 else None,
                    converted_opportunity_id=deals[n % len(deals)] if n % 2 else None)
               for n in range(count)],
        quotes=[Quote(id=f"Q{n:04d}", opportunity_id=deals[n % len(deals)], created_date=day,
                      status="Accepted", sent_date=next_day) for n in range(count)],
        cases=[Case(id=f"C{n:04d}", account_id=customers[n % len(customers)], created_date=day,
                    closed_date=next_day, contact_count=2, reopened=n % 3 == 0)
               for n in range(count)],
        calls=[Call(id=f"K{n:04d}", opportunity_id=deals[n % len(deals)], call_date=day,
                    duration_seconds=60, outcome=CallOutcome.CONNECTED) for n in range(count)],
    )  # fmt: skip


#: per object type: the property it stamps each change in, its other moments, and the
#: property whose history it keeps
STAMPS = {
    "leads": ("hs_lastmodifieddate", ("createdate",), "hs_pipeline_stage"),
    "contacts": ("lastmodifieddate", ("createdate", "hs_lifecyclestage_lead_date",
                                      "hs_lifecyclestage_opportunity_date"), None),
    "quotes": ("hs_lastmodifieddate", ("createdate",), "hs_status"),
    "tickets": ("hs_lastmodifieddate", ("createdate", "closed_date"), "hs_pipeline_stage"),
    "calls": ("hs_lastmodifieddate", ("createdate", "hs_timestamp"), None),
    "emails": ("hs_lastmodifieddate", ("createdate", "hs_timestamp"), None),
    "companies": ("hs_lastmodifieddate", ("createdate",), None),
}  # fmt: skip


def test_generated_records_of_one_moment_get_distinct_modification_stamps(
    tmp_path: Path,
) -> None:
    """Records generated at one hour of one day are stamped apart, to the millisecond, as a
    portal stamps them (keyset searches by modification pay a read by id for a tie), each
    after every other moment of its record."""
    dataset = read_seed(write_seed(tmp_path / "seed", 40, won=25))
    portal = HubSpotPortal(SqlStore(), dataset, _one_busy_day(dataset, 300))
    for kind, (modified, moments, history) in STAMPS.items():
        records = _every(portal, kind, [modified, *moments], history)
        stamps = [record["properties"][modified] for record in records]
        assert len(records) >= 6 and len(set(stamps)) == len(stamps), kind
        for record in records:
            values = record["properties"]
            earlier = [values[name] for name in moments if values.get(name)]
            earlier += [h["timestamp"] for h in record.get("propertiesWithHistory", {}).get(
                history or "", [])]  # fmt: skip
            assert all(_ms(values[modified]) >= _ms(moment) for moment in earlier), record


def _every(
    portal: HubSpotPortal, kind: str, properties: list[str], history: str | None
) -> list[dict[str, Any]]:
    """Every record of a type with ``history`` (50 a page, the API's most with history)."""
    records: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = portal.list_objects(
            kind,
            limit=50,
            after=after,
            properties=properties,
            properties_with_history=[history] if history else [],
        )
        records += page.results
        if page.next_after is None:
            return records
        after = page.next_after


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)

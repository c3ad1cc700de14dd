"""The portal's activity objects as hubspot-api-client sees them: every answer deserializes
into the client's models (a shape it cannot read is wrong), and a token without an
object's scope gets HubSpot's 403 MISSING_SCOPES naming it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hubspot.crm.objects import ApiException

from sandbox.server import RunningSandbox
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

"""The live ids a reconciliation compares the store with, per activity stream: the list of
the stream's object (contacts for leads read from contacts), archived records left out,
100 a call with no property: the fewest calls HubSpot's list allows."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from core.schema import ACTIVITY_ENTITIES
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import connector_for
from tests.sandbox.conftest import control

#: stream → the portal's object
OBJECTS = {
    "leads": "leads", "quotes": "quotes", "cases": "tickets", "calls": "calls",
    "line_items": "line_items",
}  # fmt: skip
LIST_PAGE = 100


def _portal_ids(running: RunningSandbox, object_type: str) -> list[str]:
    sql = f'SELECT hs_object_id FROM "hs_{object_type}" WHERE "__archived" = 0'
    return sorted(str(row[0]) for row in running.app.hubspot.store.query(sql))


@pytest.mark.parametrize("stream", sorted(ACTIVITY_ENTITIES))
def test_an_activity_streams_live_ids_are_its_objects_list_a_call_per_100(
    sandbox: RunningSandbox, stream: str
) -> None:
    connector = connector_for(sandbox)
    listed = [record_id for page in connector.fetch_live_ids(stream) for record_id in page]
    expected = _portal_ids(sandbox, OBJECTS[stream])
    assert sorted(listed) == expected
    assert connector.usage().calls_made == math.ceil(len(expected) / LIST_PAGE)


def test_leads_read_from_contacts_are_listed_from_contacts(sandbox: RunningSandbox) -> None:
    connector = connector_for(sandbox, leads_from="contacts")
    listed = sorted(record_id for page in connector.fetch_live_ids("leads") for record_id in page)
    assert listed == _portal_ids(sandbox, "contacts")
    assert listed != _portal_ids(sandbox, "leads")


def test_an_archived_record_is_not_listed(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    ticket = _portal_ids(running, "tickets")[0]
    control(running, "hubspot/archive", {"object_type": "tickets", "ids": [ticket]})
    listed = {i for page in connector_for(running).fetch_live_ids("cases") for i in page}
    assert ticket not in listed
    assert listed == set(_portal_ids(running, "tickets"))

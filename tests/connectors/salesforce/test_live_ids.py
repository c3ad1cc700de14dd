"""The live ids a reconciliation compares the store with, per activity stream: the ids of
the stream's object the org holds now, with the read's own filter (a call is a Task of
subtype Call), in the fewest calls the API allows (REST pages of 2,000, or one Bulk API
2.0 job past the threshold)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from core.schema import ACTIVITY_ENTITIES
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import make_connector
from tests.sandbox.conftest import control

#: stream → the org's object and the condition its read adds
OBJECTS = {
    "leads": ("Lead", ""),
    "quotes": ("Quote", ""),
    "cases": ("Case", ""),
    "calls": ("Task", " AND TaskSubtype = 'Call'"),
    "line_items": ("OpportunityLineItem", ""),
}
REST_PAGE = 2_000


def _org_ids(running: RunningSandbox, stream: str) -> list[str]:
    sobject, condition = OBJECTS[stream]
    sql = f'SELECT Id FROM "{sobject}" WHERE IsDeleted = 0{condition}'
    return sorted(str(row[0]) for row in running.app.salesforce.store.query(sql))


@pytest.mark.parametrize("stream", sorted(ACTIVITY_ENTITIES))
def test_an_activity_streams_live_ids_are_its_objects_rows_a_call_per_2000(
    sandbox: RunningSandbox, stream: str
) -> None:
    connector = make_connector(sandbox)
    connector.activity_access()  # what a sync asks first: the describes are then known
    before = connector.usage().calls_made
    listed = [record_id for page in connector.fetch_live_ids(stream) for record_id in page]
    expected = _org_ids(sandbox, stream)
    assert sorted(listed) == expected
    assert connector.usage().calls_made - before == math.ceil(len(expected) / REST_PAGE)


def test_calls_are_listed_without_the_other_tasks(sandbox: RunningSandbox) -> None:
    tasks = sandbox.app.salesforce.store.query('SELECT count(*) FROM "Task" WHERE IsDeleted = 0')
    assert len(_org_ids(sandbox, "calls")) < int(tasks[0][0])  # a case's emails are Tasks too


def test_live_ids_of_a_stream_past_the_bulk_threshold_come_from_one_bulk_query_job(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    expected = _org_ids(running, "calls")
    connector = make_connector(running, bulk_threshold=len(expected) // 2)
    connector.activity_access()
    before = control(running, "stats")["requests"]
    assert sorted(i for page in connector.fetch_live_ids("calls") for i in page) == expected
    after = control(running, "stats")["requests"]
    used = {route: after[route] - before.get(route, 0) for route in after}
    assert sum(n for route, n in used.items() if route.endswith("/jobs/query")) == 1
    # one REST page (it tells the size), then the job; not a REST page per 2,000 ids
    assert sum(n for route, n in used.items() if "/query/" in route and "jobs" not in route) == 0

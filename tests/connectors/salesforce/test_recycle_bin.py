"""The sandbox org's Recycle Bin: a deleted record is seen by queryAll for 15 days by the
org's clock, then never again; an admin may empty the bin sooner. The connector reads
the org's clock from its ``Date`` header."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from core.connector import OPPORTUNITIES
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import make_connector
from tests.sandbox.conftest import control, salesforce_client


def _seen_by_query_all(running: RunningSandbox, record_id: str) -> list[bool]:
    soql = f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{record_id}'"
    rows = salesforce_client(running).query_all(soql, include_deleted=True)["records"]
    return [bool(row["IsDeleted"]) for row in rows]


def _an_opportunity(running: RunningSandbox) -> str:
    rows = running.app.salesforce.store.query('SELECT Id FROM "Opportunity" ORDER BY Id LIMIT 2')
    return str(rows[1][0])


def test_a_deleted_record_leaves_query_all_after_15_days_by_the_orgs_clock(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    record_id = _an_opportunity(running)
    salesforce_client(running).Opportunity.delete(record_id)
    assert _seen_by_query_all(running, record_id) == [True]

    assert control(running, "salesforce/clock", {"advance_days": 14})["purged"] == 0
    assert _seen_by_query_all(running, record_id) == [True]  # still in the bin
    moved = control(running, "salesforce/clock", {"advance_days": 2})
    assert moved["purged"] >= 1  # the opportunity, with its history and partner rows
    assert moved["offset_ms"] == 16 * 86_400_000
    assert _seen_by_query_all(running, record_id) == []

    connector = make_connector(running)
    ids = {i for page in connector.fetch_live_ids(OPPORTUNITIES) for i in page}
    assert record_id not in ids
    assert (
        len(ids)
        == running.app.salesforce.store.query(
            'SELECT count(*) FROM "Opportunity" WHERE IsDeleted = 0'
        )[0][0]
    )
    # the org's Date header, 16 days ahead of this machine (to the header's second)
    org_time = connector.crm_time()
    assert org_time is not None
    ahead = org_time - datetime.now(UTC)
    assert timedelta(days=16) - timedelta(seconds=5) < ahead < timedelta(days=16, seconds=2)


def test_an_emptied_recycle_bin_forgets_its_records_at_once(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    record_id = _an_opportunity(running)
    salesforce_client(running).Opportunity.delete(record_id)
    assert control(running, "salesforce/empty-recycle-bin", {})["purged"] >= 1
    assert _seen_by_query_all(running, record_id) == []
    assert control(running, "salesforce/empty-recycle-bin", {})["purged"] == 0


def test_live_ids_past_the_bulk_threshold_come_from_one_bulk_query_job(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    rest = {i for page in make_connector(running).fetch_live_ids(OPPORTUNITIES) for i in page}
    before = control(running, "stats")["requests"]
    bulk = make_connector(running, bulk_threshold=len(rest) // 2)
    assert {i for page in bulk.fetch_live_ids(OPPORTUNITIES) for i in page} == rest
    after = control(running, "stats")["requests"]
    used = {route: after[route] - before.get(route, 0) for route in after}
    assert sum(n for route, n in used.items() if route.endswith("/jobs/query")) == 1
    # one REST page (it tells the size), then the job; not a REST page per 2,000 ids
    assert sum(n for route, n in used.items() if "/query/" in route and "jobs" not in route) == 0

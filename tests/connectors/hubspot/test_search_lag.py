"""HubSpot search trails writes: a deal written just before an incremental read, indexed
after a later one, is read by the next run through the overlap, and stored once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot.deals import newest_only
from connectors.hubspot.mapping import HsRecord
from core.connector import Cursor
from sandbox.server import RunningSandbox
from store.local import LocalStore
from tests.connectors.hubspot.conftest import connector_for
from tests.connectors.hubspot.test_incremental import update_deals
from tests.sandbox.conftest import control, set_faults
from tests.sandbox.test_hubspot_portal import write_seed

DEALS = 60


@pytest.fixture
def running(fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path) -> RunningSandbox:
    # own sandbox: a small generated seed keeps each read quick
    return fresh_sandbox(write_seed(tmp_path / "seed", DEALS, won=40))


def sync(running: RunningSandbox, store: LocalStore, **overrides: Any) -> set[str]:
    """One read of opportunities into the store from its cursor, as a sync makes it; the
    ids it returned."""
    seen: set[str] = set()
    since = store.get_cursor("opportunities")
    for page in connector_for(running, **overrides).fetch_opportunities(since):
        with store.transaction():
            store.upsert_opportunities(page.records, page.deleted_ids)
            if page.cursor is not None:
                store.set_cursor("opportunities", page.cursor)
        seen |= {o.id for o in page.records}
    return seen


def test_a_deal_indexed_late_is_read_by_the_next_run_and_stored_once(
    running: RunningSandbox, tmp_path: Path
) -> None:
    with LocalStore.open(tmp_path / "store.db", holder="test") as store:
        first = sync(running, store)
        assert len(first) == DEALS
        late, early = sorted(first)[:2]

        set_faults(running, "search_lag_ms=60000")
        update_deals(running, {late: {"amount": "4321.5"}})  # searchable in a minute
        control(running, "hubspot/clock", {"advance_ms": 2_000})
        set_faults(running, "search_lag_ms=0")
        update_deals(running, {early: {"amount": "1234.5"}})  # written later, indexed at once

        second = sync(running, store)
        # the lag bites: the later write is read, the earlier is not, and the cursor passed it
        assert early in second and late not in second
        cursor = store.get_cursor("opportunities")
        assert cursor is not None
        control(running, "hubspot/clock", {"advance_ms": 60_000})  # now it is searchable

        # without the overlap the next run starts past it: lost for good
        assert late not in from_cursor(running, cursor, overlap_seconds=0)
        third = sync(running, store)  # the default overlap
        assert late in third and early in third  # the overlap reads both again

        table = store.opportunities_table().to_pylist()
        ids = [row["id"] for row in table]
        assert len(ids) == len(set(ids)) == DEALS
        amounts = {row["id"]: row["amount"] for row in table}
        assert amounts[late] == 4321.5 and amounts[early] == 1234.5
        assert store.counts().opportunities_deleted == 0


def from_cursor(running: RunningSandbox, cursor: Cursor, **overrides: Any) -> set[str]:
    pages = connector_for(running, **overrides).fetch_opportunities(cursor)
    return {o.id for page in pages for o in page.records}


def _deal(record_id: str, modified: int) -> HsRecord:
    return HsRecord(id=record_id, properties={"hs_lastmodifieddate": str(modified)})


def test_a_read_passes_each_deal_on_once_per_newer_version() -> None:
    pages = [
        [_deal("1", 100), _deal("2", 200)],
        [_deal("2", 200), _deal("1", 100)],  # a window restarting at a moment already seen
        [_deal("1", 300)],  # modified during the read
    ]
    kept = [[(r.id, r.key[0]) for r in page] for page in newest_only(iter(pages))]
    assert kept == [[("1", 100), ("2", 200)], [("1", 300)]]

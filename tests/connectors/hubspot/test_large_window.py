"""More than 10,000 deals in one incremental window, against the sandbox.

HubSpot's search refuses to page past its 10,000th result (the sandbox answers
HTTP 400, as HubSpot does). The connector's search windows restart at the last
timestamp seen, so a window of 10,500 deals comes back whole, each deal once,
without a single 400 — and so do more ties than a search page holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.seed import read_seed
from core.connector import Cursor
from sandbox.server import RunningSandbox, start_sandbox
from tests.connectors.hubspot.conftest import (
    SeedKeys,
    connector_for,
    drain,
    hubspot_calls,
    last_cursor,
    reset_stats,
)
from tests.sandbox.conftest import control
from tests.sandbox.test_hubspot_portal import write_seed

DEALS = 10_500
SEARCH = "hubspot POST /crm/v3/objects/<object_type>/search"
LONG_AGO = Cursor(modified_at=datetime(2000, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Path]]:
    """A sandbox of its own: 10,500 deals, more than the bundled data's 8,800."""
    folder = write_seed(tmp_path_factory.mktemp("large") / "seed", DEALS, won=6_000)
    running = start_sandbox(folder, state_dir=tmp_path_factory.mktemp("large-state"))
    yield running, folder
    running.stop()


def test_a_window_past_the_search_cap_comes_back_whole(
    large: tuple[RunningSandbox, Path],
) -> None:
    running, folder = large
    connector = connector_for(running)
    connector.fetch_stage_defs()
    reset_stats(running)
    records, deleted, cursors = drain(connector.fetch_opportunities(LONG_AGO))
    assert len(records) == len({o.id for o in records}) == DEALS and deleted == []

    keys = SeedKeys(running)
    served = sorted((keys.opportunity(o) for o in records), key=lambda o: o.id)
    assert served == sorted(read_seed(folder).opportunities, key=lambda o: o.id)

    stats = control(running, "stats")
    assert stats["statuses"].get("hubspot 400", 0) == 0
    calls = hubspot_calls(running)
    # 200 a page; write_seed gives about three deals each modification time, so a few
    # boundary ties are asked twice
    assert DEALS // 200 < calls[SEARCH] <= DEALS // 195 + 2
    assert calls["hubspot POST /crm/v4/associations/<from_type>/<to_type>/batch/read"] == 11

    cursor = last_cursor(cursors)
    assert cursor is not None and cursor.modified_at > LONG_AGO.modified_at
    changes, _, _ = drain(connector.fetch_stage_changes(LONG_AGO))
    assert len({c.opportunity_id for c in changes}) == DEALS


def test_more_ties_than_a_page_come_back_once(tmp_path: Path) -> None:
    """600 deals sharing one modification time (a bulk import can do that); a sandbox of
    its own for that seed."""
    folder = write_seed(tmp_path / "seed", 600)
    running = start_sandbox(folder, state_dir=tmp_path / "state")
    try:
        moment = 1_700_000_000_000
        running.app.hubspot.store.execute("UPDATE hs_deals SET hs_lastmodifieddate = ?", (moment,))
        connector = connector_for(running)
        connector.fetch_stage_defs()
        reset_stats(running)
        since = Cursor(modified_at=datetime.fromtimestamp(moment / 1000, UTC))
        records, _, cursors = drain(connector.fetch_opportunities(since))
        assert len(records) == len({o.id for o in records}) == 600
        # the overlap's window and one at the tie (each a full page of that moment), three
        # by id (100 seen ids excluded by the server leave 500: 200 + 200 + 100), one past it
        assert hubspot_calls(running)[SEARCH] == 6
        cursor = last_cursor(cursors)
        assert cursor is not None and cursor.modified_at == since.modified_at
    finally:
        running.stop()

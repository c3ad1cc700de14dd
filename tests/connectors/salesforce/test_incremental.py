"""Incremental reads on private sandboxes: what changed comes back, with the overlap window,
deletions reported, and every history row the window holds.

Changes are made through the unmodified simple-salesforce where the sandbox's API
allows (a record update) and in the org's store where Salesforce would do it
itself (deleting, history rows, OpportunityPartner edits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.connector import Cursor, Page
from core.schema import OpportunityStatus
from partner_kpi.extract import extract_into_store
from sandbox.server import RunningSandbox
from sandbox.store import sf_datetime
from store import LocalStore
from tests.connectors.salesforce.conftest import api_calls, make_connector, now_stamp, records_of
from tests.sandbox.conftest import control, salesforce_client

Start = Callable[..., RunningSandbox]


def _stamps(running: RunningSandbox, sobject: str) -> dict[str, datetime]:
    rows = running.app.salesforce.store.query(f'SELECT Id, SystemModstamp FROM "{sobject}"')
    return {str(i): datetime.fromisoformat(str(s)) for i, s in rows}


def _window(cursor: Cursor, overlap: int = 300) -> datetime:
    # the connector asks for SystemModstamp >= (cursor - overlap), to the second
    return (cursor.modified_at - timedelta(seconds=overlap)).replace(microsecond=0)


def _mark_deleted(running: RunningSandbox, sobject: str, ids: list[str]) -> None:
    """What the recycle bin does: the row stays, flagged, with a new SystemModstamp."""
    for record_id in ids:
        running.app.salesforce.store.execute(
            f'UPDATE "{sobject}" SET IsDeleted = 1, SystemModstamp = ? WHERE Id = ?',
            [now_stamp(), record_id],
        )


def _last_cursor(pages: Sequence[Page[Any]]) -> Cursor:
    cursors = [p.cursor for p in pages if p.cursor is not None]
    assert cursors
    return max(cursors)


def test_a_second_fetch_returns_only_what_changed_and_the_overlap(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    first = list(connector.fetch_opportunities(None))
    cursor = _last_cursor(first)
    target = first[0].records[0]
    assert target.status is OpportunityStatus.OPEN
    salesforce_client(running).Opportunity.update(target.id, {"StageName": "Lost", "Amount": 123.0})

    second = list(connector.fetch_opportunities(cursor))
    got = {o.id: o for page in second for o in page.records}
    overlap = {
        i for i, stamp in _stamps(running, "Opportunity").items() if stamp >= _window(cursor)
    }
    assert 0 < len(overlap) - 1 < 100  # the window, not the whole org
    assert set(got) == overlap | {target.id}
    changed = got[target.id]
    assert (changed.stage, changed.status, changed.amount) == (
        "Lost",
        OpportunityStatus.LOST,
        123.0,
    )
    assert changed.probability == target.probability  # the record's own Probability is kept

    # the changed record is the newest: the next read from its cursor sees it alone, in one call
    newest = _last_cursor(second)
    assert newest.record_id == target.id
    before = api_calls(running)
    third = records_of(connector.fetch_opportunities(newest))
    assert [o.id for o in third] == [target.id]
    assert api_calls(running) - before == 1


def test_deletions_reach_the_page(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    cursor = _last_cursor(list(connector.fetch_opportunities(None)))
    history_cursor = _last_cursor(list(connector.fetch_stage_changes(None)))
    victim = next(iter(_stamps(running, "Opportunity")))
    history = [
        str(r[0])
        for r in running.app.salesforce.store.query(
            'SELECT Id FROM "OpportunityHistory" WHERE OpportunityId = ?', [victim]
        )
    ]
    _mark_deleted(running, "Opportunity", [victim])
    _mark_deleted(running, "OpportunityHistory", history)

    pages = list(connector.fetch_opportunities(cursor))
    assert [d for p in pages for d in p.deleted_ids] == [victim]
    assert victim not in {o.id for p in pages for o in p.records}
    assert _last_cursor(pages).record_id == victim  # a deletion moves the cursor too

    history_pages = list(connector.fetch_stage_changes(history_cursor))
    assert sorted(d for p in history_pages for d in p.deleted_ids) == sorted(history)
    # a full read of a store that never saw the record: it is simply absent
    assert victim not in {o.id for o in records_of(connector.fetch_opportunities(None))}


def test_history_rows_without_a_stage_change_are_no_stage_events(
    fresh_sandbox: Start, tmp_path: Path
) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    with LocalStore.open(tmp_path / "store.db", holder="pytest") as local:
        extract_into_store(connector, local)
        store = running.app.salesforce.store
        (opportunity,) = store.query(
            'SELECT Id FROM "Opportunity" WHERE StageName = ? ORDER BY Id LIMIT 1', ["Engaging"]
        )
        opportunity_id = str(opportunity[0])
        before = _events_of(local, opportunity_id)
        assert before[-1] == "Engaging"
        now = datetime.now(UTC)
        stamp, later = sf_datetime(now), sf_datetime(now + timedelta(seconds=1))
        columns = ["Id", "IsDeleted", "CreatedDate", "SystemModstamp", "OpportunityId", "StageName"]
        store.insert_many(
            "OpportunityHistory",
            columns,
            [
                # the amount changed, the stage did not: not a stage change
                ["0085g9999999990AAA", 0, stamp, stamp, opportunity_id, "Engaging"],
                ["0085g9999999991AAA", 0, later, later, opportunity_id, "Won"],
            ],
        )
        counts = extract_into_store(make_connector(running), local)
        # the incremental read passes both rows on (the row before lies outside
        # its window); the store, seeing the whole history, drops the repeat
        assert counts.stage_changes >= 2
        assert _events_of(local, opportunity_id) == [*before, "Won"]


def _events_of(store: LocalStore, opportunity_id: str) -> list[str]:
    events = store.stage_events_table().to_pylist()
    mine = sorted(
        (e["sequence"], e["stage"]) for e in events if e["opportunity_id"] == opportunity_id
    )
    return [stage for _, stage in mine]


def test_a_changed_opportunity_partner_rereads_its_opportunity(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running, partner_attribution="opportunity_partner")
    first = list(connector.fetch_opportunities(None))
    cursor = _last_cursor(first)
    before = {o.id: o.partner_id for page in first for o in page.records}
    store = running.app.salesforce.store
    partners = sorted({p for p in before.values() if p})
    opportunity_id = min(before)  # an old record, outside the overlap window
    new_partner = next(p for p in partners if p != before[opportunity_id])
    store.execute(
        'UPDATE "OpportunityPartner" SET AccountToId = ?, SystemModstamp = ? '
        "WHERE OpportunityId = ?",
        [new_partner, now_stamp(), opportunity_id],
    )
    got = {o.id: o for o in records_of(connector.fetch_opportunities(cursor))}
    assert got[opportunity_id].partner_id == new_partner
    assert len(got) < 100


def test_stages_are_joined_on_api_name_not_label(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    running.app.salesforce.store.execute(
        'UPDATE "OpportunityStage" SET MasterLabel = ? WHERE ApiName = ?', ["Gewonnen", "Won"]
    )
    connector = make_connector(running)
    assert [s.name for s in connector.fetch_stage_defs()] == [
        "Prospecting",
        "Engaging",
        "Won",
        "Lost",
    ]
    won = [o for o in records_of(connector.fetch_opportunities(None)) if o.stage == "Won"]
    assert len(won) == 4238 and {o.status for o in won} == {OpportunityStatus.WON}


@pytest.mark.parametrize("overlap", [0, 3600])
def test_the_overlap_is_configurable(fresh_sandbox: Start, overlap: int) -> None:
    running = fresh_sandbox()
    connector = make_connector(running, overlap_seconds=overlap)
    cursor = _last_cursor(list(connector.fetch_opportunities(None)))
    got = {o.id for o in records_of(connector.fetch_opportunities(cursor))}
    stamps = _stamps(running, "Opportunity")
    assert got == {i for i, s in stamps.items() if s >= _window(cursor, overlap)}
    assert control(running, "stats")["statuses"].keys() == {"salesforce 200"}

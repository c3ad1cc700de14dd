"""Incremental reads against a private sandbox: changes, deletions, repeat visits, currencies.

A small generated seed (three partners, multi-currency) keeps each step quick.
Writes go through the unmodified hubspot-api-client, as a HubSpot user's edits
would; the connector must then return what changed and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot import carry as hubspot_carry
from connectors.hubspot.connector import HubSpotConnector
from connectors.seed import read_seed
from core.connector import Cursor
from core.schema import Opportunity, StageChange
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import (
    SeedKeys,
    connector_for,
    drain,
    hubspot_calls,
    last_cursor,
    reset_stats,
)
from tests.sandbox.conftest import hubspot_client
from tests.sandbox.test_hubspot_portal import write_seed

CURRENCIES = {"USD": 1.0, "EUR": 0.9, "GBP": 0.8}


@pytest.fixture
def running(fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path) -> RunningSandbox:
    # own sandbox: a seed of 300 deals in several currencies
    return fresh_sandbox(write_seed(tmp_path / "seed", 300, won=200, currencies=CURRENCIES))


def stage_ids(running: RunningSandbox) -> dict[str, str]:
    """Stage label → stage id, as the portal's pipeline has them."""
    pipeline = hubspot_client(running).crm.pipelines.pipelines_api.get_all("deals").results[0]
    return {stage.label: stage.id for stage in pipeline.stages}


def update_deals(running: RunningSandbox, changes: dict[str, dict[str, str]]) -> None:
    """Edit deals as a HubSpot user would (batch update through the client)."""
    client = hubspot_client(running)
    body = {"inputs": [{"id": i, "properties": p} for i, p in changes.items()]}
    client.crm.deals.batch_api.update(batch_input_simple_public_object_batch_input=body)


def by_id(records: list[Any]) -> dict[str, Any]:
    return {record.id: record for record in records}


def test_generated_seed_with_currencies_equals_the_seed(
    running: RunningSandbox, tmp_path: Path
) -> None:
    records, deleted, _ = drain(connector_for(running).fetch_opportunities(None))
    keys = SeedKeys(running)
    served = sorted((keys.opportunity(o) for o in records), key=lambda o: o.id)
    expected = sorted(read_seed(tmp_path / "seed").opportunities, key=lambda o: o.id)
    assert served == expected and deleted == []
    euros = [o for o in records if o.currency == "EUR"]
    assert euros and all(
        o.amount is not None and o.amount_original is not None and o.amount != o.amount_original
        for o in euros
    )


def test_second_read_returns_only_what_changed(running: RunningSandbox) -> None:
    connector = connector_for(running, overlap_seconds=0)
    first, _, cursors = drain(connector.fetch_opportunities(None))
    first_changes, _, _ = drain(connector.fetch_stage_changes(None))
    cursor = last_cursor(cursors)
    assert cursor is not None
    ids = sorted(by_id(first))
    moved, repriced = ids[10], ids[20]
    stages = stage_ids(running)
    update_deals(
        running,
        {moved: {"dealstage": stages["Engaging"]}, repriced: {"amount": "1234.5"}},
    )

    again = connector_for(running, overlap_seconds=0)
    reset_stats(running)
    changed, deleted, new_cursors = drain(again.fetch_opportunities(cursor))
    # the record at the cursor itself comes again (>=: ties are never lost), and the two edits
    assert sorted(o.id for o in changed) == sorted({moved, repriced, cursor.record_id})
    assert deleted == []
    got = by_id(changed)
    assert got[moved].stage == "Engaging" and got[moved].status.value == "open"
    assert got[moved].probability == 0.5
    assert got[repriced].amount_original == 1234.5
    rate = {"USD": 1.0, "EUR": 0.9, "GBP": 0.8}[str(got[repriced].currency)]
    assert got[repriced].amount == pytest.approx(1234.5 / rate)
    assert got[repriced].partner_id == by_id(first)[repriced].partner_id

    changes, _, _ = drain(again.fetch_stage_changes(cursor))
    assert {c.opportunity_id for c in changes} == {moved, repriced, cursor.record_id}
    # earlier visits keep their ids (they upsert); the move adds one visit
    before = {c.id for c in first_changes if c.opportunity_id == moved}
    after = [c for c in changes if c.opportunity_id == moved]
    assert before < {c.id for c in after}
    assert [c.stage for c in sorted(after, key=lambda c: c.entered_at)][-1] == "Engaging"
    # one pass over the deals served both streams
    calls = hubspot_calls(running)
    assert calls["hubspot POST /crm/v3/objects/<object_type>/search"] == 1

    # and a third read from the new cursor finds only the newest edit again
    third, _, _ = drain(connector_for(running, overlap_seconds=0).fetch_opportunities(
        last_cursor(new_cursors)
    ))  # fmt: skip
    assert {o.id for o in third} <= {moved, repriced}


def test_overlap_rereads_recent_records(running: RunningSandbox) -> None:
    connector = connector_for(running, overlap_seconds=5 * 86_400)
    _, _, cursors = drain(connector.fetch_opportunities(None))
    cursor = last_cursor(cursors)
    assert cursor is not None
    reread, _, _ = drain(
        connector_for(running, overlap_seconds=5 * 86_400).fetch_opportunities(cursor)
    )
    narrow, _, _ = drain(connector_for(running, overlap_seconds=0).fetch_opportunities(cursor))
    assert {o.id for o in narrow} < {o.id for o in reread}


def test_archived_deals_come_back_as_deletions(running: RunningSandbox) -> None:
    connector = connector_for(running)
    first, _, cursors = drain(connector.fetch_opportunities(None))
    cursor = last_cursor(cursors)
    gone = sorted(by_id(first))[:2]
    for deal_id in gone:
        assert running.app.hubspot.archive("deals", deal_id)

    changed, deleted, _ = drain(connector_for(running).fetch_opportunities(cursor))
    assert sorted(deleted) == gone
    assert not {o.id for o in changed} & set(gone)

    full, full_deleted, _ = drain(connector_for(running).fetch_opportunities(None))
    assert sorted(full_deleted) == gone
    assert len(full) == len(first) - 2

    # a cursor after the archiving reports them no more
    later = Cursor(modified_at=datetime.now(UTC).replace(year=datetime.now(UTC).year + 1))
    _, none_deleted, _ = drain(connector_for(running).fetch_opportunities(later))
    assert none_deleted == []


def test_repeat_visits_come_from_the_stage_history(running: RunningSandbox) -> None:
    """A deal that goes back to a stage: the stage dates keep only the latest visit, so
    the connector reads that deal's dealstage history (and only that deal's)."""
    connector = connector_for(running)
    first, _, _ = drain(connector.fetch_opportunities(None))
    first_changes, _, _ = drain(connector.fetch_stage_changes(None))
    deal_id = sorted(by_id(first))[5]
    stages = stage_ids(running)
    original = by_id(first)[deal_id].stage
    update_deals(running, {deal_id: {"dealstage": stages["Engaging"]}})
    update_deals(running, {deal_id: {"dealstage": stages[original]}})

    again: HubSpotConnector = connector_for(running)
    changes, _, _ = drain(again.fetch_stage_changes(None))
    visits = sorted((c for c in changes if c.opportunity_id == deal_id), key=lambda c: c.entered_at)
    earlier = sorted(
        (c for c in first_changes if c.opportunity_id == deal_id), key=lambda c: c.entered_at
    )
    assert [c.stage for c in visits] == [c.stage for c in earlier] + ["Engaging", original]
    assert [c.id for c in visits[: len(earlier)]] == [c.id for c in earlier]
    assert again.history_reads == 1  # one batch read, for the one deal that needs it
    assert len({c.id for c in changes}) == len(changes)


def test_stage_changes_without_an_opportunities_read(running: RunningSandbox) -> None:
    """``fetch_stage_changes`` alone reads the deals for their stages (no carry to use)."""
    connector = connector_for(running)
    reset_stats(running)
    changes, _, cursors = drain(connector.fetch_stage_changes(None))
    assert len({c.opportunity_id for c in changes}) == 300
    assert all(isinstance(c, StageChange) for c in changes)
    assert last_cursor(cursors) is not None
    calls = hubspot_calls(running)
    assert calls["hubspot GET /crm/v3/objects/<object_type>"] == 3  # 300 deals, 100 a page
    assert not any("associations" in route for route in calls)


def test_stage_changes_alone_equal_those_after_an_opportunities_read(
    running: RunningSandbox,
) -> None:
    """``fetch_stage_changes`` needs no ``fetch_opportunities`` first: alone, on a fresh
    connector, it returns the same changes and cursor; the carry only saves the listing."""
    reset_stats(running)
    alone, _, alone_cursors = drain(connector_for(running).fetch_stage_changes(None))
    alone_calls = hubspot_calls(running)
    connector = connector_for(running)
    drain(connector.fetch_opportunities(None))
    reset_stats(running)
    carried, _, carried_cursors = drain(connector.fetch_stage_changes(None))
    assert sorted(alone, key=lambda c: c.id) == sorted(carried, key=lambda c: c.id)
    assert len({c.opportunity_id for c in alone}) == 300
    assert last_cursor(alone_cursors) is not None
    assert last_cursor(alone_cursors) == last_cursor(carried_cursors)
    assert alone_calls["hubspot GET /crm/v3/objects/<object_type>"] == 3  # 300 deals listed
    assert hubspot_calls(running) == {}  # after the opportunities read: no call at all


def test_stage_changes_asked_during_an_opportunities_read(running: RunningSandbox) -> None:
    """The reads may interleave: stage changes asked while opportunities are still being
    read are read on their own, the opportunities read still ends complete, and its carry
    then serves the next stage-change read."""
    expected, _, _ = drain(connector_for(running).fetch_stage_changes(None))
    connector = connector_for(running)
    opportunities = connector.fetch_opportunities(None)
    first = next(opportunities)
    during, _, _ = drain(connector.fetch_stage_changes(None))
    rest, _, cursors = drain(opportunities)
    by_change_id = sorted(expected, key=lambda c: c.id)
    assert sorted(during, key=lambda c: c.id) == by_change_id
    assert len(first.records) + len(rest) == 300
    assert last_cursor([first.cursor, *cursors]) is not None
    reset_stats(running)
    after, _, _ = drain(connector.fetch_stage_changes(None))
    assert sorted(after, key=lambda c: c.id) == by_change_id
    assert hubspot_calls(running) == {}


def test_a_carry_from_another_window_is_not_used(running: RunningSandbox) -> None:
    connector = connector_for(running)
    _, _, cursors = drain(connector.fetch_opportunities(None))
    cursor = last_cursor(cursors)
    drain(connector.fetch_opportunities(cursor))  # a narrower window replaces the carry
    reset_stats(running)
    changes, _, _ = drain(connector.fetch_stage_changes(None))  # wants everything
    assert len({c.opportunity_id for c in changes}) == 300
    assert hubspot_calls(running)["hubspot GET /crm/v3/objects/<object_type>"] == 3


def test_opportunities_are_validated_schema_records(running: RunningSandbox) -> None:
    records, _, _ = drain(connector_for(running).fetch_opportunities(None))
    assert all(isinstance(o, Opportunity) for o in records)
    assert {o.status.value for o in records} == {"won", "lost"}
    assert all(o.close_date is not None and o.partner_id for o in records)


def test_property_history_mode_gives_the_same_stage_changes(running: RunningSandbox) -> None:
    """``stage_history: property_history`` lists deals with their history, 50 a page, and
    batch-reads it on incremental reads: same changes, same ids, more calls."""
    by_dates, _, _ = drain(connector_for(running).fetch_stage_changes(None))
    reset_stats(running)
    mode = connector_for(running, stage_history="property_history")
    records, _, cursors = drain(mode.fetch_opportunities(None))
    by_history, _, _ = drain(mode.fetch_stage_changes(None))
    assert sorted(c.id for c in by_history) == sorted(c.id for c in by_dates)
    assert hubspot_calls(running)["hubspot GET /crm/v3/objects/<object_type>"] == 300 // 50 + 1
    assert mode.history_reads == 0  # the history came with the list

    moved = sorted(by_id(records))[3]
    update_deals(running, {moved: {"dealstage": stage_ids(running)["Engaging"]}})
    again = connector_for(running, stage_history="property_history", overlap_seconds=0)
    drain(again.fetch_opportunities(last_cursor(cursors)))
    changes, _, _ = drain(again.fetch_stage_changes(last_cursor(cursors)))
    assert again.history_reads == 1
    visits = sorted((c for c in changes if c.opportunity_id == moved), key=lambda c: c.entered_at)
    assert visits[-1].stage == "Engaging"


def test_check_samples_how_stage_history_will_be_read(running: RunningSandbox) -> None:
    items = {i.name: i for i in connector_for(running).check()}
    assert "stage history of 100 of the 100 newest deals comes from their stage dates" in (
        items["deals"].detail
    )


def test_a_carry_past_its_memory_spills_and_still_feeds_both_streams(
    running: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full read too big to carry in memory still lists the deals once: the carry
    spills to a temporary file and serves the stage changes from there."""
    expected, _, _ = drain(connector_for(running).fetch_stage_changes(None))
    monkeypatch.setattr(hubspot_carry, "CARRY_MEMORY_BYTES", 1_000)
    connector = connector_for(running)
    reset_stats(running)
    drain(connector.fetch_opportunities(None))
    assert connector._carry is not None and connector._carry.on_disk
    changes, _, cursors = drain(connector.fetch_stage_changes(None))
    assert sorted(changes, key=lambda c: c.id) == sorted(expected, key=lambda c: c.id)
    assert len({c.opportunity_id for c in changes}) == 300
    assert last_cursor(cursors) is not None
    # the deals were listed once for both streams (3 pages), plus the archived list
    assert hubspot_calls(running)["hubspot GET /crm/v3/objects/<object_type>"] == 3 + 1

"""The bundled dataset through HubSpotConnector equals the seed reader's view of it.

The sandbox seeds its HubSpot portal from the bundled data; reading it back
through the real client over HTTPS must give the same partners, opportunities
(status, probability, amounts, dates, lead source, partner and customer) and
stage history as ``read_seed`` gives, record for record, ids translated through
the sandbox's id map. The calls a full read makes are counted and held to the
minimum the API allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.hubspot.connector import HubSpotConnector
from connectors.seed import SeedDataset
from core.connector import Connector
from core.schema import Opportunity, Partner, StageChange
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import (
    SeedKeys,
    connector_for,
    drain,
    hubspot_calls,
    last_cursor,
    reset_stats,
)

DEALS = 8_800


@pytest.fixture(scope="module")
def full_read(sandbox: RunningSandbox) -> Iterator[dict[str, Any]]:
    """One full read of the shared sandbox, as a first sync makes it, with its call count."""
    reset_stats(sandbox)
    connector = connector_for(sandbox)
    stage_defs = connector.fetch_stage_defs()
    partners, partners_deleted, _ = drain(connector.fetch_partners())
    opportunities, deleted, cursors = drain(connector.fetch_opportunities(None))
    changes, _, change_cursors = drain(connector.fetch_stage_changes(None))
    yield {
        "connector": connector,
        "stage_defs": stage_defs,
        "partners": partners,
        "partners_deleted": partners_deleted,
        "opportunities": opportunities,
        "deleted": deleted,
        "cursors": cursors,
        "changes": changes,
        "change_cursors": change_cursors,
        "calls": hubspot_calls(sandbox),
    }


def test_connector_satisfies_the_protocol(full_read: dict[str, Any]) -> None:
    assert isinstance(full_read["connector"], Connector)
    assert full_read["connector"].crm == "hubspot"


def test_stage_defs_come_from_stage_metadata(
    full_read: dict[str, Any], bundled: SeedDataset
) -> None:
    assert full_read["stage_defs"] == list(bundled.stage_defs)


def test_partners_equal_the_seed(
    full_read: dict[str, Any], sandbox: RunningSandbox, bundled: SeedDataset
) -> None:
    keys = SeedKeys(sandbox)
    partners: list[Partner] = full_read["partners"]
    assert sorted((keys.partner(p) for p in partners), key=lambda p: p.id) == sorted(
        bundled.partners, key=lambda p: p.id
    )
    assert full_read["partners_deleted"] == []


def test_opportunities_equal_the_seed_record_for_record(
    full_read: dict[str, Any], sandbox: RunningSandbox, bundled: SeedDataset
) -> None:
    keys = SeedKeys(sandbox)
    got: list[Opportunity] = full_read["opportunities"]
    assert len(got) == len({o.id for o in got}) == DEALS
    served = {o.id: o for o in (keys.opportunity(o) for o in got)}
    expected = {o.id: o for o in bundled.opportunities}
    assert served.keys() == expected.keys()
    different = [key for key in expected if served[key] != expected[key]]
    assert not different, (served[different[0]], expected[different[0]])
    assert full_read["deleted"] == []


def test_stage_history_equals_the_seed(
    full_read: dict[str, Any], sandbox: RunningSandbox, bundled: SeedDataset
) -> None:
    keys = SeedKeys(sandbox)
    changes: list[StageChange] = full_read["changes"]
    assert len({c.id for c in changes}) == len(changes)
    served = keys.history(changes)
    expected: dict[str, list[tuple[str, str]]] = {}
    for event in sorted(bundled.stage_events, key=lambda e: (e.opportunity_id, e.sequence)):
        expected.setdefault(event.opportunity_id, []).append(
            (event.stage, event.entered_date.isoformat())
        )
    assert served == expected
    stage_names = {d.name for d in full_read["stage_defs"]}
    assert {c.stage for c in changes} <= stage_names  # labels, the names stage_days speak


def test_full_read_cursor_is_the_newest_modification(full_read: dict[str, Any]) -> None:
    cursors = full_read["cursors"]
    # id order: each batch but the last saves where the listing stands, with the moment the
    # read began (the server's clock, long after the data's last change)
    under_way = cursors[:-1]
    assert len(under_way) == DEALS // 1_000
    assert all(c is not None and c.in_full_read for c in under_way)
    positions = [c.full_read_after for c in under_way]
    assert len(set(positions)) == len(positions)
    assert len({c.modified_at for c in under_way}) == 1
    cursor = last_cursor(cursors)
    assert cursor is not None and cursor.modified_at.isoformat() == "2017-12-31T18:54:03+00:00"
    assert not cursor.in_full_read and under_way[0].modified_at > cursor.modified_at
    assert last_cursor(full_read["change_cursors"]) == cursor


def test_full_read_makes_the_fewest_calls(full_read: dict[str, Any]) -> None:
    """8,800 deals: 88 list pages of 100 and 9 association reads of 1,000; stage history
    from the stage dates (no propertiesWithHistory read); metadata once."""
    calls = full_read["calls"]
    assert calls == {
        "hubspot GET /crm/v3/pipelines/<object_type>": 1,
        "hubspot GET /crm/v4/associations/<from_type>/<to_type>/labels": 1,
        "hubspot POST /crm/v3/objects/<object_type>/search": 1,  # 35 partners
        # 88 deal pages, and one list each of archived companies and archived deals
        "hubspot GET /crm/v3/objects/<object_type>": 88 + 2,
        "hubspot POST /crm/v4/associations/<from_type>/<to_type>/batch/read": 9,
    }
    connector: HubSpotConnector = full_read["connector"]
    assert connector.history_reads == 0
    assert connector.usage().calls_made == sum(calls.values())


def test_incremental_read_right_after_asks_little(
    full_read: dict[str, Any], sandbox: RunningSandbox
) -> None:
    """What the second sync of an unchanged portal costs: the overlap window's few deals."""
    cursor = last_cursor(full_read["cursors"])
    connector = connector_for(sandbox)
    connector.fetch_stage_defs()
    reset_stats(sandbox)
    opportunities, deleted, cursors = drain(connector.fetch_opportunities(cursor))
    changes, _, _ = drain(connector.fetch_stage_changes(last_cursor(full_read["change_cursors"])))
    calls = hubspot_calls(sandbox)
    # labels, archived deals, one search window, one association read; stage changes: none
    assert sum(calls.values()) == 4, calls
    assert 0 < len(opportunities) <= 10 and deleted == []
    assert {c.opportunity_id for c in changes} == {o.id for o in opportunities}
    assert last_cursor(cursors) == cursor


def test_check_reports_what_a_sync_needs(sandbox: RunningSandbox) -> None:
    connector = connector_for(sandbox)
    reset_stats(sandbox)
    items = {item.name: item for item in connector.check()}
    assert all(item.ok for item in items.values()), items
    assert "35 companies" in items["partner companies"].detail
    assert "8800 deals" in items["deals"].detail
    assert "typeId 214" in items["association label"].detail
    assert "lead_source" in items["deal properties"].detail
    assert "daily calls left" in items["api quota"].detail
    calls = hubspot_calls(sandbox)
    assert all(route.split()[1] in ("GET", "POST") for route in calls)
    assert not any("batch/update" in route or "PATCH" in route for route in calls)

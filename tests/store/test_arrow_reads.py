"""The engine's columnar reads: exact schema layouts, UTC dates and event numbering."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from core.schema import (
    OPPORTUNITY_ARROW_SCHEMA,
    PARTNER_ARROW_SCHEMA,
    STAGE_EVENT_ARROW_SCHEMA,
)
from store import LocalStore
from tests.store.conftest import change, in_order, opportunity, partner, won

ROOT = Path(__file__).resolve().parents[2]


def test_empty_reads_have_the_schema_layouts(store: LocalStore) -> None:
    assert in_order(store.partners_table()).schema == PARTNER_ARROW_SCHEMA
    assert in_order(store.opportunities_table()).schema == OPPORTUNITY_ARROW_SCHEMA
    assert in_order(store.stage_events_table()).schema == STAGE_EVENT_ARROW_SCHEMA
    assert store.partners_table().num_rows == 0


def test_reads_are_exactly_the_schema_layouts(store: LocalStore) -> None:
    store.upsert_partners([partner("P2", "Beta"), partner("P1", "Alpha", region="EMEA")])
    store.upsert_opportunities([won("O2", "P2", lead_source="Web"), opportunity("O1", None)])
    partners = in_order(store.partners_table())
    opportunities = in_order(store.opportunities_table())
    assert partners.schema == PARTNER_ARROW_SCHEMA
    assert opportunities.schema == OPPORTUNITY_ARROW_SCHEMA
    assert partners.to_pylist() == [{"id": "P1", "name": "Alpha"}, {"id": "P2", "name": "Beta"}]
    assert opportunities.column("id").to_pylist() == ["O1", "O2"]
    assert opportunities.column("partner_id").to_pylist() == [None, "P2"]
    assert opportunities.column("close_date").to_pylist() == [None, date(2026, 3, 1)]


def test_sequence_orders_same_day_changes_by_time_then_id(store: LocalStore) -> None:
    day = datetime(2026, 2, 3, tzinfo=UTC)
    store.upsert_opportunities([opportunity("O1"), opportunity("O2")])
    store.upsert_stage_changes(
        [
            # arrive out of order; two share a moment, so their ids decide
            change("z", "O1", "Won", day + timedelta(hours=15)),
            change("m", "O1", "Engaging", day + timedelta(hours=9)),
            change("b", "O1", "Qualified", day + timedelta(hours=9)),
            change("a", "O1", "Prospecting", day - timedelta(days=2)),
            change("x", "O2", "Prospecting", day),
        ]
    )
    events = in_order(store.stage_events_table())
    assert events.schema == STAGE_EVENT_ARROW_SCHEMA
    assert [tuple(e.values()) for e in events.to_pylist()] == [
        ("O1", "Prospecting", date(2026, 2, 1), 0),
        ("O1", "Qualified", date(2026, 2, 3), 1),
        ("O1", "Engaging", date(2026, 2, 3), 2),
        ("O1", "Won", date(2026, 2, 3), 3),
        ("O2", "Prospecting", date(2026, 2, 3), 0),
    ]


def test_a_deleted_change_leaves_no_gap_in_the_sequence(store: LocalStore) -> None:
    t = datetime(2026, 2, 3, tzinfo=UTC)
    store.upsert_opportunities([opportunity("O1")])
    store.upsert_stage_changes(
        [
            change("a", "O1", "Prospecting", t),
            change("b", "O1", "Engaging", t + timedelta(hours=1)),
            change("c", "O1", "Won", t + timedelta(hours=2)),
        ],
        deleted_ids=["b"],
    )
    events = in_order(store.stage_events_table()).to_pylist()
    assert [(e["stage"], e["sequence"]) for e in events] == [("Prospecting", 0), ("Won", 1)]


def test_entered_date_is_the_utc_date(store: LocalStore) -> None:
    new_york = timezone(timedelta(hours=-5))
    tokyo = timezone(timedelta(hours=9))
    store.upsert_opportunities([opportunity("O1")])
    store.upsert_stage_changes(
        [
            # 22:00 in New York on the 3rd is 03:00 UTC on the 4th
            change("a", "O1", "Prospecting", datetime(2026, 2, 3, 22, 0, tzinfo=new_york)),
            # 08:00 in Tokyo on the 5th is 23:00 UTC on the 4th
            change("b", "O1", "Engaging", datetime(2026, 2, 5, 8, 0, tzinfo=tokyo)),
        ]
    )
    events = in_order(store.stage_events_table()).to_pylist()
    assert [(e["stage"], e["entered_date"], e["sequence"]) for e in events] == [
        ("Prospecting", date(2026, 2, 4), 0),
        ("Engaging", date(2026, 2, 4), 1),
    ]


def test_only_changes_of_stored_live_opportunities_become_events(store: LocalStore) -> None:
    t = datetime(2026, 2, 3, tzinfo=UTC)
    store.upsert_opportunities([opportunity("O1"), opportunity("O2")], deleted_ids=["O2"])
    store.upsert_stage_changes(
        [
            change("a", "O1", "Prospecting", t),
            change("b", "O2", "Prospecting", t),  # its opportunity is deleted
            change("c", "O3", "Prospecting", t),  # its opportunity was never stored
        ]
    )
    assert in_order(store.stage_events_table()).column("opportunity_id").to_pylist() == ["O1"]
    # the changes are kept, and show up once their opportunity arrives
    store.upsert_opportunities([opportunity("O3")])
    assert in_order(store.stage_events_table()).column("opportunity_id").to_pylist() == ["O1", "O3"]


def test_a_row_repeating_the_stage_before_is_not_an_event(store: LocalStore) -> None:
    t = datetime(2026, 2, 3, tzinfo=UTC)
    store.upsert_opportunities([opportunity("O1")])
    store.upsert_stage_changes(
        [
            change("a", "O1", "Prospecting", t),
            change("b", "O1", "Prospecting", t + timedelta(days=1)),  # the amount changed
            change("c", "O1", "Engaging", t + timedelta(days=2)),
            change("d", "O1", "Prospecting", t + timedelta(days=3)),  # a real step back
            change("e", "O1", "Won", t + timedelta(days=4)),
            change("f", "O1", "Won", t + timedelta(days=5)),  # the close date moved
        ]
    )
    events = in_order(store.stage_events_table()).to_pylist()
    assert [(e["stage"], e["entered_date"].day, e["sequence"]) for e in events] == [
        ("Prospecting", 3, 0),
        ("Engaging", 5, 1),
        ("Prospecting", 6, 2),
        ("Won", 7, 3),
    ]


def test_a_repeat_is_judged_against_the_live_row_before(store: LocalStore) -> None:
    t = datetime(2026, 2, 3, tzinfo=UTC)
    store.upsert_opportunities([opportunity("O1")])
    store.upsert_stage_changes(
        [
            change("a", "O1", "Prospecting", t),
            change("b", "O1", "Engaging", t + timedelta(days=1)),
            change("c", "O1", "Prospecting", t + timedelta(days=2)),
        ],
        deleted_ids=["b"],
    )
    # with the Engaging row deleted, the history reads Prospecting, Prospecting
    events = in_order(store.stage_events_table()).to_pylist()
    assert [(e["stage"], e["sequence"]) for e in events] == [("Prospecting", 0)]


def test_the_store_draws_no_progress_bar(store_path: Path) -> None:
    # DuckDB draws its bar on the process's output for any query past two seconds: a
    # stage-events read at a million opportunities on a busy machine filled a command's
    # output (-q included) with bars. DuckDB leaves the bar off under pytest, so the store
    # is opened in a process of its own; lowering progress_bar_time would turn the bar
    # back on, so the setting is read rather than a bar provoked.
    script = (
        "from store import LocalStore\n"
        f"with LocalStore.open({str(store_path)!r}, holder='pytest') as store:\n"
        "    print(store._conn.execute(\"SELECT current_setting('enable_progress_bar')\")"
        ".fetchall())\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert shown.stdout.strip() == "[(False,)]"

"""Upserts by CRM id: idempotent, deletions marked not removed, one transaction a page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.connector import Cursor
from core.errors import StoreError
from core.schema import OpportunityStatus, StageDef
from store import LocalStore
from tests.store.conftest import change, dump, fixed_clock, in_order, opportunity, partner, won

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def _write_page(path: Path) -> None:
    with LocalStore.open(path, holder="pytest", clock=fixed_clock) as store:
        store.upsert_partners([partner("P1", region="EMEA"), partner("P2", tier="Gold")])
        store.upsert_opportunities([opportunity("O1"), won("O2", "P2")], deleted_ids=["O9"])
        store.upsert_stage_changes([change("C1", "O1", "Prospecting", T0)])


def test_upserting_the_same_page_twice_leaves_the_same_state(store_path: Path) -> None:
    _write_page(store_path)
    first = dump(store_path)
    _write_page(store_path)
    assert dump(store_path) == first
    assert len(first["opportunities"]) == 2
    assert len(first["partners"]) == 2


def test_an_upsert_replaces_every_field_of_a_stored_record(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity("O1", amount=10.0, lead_source="Web")])
    store.upsert_opportunities([won("O1", "P2", amount=None, lead_source=None)])
    rows = in_order(store.opportunities_table()).to_pylist()
    assert rows == [
        {
            "id": "O1",
            "partner_id": "P2",
            "account_id": None,
            "status": "won",
            "probability": 1.0,
            "amount": None,
            "created_date": date(2026, 1, 10),
            "close_date": date(2026, 3, 1),
            "lead_source": None,
        }
    ]


def test_the_last_record_of_an_id_in_one_page_wins(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity("O1", amount=1.0), opportunity("O1", amount=2.0)])
    store.upsert_partners([partner("P1", "old"), partner("P1", "new")])
    assert in_order(store.opportunities_table()).column("amount").to_pylist() == [2.0]
    assert in_order(store.partners_table()).column("name").to_pylist() == ["new"]


def test_deleted_records_are_kept_but_left_out_of_the_reads(store: LocalStore) -> None:
    store.upsert_partners([partner("P1"), partner("P2")])
    store.upsert_opportunities([opportunity("O1"), opportunity("O2"), opportunity("O3")])
    store.upsert_stage_changes(
        [change("C1", "O1", "Prospecting", T0), change("C2", "O1", "Engaging", T0)]
    )
    store.upsert_partners([], deleted_ids=["P2"])
    store.upsert_opportunities([], deleted_ids=["O2", "unknown-id"])
    store.upsert_stage_changes([], deleted_ids=["C2"])

    assert in_order(store.partners_table()).column("id").to_pylist() == ["P1"]
    assert in_order(store.opportunities_table()).column("id").to_pylist() == ["O1", "O3"]
    assert in_order(store.stage_events_table()).column("stage").to_pylist() == ["Prospecting"]
    counts = store.counts()
    assert (counts.partners, counts.partners_deleted) == (1, 1)
    # an id never stored is not invented as a tombstone
    assert (counts.opportunities, counts.opportunities_deleted) == (2, 1)
    assert (counts.stage_changes, counts.stage_changes_deleted) == (1, 1)


def test_a_deleted_record_that_comes_back_is_undeleted(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity("O1")])
    store.upsert_opportunities([], deleted_ids=["O1"])
    assert in_order(store.opportunities_table()).num_rows == 0
    store.upsert_opportunities([opportunity("O1", amount=5.0)])
    assert in_order(store.opportunities_table()).column("amount").to_pylist() == [5.0]


def test_an_id_upserted_and_deleted_in_one_page_ends_up_deleted(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity("O1"), opportunity("O2")], deleted_ids=["O1"])
    assert in_order(store.opportunities_table()).column("id").to_pylist() == ["O2"]


def test_replace_stage_changes_drops_the_old_history_of_those_deals_only(
    store: LocalStore,
) -> None:
    store.upsert_opportunities([opportunity("O1"), opportunity("O2")])
    store.upsert_stage_changes(
        [
            change("a", "O1", "Prospecting", T0),
            change("b", "O1", "Engaging", T0.replace(hour=10)),
            change("c", "O2", "Prospecting", T0),
        ]
    )
    # the CRM now reports O1's whole history as one change, and reuses the id "a"
    store.replace_stage_changes(["O1"], [change("a", "O1", "Won", T0.replace(day=20))])
    events = in_order(store.stage_events_table()).to_pylist()
    assert [(e["opportunity_id"], e["stage"]) for e in events] == [
        ("O1", "Won"),
        ("O2", "Prospecting"),
    ]
    # an opportunity whose history is now empty loses every change
    store.replace_stage_changes(["O2"], [])
    assert in_order(store.stage_events_table()).column("opportunity_id").to_pylist() == ["O1"]


def test_replace_stage_changes_refuses_a_change_of_another_deal(store: LocalStore) -> None:
    store.upsert_stage_changes([change("a", "O1", "Prospecting", T0)])
    with pytest.raises(ValueError, match=r"'b' belongs to opportunity 'O2'"):
        store.replace_stage_changes(["O1"], [change("b", "O2", "Won", T0)])
    assert store.counts().stage_changes == 1


def test_stage_defs_are_replaced_wholesale_and_read_in_sort_order(store: LocalStore) -> None:
    store.replace_stage_defs(
        [
            StageDef(name="Old", status=OpportunityStatus.OPEN, probability=0.1, sort_order=0),
        ]
    )
    new = [
        StageDef(name="Won", status=OpportunityStatus.WON, probability=1.0, sort_order=3),
        StageDef(name="Prospecting", status=OpportunityStatus.OPEN, probability=0.1, sort_order=1),
        StageDef(name="Lost", status=OpportunityStatus.LOST, probability=0.0, sort_order=3),
    ]
    store.replace_stage_defs(new)
    assert store.stage_defs() == [new[1], new[2], new[0]]
    assert store.counts().stage_defs == 3


def test_a_failed_page_leaves_nothing_behind(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity("O1")])
    with pytest.raises(RuntimeError, match="connection lost"), store.transaction():
        store.upsert_opportunities([opportunity("O2")], deleted_ids=["O1"])
        raise RuntimeError("connection lost")
    assert in_order(store.opportunities_table()).column("id").to_pylist() == ["O1"]


def test_a_page_and_its_cursor_commit_together(store: LocalStore) -> None:
    with store.transaction():
        store.upsert_opportunities([opportunity("O1")])
        store.set_cursor("opportunities", Cursor(T0, "O1"))
    assert store.get_cursor("opportunities") == Cursor(T0, "O1")
    assert store.counts().opportunities == 1


def test_a_nested_error_caught_outside_still_rolls_back(store: LocalStore) -> None:
    with pytest.raises(StoreError, match="nothing was saved"), store.transaction():
        store.upsert_opportunities([opportunity("O1")])
        try:
            with store.transaction():
                raise KeyError("inner")
        except KeyError:
            pass
    assert store.counts().opportunities == 0


def test_records_missing_from_the_live_ids_are_marked_deleted(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity(oid) for oid in ("O1", "O2", "O3", "O4")], ["O4"])
    marked = store.mark_missing_deleted("opportunities", [["O1"], ["O9", "O1"]])
    assert marked == ["O2", "O3"]  # O4 was deleted already; O9 was never stored
    assert sorted(store.opportunities_table().column("id").to_pylist()) == ["O1"]
    assert (store.counts().opportunities, store.counts().opportunities_deleted) == (1, 3)


def test_a_listing_that_fails_part_way_marks_nothing(store: LocalStore) -> None:
    store.upsert_opportunities([opportunity("O1"), opportunity("O2")])

    def pages() -> Iterator[list[str]]:
        yield ["O1"]
        raise ConnectionError("the CRM went away mid-listing")

    with pytest.raises(ConnectionError):
        store.mark_missing_deleted("opportunities", pages())
    assert sorted(store.opportunities_table().column("id").to_pylist()) == ["O1", "O2"]
    assert store.mark_missing_deleted("opportunities", [["O1", "O2"]]) == []  # no leftovers

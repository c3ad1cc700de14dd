"""The writeback journal (migration 2): entries per run, record and field, and their outcomes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from store import MIGRATIONS, JournalEntry, JournalOutcome, LocalStore
from store.schema import migrate
from tests.store.conftest import NOW, opportunity


def entry(run_id: str, record_id: str, field: str, **values: object) -> JournalEntry:
    fields: dict[str, object] = {
        "run_id": run_id,
        "record_id": record_id,
        "field": field,
        "output": "score",
        "kind": "number",
        "scale": 1,
        "old_value": None,
        "new_value": 71.0,
        "outcome": JournalOutcome.PENDING,
    }
    fields.update(values)
    return JournalEntry(**fields)  # type: ignore[arg-type]


def test_a_version_1_store_gains_the_journal_and_keeps_its_data(store_path: Path) -> None:
    conn = duckdb.connect(str(store_path))
    try:
        assert migrate(conn, store_path, MIGRATIONS[:1]) == (0, 1)
    finally:
        conn.close()
    with LocalStore.open(store_path, holder="pytest") as store:
        store.upsert_opportunities([opportunity("O1")])
        run_id = store.start_run("sync", date(2026, 11, 25))
        store.record_journal([entry(run_id, "001A", "Partner_Score__c")])
        assert [e.record_id for e in store.journal(run_id=run_id)] == ["001A"]
        assert store.counts().opportunities == 1


def test_entries_round_trip_and_are_replaced_by_their_outcome(store: LocalStore) -> None:
    run_id = store.start_run("sync", date(2026, 11, 25))
    pending = [
        entry(run_id, "001B", "Partner_Tier__c", output="tier", kind="picklist", scale=0,
              old_value="Gold", new_value="Silver", seq=1),
        entry(run_id, "001A", "Partner_Score__c", old_value=70.5, new_value=71.0, seq=0),
    ]  # fmt: skip
    store.record_journal(pending)
    assert [e.outcome for e in store.journal(run_id=run_id)] == [JournalOutcome.PENDING] * 2
    # journal order is the run's order (seq), not the record ids'
    assert [e.record_id for e in store.journal()] == ["001A", "001B"]

    store.record_journal(
        [
            entry(run_id, "001A", "Partner_Score__c", old_value=70.5, new_value=71.0,
                  outcome="written", seq=0),
            entry(run_id, "001B", "Partner_Tier__c", output="tier", kind="picklist", scale=0,
                  old_value="Gold", new_value="Silver", outcome="rejected",
                  error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", message="locked", seq=1),
        ]
    )  # fmt: skip
    written, rejected = store.journal(run_id=run_id)
    assert written.outcome is JournalOutcome.WRITTEN
    assert (written.old_value, written.new_value, written.scale) == (70.5, 71.0, 1)
    assert written.updated_at == NOW
    assert rejected.outcome is JournalOutcome.REJECTED
    assert (rejected.old_value, rejected.new_value) == ("Gold", "Silver")
    assert (rejected.error_code, rejected.message) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "locked",
    )
    assert store.journal(outcome="pending") == []
    assert store.journal(record_id="001B") == [rejected]
    assert [e.record_id for e in store.journal(run_id=run_id, outcome="written")] == ["001A"]


def test_entries_of_an_unknown_run_are_refused_and_nothing_is_kept(store: LocalStore) -> None:
    run_id = store.start_run("sync", date(2026, 11, 25))
    with pytest.raises(ValueError, match="no run 'nope'"):
        store.record_journal([entry(run_id, "001A", "F__c"), entry("nope", "001B", "F__c")])
    assert store.journal() == []


def test_the_journal_survives_reopening(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="first") as store:
        run_id = store.start_run("sync", date(2026, 11, 25))
        store.record_journal([entry(run_id, "001A", "F__c", new_value="text")])
    with LocalStore.open(store_path, holder="second") as store:
        (kept,) = store.journal()
        assert (kept.run_id, kept.new_value, kept.outcome) == (run_id, "text", "pending")

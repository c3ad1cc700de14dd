"""Schema versions: new files start at the current one, old ones migrate, newer are refused."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.errors import StoreError, StoreVersionError
from store import MIGRATIONS, SCHEMA_VERSION, LocalStore, Migration, RunStatus
from store.pages import RECORD_TABLES, RecordTable
from store.schema import migrate, stored_version
from tests.store.conftest import TABLES, opportunity

#: the version after the current one, as a later partner-kpi would append it
NEXT = SCHEMA_VERSION + 1
LATER = Migration(
    version=NEXT,
    summary="a note on each run (a stand-in for a later migration)",
    statements=("ALTER TABLE runs ADD COLUMN note VARCHAR DEFAULT 'none'",),
)


def _version(path: Path) -> int:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return stored_version(conn, path)
    finally:
        conn.close()


def _tables(path: Path) -> set[str]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        rows = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return {name for (name,) in rows}
    finally:
        conn.close()


def test_a_new_store_is_created_at_the_current_version(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest"):
        pass
    assert _version(store_path) == SCHEMA_VERSION == len(MIGRATIONS)
    assert _tables(store_path) == {"meta", *TABLES}


@pytest.mark.parametrize("table", RECORD_TABLES, ids=lambda table: table.name)
def test_a_new_store_holds_each_record_table_as_the_schema_declares_it(
    store_path: Path, table: RecordTable[Any]
) -> None:
    # The DDL of a migration is frozen text; the declaration in core.schema is not.
    # A field added, dropped, retyped or made nullable there needs a migration here.
    with LocalStore.open(store_path, holder="pytest"):
        pass
    conn = duckdb.connect(str(store_path), read_only=True)
    try:
        conn.register("declared", table.layout.empty_table())
        declared_types = [
            (name, kind) for name, kind, *_ in conn.sql("DESCRIBE declared").fetchall()
        ]
        stored = conn.execute(
            "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table.name],
        ).fetchall()
        constraints = conn.execute(
            "SELECT constraint_type, constraint_column_names, expression "
            "FROM duckdb_constraints() WHERE table_name = ? AND constraint_type <> 'NOT NULL'",
            [table.name],
        ).fetchall()
    finally:
        conn.close()
    nullable = [field.nullable for field in table.layout]
    assert stored == [(*typed, null) for typed, null in zip(declared_types, nullable, strict=True)]
    primary_keys = [columns for kind, columns, _ in constraints if kind == "PRIMARY KEY"]
    assert primary_keys == [list(table.key)]
    # an enumerated field is checked against exactly its values, and nothing else is checked
    checks = {
        tuple(columns): set(re.findall(r"'([^']*)'", expression))
        for kind, columns, expression in constraints
        if kind == "CHECK"
    }
    assert checks == {(c.name,): set(c.choices) for c in table.entity.columns if c.choices}


def test_an_empty_version_0_file_is_migrated(store_path: Path) -> None:
    duckdb.connect(str(store_path)).close()
    assert _version(store_path) == 0
    with LocalStore.open(store_path, holder="pytest") as store:
        store.upsert_opportunities([opportunity("O1")])
    assert _version(store_path) == SCHEMA_VERSION


def test_an_old_file_is_migrated_in_order_and_keeps_its_data(store_path: Path) -> None:
    # a file written at the current version, opened by a partner-kpi whose schema is one ahead
    with LocalStore.open(store_path, holder="pytest") as store:
        store.upsert_opportunities([opportunity("O1")])
        run_id = store.start_run("sync", date(2026, 11, 25))
        store.finish_run(run_id, "succeeded", {})
    conn = duckdb.connect(str(store_path))
    try:
        assert migrate(conn, store_path, (*MIGRATIONS, LATER)) == (SCHEMA_VERSION, NEXT)
        assert migrate(conn, store_path, (*MIGRATIONS, LATER)) == (NEXT, NEXT)  # nothing left to do
        assert conn.execute("SELECT run_id, note FROM runs").fetchall() == [(run_id, "none")]
        assert conn.execute("SELECT id FROM opportunities").fetchall() == [("O1",)]
    finally:
        conn.close()
    assert _version(store_path) == NEXT


def test_a_store_from_a_newer_partner_kpi_is_refused_and_left_alone(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest"):
        pass
    conn = duckdb.connect(str(store_path))
    migrate(conn, store_path, (*MIGRATIONS, LATER))
    conn.close()

    with (
        pytest.raises(StoreVersionError) as refused,
        LocalStore.open(store_path, holder="pytest"),
    ):
        pass
    message = str(refused.value)
    assert str(store_path) in message
    assert "newer partner-kpi" in message
    assert f"version {NEXT}; this partner-kpi reads up to version {SCHEMA_VERSION}" in message
    assert "upgrade partner-kpi" in message
    assert _version(store_path) == NEXT
    # the refusal released the lock: the next attempt fails on the version again, not the lock
    with pytest.raises(StoreVersionError), LocalStore.open(store_path, holder="pytest"):
        pass


def test_a_failing_migration_leaves_the_file_at_the_version_before(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest"):
        pass
    broken = Migration(
        NEXT, "broken", ("CREATE TABLE journal (id INTEGER)", "SELECT * FROM nowhere")
    )
    conn = duckdb.connect(str(store_path))
    try:
        with pytest.raises(duckdb.Error):
            migrate(conn, store_path, (*MIGRATIONS, broken))
    finally:
        conn.close()
    assert _version(store_path) == SCHEMA_VERSION
    assert "journal" not in _tables(store_path)


def test_migrations_must_be_numbered_without_gaps(store_path: Path) -> None:
    conn = duckdb.connect(str(store_path))
    try:
        with pytest.raises(ValueError, match="without gaps"):
            migrate(conn, store_path, (*MIGRATIONS, Migration(NEXT + 1, "skips one", ())))
    finally:
        conn.close()


def test_a_duckdb_file_of_something_else_is_refused(store_path: Path) -> None:
    conn = duckdb.connect(str(store_path))
    conn.execute("CREATE TABLE sales (id INTEGER)")
    conn.close()
    with (
        pytest.raises(StoreError, match=r"not a partner-kpi store \(it holds sales\)"),
        LocalStore.open(store_path, holder="pytest"),
    ):
        pass


def test_a_file_that_is_not_duckdb_is_refused_with_the_path(store_path: Path) -> None:
    store_path.write_text("SQLite format 3\x00 or anything else\n")
    with pytest.raises(StoreError) as refused, LocalStore.open(store_path, holder="pytest"):
        pass
    assert f"cannot open the store {store_path}" in str(refused.value)


def _run_status_check(path: Path) -> set[str]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        (expression,) = conn.execute(
            "SELECT expression FROM duckdb_constraints() "
            "WHERE table_name = 'runs' AND constraint_type = 'CHECK'"
        ).fetchone() or (None,)
    finally:
        conn.close()
    return set(re.findall(r"'([^']*)'", str(expression)))


def test_the_runs_table_takes_every_run_status_and_no_other(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest"):
        pass
    assert _run_status_check(store_path) == {status.value for status in RunStatus}


def test_a_version_2_store_is_migrated_to_keep_partial_runs(store_path: Path) -> None:
    """A store written before runs could end partial keeps its runs and scores."""
    conn = duckdb.connect(str(store_path))
    try:
        migrate(conn, store_path, MIGRATIONS[:2])
        conn.execute(
            "INSERT INTO runs VALUES ('r1', 'sync', TIMESTAMP '2026-11-25 10:00:00', "
            "TIMESTAMP '2026-11-25 10:01:00', 'succeeded', DATE '2026-11-25', "
            "'{\"records_written\": 3}', NULL)"
        )
        conn.execute("INSERT INTO scores VALUES ('r1', 'P1', 'Acme', 71.5, 'Gold', '{}')")
    finally:
        conn.close()
    assert _run_status_check(store_path) == {"running", "succeeded", "failed"}

    with LocalStore.open(store_path, holder="pytest") as store:
        (old,) = store.list_runs()
        run_id = store.start_run("sync", date(2026, 11, 26))
        store.finish_run(run_id, RunStatus.PARTIAL, {"records_rejected": 1}, "1 rejected")
        runs = {run.run_id: run for run in store.list_runs()}
        history = store.score_history("P1")
    assert _version(store_path) == SCHEMA_VERSION
    assert (old.run_id, old.status, old.counts) == (
        "r1",
        RunStatus.SUCCEEDED,
        {"records_written": 3},
    )
    assert runs[run_id].status is RunStatus.PARTIAL and runs[run_id].error == "1 rejected"
    assert [(row.run_id, row.score, row.tier) for row in history] == [("r1", 71.5, "Gold")]


def test_a_version_3_store_keeps_its_cursors_with_no_complete_read_on_record(
    store_path: Path,
) -> None:
    # a v3 file: its cursors say where reads resume, not when a read last went to the end
    conn = duckdb.connect(str(store_path))
    migrate(conn, store_path, MIGRATIONS[:3])
    conn.execute(
        "INSERT INTO cursors VALUES ('opportunities', ?, '2026-11-01 00:00:00')",
        ['{"modified_at": "2026-10-31T00:00:00+00:00", "record_id": "O1"}'],
    )
    conn.close()
    with LocalStore.open(store_path, holder="pytest") as store:
        assert store.get_cursor("opportunities") is not None
        assert store.read_through("opportunities") is None  # the next run reconciles once
    assert _version(store_path) == SCHEMA_VERSION

"""The store's tables, as an ordered list of migrations applied when a store is opened.

A store file records its ``schema_version`` in ``meta``. Opening runs every
migration above that version, each in its own transaction, so a file is always
at one version or the next, never in between. Migrations are only ever
appended: a released one is never edited, since files in the field were built
by it. A file from a newer partner-kpi is refused, not guessed at.

Times are ``TIMESTAMP`` holding UTC: a plain timestamp keeps the stored values
independent of the session's time zone, and the store converts at its edges.
JSON columns are ``VARCHAR`` holding JSON text, readable by any DuckDB build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import StoreError, StoreVersionError


@dataclass(frozen=True)
class Migration:
    """One step of the schema: applied to a store at ``version - 1`` to bring it to ``version``."""

    version: int
    summary: str
    statements: tuple[str, ...]


_V1 = Migration(
    version=1,
    summary="records, cursors, runs and score history",
    statements=(
        """
        CREATE TABLE meta (
            key VARCHAR PRIMARY KEY,
            value VARCHAR NOT NULL
        )
        """,
        """
        CREATE TABLE partners (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            region VARCHAR,
            channel_manager VARCHAR,
            tier VARCHAR,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE opportunities (
            id VARCHAR PRIMARY KEY,
            name VARCHAR,
            partner_id VARCHAR,
            account_id VARCHAR,
            stage VARCHAR NOT NULL,
            status VARCHAR NOT NULL CHECK (status IN ('open', 'won', 'lost')),
            probability DOUBLE NOT NULL,
            amount DOUBLE,
            amount_original DOUBLE,
            currency VARCHAR,
            created_date DATE NOT NULL,
            close_date DATE,
            lead_source VARCHAR,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE stage_changes (
            id VARCHAR PRIMARY KEY,
            opportunity_id VARCHAR NOT NULL,
            stage VARCHAR NOT NULL,
            entered_at TIMESTAMP NOT NULL,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE stage_defs (
            name VARCHAR PRIMARY KEY,
            status VARCHAR NOT NULL CHECK (status IN ('open', 'won', 'lost')),
            probability DOUBLE NOT NULL,
            sort_order INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE cursors (
            stream VARCHAR PRIMARY KEY,
            cursor VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
            as_of DATE NOT NULL,
            counts VARCHAR NOT NULL DEFAULT '{}',
            error VARCHAR
        )
        """,
        # the run is checked by save_scores, not by a foreign key: what DuckDB lets
        # one ALTER or DELETE around a foreign key has changed across the releases
        # pyproject allows, and later migrations must not depend on that
        """
        CREATE TABLE scores (
            run_id VARCHAR NOT NULL,
            partner_id VARCHAR NOT NULL,
            partner_name VARCHAR NOT NULL,
            score DOUBLE NOT NULL,
            tier VARCHAR NOT NULL,
            kpis VARCHAR NOT NULL,
            PRIMARY KEY (run_id, partner_id)
        )
        """,
    ),
)

_V2 = Migration(
    version=2,
    summary="the writeback journal: per run, record and field, old and new value and outcome",
    statements=(
        # old_value and new_value are JSON text (null, a number, a string); kind and
        # scale say how to read them back, so a rollback does not depend on the config
        # of the day. outcome: pending (about to be sent), written, rejected, or
        # not_written (a pending write a later run found not to have landed).
        """
        CREATE TABLE writeback_journal (
            run_id VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL,
            field VARCHAR NOT NULL,
            label VARCHAR NOT NULL DEFAULT '',
            output VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            scale INTEGER NOT NULL DEFAULT 0,
            old_value VARCHAR NOT NULL DEFAULT 'null',
            new_value VARCHAR NOT NULL DEFAULT 'null',
            outcome VARCHAR NOT NULL
                CHECK (outcome IN ('pending', 'written', 'rejected', 'not_written')),
            error_code VARCHAR,
            message VARCHAR,
            seq INTEGER NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (run_id, record_id, field)
        )
        """,
    ),
)

_V3 = Migration(
    version=3,
    summary="a run may end partial: finished, but the CRM rejected some of its writes",
    statements=(
        # DuckDB cannot alter a CHECK constraint: the table is copied into a new one
        """
        CREATE TABLE runs_v3 (
            run_id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL
                CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
            as_of DATE NOT NULL,
            counts VARCHAR NOT NULL DEFAULT '{}',
            error VARCHAR
        )
        """,
        """
        INSERT INTO runs_v3
        SELECT run_id, kind, started_at, finished_at, status, as_of, counts, error FROM runs
        """,
        "DROP TABLE runs",
        "ALTER TABLE runs_v3 RENAME TO runs",
    ),
)

_V4 = Migration(
    version=4,
    summary="when the last complete read of each stream began, by the CRM's clock",
    statements=(
        # NULL (every cursor a v3 store holds): no complete read is on record, so the
        # next run reconciles that stream once, as it must when it cannot tell the gap
        "ALTER TABLE cursors ADD COLUMN read_through TIMESTAMP",
    ),
)

_V5 = Migration(
    version=5,
    summary="the funnel, customers and service objects, and which of them the CRM let us read",
    statements=(
        """
        CREATE TABLE leads (
            id VARCHAR PRIMARY KEY,
            partner_id VARCHAR,
            created_date DATE NOT NULL,
            status VARCHAR,
            converted_date DATE,
            converted_opportunity_id VARCHAR,
            lead_source VARCHAR,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE quotes (
            id VARCHAR PRIMARY KEY,
            opportunity_id VARCHAR NOT NULL,
            created_date DATE NOT NULL,
            status VARCHAR,
            sent_date DATE,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE cases (
            id VARCHAR PRIMARY KEY,
            account_id VARCHAR,
            created_date DATE NOT NULL,
            closed_date DATE,
            type VARCHAR,
            contact_count INTEGER NOT NULL,
            reopened BOOLEAN NOT NULL,
            first_contact_resolved BOOLEAN,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE calls (
            id VARCHAR PRIMARY KEY,
            opportunity_id VARCHAR,
            call_date DATE NOT NULL,
            duration_seconds INTEGER,
            outcome VARCHAR
                CHECK (outcome IN ('connected', 'no_answer', 'voicemail', 'other')),
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        """
        CREATE TABLE line_items (
            id VARCHAR PRIMARY KEY,
            opportunity_id VARCHAR NOT NULL,
            product VARCHAR NOT NULL,
            quantity DOUBLE,
            amount DOUBLE,
            deleted BOOLEAN NOT NULL DEFAULT false,
            fetched_at TIMESTAMP NOT NULL
        )
        """,
        # one row per activity stream, written by each sync: NULL reason = readable. A
        # stream with no row was never asked about (a store synced before this version).
        """
        CREATE TABLE activity_access (
            stream VARCHAR PRIMARY KEY,
            reason VARCHAR,
            checked_at TIMESTAMP NOT NULL
        )
        """,
    ),
)

_V6 = Migration(
    version=6,
    summary="when a full read still under way began, for reads ordered by modification",
    statements=(
        # a Salesforce full read goes in SystemModstamp order, so its rest, after a quota
        # stop, is an ordinary incremental read: this says it is the rest of a full read
        "ALTER TABLE cursors ADD COLUMN full_read_began TIMESTAMP",
    ),
)

#: Every migration, in order.
MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _V6)

#: The version this partner-kpi writes and reads.
SCHEMA_VERSION = MIGRATIONS[-1].version


def _check_sequence(migrations: tuple[Migration, ...]) -> None:
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migration {migration.summary!r} has version {migration.version}, "
                f"expected {expected}: versions must run 1, 2, 3 … without gaps"
            )


_check_sequence(MIGRATIONS)


def _tables(conn: Any) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {str(name) for (name,) in rows}


def stored_version(conn: Any, path: Path) -> int:
    """The schema version of an open store file: 0 for a new (empty) file."""
    tables = _tables(conn)
    if "meta" not in tables:
        if tables:
            raise StoreError(
                f"{path} is a DuckDB file but not a partner-kpi store (it holds "
                f"{', '.join(sorted(tables))}); point store.path at another file"
            )
        return 0
    rows = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if not rows:
        raise StoreError(
            f"{path} has no schema version in its meta table; it was not written by "
            "partner-kpi, or its first migration was interrupted: move it aside and sync again"
        )
    return int(rows[0][0])


def migrate(
    conn: Any, path: Path, migrations: tuple[Migration, ...] = MIGRATIONS
) -> tuple[int, int]:
    """Bring the store at ``conn`` up to the last of ``migrations``: (version before, after).

    ``conn`` is a DuckDB connection outside any transaction. A store newer than
    the last migration raises ``StoreVersionError`` and is left untouched.
    """
    _check_sequence(migrations)
    latest = migrations[-1].version if migrations else 0
    before = stored_version(conn, path)
    if before > latest:
        raise StoreVersionError(
            f"the store {path} was written by a newer partner-kpi (store schema version "
            f"{before}; this partner-kpi reads up to version {latest}); upgrade partner-kpi "
            "(pip install --upgrade partner-kpi) to use it"
        )
    for migration in migrations[before:]:
        conn.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                [str(migration.version)],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before, latest

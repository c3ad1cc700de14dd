"""The local store: one DuckDB file per CRM instance, held by one run at a time.

Every write method is one transaction, so a run killed at any instant leaves
the file as it was after its last whole page; ``transaction()`` groups several
writes (a page and its cursor) into one. Records are upserted by their CRM id;
ids the CRM reports deleted are marked, not removed, and the readers leave
them out. Reads for the engine come back as Arrow tables in the common
schema's layouts.

A ``LocalStore`` holds one DuckDB connection: use it from one thread.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.connector import Cursor
from core.entity import RecordT
from core.errors import StoreError, StoreLocked
from core.schema import (
    OPPORTUNITY_ARROW_SCHEMA,
    PARTNER_ARROW_SCHEMA,
    STAGE_EVENT_ARROW_SCHEMA,
    Opportunity,
    Partner,
    StageChange,
    StageDef,
)
from store.events import LIVE_CHANGES_SQL, stage_events
from store.lock import hold_lock
from store.models import (
    SCORE_TREND_SCHEMA,
    JournalEntry,
    JournalOutcome,
    RunRecord,
    RunStatus,
    ScoredPartner,
    ScoreHistoryRow,
    StoreCounts,
)
from store.pages import (
    ACTIVITY_TABLES,
    OPPORTUNITIES,
    PARTNERS,
    STAGE_CHANGES,
    STAGE_DEFS,
    RecordTable,
    as_utc,
    ids_page,
)
from store.schema import migrate

Clock = Callable[[], datetime]

INTERRUPTED = "interrupted: the process stopped before the run finished (killed or crashed)"

_PAGE_VIEW = "_store_page"
_IDS_VIEW = "_store_ids"
_LIVE_TABLE = "_store_live_ids"
#: the record tables read incrementally, by stream name (the name of their cursor)
_STREAM_TABLES: tuple[RecordTable[Any], ...] = (
    PARTNERS, OPPORTUNITIES, STAGE_CHANGES, *ACTIVITY_TABLES.values()
)  # fmt: skip
_RECORD_STREAMS: dict[str, RecordTable[Any]] = {table.name: table for table in _STREAM_TABLES}


def _live_records(table: RecordTable[Any], layout: pa.Schema) -> str:
    """The SELECT of ``layout``'s columns from the rows of ``table`` not deleted."""
    return f"SELECT {', '.join(layout.names)} FROM {table.name} WHERE NOT deleted"


# No ORDER BY: the engine puts its frames in canonical order itself, and at a
# million rows sorting here would cost more than the read.
_PARTNERS_SQL = _live_records(PARTNERS, PARTNER_ARROW_SCHEMA)
_OPPORTUNITIES_SQL = _live_records(OPPORTUNITIES, OPPORTUNITY_ARROW_SCHEMA)


# Changes of deleted or never-stored opportunities are left out: the engine
# joins events to opportunities, and an orphan would only be noise. Numbering
# happens after that filter so that a deleted change leaves no gap.
def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _kpis_json(kpis: Any) -> str:
    dump = getattr(kpis, "model_dump", None)
    if callable(dump):
        kpis = dump(mode="json")
    elif not isinstance(kpis, Mapping):
        raise TypeError(f"kpis must be a pydantic model or a mapping, not {type(kpis).__name__}")
    return json.dumps(dict(kpis), sort_keys=True, default=str)


def first_row(conn: Any, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a query, or None, with the result consumed.

    DuckDB 2 refuses further work on a connection whose last result was not
    read to the end, which ``fetchone`` leaves it in.
    """
    rows = conn.execute(sql, list(params)).fetchall()
    return tuple(rows[0]) if rows else None


def _to_arrow(relation: Any) -> pa.Table:
    # duckdb 2 calls it to_arrow_table (its arrow() returns a reader); 1.x calls it arrow()
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    table = fetch()
    assert isinstance(table, pa.Table)
    return table


class LocalStore:
    """The records, cursors, runs and score history of one CRM instance, in one file.

    Open it with ``LocalStore.open(path, holder=...)``; the constructor is internal.
    """

    def __init__(self, conn: Any, path: Path, clock: Clock) -> None:
        self._conn = conn
        self.path = path
        self._clock = clock
        self._depth = 0
        self._doomed = False
        #: runs a dead process left ``running``, closed as failed when this store opened
        self.interrupted_runs: tuple[str, ...] = ()

    # ----------------------------------------------------------------- opening

    @classmethod
    @contextmanager
    def open(cls, path: Path | str, *, holder: str, clock: Clock = utc_now) -> Iterator[LocalStore]:
        """Lock the store at ``path``, create or migrate it, and yield it; unlock on exit.

        ``holder`` says what this run is (e.g. "partner-kpi sync"): a second run
        is refused with ``StoreLocked`` naming it. A file of a newer schema
        raises ``StoreVersionError``; a file that is not a store, ``StoreError``.
        """
        path = Path(path)
        with hold_lock(path, holder):
            try:
                conn = duckdb.connect(str(path))
            except duckdb.Error as exc:
                if "lock" in str(exc).lower():
                    raise StoreLocked(
                        f"the store {path} is open in another process that does not take "
                        "partner-kpi's lock (a DuckDB client, or a partner-kpi run that opened "
                        "the same file through a hard link); close it and run again"
                    ) from None
                raise StoreError(
                    f"cannot open the store {path}: {exc}; point store.path at a partner-kpi "
                    "store file, or at a new path to start one"
                ) from None
            try:
                # DuckDB draws a progress bar on stderr for any query past two seconds (a
                # stage-events read of a large store on a busy machine): not a command's output
                conn.execute("SET enable_progress_bar = false")
                migrate(conn, path)
                store = cls(conn, path, clock)
                store._close_interrupted_runs()
                yield store
            finally:
                conn.close()

    def _close_interrupted_runs(self) -> None:
        # Holding the lock proves no other process is running, so any run still
        # marked running belongs to a process that died without finishing it.
        rows = self._conn.execute(
            "SELECT run_id FROM runs WHERE status = 'running' ORDER BY run_id"
        ).fetchall()
        if not rows:
            return
        with self.transaction():
            self._conn.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?, error = ? "
                "WHERE status = 'running'",
                [self._now(), INTERRUPTED],
            )
        self.interrupted_runs = tuple(str(run_id) for (run_id,) in rows)

    def _now(self) -> datetime:
        return as_utc(self._clock())

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make the writes inside the block one transaction: all of them land, or none.

        Blocks nest; the outermost commits. An error that leaves any level rolls
        the whole transaction back, even if an outer level catches it.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            except BaseException:
                self._doomed = True
                raise
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN TRANSACTION")
        self._depth, self._doomed = 1, False
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            if self._doomed:
                self._conn.execute("ROLLBACK")
                raise StoreError("a store write failed inside this transaction; nothing was saved")
            self._conn.execute("COMMIT")
        finally:
            self._depth, self._doomed = 0, False

    # ------------------------------------------------------------------ upserts

    @contextmanager
    def _view(self, name: str, table: pa.Table) -> Iterator[None]:
        """``table`` readable in SQL as ``name`` inside the block."""
        self._conn.register(name, table)
        try:
            yield
        finally:
            self._conn.unregister(name)

    def _upsert(self, table: str, page: pa.Table, key: Sequence[str]) -> None:
        if page.num_rows == 0:
            return
        columns = ", ".join(page.column_names)
        updates = ", ".join(f"{c} = excluded.{c}" for c in page.column_names if c not in key)
        with self._view(_PAGE_VIEW, page):
            self._conn.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_PAGE_VIEW} "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
            )

    def _upsert_records(
        self, table: RecordTable[RecordT], records: Iterable[RecordT], deleted_ids: Iterable[str]
    ) -> None:
        with self.transaction():
            self._upsert(table.name, table.page(records, self._clock()), table.key)
            self._mark_deleted(table, deleted_ids)

    def _mark_deleted(self, table: RecordTable[Any], ids: Iterable[str]) -> None:
        # Ids never stored are ignored: a tombstone would need values the CRM did not send.
        page = ids_page(ids)
        if page.num_rows == 0:
            return
        (key,) = table.key
        with self._view(_IDS_VIEW, page):
            self._conn.execute(
                f"UPDATE {table.name} SET deleted = true, fetched_at = ? "
                f"WHERE {key} IN (SELECT id FROM {_IDS_VIEW})",
                [self._now()],
            )

    def upsert_partners(self, records: Iterable[Partner], deleted_ids: Iterable[str] = ()) -> None:
        """Insert or update partners by id, then mark ``deleted_ids`` deleted, in one transaction.

        A deleted partner that comes back in a later page is undeleted.
        """
        self._upsert_records(PARTNERS, records, deleted_ids)

    def upsert_opportunities(
        self, records: Iterable[Opportunity], deleted_ids: Iterable[str] = ()
    ) -> None:
        """Insert or update opportunities by id, then mark ``deleted_ids`` deleted.

        One transaction per call: call it once per page. An id both in
        ``records`` and in ``deleted_ids`` ends up deleted.
        """
        self._upsert_records(OPPORTUNITIES, records, deleted_ids)

    def upsert_stage_changes(
        self, records: Iterable[StageChange], deleted_ids: Iterable[str] = ()
    ) -> None:
        """Insert or update stage changes by their CRM id, then mark ``deleted_ids`` deleted."""
        self._upsert_records(STAGE_CHANGES, records, deleted_ids)

    def upsert_activity(
        self, stream: str, records: Iterable[Any], deleted_ids: Iterable[str] = ()
    ) -> None:
        """Insert or update the records of an activity stream (``ACTIVITY_TABLES``) by id,
        then mark ``deleted_ids`` deleted, in one transaction."""
        self._upsert_records(ACTIVITY_TABLES[stream], records, deleted_ids)

    def record_activity_access(self, access: Mapping[str, str | None]) -> None:
        """Record, per activity stream, whether the CRM let the last sync read it (None) or
        why not: the engine then takes a stream it could not read for no data at all."""
        unknown = set(access) - set(ACTIVITY_TABLES)
        if unknown:
            raise ValueError(f"unknown activity stream(s): {', '.join(sorted(unknown))}")
        with self.transaction():
            for stream, reason in access.items():
                self._conn.execute(
                    "INSERT INTO activity_access VALUES (?, ?, ?) ON CONFLICT (stream) "
                    "DO UPDATE SET reason = excluded.reason, checked_at = excluded.checked_at",
                    [stream, reason, self._now()],
                )

    def activity_access(self) -> dict[str, str | None]:
        """Per activity stream the last sync asked about: None (readable) or why not."""
        rows = self._conn.execute("SELECT stream, reason FROM activity_access").fetchall()
        return {str(stream): reason for stream, reason in rows}

    def replace_stage_changes(
        self, opportunity_ids: Iterable[str], records: Iterable[StageChange]
    ) -> None:
        """Make ``records`` the whole stage history of ``opportunity_ids``.

        For CRMs that return a deal's full history with the deal: the stored
        changes of those opportunities are dropped and ``records`` inserted,
        in one transaction. Every record must belong to one of the ids.
        """
        ids = ids_page(opportunity_ids)
        page = STAGE_CHANGES.page(records, self._clock())
        known = set(ids.column("id").to_pylist())
        for opportunity_id, change_id in zip(
            page.column("opportunity_id").to_pylist(), page.column("id").to_pylist(), strict=True
        ):
            if opportunity_id not in known:
                raise ValueError(
                    f"stage change {change_id!r} belongs to opportunity {opportunity_id!r}, "
                    "which is not among the opportunities whose history is replaced"
                )
        with self.transaction():
            if ids.num_rows:
                with self._view(_IDS_VIEW, ids):
                    self._conn.execute(
                        f"DELETE FROM {STAGE_CHANGES.name} "
                        f"WHERE opportunity_id IN (SELECT id FROM {_IDS_VIEW})"
                    )
            self._upsert(STAGE_CHANGES.name, page, STAGE_CHANGES.key)

    def replace_stage_defs(self, defs: Iterable[StageDef]) -> None:
        """Make ``defs`` the pipeline's stages: the CRM's stage metadata is read whole."""
        page = STAGE_DEFS.page(defs, self._clock())
        with self.transaction():
            self._conn.execute(f"DELETE FROM {STAGE_DEFS.name}")
            self._upsert(STAGE_DEFS.name, page, STAGE_DEFS.key)

    # ------------------------------------------------------------------ cursors

    def get_cursor(self, stream: str) -> Cursor | None:
        """Where ``stream`` resumes, or None if it was never read (read it all)."""
        row = first_row(self._conn, "SELECT cursor FROM cursors WHERE stream = ?", [stream])
        return None if row is None else Cursor.from_json(json.loads(row[0]))

    def set_cursor(
        self, stream: str, cursor: Cursor, *, full_read_began: datetime | None = None
    ) -> None:
        """Record where ``stream`` resumes; save it after the page it follows is upserted.
        ``full_read_began``: the cursor is within a full read begun then (None: it is not)."""
        began = None if full_read_began is None else as_utc(full_read_began)
        with self.transaction():
            self._conn.execute(
                "INSERT INTO cursors (stream, cursor, updated_at, full_read_began) "
                "VALUES (?, ?, ?, ?) "
                "ON CONFLICT (stream) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at, full_read_began = excluded.full_read_began",
                [stream, json.dumps(cursor.as_json()), self._now(), began],
            )

    def read_through(self, stream: str) -> datetime | None:
        """When the last complete read of ``stream`` began (UTC, by the CRM's clock where it
        was known), or None: no complete read through its cursor is on record."""
        row = first_row(self._conn, "SELECT read_through FROM cursors WHERE stream = ?", [stream])
        return None if row is None else _aware(row[0])

    def set_read_through(self, stream: str, moment: datetime) -> None:
        """Record that a read of ``stream`` begun at ``moment`` went to its end (a full read
        under way ends with it); a stream with no cursor (nothing read yet) has nothing to
        record it on, and is read whole anyway."""
        with self.transaction():
            self._conn.execute(
                "UPDATE cursors SET read_through = ?, full_read_began = NULL WHERE stream = ?",
                [as_utc(moment), stream],
            )

    def full_read_began(self, stream: str) -> datetime | None:
        """When the full read of ``stream`` still under way began (a run stopped before its
        end), or None: none is."""
        row = first_row(
            self._conn, "SELECT full_read_began FROM cursors WHERE stream = ?", [stream]
        )
        return None if row is None else _aware(row[0])

    def mark_missing_deleted(self, stream: str, live_ids: Iterable[Sequence[str]]) -> list[str]:
        """Mark deleted every stored record of ``stream`` not deleted whose id is not among
        ``live_ids`` (pages of the ids the CRM holds now); the ids marked, sorted.

        Nothing is marked unless every page was read: an error while ``live_ids`` is being
        read leaves the store as it was.
        """
        table = _RECORD_STREAMS[stream]
        (key,) = table.key
        self._conn.execute(f"CREATE OR REPLACE TEMP TABLE {_LIVE_TABLE} (id VARCHAR)")
        try:
            for ids in live_ids:
                with self._view(_IDS_VIEW, ids_page(ids)):
                    self._conn.execute(f"INSERT INTO {_LIVE_TABLE} SELECT id FROM {_IDS_VIEW}")
            missing = f"""
                FROM {table.name} AS t WHERE NOT t.deleted
                AND NOT EXISTS (SELECT 1 FROM {_LIVE_TABLE} AS l WHERE l.id = t.{key})
            """
            with self.transaction():
                gone = sorted(
                    str(record_id)
                    for (record_id,) in self._conn.execute(f"SELECT t.{key} {missing}").fetchall()
                )
                self._mark_deleted(table, gone)
        finally:
            self._conn.execute(f"DROP TABLE IF EXISTS {_LIVE_TABLE}")
        return gone

    # --------------------------------------------------------------------- runs

    def start_run(self, kind: str, as_of: date) -> str:
        """Record a run (``audit``, ``sync`` …) as running; its id sorts by start time to the
        second (``started_at`` orders runs of one second).

        Finish it before the store is closed: a run still running when a store
        is next opened is taken for one whose process died, and closed as failed.
        """
        started = self._now()
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
        with self.transaction():
            self._conn.execute(
                "INSERT INTO runs (run_id, kind, started_at, status, as_of) "
                "VALUES (?, ?, ?, 'running', ?)",
                [run_id, kind, started, as_of],
            )
        return run_id

    def finish_run(
        self,
        run_id: str,
        status: RunStatus | str,
        counts: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        """Close a running run as succeeded, partial or failed, with what it read and did."""
        final = RunStatus(status)
        if final is RunStatus.RUNNING:
            raise ValueError("finish_run needs status succeeded, partial or failed, not running")
        with self.transaction():
            row = first_row(self._conn, "SELECT status FROM runs WHERE run_id = ?", [run_id])
            if row is None:
                raise ValueError(f"no run {run_id!r} in the store {self.path}")
            if row[0] != RunStatus.RUNNING:
                raise ValueError(f"run {run_id!r} is already finished ({row[0]})")
            self._conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, counts = ?, error = ? "
                "WHERE run_id = ?",
                [
                    final.value,
                    self._now(),
                    json.dumps(dict(counts), sort_keys=True, default=str),
                    error,
                    run_id,
                ],
            )

    _RUN_COLUMNS = "run_id, kind, started_at, finished_at, status, as_of, counts, error"

    @staticmethod
    def _run(row: tuple[Any, ...]) -> RunRecord:
        run_id, kind, started_at, finished_at, status, as_of, counts, error = row
        return RunRecord(
            run_id=run_id,
            kind=kind,
            started_at=started_at.replace(tzinfo=UTC),
            finished_at=_aware(finished_at),
            status=RunStatus(status),
            as_of=as_of,
            counts=json.loads(counts),
            error=error,
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run by id, or None."""
        row = first_row(
            self._conn, f"SELECT {self._RUN_COLUMNS} FROM runs WHERE run_id = ?", [run_id]
        )
        return None if row is None else self._run(row)

    def list_runs(self, *, limit: int | None = None) -> list[RunRecord]:
        """The runs, newest first (at most ``limit`` of them)."""
        sql = f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._run(row) for row in self._conn.execute(sql).fetchall()]

    # ------------------------------------------------------------------- scores

    def save_scores(self, run_id: str, rows: Iterable[ScoredPartner]) -> None:
        """Keep the partners' scores of ``run_id`` (a ``PartnerScore`` per partner fits).

        Saving again for the same run and partner replaces the row.
        """
        by_partner = {row.partner_id: row for row in rows}
        page = pa.table(
            {
                "run_id": pa.array([run_id] * len(by_partner), pa.string()),
                "partner_id": pa.array(list(by_partner), pa.string()),
                "partner_name": pa.array([r.partner_name for r in by_partner.values()]),
                "score": pa.array([float(r.score) for r in by_partner.values()], pa.float64()),
                "tier": pa.array([r.tier for r in by_partner.values()], pa.string()),
                "kpis": pa.array([_kpis_json(r.kpis) for r in by_partner.values()], pa.string()),
            }
        )
        with self.transaction():
            if first_row(self._conn, "SELECT 1 FROM runs WHERE run_id = ?", [run_id]) is None:
                raise ValueError(f"no run {run_id!r} in the store {self.path}; start_run first")
            self._upsert("scores", page, ("run_id", "partner_id"))

    def score_history(self, partner_id: str | None = None) -> list[ScoreHistoryRow]:
        """Scores over runs, oldest run first, for trends: one partner's, or every partner's.

        Rows of every finished or running run are returned with the run's status,
        so a caller can keep only the runs it trusts.
        """
        sql = """
            SELECT s.run_id, r.kind, r.status, r.as_of, r.started_at,
                   s.partner_id, s.partner_name, s.score, s.tier, s.kpis
            FROM scores AS s JOIN runs AS r USING (run_id)
        """
        params: list[Any] = []
        if partner_id is not None:
            sql += " WHERE s.partner_id = ?"
            params.append(partner_id)
        sql += " ORDER BY r.as_of, r.started_at, s.run_id, s.partner_id"
        return [
            ScoreHistoryRow(
                run_id=run,
                run_kind=kind,
                run_status=RunStatus(status),
                as_of=as_of,
                started_at=started_at.replace(tzinfo=UTC),
                partner_id=partner,
                partner_name=name,
                score=score,
                tier=tier,
                kpis=json.loads(kpis),
            )
            for run, kind, status, as_of, started_at, partner, name, score, tier, kpis in (
                self._conn.execute(sql, params).fetchall()
            )
        ]

    def score_trend(self) -> pa.Table:
        """Every partner's score in each run whose scores stand (succeeded or partial), in
        ``SCORE_TREND_SCHEMA``, ordered as ``score_history``: what a report's trend draws.

        Read as columns with neither the KPIs nor a row object per score: a store of daily
        runs over 5,000 partners holds millions of score rows.
        """
        scored = ", ".join(f"'{status.value}'" for status in RunStatus if status.scored)
        sql = f"""
            SELECT s.run_id, r.as_of, s.partner_id, s.score, s.tier
            FROM scores AS s JOIN runs AS r USING (run_id)
            WHERE r.status IN ({scored})
            ORDER BY r.as_of, r.started_at, s.run_id, s.partner_id
        """
        return self._arrow(sql, SCORE_TREND_SCHEMA)

    def scored_partner_names(self) -> set[tuple[str, str]]:
        """Each (partner id, name) pair a stored score carries, once."""
        rows = self._conn.execute("SELECT DISTINCT partner_id, partner_name FROM scores")
        return {(str(partner), str(name)) for partner, name in rows.fetchall()}

    # ------------------------------------------------------------------ journal

    _JOURNAL_COLUMNS = (
        "run_id, record_id, field, label, output, kind, scale, old_value, new_value, outcome, "
        "error_code, message, seq, updated_at"
    )

    def record_journal(self, entries: Iterable[JournalEntry]) -> None:
        """Add or replace journal entries (by run, record and field), in one transaction.

        A writeback journals its changes as pending before it sends them and
        replaces them with their outcome after, so a run killed in between leaves
        them pending for the next run to settle.
        """
        now = self._now()
        # last entry wins per key, as a page upsert does; one set-based insert, because
        # DuckDB runs executemany row by row (5 ms a row: 800 s for 160,000 entries)
        latest = {(e.run_id, e.record_id, e.field): e for e in entries}
        if not latest:
            return
        kept = list(latest.values())
        page = pa.table(
            {
                "run_id": [e.run_id for e in kept],
                "record_id": [e.record_id for e in kept],
                "field": [e.field for e in kept],
                "label": [e.label for e in kept],
                "output": [e.output for e in kept],
                "kind": [e.kind for e in kept],
                "scale": pa.array([int(e.scale) for e in kept], pa.int32()),
                "old_value": [json.dumps(e.old_value) for e in kept],
                "new_value": [json.dumps(e.new_value) for e in kept],
                "outcome": [JournalOutcome(e.outcome).value for e in kept],
                "error_code": pa.array([e.error_code for e in kept], pa.string()),
                "message": pa.array([e.message for e in kept], pa.string()),
                "seq": pa.array([int(e.seq) for e in kept], pa.int32()),
                "updated_at": pa.array([now] * len(kept), pa.timestamp("us")),
            }
        )
        with self.transaction():
            for run_id in sorted({e.run_id for e in kept}):
                if first_row(self._conn, "SELECT 1 FROM runs WHERE run_id = ?", [run_id]) is None:
                    raise ValueError(f"no run {run_id!r} in the store {self.path}; start_run first")
            self._upsert("writeback_journal", page, ("run_id", "record_id", "field"))

    def journal(
        self,
        *,
        run_id: str | None = None,
        record_id: str | None = None,
        outcome: JournalOutcome | str | None = None,
    ) -> list[JournalEntry]:
        """Journal entries, oldest run first and in each run's order, filtered as asked."""
        sql = f"SELECT {self._JOURNAL_COLUMNS} FROM writeback_journal"
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("run_id", run_id), ("record_id", record_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if outcome is not None:
            where.append("outcome = ?")
            params.append(JournalOutcome(outcome).value)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY run_id, seq, record_id, field"
        return [
            JournalEntry(
                run_id=run, record_id=record, field=name, label=label, output=output, kind=kind,
                scale=scale,
                old_value=json.loads(old), new_value=json.loads(new),
                outcome=JournalOutcome(result), error_code=code, message=message, seq=seq,
                updated_at=_aware(updated),
            )
            for (run, record, name, label, output, kind, scale, old, new, result, code, message,
                 seq, updated) in self._conn.execute(sql, params).fetchall()
        ]  # fmt: skip

    # -------------------------------------------------------------------- reads

    def _arrow(self, sql: str, schema: pa.Schema) -> pa.Table:
        return _to_arrow(self._conn.sql(sql)).cast(schema)

    def partners_table(self) -> pa.Table:
        """Partners not deleted, in ``PARTNER_ARROW_SCHEMA``, in no particular order."""
        return self._arrow(_PARTNERS_SQL, PARTNER_ARROW_SCHEMA)

    def opportunities_table(self, layout: pa.Schema = OPPORTUNITY_ARROW_SCHEMA) -> pa.Table:
        """Opportunities not deleted, in ``layout`` (default: the engine's), in no particular
        order; the data-quality step reads the whole layout."""
        if layout == OPPORTUNITY_ARROW_SCHEMA:
            return self._arrow(_OPPORTUNITIES_SQL, layout)
        return self._arrow(_live_records(OPPORTUNITIES, layout), layout)

    def stage_events_table(self) -> pa.Table:
        """Stage changes as the engine's events, in ``STAGE_EVENT_ARROW_SCHEMA``.

        Only changes not deleted, of stored opportunities not deleted, and only
        those entering a stage other than the one before. An event's
        ``entered_date`` is the UTC date of the change; its ``sequence`` is its
        place in its opportunity's history ordered by time, then by change id.
        Rows come in no particular order.
        """
        return stage_events(_to_arrow(self._conn.sql(LIVE_CHANGES_SQL)), STAGE_EVENT_ARROW_SCHEMA)

    def activity_tables(self) -> dict[str, pa.Table | None]:
        """Per activity stream its records not deleted, in the entity's scored layout; None
        for a stream the CRM did not let the last sync read, or that no sync asked about."""
        access = self.activity_access()
        tables: dict[str, pa.Table | None] = {}
        for stream, table in ACTIVITY_TABLES.items():
            if stream not in access or access[stream] is not None:
                tables[stream] = None
                continue
            layout = table.entity.scored_layout
            tables[stream] = self._arrow(_live_records(table, layout), layout)
        return tables

    def stage_defs(self) -> list[StageDef]:
        """The stored pipeline stages, in their sort order."""
        names = STAGE_DEFS.entity.layout.names
        rows = self._conn.execute(
            f"SELECT {', '.join(names)} FROM {STAGE_DEFS.name} ORDER BY sort_order, name"
        ).fetchall()
        return [StageDef.model_validate(dict(zip(names, row, strict=True))) for row in rows]

    def counts(self) -> StoreCounts:
        """How many rows each table holds, deleted records counted apart."""
        row = first_row(
            self._conn,
            """
            SELECT
                (SELECT count(*) FILTER (NOT deleted) FROM partners),
                (SELECT count(*) FILTER (deleted) FROM partners),
                (SELECT count(*) FILTER (NOT deleted) FROM opportunities),
                (SELECT count(*) FILTER (deleted) FROM opportunities),
                (SELECT count(*) FILTER (NOT deleted) FROM stage_changes),
                (SELECT count(*) FILTER (deleted) FROM stage_changes),
                (SELECT count(*) FROM stage_defs),
                (SELECT count(*) FROM cursors),
                (SELECT count(*) FROM runs),
                (SELECT count(*) FROM scores)
            """,
        )
        assert row is not None
        return StoreCounts(*(int(value) for value in row))

"""The sandbox's storage: one in-memory SQLite database shared by both CRMs.

SQLite keeps a million records in a few hundred MB, filters and sorts them in
C, and lets a field created at run time become a column at once. One lock
serialises access: the server is threaded, sqlite3 connections are not.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl

#: the table a frame is staged in on its way into the store
STAGING_TABLE = "staged_rows"
STAGING_SLICE_ROWS = 200_000


def quote(identifier: str) -> str:
    """An SQL identifier, quoted (field names come from users via the Tooling API)."""
    return '"' + identifier.replace('"', '""') + '"'


def sf_datetime(moment: datetime) -> str:
    """Salesforce's datetime format, in UTC: 2017-03-01T09:00:00.000+0000."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "+0000"


def at_time(day: date, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    """A date at a time of day, in UTC."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


class SqlStore:
    """A locked SQLite connection with the few helpers the CRM emulations need."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        # MEMORY, not OFF: allOrNone batches need ROLLBACK to work
        self.db.execute("PRAGMA journal_mode=MEMORY")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA case_sensitive_like=OFF")
        self.lock = threading.RLock()
        self._depth = 0

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], key: str) -> None:
        """A table with the given (column, SQL type) pairs; ``key`` is unique and indexed."""
        body = ", ".join(f"{quote(column)} {sql_type}" for column, sql_type in columns)
        with self.lock:
            self.db.execute(f"CREATE TABLE {quote(name)} ({body})")
            self.db.execute(
                f"CREATE UNIQUE INDEX {quote(name + '_' + key)} ON {quote(name)} ({quote(key)})"
            )

    def create_index(self, table: str, columns: Sequence[str]) -> None:
        name = quote(f"{table}_{'_'.join(columns)}")
        with self.lock:
            self.db.execute(
                f"CREATE INDEX {name} ON {quote(table)} ({', '.join(map(quote, columns))})"
            )

    def add_column(self, table: str, column: str, sql_type: str) -> None:
        with self.lock:
            self.db.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {sql_type}")

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) VALUES ({marks})"
        with self.transaction():
            self.db.executemany(sql, rows)

    def insert_frame(self, table: str, frame: pl.DataFrame) -> None:
        """Insert a frame's rows (its columns named as the table's), in order, at once.

        Binding a million rows' values one at a time from Python costs more than all else
        in seeding: the ADBC SQLite driver writes the Arrow columns to a staging database
        in native code, and SQLite copies the rows from there (values keep their types:
        the same rows as ``insert_many`` would store)."""
        if frame.is_empty():
            return
        columns = ", ".join(map(quote, frame.columns))
        with tempfile.TemporaryDirectory(prefix="partner-kpi-load-") as folder:
            path = str(Path(folder) / "rows.db")
            with adbc_sqlite.connect(path) as staging, staging.cursor() as cursor:
                # in slices: only a slice at a time is copied into Arrow's layout
                for n, part in enumerate(frame.iter_slices(STAGING_SLICE_ROWS)):
                    arrow = part.to_arrow()
                    if n:
                        cursor.adbc_ingest(STAGING_TABLE, arrow, mode="append")
                    else:
                        cursor.adbc_ingest(STAGING_TABLE, arrow, mode="create")
                staging.commit()
            with self.lock:
                self.db.execute("ATTACH DATABASE ? AS staging", (path,))
                try:
                    with self.transaction():
                        self.db.execute(
                            f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} "
                            f"FROM staging.{STAGING_TABLE} ORDER BY rowid"
                        )
                finally:
                    self.db.execute("DETACH DATABASE staging")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        with self.lock:
            return self.db.execute(sql, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: the block's statements commit together or not at all.

        Nests: an inner block is a savepoint, so a record written inside an
        allOrNone batch is undone with the batch.
        """
        with self.lock:
            depth = self._depth
            name = f"sp{depth}"
            self.db.execute("BEGIN" if depth == 0 else f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK" if depth == 0 else f"ROLLBACK TO {name}")
                if depth:
                    self.db.execute(f"RELEASE {name}")
                raise
            finally:
                self._depth -= 1
            self.db.execute("COMMIT" if depth == 0 else f"RELEASE {name}")

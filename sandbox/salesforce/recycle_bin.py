"""The org's clock and its Recycle Bin: deleted records kept 15 days, then gone for good.

Salesforce: "The Recycle Bin lets you view and restore recently deleted records for 15
days before they're permanently deleted", and an admin may empty it sooner
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm).
While a record is in the bin queryAll returns it with ``IsDeleted = true``; once purged
no query returns it. Tests move the org's clock (``POST /__sandbox/salesforce/clock``)
to let the days pass, or empty the bin at once
(``POST /__sandbox/salesforce/empty-recycle-bin``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sandbox.store import SqlStore, quote, sf_datetime

RETENTION_DAYS = 15


@dataclass
class OrgClock:
    """Now, ``offset_ms`` ahead of the process clock; the org's stamps and ``Date`` read it."""

    offset_ms: int = 0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(milliseconds=self.offset_ms)

    def advance(self, ms: int) -> None:
        """Move the clock ``ms`` forward (never back: stamps already given stay in the past)."""
        if ms < 0:
            raise ValueError("the org's clock only moves forward")
        self.offset_ms += ms


def purge(store: SqlStore, tables: Iterable[str], before: datetime | None) -> int:
    """Delete for good the records deleted before ``before`` (None: every deleted one),
    as the bin's expiry or an admin's emptying does; how many records went."""
    gone = 0
    with store.transaction() as db:
        for table in tables:
            where = f"{quote('IsDeleted')} = 1"
            params: tuple[str, ...] = ()
            if before is not None:
                # a deleted record's SystemModstamp is its deletion; stamps compare as text
                where += f" AND {quote('SystemModstamp')} < ?"
                params = (sf_datetime(before),)
            gone += db.execute(f"DELETE FROM {quote(table)} WHERE {where}", params).rowcount
    return gone


def expired_before(now: datetime) -> datetime:
    """Records deleted before this moment have left the bin."""
    return now - timedelta(days=RETENTION_DAYS)

"""How far CRM search trails writes: HubSpot's search index is eventually consistent.

A record written at ``t`` with a lag of ``L`` ms is left out of search results (and
their ``total``) until the portal's clock reaches ``t + L``; list, get and batch
reads see it at once, as in HubSpot. Each write takes the lag in force when it is
made, so writes under different lags are indexed out of order, as HubSpot's are.
(HubSpot may show a lagging record's previous version instead; for a read filtered
on ``hs_lastmodifieddate`` since its last run, the two are the same.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.hubspot.objects import ID_COLUMN, ObjectType
from sandbox.store import SqlStore, quote

PENDING = "hs_search_pending"


class SearchIndex:
    """Records not yet searchable, and when each becomes so."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        store.execute(
            f"CREATE TABLE {PENDING} (object_type TEXT NOT NULL, object_id INTEGER NOT NULL, "
            "visible_at INTEGER NOT NULL, PRIMARY KEY (object_type, object_id)) WITHOUT ROWID"
        )

    def written(self, kind: ObjectType, ids: Iterable[int], now: int, lag_ms: float) -> None:
        """Records written at ``now``: searchable ``lag_ms`` later (at once for 0)."""
        rows = [(kind.name, record_id) for record_id in ids]
        with self.store.transaction() as db:
            db.execute(f"DELETE FROM {PENDING} WHERE visible_at <= ?", (now,))
            if lag_ms > 0:
                visible_at = now + int(lag_ms)
                db.executemany(
                    f"INSERT OR REPLACE INTO {PENDING} VALUES (?, ?, ?)",
                    [(*row, visible_at) for row in rows],
                )
            else:
                db.executemany(
                    f"DELETE FROM {PENDING} WHERE object_type = ? AND object_id = ?", rows
                )

    def hidden(self, kind: ObjectType, now: int) -> tuple[str, list[Any]] | None:
        """A WHERE clause leaving out the records not yet searchable (None: all are)."""
        waiting = f"FROM {PENDING} WHERE object_type = ? AND visible_at > ?"
        if not self.store.query(f"SELECT 1 {waiting} LIMIT 1", (kind.name, now)):
            return None
        return f"{quote(ID_COLUMN)} NOT IN (SELECT object_id {waiting})", [kind.name, now]

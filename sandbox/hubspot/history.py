"""Property history: what ``propertiesWithHistory`` returns.

The table holds explicit history only: seeded dealstage changes and every
value written over the API. A property that was set when its record was
imported and never changed has no rows; its history is then the one value it
has, stamped with the record's creation (source IMPORT), and that entry is
persisted before the first write so the original value is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sandbox.hubspot.values import iso_ms
from sandbox.store import SqlStore

TABLE = "hs_property_history"
COLUMNS = ("object_id", "property", "value", "timestamp", "source_type", "source_id")
IMPORT_SOURCE = "IMPORT"
#: A private app's writes: HubSpot records them as INTEGRATION with the app's id.
API_SOURCE = ("INTEGRATION", "1790623")

HistoryRow = tuple[int, str, str, int, str, str]


class HistoryStore:
    """Reads and appends property history entries."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        store.execute(
            f"CREATE TABLE {TABLE} (object_id INTEGER NOT NULL, property TEXT NOT NULL, "
            "value TEXT, timestamp INTEGER NOT NULL, source_type TEXT NOT NULL, "
            "source_id TEXT)"
        )

    def create_indexes(self) -> None:
        """The lookup index (built after seeding: a bulk load is faster without it)."""
        self.store.create_index(TABLE, ["object_id", "property", "timestamp"])

    def insert(self, rows: Iterable[HistoryRow]) -> None:
        self.store.insert_many(TABLE, COLUMNS, rows)

    def entries(
        self, object_ids: Sequence[int], properties: Sequence[str]
    ) -> dict[tuple[int, str], list[dict[str, Any]]]:
        """Entries per (object id, property), newest first."""
        if not object_ids or not properties:
            return {}
        found: dict[tuple[int, str], list[dict[str, Any]]] = {}
        id_marks = ", ".join("?" for _ in object_ids)
        name_marks = ", ".join("?" for _ in properties)
        rows = self.store.query(
            f"SELECT object_id, property, value, timestamp, source_type, source_id FROM {TABLE} "
            f"WHERE object_id IN ({id_marks}) AND property IN ({name_marks}) "
            "ORDER BY object_id, property, timestamp DESC, rowid DESC",
            [*object_ids, *properties],
        )
        for object_id, name, value, timestamp, source_type, source_id in rows:
            found.setdefault((object_id, name), []).append(
                entry(value, timestamp, source_type, source_id)
            )
        return found

    def has_entries(self, object_id: int, properties: Sequence[str]) -> set[str]:
        """Which of the properties already have history rows for the object."""
        if not properties:
            return set()
        marks = ", ".join("?" for _ in properties)
        rows = self.store.query(
            f"SELECT DISTINCT property FROM {TABLE} WHERE object_id = ? AND property IN ({marks})",
            [object_id, *properties],
        )
        return {row[0] for row in rows}


def entry(
    value: str | None, timestamp: int, source_type: str, source_id: str | None
) -> dict[str, Any]:
    """One ValueWithTimestamp."""
    body: dict[str, Any] = {
        "value": "" if value is None else value,
        "timestamp": iso_ms(timestamp),
        "sourceType": source_type,
    }
    if source_id:
        body["sourceId"] = source_id
        if source_id.startswith("userId:") and source_id[7:].isdigit():
            body["updatedByUserId"] = int(source_id[7:])
    return body

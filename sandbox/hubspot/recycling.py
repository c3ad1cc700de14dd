"""The recycling bin: archived records kept 90 days, restorable with their associations.

HubSpot's API reference for deleting a record: "Deleted contacts can be restored within
90 days of deletion" (developers.hubspot.com, CRM objects, delete); the same holds for
companies and deals. Until then an archived record is listed with ``archived=true``
and a restore brings it back with its associations; after that it is deleted for good
and no read returns it. The associations an archive takes away are kept here, each
restored once both its records are live again; so are the links of the activity objects
(``links``), whichever side is archived.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sandbox.http import DAY_MS
from sandbox.hubspot.associations import TABLE as ASSOCIATIONS_TABLE
from sandbox.hubspot.history import TABLE as HISTORY_TABLE
from sandbox.hubspot.links import LinkStore
from sandbox.hubspot.objects import (
    ARCHIVED_AT_COLUMN,
    ARCHIVED_COLUMN,
    COMPANIES,
    DEALS,
    ID_COLUMN,
    OBJECT_TYPES,
    ObjectType,
)
from sandbox.store import SqlStore, quote

RETENTION_DAYS = 90
RETENTION_MS = RETENTION_DAYS * DAY_MS
KEPT = "hs_archived_associations"


def _columns(kind: ObjectType) -> tuple[str, str]:
    """(this kind's association column, the other side's)."""
    return ("deal_id", "company_id") if kind is DEALS else ("company_id", "deal_id")


class RecyclingBin:
    """Archive, restore and purge on the object tables, keeping associations aside."""

    def __init__(self, store: SqlStore, links: LinkStore) -> None:
        self.store = store
        self.links = links
        store.execute(
            f"CREATE TABLE {KEPT} (deal_id INTEGER NOT NULL, company_id INTEGER NOT NULL, "
            "types TEXT NOT NULL, PRIMARY KEY (deal_id, company_id)) WITHOUT ROWID"
        )

    def archive(self, kind: ObjectType, record_id: int, now: int) -> bool:
        """Archive a live record at ``now``; False when no live record has the id."""
        mine, _ = _columns(kind)
        with self.store.transaction() as db:
            changed = db.execute(
                f"UPDATE {quote(kind.table)} SET {quote(ARCHIVED_COLUMN)} = 1, "
                f"{quote(ARCHIVED_AT_COLUMN)} = ?, {quote(kind.modified_column)} = ? "
                f"WHERE {quote(ID_COLUMN)} = ? AND {quote(ARCHIVED_COLUMN)} = 0",
                (now, now, record_id),
            ).rowcount
            if changed and kind in (DEALS, COMPANIES):
                db.execute(
                    f"INSERT OR REPLACE INTO {KEPT} SELECT deal_id, company_id, types "
                    f"FROM {ASSOCIATIONS_TABLE} WHERE {mine} = ?",
                    (record_id,),
                )
                db.execute(f"DELETE FROM {ASSOCIATIONS_TABLE} WHERE {mine} = ?", (record_id,))
            if changed:
                self.links.archive(kind, record_id, db)
        return bool(changed)

    def restore(self, kind: ObjectType, record_id: int, now: int) -> bool:
        """Bring an archived record back (modified ``now``) with the associations whose
        other record is live; False when the bin does not hold it (never archived, or
        purged)."""
        mine, theirs = _columns(kind)
        other = COMPANIES if kind is DEALS else DEALS
        with self.store.transaction() as db:
            changed = db.execute(
                f"UPDATE {quote(kind.table)} SET {quote(ARCHIVED_COLUMN)} = 0, "
                f"{quote(ARCHIVED_AT_COLUMN)} = NULL, {quote(kind.modified_column)} = ? "
                f"WHERE {quote(ID_COLUMN)} = ? AND {quote(ARCHIVED_COLUMN)} = 1",
                (now, record_id),
            ).rowcount
            if changed and kind in (DEALS, COMPANIES):
                live = (
                    f"{mine} = ? AND {theirs} IN (SELECT {quote(ID_COLUMN)} FROM "
                    f"{quote(other.table)} WHERE {quote(ARCHIVED_COLUMN)} = 0)"
                )
                db.execute(
                    f"INSERT OR REPLACE INTO {ASSOCIATIONS_TABLE} SELECT deal_id, company_id, "
                    f"types FROM {KEPT} WHERE {live}",
                    (record_id,),
                )
                db.execute(f"DELETE FROM {KEPT} WHERE {live}", (record_id,))
            if changed:
                self.links.restore(
                    kind, record_id, db, lambda name, other_id: _live(db, name, other_id)
                )
        return bool(changed)

    def purge(self, kinds: Sequence[ObjectType], now: int) -> int:
        """Delete for good every record archived more than 90 days before ``now``, with its
        kept associations and its property history; how many records went."""
        gone = 0
        with self.store.transaction() as db:
            for kind in kinds:
                mine, _ = _columns(kind)
                expired = (
                    f"SELECT {quote(ID_COLUMN)} FROM {quote(kind.table)} WHERE "
                    f"{quote(ARCHIVED_COLUMN)} = 1 AND {quote(ARCHIVED_AT_COLUMN)} < ?"
                )
                cutoff = (now - RETENTION_MS,)
                if kind in (DEALS, COMPANIES):
                    db.execute(f"DELETE FROM {KEPT} WHERE {mine} IN ({expired})", cutoff)
                self.links.purge(kind, expired, cutoff, db)
                # every object type's ids come from a range of its own: an id names one record
                db.execute(f"DELETE FROM {HISTORY_TABLE} WHERE object_id IN ({expired})", cutoff)
                gone += db.execute(
                    f"DELETE FROM {quote(kind.table)} WHERE {quote(ID_COLUMN)} IN ({expired})",
                    cutoff,
                ).rowcount
        return gone


def _live(db: Any, type_name: str, record_id: int) -> bool:
    """Whether a record of the named type exists and is not archived."""
    kind = next(k for k in OBJECT_TYPES if k.name == type_name)
    row = db.execute(
        f"SELECT 1 FROM {quote(kind.table)} WHERE {quote(ID_COLUMN)} = ? "
        f"AND {quote(ARCHIVED_COLUMN)} = 0",
        (record_id,),
    ).fetchone()
    return row is not None

"""Associations of the activity objects (leads, quotes, tickets, calls, emails, line items).

Deals↔companies live in ``associations`` (the v3 and v4 reads of the existing API);
every other pair the portal holds lives here, one row per associated pair, stored
from its activity side (``a``) with the pair's a→b type ids; the b→a ids are their
inverses. Every labelled association also carries the unlabelled type, as in HubSpot.

The type ids are HubSpot's defaults where it publishes them (e.g. call→deal 206 /
deal→call 205, line item→deal 20 / 19, quote→deal 64 / 63, ticket→company 339 / 340
and Primary 26 / 25, ticket→call 219 / 220, ticket→email 223 / 224, lead→company 610);
company→lead and lead↔deal are the sandbox's own numbers, and the partner label on
leads and their contacts (``Reseller``, USER_DEFINED) is the portal's, as a custom label
is in every portal. Lead→contact Primary is 578 (a lead "must be associated with an
existing contact"), contact→company 279 / 280, contact→deal 4 / 3. The connector
reads them from the labels endpoint, never from this list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.errors import validation_error
from sandbox.hubspot.objects import (
    CALLS,
    COMPANIES,
    CONTACTS,
    DEALS,
    EMAILS,
    LEADS,
    LINE_ITEMS,
    QUOTES,
    TICKETS,
    ObjectType,
)
from sandbox.store import SqlStore

TABLE = "hs_links"
KEPT = "hs_archived_links"
COLUMNS = ("a_type", "a_id", "b_type", "b_id", "types")


@dataclass(frozen=True)
class LinkLabel:
    """An association type of a pair: its a→b and b→a type ids, category and label."""

    category: str
    forward: int
    backward: int
    label: str | None = None

    def spec(self, forward: bool) -> dict[str, Any]:
        return {
            "category": self.category,
            "typeId": self.forward if forward else self.backward,
            "label": self.label,
        }


@dataclass(frozen=True)
class Pair:
    """Two object types that may be associated, and the association types between them."""

    a: ObjectType
    b: ObjectType
    labels: tuple[LinkLabel, ...]

    @property
    def unlabeled(self) -> LinkLabel:
        return self.labels[0]

    def label(self, name: str) -> LinkLabel:
        return next(label for label in self.labels if label.label == name)

    def encode(self, labels: Sequence[LinkLabel]) -> str:
        """The stored form of a row's labels (their a→b type ids)."""
        return ",".join(str(label.forward) for label in labels)

    def decode(self, text: str) -> list[LinkLabel]:
        by_id = {label.forward: label for label in self.labels}
        return [by_id[int(part)] for part in text.split(",") if part]


def _unlabeled(forward: int, backward: int) -> LinkLabel:
    return LinkLabel("HUBSPOT_DEFINED", forward, backward)


RESELLER_LABEL = "Reseller"
PRIMARY_LABEL = "Primary"
PAIRS = (
    Pair(LEADS, COMPANIES, (_unlabeled(610, 611),
                            LinkLabel("USER_DEFINED", 317, 318, RESELLER_LABEL))),
    Pair(LEADS, DEALS, (_unlabeled(583, 584),)),
    Pair(LEADS, CONTACTS, (_unlabeled(608, 609),
                           LinkLabel("HUBSPOT_DEFINED", 578, 579, PRIMARY_LABEL))),
    Pair(CONTACTS, COMPANIES, (_unlabeled(279, 280),
                               LinkLabel("USER_DEFINED", 319, 320, RESELLER_LABEL))),
    Pair(CONTACTS, DEALS, (_unlabeled(4, 3),)),
    Pair(QUOTES, DEALS, (_unlabeled(64, 63),)),
    Pair(TICKETS, COMPANIES, (_unlabeled(339, 340),
                              LinkLabel("HUBSPOT_DEFINED", 26, 25, PRIMARY_LABEL))),
    Pair(TICKETS, CALLS, (_unlabeled(219, 220),)),
    Pair(TICKETS, EMAILS, (_unlabeled(223, 224),)),
    Pair(CALLS, DEALS, (_unlabeled(206, 205),)),
    Pair(LINE_ITEMS, DEALS, (_unlabeled(20, 19),)),
)  # fmt: skip
_PAIRS = {(pair.a, pair.b): pair for pair in PAIRS}


def pair_of(from_type: ObjectType, to_type: ObjectType) -> tuple[Pair, bool] | None:
    """The pair of two types and whether ``from_type`` is its a side (None: no such pair)."""
    if (from_type, to_type) in _PAIRS:
        return _PAIRS[(from_type, to_type)], True
    if (to_type, from_type) in _PAIRS:
        return _PAIRS[(to_type, from_type)], False
    return None


def require_pair(from_type: ObjectType, to_type: ObjectType) -> tuple[Pair, bool]:
    found = pair_of(from_type, to_type)
    if found is None:
        raise validation_error(
            f"No association types exist between {from_type.name} and {to_type.name}"
        )
    return found


Entry = tuple[int, list[LinkLabel]]


class LinkStore:
    """The links table, its archived copy, and the reads the v4 API makes of them."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        for table in (TABLE, KEPT):
            store.execute(
                f"CREATE TABLE {table} (a_type TEXT NOT NULL, a_id INTEGER NOT NULL, "
                "b_type TEXT NOT NULL, b_id INTEGER NOT NULL, types TEXT NOT NULL, "
                "PRIMARY KEY (a_type, a_id, b_type, b_id)) WITHOUT ROWID"
            )

    def create_indexes(self) -> None:
        """The b → a index (built after seeding: a bulk load is faster without it)."""
        self.store.create_index(TABLE, ["b_type", "b_id", "a_type", "a_id"])

    def insert(self, rows: Iterable[tuple[str, int, str, int, str]]) -> None:
        self.store.insert_many(TABLE, COLUMNS, rows)

    def associated(
        self,
        from_type: ObjectType,
        to_type: ObjectType,
        from_id: int,
        *,
        after: int = 0,
        limit: int,
    ) -> list[Entry]:
        """Up to ``limit`` (+1, to tell there is more) records of ``to_type`` associated with
        one record, in id order from ``after``, with their labels."""
        pair, forward = require_pair(from_type, to_type)
        mine, theirs = ("a", "b") if forward else ("b", "a")
        rows = self.store.query(
            f"SELECT {theirs}_id, types FROM {TABLE} WHERE {mine}_type = ? AND {mine}_id = ? "
            f"AND {theirs}_type = ? AND {theirs}_id >= ? ORDER BY {theirs}_id LIMIT ?",
            (from_type.name, from_id, to_type.name, after, limit + 1),
        )
        return [(row[0], pair.decode(row[1])) for row in rows]

    @staticmethod
    def to_json(pair: Pair, forward: bool, entries: Sequence[Entry]) -> list[dict[str, Any]]:
        """v4 ``MultiAssociatedObjectWithLabel`` entries, type ids in the asked direction."""
        return [
            {"toObjectId": to_id, "associationTypes": [label.spec(forward) for label in labels]}
            for to_id, labels in entries
        ]

    # --- the recycling bin ---------------------------------------------------------------

    def archive(self, kind: ObjectType, record_id: int, db: Any) -> None:
        """Move a record's links aside (inside the caller's transaction)."""
        where = "(a_type = ? AND a_id = ?) OR (b_type = ? AND b_id = ?)"
        params = (kind.name, record_id, kind.name, record_id)
        db.execute(f"INSERT OR REPLACE INTO {KEPT} SELECT * FROM {TABLE} WHERE {where}", params)
        db.execute(f"DELETE FROM {TABLE} WHERE {where}", params)

    def restore(self, kind: ObjectType, record_id: int, db: Any, live: Any) -> None:
        """Bring back a record's kept links whose other record is live (``live(type, id)``
        is an SQL condition builder: the other side's table and id column)."""
        kept = db.execute(
            f"SELECT * FROM {KEPT} WHERE (a_type = ? AND a_id = ?) OR (b_type = ? AND b_id = ?)",
            (kind.name, record_id, kind.name, record_id),
        ).fetchall()
        for row in kept:
            a_type, a_id, b_type, b_id, _ = row
            other_type, other_id = (
                (b_type, b_id) if (a_type, a_id) == (kind.name, record_id) else (a_type, a_id)
            )
            if live(other_type, other_id):
                db.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?)", row)
                db.execute(
                    f"DELETE FROM {KEPT} WHERE a_type = ? AND a_id = ? AND b_type = ? AND b_id = ?",
                    row[:4],
                )

    def purge(self, kind: ObjectType, expired_sql: str, params: Sequence[Any], db: Any) -> None:
        """Forget the kept links of records purged for good."""
        db.execute(
            f"DELETE FROM {KEPT} WHERE (a_type = ? AND a_id IN ({expired_sql})) "
            f"OR (b_type = ? AND b_id IN ({expired_sql}))",
            (kind.name, *params, kind.name, *params),
        )

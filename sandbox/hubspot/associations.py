"""Deal↔company associations and their labels (the v4 associations API).

One row per associated (deal, company) pair holds the pair's deal→company
type ids; the company→deal ids are their inverses. Every labelled association
also carries the unlabelled type, as in HubSpot. Labels: HUBSPOT_DEFINED
unlabelled (341/342) and Primary (5/6), and the portal's USER_DEFINED
"Reseller" that ties a deal to its partner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.errors import validation_error
from sandbox.hubspot.objects import COMPANIES, DEALS, ObjectType
from sandbox.store import SqlStore

TABLE = "hs_associations"
#: Maximum inputs of a v4 batch read (HubSpot changelog, effective 2025-02-10).
BATCH_READ_LIMIT = 1000
#: Associated records per from-object in one answer before paging.
PAGE_SIZE = 500


@dataclass(frozen=True)
class AssociationLabel:
    """An association type between deals and companies, in both directions."""

    category: str
    deal_to_company: int
    company_to_deal: int
    label: str | None
    v3_deal_to_company: str
    v3_company_to_deal: str

    def type_id(self, from_type: ObjectType) -> int:
        return self.deal_to_company if from_type is DEALS else self.company_to_deal

    def spec(self, from_type: ObjectType) -> dict[str, Any]:
        return {"category": self.category, "typeId": self.type_id(from_type), "label": self.label}

    def v3_name(self, from_type: ObjectType) -> str:
        return self.v3_deal_to_company if from_type is DEALS else self.v3_company_to_deal


UNLABELED = AssociationLabel(
    "HUBSPOT_DEFINED", 341, 342, None, "deal_to_company_unlabeled", "company_to_deal_unlabeled"
)
PRIMARY = AssociationLabel("HUBSPOT_DEFINED", 5, 6, "Primary", "deal_to_company", "company_to_deal")
RESELLER = AssociationLabel("USER_DEFINED", 214, 215, "Reseller", "reseller", "reseller")
LABELS = (UNLABELED, PRIMARY, RESELLER)
_BY_DEAL_TYPE = {label.deal_to_company: label for label in LABELS}


def pair_types(from_type: ObjectType, to_type: ObjectType) -> None:
    """Refuse any pair but deals↔companies (the only objects the portal holds)."""
    if {from_type, to_type} != {DEALS, COMPANIES}:
        raise validation_error(
            f"No association types exist between {from_type.name} and {to_type.name}"
        )


def encode(labels: Sequence[AssociationLabel]) -> str:
    """The stored form of a pair's labels (their deal→company type ids)."""
    return ",".join(str(label.deal_to_company) for label in labels)


def decode(text: str) -> list[AssociationLabel]:
    return [_BY_DEAL_TYPE[int(part)] for part in text.split(",") if part]


class AssociationStore:
    """The association table and the reads the v3 and v4 APIs make of it."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        store.execute(
            f"CREATE TABLE {TABLE} (deal_id INTEGER NOT NULL, company_id INTEGER NOT NULL, "
            "types TEXT NOT NULL, PRIMARY KEY (deal_id, company_id)) WITHOUT ROWID"
        )

    def create_indexes(self) -> None:
        """The company → deal index (built after seeding: a bulk load is faster without it)."""
        self.store.create_index(TABLE, ["company_id", "deal_id"])

    def insert(self, rows: Iterable[tuple[int, int, str]]) -> None:
        self.store.insert_many(TABLE, ("deal_id", "company_id", "types"), rows)

    def _columns(self, from_type: ObjectType) -> tuple[str, str]:
        return ("deal_id", "company_id") if from_type is DEALS else ("company_id", "deal_id")

    def associated(
        self, from_type: ObjectType, from_ids: Sequence[int], *, after: int = 0,
        limit: int = PAGE_SIZE,
    ) -> dict[int, list[tuple[int, list[AssociationLabel]]]]:  # fmt: skip
        """Per from-id, up to ``limit`` (+1, to tell there is more) associated ids and labels,
        in id order, starting at ``after``."""
        if not from_ids:
            return {}
        mine, theirs = self._columns(from_type)
        found: dict[int, list[tuple[int, list[AssociationLabel]]]] = {}
        for from_id in from_ids:
            rows = self.store.query(
                f"SELECT {theirs}, types FROM {TABLE} WHERE {mine} = ? AND {theirs} >= ? "
                f"ORDER BY {theirs} LIMIT ?",
                (from_id, after, limit + 1),
            )
            if rows:
                found[from_id] = [(row[0], decode(row[1])) for row in rows]
        return found

    def to_json(
        self, from_type: ObjectType, entries: Sequence[tuple[int, list[AssociationLabel]]]
    ) -> list[dict[str, Any]]:
        """v4 ``MultiAssociatedObjectWithLabel`` entries."""
        return [
            {
                "toObjectId": to_id,
                "associationTypes": [label.spec(from_type) for label in labels],
            }
            for to_id, labels in entries
        ]

    def v3_json(
        self, from_type: ObjectType, entries: Sequence[tuple[int, list[AssociationLabel]]]
    ) -> list[dict[str, str]]:
        """v3 ``AssociatedId`` entries: one per associated id and association type."""
        return [
            {"id": str(to_id), "type": label.v3_name(from_type)}
            for to_id, labels in entries
            for label in labels
        ]

"""Object tables and how their rows become HubSpot objects (SimplePublicObject JSON).

One table per object type, one column per property, the record id as the
INTEGER PRIMARY KEY (so id order is the table's order and keyset paging is a
range scan). Reads select only the columns a request asks for and render only
the rows of one page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot.associations import PAGE_SIZE, AssociationStore
from sandbox.hubspot.errors import HubSpotApiError
from sandbox.hubspot.history import IMPORT_SOURCE, HistoryStore, entry
from sandbox.hubspot.objects import (
    ARCHIVED_AT_COLUMN,
    ARCHIVED_COLUMN,
    COMPANIES,
    DEALS,
    ID_COLUMN,
    ObjectType,
    resolve_object_type,
)
from sandbox.hubspot.properties import HsProperty, PropertyRegistry
from sandbox.hubspot.values import iso_ms, to_wire
from sandbox.store import SqlStore, quote

Row = tuple[Any, ...]


@dataclass(frozen=True)
class ReadSpec:
    """What a read returns: properties, properties with history, associated object types."""

    properties: list[HsProperty]
    history: list[HsProperty] = field(default_factory=list)
    associations: list[ObjectType] = field(default_factory=list)


class ObjectTable:
    """One object type's records: its table, columns and reads."""

    def __init__(
        self, store: SqlStore, object_type: ObjectType, registry: PropertyRegistry
    ) -> None:
        self.store = store
        self.object_type = object_type
        self.registry = registry
        self.table = quote(object_type.table)
        #: the leading columns of every read, before the requested properties
        self.lead = (ID_COLUMN, "createdate", object_type.modified_column, ARCHIVED_COLUMN,
                     ARCHIVED_AT_COLUMN)  # fmt: skip

    def create(self) -> None:
        """The table, with a column per registered property."""
        columns = [f"{quote(ID_COLUMN)} INTEGER PRIMARY KEY"]
        columns += [
            f"{quote(p.name)} {p.sql_type}"
            for p in self.registry.all(self.object_type.name)
            if p.name != ID_COLUMN
        ]
        columns += [f"{quote(ARCHIVED_COLUMN)} INTEGER NOT NULL DEFAULT 0",
                    f"{quote(ARCHIVED_AT_COLUMN)} INTEGER"]  # fmt: skip
        self.store.execute(f"CREATE TABLE {self.table} ({', '.join(columns)})")

    def create_indexes(self, columns: Sequence[str]) -> None:
        """Indexes on the columns searches sort and range-filter by (built after seeding).
        Each also holds the archived flag, so counting live matches never reads the table."""
        for column in columns:
            self.store.create_index(self.object_type.table, [column, ARCHIVED_COLUMN])

    def add_column(self, prop: HsProperty) -> None:
        self.store.add_column(self.object_type.table, prop.name, prop.sql_type)

    def insert(self, columns: Sequence[str], rows: Any) -> None:
        self.store.insert_many(self.object_type.table, columns, rows)

    # --- what a request asks for --------------------------------------------------------

    def spec(
        self,
        properties: Sequence[str] | None,
        history: Sequence[str] = (),
        associations: Sequence[str] = (),
    ) -> ReadSpec:
        """The properties to return: the requested ones that exist (unknown names are
        ignored, as HubSpot does) plus the system ones; the defaults when none are asked."""
        name = self.object_type.name
        wanted = (
            [*properties, *self.object_type.system_properties]
            if properties
            else self.object_type.default_properties
        )
        chosen = [p for n in dict.fromkeys(wanted) if (p := self.registry.get(name, n))]
        with_history = [p for n in dict.fromkeys(history) if (p := self.registry.get(name, n))]
        associated: list[ObjectType] = []
        for other in dict.fromkeys(associations):
            try:
                kind = resolve_object_type(other)
            except HubSpotApiError:
                continue  # unknown association types are ignored, as HubSpot documents
            # the v3 ``associations`` of a read: deals↔companies (the objects of the
            # activity pairs are read through the v4 API, see ``links``)
            if {kind, self.object_type} == {DEALS, COMPANIES}:
                associated.append(kind)
        return ReadSpec(chosen, with_history, associated)

    def select(self, spec: ReadSpec) -> str:
        """SELECT of the lead columns and the spec's properties (history ones included)."""
        names = [p.name for p in self._columns(spec)]
        return f"SELECT {', '.join(quote(c) for c in (*self.lead, *names))} FROM {self.table}"

    @staticmethod
    def _columns(spec: ReadSpec) -> list[HsProperty]:
        seen = {p.name for p in spec.properties}
        return [*spec.properties, *(p for p in spec.history if p.name not in seen)]

    # --- rows ------------------------------------------------------------------------------

    def rows_by_id(
        self, spec: ReadSpec, ids: Sequence[int], *, archived: bool | None
    ) -> dict[int, Row]:
        """Rows of the given ids (archived: True only archived, False only live, None both)."""
        found: dict[int, Row] = {}
        where = "" if archived is None else f" AND {quote(ARCHIVED_COLUMN)} = {int(archived)}"
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ", ".join("?" for _ in chunk)
            sql = f"{self.select(spec)} WHERE {quote(ID_COLUMN)} IN ({marks}){where}"
            for row in self.store.query(sql, chunk):
                found[row[0]] = row
        return found

    def ids_by_value(self, prop: HsProperty, values: Sequence[str]) -> dict[str, int]:
        """Record ids by a unique property's value (idProperty lookups); live records only."""
        found: dict[str, int] = {}
        for value in values:
            rows = self.store.query(
                f"SELECT {quote(ID_COLUMN)} FROM {self.table} WHERE {quote(prop.name)} = ? "
                f"AND {quote(ARCHIVED_COLUMN)} = 0 LIMIT 1",
                (value,),
            )
            if rows:
                found[value] = rows[0][0]
        return found

    # --- rendering ----------------------------------------------------------------------------

    def render(
        self,
        rows: Sequence[Row],
        spec: ReadSpec,
        history: HistoryStore,
        associations: AssociationStore | None = None,
    ) -> list[dict[str, Any]]:
        """SimplePublicObject(WithAssociations) JSON for rows selected with ``select(spec)``."""
        columns = self._columns(spec)
        position = {p.name: i for i, p in enumerate(columns, start=len(self.lead))}
        ids = [row[0] for row in rows]
        past = history.entries(ids, [p.name for p in spec.history]) if spec.history else {}
        linked = {
            kind: associations.associated(self.object_type, ids)
            for kind in spec.associations
            if associations is not None
        }
        objects: list[dict[str, Any]] = []
        for row in rows:
            record_id, created, modified, archived, archived_at = row[:5]
            obj: dict[str, Any] = {
                "id": str(record_id),
                "properties": {
                    p.name: to_wire(p.type, row[position[p.name]]) for p in spec.properties
                },
                "createdAt": iso_ms(created),
                "updatedAt": iso_ms(modified),
                "archived": bool(archived),
            }
            if archived:
                obj["archivedAt"] = iso_ms(archived_at)
            if spec.history:
                obj["propertiesWithHistory"] = {
                    p.name: past.get((record_id, p.name))
                    or _imported(to_wire(p.type, row[position[p.name]]), created)
                    for p in spec.history
                }
            if linked:
                obj["associations"] = self._associations_json(record_id, linked, associations)
            objects.append(obj)
        return objects

    def _associations_json(
        self,
        record_id: int,
        linked: dict[ObjectType, dict[int, list[Any]]],
        associations: AssociationStore | None,
    ) -> dict[str, Any]:
        assert associations is not None
        body: dict[str, Any] = {}
        for kind, by_id in linked.items():
            entries = by_id.get(record_id)
            if not entries:
                continue
            collection: dict[str, Any] = {
                "results": associations.v3_json(self.object_type, entries[:PAGE_SIZE])
            }
            if len(entries) > PAGE_SIZE:
                after = str(entries[PAGE_SIZE][0])
                collection["paging"] = {
                    "next": {
                        "after": after,
                        "link": f"/crm/v4/objects/{self.object_type.name}/{record_id}"
                        f"/associations/{kind.name}?after={after}",
                    }
                }
            body[kind.name] = collection
        return body


def _imported(value: str | None, created: int) -> list[dict[str, Any]]:
    """The history of a value set at import and never changed (none when it has no value)."""
    return [] if value is None else [entry(value, created, IMPORT_SOURCE, None)]

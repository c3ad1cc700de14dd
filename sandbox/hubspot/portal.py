"""The sandbox's HubSpot portal: records, properties, pipelines, associations, and their behaviour.

HTTP lives in ``routes``; this module is the portal itself, so it can be
tested and benchmarked without a socket. Every public method takes and returns
plain values (JSON-ready dicts) and raises ``HubSpotApiError`` for what HubSpot
refuses. All of it runs under the shared store's lock, one request at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from connectors.seed import SeedDataset
from kpi_engine.frames import Activity
from sandbox.hubspot.activity_schema import activity_groups, activity_properties
from sandbox.hubspot.activity_seed import NumberedIds, seed_activity
from sandbox.hubspot.associations import (
    BATCH_READ_LIMIT,
    LABELS,
    PAGE_SIZE,
    AssociationStore,
    pair_types,
)
from sandbox.hubspot.associations import TABLE as ASSOCIATIONS
from sandbox.hubspot.clock import PortalClock
from sandbox.hubspot.errors import HubSpotApiError, batch_error, not_found, validation_error
from sandbox.hubspot.history import TABLE as HISTORY
from sandbox.hubspot.history import HistoryStore
from sandbox.hubspot.links import TABLE as LINKS
from sandbox.hubspot.links import LinkStore, pair_of
from sandbox.hubspot.objects import (
    ACTIVITY_TYPES,
    ARCHIVED_COLUMN,
    COMPANIES,
    DEALS,
    ID_COLUMN,
    LEADS,
    OBJECT_TYPES,
    TICKETS,
    ObjectType,
    resolve_object_type,
)
from sandbox.hubspot.pipelines import Pipeline, lead_pipeline, partner_pipeline, ticket_pipeline
from sandbox.hubspot.properties import (
    HsProperty,
    PropertyRegistry,
    group_from_create,
    property_from_create,
    property_from_update,
)
from sandbox.hubspot.records import ObjectTable
from sandbox.hubspot.recycling import RecyclingBin
from sandbox.hubspot.schema import (
    COMPANY_GROUPS,
    DEAL_GROUPS,
    company_properties,
    deal_properties,
)
from sandbox.hubspot.search import SearchCompiler, contains_token
from sandbox.hubspot.search_index import SearchIndex
from sandbox.hubspot.seed import SeedIds, allocate_company_ids, company_rows, seed_deals
from sandbox.hubspot.values import day_ms, iso_ms
from sandbox.hubspot.writes import BatchUpdater, PreparedInput, parse_inputs
from sandbox.store import SqlStore, quote

LIST_LIMIT = 100
LIST_DEFAULT = 10
#: Reads with propertiesWithHistory return at most 50 records a call.
HISTORY_LIMIT = 50
BATCH_READ_OBJECTS = 100
INDEXED = {
    COMPANIES: ("hs_lastmodifieddate", "createdate", "type"),
    DEALS: ("hs_lastmodifieddate", "createdate", "closedate", "dealstage"),
    **{kind: (kind.modified_column, "createdate") for kind in ACTIVITY_TYPES},
}


@dataclass(frozen=True)
class Page:
    """One page of a list: the objects and the cursor of the next page (None at the end)."""

    results: list[dict[str, Any]]
    next_after: str | None


@dataclass(frozen=True)
class BatchResult:
    """A batch answer: HTTP status (200, or 207 with errors), body, records written."""

    status: int
    body: dict[str, Any]
    written: int = 0


class HubSpotPortal:
    """One HubSpot account, seeded from a dataset, stored in the sandbox's SQLite database."""

    def __init__(
        self, store: SqlStore, dataset: SeedDataset, activity: Activity | None = None
    ) -> None:
        """``activity``: the leads, quotes, cases, calls and line items to seed (the
        dataset's own by default)."""
        self.store = store
        #: per activity stream, seed id → HubSpot id
        self.activity_ids: dict[str, NumberedIds] = {}
        self.clock = PortalClock()
        self.rates = dict(dataset.currencies.rates)
        self.id_map: dict[str, str] = {}
        # the portal's creation time is known once the deals are read (the earliest one's
        # day, 08:00); until then, configuration carries a placeholder time
        self.created_at = 0
        self.pipeline: Pipeline = partner_pipeline(dataset.stage_defs, self.created_at)
        self.activity_pipelines = self._activity_pipelines()
        self.registry = PropertyRegistry()
        self._configure(dataset)
        with store.lock:
            store.db.create_function("hs_contains_token", 2, contains_token, deterministic=True)
        self.history = HistoryStore(store)
        self.associations = AssociationStore(store)
        self.links = LinkStore(store)
        self.recycling = RecyclingBin(store, self.links)
        self.search_index = SearchIndex(store)
        self.tables = {kind: ObjectTable(store, kind, self.registry) for kind in OBJECT_TYPES}
        for table in self.tables.values():
            table.create()
        self._seed(dataset, activity if activity is not None else dataset.activity)
        for kind, table in self.tables.items():
            table.create_indexes(INDEXED[kind])
        self.history.create_indexes()
        self.associations.create_indexes()
        self.links.create_indexes()
        self._search = {kind: SearchCompiler(kind, self.registry) for kind in self.tables}
        self._updaters = {
            kind: BatchUpdater(table, self.history, self.pipeline, self.rates)
            for kind, table in self.tables.items()
        }

    def _activity_pipelines(self) -> dict[str, Pipeline]:
        return {TICKETS.name: ticket_pipeline(self.created_at),
                LEADS.name: lead_pipeline(self.created_at)}  # fmt: skip

    def _configure(
        self,
        dataset: SeedDataset,
        deal_types: Sequence[str] = (),
        lead_sources: Sequence[str] = (),
        case_types: Sequence[str] = (),
    ) -> None:
        """Property groups and definitions (again once the seeded values are known)."""
        self.registry.properties.clear()
        self.registry.groups.clear()
        for group in COMPANY_GROUPS:
            self.registry.add_group(COMPANIES.name, group)
        for group in DEAL_GROUPS:
            self.registry.add_group(DEALS.name, group)
        for prop in company_properties(dataset, self.created_at):
            self.registry.add(COMPANIES.name, prop)
        deal_props = deal_properties(
            dataset,
            self.pipeline,
            self.created_at,
            deal_types=deal_types,
            lead_sources=lead_sources,
        )
        for prop in deal_props:
            self.registry.add(DEALS.name, prop)
        for kind in ACTIVITY_TYPES:
            for group in activity_groups(kind):
                self.registry.add_group(kind.name, group)
            for prop in activity_properties(
                kind,
                self.created_at,
                pipelines=self.activity_pipelines,
                lead_sources=lead_sources,
                case_types=case_types,
            ):
                self.registry.add(kind.name, prop)

    def _seed(self, dataset: SeedDataset, seed_activity_of: Activity) -> None:
        """Deals first (as columns), then companies, stamped with the portal's time."""
        ids = SeedIds()
        allocate_company_ids(dataset, ids, self.id_map)
        deals = seed_deals(dataset, self.pipeline, self.id_map)
        self.store.insert_frame(DEALS.table, deals.deals.collect())
        self.store.insert_frame(ASSOCIATIONS, deals.associations.collect())
        self.store.insert_frame(HISTORY, deals.history.collect())
        first = deals.earliest if deals.earliest is not None else day_ms(dataset.fallback_created)
        self.created_at = first - first % 86_400_000 + 8 * 3_600_000
        self.pipeline = replace(self.pipeline, created_at=self.created_at, stages=tuple(
            replace(stage, created_at=self.created_at) for stage in self.pipeline.stages
        ))  # fmt: skip
        self.activity_pipelines = self._activity_pipelines()
        activity = seed_activity(seed_activity_of, self.id_map, self.created_at)
        for kind, frame in activity.tables.items():
            self.store.insert_frame(kind.table, frame)
        self.store.insert_frame(LINKS, activity.links_frame())
        self.store.insert_frame(HISTORY, activity.history_frame())
        self.activity_ids = activity.ids
        lead_sources = sorted({*deals.lead_sources, *activity.lead_sources})
        self._configure(dataset, sorted(deals.deal_types), lead_sources, activity.case_types)
        columns, rows = company_rows(dataset, self.id_map, self.created_at)
        self.tables[COMPANIES].insert(columns, rows)

    # --- object types ---------------------------------------------------------------------

    def table(self, name: str) -> ObjectTable:
        """The table of the object type a URL names (400 for an unknown one)."""
        return self.tables[resolve_object_type(name)]

    def record_id(self, key: str, kind: ObjectType | None = None) -> int:
        """A record id from a seed key (partner, customer or opportunity id; of an activity
        record, its stream's id) or an id."""
        for stream, ids in self.activity_ids.items():
            if kind is not None and kind.name == _TYPE_OF_STREAM[stream] and key in ids:
                return int(ids[key])
        return int(self.id_map.get(key, key))

    # --- reads ---------------------------------------------------------------------------------

    def list_objects(
        self,
        object_type: str,
        *,
        limit: int = LIST_DEFAULT,
        after: str | None = None,
        properties: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
        associations: Sequence[str] = (),
        archived: bool = False,
    ) -> Page:
        """A page of records in id order; ``after`` is the first id of the page (keyset)."""
        table = self.table(object_type)
        top = HISTORY_LIMIT if properties_with_history else LIST_LIMIT
        if not 1 <= limit <= top:
            raise validation_error(
                f"limit must be between 1 and {top}"
                + (" when propertiesWithHistory is requested" if properties_with_history else "")
                + f" (got {limit})"
            )
        start = _cursor(after)
        with self.store.lock:
            spec = table.spec(properties, properties_with_history, associations)
            rows = self.store.query(
                f"{table.select(spec)} WHERE {quote(ARCHIVED_COLUMN)} = ? "
                f"AND {quote(ID_COLUMN)} >= ? ORDER BY {quote(ID_COLUMN)} LIMIT ?",
                (int(archived), start, limit + 1),
            )
            results = table.render(rows[:limit], spec, self.history, self.associations)
        next_after = str(rows[limit][0]) if len(rows) > limit else None
        return Page(results, next_after)

    def get_object(
        self,
        object_type: str,
        object_id: str,
        *,
        properties: Sequence[str] = (),
        properties_with_history: Sequence[str] = (),
        associations: Sequence[str] = (),
        archived: bool = False,
        id_property: str | None = None,
    ) -> dict[str, Any]:
        """One record (404 when it does not exist or is not in the archived state asked)."""
        table = self.table(object_type)
        with self.store.lock:
            spec = table.spec(properties, properties_with_history, associations)
            record_id = self._lookup(table, [object_id], id_property).get(object_id)
            rows = table.rows_by_id(spec, [record_id], archived=archived) if record_id else {}
            if not rows:
                raise not_found()
            return table.render(list(rows.values()), spec, self.history, self.associations)[0]

    def batch_read(self, object_type: str, body: Any, *, archived: bool = False) -> BatchResult:
        """Records by id (or by a unique property); missing ones reported in a 207."""
        table = self.table(object_type)
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: a batch read needs inputs")
        history = _names(body.get("propertiesWithHistory"))
        inputs = parse_inputs(
            body,
            limit=HISTORY_LIMIT if history else BATCH_READ_OBJECTS,
            need_properties=False,
            unique=False,
        )
        started = self.clock.now()
        sent = list(dict.fromkeys(str(item["id"]) for item in inputs))
        with self.store.lock:
            spec = table.spec(_names(body.get("properties")), history)
            ids = self._lookup(table, sent, body.get("idProperty"))
            rows = table.rows_by_id(spec, list(ids.values()), archived=archived)
            ordered = [rows[ids[s]] for s in sent if s in ids and ids[s] in rows]
            results = table.render(ordered, spec, self.history)
        missing = [s for s in sent if s not in ids or ids[s] not in rows]
        errors = []
        if missing:
            errors.append(
                batch_error(
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {table.object_type.upper} objects, they may be deleted "
                    "or not exist. Check that ids are valid.",
                    context={"ids": missing},
                )
            )
        return _batch_result(results, errors, started, self.clock.now())

    def search(self, object_type: str, body: Any, body_chars: int = 0) -> dict[str, Any]:
        """A search page: total matches, the page's records, the next offset."""
        kind = resolve_object_type(object_type)
        table = self.tables[kind]
        with self.store.lock:
            compiled = self._search[kind].compile(body, body_chars)
            spec = table.spec(compiled.properties)
            where, params = f" WHERE {compiled.where}", list(compiled.params)
            lagging = self.search_index.hidden(kind, self.clock.now())
            if lagging is not None:
                where, params = f"{where} AND {lagging[0]}", [*params, *lagging[1]]
            (total,) = self.store.query(f"SELECT COUNT(*) FROM {table.table}{where}", params)[0]
            rows = self.store.query(
                f"{table.select(spec)}{where} ORDER BY {compiled.order_by} LIMIT ? OFFSET ?",
                [*params, compiled.limit, compiled.offset],
            )
            results = table.render(rows, spec, self.history)
        answer: dict[str, Any] = {"total": total, "results": results}
        end = compiled.offset + len(rows)
        if end < total and rows:
            answer["paging"] = {"next": {"after": str(end)}}
        return answer

    # --- writes -------------------------------------------------------------------------------

    def batch_update(
        self,
        object_type: str,
        body: Any,
        reject: Callable[[], bool] = lambda: False,
        *,
        search_lag_ms: float = 0,
    ) -> BatchResult:
        """Update records; each record succeeds or fails alone (200, or 207 with errors).
        Search sees them ``search_lag_ms`` later."""
        kind = resolve_object_type(object_type)
        table = self.tables[kind]
        inputs = parse_inputs(body)
        started = self.clock.now()
        with self.store.lock:
            prepared = self._prepare(table, inputs)
            now = max(self.clock.now(), started)
            outcome = self._updaters[kind].apply(prepared, reject, now)
            self.search_index.written(kind, outcome.written, now, search_lag_ms)
            results = self._written(table, outcome.written)
        result = _batch_result(results, outcome.errors, started, self.clock.now())
        return BatchResult(result.status, result.body, len(outcome.written))

    def update_object(
        self,
        object_type: str,
        object_id: str,
        body: Any,
        *,
        id_property: str | None = None,
        search_lag_ms: float = 0,
    ) -> dict[str, Any]:
        """PATCH one record: the updated object, or the record's error as a 400/404."""
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise validation_error("Some required fields were not set: [properties]")
        kind = resolve_object_type(object_type)
        table = self.tables[kind]
        item = {"id": object_id, "properties": body["properties"]}
        if id_property:
            item["idProperty"] = id_property
        with self.store.lock:
            prepared = self._prepare(table, [item])
            if prepared[0].record_id is None:
                raise not_found()
            now = self.clock.now()
            outcome = self._updaters[kind].apply(prepared, lambda: False, now)
            self.search_index.written(kind, outcome.written, now, search_lag_ms)
            if outcome.errors:
                error = outcome.errors[0]
                status = 404 if error["category"] == "OBJECT_NOT_FOUND" else 400
                raise HubSpotApiError(status, error["category"], error["message"])
            return self._written(table, outcome.written)[0]

    def archive(self, object_type: str, key: str) -> bool:
        """Archive (delete) a record by id or seed key; False when no live record has it.
        Its associations go with it into the recycling bin, as in HubSpot."""
        kind = self.table(object_type).object_type
        return self.recycling.archive(kind, self.record_id(key, kind), self.clock.now())

    def restore(self, object_type: str, key: str, *, search_lag_ms: float = 0) -> bool:
        """Restore an archived record with its associations, as a user does from HubSpot's
        recycling bin; False when the bin does not hold it (never archived, or purged)."""
        kind = self.table(object_type).object_type
        record_id, now = self.record_id(key, kind), self.clock.now()
        with self.store.transaction():
            restored = self.recycling.restore(kind, record_id, now)
            if restored:
                self.search_index.written(kind, [record_id], now, search_lag_ms)
        return restored

    def advance_clock(self, ms: int) -> int:
        """Let ``ms`` pass on the portal's clock; the records then purged from the bin."""
        with self.store.lock:
            self.clock.advance(ms)
            return self.recycling.purge(list(self.tables), self.clock.now())

    def _written(self, table: ObjectTable, written: dict[int, list[str]]) -> list[dict[str, Any]]:
        """The written records as HubSpot echoes them: each with the properties its input
        sent, plus the system ones."""
        names = [name for sent in written.values() for name in sent]
        system = table.object_type.system_properties
        spec = table.spec(names or list(system))
        rows = table.rows_by_id(spec, list(written), archived=False)
        results = table.render([rows[i] for i in written if i in rows], spec, self.history)
        for result, sent in zip(results, written.values(), strict=True):
            keep = {*sent, *system}
            result["properties"] = {k: v for k, v in result["properties"].items() if k in keep}
        return results

    def _prepare(self, table: ObjectTable, inputs: Sequence[dict[str, Any]]) -> list[PreparedInput]:
        id_properties = {item.get("idProperty") for item in inputs}
        prepared: list[PreparedInput] = []
        for id_property in id_properties:
            group = [item for item in inputs if item.get("idProperty") == id_property]
            ids = self._lookup(table, [str(item["id"]) for item in group], id_property)
            prepared += [
                PreparedInput(
                    str(item["id"]), ids.get(str(item["id"])), dict(item.get("properties") or {})
                )
                for item in group
            ]
        order = {str(item["id"]): n for n, item in enumerate(inputs)}
        return sorted(prepared, key=lambda p: order[p.sent_id])

    def _lookup(self, table: ObjectTable, sent: Sequence[str], id_property: Any) -> dict[str, int]:
        """Record ids of the sent ids: numeric ids, or values of a unique ``id_property``."""
        if id_property in (None, "", ID_COLUMN):
            return {s: int(s) for s in sent if s.isdigit()}
        prop = self.registry.get(table.object_type.name, str(id_property))
        if prop is None or not prop.has_unique_value:
            raise validation_error(
                f"{id_property} is not a unique identifier property of {table.object_type.name}"
            )
        return table.ids_by_value(prop, sent)

    # --- properties -----------------------------------------------------------------------

    def properties(self, object_type: str, *, archived: bool = False) -> list[dict[str, Any]]:
        kind = resolve_object_type(object_type)
        with self.store.lock:
            return [] if archived else [p.as_json() for p in self.registry.all(kind.name)]

    def property(self, object_type: str, name: str) -> dict[str, Any]:
        kind = resolve_object_type(object_type)
        with self.store.lock:
            prop = self.registry.get(kind.name, name)
        if prop is None:
            raise not_found(f"Unable to find property named {name} for object type {kind.name}")
        return prop.as_json()

    def create_property(self, object_type: str, body: Any) -> dict[str, Any]:
        """A new custom property, at once readable, writable and searchable (a new column)."""
        kind = resolve_object_type(object_type)
        with self.store.lock:
            prop = property_from_create(self.registry, kind.name, body, self.clock.now())
            self.tables[kind].add_column(prop)
            self.registry.add(kind.name, prop)
        return prop.as_json()

    def update_property(self, object_type: str, name: str, body: Any) -> dict[str, Any]:
        kind = resolve_object_type(object_type)
        with self.store.lock:
            current = self.registry.get(kind.name, name)
            if current is None:
                raise not_found(f"Unable to find property named {name} for object type {kind.name}")
            prop: HsProperty = property_from_update(
                self.registry, kind.name, current, body, self.clock.now()
            )
            self.registry.add(kind.name, prop)
        return prop.as_json()

    def groups(self, object_type: str) -> list[dict[str, Any]]:
        kind = resolve_object_type(object_type)
        with self.store.lock:
            return [g.as_json() for g in self.registry.all_groups(kind.name)]

    def group(self, object_type: str, name: str) -> dict[str, Any]:
        kind = resolve_object_type(object_type)
        with self.store.lock:
            group = self.registry.group(kind.name, name)
        if group is None:
            raise not_found(f"Unable to find property group named {name}")
        return group.as_json()

    def create_group(self, object_type: str, body: Any) -> dict[str, Any]:
        kind = resolve_object_type(object_type)
        with self.store.lock:
            group = group_from_create(self.registry, kind.name, body)
            self.registry.add_group(kind.name, group)
        return group.as_json()

    # --- pipelines ------------------------------------------------------------------------------

    def _pipeline_of(self, kind: ObjectType) -> Pipeline | None:
        return self.pipeline if kind is DEALS else self.activity_pipelines.get(kind.name)

    def pipelines(self, object_type: str) -> list[dict[str, Any]]:
        pipeline = self._pipeline_of(resolve_object_type(object_type))
        return [] if pipeline is None else [pipeline.as_json()]

    def pipeline_json(self, object_type: str, pipeline_id: str) -> dict[str, Any]:
        pipeline = self._pipeline_of(resolve_object_type(object_type))
        if pipeline is None or pipeline_id != pipeline.id:
            raise not_found(f"Unable to find pipeline {pipeline_id}")
        return pipeline.as_json()

    def stages(self, object_type: str, pipeline_id: str) -> list[dict[str, Any]]:
        pipeline = self.pipeline_json(object_type, pipeline_id)
        stages: list[dict[str, Any]] = pipeline["stages"]
        return stages

    def stage(self, object_type: str, pipeline_id: str, stage_id: str) -> dict[str, Any]:
        for stage in self.stages(object_type, pipeline_id):
            if stage["id"] == stage_id:
                return stage
        raise not_found(f"Unable to find stage {stage_id} in pipeline {pipeline_id}")

    # --- associations ---------------------------------------------------------------------------

    def association_labels(self, from_type: str, to_type: str) -> list[dict[str, Any]]:
        source, target = resolve_object_type(from_type), resolve_object_type(to_type)
        if (found := pair_of(source, target)) is not None:
            pair, forward = found
            return [label.spec(forward) for label in pair.labels]
        pair_types(source, target)
        return [label.spec(source) for label in LABELS]

    def read_associations(self, from_type: str, to_type: str, body: Any) -> BatchResult:
        """v4 batch read: per input id, its associated ids with their labels (207 for ids
        that do not exist or have no association)."""
        source, target = resolve_object_type(from_type), resolve_object_type(to_type)
        if pair_of(source, target) is None:
            pair_types(source, target)
        inputs = parse_inputs(body, limit=BATCH_READ_LIMIT, need_properties=False, unique=False)
        started = self.clock.now()
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.store.lock:
            answered: set[str] = set()
            for item in inputs:
                sent = str(item["id"])
                if sent in answered:
                    continue  # one answer per id
                answered.add(sent)
                after = _cursor(item.get("after"))
                entries = self._associated(source, target, sent, after, PAGE_SIZE)
                if not entries:
                    errors.append(
                        batch_error(
                            "OBJECT_NOT_FOUND",
                            f"No {target.singular} is associated with {source.singular} {sent}.",
                            context={"fromObjectId": [sent]},
                            sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
                        )
                    )
                    continue
                result: dict[str, Any] = {
                    "from": {"id": sent},
                    "to": self._associations_json(source, target, entries[:PAGE_SIZE]),
                }
                if len(entries) > PAGE_SIZE:
                    result["paging"] = {"next": {"after": str(entries[PAGE_SIZE][0])}}
                results.append(result)
        return _batch_result(results, errors, started, self.clock.now())

    def object_associations(
        self, from_type: str, object_id: str, to_type: str, *, after: str | None, limit: int
    ) -> Page:
        """v4 list of one record's associations, in id order."""
        source, target = resolve_object_type(from_type), resolve_object_type(to_type)
        if pair_of(source, target) is None:
            pair_types(source, target)
        if not 1 <= limit <= PAGE_SIZE:
            raise validation_error(f"limit must be between 1 and {PAGE_SIZE} (got {limit})")
        if not object_id.isdigit():
            raise not_found()
        with self.store.lock:
            entries = self._associated(source, target, object_id, _cursor(after), limit)
        next_after = str(entries[limit][0]) if len(entries) > limit else None
        return Page(self._associations_json(source, target, entries[:limit]), next_after)

    def _associated(
        self, source: ObjectType, target: ObjectType, sent: str, after: int, limit: int
    ) -> list[Any]:
        """One record's associated records of ``target`` (up to ``limit`` + 1), by id."""
        if not sent.isdigit():
            return []
        if pair_of(source, target) is not None:
            return self.links.associated(source, target, int(sent), after=after, limit=limit)
        found = self.associations.associated(source, [int(sent)], after=after, limit=limit)
        return found.get(int(sent), [])

    def _associations_json(
        self, source: ObjectType, target: ObjectType, entries: Sequence[Any]
    ) -> list[dict[str, Any]]:
        if (found := pair_of(source, target)) is not None:
            pair, forward = found
            return self.links.to_json(pair, forward, entries)
        return self.associations.to_json(source, entries)


#: the object type of each activity stream's records
_TYPE_OF_STREAM = {"leads": "leads", "quotes": "quotes", "cases": "tickets", "calls": "calls",
                   "line_items": "line_items", "contacts": "contacts"}  # fmt: skip


def _cursor(after: Any) -> int:
    """A keyset cursor (an id) from ``after``; 0 when absent."""
    if after in (None, ""):
        return 0
    text = str(after)
    if not text.isdigit():
        raise validation_error(f"after must be a paging cursor returned by HubSpot (got {text!r})")
    return int(text)


def _names(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [n for n in raw.split(",") if n]
    if isinstance(raw, list):
        return [str(n) for n in raw if n]
    raise validation_error("property names must be a list of strings")


def _batch_result(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: int, completed: int
) -> BatchResult:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(max(completed, started)),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return BatchResult(207, body)
    return BatchResult(200, body)

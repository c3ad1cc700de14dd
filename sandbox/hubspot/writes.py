"""Batch updates: validate each record on its own, write the good ones, report the rest.

A request is refused as a whole (400) only when it is malformed: no inputs, more
than 100 of them, an input without id or properties, a duplicated id. Past
that, each record stands alone: an unknown property (PROPERTY_DOESNT_EXIST), a
read-only one (READ_ONLY_VALUE) or a value its type refuses (INVALID_FLOAT,
INVALID_OPTION…) fails that record only, as does a missing record or an
injected ``reject_records`` fault; the others are written in one transaction.
Writes bump hs_lastmodifieddate, append property history and keep the deal
fields HubSpot derives (closed/won flags, probability, stage dates, amount in
the home currency) consistent with what was written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot.errors import batch_error, validation_error
from sandbox.hubspot.history import API_SOURCE, IMPORT_SOURCE, HistoryRow, HistoryStore
from sandbox.hubspot.objects import ARCHIVED_COLUMN, DEALS, ID_COLUMN
from sandbox.hubspot.pipelines import Pipeline
from sandbox.hubspot.properties import HsProperty
from sandbox.hubspot.records import ObjectTable, ReadSpec
from sandbox.hubspot.values import InvalidValue, to_stored, to_wire
from sandbox.store import quote

BATCH_LIMIT = 100


@dataclass
class PreparedInput:
    """One input of a batch: its id as sent, the record id it names, its properties."""

    sent_id: str
    record_id: int | None
    properties: dict[str, Any]


@dataclass
class BatchOutcome:
    """What a batch update did: the records written and one error per failed record."""

    #: record id → the names of the properties its input sent, in input order
    written: dict[int, list[str]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def parse_inputs(
    body: Any, *, limit: int = BATCH_LIMIT, need_properties: bool = True, unique: bool = True
) -> list[dict[str, Any]]:
    """The ``inputs`` of a batch request, or a 400 for a malformed or oversized batch
    (or, when ``unique``, one naming a record twice: a write must be unambiguous)."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise validation_error("Invalid input JSON: a batch needs an inputs list")
    inputs: list[dict[str, Any]] = body["inputs"]
    if len(inputs) > limit:
        raise validation_error(f"Batch input limit is {limit}; {len(inputs)} inputs were sent.")
    for item in inputs:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise validation_error("Some required fields were not set: [id]")
        if need_properties and not isinstance(item.get("properties"), dict):
            raise validation_error("Some required fields were not set: [properties]")
    counts = Counter(str(item["id"]) for item in inputs)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if unique and duplicates:
        raise validation_error(
            f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique",
            ids=duplicates,
        )
    return inputs


class BatchUpdater:
    """Applies batch updates to one object table."""

    def __init__(
        self,
        table: ObjectTable,
        history: HistoryStore,
        pipeline: Pipeline,
        rates: Mapping[str, float],
    ) -> None:
        self.table = table
        self.history = history
        self.pipeline = pipeline
        self.rates = rates

    def apply(
        self, inputs: Sequence[PreparedInput], reject: Callable[[], bool], now: int
    ) -> BatchOutcome:
        """Validate and write; the caller holds the store's lock."""
        outcome = BatchOutcome()
        object_type = self.table.object_type
        registry = self.table.registry
        names = sorted({n for item in inputs for n in item.properties})
        known = [p for n in names if (p := registry.get(object_type.name, n))]
        derived = self._derived_columns()
        spec = ReadSpec(properties=[*known, *(p for p in derived if p.name not in names)])
        ids = [item.record_id for item in inputs if item.record_id is not None]
        current = self.table.rows_by_id(spec, ids, archived=False)
        position = {p.name: i for i, p in enumerate(spec.properties, start=5)}
        missing: list[str] = []
        updates: list[tuple[int, dict[str, object], dict[str, object]]] = []
        for item in inputs:
            rejected = reject()
            row = current.get(item.record_id) if item.record_id is not None else None
            if row is None:
                missing.append(item.sent_id)
                continue
            values, problems = self._validate(item.properties)
            if problems:
                outcome.errors.append(_invalid_values_error(item.sent_id, problems))
                continue
            if rejected:
                outcome.errors.append(_rejected_error(item.sent_id, object_type.upper))
                continue
            old = {name: row[position[name]] for name in position}
            values.update(self._derive(values, old, now))
            updates.append((row[0], values, old))
        if missing:
            outcome.errors.insert(0, _not_found_error(object_type.upper, missing))
        self._write(updates, registry_props={p.name: p for p in spec.properties}, now=now)
        sent = {item.record_id: list(item.properties) for item in inputs}
        outcome.written = {record_id: sent[record_id] for record_id, _, _ in updates}
        return outcome

    # --- validation ---------------------------------------------------------------------

    def _validate(
        self, properties: Mapping[str, Any]
    ) -> tuple[dict[str, object], list[InvalidValue]]:
        registry = self.table.registry
        values: dict[str, object] = {}
        problems: list[InvalidValue] = []
        for name, raw in properties.items():
            prop = registry.get(self.table.object_type.name, name)
            if prop is None:
                problems.append(
                    InvalidValue("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist', name)
                )
                continue
            if prop.read_only:
                problems.append(
                    InvalidValue(
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                        name,
                    )
                )
                continue
            try:
                values[name] = to_stored(name, prop.type, raw, prop.allowed_values)
            except InvalidValue as problem:
                problems.append(problem)
        return values, problems

    # --- derived deal fields ------------------------------------------------------------------

    def _derived_columns(self) -> list[HsProperty]:
        if self.table.object_type is not DEALS:
            return []
        registry = self.table.registry
        names = ["dealstage", "amount", "deal_currency_code"]
        return [p for n in names if (p := registry.get(DEALS.name, n))]

    def _derive(
        self, values: dict[str, object], old: dict[str, object], now: int
    ) -> dict[str, object]:
        if self.table.object_type is not DEALS:
            return {}
        derived: dict[str, object] = {}
        new_stage = values.get("dealstage", old.get("dealstage"))
        if "dealstage" in values and new_stage != old.get("dealstage"):
            stage = self.pipeline.stage(str(new_stage)) if new_stage is not None else None
            derived["hs_is_closed"] = _flag(stage is not None and stage.is_closed)
            derived["hs_is_closed_won"] = _flag(stage is not None and stage.is_won)
            derived["hs_is_closed_lost"] = _flag(
                stage is not None and stage.is_closed and not stage.is_won
            )
            derived["hs_deal_stage_probability"] = None if stage is None else stage.probability
            if stage is not None:
                derived[f"hs_v2_date_entered_{stage.id}"] = now
                derived[f"hs_v2_date_exited_{stage.id}"] = None
            if old.get("dealstage") is not None:
                derived[f"hs_v2_date_exited_{old['dealstage']}"] = now
        if "amount" in values or "deal_currency_code" in values:
            amount = values.get("amount", old.get("amount"))
            currency = values.get("deal_currency_code", old.get("deal_currency_code"))
            rate = self.rates.get(str(currency)) if currency is not None else 1.0
            if isinstance(amount, (int, float)) and rate:
                derived["amount_in_home_currency"] = float(amount) / rate
            else:
                derived["amount_in_home_currency"] = None
        registry = self.table.registry
        return {k: v for k, v in derived.items() if registry.get(DEALS.name, k) is not None}

    # --- writing ---------------------------------------------------------------------------

    def _write(
        self,
        updates: Sequence[tuple[int, dict[str, object], dict[str, object]]],
        *,
        registry_props: dict[str, HsProperty],
        now: int,
    ) -> None:
        if not updates:
            return
        table = self.table
        history: list[HistoryRow] = []
        source_type, source_id = API_SOURCE
        with table.store.transaction() as db:
            for record_id, values, old in updates:
                assignments = {**values, table.object_type.modified_column: now}
                sql = (
                    f"UPDATE {table.table} SET "
                    + ", ".join(f"{quote(name)} = ?" for name in assignments)
                    + f" WHERE {quote(ID_COLUMN)} = ? AND {quote(ARCHIVED_COLUMN)} = 0"
                )
                db.execute(sql, [*assignments.values(), record_id])
                written = [n for n in values if n in registry_props]
                already = self.history.has_entries(record_id, written)
                created = db.execute(
                    f"SELECT createdate FROM {table.table} WHERE {quote(ID_COLUMN)} = ?",
                    (record_id,),
                ).fetchone()[0]
                for name in written:
                    prop = registry_props[name]
                    if name not in already and old.get(name) is not None:
                        history.append(
                            (record_id, name, str(to_wire(prop.type, old[name])), created,
                             IMPORT_SOURCE, "")
                        )  # fmt: skip
                    history.append(
                        (record_id, name, to_wire(prop.type, values[name]) or "", now,
                         source_type, source_id)
                    )  # fmt: skip
            db.executemany(
                "INSERT INTO hs_property_history (object_id, property, value, timestamp, "
                "source_type, source_id) VALUES (?, ?, ?, ?, ?, ?)",
                history,
            )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _invalid_values_error(sent_id: str, problems: Sequence[InvalidValue]) -> dict[str, Any]:
    listed = json.dumps([p.as_json() for p in problems], separators=(",", ":"))
    category = "VALIDATION_ERROR"
    return batch_error(
        category,
        f"Property values were not valid: {listed}",
        context={"ids": [sent_id]},
        errors=[
            {
                "message": p.message,
                "code": p.code,
                "context": {"propertyName": [p.property_name]},
            }
            for p in problems
        ],
    )


def _not_found_error(upper: str, ids: Sequence[str]) -> dict[str, Any]:
    return batch_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {upper} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        context={"ids": list(ids)},
    )


def _rejected_error(sent_id: str, upper: str) -> dict[str, Any]:
    return batch_error(
        "CONFLICT",
        f"The {upper} {sent_id} could not be updated: the record is locked by another "
        "process. Retry later. (sandbox fault reject_records)",
        context={"ids": [sent_id]},
        errors=[{"message": "record locked", "code": "RECORD_LOCKED"}],
    )

"""The plan: what the CRM holds in the mapped fields, what it should hold, and the difference.

A plan is built by reading the mapped fields of the target records once (the
connector's ``read_fields``) and comparing each with its new value in the
field's canonical form. It writes nothing. A record whose values all match is
left out, so a plan of an unchanged portfolio is empty and applying it makes
no write call. Stamp fields (``scored_at``) ride along with a record's other
changes and never make a change on their own.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.connector import Connector
from core.errors import ConfigError
from kpi_engine.result import ScoringResult
from writeback.spec import FieldMap, MappedField
from writeback.values import (
    Canonical,
    ScoreContext,
    canonical,
    json_value,
    output_value,
    shown,
    wire_value,
)


@dataclass(frozen=True)
class Target:
    """A record and the raw values its mapped outputs should take (by output name)."""

    record_id: str
    label: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class FieldChange:
    """One field of one record: what the CRM holds and what is written, both canonical."""

    field: MappedField
    old: Canonical
    new: Canonical

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def wire(self) -> Any:
        """The new value as the connector's write primitive takes it."""
        return wire_value(self.field.kind, self.new, scale=self.field.scale)


@dataclass(frozen=True)
class RecordPlan:
    """A record to update: the fields that change (and the stamps that go with them)."""

    record_id: str
    label: str
    changes: tuple[FieldChange, ...]

    def values(self) -> dict[str, Any]:
        """Field name → value, as ``update_records`` takes a record."""
        return {change.field.name: change.wire() for change in self.changes}

    def change_of(self, output: str) -> FieldChange | None:
        return next((c for c in self.changes if c.field.output == output), None)


@dataclass(frozen=True)
class WritePlan:
    """Records to update, field by field, old → new; and the records left alone."""

    fields: FieldMap
    records: tuple[RecordPlan, ...]
    #: records that already hold every new value
    unchanged: tuple[str, ...] = ()
    #: target records the CRM did not return (deleted, or not visible to this user)
    missing: tuple[str, ...] = ()
    #: every target record's current values, by record id and output (canonical)
    current: Mapping[str, Mapping[str, Canonical]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.records

    @property
    def considered(self) -> int:
        """Target records the CRM holds (updated or not)."""
        return len(self.records) + len(self.unchanged)

    @property
    def field_changes(self) -> int:
        return sum(1 for record in self.records for c in record.changes if c.changed)

    def updates(self) -> dict[str, dict[str, Any]]:
        """Record id → field → value: what ``update_records`` is asked to write."""
        return {record.record_id: record.values() for record in self.records}

    def rows(self) -> list[dict[str, Any]]:
        """One row per field to write: record, label, field, output, old and new (JSON)."""
        return [
            {
                "record_id": record.record_id,
                "label": record.label,
                "field": change.field.name,
                "output": change.field.output,
                "old": json_value(change.old, scale=change.field.scale),
                "new": json_value(change.new, scale=change.field.scale),
                "changed": change.changed,
            }
            for record in self.records
            for change in record.changes
        ]

    def summary(self) -> dict[str, int]:
        return {
            "records_to_update": len(self.records),
            "field_changes": self.field_changes,
            "records_unchanged": len(self.unchanged),
            "records_missing": len(self.missing),
        }


def diff_record(
    fields: FieldMap, target: Target, held: Mapping[str, Any]
) -> tuple[RecordPlan | None, dict[str, Canonical]]:
    """A record's plan (None when it holds every value) and its current canonical values.

    Only outputs named in ``target.values`` are compared; a stamp goes along with
    the record's changes, never alone.
    """
    current: dict[str, Canonical] = {}
    changes: list[FieldChange] = []
    stamps: list[FieldChange] = []
    for mapped in fields:
        if mapped.output not in target.values:
            continue
        scale, length = mapped.scale, mapped.length
        old = canonical(mapped.kind, held.get(mapped.name), scale=scale, length=length)
        new = canonical(mapped.kind, target.values[mapped.output], scale=scale, length=length)
        current[mapped.output] = old
        change = FieldChange(mapped, old, new)
        if mapped.stamp:
            if change.changed:
                stamps.append(change)
        elif change.changed:
            changes.append(change)
    if not changes:
        return None, current
    ordered = sorted([*changes, *stamps], key=lambda c: fields.fields.index(c.field))
    return RecordPlan(target.record_id, target.label, tuple(ordered)), current


def build_plan(connector: Connector, fields: FieldMap, targets: Iterable[Target]) -> WritePlan:
    """Read the mapped fields of ``targets`` from the CRM and diff them; writes nothing."""
    wanted = {target.record_id: target for target in targets}
    names = list(dict.fromkeys(f.name for f in fields))
    held = connector.read_fields(list(wanted), names) if wanted else {}
    records: list[RecordPlan] = []
    unchanged: list[str] = []
    missing: list[str] = []
    current: dict[str, dict[str, Canonical]] = {}
    for record_id in sorted(wanted):
        values = held.get(record_id)
        if values is None:
            missing.append(record_id)
            continue
        plan, current[record_id] = diff_record(fields, wanted[record_id], values)
        if plan is None:
            unchanged.append(record_id)
        else:
            records.append(plan)
    return WritePlan(fields, tuple(records), tuple(unchanged), tuple(missing), current)


def score_targets(result: ScoringResult, fields: FieldMap, context: ScoreContext) -> list[Target]:
    """Each scored partner's record and the values of the mapped outputs."""
    return [
        Target(
            record_id=score.partner_id,
            label=score.partner_name,
            values={f.output: output_value(f.output, score, context) for f in fields},
        )
        for score in result.partners
    ]


def plan_scores(
    connector: Connector, fields: FieldMap, result: ScoringResult, context: ScoreContext
) -> WritePlan:
    """The plan that puts ``result`` into the mapped fields of the partner records."""
    return build_plan(connector, fields, score_targets(result, fields, context))


# --- the plan as a file and as a table -------------------------------------------------------

PLAN_CSV_COLUMNS = ("record_id", "label", "field", "output", "old", "new", "changed")


def plan_document(plan: WritePlan, about: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The plan as JSON: what it is about, its summary, the changes and the records left out."""
    return {
        **dict(about or {}),
        "summary": plan.summary(),
        "fields": [
            {"output": f.output, "field": f.name, "kind": f.kind, "scale": f.scale}
            for f in plan.fields
        ],
        "changes": plan.rows(),
        "missing": list(plan.missing),
    }


def write_plan_file(plan: WritePlan, path: Path, about: Mapping[str, Any] | None = None) -> None:
    """The plan as JSON (``.json``) or CSV (``.csv``), chosen by the file's extension."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ConfigError("--plan-out", f"{path.name}: name a .json or a .csv file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        document = plan_document(plan, about)
        path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=PLAN_CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in plan.rows():
            writer.writerow(
                {**row, "old": _csv_cell(row["old"]), "new": _csv_cell(row["new"]),
                 "changed": "yes" if row["changed"] else "no"}
            )  # fmt: skip


def _csv_cell(value: Any) -> str:
    return "" if value is None else str(value)


def table_rows(plan: WritePlan) -> list[tuple[str, str, str, str, str]]:
    """(label, record id, field, old, new) per field to write, for a printed table."""
    return [
        (record.label, record.record_id, change.field.name, shown(change.old), shown(change.new))
        for record in plan.records
        for change in record.changes
    ]

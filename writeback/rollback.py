"""Rollback: a plan that puts back the old values a run wrote over.

The targets are the journal's *written* entries of the run, each field back to
its old value. Like any plan it is diffed against what the CRM holds now, so a
field already back at its old value costs nothing, and it is applied and
journaled like any other run. The fields are the ones the run wrote (kind and
scale from the journal), whatever the config says today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.connector import Connector, FieldSpec
from core.errors import UnknownRun
from store import JournalEntry, JournalOutcome, LocalStore
from writeback.plan import Target, WritePlan, build_plan
from writeback.spec import FieldMap, MappedField
from writeback.values import OUTPUTS, canonical


@dataclass(frozen=True)
class RollbackPlan:
    """The plan that restores a run, and the fields changed by someone else since."""

    run_id: str
    plan: WritePlan
    #: (record id, field) whose current value is neither the run's new nor its old value
    changed_since: tuple[tuple[str, str], ...]


def _fields_of(entries: Sequence[JournalEntry]) -> FieldMap:
    fields: dict[str, MappedField] = {}
    for entry in entries:
        if entry.field in fields:
            continue
        definition = OUTPUTS.get(entry.output)
        fields[entry.field] = MappedField(
            output=entry.output,
            spec=FieldSpec(name=entry.field, label=entry.field, kind=entry.kind, scale=entry.scale),
            stamp=False if definition is None else definition.stamp,
        )
    return FieldMap(tuple(fields.values()))


def written_entries(store: LocalStore, run_id: str) -> list[JournalEntry]:
    """The entries a run wrote; UnknownRun if the store has no such run or it wrote nothing."""
    if store.get_run(run_id) is None:
        known = ", ".join(run.run_id for run in store.list_runs(limit=3)) or "none"
        raise UnknownRun(
            f"no run {run_id!r} in the store {store.path} (latest: {known}); "
            "see partner-kpi history"
        )
    entries = store.journal(run_id=run_id, outcome=JournalOutcome.WRITTEN)
    if not entries:
        raise UnknownRun(f"run {run_id} wrote nothing to the CRM; there is nothing to roll back")
    return entries


def plan_rollback(connector: Connector, store: LocalStore, run_id: str) -> RollbackPlan:
    """The plan restoring the old values of ``run_id``'s written fields; writes nothing."""
    entries = written_entries(store, run_id)
    fields = _fields_of(entries)
    by_record: dict[str, dict[str, object]] = {}
    labels: dict[str, str] = {}
    for entry in entries:
        by_record.setdefault(entry.record_id, {})[entry.output] = entry.old_value
        labels[entry.record_id] = entry.label
    targets = [Target(rid, labels[rid], values) for rid, values in by_record.items()]
    plan = build_plan(connector, fields, targets)
    changed_since: list[tuple[str, str]] = []
    for entry in entries:
        now = plan.current.get(entry.record_id, {}).get(entry.output)
        known = {
            canonical(entry.kind, v, scale=entry.scale) for v in (entry.old_value, entry.new_value)
        }
        if entry.record_id in plan.current and now not in known:
            changed_since.append((entry.record_id, entry.field))
    return RollbackPlan(run_id, plan, tuple(changed_since))

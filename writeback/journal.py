"""The writeback journal in the local store: per run, record and field, old → new and outcome.

``StoreJournal`` is the sink ``apply_plan`` reports to: a batch's changes are
journaled *pending* before it is sent and *written* or *rejected* when the CRM
answers. A run killed between the two leaves pending entries; the next run
settles them by reading the fields back (``settle_pending``): a field that
holds the new value was written, any other was not. So the journal never
claims a write that did not land, and a rollback restores exactly what landed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from core.connector import Connector, WriteResult
from store import JournalEntry, JournalOutcome, LocalStore
from writeback.plan import FieldChange, RecordPlan
from writeback.values import canonical, json_value


def entry_of(
    run_id: str,
    record: RecordPlan,
    change: FieldChange,
    outcome: JournalOutcome,
    *,
    seq: int,
    result: WriteResult | None = None,
) -> JournalEntry:
    """The journal entry of one field change."""
    mapped = change.field
    return JournalEntry(
        run_id=run_id,
        record_id=record.record_id,
        field=mapped.name,
        label=record.label,
        output=mapped.output,
        kind=mapped.kind,
        scale=mapped.scale,
        old_value=json_value(change.old, scale=mapped.scale),
        new_value=json_value(change.new, scale=mapped.scale),
        outcome=outcome,
        error_code=None if result is None or result.ok else result.error_code,
        message=None if result is None or result.ok else result.message,
        seq=seq,
    )


class StoreJournal:
    """Journals an apply's batches into the store under one run."""

    def __init__(self, store: LocalStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._seq: dict[str, int] = {}

    def _seq_of(self, record_id: str) -> int:
        return self._seq.setdefault(record_id, len(self._seq))

    def before(self, records: Sequence[RecordPlan]) -> None:
        self.store.record_journal(
            entry_of(self.run_id, record, change, JournalOutcome.PENDING,
                     seq=self._seq_of(record.record_id))
            for record in records
            for change in record.changes
        )  # fmt: skip

    def after(self, records: Sequence[RecordPlan], results: Mapping[str, WriteResult]) -> None:
        entries: list[JournalEntry] = []
        for record in records:
            result = results[record.record_id]
            outcome = JournalOutcome.WRITTEN if result.ok else JournalOutcome.REJECTED
            seq = self._seq_of(record.record_id)
            entries.extend(
                entry_of(self.run_id, record, change, outcome, seq=seq, result=result)
                for change in record.changes
            )
        self.store.record_journal(entries)


@dataclass(frozen=True)
class Settled:
    """What ``settle_pending`` found of the pending entries of stopped runs."""

    written: int = 0
    not_written: int = 0
    runs: tuple[str, ...] = ()


def settle_pending(store: LocalStore, connector: Connector, *, current_run: str) -> Settled:
    """Resolve the pending entries that stopped runs left: written if the field holds the
    new value now, not_written otherwise. Reads the fields once; writes nothing to the CRM."""
    pending = [e for e in store.journal(outcome=JournalOutcome.PENDING) if e.run_id != current_run]
    if not pending:
        return Settled()
    record_ids = list(dict.fromkeys(e.record_id for e in pending))
    names = list(dict.fromkeys(e.field for e in pending))
    held = connector.read_fields(record_ids, names)
    settled: list[JournalEntry] = []
    counts: dict[JournalOutcome, int] = defaultdict(int)
    for entry in pending:
        values = held.get(entry.record_id)
        landed = values is not None and canonical(
            entry.kind, values.get(entry.field), scale=entry.scale
        ) == canonical(entry.kind, entry.new_value, scale=entry.scale)
        outcome = JournalOutcome.WRITTEN if landed else JournalOutcome.NOT_WRITTEN
        counts[outcome] += 1
        message = (
            f"settled by run {current_run}: the run stopped before the CRM's answer was "
            "journaled, and the field " + ("holds" if landed else "does not hold") + " the value"
        )
        settled.append(replace(entry, outcome=outcome, message=message))
    store.record_journal(settled)
    return Settled(
        written=counts[JournalOutcome.WRITTEN],
        not_written=counts[JournalOutcome.NOT_WRITTEN],
        runs=tuple(sorted({e.run_id for e in pending})),
    )

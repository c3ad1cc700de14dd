"""Apply a plan: the changed records, in batches of the connector's size, record by record.

Each batch is journaled as pending before it is sent and with each record's
outcome after, so a run stopped mid-call leaves its last batch pending for the
next run to settle (``writeback.journal.settle_pending``). A record the CRM
rejects is reported with its id, fields and the CRM's error code and is never
recorded as written; the next run's plan still finds it different and sends
it again. Only the plan's mapped fields are ever sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.connector import Connector, WriteResult
from writeback.plan import RecordPlan, WritePlan

#: The code of a record the CRM's answer said nothing about (treated as rejected).
NO_RESULT = "NO_RESULT"


class JournalSink(Protocol):
    """Where apply records what it is about to send and what became of it."""

    def before(self, records: Sequence[RecordPlan]) -> None:
        """The batch is about to be sent (journal its changes as pending)."""
        ...

    def after(self, records: Sequence[RecordPlan], results: Mapping[str, WriteResult]) -> None:
        """The batch was answered: each record's result, by record id."""
        ...


@dataclass(frozen=True)
class Rejection:
    """A record the CRM refused: which fields, the CRM's error code and its message."""

    record_id: str
    label: str
    fields: tuple[str, ...]
    error_code: str
    message: str


@dataclass
class ApplyReport:
    """What an apply did: records written, records rejected, and write calls made."""

    written: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    #: calls of the connector's write primitive (one a batch)
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def counts(self) -> dict[str, int]:
        return {
            "records_written": len(self.written),
            "records_rejected": len(self.rejected),
            "write_calls": self.calls,
        }


def batches(records: Sequence[RecordPlan], size: int) -> list[Sequence[RecordPlan]]:
    """The records in consecutive batches of at most ``size``."""
    if size < 1:
        raise ValueError(f"a batch holds at least one record, not {size}")
    return [records[start : start + size] for start in range(0, len(records), size)]


def _checked(plan: WritePlan) -> None:
    allowed = set(plan.fields.names)
    for record in plan.records:
        stray = [name for name in record.values() if name not in allowed]
        if stray:
            raise ValueError(
                f"record {record.record_id}: {', '.join(stray)} is not a mapped field; "
                "writeback only writes the configured fields"
            )


def apply_plan(
    connector: Connector,
    plan: WritePlan,
    *,
    batch_size: int,
    journal: JournalSink | None = None,
) -> ApplyReport:
    """Send the plan's records through ``connector.update_records``, ``batch_size`` a call.

    An empty plan makes no call. A failure of a whole call (quota exhausted,
    retries spent) propagates after the earlier batches were journaled.
    """
    _checked(plan)
    report = ApplyReport()
    for batch in batches(plan.records, batch_size):
        if journal is not None:
            journal.before(batch)
        answered = connector.update_records({record.record_id: record.values() for record in batch})
        report.calls += 1
        by_id: dict[str, WriteResult] = {}
        for result in answered:
            by_id.setdefault(result.record_id, result)
        results: dict[str, WriteResult] = {}
        for record in batch:
            result = by_id.get(record.record_id) or WriteResult(
                record.record_id, False, NO_RESULT, "the CRM's answer did not mention the record"
            )
            results[record.record_id] = result
            if result.ok:
                report.written.append(record.record_id)
            else:
                report.rejected.append(
                    Rejection(
                        record_id=record.record_id,
                        label=record.label,
                        fields=result.fields or tuple(record.values()),
                        error_code=result.error_code or "UNKNOWN_ERROR",
                        message=result.message or "",
                    )
                )
        if journal is not None:
            journal.after(batch, results)
    return report

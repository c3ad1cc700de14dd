"""Apply a plan: the changed records, in batches of the connector's size, record by record.

Each batch is journaled as pending before it is sent and with each record's
outcome after, so a run stopped mid-call leaves its last batch pending for the
next run to settle (``writeback.journal.settle_pending``). A record the CRM
rejects is reported with its id, fields and the CRM's error code and is never
recorded as written; the next run's plan still finds it different and sends
it again. Only the plan's mapped fields are ever sent.

A batch whose answer was lost (``AnswerLost``: the connection dropped or the read
timed out after it was sent) may have landed, in full or in part. It is not sent
again unseen: its records are read back (``connector.read_fields``), those that hold
every planned value count as written, and only the others are sent again, up to
``LOST_ANSWER_RESENDS`` times; then the error ends the run with the rest pending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.connector import Connector, WriteResult
from core.errors import AnswerLost
from writeback.plan import RecordPlan, WritePlan
from writeback.values import canonical

logger = logging.getLogger(__name__)

#: The code of a record the CRM's answer said nothing about (treated as rejected).
NO_RESULT = "NO_RESULT"
#: How often the records of a batch whose answer was lost, and that the read-back found
#: unwritten, are sent again before the AnswerLost ends the run.
LOST_ANSWER_RESENDS = 3


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
    #: calls of the connector's write primitive (one a batch, and one a resend)
    calls: int = 0
    #: reads of a batch's records after its answer was lost
    read_backs: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def counts(self) -> dict[str, int]:
        return {
            "records_written": len(self.written),
            "records_rejected": len(self.rejected),
            "write_calls": self.calls,
            "read_back_calls": self.read_backs,
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


def _holds_plan(record: RecordPlan, held: Mapping[str, object] | None) -> bool:
    """Whether a record read back holds every value its plan writes (in canonical form)."""
    if held is None:
        return False
    return all(
        canonical(c.field.kind, held.get(c.field.name), scale=c.field.scale,
                  length=c.field.length) == c.new
        for c in record.changes
    )  # fmt: skip


def _landed(connector: Connector, records: Sequence[RecordPlan]) -> list[RecordPlan]:
    """The records of a write whose answer was lost that hold every planned value now."""
    names = list(dict.fromkeys(c.field.name for r in records for c in r.changes))
    held = connector.read_fields([r.record_id for r in records], names)
    return [r for r in records if _holds_plan(r, held.get(r.record_id))]


def _send(
    connector: Connector,
    batch: Sequence[RecordPlan],
    report: ApplyReport,
    journal: JournalSink | None,
) -> dict[str, WriteResult]:
    """Each record of ``batch`` by id: the CRM's answer, or written when a lost answer's
    read-back found it holding its values. Records never answered nor found stay pending."""
    found: dict[str, WriteResult] = {}
    unsure = list(batch)
    resends = 0
    while True:
        report.calls += 1
        try:
            answered = connector.update_records({r.record_id: r.values() for r in unsure})
        except AnswerLost:
            report.read_backs += 1
            landed = _landed(connector, unsure)
            for record in landed:
                found[record.record_id] = WriteResult(
                    record.record_id, True, fields=tuple(record.values())
                )
            unsure = [r for r in unsure if r.record_id not in found]
            if not unsure:
                return found
            if resends == LOST_ANSWER_RESENDS:
                if journal is not None and found:
                    journal.after([r for r in batch if r.record_id in found], found)
                raise
            resends += 1
            logger.warning(
                "the answer to a write of %d record(s) was lost; %d hold their new values "
                "(read back), %d are sent again (resend %d of %d)",
                len(landed) + len(unsure), len(landed), len(unsure), resends,
                LOST_ANSWER_RESENDS,
                extra={"records_landed": len(landed), "records_resent": len(unsure),
                       "attempt": resends, "max_attempts": LOST_ANSWER_RESENDS},
            )  # fmt: skip
            continue
        by_id: dict[str, WriteResult] = dict(found)
        for result in answered:
            by_id.setdefault(result.record_id, result)
        return by_id


def apply_plan(
    connector: Connector,
    plan: WritePlan,
    *,
    batch_size: int,
    journal: JournalSink | None = None,
) -> ApplyReport:
    """Send the plan's records through ``connector.update_records``, ``batch_size`` a call.

    An empty plan makes no call. A failure of a whole call (quota exhausted,
    retries spent) propagates after the earlier batches were journaled; a lost answer
    is read back first (see the module).
    """
    _checked(plan)
    report = ApplyReport()
    for batch in batches(plan.records, batch_size):
        if journal is not None:
            journal.before(batch)
        by_id = _send(connector, batch, report, journal)
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

"""What the store hands back besides records: runs, score history rows and counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

import pyarrow as pa


class RunStatus(StrEnum):
    """Where a run stands. A run left ``running`` by a dead process is closed as failed."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    #: finished, but the CRM rejected some of its writes (the next run retries them)
    PARTIAL = "partial"
    FAILED = "failed"

    @property
    def scored(self) -> bool:
        """Whether the run finished scoring: its scores stand (a partial run's too)."""
        return self in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)


@dataclass(frozen=True)
class RunRecord:
    """One audit or sync run as the store recorded it; times are UTC."""

    run_id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    as_of: date
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class ScoredPartner(Protocol):
    """A partner's score as ``save_scores`` takes it: a ``kpi_engine.PartnerScore`` fits.

    ``kpis`` is a pydantic model (its JSON dump is stored) or a mapping.
    """

    @property
    def partner_id(self) -> str: ...

    @property
    def partner_name(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def tier(self) -> str: ...

    @property
    def kpis(self) -> Any: ...


@dataclass(frozen=True)
class ScoreRow:
    """A partner's score built by hand (or read back): fits ``ScoredPartner``."""

    partner_id: str
    partner_name: str
    score: float
    tier: str
    kpis: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreHistoryRow:
    """One partner's score in one run, with the run's date, for trends."""

    run_id: str
    run_kind: str
    run_status: RunStatus
    as_of: date
    started_at: datetime
    partner_id: str
    partner_name: str
    score: float
    tier: str
    kpis: dict[str, Any]


#: ``LocalStore.score_trend``'s columns: a partner's score and tier in one run of a date.
SCORE_TREND_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("partner_id", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("tier", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class StoreCounts:
    """How many rows the store holds, for reports and ``partner-kpi check``."""

    partners: int
    partners_deleted: int
    opportunities: int
    opportunities_deleted: int
    stage_changes: int
    stage_changes_deleted: int
    stage_defs: int
    cursors: int
    runs: int
    score_rows: int


class JournalOutcome(StrEnum):
    """What became of one field of one record in a writeback run."""

    PENDING = "pending"  # about to be sent; left so only by a run that stopped mid-call
    WRITTEN = "written"
    REJECTED = "rejected"
    NOT_WRITTEN = "not_written"  # a pending write that a later run found had not landed


@dataclass(frozen=True)
class JournalEntry:
    """One field of one record in a writeback run: old → new and what became of it.

    ``old_value`` and ``new_value`` are JSON values (None, a number, a string);
    ``kind`` and ``scale`` say how the field compares them.
    """

    run_id: str
    record_id: str
    field: str
    output: str
    kind: str
    old_value: Any
    new_value: Any
    outcome: JournalOutcome
    scale: int = 0
    label: str = ""  # the record's name (a partner's), for reports
    error_code: str | None = None
    message: str | None = None
    seq: int = 0
    updated_at: datetime | None = None

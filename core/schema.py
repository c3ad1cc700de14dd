"""The common schema: what every connector produces and the KPI engine consumes.

Records are pydantic v2 models for small inputs and for validation at the
edge; the same fields also have an Arrow layout (``*_ARROW_SCHEMA``) so that
large inputs travel as columns and never become millions of Python objects.
No CRM field name appears here: each adapter maps its CRM onto these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from core.errors import SchemaError


class OpportunityStatus(StrEnum):
    """Where an opportunity stands, taken from stage metadata, never a stage's name."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Partner(_Record):
    """A partner (reseller) account: the unit that gets a score."""

    id: str = Field(min_length=1)
    name: str
    region: str | None = None
    channel_manager: str | None = None
    tier: str | None = None


class StageDef(_Record):
    """A stage of the opportunity pipeline and what the CRM says it means."""

    name: str = Field(min_length=1)
    status: OpportunityStatus
    probability: float = Field(ge=0.0, le=1.0)
    sort_order: int = 0


class StageEvent(_Record):
    """An opportunity entering a stage. ``sequence`` orders events of one day."""

    opportunity_id: str = Field(min_length=1)
    stage: str = Field(min_length=1)
    entered_date: date
    sequence: int = Field(ge=0)


class StageChange(_Record):
    """A stage change as a CRM records it: its own id and the moment it happened.

    Connectors produce these; the store numbers each opportunity's changes in
    time order (then by id) into the engine's ``StageEvent.sequence``.
    """

    id: str = Field(min_length=1)
    opportunity_id: str = Field(min_length=1)
    stage: str = Field(min_length=1)
    entered_at: datetime


class Opportunity(_Record):
    """An opportunity / deal, with its amount already in the corporate currency."""

    id: str = Field(min_length=1)
    name: str | None = None
    partner_id: str | None = None
    account_id: str | None = None
    stage: str
    status: OpportunityStatus
    probability: float = Field(ge=0.0, le=1.0)
    amount: float | None = None
    amount_original: float | None = None
    currency: str | None = None
    created_date: date
    close_date: date | None = None
    lead_source: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _status_is_known(cls, data: Any) -> Any:
        # Raised here, before field validation, so the message names the record.
        if isinstance(data, Mapping):
            status = data.get("status")
            known = {s.value for s in OpportunityStatus}
            if status is not None and status not in known:
                raise ValueError(
                    f"opportunity {data.get('id')!r}: unknown status {status!r}; "
                    "expected one of open, won, lost (taken from the stage metadata)"
                )
        return data

    @model_validator(mode="after")
    def _closed_has_close_date(self) -> Opportunity:
        if self.status is not OpportunityStatus.OPEN and self.close_date is None:
            raise ValueError(
                f"opportunity {self.id!r}: status {self.status.value} needs a close date"
            )
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def close_before_created(self) -> bool:
        """Kept and scored, but flagged: the CRM holds a close date before the created date."""
        return self.close_date is not None and self.close_date < self.created_date


def status_of_stage(stage: str, stage_defs: Mapping[str, StageDef], record_id: str) -> StageDef:
    """The stage definition of ``stage``; an unknown stage is an error naming the record."""
    try:
        return stage_defs[stage]
    except KeyError:
        raise SchemaError(
            f"opportunity {record_id!r}: stage {stage!r} is not in the stage metadata "
            f"(known: {', '.join(sorted(stage_defs))})",
            record_id=record_id,
        ) from None


PARTNER_ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
    ]
)

OPPORTUNITY_ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("partner_id", pa.string()),
        pa.field("account_id", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("probability", pa.float64(), nullable=False),
        pa.field("amount", pa.float64()),
        pa.field("created_date", pa.date32(), nullable=False),
        pa.field("close_date", pa.date32()),
        pa.field("lead_source", pa.string()),
    ]
)

STAGE_EVENT_ARROW_SCHEMA = pa.schema(
    [
        pa.field("opportunity_id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("entered_date", pa.date32(), nullable=False),
        pa.field("sequence", pa.int32(), nullable=False),
    ]
)


def _to_arrow(records: Iterable[BaseModel], schema: pa.Schema) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for record in records:
        for name, values in columns.items():
            value = getattr(record, name)
            values.append(value.value if isinstance(value, StrEnum) else value)
    return pa.table(columns, schema=schema)


def partners_to_arrow(partners: Iterable[Partner]) -> pa.Table:
    """Partners in the engine's columnar layout."""
    return _to_arrow(partners, PARTNER_ARROW_SCHEMA)


def opportunities_to_arrow(opportunities: Iterable[Opportunity]) -> pa.Table:
    """Opportunities in the engine's columnar layout."""
    return _to_arrow(opportunities, OPPORTUNITY_ARROW_SCHEMA)


def stage_events_to_arrow(events: Iterable[StageEvent]) -> pa.Table:
    """Stage events in the engine's columnar layout."""
    return _to_arrow(events, STAGE_EVENT_ARROW_SCHEMA)

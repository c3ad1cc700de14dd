"""The common schema: what every connector produces and the KPI engine consumes.

Each record type is declared once, here, as a pydantic v2 model: its fields,
types and nullability, ``KEY`` on the field that tells records apart and
``SCORED`` on each field the engine reads (see ``core.entity``). Everything
else derives from it: the Arrow layouts (``*_ARROW_SCHEMA``, so that large
inputs travel as columns and never become millions of Python objects), the
store's tables and pages, the engine's input checks. No CRM field name appears
here: each adapter maps its CRM onto these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.entity import KEY, SCORED, Entity
from core.errors import SchemaError


class OpportunityStatus(StrEnum):
    """Where an opportunity stands, taken from stage metadata, never a stage's name."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


#: the statuses' values, built once: every opportunity read is checked against them
_KNOWN_STATUSES = frozenset(status.value for status in OpportunityStatus)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Partner(_Record):
    """A partner (reseller) account: the unit that gets a score."""

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    name: Annotated[str, SCORED]
    region: str | None = None
    channel_manager: str | None = None
    tier: str | None = None


class StageDef(_Record):
    """A stage of the opportunity pipeline and what the CRM says it means."""

    name: Annotated[str, KEY] = Field(min_length=1)
    status: OpportunityStatus
    probability: float = Field(ge=0.0, le=1.0)
    sort_order: int = 0


class StageEvent(_Record):
    """An opportunity entering a stage. ``sequence`` orders events of one day."""

    opportunity_id: Annotated[str, SCORED] = Field(min_length=1)
    stage: Annotated[str, SCORED] = Field(min_length=1)
    entered_date: Annotated[date, SCORED]
    sequence: Annotated[int, SCORED] = Field(ge=0)


class StageChange(_Record):
    """A stage change as a CRM records it: its own id and the moment it happened.

    Connectors produce these; the store numbers each opportunity's changes in
    time order (then by id) into the engine's ``StageEvent.sequence``.
    """

    id: Annotated[str, KEY] = Field(min_length=1)
    opportunity_id: str = Field(min_length=1)
    stage: str = Field(min_length=1)
    entered_at: datetime


class Opportunity(_Record):
    """An opportunity / deal, with its amount already in the corporate currency.

    The schema holds what a CRM may hold, implausible or not (a NaN or negative amount,
    a won deal with no close date, a close before the created date, an amount with no
    conversion rate, left empty): the rules of ``quality`` judge such records, by record.
    """

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    name: str | None = None
    partner_id: Annotated[str | None, SCORED] = None
    account_id: Annotated[str | None, SCORED] = None
    stage: str
    status: Annotated[OpportunityStatus, SCORED]
    probability: Annotated[float, SCORED] = Field(ge=0.0, le=1.0)
    amount: Annotated[float | None, SCORED] = None
    amount_original: float | None = None
    currency: str | None = None
    created_date: Annotated[date, SCORED]
    close_date: Annotated[date | None, SCORED] = None
    lead_source: Annotated[str | None, SCORED] = None

    @model_validator(mode="before")
    @classmethod
    def _status_is_known(cls, data: Any) -> Any:
        # Raised here, before field validation, so the message names the record.
        if isinstance(data, Mapping):
            status = data.get("status")
            if status is not None and status not in _KNOWN_STATUSES:
                raise ValueError(
                    f"opportunity {data.get('id')!r}: unknown status {status!r}; "
                    "expected one of open, won, lost (taken from the stage metadata)"
                )
        return data


class Lead(_Record):
    """A lead: a prospect registered by or handed to a partner, converted or not.

    ``converted_date`` is null while the lead is not converted; a lead converted after
    the as-of date counts as not converted then (KPIS.md "point in time").
    """

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    partner_id: Annotated[str | None, SCORED] = None
    created_date: Annotated[date, SCORED]
    status: str | None = None
    converted_date: Annotated[date | None, SCORED] = None
    converted_opportunity_id: str | None = None
    lead_source: str | None = None


class Quote(_Record):
    """A quote on an opportunity; ``sent_date`` is null while it was never sent."""

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    opportunity_id: Annotated[str, SCORED] = Field(min_length=1)
    created_date: Annotated[date, SCORED]
    status: str | None = None
    sent_date: Annotated[date | None, SCORED] = None


class Case(_Record):
    """A support case (a HubSpot ticket) on a customer account.

    ``contact_count`` is the contacts logged on it (calls, emails, tasks), ``reopened``
    whether its history shows it closed and opened again; ``first_contact_resolved`` is
    the CRM's own checkbox when ``scoring.first_contact_field`` names one (else null, and
    the engine judges by the first two).
    """

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    account_id: Annotated[str | None, SCORED] = None
    created_date: Annotated[date, SCORED]
    closed_date: Annotated[date | None, SCORED] = None
    type: Annotated[str | None, SCORED] = None
    contact_count: Annotated[int, SCORED] = Field(default=0, ge=0)
    reopened: Annotated[bool, SCORED] = False
    first_contact_resolved: Annotated[bool | None, SCORED] = None


class CallOutcome(StrEnum):
    """How a call ended, from the CRM's disposition (an unmapped one is ``other``)."""

    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    OTHER = "other"


class Call(_Record):
    """A logged call on an opportunity."""

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    opportunity_id: Annotated[str | None, SCORED] = None
    call_date: Annotated[date, SCORED]
    duration_seconds: Annotated[int | None, SCORED] = Field(default=None, ge=0)
    outcome: Annotated[CallOutcome | None, SCORED] = None


class LineItem(_Record):
    """A product line of an opportunity (its amount in the corporate currency)."""

    id: Annotated[str, KEY, SCORED] = Field(min_length=1)
    opportunity_id: Annotated[str, SCORED] = Field(min_length=1)
    product: Annotated[str, SCORED] = Field(min_length=1)
    quantity: float | None = None
    amount: float | None = None


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


#: Each record type as an entity: its columns, key and layouts, read off the model above.
PARTNER_ENTITY = Entity.of(Partner)
OPPORTUNITY_ENTITY = Entity.of(Opportunity)
STAGE_CHANGE_ENTITY = Entity.of(StageChange)
STAGE_DEF_ENTITY = Entity.of(StageDef)
STAGE_EVENT_ENTITY = Entity.of(StageEvent)
LEAD_ENTITY = Entity.of(Lead)
QUOTE_ENTITY = Entity.of(Quote)
CASE_ENTITY = Entity.of(Case)
CALL_ENTITY = Entity.of(Call)
LINE_ITEM_ENTITY = Entity.of(LineItem)

#: The objects of the partner's funnel, customers and service (KPIS.md), by stream name:
#: a CRM may lack any of them, and the KPIs that need a missing one are null, never 0.
ACTIVITY_ENTITIES: dict[str, Entity[Any]] = {
    "leads": LEAD_ENTITY,
    "quotes": QUOTE_ENTITY,
    "cases": CASE_ENTITY,
    "calls": CALL_ENTITY,
    "line_items": LINE_ITEM_ENTITY,
}

#: The engine's columnar layouts: the fields each record type marks ``SCORED``.
PARTNER_ARROW_SCHEMA = PARTNER_ENTITY.scored_layout
OPPORTUNITY_ARROW_SCHEMA = OPPORTUNITY_ENTITY.scored_layout
STAGE_EVENT_ARROW_SCHEMA = STAGE_EVENT_ENTITY.scored_layout


def partners_to_arrow(partners: Iterable[Partner]) -> pa.Table:
    """Partners in the engine's columnar layout."""
    return PARTNER_ENTITY.to_arrow(list(partners), PARTNER_ARROW_SCHEMA)


def opportunities_to_arrow(opportunities: Iterable[Opportunity]) -> pa.Table:
    """Opportunities in the engine's columnar layout."""
    return OPPORTUNITY_ENTITY.to_arrow(list(opportunities), OPPORTUNITY_ARROW_SCHEMA)


def stage_events_to_arrow(events: Iterable[StageEvent]) -> pa.Table:
    """Stage events in the engine's columnar layout."""
    return STAGE_EVENT_ENTITY.to_arrow(list(events), STAGE_EVENT_ARROW_SCHEMA)

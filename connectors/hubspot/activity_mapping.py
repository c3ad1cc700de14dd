"""HubSpot's activity objects → the common schema's Lead, Quote, Case, Call and LineItem,
without I/O (each record arrives as an ``HsRecord`` with its associated ids).

- Lead: the lead object (0-136). Partner: the company associated with the lead→company
  label ``crm.lead_partner_label``; converted: the first time its ``hs_pipeline_stage``
  history enters a stage of ``crm.lead_converted_stages``, and the deal it became is the
  deal associated with it; status: its stage's label.
- Quote: on the deal it is associated with; sent: the first time its ``hs_status``
  history holds a published status (APPROVAL_NOT_NEEDED or APPROVED: HubSpot publishes a
  quote by setting one of them; HubSpot has no sent-date property of its own), or the
  date property ``crm.quote_sent_property`` names (one a portal's workflow stamps).
- Case: a ticket on its Primary company; closed: ``closed_date`` while its stage is closed
  (the stage metadata's ``isClosed``, or ``ticketState`` CLOSED); reopened: its
  ``hs_pipeline_stage`` history goes from a closed stage to an open one; contacts: the
  calls and emails associated with it; type: the option label of
  ``crm.ticket_type_property``; resolved at first contact: the property
  ``scoring.first_contact_field`` names.
- Call: on the deal it is associated with (a call on no deal, e.g. one logged on a ticket,
  is no Call of the schema); date ``hs_timestamp``, seconds of ``hs_call_duration`` (ms),
  outcome from ``hs_call_disposition`` by ``crm.call_dispositions``.
- LineItem: on its deal; product ``crm.line_item_product_property``, quantity, amount.

With ``crm.leads_from: contacts`` a lead is a contact that became one
(``hs_lifecyclestage_lead_date``, its created date), converted on
``hs_lifecyclestage_opportunity_date`` into the deal associated with it, its partner the
company of the contact→company ``crm.lead_partner_label``, its status ``hs_lead_status``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from connectors.hubspot.mapping import HsRecord, PipelineInfo, local_date, parse_ms
from connectors.hubspot.queries import CREATED
from core.errors import SchemaError
from core.schema import Call, CallOutcome, Case, Lead, LineItem, Quote

STAGE = "hs_pipeline_stage"
QUOTE_STATUS = "hs_status"
#: a quote is sent once it is published: HubSpot's statuses of a published quote
PUBLISHED_STATUSES = frozenset({"APPROVAL_NOT_NEEDED", "APPROVED"})


@dataclass(frozen=True)
class StageSet:
    """The stages of an object's pipelines: labels, and which are closed."""

    labels: Mapping[str, str]
    closed: frozenset[str]

    @classmethod
    def of(cls, pipelines: Sequence[PipelineInfo]) -> StageSet:
        labels = {s.id: s.label for p in pipelines for s in p.stages}
        closed = frozenset(
            s.id
            for p in pipelines
            for s in p.stages
            if s.metadata.get("isClosed") == "true" or s.metadata.get("ticketState") == "CLOSED"
        )
        return cls(labels, closed)


def _oldest_first(record: HsRecord, name: str) -> list[tuple[str, int]]:
    return sorted(record.history.get(name, ()), key=lambda entry: entry[1])


def _date(record: HsRecord, name: str, zone: ZoneInfo) -> date | None:
    ms = parse_ms(record.get(name))
    return None if ms is None else local_date(ms, zone)


def _created(record: HsRecord, zone: ZoneInfo, noun: str) -> date:
    created = _date(record, CREATED, zone)
    if created is None:
        raise SchemaError(f"{noun} {record.id!r} has no createdate", record_id=record.id)
    return created


def _number(record: HsRecord, name: str, noun: str) -> float | None:
    text = record.get(name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise SchemaError(
            f"{noun} {record.id!r}: {name} {text!r} is not a number", record_id=record.id
        ) from None


def lead_from(
    record: HsRecord,
    *,
    partner_id: str | None,
    deal_id: str | None,
    stages: StageSet,
    converted_stages: frozenset[str],
    lead_source_property: str,
    zone: ZoneInfo,
) -> Lead:
    entered = next(
        (ms for value, ms in _oldest_first(record, STAGE) if value in converted_stages), None
    )
    stage = record.get(STAGE)
    return Lead(
        id=record.id,
        partner_id=partner_id,
        created_date=_created(record, zone, "lead"),
        status=stages.labels.get(stage or "", stage),
        converted_date=None if entered is None else local_date(entered, zone),
        converted_opportunity_id=deal_id,
        lead_source=record.get(lead_source_property),
    )


def lead_from_contact(
    record: HsRecord,
    *,
    partner_id: str | None,
    deal_id: str | None,
    lead_source_property: str,
    zone: ZoneInfo,
) -> Lead | None:
    """A contact that became a lead (``hs_lifecyclestage_lead_date``) as a Lead: created
    then, converted when it became an opportunity; None for a contact that never was one."""
    became = _date(record, "hs_lifecyclestage_lead_date", zone)
    if became is None:
        return None
    return Lead(
        id=record.id,
        partner_id=partner_id,
        created_date=became,
        status=record.get("hs_lead_status"),
        converted_date=_date(record, "hs_lifecyclestage_opportunity_date", zone),
        converted_opportunity_id=deal_id,
        lead_source=record.get(lead_source_property),
    )


def quote_from(
    record: HsRecord, *, deal_id: str, sent_property: str | None, zone: ZoneInfo
) -> Quote:
    if sent_property:
        sent = _date(record, sent_property, zone)
    else:
        published = next(
            (
                ms
                for value, ms in _oldest_first(record, QUOTE_STATUS)
                if value in PUBLISHED_STATUSES
            ),
            None,
        )
        sent = None if published is None else local_date(published, zone)
    return Quote(
        id=record.id,
        opportunity_id=deal_id,
        created_date=_created(record, zone, "quote"),
        status=record.get(QUOTE_STATUS),
        sent_date=sent,
    )


def reopened(record: HsRecord, closed: frozenset[str]) -> bool:
    """Whether the stage history goes from a closed stage to an open one."""
    was_closed = False
    for value, _ in _oldest_first(record, STAGE):
        if value in closed:
            was_closed = True
        elif was_closed:
            return True
    return False


def case_from(
    record: HsRecord,
    *,
    account_id: str | None,
    contacts: int,
    stages: StageSet,
    type_property: str,
    type_labels: Mapping[str, str],
    first_contact_property: str | None,
    zone: ZoneInfo,
) -> Case:
    closed_now = (record.get(STAGE) or "") in stages.closed
    kind = record.get(type_property)
    resolved = record.get(first_contact_property) if first_contact_property else None
    return Case(
        id=record.id,
        account_id=account_id,
        created_date=_created(record, zone, "ticket"),
        closed_date=_date(record, "closed_date", zone) if closed_now else None,
        type=None if kind is None else type_labels.get(kind, kind),
        contact_count=contacts,
        reopened=reopened(record, stages.closed),
        first_contact_resolved=None if resolved is None else resolved.lower() == "true",
    )


def call_from(
    record: HsRecord, *, deal_id: str, dispositions: Mapping[str, str], zone: ZoneInfo
) -> Call:
    moment = parse_ms(record.get("hs_timestamp")) or parse_ms(record.get(CREATED))
    if moment is None:
        raise SchemaError(f"call {record.id!r} has no hs_timestamp", record_id=record.id)
    duration = _number(record, "hs_call_duration", "call")
    disposition = record.get("hs_call_disposition")
    outcome = None
    if disposition is not None:
        outcome = CallOutcome(dispositions.get(disposition, CallOutcome.OTHER.value))
    return Call(
        id=record.id,
        opportunity_id=deal_id,
        call_date=local_date(moment, zone),
        duration_seconds=None if duration is None else int(duration // 1000),
        outcome=outcome,
    )


def line_item_from(record: HsRecord, *, deal_id: str, product_property: str) -> LineItem:
    product = record.get(product_property)
    if product is None:
        raise SchemaError(f"line item {record.id!r} has no {product_property}", record_id=record.id)
    return LineItem(
        id=record.id,
        opportunity_id=deal_id,
        product=product,
        quantity=_number(record, "quantity", "line item"),
        amount=_number(record, "amount", "line item"),
    )

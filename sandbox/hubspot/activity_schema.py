"""The property definitions of the activity objects: leads, quotes, tickets, calls, emails,
line items, with HubSpot's internal names, types and groups.

- Leads (0-136): ``hs_lead_name``, ``hs_pipeline`` / ``hs_pipeline_stage`` (the lead
  pipeline), and the portal's custom ``lead_source`` (as on deals).
- Quotes (0-14): ``hs_title``, ``hs_status`` (DRAFT, APPROVAL_NOT_NEEDED, PENDING_APPROVAL,
  APPROVED, REJECTED, then the buyer's PENDING_BUYER_ACTION, ACCEPTED, DECLINED),
  ``hs_expiration_date``. A quote is sent when it is published: its ``hs_status`` becomes
  APPROVAL_NOT_NEEDED or APPROVED; the status's property history dates it.
- Tickets (0-5): ``subject``, ``content``, ``hs_pipeline`` / ``hs_pipeline_stage``
  (the Support Pipeline), ``closed_date``, ``hs_ticket_category`` (HubSpot's four options
  plus one per case type of the seed that is none of them, as a portal admin adds
  options) and the custom checkbox ``first_contact_resolution``.
- Calls (0-48): ``hs_timestamp``, ``hs_call_title``, ``hs_call_direction``,
  ``hs_call_status``, ``hs_call_duration`` (milliseconds) and ``hs_call_disposition``
  (an outcome's GUID: ``CALL_DISPOSITIONS``).
- Emails (0-49): ``hs_timestamp``, ``hs_email_subject``, ``hs_email_direction``.
- Line items (0-8): ``name``, ``hs_product_id``, ``quantity``, ``price``, ``amount``.
- Contacts (0-1), a lead's contact: ``email``, ``firstname``, ``lastname``,
  ``lifecyclestage``, ``hs_lead_status``, ``hs_lifecyclestage_lead_date`` and
  ``hs_lifecyclestage_opportunity_date`` (when it became a lead, an opportunity),
  ``lastmodifieddate`` (what contacts search by) and the custom ``lead_source``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.hubspot.objects import (
    CALLS,
    CONTACTS,
    EMAILS,
    LEADS,
    LINE_ITEMS,
    QUOTES,
    TICKETS,
    ObjectType,
)
from sandbox.hubspot.pipelines import Pipeline
from sandbox.hubspot.properties import HsProperty, PropertyGroup
from sandbox.hubspot.schema import CUSTOM_GROUP, PropertyDef, system_definitions, text_definition

#: HubSpot's default call outcomes: hs_call_disposition holds their GUIDs
#: (developers.hubspot.com, calls API, "hs_call_disposition").
CALL_DISPOSITIONS = {
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}
#: the seed's call outcomes as the GUIDs a portal logs them with
DISPOSITION_OF_OUTCOME = {
    "connected": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "no_answer": "73a0d17f-1163-4015-bdd5-ec830791da20",
    "voicemail": "b2cf5968-551e-4856-9783-52b3da59a7d0",
}
QUOTE_STATUSES = {
    "DRAFT": "Draft",
    "APPROVAL_NOT_NEEDED": "Approval not needed",
    "PENDING_APPROVAL": "Pending approval",
    "APPROVED": "Approved",
    "REJECTED": "Rejected",
    "PENDING_BUYER_ACTION": "Pending buyer action",
    "ACCEPTED": "Accepted",
    "DECLINED": "Declined",
}
#: the statuses of a published (sent) quote
PUBLISHED_STATUSES = ("APPROVAL_NOT_NEEDED", "APPROVED")
TICKET_CATEGORIES = {
    "PRODUCT_ISSUE": "Product issue",
    "BILLING_ISSUE": "Billing issue",
    "FEATURE_REQUEST": "Feature request",
    "GENERAL_INQUIRY": "General inquiry",
}
FIRST_CONTACT_PROPERTY = "first_contact_resolution"
LIFECYCLE_STAGES = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
}
LEAD_STATUSES = {
    "NEW": "New",
    "OPEN": "Open",
    "IN_PROGRESS": "In Progress",
    "OPEN_DEAL": "Open Deal",
    "UNQUALIFIED": "Unqualified",
    "ATTEMPTED_TO_CONTACT": "Attempted to Contact",
    "CONNECTED": "Connected",
    "BAD_TIMING": "Bad Timing",
}


def category_value(case_type: str) -> str:
    """The hs_ticket_category value of a case type: its standard option, or one made of it."""
    for value, label in TICKET_CATEGORIES.items():
        if label.casefold() == case_type.casefold():
            return value
    return "".join(ch if ch.isalnum() else "_" for ch in case_type.upper())


def activity_groups(kind: ObjectType) -> tuple[PropertyGroup, ...]:
    return (PropertyGroup(f"{kind.singular}information", f"{kind.singular} information", 0),
            CUSTOM_GROUP)  # fmt: skip


def activity_properties(
    kind: ObjectType,
    created_at: int,
    *,
    pipelines: dict[str, Pipeline],
    lead_sources: Iterable[str] = (),
    case_types: Iterable[str] = (),
) -> list[HsProperty]:
    """Every property of one activity object type."""
    info = f"{kind.singular}information"
    definitions = [*system_definitions(info), *_definitions(kind, info, pipelines,
                                                            lead_sources, case_types)]  # fmt: skip
    return [d.build(order, created_at) for order, d in enumerate(definitions)]


def _enum(
    name: str, label: str, group: str, options: dict[str, str], **kwargs: object
) -> PropertyDef:
    return PropertyDef(name, label, "enumeration", "select", group, options=tuple(options),
                       labels=tuple(options.items()), **kwargs)  # type: ignore[arg-type]  # fmt: skip


def _pipeline_definitions(group: str, pipeline: Pipeline) -> list[PropertyDef]:
    return [
        _enum("hs_pipeline", "Pipeline", group, {pipeline.id: pipeline.label}),
        _enum("hs_pipeline_stage", "Pipeline stage", group,
              {stage.id: stage.label for stage in pipeline.stages}),
    ]  # fmt: skip


def _definitions(
    kind: ObjectType,
    info: str,
    pipelines: dict[str, Pipeline],
    lead_sources: Iterable[str],
    case_types: Iterable[str],
) -> list[PropertyDef]:
    custom = CUSTOM_GROUP.name
    timestamp = PropertyDef("hs_timestamp", "Activity date", "datetime", "date", info)
    if kind is LEADS:
        return [
            text_definition("hs_lead_name", "Lead name", info),
            *_pipeline_definitions(info, pipelines[LEADS.name]),
            _enum("lead_source", "Lead source", custom, {s: s for s in lead_sources},
                  custom=True),
        ]  # fmt: skip
    if kind is QUOTES:
        return [
            text_definition("hs_title", "Quote name", info),
            _enum("hs_status", "Quote approval status", info, QUOTE_STATUSES),
            PropertyDef("hs_expiration_date", "Expiration date", "datetime", "date", info),
        ]
    if kind is TICKETS:
        categories = {**TICKET_CATEGORIES, **{category_value(t): t for t in case_types}}
        return [
            text_definition("subject", "Ticket name", info),
            PropertyDef("content", "Ticket description", "string", "textarea", info),
            *_pipeline_definitions(info, pipelines[TICKETS.name]),
            _enum("hs_ticket_category", "Category", info, categories),
            PropertyDef("closed_date", "Close date", "datetime", "date", info),
            PropertyDef(FIRST_CONTACT_PROPERTY, "Resolved at first contact", "bool",
                        "booleancheckbox", custom, custom=True),
        ]  # fmt: skip
    if kind is CALLS:
        return [
            timestamp,
            text_definition("hs_call_title", "Call title", info),
            PropertyDef("hs_call_body", "Call notes", "string", "html", info),
            _enum("hs_call_direction", "Call direction", info,
                  {"INBOUND": "Inbound", "OUTBOUND": "Outbound"}),
            _enum("hs_call_status", "Call status", info,
                  {s: s.capitalize() for s in ("BUSY", "CALLING_CRM_USER", "CANCELED",
                                                "COMPLETED", "CONNECTING", "FAILED",
                                                "IN_PROGRESS", "NO_ANSWER", "QUEUED",
                                                "RINGING")}),
            PropertyDef("hs_call_duration", "Call duration", "number", "number", info),
            _enum("hs_call_disposition", "Call outcome", info, CALL_DISPOSITIONS),
        ]  # fmt: skip
    if kind is EMAILS:
        return [
            timestamp,
            text_definition("hs_email_subject", "Subject", info),
            _enum("hs_email_direction", "Email direction", info,
                  {"EMAIL": "Outgoing", "INCOMING_EMAIL": "Incoming",
                   "FORWARDED_EMAIL": "Forwarded"}),
        ]  # fmt: skip
    if kind is CONTACTS:
        return [
            PropertyDef("lastmodifieddate", "Last Modified Date", "datetime", "date", info,
                        read_only=True, calculated=True),
            text_definition("email", "Email", info),
            text_definition("firstname", "First Name", info),
            text_definition("lastname", "Last Name", info),
            _enum("lifecyclestage", "Lifecycle Stage", info, LIFECYCLE_STAGES),
            _enum("hs_lead_status", "Lead Status", info, LEAD_STATUSES),
            PropertyDef("hs_lifecyclestage_lead_date", "Became a Lead Date", "datetime", "date",
                        info, read_only=True, calculated=True),
            PropertyDef("hs_lifecyclestage_opportunity_date", "Became an Opportunity Date",
                        "datetime", "date", info, read_only=True, calculated=True),
            _enum("lead_source", "Lead source", custom, {s: s for s in lead_sources},
                  custom=True),
        ]  # fmt: skip
    if kind is LINE_ITEMS:
        return [
            text_definition("name", "Name", info),
            PropertyDef("hs_product_id", "Product ID", "number", "number", info),
            PropertyDef("quantity", "Quantity", "number", "number", info),
            PropertyDef("price", "Unit price", "number", "number", info, currency=True),
            PropertyDef("amount", "Net price", "number", "number", info, read_only=True,
                        calculated=True, currency=True),
        ]  # fmt: skip
    raise AssertionError(f"not an activity object: {kind.name}")

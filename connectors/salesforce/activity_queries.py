"""What the Salesforce adapter reads for leads, quotes, cases, calls and line items.

Declarations, like ``queries``: per activity stream, the object read, its fields, the
objects behind them (for ``activity_access``) and, where a change to a child does not
touch its parent's SystemModstamp, the child read that finds the parents to read again.

- leads: Lead (PartnerAccountId: the partner the lead was handed to or registered by;
  needs partner relationship management, as Opportunity.PartnerAccountId does);
- quotes: Quote on its opportunity. Salesforce has no "sent" field on Quote: "Email
  Quote" (and "Create PDF") make a QuoteDocument, the PDF the customer receives
  (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_quotedocument.htm),
  so by default (``crm.quote_sent_source: quote_document``) the sent date is the
  CreatedDate of the quote's first QuoteDocument, read in the same query as a
  parent-to-child subquery. Orgs that stamp the date themselves (a flow setting a
  custom date field when Status becomes Presented) set ``quote_sent_source: field``
  and ``quote_sent_field``. A PDF made and never sent counts as sent: the one
  imprecision of the default, stated here;
- cases: Case, with two subqueries: its Tasks (each a logged contact: call, email or
  task) and its CaseHistory rows of Field Status (a reopen is a move from a closed
  status to an open one, closed as the org's CaseStatus rows say);
- calls: Task with TaskSubtype = 'Call' (the subtype Salesforce gives a logged call),
  WhatId the opportunity, CallDurationInSeconds and CallDisposition;
- line items: OpportunityLineItem with Product2.Name (Product2Id is on the line from
  API 30.0) and TotalPrice, in the opportunity's currency.

The Bulk API refuses subqueries ("Aggregate Relationships not supported in Bulk V2
Query with CSV content type", https://github.com/jsforce/jsforce/issues/732), so cases,
and quotes read with their documents, are read over REST at any size (one call per
2,000 parents, their children inline); leads, calls and line items turn to Bulk API 2.0
past ``crm.bulk_threshold`` as opportunities do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from connectors.salesforce.queries import (
    CURRENCY_FIELD,
    PARTNER_ACCOUNT_FIELD,
    SYSTEM_FIELDS,
    Kind,
    Select,
    SoqlField,
    fields,
    incremental,
)
from connectors.salesforce.settings import SalesforceSettings

LEAD = "Lead"
QUOTE = "Quote"
QUOTE_DOCUMENT = "QuoteDocument"
CASE = "Case"
CASE_STATUS = "CaseStatus"
CASE_HISTORY = "CaseHistory"
TASK = "Task"
LINE_ITEM = "OpportunityLineItem"
PRODUCT = "Product2"
#: the key prefixes of the objects a Task's WhatId may name that the reads tell apart
OPPORTUNITY_PREFIX = "006"
CASE_PREFIX = "500"

TASKS = "Tasks"
HISTORIES = "Histories"
QUOTE_DOCUMENTS = "QuoteDocuments"

LEAD_FIELDS = SYSTEM_FIELDS + fields(
    PARTNER_ACCOUNT_FIELD,
    "Status",
    ("IsConverted", Kind.BOOLEAN),
    ("ConvertedDate", Kind.DATE),
    "ConvertedOpportunityId",
    "LeadSource",
    ("CreatedDate", Kind.DATETIME),
)
QUOTE_FIELDS = SYSTEM_FIELDS + fields("OpportunityId", "Status", ("CreatedDate", Kind.DATETIME))
CASE_FIELDS = SYSTEM_FIELDS + fields(
    "AccountId",
    "Type",
    "Status",
    ("IsClosed", Kind.BOOLEAN),
    ("ClosedDate", Kind.DATETIME),
    ("CreatedDate", Kind.DATETIME),
)
CALL_FIELDS = SYSTEM_FIELDS + fields(
    "WhatId",
    ("ActivityDate", Kind.DATE),
    ("CallDurationInSeconds", Kind.INTEGER),
    "CallDisposition",
    ("CreatedDate", Kind.DATETIME),
)
LINE_ITEM_FIELDS = SYSTEM_FIELDS + fields(
    "OpportunityId", ("Quantity", Kind.NUMBER), ("TotalPrice", Kind.NUMBER), "Product2.Name"
)
CASE_STATUS_SELECT = Select(CASE_STATUS, fields("ApiName", ("IsClosed", Kind.BOOLEAN)))

#: the subqueries: deleted children are left out (queryAll would list them)
CASE_TASKS = SoqlField(TASKS, Kind.CHILDREN, f"SELECT Id FROM {TASKS} WHERE IsDeleted = false")
CASE_STATUS_HISTORY = SoqlField(
    HISTORIES,
    Kind.CHILDREN,
    f"SELECT OldValue, NewValue, CreatedDate FROM {HISTORIES} "
    "WHERE Field = 'Status' AND IsDeleted = false ORDER BY CreatedDate ASC",
)
FIRST_QUOTE_DOCUMENT = SoqlField(
    QUOTE_DOCUMENTS,
    Kind.CHILDREN,
    f"SELECT CreatedDate FROM {QUOTE_DOCUMENTS} WHERE IsDeleted = false "
    "ORDER BY CreatedDate ASC LIMIT 1",
)


@dataclass(frozen=True)
class StreamRead:
    """One stream's read: the select, whether the Bulk API may run it, the objects (with
    the fields each must show) the integration user needs, and the child whose changes
    send its parents to be read again (object, field naming the parent, parent prefix)."""

    select: Select
    bulk: bool
    needs: dict[str, tuple[str, ...]]
    touched_by: tuple[str, str, str | None] | None = None


def _names(selected: tuple[SoqlField, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in selected if f.kind is not Kind.CHILDREN)


def stream_read(
    stream: str,
    settings: SalesforceSettings,
    multi_currency: bool,
    first_contact_field: str | None = None,
) -> StreamRead:
    """How ``stream`` is read from an org with these settings (and the Case checkbox that
    ``scoring.first_contact_field`` names, if any)."""
    if stream == "leads":
        return StreamRead(Select(LEAD, LEAD_FIELDS), True, {LEAD: _names(LEAD_FIELDS)})
    if stream == "quotes":
        if settings.quote_sent_source == "field":
            assert settings.quote_sent_field is not None  # the settings' validator saw to it
            selected = QUOTE_FIELDS + fields((settings.quote_sent_field, Kind.DATE))
            return StreamRead(Select(QUOTE, selected), True, {QUOTE: _names(selected)})
        selected = (*QUOTE_FIELDS, FIRST_QUOTE_DOCUMENT)
        return StreamRead(
            Select(QUOTE, selected),
            False,
            {QUOTE: _names(QUOTE_FIELDS), QUOTE_DOCUMENT: ("Id", "QuoteId", "CreatedDate")},
            touched_by=(QUOTE_DOCUMENT, "QuoteId", None),
        )
    if stream == "cases":
        extra = fields((first_contact_field, Kind.BOOLEAN)) if first_contact_field else ()
        selected = (*CASE_FIELDS, *extra, CASE_TASKS, CASE_STATUS_HISTORY)
        return StreamRead(
            Select(CASE, selected),
            False,
            {
                CASE: _names(CASE_FIELDS + extra),
                CASE_STATUS: ("ApiName", "IsClosed"),
                CASE_HISTORY: ("CaseId", "Field", "OldValue", "NewValue", "CreatedDate"),
                TASK: ("Id", "WhatId"),
            },
            touched_by=(TASK, "WhatId", CASE_PREFIX),
        )
    if stream == "calls":
        return StreamRead(
            Select(TASK, CALL_FIELDS, where="TaskSubtype = 'Call'"),
            True,
            {TASK: (*_names(CALL_FIELDS), "TaskSubtype")},
        )
    if stream == "line_items":
        selected = LINE_ITEM_FIELDS + (fields(CURRENCY_FIELD) if multi_currency else ())
        return StreamRead(
            Select(LINE_ITEM, selected),
            True,
            {LINE_ITEM: (*tuple(n for n in _names(selected) if "." not in n), "Product2Id"),
             PRODUCT: ("Name",)},
        )  # fmt: skip
    raise ValueError(f"no activity stream {stream!r}")


def live_ids_select(stream: str, settings: SalesforceSettings) -> Select:
    """The ids of ``stream``'s live records: its object with the read's own filter (a call is
    a Task of subtype Call), ``Id`` alone, no subquery, so the Bulk API can run it too."""
    read = stream_read(stream, settings, multi_currency=False).select
    return Select(read.sobject, fields("Id"), where=read.where)


def touched_select(read: StreamRead, since_start: object) -> Select:
    """The child rows changed (or deleted) since the read's start: their parent's id."""
    assert read.touched_by is not None
    child, parent_field, _ = read.touched_by
    base = Select(child, fields("Id", parent_field))
    return incremental(base, since_start)  # type: ignore[arg-type]


def with_deleted(select: Select) -> Select:
    """``select`` over queryAll: a re-read of touched parents sees the deleted ones too."""
    return replace(select, include_deleted=True)

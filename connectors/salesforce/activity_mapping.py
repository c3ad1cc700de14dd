"""Rows of Lead, Quote, Case, Task (calls) and OpportunityLineItem into the common schema.

Dates are the UTC day of Salesforce's datetimes (CreatedDate, ClosedDate), as the
opportunity mapping reads them. A subquery's children come as Salesforce nests them
(``{"totalSize", "done", "records"}`` or None); ``children`` gathers them, following
``nextRecordsUrl`` when Salesforce pages a long child list.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from connectors.salesforce.activity_queries import OPPORTUNITY_PREFIX
from connectors.salesforce.mapping import CurrencyTable, Row
from connectors.salesforce.queries import CURRENCY_FIELD
from core.errors import SchemaError
from core.schema import Call, CallOutcome, Case, Lead, LineItem, Quote

#: more pages of one parent's children: ``nextRecordsUrl`` → the next nested result
MorePages = Callable[[str], Mapping[str, Any]]


def children(nested: Any, more: MorePages) -> list[dict[str, Any]]:
    """Every child record of a subquery result (None: no children)."""
    records: list[dict[str, Any]] = []
    while isinstance(nested, Mapping):
        records.extend(nested.get("records") or [])
        next_url = nested.get("nextRecordsUrl")
        if nested.get("done", True) or not next_url:
            break
        nested = more(str(next_url))
    return records


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _validated(model: Callable[..., Any], label: str, record_id: Any, **values: Any) -> Any:
    try:
        return model(id=record_id, **values)
    except ValidationError as exc:
        raise SchemaError(
            f"Salesforce {label} {record_id!r} does not fit the schema: {exc.errors()[0]['msg']}",
            record_id=str(record_id),
        ) from None


def lead_from_row(row: Row) -> Lead:
    converted = bool(row["IsConverted"])
    result: Lead = _validated(
        Lead, "Lead", row["Id"],
        partner_id=row["PartnerAccountId"] or None,
        created_date=_day(row["CreatedDate"]),
        status=row["Status"],
        converted_date=_day(row["ConvertedDate"]) if converted else None,
        converted_opportunity_id=row["ConvertedOpportunityId"] or None,
        lead_source=row["LeadSource"] or None,
    )  # fmt: skip
    return result


def quote_from_row(row: Row, sent: date | None) -> Quote:
    result: Quote = _validated(
        Quote, "Quote", row["Id"],
        opportunity_id=row["OpportunityId"],
        created_date=_day(row["CreatedDate"]),
        status=row["Status"],
        sent_date=sent,
    )  # fmt: skip
    return result


def first_created(documents: list[dict[str, Any]]) -> date | None:
    """The day the first of a quote's documents was made (its sent date)."""
    days = [d for d in (_day(doc.get("CreatedDate")) for doc in documents) if d is not None]
    return min(days, default=None)


def reopened(history: list[dict[str, Any]], closed: Collection[str]) -> bool:
    """Whether a case's Status history moves from a closed status to an open one."""
    return any(
        str(row.get("OldValue") or "").lower() in closed
        and str(row.get("NewValue") or "").lower() not in closed
        for row in history
        if row.get("OldValue") is not None
    )


def case_from_row(
    row: Row, contacts: int, was_reopened: bool, first_contact_field: str | None
) -> Case:
    resolved = None if first_contact_field is None else bool(row[first_contact_field])
    result: Case = _validated(
        Case, "Case", row["Id"],
        account_id=row["AccountId"] or None,
        created_date=_day(row["CreatedDate"]),
        closed_date=_day(row["ClosedDate"]) if row["IsClosed"] else None,
        type=row["Type"] or None,
        contact_count=contacts,
        reopened=was_reopened,
        first_contact_resolved=resolved,
    )  # fmt: skip
    return result


def call_outcome(disposition: Any, dispositions: Mapping[str, str]) -> CallOutcome | None:
    """A CallDisposition as an outcome (any case); unmapped text is ``other``, none None."""
    if disposition is None or str(disposition).strip() == "":
        return None
    lowered = {key.lower(): value for key, value in dispositions.items()}
    return CallOutcome(lowered.get(str(disposition).strip().lower(), CallOutcome.OTHER.value))


def call_from_row(row: Row, dispositions: Mapping[str, str]) -> Call:
    what = str(row["WhatId"] or "")
    result: Call = _validated(
        Call, "Task", row["Id"],
        opportunity_id=what if what.startswith(OPPORTUNITY_PREFIX) else None,
        call_date=_day(row["ActivityDate"]) or _day(row["CreatedDate"]),
        duration_seconds=row["CallDurationInSeconds"],
        outcome=call_outcome(row["CallDisposition"], dispositions),
    )  # fmt: skip
    return result


def line_item_from_row(row: Row, currencies: CurrencyTable) -> LineItem:
    total = row["TotalPrice"]
    if total is not None and currencies.multi_currency:
        total = currencies.to_corporate(total, str(row[CURRENCY_FIELD] or currencies.corporate))
    result: LineItem = _validated(
        LineItem, "OpportunityLineItem", row["Id"],
        opportunity_id=row["OpportunityId"],
        product=row["Product2.Name"],
        quantity=row["Quantity"],
        amount=total,
    )  # fmt: skip
    return result

"""What the HubSpot adapter reads: object types, property names, request builders, the API's sizes.

Declarations, not loops: the paging lives in ``paging``, the wire in ``client``.
Sizes are HubSpot's documented limits (CRM API v3/v4), which the sandbox enforces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

CRM = "hubspot"

DEALS = "deals"
COMPANIES = "companies"
#: the object types with a generated API package of their own (the others: crm.objects)
OWN_APIS = (DEALS, COMPANIES)

#: Score outputs whose default property name is not just "partner_" + the output's name.
_PROPERTY_WORDS = {"drivers": "score_drivers"}


def score_property_name(output: str) -> str:
    """partner_score, partner_tier, partner_score_drivers, partner_close_rate …"""
    return f"partner_{_PROPERTY_WORDS.get(output, output)}"


#: Days an archived record is listed with ``archived=true`` before HubSpot purges it
#: ("Deleted contacts can be restored within 90 days of deletion"; deals and companies
#: alike: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/delete-contact).
ARCHIVE_RETENTION_DAYS = 90
#: Records in one list (GET /crm/v3/objects/{type}) page: HubSpot's maximum.
LIST_PAGE_SIZE = 100
#: ...and with ``propertiesWithHistory``, both for lists and batch reads.
HISTORY_PAGE_SIZE = 50
#: Records in one search page, and how far a search may page (HTTP 400 past it).
SEARCH_PAGE_SIZE = 200
SEARCH_RESULT_CAP = 10_000
#: Characters of one search request body HubSpot accepts.
SEARCH_MAX_BODY_CHARS = 3_000
#: Ids one NOT_IN filter carries here (HubSpot states no maximum; 100 keeps the body small).
SEARCH_MAX_IN_VALUES = 100
#: Filters HubSpot accepts in one filter group.
SEARCH_MAX_FILTERS_PER_GROUP = 6
#: Inputs of one batch read or batch update of objects.
BATCH_SIZE = 100
#: Inputs of one v4 associations batch read (HubSpot changelog, effective 2025-02-10).
ASSOCIATION_BATCH_SIZE = 1_000
#: A query string longer than this risks HTTP 414 at HubSpot's edge.
MAX_QUERY_STRING_CHARS = 6_000

ID = "hs_object_id"
MODIFIED = "hs_lastmodifieddate"
#: what contacts stamp each change in (search on their hs_lastmodifieddate finds nothing:
#: https://community.hubspot.com/t5/APIs-Integrations/CRM-V3-API-Search-issue-with-Contacts-when-using-Filters/m-p/324617)
CONTACT_MODIFIED = "lastmodifieddate"
CREATED = "createdate"
NAME = "name"
DEAL_NAME = "dealname"
DEAL_STAGE = "dealstage"
PIPELINE = "pipeline"
CLOSE_DATE = "closedate"
AMOUNT = "amount"
AMOUNT_HOME = "amount_in_home_currency"
CURRENCY = "deal_currency_code"
STAGE_ENTERED_PREFIX = "hs_v2_date_entered_"
STAGE_EXITED_PREFIX = "hs_v2_date_exited_"

#: HubSpot's own label definition of a deal's primary company (its customer).
PRIMARY_LABEL = "Primary"
PRIMARY_CATEGORY = "HUBSPOT_DEFINED"
#: Its type id in every portal, used if the label list ever omits it.
PRIMARY_DEAL_TO_COMPANY_TYPE_ID = 5

#: Properties every deal read asks for (the stage-date ones are added per pipeline).
DEAL_STAGE_PROPERTIES = (CREATED, MODIFIED, DEAL_STAGE, PIPELINE)
DEAL_PROPERTIES = (*DEAL_STAGE_PROPERTIES, DEAL_NAME, AMOUNT, AMOUNT_HOME, CURRENCY, CLOSE_DATE)

#: What a sync needs the private app to be granted (shown with 403s).
SCOPES = (
    "crm.objects.companies.read",
    "crm.objects.deals.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
)
#: The read scope of each activity object, as HubSpot's API reference names it (tickets:
#: ``tickets``; calls and emails are engagements, read with the contacts scope).
ACTIVITY_READ_SCOPES = {
    "leads": "crm.objects.leads.read",
    "quotes": "crm.objects.quotes.read",
    "tickets": "tickets",
    "calls": "crm.objects.contacts.read",
    "emails": "crm.objects.contacts.read",
    "line_items": "crm.objects.line_items.read",
    "contacts": "crm.objects.contacts.read",
}
#: Writing score values needs the first; making their properties (fields create) both.
WRITE_SCOPES = ("crm.objects.companies.write", "crm.schemas.companies.write")


def stage_date_properties(stage_ids: Iterable[str]) -> list[str]:
    """hs_v2_date_entered_<id> and hs_v2_date_exited_<id> of each stage."""
    names: list[str] = []
    for stage_id in stage_ids:
        names += [f"{STAGE_ENTERED_PREFIX}{stage_id}", f"{STAGE_EXITED_PREFIX}{stage_id}"]
    return names


def deal_properties(lead_source: str, stage_ids: Iterable[str]) -> list[str]:
    """What an opportunity read asks for: the schema's fields and the stage dates."""
    return list(dict.fromkeys([*DEAL_PROPERTIES, lead_source, *stage_date_properties(stage_ids)]))


def stage_properties(stage_ids: Iterable[str]) -> list[str]:
    """What a stage-history read asks for."""
    return list(dict.fromkeys([*DEAL_STAGE_PROPERTIES, *stage_date_properties(stage_ids)]))


def partner_properties(extra: Iterable[str | None]) -> list[str]:
    """What a partner read asks for: the name and the configured region/manager/tier."""
    return list(dict.fromkeys([ID, NAME, *(name for name in extra if name)]))


def condition(prop: str, operator: str, value: str | int | None = None) -> dict[str, Any]:
    """One search filter."""
    item: dict[str, Any] = {"propertyName": prop, "operator": operator}
    if value is not None:
        item["value"] = str(value)
    return item


def search_body(
    filters: Sequence[dict[str, Any]], sort: str, properties: Sequence[str], limit: int
) -> dict[str, Any]:
    """A search request: one filter group (ANDed), one ascending sort, the page size."""
    return {
        "filterGroups": [{"filters": list(filters)}] if filters else [],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
        "after": "0",
    }


def body_chars(body: dict[str, Any]) -> int:
    """A search body's length as the client sends it (json.dumps' default separators)."""
    return len(json.dumps(body))


def query_string_chars(properties: Sequence[str]) -> int:
    """The length of ``properties=a&properties=b…`` in a list request."""
    return sum(len("properties=&") + len(name) for name in properties)

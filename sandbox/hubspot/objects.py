"""The CRM object types the sandbox portal holds, and how URLs name them.

HubSpot accepts an object type by its plural name (``deals``), its singular
(``deal``) or its type id (``0-3``); every name resolves to one ``ObjectType``.
Type ids are HubSpot's (developers.hubspot.com, "object type IDs"): companies 0-2,
deals 0-3, tickets 0-5, line items 0-8, quotes 0-14, calls 0-48, emails 0-49, leads 0-136,
contacts 0-1.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.hubspot.errors import HubSpotApiError

#: The column that holds the record id (it is also the hs_object_id property).
ID_COLUMN = "hs_object_id"
#: Internal columns (property names start with a letter, so these never clash).
ARCHIVED_COLUMN = "__archived"
ARCHIVED_AT_COLUMN = "__archived_at"
#: Properties every object read returns besides the requested ones.
SYSTEM_PROPERTIES = ("createdate", "hs_lastmodifieddate", "hs_object_id")


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type: its names, table and the properties reads return by default."""

    name: str
    singular: str
    type_id: str
    default_properties: tuple[str, ...]
    query_properties: tuple[str, ...]
    #: the property stamped with each change (contacts: lastmodifieddate; their
    #: hs_lastmodifieddate exists but search on it finds nothing, as HubSpot's does)
    modified_column: str = "hs_lastmodifieddate"

    @property
    def system_properties(self) -> tuple[str, ...]:
        """What every read of this type returns besides the requested properties."""
        return ("createdate", self.modified_column, "hs_object_id")

    @property
    def table(self) -> str:
        return f"hs_{self.name}"

    @property
    def upper(self) -> str:
        """The name HubSpot uses in messages: COMPANY, DEAL."""
        return self.singular.upper()

    def __deepcopy__(self, memo: dict[int, object]) -> ObjectType:
        """Itself: there is one of each type (code compares them with ``is``), also in the
        copy of a portal that a sandbox's reset makes."""
        return self


COMPANIES = ObjectType(
    name="companies",
    singular="company",
    type_id="0-2",
    default_properties=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    query_properties=("website", "phone", "name", "domain"),
)
DEALS = ObjectType(
    name="deals",
    singular="deal",
    type_id="0-3",
    default_properties=(
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    query_properties=("dealname", "pipeline", "dealstage", "description", "dealtype"),
)
_SYSTEM = ("createdate", "hs_lastmodifieddate", "hs_object_id")
LEADS = ObjectType(
    name="leads",
    singular="lead",
    type_id="0-136",
    default_properties=(*_SYSTEM, "hs_lead_name", "hs_pipeline", "hs_pipeline_stage"),
    query_properties=("hs_lead_name",),
)
QUOTES = ObjectType(
    name="quotes",
    singular="quote",
    type_id="0-14",
    default_properties=(*_SYSTEM, "hs_expiration_date", "hs_status", "hs_title"),
    query_properties=("hs_title",),
)
TICKETS = ObjectType(
    name="tickets",
    singular="ticket",
    type_id="0-5",
    default_properties=(*_SYSTEM, "content", "hs_pipeline", "hs_pipeline_stage",
                        "hs_ticket_category", "subject"),
    query_properties=("subject", "content"),
)  # fmt: skip
CALLS = ObjectType(
    name="calls",
    singular="call",
    type_id="0-48",
    default_properties=_SYSTEM,
    query_properties=("hs_call_title", "hs_call_body"),
)
EMAILS = ObjectType(
    name="emails",
    singular="email",
    type_id="0-49",
    default_properties=_SYSTEM,
    query_properties=("hs_email_subject",),
)
LINE_ITEMS = ObjectType(
    name="line_items",
    singular="line_item",
    type_id="0-8",
    default_properties=(*_SYSTEM, "amount", "hs_product_id", "name", "price", "quantity"),
    query_properties=("name",),
)
CONTACTS = ObjectType(
    name="contacts",
    singular="contact",
    type_id="0-1",
    default_properties=("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                        "lastname"),
    query_properties=("firstname", "lastname", "email"),
    modified_column="lastmodifieddate",
)  # fmt: skip
#: The objects of the partner's funnel, customers and service (and the emails logged on
#: tickets, the contacts of leads), seeded from a dataset's activity.
ACTIVITY_TYPES = (LEADS, QUOTES, TICKETS, CALLS, EMAILS, LINE_ITEMS, CONTACTS)
OBJECT_TYPES = (COMPANIES, DEALS, *ACTIVITY_TYPES)
_BY_NAME = {
    alias: object_type
    for object_type in OBJECT_TYPES
    for alias in (object_type.name, object_type.singular, object_type.type_id)
}


def resolve_object_type(name: str) -> ObjectType:
    """The object type a URL names, or HubSpot's 400 for an unknown one."""
    object_type = _BY_NAME.get(name.lower())
    if object_type is None:
        raise HubSpotApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
    return object_type

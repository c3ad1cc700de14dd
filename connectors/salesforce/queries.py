"""What the Salesforce adapter reads: objects, fields, SOQL builders and the API's sizes.

Declarations, not loops: each read is a ``Select`` (object, fields with their
kinds, condition, order) that the client runs over REST or Bulk API 2.0. The
field kinds let a Bulk CSV cell and a REST JSON value become the same Python
value. The builders here escape every value they embed and keep each request
URL under Salesforce's limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import quote_plus

CRM = "salesforce"

#: Records in a REST query page: Salesforce's maximum (and default) batch size.
QUERY_PAGE_SIZE = 2000
#: Records asked for in one Bulk API 2.0 result request (its ``maxRecords``).
BULK_RESULT_PAGE_SIZE = 50_000
#: Records in one sObject Collections call.
COLLECTION_SIZE = 200
#: Subrequests in one Composite request (one call toward the API limits).
COMPOSITE_SIZE = 25
#: Records in one Bulk API 2.0 update job of a writeback: one journal batch, ~2 MB of CSV
#: (a job takes up to 100 MB; smaller jobs keep a killed run's pending batch small).
BULK_WRITE_JOB_SIZE = 10_000
#: Days a deleted record stays in the Recycle Bin, where queryAll and getDeleted see it
#: ("The Recycle Bin lets you view and restore recently deleted records for 15 days before
#: they're permanently deleted"; an admin, or a full bin, empties it sooner:
#: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm).
RECYCLE_BIN_DAYS = 15
#: Score outputs whose default field name is not just "Partner_" + the output's name.
_FIELD_WORDS = {"drivers": "score_drivers"}


def score_field_name(output: str) -> str:
    """Partner_Score__c, Partner_Tier__c, Partner_Score_Drivers__c, Partner_Close_Rate__c …"""
    words = ["partner", *_FIELD_WORDS.get(output, output).split("_")]
    return "_".join(word.capitalize() for word in words) + "__c"


def score_field_extra(kind: str, length: int) -> dict[str, object]:
    """A new text field needs its length; other kinds need nothing more."""
    return {"length": length} if kind == "text" else {}


#: Salesforce refuses a request whose URI and headers together exceed 16,384 bytes
#: (414 / 431; help.salesforce.com article 000386264). Headers (the bearer token,
#: Sforce-Query-Options, the client's own) get a generous allowance of the total.
MAX_URI_AND_HEADERS_BYTES = 16_384
HEADERS_ALLOWANCE_BYTES = 2_048
MAX_QUERY_URL_BYTES = MAX_URI_AND_HEADERS_BYTES - HEADERS_ALLOWANCE_BYTES
#: OpportunityStage.ApiName exists from API 36.0; older versions join on MasterLabel.
STAGE_API_NAME_SINCE = 36.0
#: Salesforce record ids: 15 case-sensitive or 18 case-safe characters.
RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")

ACCOUNT = "Account"
OPPORTUNITY = "Opportunity"
OPPORTUNITY_STAGE = "OpportunityStage"
OPPORTUNITY_HISTORY = "OpportunityHistory"
OPPORTUNITY_PARTNER = "OpportunityPartner"
CURRENCY_TYPE = "CurrencyType"
CURRENCY_FIELD = "CurrencyIsoCode"
PARTNER_ACCOUNT_FIELD = "PartnerAccountId"
MODSTAMP = "SystemModstamp"


class Kind(StrEnum):
    """How a field's value travels: REST JSON keeps types, Bulk CSV makes all text."""

    TEXT = "text"
    BOOLEAN = "boolean"
    NUMBER = "number"
    INTEGER = "integer"
    DATE = "date"
    DATETIME = "datetime"
    #: a parent-to-child subquery's result (REST only: the Bulk API refuses subqueries)
    CHILDREN = "children"


@dataclass(frozen=True)
class SoqlField:
    """A selected field (or parent path such as ``Owner.Name``) and its kind; a
    parent-to-child subquery is named by its relationship and carries its ``subquery``."""

    name: str
    kind: Kind = Kind.TEXT
    subquery: str | None = None

    @property
    def select_text(self) -> str:
        """How the field is written in a SELECT list."""
        return self.name if self.subquery is None else f"({self.subquery})"


def fields(*specs: str | tuple[str, Kind]) -> tuple[SoqlField, ...]:
    """Field declarations: a bare name is text, a (name, kind) pair anything else."""
    return tuple(
        SoqlField(spec) if isinstance(spec, str) else SoqlField(spec[0], spec[1]) for spec in specs
    )


#: Every incremental read selects these: the key, the deletion flag and the cursor field.
SYSTEM_FIELDS = fields("Id", ("IsDeleted", Kind.BOOLEAN), (MODSTAMP, Kind.DATETIME))

OPPORTUNITY_FIELDS = SYSTEM_FIELDS + fields(
    "Name",
    "AccountId",
    "StageName",
    ("Amount", Kind.NUMBER),
    ("Probability", Kind.NUMBER),
    ("CloseDate", Kind.DATE),
    ("CreatedDate", Kind.DATETIME),
    "LeadSource",
)
HISTORY_FIELDS = SYSTEM_FIELDS + fields(
    "OpportunityId", "StageName", ("CreatedDate", Kind.DATETIME)
)
OPPORTUNITY_PARTNER_FIELDS = SYSTEM_FIELDS + fields(
    "OpportunityId", "AccountToId", "Role", ("IsPrimary", Kind.BOOLEAN)
)
STAGE_FIELDS = fields(
    "Id",
    "MasterLabel",
    ("IsActive", Kind.BOOLEAN),
    ("IsClosed", Kind.BOOLEAN),
    ("IsWon", Kind.BOOLEAN),
    ("DefaultProbability", Kind.NUMBER),
    ("SortOrder", Kind.INTEGER),
)
CURRENCY_FIELDS = fields(
    "Id",
    "IsoCode",
    ("ConversionRate", Kind.NUMBER),
    ("IsCorporate", Kind.BOOLEAN),
    ("IsActive", Kind.BOOLEAN),
)
PARTNER_FIELDS = fields("Id", "Name", "Owner.Name")


@dataclass(frozen=True)
class Select:
    """One SOQL read: what to select from where, in which order, deleted rows or not."""

    sobject: str
    fields: tuple[SoqlField, ...]
    where: str | None = None
    order_by: tuple[str, ...] = ()
    include_deleted: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def soql(self) -> str:
        text = f"SELECT {', '.join(f.select_text for f in self.fields)} FROM {self.sobject}"
        if self.where:
            text += f" WHERE {self.where}"
        if self.order_by:
            text += f" ORDER BY {', '.join(self.order_by)}"
        return text

    def with_fields(self, selected: Sequence[SoqlField]) -> Select:
        return replace(self, fields=tuple(selected))

    def with_where(self, where: str | None) -> Select:
        return replace(self, where=where)


def soql_string(value: str) -> str:
    """A SOQL string literal: quoted, with backslash and quote escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"'{escaped}'"


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal in UTC, to the second (an earlier second only widens ``>=``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def since_condition(since: datetime | None) -> str | None:
    """``SystemModstamp >= since`` (None reads everything)."""
    return None if since is None else f"{MODSTAMP} >= {soql_datetime(since)}"


def all_of(*conditions: str | None) -> str | None:
    """The conditions joined with AND, each parenthesised (SOQL will not mix AND/OR bare)."""
    present = [c for c in conditions if c]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " AND ".join(f"({c})" for c in present)


def incremental(select: Select, since: datetime | None) -> Select:
    """``select`` restricted to records modified at or after ``since``, oldest first, ties by Id.

    Reads include deleted rows (queryAll) so that deletions reach the store.
    """
    return replace(
        select,
        where=all_of(select.where, since_condition(since)),
        order_by=(f"{MODSTAMP} ASC", "Id ASC"),
        include_deleted=True,
    )


def query_url_length(base_url: str, soql: str) -> int:
    """The length of ``{base_url}queryAll/?q=…`` as requests encodes it."""
    return len(base_url) + len("queryAll/?q=") + len(quote_plus(soql))


def fits(base_url: str, select: Select) -> bool:
    """Whether the query's URL stays under Salesforce's URI limit."""
    return query_url_length(base_url, select.soql()) <= MAX_QUERY_URL_BYTES


def split_fields(
    base_url: str, select: Select, keep: int, max_fields: int | None = None
) -> list[tuple[SoqlField, ...]]:
    """``select``'s fields in groups whose queries fit the URI limit (and select at most
    ``max_fields`` fields, where the org refused more as QUERY_TOO_COMPLICATED).

    The first ``keep`` fields (key, cursor, deletion flag) lead the first group;
    every later group starts with ``Id`` so that its rows join back to the first.
    URL-encoding is per character, so each field adds a fixed length.
    """
    groups: list[tuple[SoqlField, ...]] = []
    current = list(select.fields[:keep])
    size = query_url_length(base_url, select.with_fields(current).soql())
    for extra in select.fields[keep:]:
        cost = len(quote_plus(f", {extra.select_text}"))
        full = size + cost > MAX_QUERY_URL_BYTES or (
            max_fields is not None and len(current) >= max_fields
        )
        if full and len(current) > (keep if not groups else 1):
            groups.append(tuple(current))
            current = [SoqlField("Id")]
            size = query_url_length(base_url, select.with_fields(current).soql())
        if size + cost > MAX_QUERY_URL_BYTES:
            raise ValueError(f"field {extra.name!r} alone makes the query too long")
        current.append(extra)
        size += cost
    groups.append(tuple(current))
    return groups


def id_chunks(
    base_url: str, select: Select, ids: Sequence[str], key: str = "Id"
) -> Iterator[Select]:
    """``select`` restricted to ``key IN (…)``, in as few queries as the URI limit allows."""
    for record_id in ids:
        if not RECORD_ID.match(record_id):
            raise ValueError(f"{record_id!r} is not a Salesforce record id")

    def restricted(chunk_ids: Sequence[str]) -> Select:
        listed = ", ".join(soql_string(i) for i in chunk_ids)
        return select.with_where(all_of(select.where, f"{key} IN ({listed})"))

    # the query with an empty list, then a fixed length per id (encoding is per character)
    empty = query_url_length(base_url, restricted([]).soql())
    separator = len(quote_plus(", "))
    chunk: list[str] = []
    size = empty
    for record_id in dict.fromkeys(ids):
        cost = len(quote_plus(soql_string(record_id))) + (separator if chunk else 0)
        if chunk and size + cost > MAX_QUERY_URL_BYTES:
            yield restricted(chunk)
            chunk, size = [], empty
            cost -= separator
        chunk.append(record_id)
        size += cost
    if chunk:
        yield restricted(chunk)


def partner_select(partner_filter: str, region_field: str | None, tier_field: str | None) -> Select:
    """Partner Accounts: the configured filter, with region and tier fields when named."""
    extra = [name for name in (region_field, tier_field) if name]
    return Select(
        sobject=ACCOUNT,
        fields=PARTNER_FIELDS + fields(*dict.fromkeys(extra)),
        where=f"({partner_filter})",
        order_by=("Id ASC",),
    )


def stage_select(api_version: str) -> Select:
    """Every stage, active or not (old deals may sit in a retired stage)."""
    api_name = ("ApiName",) if float(api_version) >= STAGE_API_NAME_SINCE else ()
    return Select(
        sobject=OPPORTUNITY_STAGE,
        fields=STAGE_FIELDS + fields(*api_name),
        order_by=("SortOrder ASC", "Id ASC"),
    )


def currency_select() -> Select:
    """Every currency of a multi-currency org, inactive ones too (old deals use them)."""
    return Select(sobject=CURRENCY_TYPE, fields=CURRENCY_FIELDS, order_by=("IsoCode ASC",))


def opportunity_select(multi_currency: bool, partner_account_id: bool) -> Select:
    """Opportunities with what the schema needs, their currency in multi-currency orgs, and
    PartnerAccountId when it attributes the partner (the field exists only with PRM on)."""
    extra = fields(
        *((PARTNER_ACCOUNT_FIELD,) if partner_account_id else ()),
        *((CURRENCY_FIELD,) if multi_currency else ()),
    )
    return Select(sobject=OPPORTUNITY, fields=OPPORTUNITY_FIELDS + extra)


def history_select() -> Select:
    """Opportunity history rows (a row per change of stage, amount, probability or date)."""
    return Select(sobject=OPPORTUNITY_HISTORY, fields=HISTORY_FIELDS)


def opportunity_partner_select(role: str) -> Select:
    """Primary OpportunityPartner rows of the attributing role."""
    return Select(
        sobject=OPPORTUNITY_PARTNER,
        fields=OPPORTUNITY_PARTNER_FIELDS,
        where=f"IsPrimary = true AND Role = {soql_string(role)}",
        order_by=("Id ASC",),
    )


def opportunity_partner_changes(since: datetime) -> Select:
    """Every OpportunityPartner row changed or deleted since ``since``, any role."""
    return incremental(
        Select(sobject=OPPORTUNITY_PARTNER, fields=fields("Id", "OpportunityId")), since
    )


def count_of(select: Select) -> str:
    """``SELECT COUNT() FROM …`` with ``select``'s condition."""
    text = f"SELECT COUNT() FROM {select.sobject}"
    return f"{text} WHERE {select.where}" if select.where else text


#: What each object must offer for a sync (checked by ``check()``).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    ACCOUNT: ("Id", "Name", "OwnerId", "IsDeleted", MODSTAMP),
    OPPORTUNITY: tuple(f.name for f in OPPORTUNITY_FIELDS),
    OPPORTUNITY_STAGE: tuple(f.name for f in STAGE_FIELDS),
    OPPORTUNITY_HISTORY: tuple(f.name for f in HISTORY_FIELDS),
    OPPORTUNITY_PARTNER: tuple(f.name for f in OPPORTUNITY_PARTNER_FIELDS),
    CURRENCY_TYPE: tuple(f.name for f in CURRENCY_FIELDS),
}

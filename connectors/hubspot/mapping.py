"""HubSpot's JSON → plain values → the common schema, in one place and without I/O.

1. The client hands over each answer's JSON; the functions here turn it into plain
   values (``HsRecord``, ``PipelineInfo``, ``LabelDef``, ``AssociationPage``,
   ``BatchError``, ``PropertyInfo``), so no other module touches HubSpot's JSON or a
   generated model.
2. Those become ``Partner`` and ``Opportunity`` (stages and their history are
   ``stages``, partner and customer associations ``associations``). The rules:

- status comes from the stage's metadata (``isClosed``, ``probability``; won =
  closed with probability 1), never from a stage's label or id;
- a stage is named by its label, so stage names match across CRMs;
- the corporate amount is ``amount_in_home_currency``; ``amount`` and
  ``deal_currency_code`` are kept as the original amount and currency;
- HubSpot datetimes become dates in the account's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.hubspot.queries import (
    AMOUNT,
    AMOUNT_HOME,
    CLOSE_DATE,
    CONTACT_MODIFIED,
    CREATED,
    CURRENCY,
    DEAL_NAME,
    DEAL_STAGE,
    MODIFIED,
    NAME,
    PIPELINE,
)
from core.errors import SchemaError
from core.schema import Opportunity, Partner, StageDef

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


# --- plain records -----------------------------------------------------------------------


@dataclass(frozen=True)
class HsRecord:
    """A CRM object as plain values: id, properties (HubSpot's text), property history.

    ``history`` holds, per property asked with ``propertiesWithHistory``, its
    (value, epoch ms) entries in HubSpot's order (newest first).
    """

    id: str
    properties: Mapping[str, str | None]
    history: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    archived_at_ms: int | None = None

    def get(self, name: str) -> str | None:
        """A property's value; HubSpot's empty string (a cleared property) is None."""
        value = self.properties.get(name)
        return value if value not in (None, "") else None

    @property
    def modified_ms(self) -> int:
        """hs_lastmodifieddate (a contact's lastmodifieddate) in epoch ms (0 if HubSpot left
        it out)."""
        return parse_ms(self.get(MODIFIED)) or parse_ms(self.get(CONTACT_MODIFIED)) or 0

    @property
    def key(self) -> tuple[int, str]:
        """(modified ms, id): what incremental reads order and resume by."""
        return self.modified_ms, self.id


@dataclass(frozen=True)
class StageInfo:
    """A pipeline stage as the pipelines API describes it."""

    id: str
    label: str
    display_order: int
    metadata: Mapping[str, str]
    archived: bool = False


@dataclass(frozen=True)
class PipelineInfo:
    """A deal pipeline and its stages."""

    id: str
    label: str
    display_order: int
    stages: tuple[StageInfo, ...]
    archived: bool = False


@dataclass(frozen=True)
class LabelDef:
    """An association type between two object types: (category, typeId) and its label."""

    category: str
    type_id: int
    label: str | None


@dataclass(frozen=True)
class AssociatedCompany:
    """A company associated with a deal, and the association types between them."""

    company_id: str
    types: frozenset[tuple[str, int]]


@dataclass(frozen=True)
class AssociationPage:
    """One from-object's associated companies in a v4 batch read, and where more start."""

    from_id: str
    companies: list[AssociatedCompany]
    next_after: str | None


@dataclass(frozen=True)
class BatchError:
    """One error of a 207 batch answer: HubSpot's category, the ids it names, the detail."""

    category: str
    message: str
    ids: tuple[str, ...]
    code: str | None = None
    sub_category: str | None = None
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class PropertyInfo:
    """A property definition: enough to check and create score properties."""

    name: str
    type: str
    field_type: str
    group_name: str
    read_only_value: bool
    hubspot_defined: bool
    options: tuple[str, ...] = ()
    #: each option's (value, label)
    option_labels: tuple[tuple[str, str], ...] = ()


# --- time ------------------------------------------------------------------------------------


def parse_ms(text: str | None) -> int | None:
    """Epoch ms from HubSpot's datetime text ("2017-03-01T09:00:00.000Z") or epoch-ms digits."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ms_of(moment)


def ms_of(moment: datetime) -> int:
    """Epoch ms of a datetime (naive ones are UTC), in exact integer arithmetic."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _MS


def moment_of(ms: int) -> datetime:
    """The UTC datetime of epoch ms."""
    return EPOCH + timedelta(milliseconds=ms)


def local_date(ms: int, zone: ZoneInfo) -> date:
    """The calendar date of a HubSpot datetime in the account's time zone."""
    return moment_of(ms).astimezone(zone).date()


def _number(text: str | None, name: str, record_id: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise SchemaError(
            f"deal {record_id!r}: {name} {text!r} is not a number", record_id=record_id
        ) from None


# --- HubSpot's JSON → plain values ---------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items_of(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list (anything else: none)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def next_after(body: Mapping[str, Any]) -> str | None:
    """The cursor of the next page (``paging.next.after``), None on the last page."""
    after = _mapping(_mapping(body.get("paging")).get("next")).get("after")
    return str(after) if after not in (None, "") else None


def record_of(obj: Mapping[str, Any]) -> HsRecord:
    """A SimplePublicObject (HubSpot's JSON) as an HsRecord."""
    history: dict[str, tuple[tuple[str, int], ...]] = {}
    for name, entries in _mapping(obj.get("propertiesWithHistory")).items():
        rows: list[tuple[str, int]] = []
        for entry in items_of(entries):
            ms = parse_ms(str(entry.get("timestamp") or ""))
            if ms is not None:
                rows.append((str(entry.get("value") or ""), ms))
        history[str(name)] = tuple(rows)
    return HsRecord(
        id=str(obj["id"]),
        properties={
            str(k): (None if v is None else str(v))
            for k, v in _mapping(obj.get("properties")).items()
        },
        history=history,
        archived_at_ms=parse_ms(str(obj.get("archivedAt") or "")),
    )


def records_of(body: Mapping[str, Any]) -> list[HsRecord]:
    """The ``results`` of a list, search or batch answer as HsRecords."""
    return [record_of(item) for item in items_of(body.get("results"))]


def batch_errors_of(body: Mapping[str, Any]) -> list[BatchError]:
    """The errors of a 207 answer as BatchError values."""
    errors: list[BatchError] = []
    for item in items_of(body.get("errors")):
        context = _mapping(item.get("context"))
        ids = [str(i) for key in ("ids", "fromObjectId", "id") for i in context.get(key) or []]
        details = items_of(item.get("errors"))
        code = details[0].get("code") if details else None
        named = [
            str(name)
            for detail in details
            for name in _mapping(detail.get("context")).get("propertyName") or []
        ]
        sub = item.get("subCategory")
        errors.append(
            BatchError(
                category=str(item.get("category") or "UNKNOWN"),
                message=str(item.get("message") or ""),
                ids=tuple(ids),
                code=str(code) if code else None,
                sub_category=str(sub) if sub else None,
                properties=tuple(dict.fromkeys(named)),
            )
        )
    return errors


def association_pages_of(body: Mapping[str, Any]) -> list[AssociationPage]:
    """A v4 associations batch read: each deal's companies and association types."""
    pages: list[AssociationPage] = []
    for result in items_of(body.get("results")):
        companies = [
            AssociatedCompany(
                company_id=str(item.get("toObjectId")),
                types=frozenset(
                    (str(t.get("category")), int(t.get("typeId") or 0))
                    for t in items_of(item.get("associationTypes"))
                ),
            )
            for item in items_of(result.get("to"))
        ]
        from_id = str(_mapping(result.get("from")).get("id"))
        pages.append(AssociationPage(from_id, companies, next_after(result)))
    return pages


def label_defs_of(body: Mapping[str, Any]) -> list[LabelDef]:
    """The association types (labels) of an association definitions answer."""
    return [
        LabelDef(
            str(item.get("category")),
            int(item.get("typeId") or 0),
            str(item["label"]) if item.get("label") else None,
        )
        for item in items_of(body.get("results"))
    ]


def pipelines_of(body: Mapping[str, Any]) -> list[PipelineInfo]:
    """The pipelines of a pipelines answer, with their stages and stage metadata."""
    return [
        PipelineInfo(
            id=str(p.get("id")),
            label=str(p.get("label")),
            display_order=int(p.get("displayOrder") or 0),
            archived=bool(p.get("archived")),
            stages=tuple(
                StageInfo(
                    id=str(stage.get("id")),
                    label=str(stage.get("label")),
                    display_order=int(stage.get("displayOrder") or 0),
                    metadata={str(k): str(v) for k, v in _mapping(stage.get("metadata")).items()},
                    archived=bool(stage.get("archived")),
                )
                for stage in items_of(p.get("stages"))
            ),
        )
        for p in items_of(body.get("results"))
    ]


def property_info_of(item: Mapping[str, Any]) -> PropertyInfo:
    """A property definition of HubSpot's JSON."""
    return PropertyInfo(
        name=str(item.get("name")),
        type=str(item.get("type")),
        field_type=str(item.get("fieldType")),
        group_name=str(item.get("groupName")),
        read_only_value=bool(_mapping(item.get("modificationMetadata")).get("readOnlyValue")),
        hubspot_defined=bool(item.get("hubspotDefined")),
        options=tuple(str(o.get("value")) for o in items_of(item.get("options"))),
        option_labels=tuple(
            (str(o.get("value")), str(o.get("label"))) for o in items_of(item.get("options"))
        ),
    )


# --- the stages a sync reads ----------------------------------------------------------------


@dataclass(frozen=True)
class StageCatalog:
    """The stages of the pipelines a sync reads: by stage id, and as schema StageDefs."""

    by_id: Mapping[str, StageDef]
    pipeline_ids: frozenset[str]
    defs: tuple[StageDef, ...]

    def stage_of(self, deal: HsRecord) -> StageDef:
        """The deal's current stage; a stage the metadata does not know is a SchemaError."""
        stage_id = deal.get(DEAL_STAGE)
        found = self.by_id.get(stage_id or "")
        if found is None:
            raise SchemaError(
                f"deal {deal.id!r}: dealstage {stage_id!r} is not a stage of the pipelines read "
                f"({', '.join(sorted(self.pipeline_ids))}); check crm.pipeline",
                record_id=deal.id,
            )
        return found

    def includes(self, deal: HsRecord) -> bool:
        """Whether the deal sits in a pipeline the sync reads."""
        return (deal.get(PIPELINE) or "") in self.pipeline_ids


# --- records -----------------------------------------------------------------------------------


def partner_from_company(
    company: HsRecord,
    region_property: str | None,
    channel_manager_property: str | None,
    tier_property: str | None,
) -> Partner:
    """A partner company as a schema Partner."""
    return Partner(
        id=company.id,
        name=company.get(NAME) or "",
        region=company.get(region_property) if region_property else None,
        channel_manager=company.get(channel_manager_property) if channel_manager_property else None,
        tier=company.get(tier_property) if tier_property else None,
    )


@dataclass(frozen=True)
class DealRules:
    """What turning a deal into an opportunity depends on besides the deal."""

    catalog: StageCatalog
    lead_source_property: str
    company_currency: str
    zone: ZoneInfo


def opportunity_from_deal(
    deal: HsRecord, rules: DealRules, partner_id: str | None, customer_id: str | None
) -> Opportunity:
    """A deal as a schema Opportunity; a value that cannot be mapped names the deal."""
    stage = rules.catalog.stage_of(deal)
    created = parse_ms(deal.get(CREATED))
    if created is None:
        raise SchemaError(f"deal {deal.id!r} has no createdate", record_id=deal.id)
    close = parse_ms(deal.get(CLOSE_DATE))
    currency = deal.get(CURRENCY) or rules.company_currency
    original = _number(deal.get(AMOUNT), AMOUNT, deal.id)
    home = _number(deal.get(AMOUNT_HOME), AMOUNT_HOME, deal.id)
    if home is None and original is not None and currency == rules.company_currency:
        home = original
    try:
        return Opportunity(
            id=deal.id,
            name=deal.get(DEAL_NAME),
            partner_id=partner_id,
            account_id=customer_id,
            stage=stage.name,
            status=stage.status,
            probability=stage.probability,
            amount=home,
            amount_original=original,
            currency=currency,
            created_date=local_date(created, rules.zone),
            close_date=None if close is None else local_date(close, rules.zone),
            lead_source=deal.get(rules.lead_source_property),
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise SchemaError(f"deal {deal.id!r} cannot be mapped: {exc}", record_id=deal.id) from exc

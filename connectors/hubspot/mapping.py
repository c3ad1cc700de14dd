"""HubSpot objects → the common schema, in one place and without I/O.

The client turns the API's models into the plain values here (``HsRecord``,
``PipelineInfo``, ``LabelDef``, ``AssociatedCompany``); these functions turn those
into ``Partner``, ``Opportunity``, ``StageDef`` and ``StageChange``. The rules:

- status comes from the stage's metadata (``isClosed``, ``probability``; won =
  closed with probability 1), never from a stage's label or id;
- a stage is named by its label, so stage names match across CRMs;
- the corporate amount is ``amount_in_home_currency``; ``amount`` and
  ``deal_currency_code`` are kept as the original amount and currency;
- HubSpot datetimes become dates in the account's time zone;
- the partner is the company associated with the configured label's type id,
  the customer the one associated as Primary: association types are compared
  by (category, typeId), never by their text.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.hubspot.queries import (
    AMOUNT,
    AMOUNT_HOME,
    CLOSE_DATE,
    CREATED,
    CURRENCY,
    DEAL_NAME,
    DEAL_STAGE,
    MODIFIED,
    NAME,
    PIPELINE,
    PRIMARY_CATEGORY,
    PRIMARY_DEAL_TO_COMPANY_TYPE_ID,
    PRIMARY_LABEL,
    STAGE_ENTERED_PREFIX,
    STAGE_EXITED_PREFIX,
)
from core.errors import ConfigError, SchemaError
from core.schema import Opportunity, OpportunityStatus, Partner, StageChange, StageDef

logger = logging.getLogger(__name__)

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
        """hs_lastmodifieddate in epoch ms (0 if HubSpot left it out)."""
        return parse_ms(self.get(MODIFIED)) or 0

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


# --- stages ------------------------------------------------------------------------------------


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


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return {"true": True, "false": False}.get(text)


def stage_def_from_info(stage: StageInfo, sort_order: int, pipeline: str) -> StageDef:
    """What HubSpot's stage metadata says: closed or not, and the win probability."""
    closed = _flag(stage.metadata.get("isClosed"))
    raw_probability = stage.metadata.get("probability")
    where = f"stage {stage.label!r} ({stage.id}) of pipeline {pipeline!r}"
    if closed is None:
        raise SchemaError(f"{where} has no isClosed metadata; a deal stage always carries it")
    try:
        probability = float(raw_probability) if raw_probability not in (None, "") else None
    except (TypeError, ValueError):
        probability = None
    if probability is None or not 0.0 <= probability <= 1.0:
        raise SchemaError(
            f"{where}: probability metadata {raw_probability!r} is not a number between 0 and 1"
        )
    if not closed:
        status = OpportunityStatus.OPEN
    elif probability >= 1.0:
        status = OpportunityStatus.WON
    else:
        status = OpportunityStatus.LOST
    return StageDef(name=stage.label, status=status, probability=probability, sort_order=sort_order)


def stage_catalog(pipelines: Sequence[PipelineInfo], wanted: str | None) -> StageCatalog:
    """The stages of the configured pipeline (by id or label), or of every deal pipeline.

    Stages are named by their labels; two pipelines may share a label only if
    their metadata agree (the KPIs key stages by name).
    """
    live = [p for p in pipelines if not p.archived]
    if wanted is not None:
        chosen = [p for p in live if wanted in (p.id, p.label)]
        if not chosen:
            known = ", ".join(f"{p.label} ({p.id})" for p in live) or "none"
            raise ConfigError(
                "crm.pipeline",
                f"no deal pipeline has the id or label {wanted!r} (pipelines: {known})",
            )
        live = chosen[:1]
    by_id: dict[str, StageDef] = {}
    by_name: dict[str, StageDef] = {}
    order = 0
    for pipeline in sorted(live, key=lambda p: (p.display_order, p.id)):
        for stage in sorted(pipeline.stages, key=lambda s: (s.display_order, s.id)):
            order += 1
            stage_def = stage_def_from_info(stage, order, pipeline.label)
            same = by_name.get(stage_def.name)
            if same is not None and (same.status, same.probability) != (
                stage_def.status,
                stage_def.probability,
            ):
                raise SchemaError(
                    f"stage label {stage_def.name!r} means {same.status.value} "
                    f"({same.probability}) in one pipeline and {stage_def.status.value} "
                    f"({stage_def.probability}) in pipeline {pipeline.label!r}; set crm.pipeline "
                    "to read one pipeline"
                )
            by_name.setdefault(stage_def.name, stage_def)
            by_id[stage.id] = by_name[stage_def.name]
    return StageCatalog(
        by_id=by_id,
        pipeline_ids=frozenset(p.id for p in live),
        defs=tuple(by_name.values()),
    )


# --- stage history -----------------------------------------------------------------------------


def visits_from_stage_dates(
    deal: HsRecord, stage_ids: Iterable[str]
) -> list[tuple[str, int]] | None:
    """The deal's stage visits (stage id, entered ms) from hs_v2_date_entered/exited, or None.

    Those properties keep only the latest visit of each stage, so they are used
    only when they prove that no visit is missing: sorted by entry, each visit's
    exit is the next one's entry, the last is the current stage and not exited,
    and the first began when the deal was created. Any repeat visit breaks one
    of these (a visit overwritten by a later one leaves a gap), and the caller
    then reads the full dealstage history instead.
    """
    entered: list[tuple[int, str]] = []
    exited: dict[str, int | None] = {}
    for stage_id in stage_ids:
        ms = parse_ms(deal.get(f"{STAGE_ENTERED_PREFIX}{stage_id}"))
        if ms is not None:
            entered.append((ms, stage_id))
            exited[stage_id] = parse_ms(deal.get(f"{STAGE_EXITED_PREFIX}{stage_id}"))
    if not entered:
        return None
    entered.sort()
    created = parse_ms(deal.get(CREATED))
    if created is None or entered[0][0] != created:
        return None
    if len({ms for ms, _ in entered}) != len(entered):
        return None
    last_stage = entered[-1][1]
    if last_stage != deal.get(DEAL_STAGE) or exited[last_stage] is not None:
        return None
    for (_, stage_id), (next_ms, _) in itertools.pairwise(entered):
        if exited[stage_id] != next_ms:
            return None
    return [(stage_id, ms) for ms, stage_id in entered]


def visits_from_history(deal: HsRecord) -> list[tuple[str, int]]:
    """The deal's stage visits from its dealstage history (every change, repeats included).

    An entry that repeats the stage before it (HubSpot records a value set again)
    is not a change of stage; an empty entry (the stage cleared) is skipped.
    """
    entries = sorted(deal.history.get(DEAL_STAGE, ()), key=lambda entry: entry[1])
    visits: list[tuple[str, int]] = []
    for value, ms in entries:
        if not value or (visits and visits[-1][0] == value):
            continue
        visits.append((value, ms))
    return visits


def stage_change_id(deal_id: str, entered_ms: int, stage_id: str) -> str:
    """A stage change's id: the same visit always gets the same id, so re-reads upsert."""
    return f"{deal_id}:{entered_ms}:{stage_id}"


def stage_changes(
    deal_id: str, visits: Iterable[tuple[str, int]], catalog: StageCatalog
) -> list[StageChange]:
    """Stage visits as schema stage changes, named by the stage's label."""
    changes: list[StageChange] = []
    for stage_id, ms in visits:
        stage = catalog.by_id.get(stage_id)
        if stage is None:
            # a stage since deleted from the pipeline: kept under its id, not dropped
            logger.warning(
                "hubspot: deal %s entered stage %s, which no pipeline has", deal_id, stage_id
            )
        changes.append(
            StageChange(
                id=stage_change_id(deal_id, ms, stage_id),
                opportunity_id=deal_id,
                stage=stage.name if stage is not None else stage_id,
                entered_at=moment_of(ms),
            )
        )
    return changes


# --- associations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    """The association types that make a company a deal's partner and its customer."""

    partner: tuple[str, int]
    customer: tuple[str, int]

    def pick(self, companies: Sequence[AssociatedCompany]) -> tuple[str | None, str | None]:
        """(partner id, customer id) of a deal; the lowest id wins if several carry a type."""
        partners = sorted(
            (c.company_id for c in companies if self.partner in c.types), key=_id_order
        )
        customers = sorted(
            (c.company_id for c in companies if self.customer in c.types), key=_id_order
        )
        return (partners[0] if partners else None, customers[0] if customers else None)


def _id_order(record_id: str) -> tuple[int, str]:
    return (int(record_id), record_id) if record_id.isdigit() else (0, record_id)


def attribution(labels: Sequence[LabelDef], partner_label: str) -> Attribution:
    """Find the partner label's (category, typeId) among the label definitions.

    The label is matched against the definitions once, exactly (then ignoring
    case); each association is then compared by type id only.
    """
    named = [d for d in labels if d.label is not None]
    exact = [d for d in named if d.label == partner_label]
    loose = [d for d in named if d.label and d.label.casefold() == partner_label.casefold()]
    found = exact or loose
    if not found:
        known = ", ".join(sorted({d.label for d in named if d.label})) or "none"
        raise ConfigError(
            "crm.partner_label",
            f"no deal→company association label {partner_label!r} in this account "
            f"(labels: {known}); create it (Settings → Objects → Deals → Associations) "
            "or name an existing one",
        )
    if len({(d.category, d.type_id) for d in found}) > 1:
        raise ConfigError(
            "crm.partner_label",
            f"several deal→company labels are called {partner_label!r}; rename one in HubSpot",
        )
    primary = next(
        (d for d in labels if d.category == PRIMARY_CATEGORY and d.label == PRIMARY_LABEL),
        LabelDef(PRIMARY_CATEGORY, PRIMARY_DEAL_TO_COMPANY_TYPE_ID, PRIMARY_LABEL),
    )
    return Attribution(
        partner=(found[0].category, found[0].type_id), customer=(primary.category, primary.type_id)
    )


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

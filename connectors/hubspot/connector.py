"""``HubSpotConnector``: the Connector protocol over one HubSpot account.

Reads are generators of validated pages.

- Full reads (no cursor) list deals at 100 a page, in id order, so no
  modification time says where they stand: each page (a batch of 1,000 deals)
  but the last has a cursor of a full read in progress, the listing's ``after``
  with the server's clock when the read began, and a run stopped there (the
  daily quota) is continued by the next from that position; a page ends early
  when the quota would stop the run before the next list page and its
  association read, so the pages listed are kept. The last page has
  the normal cursor: the newest modification seen, capped at that moment (for
  a full read in several runs, the moment its first run began), so nothing
  changed during the read is skipped next time. The stage-change read resumes
  the same way; a carry filled by a read continued mid-listing holds only part
  of the deals, so the stage changes then make their own full read.
- Incremental reads search on ``hs_lastmodifieddate >=`` the cursor minus the
  overlap, oldest first, each page a keyset window (``paging``), so HubSpot's
  10,000-result search cap is never reached and no record is lost. Search is
  eventually consistent: a deal written shortly before a read may reach the index
  after a later one, so the read's cursor can pass it; the overlap
  (``crm.overlap_seconds``, 300 s, where the lag reported is seconds) reads it the next
  time. A deal met twice in one read is passed on once per newer version.
- Deletions: archived deals (archivedAt at or after the window) come first, as
  a page of deleted ids; a deal moved out of the configured pipeline is
  reported deleted too; a deal restored is modified then, so it comes back.
- Partners and customers come from v4 association batch reads, 1,000 deals a
  call, matched on the label's (category, typeId).
- Stage history (``crm.stage_history: stage_dates``, the default) is derived
  from ``hs_v2_date_entered/exited_<stage>``, read with the deals at no extra
  call, when those dates prove no visit is missing; only the other deals' history
  is read with ``propertiesWithHistory`` (50 deals a batch read). Those dates
  keep only a stage's latest visit, so a repeat visit always sends its deal to
  the history read. With ``property_history`` every deal's history is read: a
  full read lists 50 deals a page instead of 100. The first costs fewer calls
  while fewer than half the deals need the history read; ``check()`` samples it.
- One pass over the deals feeds both streams: the stage changes derived while
  reading opportunities are carried (``carry``) to ``fetch_stage_changes`` for
  the same window. Neither read needs the other: ``fetch_stage_changes`` alone
  (or while an opportunities read is still going) reads the deals itself and
  returns the same changes; the carry only saves it the calls.

Writes (issue 5) are ``writes``, and the score properties they need
``provisioning``; both share the companies' property definitions with
``check()``, read once and re-read where they may have changed.

Known limits: HubSpot purges an archived deal 90 days after its deletion, and no
read returns it then. The extract keeps when the last complete read began (by the
portal's ``Date``), and a run more than ``deleted_visible_days`` (90, or
``crm.deleted_visible_days``) after it lists every live deal id, and every live id of
each activity object (``fetch_live_ids``, 100 a call), to mark what was purged meanwhile; between
two runs closer than that nothing is missed and nothing extra is read. A change of a
deal's associations alone does not reliably move its ``hs_lastmodifieddate``, and
HubSpot offers no feed of association changes, so a partner re-attributed without any
other change to the deal may only be seen at the next full read (a sync without a
stored cursor).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from connectors.hubspot.activity import ActivityReader
from connectors.hubspot.associations import Attribution, attribution
from connectors.hubspot.carry import Carry
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.deals import DealReader
from connectors.hubspot.mapping import (
    DealRules,
    StageCatalog,
    opportunity_from_deal,
    partner_from_company,
)
from connectors.hubspot.paging import id_keyset_pages, list_pages
from connectors.hubspot.provisioning import CompanyProperties, ScoreProperties, check_scopes
from connectors.hubspot.queries import (
    AMOUNT_HOME,
    COMPANIES,
    CRM,
    CURRENCY,
    DEAL_STAGE,
    DEALS,
    ID,
    LIST_PAGE_SIZE,
    MODIFIED,
    PIPELINE,
    SCOPES,
    WRITE_SCOPES,
    condition,
    deal_properties,
    partner_properties,
    search_body,
    stage_properties,
)
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.stages import (
    changes_of_rows,
    stage_catalog,
    stage_changes,
    visits_from_stage_dates,
)
from connectors.hubspot.writes import CompanyWrites
from core.adapter import ScoringFields
from core.connector import (
    OPPORTUNITIES,
    ApiUsage,
    CheckItem,
    Cursor,
    FieldSpec,
    Page,
    WriteResult,
)
from core.errors import ENDS_A_CHECK, ConfigError, CrmApiError, PartnerKpiError, SchemaError
from core.schema import ACTIVITY_ENTITIES, Opportunity, Partner, StageChange, StageDef

logger = logging.getLogger(__name__)

#: The activity objects some portals lack (the Leads object: Sales Hub Professional and up).
OPTIONAL_OBJECTS = frozenset({"leads"})
#: Deals ``check()`` samples to see how stage history will be read.
CHECK_SAMPLE = 100


class HubSpotConnector:
    """partner-kpi's view of a HubSpot account: partners, deals, stages, history, writeback."""

    crm = CRM

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        client: HubSpotClient | None = None,
        scoring: ScoringFields | None = None,
    ) -> None:
        """Reads the token at once (a missing variable is a ConfigError now); connects lazily.
        ``scoring``: the CRM fields the scoring settings name (a ticket's first-contact box)."""
        self.settings = settings
        self.client = client or HubSpotClient(settings, environ=environ, sleep=sleep)
        self._catalog: StageCatalog | None = None
        self._attribution: Attribution | None = None
        self._carry: Carry | None = None
        self._company_properties = CompanyProperties(self.client)
        self._writes = CompanyWrites(self.client, self._company_properties)
        self._score_properties = ScoreProperties(self.client, settings, self._company_properties)
        self._deals = DealReader(self.client, settings, self.catalog)
        self._activity = ActivityReader(
            self.client,
            settings,
            self.catalog,
            first_contact_property=(scoring or ScoringFields()).first_contact_field,
        )

    # --- metadata ----------------------------------------------------------------------

    def fetch_stage_defs(self) -> list[StageDef]:
        """The stages of the configured pipeline (or all deal pipelines), named by label."""
        self._catalog = stage_catalog(self.client.pipelines(DEALS), self.settings.pipeline)
        return list(self._catalog.defs)

    def catalog(self) -> StageCatalog:
        """The stage catalog, read once per connector."""
        if self._catalog is None:
            self.fetch_stage_defs()
        assert self._catalog is not None
        return self._catalog

    def attribution(self) -> Attribution:
        """The association types of partner and customer, from the label definitions, once."""
        if self._attribution is None:
            labels = self.client.association_labels(DEALS, COMPANIES)
            self._attribution = attribution(labels, self.settings.partner_label)
        return self._attribution

    def _rules(self) -> DealRules:
        return DealRules(
            catalog=self.catalog(),
            lead_source_property=self.settings.lead_source_property,
            company_currency=self.settings.company_currency,
            zone=self.settings.zone,
        )

    # --- reads ---------------------------------------------------------------------------

    def fetch_partners(self) -> Iterator[Page[Partner]]:
        """Every company with ``partner_property = partner_value``, in id order; archived
        partner companies come last, as deleted ids."""
        s = self.settings
        extra = (s.partner_region_property, s.partner_channel_manager_property,
                 s.partner_tier_property)  # fmt: skip
        pages = id_keyset_pages(
            partial(self.client.search, COMPANIES),
            id_of=lambda record: record.id,
            properties=partner_properties(extra),
            filters=[condition(s.partner_property, "EQ", s.partner_value)],
        )
        for records in pages:
            yield Page(records=[partner_from_company(r, *extra) for r in records])
        archived = [
            r.id
            for records in list_pages(
                partial(
                    self.client.list_page,
                    COMPANIES,
                    limit=LIST_PAGE_SIZE,
                    properties=[s.partner_property],
                    archived=True,
                )
            )
            for r in records
            if r.get(s.partner_property) == s.partner_value
        ]
        if archived:
            yield Page(records=[], deleted_ids=archived)

    def fetch_opportunities(self, since: Cursor | None) -> Iterator[Page[Opportunity]]:
        """Deals modified at or after ``since`` minus the overlap (all when None; the rest
        of the listing when ``since`` is a full read in progress).

        Archived deals come first as deleted ids; then pages of up to 1,000
        opportunities (one association batch), each with the cursor after it.
        """
        rules = self._rules()
        catalog = rules.catalog
        attributed = self.attribution()
        window = self._deals.window(since)
        properties, stage_ids, with_history = self._deals.plan(
            window.start_ms, partial(deal_properties, self.settings.lead_source_property)
        )
        if self._carry is not None:
            self._carry.close()
        carry = self._carry = Carry(window.start_ms, mid_listing=window.resumed)
        deleted = self._deals.archived(window.start_ms)
        now = self.client.server_time
        if deleted:
            yield Page(records=[], deleted_ids=deleted)
        batches = self._deals.batches(window, properties, now, with_history, calls_per_batch=1)
        for batch in batches:
            live = [d for d in batch.deals if catalog.includes(d)]
            moved = [d.id for d in batch.deals if not catalog.includes(d)]
            companies = self._deals.companies_of([d.id for d in live])
            records = [
                opportunity_from_deal(d, rules, *attributed.pick(companies.get(d.id, ())))
                for d in live
            ]
            carry.add(self._deals.visits(live, stage_ids), batch.cursor)
            yield Page(records=records, deleted_ids=moved, cursor=batch.cursor)
        carry.finish()

    def fetch_stage_changes(self, since: Cursor | None) -> Iterator[Page[StageChange]]:
        """Every stage visit of the deals modified at or after ``since`` minus the overlap.

        Needs no other read first: on its own it reads the deals for their stages.
        After a finished ``fetch_opportunities`` whose window covers this one it is
        served from that read's carry, at no call; a carry still being filled is left
        to its read. A deal's whole history comes each time it changes (ids are
        deterministic, so re-reads upsert). Changes of archived deals need no
        deletion: the store leaves out the changes of deleted opportunities.
        """
        catalog = self.catalog()
        window = self._deals.window(since)
        carry = self._carry
        if carry is not None and carry.complete:
            self._carry = None  # served once, or of no use to any later read of this window
            if carry.serves(window.start_ms):
                for rows, cursor in carry.pages():
                    yield Page(records=changes_of_rows(rows, catalog), cursor=cursor)
                return
            carry.close()
        properties, stage_ids, with_history = self._deals.plan(window.start_ms, stage_properties)
        now = self.client.server_time
        for batch in self._deals.batches(window, properties, now, with_history):
            live = [d for d in batch.deals if catalog.includes(d)]
            visits = self._deals.visits(live, stage_ids)
            records = [
                change
                for deal_id, deal_visits in visits.items()
                for change in stage_changes(deal_id, deal_visits, catalog)
            ]
            yield Page(records=records, cursor=batch.cursor)

    def fetch_live_ids(self, stream: str) -> Iterator[list[str]]:
        """Ids of every live record of ``stream``: deals in the configured pipelines (the deal
        list, 100 a page, with only ``pipeline``: a deal moved out of them is stored deleted
        too), or the activity stream's object listed 100 a page with no property."""
        if stream != OPPORTUNITIES:
            yield from self._activity.live_ids(stream)
            return
        catalog = self.catalog()
        fetch = partial(self.client.list_page, DEALS, limit=LIST_PAGE_SIZE, properties=[PIPELINE])
        for records in list_pages(fetch):
            yield [record.id for record in records if catalog.includes(record)]

    def activity_access(self) -> dict[str, str | None]:
        """Per activity stream, None when it can be read, else why not: a scope the private
        app lacks (from the token's own scopes, one call), or the object missing from the
        portal. Only the Leads object is missing from some portals (Sales Hub Professional
        and up): a one-record list of it tells (400 or 404 when missing); quotes, tickets,
        calls, line items and contacts exist in every portal."""
        scopes = self.client.token_scopes()
        access: dict[str, str | None] = {}
        for stream in ACTIVITY_ENTITIES:
            plan = self._activity.plans[stream]
            if scopes is not None and plan.scope not in scopes:
                access[stream] = (
                    f"the private app lacks the scope {plan.scope}: HubSpot's "
                    f"{plan.object_type} cannot be read; grant it (Settings → Integrations → "
                    "Private apps → Scopes)"
                )
                continue
            if plan.object_type not in OPTIONAL_OBJECTS:
                access[stream] = None
                continue
            try:
                self.client.list_page(plan.object_type, None, limit=1, properties=[ID])
            except CrmApiError as exc:
                if exc.http_status == 403:
                    access[stream] = (
                        f"HubSpot refused to list {plan.object_type} ({exc.error_code}); grant "
                        f"the private app the scope {plan.scope}"
                    )
                elif exc.http_status in (400, 404):
                    access[stream] = (
                        f"this HubSpot account has no {plan.object_type} object "
                        f"({exc.error_code}: {exc})"
                    )
                else:
                    raise
                continue
            access[stream] = None
        return access

    def fetch_activity(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        """One activity stream's records modified at or after ``since`` minus the overlap
        (all when None, the rest of a full read in progress), archived ones first as
        deleted ids (``connectors.hubspot.activity``)."""
        if stream not in ACTIVITY_ENTITIES:
            raise ValueError(
                f"no activity stream {stream!r} (streams: {', '.join(ACTIVITY_ENTITIES)})"
            )
        return self._activity.fetch(stream, since)

    def crm_time(self) -> datetime | None:
        """The portal's clock at its last answer (HTTP ``Date``)."""
        return self.client.server_time

    @property
    def history_reads(self) -> int:
        """Batch reads of dealstage history made (the deals whose stage dates were not enough)."""
        return self._deals.history_reads

    def usage(self) -> ApiUsage:
        """The quota as HubSpot last reported it (X-HubSpot-RateLimit-*) and the calls made."""
        return self.client.usage()

    # --- check ---------------------------------------------------------------------------

    def check(self) -> list[CheckItem]:
        """Report what a sync needs: token, pipelines, partner companies, deals, the partner
        label, the properties read, the token's scopes and the quota left. Reads only."""
        try:
            self.fetch_stage_defs()
        except (SchemaError, ConfigError) as exc:
            if isinstance(exc, ConfigError) and exc.key != "crm.pipeline":
                raise  # the connection's own config (its CA, its URL): no line after is true
            items = [CheckItem("connection", True, self._token_detail())]
            items.append(CheckItem("pipelines", False, str(exc)))
        else:
            items = [CheckItem("connection", True, self._token_detail())]
            items.append(self._check_pipelines())
        for name, check in (
            ("partner companies", self._check_partners),
            ("deals", self._check_deals),
            ("association label", self._check_label),
            ("deal properties", self._check_deal_properties),
            ("company properties", self._check_company_properties),
        ):
            try:
                items.append(check())
            except ENDS_A_CHECK:
                raise
            except PartnerKpiError as exc:
                items.append(CheckItem(name, False, str(exc)))
        items.append(check_scopes(self.client, (*SCOPES, WRITE_SCOPES[0])))
        items.append(self._check_quota())
        return items

    def _token_detail(self) -> str:
        return (
            f"the private-app token in {self.settings.access_token_env} is accepted by "
            f"{self.settings.base_url}"
        )

    def _check_pipelines(self) -> CheckItem:
        catalog = self.catalog()
        stages = ", ".join(f"{d.name} ({d.status.value}, {d.probability:g})" for d in catalog.defs)
        count = len(catalog.pipeline_ids)
        return CheckItem(
            "pipelines",
            bool(catalog.defs),
            f"{count} deal pipeline{'s' if count != 1 else ''} read; stages: {stages or 'none'}",
        )

    def _count(self, object_type: str, filters: Sequence[dict[str, Any]]) -> int:
        body = search_body(filters, ID, [ID], 1)
        return self.client.search(object_type, body).total

    def _check_partners(self) -> CheckItem:
        s = self.settings
        total = self._count(COMPANIES, [condition(s.partner_property, "EQ", s.partner_value)])
        detail = f"{total} companies have {s.partner_property} = {s.partner_value}"
        if not total:
            detail += "; check crm.partner_property and crm.partner_value"
        return CheckItem("partner companies", total > 0, detail)

    def _check_deals(self) -> CheckItem:
        """Deals readable, and how many of a sample (the newest 100) have stage dates that
        prove their stage history complete: each one that does not costs a history read."""
        stage_ids = sorted(self.catalog().by_id)
        body = search_body([], ID, stage_properties(stage_ids), CHECK_SAMPLE)
        body["sorts"] = [{"propertyName": MODIFIED, "direction": "DESCENDING"}]
        page = self.client.search(DEALS, body)
        sample = [d for d in page.results if self.catalog().includes(d)]
        derived = sum(visits_from_stage_dates(d, stage_ids) is not None for d in sample)
        detail = f"{page.total} deals readable"
        if sample:
            detail += (
                f"; stage history of {derived} of the {len(sample)} newest deals comes from "
                "their stage dates"
            )
            if self.settings.stage_history == "stage_dates" and derived * 2 < len(sample):
                detail += (
                    " (most need a history read: crm.stage_history: property_history "
                    "costs fewer calls here)"
                )
        return CheckItem("deals", True, detail)

    def _check_label(self) -> CheckItem:
        found = self.attribution()
        category, type_id = found.partner
        return CheckItem(
            "association label",
            True,
            f"deal→company label {self.settings.partner_label!r} is typeId {type_id} ({category})",
        )

    def _check_deal_properties(self) -> CheckItem:
        present = {p.name: p for p in self.client.properties(DEALS)}
        lead = self.settings.lead_source_property
        needed = [lead, AMOUNT_HOME, CURRENCY, DEAL_STAGE, PIPELINE]
        missing = [name for name in needed if name not in present]
        if missing:
            return CheckItem(
                "deal properties",
                False,
                f"missing: {', '.join(missing)}"
                + ("; set crm.lead_source_property" if lead in missing else ""),
            )
        return CheckItem(
            "deal properties",
            True,
            f"lead source from {lead} ({present[lead].type}); amounts from {AMOUNT_HOME}",
        )

    def _check_company_properties(self) -> CheckItem:
        s = self.settings
        present = self._company_properties.get(refresh=True)
        named = [s.partner_property, s.partner_region_property,
                 s.partner_channel_manager_property, s.partner_tier_property]  # fmt: skip
        missing = [name for name in named if name and name not in present]
        if missing:
            return CheckItem("company properties", False, f"missing: {', '.join(missing)}")
        prop = present[s.partner_property]
        if prop.options and s.partner_value not in prop.options:
            return CheckItem(
                "company properties",
                False,
                f"{s.partner_property} has no option {s.partner_value!r} "
                f"(options: {', '.join(prop.options)})",
            )
        return CheckItem("company properties", True, f"{', '.join(n for n in named if n)} present")

    def _check_quota(self) -> CheckItem:
        limits = self.client.limits
        if limits.daily is None or limits.daily_remaining is None:
            return CheckItem("api quota", True, "HubSpot sent no daily rate-limit headers")
        share = self.settings.max_quota_share
        used = limits.daily_used or 0
        detail = (
            f"{limits.daily_remaining} of {limits.daily} daily calls left; a run stops once "
            f"{share:.0%} are used"
        )
        if limits.window_max is not None:
            seconds = (limits.interval_ms or 10_000) / 1000
            detail += f"; {limits.window_max} calls per {seconds:g} s"
        return CheckItem("api quota", used / limits.daily < share, detail)

    # --- writeback (issue 5) ---------------------------------------------------------------

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of ``fields`` on partner companies, by id, typed by each property's
        definition (number → float, bool, date, datetime; else text). Absent ids are left out."""
        return self._writes.read_fields(record_ids, fields)

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """Write property values to partner companies: batch update, 100 a call; a 207's
        errors become per-record failures, the others succeed."""
        return self._writes.update_records(updates)

    def ensure_fields(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        """Report each score property on companies, and with ``create`` make the missing ones
        (in the group ``crm.score_property_group``, made first if it is missing)."""
        return self._score_properties.ensure(specs, create)

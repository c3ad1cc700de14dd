"""``HubSpotConnector``: the Connector protocol over one HubSpot account.

Reads are generators of validated pages.

- Full reads (no cursor) list deals at 100 a page, in id order; the cursor
  comes with the last page: the newest modification seen, capped at the
  server's clock when the read began, so nothing changed during the read is
  skipped next time.
- Incremental reads search on ``hs_lastmodifieddate >=`` the cursor minus the
  overlap, oldest first, each page a keyset window (``paging``), so HubSpot's
  10,000-result search cap is never reached and no record is lost.
- Deletions: archived deals (archivedAt at or after the window) come first, as
  a page of deleted ids; a deal moved out of the configured pipeline is
  reported deleted too.
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
- The stage changes derived while reading opportunities are kept (as Arrow
  batches, spilled to a temporary file past ``CARRY_MEMORY_BYTES``) and served
  to ``fetch_stage_changes`` for the same window, so one pass over the deals
  feeds both streams at any size.

Writes (issue 5) go to partner companies through batch update, 100 a call,
each record's outcome reported on its own.

Known limit: a change of a deal's associations alone does not reliably move its
``hs_lastmodifieddate``, and HubSpot offers no feed of association changes, so a
partner re-attributed without any other change to the deal may only be seen at
the next full read (a sync without a stored cursor).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import pyarrow as pa

from connectors.base import ApiUsage, CheckItem, Cursor, FieldSpec, Page, WriteResult
from connectors.errors import ConfigError, PartnerKpiError, SchemaError
from connectors.hubspot.client import (
    BatchError,
    HubSpotApiError,
    HubSpotClient,
    PropertyInfo,
)
from connectors.hubspot.mapping import (
    AssociatedCompany,
    Attribution,
    DealRules,
    HsRecord,
    StageCatalog,
    attribution,
    moment_of,
    ms_of,
    opportunity_from_deal,
    parse_ms,
    partner_from_company,
    stage_catalog,
    stage_changes,
    visits_from_history,
    visits_from_stage_dates,
)
from connectors.hubspot.paging import ModifiedSinceSearch, id_keyset_pages, list_pages
from connectors.hubspot.queries import (
    AMOUNT_HOME,
    ASSOCIATION_BATCH_SIZE,
    BATCH_SIZE,
    COMPANIES,
    CRM,
    CURRENCY,
    DEAL_STAGE,
    DEALS,
    HISTORY_PAGE_SIZE,
    ID,
    LIST_PAGE_SIZE,
    MAX_QUERY_STRING_CHARS,
    MODIFIED,
    PIPELINE,
    SCOPES,
    SEARCH_MAX_BODY_CHARS,
    SEARCH_PAGE_SIZE,
    WRITE_SCOPES,
    body_chars,
    condition,
    deal_properties,
    partner_properties,
    query_string_chars,
    search_body,
    stage_properties,
)
from connectors.hubspot.settings import PROPERTY_NAME, HubSpotSettings
from connectors.schema import Opportunity, Partner, StageChange, StageDef

logger = logging.getLogger(__name__)

#: Bytes of stage changes an opportunities read keeps in memory for the stage-change
#: read (about 40 each) before spilling them to a temporary file.
CARRY_MEMORY_BYTES = 16 * 1024 * 1024
#: Deals ``check()`` samples to see how stage history will be read.
CHECK_SAMPLE = 100
#: Search bodies are kept this far under HubSpot's limit (filters and paging vary).
BODY_MARGIN = 200

#: FieldSpec kinds → (HubSpot type, fieldType) of a new property, and the types accepted.
PROPERTY_KINDS: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "text": ("string", "text"),
    "picklist": ("enumeration", "select"),
    "datetime": ("datetime", "date"),
}
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    "number": frozenset({"number"}),
    "text": frozenset({"string"}),
    "picklist": frozenset({"enumeration"}),
    "datetime": frozenset({"datetime", "date"}),
}

Visit = tuple[str, int]


@dataclass(frozen=True)
class _DealBatch:
    """Up to one association batch of deals, and the cursor to resume from after it."""

    deals: list[HsRecord]
    cursor: Cursor | None


_CARRY_SCHEMA = pa.schema(
    [("deal_id", pa.string()), ("entered_ms", pa.int64()), ("stage_id", pa.string())]
)


class _Carry:
    """Stage visits an opportunities read derived, kept for the stage-change read.

    One Arrow record batch per page, in a temporary file that stays in memory
    up to ``CARRY_MEMORY_BYTES`` and spills to disk past it: one listing of the
    deals feeds both streams however many deals there are, in bounded memory.
    """

    def __init__(self, start_ms: int | None) -> None:
        self.start_ms = start_ms
        self.complete = False
        self._file = tempfile.SpooledTemporaryFile(max_size=CARRY_MEMORY_BYTES)  # noqa: SIM115
        self._writer = pa.ipc.new_stream(self._file, _CARRY_SCHEMA)
        self._cursors: list[Cursor | None] = []

    def add(self, visits: Mapping[str, Sequence[Visit]], cursor: Cursor | None) -> None:
        rows = [(deal_id, ms, stage_id) for deal_id, vs in visits.items() for stage_id, ms in vs]
        columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], []]
        self._writer.write_batch(pa.record_batch(columns, schema=_CARRY_SCHEMA))
        self._cursors.append(cursor)

    def finish(self) -> None:
        """The read that filled it reached its end: it now covers every deal of its window."""
        self._writer.close()
        self.complete = True

    def serves(self, start_ms: int | None) -> bool:
        """Whether the read that filled it covered every deal a read from ``start_ms`` would."""
        if not self.complete:
            return False
        return self.start_ms is None or (start_ms is not None and start_ms >= self.start_ms)

    def pages(self) -> Iterator[tuple[list[tuple[str, int, str]], Cursor | None]]:
        """The carried visits, page by page as they were added, then the file is freed."""
        try:
            self._file.seek(0)
            reader = pa.ipc.open_stream(self._file)
            for batch, cursor in zip(reader, self._cursors, strict=True):
                columns = batch.to_pydict()  # in schema order: deal, ms, stage
                yield list(zip(*columns.values(), strict=True)), cursor
        finally:
            self.close()

    @property
    def on_disk(self) -> bool:
        """Whether the carry outgrew memory and went to its temporary file."""
        return bool(getattr(self._file, "_rolled", False))

    def close(self) -> None:
        self._file.close()


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
    ) -> None:
        """Reads the token at once (a missing variable is a ConfigError now); connects lazily."""
        self.settings = settings
        self.client = client or HubSpotClient(settings, environ=environ, sleep=sleep)
        self._catalog: StageCatalog | None = None
        self._attribution: Attribution | None = None
        self._carry: _Carry | None = None
        self._company_properties: dict[str, PropertyInfo] | None = None
        #: batch reads of dealstage history made (the deals whose stage dates were not enough)
        self.history_reads = 0

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
        """Deals modified at or after ``since`` minus the overlap (all when None).

        Archived deals come first as deleted ids; then pages of up to 1,000
        opportunities (one association batch), each with the cursor after it.
        """
        rules = self._rules()
        catalog = rules.catalog
        attributed = self.attribution()
        start = self._start(since)
        properties, stage_ids, with_history = self._plan(
            start, partial(deal_properties, self.settings.lead_source_property)
        )
        if self._carry is not None:
            self._carry.close()
        carry = self._carry = _Carry(start)
        deleted = self._archived_deals(start)
        cap = self.client.server_time
        if deleted:
            yield Page(records=[], deleted_ids=deleted)
        for batch in self._deal_batches(start, properties, cap, with_history):
            live = [d for d in batch.deals if catalog.includes(d)]
            moved = [d.id for d in batch.deals if not catalog.includes(d)]
            companies = self._companies_of([d.id for d in live])
            records = [
                opportunity_from_deal(d, rules, *attributed.pick(companies.get(d.id, ())))
                for d in live
            ]
            carry.add(self._visits(live, stage_ids), batch.cursor)
            yield Page(records=records, deleted_ids=moved, cursor=batch.cursor)
        carry.finish()

    def fetch_stage_changes(self, since: Cursor | None) -> Iterator[Page[StageChange]]:
        """Every stage visit of the deals modified at or after ``since`` minus the overlap.

        A deal's whole history comes each time it changes (ids are deterministic,
        so re-reads upsert). Served from the opportunities read of the same
        window when there was one; otherwise the deals are read for their stages.
        Changes of archived deals need no deletion: the store leaves out the
        changes of deleted opportunities.
        """
        catalog = self.catalog()
        start = self._start(since)
        carry, self._carry = self._carry, None
        if carry is not None and not carry.serves(start):
            carry.close()
        elif carry is not None:
            for rows, cursor in carry.pages():
                records = [
                    change
                    for deal_id, ms, stage_id in rows
                    for change in stage_changes(deal_id, [(stage_id, ms)], catalog)
                ]
                yield Page(records=records, cursor=cursor)
            return
        properties, stage_ids, with_history = self._plan(start, stage_properties)
        cap = self.client.server_time
        for batch in self._deal_batches(start, properties, cap, with_history):
            live = [d for d in batch.deals if catalog.includes(d)]
            visits = self._visits(live, stage_ids)
            records = [
                change
                for deal_id, deal_visits in visits.items()
                for change in stage_changes(deal_id, deal_visits, catalog)
            ]
            yield Page(records=records, cursor=batch.cursor)

    def usage(self) -> ApiUsage:
        """The quota as HubSpot last reported it (X-HubSpot-RateLimit-*) and the calls made."""
        return self.client.usage()

    # --- read machinery ------------------------------------------------------------------

    def _start(self, since: Cursor | None) -> int | None:
        if since is None:
            return None
        return ms_of(since.modified_at) - self.settings.overlap_seconds * 1000

    def _plan(
        self, start: int | None, properties_for: Callable[[Sequence[str]], list[str]]
    ) -> tuple[list[str], list[str], bool]:
        """How a deal read gets stage history: (properties, stage ids whose dates it reads,
        whether a full read lists each deal's dealstage history with it).

        ``stage_dates`` (the default) asks for every stage's entered/exited dates,
        when the request stays short enough. Otherwise a full read lists deals with
        their history, 50 a page, and an incremental read batch-reads the history
        of the deals it finds, 50 a call.
        """
        if self.settings.stage_history == "stage_dates":
            stage_ids = sorted(self.catalog().by_id)
            properties = properties_for(stage_ids)
            if self._fits(properties, full=start is None):
                return properties, stage_ids, False
        return properties_for([]), [], start is None

    def _fits(self, properties: Sequence[str], *, full: bool) -> bool:
        """Whether a read can ask for these properties (URL or search-body length)."""
        if full:
            fits = query_string_chars(properties) <= MAX_QUERY_STRING_CHARS
        else:
            widest = search_body(
                [condition(MODIFIED, "EQ", 10**13), condition(ID, "GT", 10**20)],
                ID,
                properties,
                SEARCH_PAGE_SIZE,
            )
            fits = body_chars(widest) <= SEARCH_MAX_BODY_CHARS - BODY_MARGIN
        if not fits:
            logger.info(
                "hubspot: %d stage-date properties make the request too long; stage history "
                "comes from propertiesWithHistory instead",
                len(properties),
            )
        return fits

    def _archived_deals(self, start: int | None) -> list[str]:
        """Ids of deals archived at or after ``start`` (all archived ones when None)."""
        fetch = partial(
            self.client.list_page, DEALS, limit=LIST_PAGE_SIZE, properties=[PIPELINE], archived=True
        )
        return [
            r.id
            for records in list_pages(fetch)
            for r in records
            if start is None or r.archived_at_ms is None or r.archived_at_ms >= start
        ]

    def _deal_batches(
        self,
        start: int | None,
        properties: Sequence[str],
        cap: datetime | None,
        with_history: bool = False,
    ) -> Iterator[_DealBatch]:
        """Deals in batches of the association batch size, each with its resume cursor.

        A full read (list, id order) has a cursor on its last batch only; an
        incremental read (search, oldest first) after every batch.
        """
        cap_ms = ms_of(cap) if cap is not None else None
        full = start is None
        if start is None:
            pages = list_pages(
                partial(
                    self.client.list_page,
                    DEALS,
                    limit=HISTORY_PAGE_SIZE if with_history else LIST_PAGE_SIZE,
                    properties=properties,
                    properties_with_history=[DEAL_STAGE] if with_history else [],
                )
            )
        else:
            search = ModifiedSinceSearch(
                partial(self.client.search, DEALS),
                key=lambda record: record.key,
                properties=properties,
            )
            pages = search.pages(start)
        buffer: list[HsRecord] = []
        newest: tuple[int, str] | None = None
        for records in pages:
            buffer += records
            for record in records:
                if newest is None or record.key > newest:
                    newest = record.key
            while len(buffer) >= ASSOCIATION_BATCH_SIZE:
                chunk, buffer = buffer[:ASSOCIATION_BATCH_SIZE], buffer[ASSOCIATION_BATCH_SIZE:]
                yield _DealBatch(chunk, None if full else _cursor(chunk[-1].key, cap_ms))
        if full:
            last = newest if newest is not None else (cap_ms, "") if cap_ms is not None else None
            yield _DealBatch(buffer, None if last is None else _cursor(last, cap_ms))
        elif buffer:
            yield _DealBatch(buffer, _cursor(buffer[-1].key, cap_ms))

    def _companies_of(self, deal_ids: Sequence[str]) -> dict[str, list[AssociatedCompany]]:
        """Each deal's associated companies, in v4 batch reads of up to 1,000 deals."""
        found: dict[str, list[AssociatedCompany]] = {}
        pending: list[tuple[str, str | None]] = [(deal_id, None) for deal_id in deal_ids]
        while pending:
            batch, pending = pending[:ASSOCIATION_BATCH_SIZE], pending[ASSOCIATION_BATCH_SIZE:]
            pages, errors = self.client.associated_companies(batch)
            for page in pages:
                found.setdefault(page.from_id, []).extend(page.companies)
                if page.next_after:
                    pending.append((page.from_id, page.next_after))
            _raise_unexpected(errors, expected="OBJECT_NOT_FOUND")
        return found

    def _visits(
        self, deals: Sequence[HsRecord], stage_ids: Sequence[str]
    ) -> dict[str, list[Visit]]:
        """Each deal's stage visits: from the history it was read with, from its stage dates
        when they prove complete, else from its dealstage history read in batches of 50
        (the API's maximum with history)."""
        visits: dict[str, list[Visit]] = {}
        needed: list[str] = []
        for deal in deals:
            if DEAL_STAGE in deal.history:
                visits[deal.id] = visits_from_history(deal)
                continue
            derived = visits_from_stage_dates(deal, stage_ids) if stage_ids else None
            if derived is None:
                needed.append(deal.id)
            else:
                visits[deal.id] = derived
        for begin in range(0, len(needed), HISTORY_PAGE_SIZE):
            chunk = needed[begin : begin + HISTORY_PAGE_SIZE]
            self.history_reads += 1
            records, errors = self.client.batch_read(
                DEALS, chunk, properties=[DEAL_STAGE], properties_with_history=[DEAL_STAGE]
            )
            for record in records:
                visits[record.id] = visits_from_history(record)
            _raise_unexpected(errors, expected="OBJECT_NOT_FOUND")  # archived since: skipped
        return {deal.id: visits[deal.id] for deal in deals if deal.id in visits}

    # --- check ---------------------------------------------------------------------------

    def check(self) -> list[CheckItem]:
        """Report what a sync needs: token, pipelines, partner companies, deals, the partner
        label, the properties read, the token's scopes and the quota left. Reads only."""
        try:
            self.fetch_stage_defs()
        except (SchemaError, ConfigError) as exc:
            if isinstance(exc, ConfigError) and exc.key != "crm.pipeline":
                return [CheckItem("connection", False, str(exc))]
            items = [CheckItem("connection", True, self._token_detail())]
            items.append(CheckItem("pipelines", False, str(exc)))
        except PartnerKpiError as exc:
            return [CheckItem("connection", False, str(exc))]
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
            except PartnerKpiError as exc:
                items.append(CheckItem(name, False, str(exc)))
        items.append(self._check_scopes((*SCOPES, WRITE_SCOPES[0])))
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
        present = self._company_property_map(refresh=True)
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

    def _company_property_map(self, refresh: bool = False) -> dict[str, PropertyInfo]:
        if self._company_properties is None or refresh:
            self._company_properties = {p.name: p for p in self.client.properties(COMPANIES)}
        return self._company_properties

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of ``fields`` on partner companies, by id, typed by each property's
        definition (number → float, bool, date, datetime; else text). Absent ids are left out."""
        for name in fields:
            if not PROPERTY_NAME.match(name):
                raise SchemaError(f"{name!r} is not a HubSpot property internal name")
        for record_id in record_ids:
            if not record_id.isdigit():
                raise SchemaError(f"{record_id!r} is not a HubSpot record id", record_id=record_id)
        types = {name: p.type for name, p in self._company_property_map().items()}
        ids = list(dict.fromkeys(record_ids))
        values: dict[str, dict[str, Any]] = {}
        for begin in range(0, len(ids), BATCH_SIZE):
            records, errors = self.client.batch_read(
                COMPANIES, ids[begin : begin + BATCH_SIZE], properties=fields
            )
            _raise_unexpected(errors, expected="OBJECT_NOT_FOUND")
            for record in records:
                values[record.id] = {
                    name: _typed(record.get(name), types.get(name)) for name in fields
                }
        return values

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """Write property values to partner companies: batch update, 100 a call; a 207's
        errors become per-record failures, the others succeed."""
        results: list[WriteResult] = []
        items = list(updates.items())
        for begin in range(0, len(items), BATCH_SIZE):
            results.extend(self._update_batch(items[begin : begin + BATCH_SIZE]))
        return results

    def _update_batch(self, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[WriteResult]:
        outcomes: dict[str, WriteResult] = {}
        inputs: list[tuple[str, dict[str, str]]] = []
        for record_id, values in batch:
            written = tuple(values)
            bad = [name for name in written if not PROPERTY_NAME.match(name)]
            if not record_id.isdigit():
                outcomes[record_id] = WriteResult(
                    record_id, False, "INVALID_ID", "not a HubSpot record id", written
                )
            elif bad:
                outcomes[record_id] = WriteResult(
                    record_id, False, "INVALID_PROPERTY_NAME",
                    f"not property internal names: {bad}", tuple(bad),
                )  # fmt: skip
            else:
                inputs.append((record_id, {k: _wire(v) for k, v in values.items()}))
        if inputs:
            written_ids, errors = self.client.batch_update(COMPANIES, inputs)
            failed: dict[str, BatchError] = {}
            for batch_error in errors:
                for record_id in batch_error.ids:
                    failed.setdefault(record_id, batch_error)
            unattributed = next((e for e in errors if not e.ids), None)
            done = set(written_ids)
            for record_id, values in inputs:
                error = failed.get(record_id)
                if error is None and record_id not in done:
                    error = unattributed or BatchError(
                        "UNKNOWN_ERROR", "HubSpot answered neither a result nor an error", ()
                    )
                if error is None:
                    outcomes[record_id] = WriteResult(record_id, True, fields=tuple(values))
                else:
                    outcomes[record_id] = WriteResult(
                        record_id,
                        False,
                        error_code=error.code or error.category,
                        message=error.message,
                        fields=error.properties or tuple(values),
                    )
        return [outcomes[record_id] for record_id, _ in batch]

    def ensure_fields(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        """Report each score property on companies, and with ``create`` make the missing ones
        (in the group ``crm.score_property_group``, made first if it is missing)."""
        existing = self._company_property_map(refresh=True)
        items: list[CheckItem] = []
        group_ready = False
        for spec in specs:
            name = f"property companies.{spec.name}"
            found = existing.get(spec.name)
            if found is not None:
                items.append(CheckItem(name, *_compatible(found, spec)))
                continue
            if not PROPERTY_NAME.match(spec.name) or spec.name.startswith("hs_"):
                items.append(
                    CheckItem(
                        name,
                        False,
                        "a property name is lowercase letters, digits and underscores, not "
                        "starting with hs_ (e.g. partner_score)",
                    )
                )
                continue
            if spec.kind not in PROPERTY_KINDS:
                items.append(CheckItem(name, False, f"unknown field kind {spec.kind!r}"))
                continue
            if not create:
                items.append(CheckItem(name, False, "missing; partner-kpi fields create adds it"))
                continue
            try:
                if not group_ready:
                    self._ensure_group()
                    group_ready = True
                created = self.client.create_property(COMPANIES, self._property_body(spec))
            except PartnerKpiError as exc:
                items.append(CheckItem(name, False, f"not created: {exc}"))
                continue
            existing[created.name] = created
            items.append(
                CheckItem(name, True, f"created ({created.type}) in group {created.group_name}")
            )
        if specs:
            # writing values needs the objects scope; making properties the schemas one too
            items.append(self._check_scopes(WRITE_SCOPES if create else WRITE_SCOPES[:1]))
        return items

    def _check_scopes(self, needed: Sequence[str]) -> CheckItem:
        """Whether the token holds ``needed``: caught before a sync reads anything, rather
        than as a 403 at its first write."""
        granted = self.client.token_scopes()
        if granted is None:
            return CheckItem("token scopes", True, "HubSpot did not say; not checked")
        missing = [scope for scope in needed if scope not in granted]
        if not missing:
            return CheckItem("token scopes", True, f"granted {', '.join(needed)}")
        return CheckItem(
            "token scopes",
            False,
            f"the private app lacks {', '.join(missing)}: add the scope(s) under Settings → "
            "Integrations → Private apps → Scopes (the token keeps its value)",
        )

    def _ensure_group(self) -> None:
        group = self.settings.score_property_group
        if group not in self.client.property_groups(COMPANIES):
            self.client.create_property_group(
                COMPANIES, group, self.settings.score_property_group_label
            )

    def _property_body(self, spec: FieldSpec) -> dict[str, Any]:
        prop_type, field_type = PROPERTY_KINDS[spec.kind]
        body: dict[str, Any] = {
            "name": spec.name,
            "label": spec.label,
            "type": prop_type,
            "fieldType": field_type,
            "groupName": self.settings.score_property_group,
            "description": "Written by partner-kpi.",
        }
        if spec.kind == "picklist":
            body["options"] = [
                {"label": option, "value": option, "displayOrder": order}
                for order, option in enumerate(spec.options)
            ]
        body |= dict(spec.extra)
        return body


# --- helpers -------------------------------------------------------------------------------


def _cursor(key: tuple[int, str], cap_ms: int | None) -> Cursor:
    """The cursor after a record: its modification time and id, capped at the server clock
    when the read began (anything changed after that is read again next time)."""
    ms, record_id = key
    if cap_ms is not None and ms > cap_ms:
        return Cursor(modified_at=moment_of(cap_ms), record_id="")
    return Cursor(modified_at=moment_of(ms), record_id=record_id)


def _raise_unexpected(errors: Sequence[BatchError], *, expected: str) -> None:
    """A 207's errors other than the expected category are errors of the whole call."""
    for error in errors:
        if error.category != expected:
            raise HubSpotApiError(
                error.message,
                error_code=error.code or error.category,
                record_id=error.ids[0] if error.ids else None,
            )


def _typed(value: str | None, prop_type: str | None) -> Any:
    """A property's text as the Python value of its type."""
    if value is None:
        return None
    if prop_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if prop_type == "bool":
        return value.strip().lower() == "true"
    if prop_type == "datetime":
        ms = parse_ms(value)
        return moment_of(ms) if ms is not None else value
    if prop_type == "date":
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _wire(value: Any) -> str:
    """A Python value as HubSpot's property text ("" clears the property)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(ms_of(value if value.tzinfo else value.replace(tzinfo=UTC)))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _compatible(found: PropertyInfo, spec: FieldSpec) -> tuple[bool, str]:
    """Whether an existing property can hold what ``spec`` writes, and why not (with the fix).

    An enumeration must offer every value written (HubSpot refuses any other with
    INVALID_OPTION); HubSpot numbers and strings have no scale or length to check.
    """
    detail = f"exists ({found.type})"
    output = spec.config_key.rpartition(".")[2] or "the output"
    if found.type not in COMPATIBLE_TYPES.get(spec.kind, frozenset()):
        return False, (
            f"{detail}, but a {spec.kind} property is needed: map {output} to another "
            "property (a property's type is never changed)"
        )
    if found.read_only_value or found.hubspot_defined:
        return False, f"{detail}, but its value is read-only (a HubSpot-defined property)"
    missing = [o for o in spec.options if o not in found.options]
    if missing:
        return False, (
            f"{detail}, but has no option {', '.join(missing)}: add "
            f"{'it' if len(missing) == 1 else 'them'} to the property's options, or map "
            f"{output} to a text property"
        )
    return True, detail

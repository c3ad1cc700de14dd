"""``SalesforceConnector``: the Connector protocol over one Salesforce org.

Reads are generators of validated pages. Opportunities and stage history are
read incrementally on ``SystemModstamp`` (``>=`` the cursor minus an overlap,
oldest first, ties by Id, deleted rows included through queryAll), so a page's
cursor is always safe to resume from and the store's upsert by id makes the
overlap harmless. Writes (issue 5) go to partner Accounts through sObject
Collections, 200 records a call, each record's outcome reported on its own.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote_plus, urlparse

from simple_salesforce.util import exception_handler

from connectors.base import ApiUsage, CheckItem, Cursor, FieldSpec, Page, WriteResult
from connectors.errors import CrmApiError, PartnerKpiError, SchemaError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.ingest import ingest_csv, ingest_outcomes, wire_value
from connectors.salesforce.mapping import (
    CurrencyTable,
    Row,
    currency_table,
    opportunity_from_row,
    partner_from_row,
    single_currency,
    stage_change_from_row,
    stage_def_from_row,
)
from connectors.salesforce.queries import (
    ACCOUNT,
    BULK_WRITE_JOB_SIZE,
    COLLECTION_SIZE,
    CRM,
    CURRENCY_FIELD,
    CURRENCY_TYPE,
    FIELD_NAME,
    HISTORY_FIELDS,
    MODSTAMP,
    OPPORTUNITY,
    OPPORTUNITY_HISTORY,
    OPPORTUNITY_PARTNER,
    OPPORTUNITY_PARTNER_FIELDS,
    OPPORTUNITY_STAGE,
    PARTNER_ACCOUNT_FIELD,
    RECORD_ID,
    SYSTEM_FIELDS,
    Select,
    SoqlField,
    currency_select,
    history_select,
    incremental,
    opportunity_partner_changes,
    opportunity_partner_select,
    opportunity_select,
    partner_select,
    soql_string,
    split_fields,
    stage_select,
)
from connectors.salesforce.settings import SalesforceSettings
from connectors.schema import Opportunity, Partner, StageChange, StageDef

logger = logging.getLogger(__name__)

CUSTOM_FIELD_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
#: Describe types a FieldSpec kind accepts in an existing field.
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    "number": frozenset({"double", "percent", "currency", "int"}),
    "text": frozenset({"string", "textarea"}),
    "picklist": frozenset({"picklist"}),
    "datetime": frozenset({"datetime"}),
}


@dataclass(frozen=True)
class _Changes:
    """One page of an incremental read: live rows, deleted ids, the cursor after it."""

    rows: list[Row]
    deleted_ids: list[str]
    cursor: Cursor | None


class SalesforceConnector:
    """partner-kpi's view of a Salesforce org: partners, deals, stages, history, writeback."""

    crm = CRM

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        client: SalesforceClient | None = None,
    ) -> None:
        """Reads the secrets at once (a missing variable is a ConfigError now); connects lazily."""
        self.settings = settings
        self.client = client or SalesforceClient(settings, environ=environ, sleep=sleep)
        self._describes: dict[str, dict[str, Any]] = {}
        self._stages: dict[str, StageDef] | None = None
        self._currencies: CurrencyTable | None = None

    # --- metadata ----------------------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        """An object's describe, once per connector."""
        if sobject not in self._describes:
            self._describes[sobject] = self.client.call(
                f"describe {sobject}", lambda sf: sf.restful(f"sobjects/{sobject}/describe")
            )
        return self._describes[sobject]

    def _field_names(self, sobject: str) -> dict[str, dict[str, Any]]:
        return {str(f["name"]).lower(): f for f in self.describe(sobject).get("fields", [])}

    def _missing_fields(self, sobject: str, names: Sequence[str]) -> list[str]:
        present = self._field_names(sobject)
        return [n for n in names if "." not in n and n.lower() not in present]

    def fetch_stage_defs(self) -> list[StageDef]:
        """Every OpportunityStage, named by its ApiName (what Opportunity.StageName holds)."""
        defs = [
            stage_def_from_row(row)
            for page in self.client.pages(stage_select(self.settings.api_version))
            for row in page.rows
        ]
        self._stages = {stage.name: stage for stage in defs}
        return defs

    def _stage_map(self) -> dict[str, StageDef]:
        if self._stages is None:
            self.fetch_stage_defs()
        assert self._stages is not None
        return self._stages

    def currencies(self) -> CurrencyTable:
        """The org's currencies: CurrencyType when Opportunity has CurrencyIsoCode, else one.

        Also checks, from the same describe, that Opportunity has every field the
        read selects, so schema drift fails here with the fix and not mid-read.
        """
        if self._currencies is not None:
            return self._currencies
        needed = [f.name for f in opportunity_select(False, self._by_partner_field()).fields]
        missing = self._missing_fields(OPPORTUNITY, needed)
        if missing:
            fix = (
                "; PartnerAccountId needs partner relationship management, or set "
                "crm.partner_attribution: opportunity_partner"
                if PARTNER_ACCOUNT_FIELD in missing
                else "; grant the integration user read access to them"
            )
            raise SchemaError(f"Opportunity lacks the field(s) {', '.join(missing)}{fix}")
        if CURRENCY_FIELD.lower() in self._field_names(OPPORTUNITY):
            rows = [row for page in self.client.pages(currency_select()) for row in page.rows]
            self._currencies = currency_table(rows)
        else:
            self._currencies = single_currency(self.settings.org_currency)
        return self._currencies

    def _by_partner_field(self) -> bool:
        return self.settings.partner_attribution == "partner_account_id"

    # --- reads ---------------------------------------------------------------------------

    def fetch_partners(self) -> Iterator[Page[Partner]]:
        """Every Account matching ``crm.partner_filter``, in Id order."""
        region, tier = self.settings.partner_region_field, self.settings.partner_tier_field
        select = partner_select(self.settings.partner_filter, region, tier)
        for page in self.client.pages(select, bulk_threshold=self.settings.bulk_threshold):
            yield Page(records=[partner_from_row(row, region, tier) for row in page.rows])

    def fetch_opportunities(self, since: Cursor | None) -> Iterator[Page[Opportunity]]:
        """Opportunities modified at or after ``since`` minus the overlap, deletions included."""
        stages = self._stage_map()
        currencies = self.currencies()
        select = opportunity_select(currencies.multi_currency, self._by_partner_field())
        if not self._by_partner_field():
            yield from self._opportunities_by_opportunity_partner(select, since, stages, currencies)
            return
        for changes in self._changes(select, since):
            yield Page(
                records=[
                    opportunity_from_row(row, stages, currencies, row[PARTNER_ACCOUNT_FIELD])
                    for row in changes.rows
                ],
                deleted_ids=changes.deleted_ids,
                cursor=changes.cursor,
            )

    def fetch_stage_changes(self, since: Cursor | None) -> Iterator[Page[StageChange]]:
        """OpportunityHistory rows with a stage, recorded at or after ``since``.

        Salesforce adds a history row for every change of stage, amount,
        probability or close date. Every row is passed on: which rows enter a new
        stage depends on the row before, which may lie before the window, so the
        store decides that over the whole history (``stage_events_table``) rather
        than this read spending a call per page to look the row before up.
        """
        for changes in self._changes(history_select(), since):
            yield Page(
                records=[
                    stage_change_from_row(row)
                    for row in changes.rows
                    if row["OpportunityId"] and row["StageName"]
                ],
                deleted_ids=changes.deleted_ids,
                cursor=changes.cursor,
            )

    def usage(self) -> ApiUsage:
        """The quota as Salesforce last reported it (Sforce-Limit-Info) and the calls made."""
        return self.client.usage()

    # --- read machinery ------------------------------------------------------------------

    def _start(self, since: Cursor | None) -> datetime | None:
        if since is None:
            return None
        return since.modified_at - timedelta(seconds=self.settings.overlap_seconds)

    def _changes(self, select: Select, since: Cursor | None) -> Iterator[_Changes]:
        """The incremental read of ``select``: pages of live rows, deleted ids and cursors.

        A field list too long for one URL is split: the first query carries the
        key, cursor and deletion fields, the rest are fetched by Id per page.
        """
        read = incremental(select, self._start(since))
        groups = split_fields(self.client.base_url, read, keep=len(SYSTEM_FIELDS))
        driver = read.with_fields(groups[0])
        for page in self.client.pages(driver, bulk_threshold=self.settings.bulk_threshold):
            rows = page.rows
            if len(groups) > 1:
                live_ids = [str(r["Id"]) for r in rows if not r["IsDeleted"]]
                extra = self._wide_rows(
                    Select(read.sobject, tuple(f for g in groups[1:] for f in g)), live_ids
                )
                for row in rows:
                    row.update(extra.get(str(row["Id"]), {}))
            last = max(((r[MODSTAMP], str(r["Id"])) for r in rows if r[MODSTAMP]), default=None)
            yield _Changes(
                rows=[r for r in rows if not r["IsDeleted"]],
                deleted_ids=[str(r["Id"]) for r in rows if r["IsDeleted"]],
                cursor=None if last is None else Cursor(modified_at=last[0], record_id=last[1]),
            )

    def _wide_rows(self, select: Select, ids: Sequence[str]) -> dict[str, Row]:
        """Rows by Id for any number of fields: the list is split to keep each URL short."""
        out: dict[str, Row] = {}
        wanted = select.with_fields(
            (SoqlField("Id"), *(f for f in select.fields if f.name != "Id"))
        )
        for group in split_fields(self.client.base_url, wanted, keep=1):
            for row in self.client.rows_by_ids(wanted.with_fields(group), ids):
                out.setdefault(str(row["Id"]), {}).update(row)
        return out

    def _opportunities_by_opportunity_partner(
        self,
        select: Select,
        since: Cursor | None,
        stages: Mapping[str, StageDef],
        currencies: CurrencyTable,
    ) -> Iterator[Page[Opportunity]]:
        """Opportunities attributed to the primary OpportunityPartner of the configured role.

        A full read loads the (role, primary) rows once, a page of 2,000 a call;
        an incremental read looks up only its opportunities' rows, and re-reads
        opportunities whose OpportunityPartner rows changed since the cursor even
        when the opportunity itself did not (a partner change does not touch it).
        """
        role_select = opportunity_partner_select(self.settings.partner_role)
        start = self._start(since)
        preloaded: dict[str, str] | None = None
        touched: set[str] = set()
        if start is None:
            preloaded = {}
            for page in self.client.pages(role_select, bulk_threshold=self.settings.bulk_threshold):
                for row in page.rows:
                    if row["OpportunityId"]:
                        preloaded.setdefault(str(row["OpportunityId"]), str(row["AccountToId"]))
        else:
            for page in self.client.pages(opportunity_partner_changes(start)):
                touched.update(str(r["OpportunityId"]) for r in page.rows if r["OpportunityId"])

        def page_of(changes: _Changes, cursor: Cursor | None) -> Page[Opportunity]:
            ids = [str(r["Id"]) for r in changes.rows]
            partners = preloaded if preloaded is not None else self._primary_partners(ids)
            return Page(
                records=[
                    opportunity_from_row(row, stages, currencies, partners.get(str(row["Id"])))
                    for row in changes.rows
                ],
                deleted_ids=changes.deleted_ids,
                cursor=cursor,
            )

        emitted: set[str] = set()
        last_cursor: Cursor | None = None
        for changes in self._changes(select, since):
            if touched:
                emitted.update(str(r["Id"]) for r in changes.rows)
                emitted.update(changes.deleted_ids)
            last_cursor = changes.cursor or last_cursor
            yield page_of(changes, changes.cursor)
        remaining = sorted(touched - emitted)
        if remaining:
            rows = list(self.client.rows_by_ids(replace(select, include_deleted=True), remaining))
            changes = _Changes(
                rows=[r for r in rows if not r["IsDeleted"]],
                deleted_ids=[str(r["Id"]) for r in rows if r["IsDeleted"]],
                cursor=last_cursor,
            )
            yield page_of(changes, last_cursor)

    def _primary_partners(self, opportunity_ids: Sequence[str]) -> dict[str, str]:
        """Opportunity id → AccountToId of its primary OpportunityPartner of the role."""
        select = opportunity_partner_select(self.settings.partner_role)
        partners: dict[str, str] = {}
        for row in self.client.rows_by_ids(select, opportunity_ids, key="OpportunityId"):
            partners.setdefault(str(row["OpportunityId"]), str(row["AccountToId"]))
        return partners

    # --- check ---------------------------------------------------------------------------

    def check(self) -> list[CheckItem]:
        """Log in and report version, quota, object and field access, partners and currency.

        Reads only: describes, /limits, the version list and two COUNT() queries.
        """
        try:
            self.client.login()
        except PartnerKpiError as exc:
            return [CheckItem("login", False, str(exc))]
        host = urlparse(str(self.client.sf.base_url)).netloc
        items = [
            CheckItem(
                "login",
                True,
                f"{self.settings.auth_flow} login accepted by {self.settings.login_url}; "
                f"instance {host}",
            )
        ]
        checks: list[tuple[str, Callable[[], CheckItem]]] = [
            ("api version", self._check_version),
            ("api quota", self._check_quota),
            *(
                (f"object {name}", partial(self._check_object, name))
                for name in self._objects_needed()
            ),
            ("partner accounts", self._check_partner_filter),
            ("currency", self._check_currency),
        ]
        for name, run in checks:
            try:
                items.append(run())
            except PartnerKpiError as exc:
                items.append(CheckItem(name, False, str(exc)))
        return items

    def _objects_needed(self) -> list[str]:
        needed = [ACCOUNT, OPPORTUNITY, OPPORTUNITY_STAGE, OPPORTUNITY_HISTORY]
        if not self._by_partner_field():
            needed.append(OPPORTUNITY_PARTNER)
        return needed

    def _required_fields(self, sobject: str) -> list[str]:
        if sobject == ACCOUNT:
            named = [self.settings.partner_region_field, self.settings.partner_tier_field]
            return ["Id", "Name", "OwnerId", *(n for n in named if n)]
        if sobject == OPPORTUNITY:
            return [f.name for f in opportunity_select(False, self._by_partner_field()).fields]
        if sobject == OPPORTUNITY_STAGE:
            return [f.name for f in stage_select(self.settings.api_version).fields]
        if sobject == OPPORTUNITY_HISTORY:
            return [f.name for f in HISTORY_FIELDS]
        return [f.name for f in OPPORTUNITY_PARTNER_FIELDS]

    def _check_version(self) -> CheckItem:
        versions = self.client.call("list API versions", _versions)
        wanted = self.settings.api_version
        labels = {str(v.get("version")): str(v.get("label", "")) for v in versions}
        if wanted in labels:
            return CheckItem("api version", True, f"v{wanted} ({labels[wanted]}) is served")
        newest = max(labels, key=float, default="none")
        return CheckItem(
            "api version",
            False,
            f"v{wanted} is not served (newest: v{newest}); set crm.api_version",
        )

    def _check_quota(self) -> CheckItem:
        limits = self.client.call("read /limits", lambda sf: sf.limits())
        daily = limits.get("DailyApiRequests", {})
        most, left = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
        share = self.settings.max_quota_share
        used = (most - left) / most if most else 1.0
        detail = f"{left} of {most} daily API calls left; a run stops once {share:.0%} are used"
        bulk = limits.get("DailyBulkV2QueryJobs")
        if isinstance(bulk, Mapping):
            detail += f"; {bulk.get('Remaining')} of {bulk.get('Max')} Bulk API 2.0 query jobs left"
        return CheckItem("api quota", used < share, detail)

    def _check_object(self, sobject: str) -> CheckItem:
        name = f"object {sobject}"
        try:
            described = self.describe(sobject)
        except CrmApiError as exc:
            return CheckItem(name, False, f"cannot describe it ({exc.error_code}); grant access")
        missing = self._missing_fields(sobject, self._required_fields(sobject))
        problems = [] if described.get("queryable", True) else ["not queryable"]
        if missing:
            problems.append(f"missing or hidden fields: {', '.join(missing)}")
        if problems:
            return CheckItem(name, False, "; ".join(problems))
        detail = f"readable with the {len(self._required_fields(sobject))} fields a sync needs"
        if sobject == ACCOUNT:
            detail += "; updateable" if described.get("updateable") else "; NOT updateable"
        return CheckItem(name, True, detail)

    def _check_partner_filter(self) -> CheckItem:
        select = partner_select(self.settings.partner_filter, None, None)
        count = self.client.count(select)
        detail = f"{count} Accounts match crm.partner_filter ({self.settings.partner_filter})"
        return CheckItem("partner accounts", count > 0, detail)

    def _check_currency(self) -> CheckItem:
        table = self.currencies()
        if table.multi_currency:
            detail = (
                f"multi-currency org: corporate currency {table.corporate}, "
                f"{len(table.rates)} currencies in {CURRENCY_TYPE}"
            )
        else:
            detail = f"single-currency org; amounts are {table.corporate} (crm.org_currency)"
        return CheckItem("currency", True, detail)

    # --- writeback (issue 5) ---------------------------------------------------------------

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of ``fields`` on partner Accounts, by id (absent ids are left out)."""
        for name in fields:
            if not FIELD_NAME.match(name):
                raise SchemaError(f"{name!r} is not a Salesforce field API name")
        for record_id in record_ids:
            if not RECORD_ID.match(record_id):
                raise SchemaError(
                    f"{record_id!r} is not a Salesforce record id", record_id=record_id
                )
        select = Select(ACCOUNT, tuple(SoqlField(name) for name in fields))
        rows = self._wide_rows(select, record_ids)
        return {
            record_id: {name: row.get(name) for name in fields} for record_id, row in rows.items()
        }

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """Write field values to partner Accounts, each record's outcome on its own.

        Up to ``crm.bulk_write_threshold`` records: sObject Collections PATCH, 200 a
        call, allOrNone false, so one rejected record does not hold back the others.
        More: Bulk API 2.0 update jobs of up to ``BULK_WRITE_JOB_SIZE`` records,
        about seven calls a job whatever its size.
        """
        results: list[WriteResult] = []
        items = list(updates.items())
        bulk = len(items) > self.settings.bulk_write_threshold
        size = BULK_WRITE_JOB_SIZE if bulk else COLLECTION_SIZE
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            results.extend(self._update_by_job(chunk) if bulk else self._update_batch(chunk))
        return results

    def _invalid(self, record_id: str, values: Mapping[str, Any]) -> WriteResult | None:
        """A record no API would take (a malformed id or field name), answered locally."""
        written = tuple(values)
        bad = [name for name in written if not FIELD_NAME.match(name)]
        if not RECORD_ID.match(record_id):
            return WriteResult(
                record_id, False, "MALFORMED_ID", "not a Salesforce record id", written
            )
        if bad:
            return WriteResult(
                record_id, False, "INVALID_FIELD", f"not field API names: {bad}", tuple(bad)
            )
        return None

    def _update_by_job(self, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[WriteResult]:
        """One Bulk API 2.0 update job for ``batch``; its CSV results as WriteResults."""
        outcomes: dict[str, WriteResult] = {}
        sent: dict[str, Mapping[str, Any]] = {}
        for record_id, values in batch:
            invalid = self._invalid(record_id, values)
            if invalid is not None:
                outcomes[record_id] = invalid
            else:
                sent[record_id] = values
        if sent:
            results = self.client.bulk_update(ACCOUNT, ingest_csv(sent), len(sent))
            outcomes |= ingest_outcomes(results, sent)
        return [
            outcomes.get(record_id)
            or WriteResult(record_id, False, "NO_RESULT", "the job's results left it out")
            for record_id, _ in batch
        ]

    def _update_batch(self, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[WriteResult]:
        outcomes: dict[int, WriteResult] = {}
        records: list[dict[str, Any]] = []
        positions: list[int] = []
        for position, (record_id, values) in enumerate(batch):
            invalid = self._invalid(record_id, values)
            if invalid is not None:
                outcomes[position] = invalid
            else:
                json_values = {name: wire_value(value) for name, value in values.items()}
                records.append({"attributes": {"type": ACCOUNT}, "id": record_id, **json_values})
                positions.append(position)
        if records:
            answer = self.client.call(
                f"update {len(records)} Accounts",
                lambda sf: sf.restful(
                    "composite/sobjects",
                    method="PATCH",
                    json={"allOrNone": False, "records": records},
                ),
            )
            if not isinstance(answer, list) or len(answer) != len(records):
                raise CrmApiError(
                    f"composite/sobjects answered {len(answer or [])} results for "
                    f"{len(records)} records",
                    crm=CRM,
                    error_code="UNEXPECTED_RESPONSE",
                )
            for position, record, result in zip(positions, records, answer, strict=True):
                outcomes[position] = _write_result(record, result)
        return [outcomes[position] for position in range(len(batch))]

    def ensure_fields(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        """Report each score field on Account: missing, hidden from the integration user,
        not editable by it, of another type or shape, or ready.

        With ``create``, make the missing fields (Tooling API CustomField) and then give
        the integration user read and edit access to every mapped custom field through a
        permission set (``FieldSpec.access_grant``, default ``Partner_KPI_Writeback``):
        the set, a FieldPermissions row per field and the user's PermissionSetAssignment,
        each made only when missing. A field made through the API is visible to no one
        until field-level security grants it. An existing field is never changed.
        """
        states = self._field_states(specs)
        permission_set = _permission_set_name(specs)
        if not create:
            return [_field_item(state, permission_set) for state in states]
        for state in states:
            if state.problem is None and state.described is None and not state.hidden:
                self._create_field(state)
        access = self._ensure_access(states, permission_set)
        self._describes.pop(ACCOUNT, None)
        present = self._field_names(ACCOUNT)
        for state in states:
            if state.problem is None:
                state.described = present.get(state.spec.name.lower())
        return [*(_field_item(state, permission_set, granted=True) for state in states), *access]

    def _field_states(self, specs: Sequence[FieldSpec]) -> list[_FieldState]:
        """Each spec's field as describe shows it, or why it cannot be one, or hidden."""
        present = self._field_names(ACCOUNT)
        states = [_FieldState(spec, described=present.get(spec.name.lower())) for spec in specs]
        for state in states:
            if state.described is not None:
                continue
            if not CUSTOM_FIELD_NAME.match(state.spec.name):
                state.problem = "a custom field's API name ends in __c (e.g. Score__c)"
            elif state.spec.kind not in COMPATIBLE_TYPES:
                state.problem = f"unknown field kind {state.spec.kind!r}"
        unseen = [s for s in states if s.described is None and s.problem is None]
        if unseen:
            hidden = self._hidden_fields([s.spec.name for s in unseen])
            for state in unseen:
                state.hidden = state.spec.name.lower() in hidden
        return states

    def _hidden_fields(self, names: Sequence[str]) -> set[str]:
        """Which of these custom fields exist on Account although describe leaves them out
        (no field-level security for this user): a Tooling API query of CustomField.

        A user who may not read setup gets an empty set; creating such a field then
        answers DUPLICATE_DEVELOPER_NAME, which ``_create_field`` also reads as hidden.
        """
        developer_names = {name.removesuffix("__c").lower(): name.lower() for name in names}
        soql = (
            f"SELECT DeveloperName FROM CustomField WHERE TableEnumOrId = {soql_string(ACCOUNT)} "
            f"AND DeveloperName IN ({', '.join(soql_string(n) for n in developer_names)})"
        )
        try:
            answer = self.client.call(
                "look up hidden score fields (Tooling API)",
                lambda sf: sf.toolingexecute("query/?q=" + quote_plus(soql)),
            )
        except CrmApiError as exc:
            logger.info("salesforce: cannot query CustomField (%s); fields may be hidden", exc)
            return set()
        records = answer.get("records", []) if isinstance(answer, Mapping) else []
        return {
            developer_names[str(r.get("DeveloperName")).lower()]
            for r in records
            if str(r.get("DeveloperName")).lower() in developer_names
        }

    def _create_field(self, state: _FieldState) -> None:
        spec = state.spec
        try:
            answer = self.client.call(
                f"create Account.{spec.name}",
                partial(_create_custom_field, _custom_field_body(spec)),
            )
        except CrmApiError as exc:
            if exc.error_code == "DUPLICATE_DEVELOPER_NAME":
                state.hidden = True  # it exists; this user just cannot see it
            else:
                state.problem = f"not created: {exc}"
            return
        field_id = answer.get("id") if isinstance(answer, Mapping) else None
        state.created = str(field_id or "?")

    def _ensure_access(self, states: Sequence[_FieldState], permission_set: str) -> list[CheckItem]:
        """Read and edit on the usable custom fields, through ``permission_set`` assigned to
        the integration user; one CheckItem per step (set, field permissions, assignment)."""
        targets = [
            f"{ACCOUNT}.{state.spec.name}"
            for state in states
            if state.problem is None
            and CUSTOM_FIELD_NAME.match(state.spec.name)
            and (
                state.created
                or state.hidden
                or (
                    state.described is not None
                    and _shape_problem(state.described, state.spec) is None
                )
            )
        ]
        if not targets:
            return []
        user = _User(user_id="", username="the integration user")
        found: dict[str, str] = {}

        def read_user() -> None:
            info = self.client.call("read the integration user (userinfo)", _userinfo)
            user.user_id = str(info.get("user_id") or "")
            user.username = str(info.get("preferred_username") or user.user_id)
            if not RECORD_ID.match(user.user_id):
                raise CrmApiError(
                    "userinfo names no user_id", crm=CRM, error_code="UNEXPECTED_RESPONSE"
                )

        def ensure_set() -> CheckItem:
            found["id"], made = self._permission_set(permission_set)
            return CheckItem(
                f"permission set {permission_set}",
                True,
                f"{'created' if made else 'exists'} ({found['id']})",
            )

        steps: list[tuple[str, Callable[[], CheckItem | None]]] = [
            ("integration user", read_user),
            (f"permission set {permission_set}", ensure_set),
            (
                f"field access {permission_set}",
                lambda: self._field_permissions(permission_set, found["id"], targets),
            ),
            (
                f"assignment {permission_set}",
                lambda: self._assignment(permission_set, found["id"], user),
            ),
        ]
        items: list[CheckItem] = []
        for name, step in steps:
            try:
                item = step()
            except CrmApiError as exc:
                refused = _access_refused(exc, name, permission_set, targets, user)
                items.append(CheckItem(name, False, refused))
                break
            if item is not None:
                items.append(item)
        return items

    def _records(self, what: str, soql: str) -> list[dict[str, Any]]:
        answer = self.client.call(what, lambda sf: sf.query_all(soql))
        records: list[dict[str, Any]] = answer.get("records", [])
        return records

    def _permission_set(self, name: str) -> tuple[str, bool]:
        """The permission set's id, made first when missing; and whether it was made."""
        rows = self._records(
            f"find permission set {name}",
            f"SELECT Id FROM PermissionSet WHERE Name = {soql_string(name)}",
        )
        if rows:
            return str(rows[0]["Id"]), False
        body = {
            "Name": name,
            "Label": PERMISSION_SET_LABEL,
            "Description": "Read and edit on the Account fields partner-kpi writes scores into "
            "(made by partner-kpi fields create).",
        }
        answer = self.client.call(
            f"create permission set {name}",
            lambda sf: sf.restful("sobjects/PermissionSet", method="POST", json=body),
        )
        return str(answer["id"]), True

    def _field_permissions(
        self, permission_set: str, permission_set_id: str, fields: Sequence[str]
    ) -> CheckItem:
        """Read and edit on each field in the permission set: rows made or widened as needed,
        200 a call (sObject Collections)."""
        name = f"field access {permission_set}"
        rows = self._records(
            f"read the field permissions of {permission_set}",
            "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
            f"WHERE ParentId = {soql_string(permission_set_id)} "
            f"AND SobjectType = {soql_string(ACCOUNT)}",
        )
        held = {str(row["Field"]).lower(): row for row in rows}
        new = [f for f in fields if f.lower() not in held]
        narrow = [
            f
            for f in fields
            if f.lower() in held
            and not (held[f.lower()]["PermissionsRead"] and held[f.lower()]["PermissionsEdit"])
        ]
        if not new and not narrow:
            return CheckItem(
                name, True, f"read and edit already granted on all {len(fields)} fields"
            )
        grant = {"PermissionsRead": True, "PermissionsEdit": True}
        batches = [
            ("POST", new, [
                {"attributes": {"type": FIELD_PERMISSIONS}, "ParentId": permission_set_id,
                 "SobjectType": ACCOUNT, "Field": f, **grant}
                for f in new
            ]),
            ("PATCH", narrow, [
                {"attributes": {"type": FIELD_PERMISSIONS}, "id": held[f.lower()]["Id"], **grant}
                for f in narrow
            ]),
        ]  # fmt: skip
        outcomes: list[tuple[str, WriteResult]] = []
        for method, names, records in batches:
            for start in range(0, len(records), COLLECTION_SIZE):
                answer = self.client.call(
                    f"grant field access in {permission_set}",
                    partial(_collection, method, records[start : start + COLLECTION_SIZE]),
                )
                for field_name, result in zip(
                    names[start : start + COLLECTION_SIZE], answer, strict=True
                ):
                    outcomes.append((field_name, _saved(field_name, result)))
        failed = [(f, outcome) for f, outcome in outcomes if not outcome.ok]
        if failed and all(str(o.error_code).startswith(NO_ACCESS) for _, o in failed):
            outcome = failed[0][1]
            raise CrmApiError(outcome.message or "", crm=CRM, error_code=str(outcome.error_code))
        done = {f for f, outcome in outcomes if outcome.ok}
        parts = []
        if made := [f for f in new if f in done]:
            parts.append(f"created read and edit on {', '.join(made)}")
        if widened := [f for f in narrow if f in done]:
            parts.append(f"widened to read and edit on {', '.join(widened)}")
        if failed:
            problems = ", ".join(f"{f} ({o.error_code}: {o.message})" for f, o in failed)
            parts.append(f"could not grant read and edit on {problems}")
        return CheckItem(name, not failed, "; ".join(parts))

    def _assignment(self, permission_set: str, permission_set_id: str, user: _User) -> CheckItem:
        name = f"assignment {permission_set}"
        rows = self._records(
            f"find the assignment of {permission_set}",
            "SELECT Id FROM PermissionSetAssignment "
            f"WHERE AssigneeId = {soql_string(user.user_id)} "
            f"AND PermissionSetId = {soql_string(permission_set_id)}",
        )
        if rows:
            return CheckItem(name, True, f"assigned to {user.username} already")
        body = {"AssigneeId": user.user_id, "PermissionSetId": permission_set_id}
        answer = self.client.call(
            f"assign permission set {permission_set}",
            lambda sf: sf.restful("sobjects/PermissionSetAssignment", method="POST", json=body),
        )
        return CheckItem(name, True, f"created: assigned to {user.username} ({answer['id']})")


# --- helpers -------------------------------------------------------------------------------

#: The permission set ``fields create`` grants score-field access through, unless configured.
DEFAULT_PERMISSION_SET = "Partner_KPI_Writeback"
PERMISSION_SET_LABEL = "Partner KPI writeback"
FIELD_PERMISSIONS = "FieldPermissions"
#: Error codes of a user refused a setup change (INSUFFICIENT_ACCESS_OR_READONLY,
#: INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY).
NO_ACCESS = "INSUFFICIENT_ACCESS"


@dataclass
class _FieldState:
    """What ``ensure_fields`` found out about one score field."""

    spec: FieldSpec
    #: its describe entry, when the integration user can see the field
    described: Mapping[str, Any] | None = None
    #: it exists (Tooling API) but field-level security hides it from the user
    hidden: bool = False
    #: the CustomField id, when this run made it
    created: str | None = None
    #: why it cannot hold the output (a bad name, or it could not be made)
    problem: str | None = None


@dataclass
class _User:
    """The integration user, as /services/oauth2/userinfo names it."""

    user_id: str
    username: str


def _permission_set_name(specs: Sequence[FieldSpec]) -> str:
    return next((s.access_grant for s in specs if s.access_grant), DEFAULT_PERMISSION_SET)


def _described_shape(described: Mapping[str, Any]) -> str:
    """'double, scale 1', 'string, length 255', 'picklist': what a field holds."""
    kind = str(described.get("type"))
    if kind in COMPATIBLE_TYPES["number"]:
        return f"{kind}, scale {int(described.get('scale') or 0)}"
    if kind in COMPATIBLE_TYPES["text"]:
        return f"{kind}, length {int(described.get('length') or 0)}"
    return kind


def _shape_problem(described: Mapping[str, Any], spec: FieldSpec) -> str | None:
    """Why an existing field cannot hold what ``spec`` writes, with the fix; None if it can.

    A field with a smaller scale than configured would make every run rewrite the value
    (the CRM rounds it), a shorter text would cut values, a picklist without every
    value would refuse records.
    """
    kind = str(described.get("type"))
    key = spec.config_key or "the output's writeback.fields entry"
    output = spec.config_key.rpartition(".")[2] or "the output"
    if kind not in COMPATIBLE_TYPES.get(spec.kind, frozenset()):
        return (
            f"exists ({kind}), but a {spec.kind} field is needed: map {output} to another "
            "field (a field's type is never changed)"
        )
    if described.get("calculated"):
        return f"exists ({kind}), but is a formula field: map {output} to another field"
    shape = _described_shape(described)
    if spec.kind == "number":
        scale = int(described.get("scale") or 0)
        if scale < spec.scale:
            return (
                f"exists ({shape}), but scale {spec.scale} is configured: set {key}.scale: "
                f"{scale} or widen the field"
            )
        # digits before the point: fewer than configured and a large value is refused
        precision = int(described.get("precision") or 0)
        if spec.precision and precision and precision - scale < spec.precision - spec.scale:
            return (
                f"exists ({shape}, precision {precision}), but values need "
                f"{spec.precision - spec.scale} digits before the point ({key}.precision "
                f"{spec.precision}): widen the field or map {output} to another field"
            )
    if spec.kind == "text":
        length, wanted = int(described.get("length") or 0), int(spec.extra.get("length") or 0)
        if wanted and length < wanted:
            return (
                f"exists ({shape}), but length {wanted} is configured: set {key}.length: "
                f"{length} or lengthen the field"
            )
    if spec.kind == "picklist":
        active = {
            str(value.get("value"))
            for value in described.get("picklistValues") or []
            if isinstance(value, Mapping) and value.get("active", True)
        }
        missing = [option for option in spec.options if option not in active]
        if missing:
            return (
                f"exists ({shape}), but has no active value {', '.join(missing)}: add "
                f"{'it' if len(missing) == 1 else 'them'} to the field's values, or map "
                f"{output} to a text field"
            )
    return None


def _field_item(state: _FieldState, permission_set: str, *, granted: bool = False) -> CheckItem:
    """One field's line of fields plan / create. ``granted``: access was just handled
    (its steps follow as lines of their own)."""
    name = f"field {ACCOUNT}.{state.spec.name}"
    if state.problem is not None:
        return CheckItem(name, False, state.problem)
    grant = (
        f"see the {permission_set} lines below"
        if granted
        else f"run with create to grant it through the permission set {permission_set}, "
        "or ask a Salesforce admin to grant it to the integration user"
    )
    described = state.described
    if described is None:
        if state.created:
            return CheckItem(
                name, False, f"created (CustomField {state.created}), but hidden from this "
                f"user until read and edit are granted: {grant}",
            )  # fmt: skip
        if state.hidden:
            return CheckItem(
                name, False, "exists, but is hidden from this user (it has no field-level "
                f"security): it needs read and edit access; {grant}",
            )  # fmt: skip
        return CheckItem(name, False, "missing; partner-kpi fields create adds it")
    problem = _shape_problem(described, state.spec)
    if problem is not None:
        return CheckItem(name, False, problem)
    shape = _described_shape(described)
    if not described.get("updateable", False):
        return CheckItem(
            name, False, f"exists ({shape}), but this user may not edit it: it needs edit "
            f"access; {grant}",
        )  # fmt: skip
    if state.created:
        return CheckItem(
            name, True, f"created (CustomField {state.created}); readable and editable "
            f"through the permission set {permission_set}",
        )  # fmt: skip
    if state.hidden:
        return CheckItem(
            name, True, f"exists ({shape}); now readable and editable through the permission "
            f"set {permission_set}",
        )  # fmt: skip
    return CheckItem(name, True, f"exists ({shape})")


def _access_refused(
    exc: CrmApiError, step: str, permission_set: str, fields: Sequence[str], user: _User
) -> str:
    """One line: why a step of granting access failed, and what an admin can do."""
    if not exc.error_code.startswith(NO_ACCESS):
        return f"failed: {exc}"
    if step.startswith("assignment"):
        return (
            f"{user.username} may not assign permission sets ({exc.error_code}): ask a "
            f"Salesforce admin to assign the permission set {permission_set} to {user.username}"
        )
    return (
        f"{user.username} may not manage permission sets ({exc.error_code}): ask a Salesforce "
        f"admin to grant Edit on {', '.join(fields)} to {user.username} (e.g. in a permission "
        f"set {permission_set} assigned to it)"
    )


def _userinfo(sf: Any) -> dict[str, Any]:
    """``GET /services/oauth2/userinfo``: who the session's user is (OpenID Connect)."""
    response = sf.session.get(
        f"https://{sf.sf_instance}/services/oauth2/userinfo", headers=sf.headers
    )
    if response.status_code >= 300:
        exception_handler(response, "userinfo")
    body: dict[str, Any] = response.json()
    return body


def _collection(method: str, records: Sequence[Mapping[str, Any]], sf: Any) -> list[Any]:
    """sObject Collections: POST creates, PATCH updates; allOrNone false, one result each."""
    answer = sf.restful(
        "composite/sobjects", method=method, json={"allOrNone": False, "records": list(records)}
    )
    if not isinstance(answer, list) or len(answer) != len(records):
        raise CrmApiError(
            f"composite/sobjects answered {len(answer or [])} results for {len(records)} records",
            crm=CRM,
            error_code="UNEXPECTED_RESPONSE",
        )
    return answer


def _saved(label: str, result: Any) -> WriteResult:
    """A SaveResult of sObject Collections as a WriteResult named ``label``."""
    if isinstance(result, Mapping) and result.get("success"):
        return WriteResult(label, True)
    errors = result.get("errors") if isinstance(result, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors else {}
    return WriteResult(
        label,
        False,
        error_code=str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR"),
        message=str(first.get("message") or ""),
    )


def _create_custom_field(body: Mapping[str, Any], sf: Any) -> Any:
    """Create one CustomField through the Tooling API."""
    return sf.toolingexecute("sobjects/CustomField", method="POST", data=dict(body))


def _versions(sf: Any) -> list[dict[str, Any]]:
    """``GET /services/data``: the API versions the instance serves."""
    response = sf.session.get(f"https://{sf.sf_instance}/services/data", headers=sf.headers)
    if response.status_code >= 300:
        exception_handler(response, "versions")
    body: list[dict[str, Any]] = response.json()
    return body


def _write_result(record: Mapping[str, Any], result: Any) -> WriteResult:
    record_id = str(record["id"])
    written = tuple(name for name in record if name not in ("attributes", "id"))
    if isinstance(result, Mapping) and result.get("success"):
        return WriteResult(record_id, True, fields=written)
    errors = result.get("errors") if isinstance(result, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors else {}
    return WriteResult(
        record_id,
        False,
        error_code=str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR"),
        message=str(first.get("message") or ""),
        fields=tuple(first.get("fields") or written),
    )


def _custom_field_body(spec: FieldSpec) -> dict[str, Any]:
    """The Tooling API CustomField body of a score field."""
    metadata: dict[str, Any] = {"label": spec.label}
    if spec.kind == "number":
        metadata |= {"type": "Number", "precision": spec.precision or 18, "scale": spec.scale}
    elif spec.kind == "text":
        metadata |= {"type": "Text", "length": int(spec.extra.get("length", 255))}
    elif spec.kind == "picklist":
        metadata |= {
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [{"fullName": o, "label": o, "default": False} for o in spec.options],
                },
            },
        }
    else:
        metadata |= {"type": "DateTime"}
    metadata |= {k: v for k, v in spec.extra.items() if k != "length"}
    return {"FullName": f"{ACCOUNT}.{spec.name}", "Metadata": metadata}

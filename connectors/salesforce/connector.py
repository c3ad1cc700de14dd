"""``SalesforceConnector``: the Connector protocol over one Salesforce org.

Reads are generators of validated pages. Opportunities, stage history and the
activity objects (leads, quotes, cases, calls, line items: ``activity``) are read
incrementally on ``SystemModstamp`` (``changes``). Writes (issue 5,
``writes``) and the score fields they need (``provisioning``) live in modules of
their own; the connector hands them its client, settings and describe cache, so one
describe of Account serves a run and is dropped once fields were made.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlparse

from simple_salesforce.util import exception_handler

from connectors.salesforce import paging
from connectors.salesforce.activity import ActivityReader
from connectors.salesforce.changes import ChangeReader
from connectors.salesforce.mapping import (
    CurrencyTable,
    currency_table,
    opportunity_from_row,
    partner_from_row,
    single_currency,
    stage_change_from_row,
    stage_def_from_row,
)
from connectors.salesforce.provisioning import FieldProvisioner
from connectors.salesforce.queries import (
    ACCOUNT,
    COMPOSITE_SIZE,
    CRM,
    CURRENCY_FIELD,
    CURRENCY_TYPE,
    FIELD_NAME,
    HISTORY_FIELDS,
    OPPORTUNITY,
    OPPORTUNITY_HISTORY,
    OPPORTUNITY_PARTNER,
    OPPORTUNITY_PARTNER_FIELDS,
    OPPORTUNITY_STAGE,
    PARTNER_ACCOUNT_FIELD,
    RECORD_ID,
    Select,
    SoqlField,
    currency_select,
    history_select,
    opportunity_select,
    partner_select,
    stage_select,
)
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.wire import SalesforceClient
from connectors.salesforce.writes import AccountWriter
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
from core.errors import ENDS_A_CHECK, CrmApiError, PartnerKpiError, SchemaError
from core.schema import Opportunity, Partner, StageChange, StageDef


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
        scoring: ScoringFields | None = None,
    ) -> None:
        """Reads the secrets at once (a missing variable is a ConfigError now); connects lazily.
        ``scoring``: the CRM fields the scoring settings name (a case's first-contact box)."""
        self.settings = settings
        self.client = client or SalesforceClient(settings, environ=environ, sleep=sleep)
        self._describes: dict[str, dict[str, Any]] = {}
        #: objects whose describe the org refused in a Composite request, with its error
        self._undescribed: dict[str, CrmApiError] = {}
        self._stages: dict[str, StageDef] | None = None
        self._currencies: CurrencyTable | None = None
        self._reads = ChangeReader(self.client, settings)
        self._activity = ActivityReader(
            self.client,
            settings,
            self._reads,
            self.describe,
            self.currencies,
            self.describe_all,
            first_contact_field=(scoring or ScoringFields()).first_contact_field,
        )

    # --- metadata ----------------------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        """An object's describe, once per connector."""
        refused = self._undescribed.get(sobject)
        if refused is not None:
            raise refused
        if sobject not in self._describes:
            self._describes[sobject] = self.client.call(
                f"describe {sobject}", lambda sf: sf.restful(f"sobjects/{sobject}/describe")
            )
        return self._describes[sobject]

    def describe_all(self, sobjects: Sequence[str]) -> None:
        """Describe several objects in Composite requests of up to 25 (each one call toward
        the API limits, https://developer.salesforce.com/docs/platform/api-rest/guide/
        resources-composite-composite-post.html); an object the org refuses (missing, or no
        Read on it) is remembered with its error, which ``describe`` raises."""
        wanted = [o for o in dict.fromkeys(sobjects)
                  if o not in self._describes and o not in self._undescribed]  # fmt: skip
        version = self.settings.api_version
        for start in range(0, len(wanted), COMPOSITE_SIZE):
            chunk = wanted[start : start + COMPOSITE_SIZE]
            body = json.dumps({"allOrNone": False, "compositeRequest": [
                {"method": "GET", "url": f"/services/data/v{version}/sobjects/{name}/describe",
                 "referenceId": name}
                for name in chunk
            ]})  # fmt: skip
            result: dict[str, Any] = self.client.call(
                f"describe {', '.join(chunk)}", partial(_composite, body)
            )
            for answer in result.get("compositeResponse", []):
                name, status = str(answer.get("referenceId")), int(answer["httpStatusCode"])
                if status < 300:
                    self._describes[name] = answer["body"]
                    continue
                errors = answer.get("body") or [{}]
                first = errors[0] if isinstance(errors, list) and errors else {}
                self._undescribed[name] = CrmApiError(
                    str(first.get("message", "no describe")),
                    crm=CRM,
                    error_code=str(first.get("errorCode", "UNKNOWN")),
                    http_status=status,
                )

    def _field_names(self, sobject: str) -> dict[str, dict[str, Any]]:
        return {str(f["name"]).lower(): f for f in self.describe(sobject).get("fields", [])}

    def _missing_fields(self, sobject: str, names: Sequence[str]) -> list[str]:
        present = self._field_names(sobject)
        return [n for n in names if "." not in n and n.lower() not in present]

    def fetch_stage_defs(self) -> list[StageDef]:
        """Every OpportunityStage, named by its ApiName (what Opportunity.StageName holds)."""
        defs = [
            stage_def_from_row(row)
            for page in paging.pages(self.client, stage_select(self.settings.api_version))
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
            rows = [
                row for page in paging.pages(self.client, currency_select()) for row in page.rows
            ]
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
        for page in paging.pages(self.client, select, bulk_threshold=self.settings.bulk_threshold):
            yield Page(records=[partner_from_row(row, region, tier) for row in page.rows])

    def fetch_opportunities(self, since: Cursor | None) -> Iterator[Page[Opportunity]]:
        """Opportunities modified at or after ``since`` minus the overlap, deletions included."""
        stages = self._stage_map()
        currencies = self.currencies()
        select = opportunity_select(currencies.multi_currency, self._by_partner_field())
        if not self._by_partner_field():
            yield from self._reads.opportunities_by_opportunity_partner(
                select, since, stages, currencies
            )
            return
        for changes in self._reads.changes(select, since):
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
        for changes in self._reads.changes(history_select(), since):
            yield Page(
                records=[
                    stage_change_from_row(row)
                    for row in changes.rows
                    if row["OpportunityId"] and row["StageName"]
                ],
                deleted_ids=changes.deleted_ids,
                cursor=changes.cursor,
            )

    def fetch_live_ids(self, stream: str) -> Iterator[list[str]]:
        """Ids of every record of ``stream`` not deleted: ``SELECT Id FROM Opportunity``, or
        the activity stream's object with its read's own filter (query, not queryAll), REST
        pages of 2,000, or one Bulk API 2.0 job past ``crm.bulk_threshold``."""
        if stream != OPPORTUNITIES:
            return self._activity.live_ids(stream)
        select = Select(OPPORTUNITY, (SoqlField("Id"),))
        return paging.ids(self.client, select, bulk_threshold=self.settings.bulk_threshold)

    def activity_access(self) -> dict[str, str | None]:
        """Per activity stream: None when the integration user can read its objects and
        fields (from their describes), else what is missing and the fix."""
        return self._activity.access()

    def fetch_activity(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        """Leads, quotes, cases, calls or line items modified at or after ``since`` minus
        the overlap, deletions included (``activity``); a stream the integration user
        cannot read is a SchemaError naming the fix."""
        return self._activity.fetch(stream, since)

    def crm_time(self) -> datetime | None:
        """The org's clock at its last answer (HTTP ``Date``)."""
        return self.client.session.server_time

    def usage(self) -> ApiUsage:
        """The quota as Salesforce last reported it (Sforce-Limit-Info) and the calls made."""
        return self.client.usage()

    # --- check ---------------------------------------------------------------------------

    def check(self) -> list[CheckItem]:
        """Log in and report version, quota, object and field access, partners and currency.

        Reads only: describes, /limits, the version list and two COUNT() queries.
        """
        self.client.login()  # a refusal or no answer ends the check with its own exit code
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
            except ENDS_A_CHECK:
                raise
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
        count = paging.count(self.client, select)
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
        rows = self._reads.wide_rows(select, record_ids)
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
        return AccountWriter(self.client, self.settings).update_records(updates)

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
        provisioner = FieldProvisioner(
            self.client,
            account_fields=partial(self._field_names, ACCOUNT),
            forget_account_describe=partial(self._describes.pop, ACCOUNT, None),
        )
        return provisioner.ensure(specs, create)


# --- helpers -------------------------------------------------------------------------------


def _versions(sf: Any) -> list[dict[str, Any]]:
    """``GET /services/data``: the API versions the instance serves."""
    response = sf.session.get(f"https://{sf.sf_instance}/services/data", headers=sf.headers)
    if response.status_code >= 300:
        exception_handler(response, "versions")
    body: list[dict[str, Any]] = response.json()
    return body


def _composite(body: str, sf: Any) -> Any:
    """``POST /composite`` with a prepared body."""
    return sf.restful("composite", method="POST", data=body)

"""The wire layer around simple-salesforce: login, retries, the quota guard and paging.

Every request to the org goes through ``SalesforceClient.call``, which

- refuses to start a call once the configured share of the daily quota is used
  (``Sforce-Limit-Info``, read from every response by ``SalesforceHttpSession``);
- logs in again once when the session has expired (INVALID_SESSION_ID) and
  repeats the call;
- retries, with exponential backoff and jitter (tenacity), what is worth
  retrying: 429s, 5xx, REQUEST_LIMIT_EXCEEDED other than the daily quota,
  dropped connections and timeouts, honouring ``Retry-After``;
- turns the rest into the project's errors: the daily quota used up or retries
  run out on limits → RateLimitExhausted; refused credentials → AuthError;
  anything else → CrmApiError with Salesforce's error code. Never a silent success.

Paging is written once here: REST query pages of 2,000 (``nextRecordsUrl``), or a
Bulk API 2.0 query job when the read is large.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
)

from connectors.http import CaBundleSession
from connectors.retry import TransientError, call_with_retries, parse_retry_after
from connectors.salesforce.auth import (
    TOKEN_PATH,
    Credentials,
    Token,
    read_credentials,
    request_token,
)
from connectors.salesforce.mapping import Row, row_from_json, rows_from_csv
from connectors.salesforce.queries import (
    BULK_RESULT_PAGE_SIZE,
    CRM,
    QUERY_PAGE_SIZE,
    Select,
    count_of,
    id_chunks,
)
from connectors.salesforce.settings import SalesforceSettings
from core.connector import ApiUsage
from core.errors import (
    AuthError,
    ConfigError,
    CrmApiError,
    PartnerKpiError,
    RateLimitExhausted,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

DAILY_QUOTA_MESSAGE = "TotalRequests"
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
BULK_DONE, BULK_FAILED = "JobComplete", ("Failed", "Aborted")


class SalesforceHttpSession(CaBundleSession):
    """The connector's session: the CA bundle, a default timeout, and what each answer says.

    simple-salesforce only reads ``Sforce-Limit-Info`` on its REST calls and drops
    ``Retry-After``; reading both here covers Bulk API calls and the retry policy.
    """

    def __init__(self, ca_bundle: Any, timeout: float) -> None:
        super().__init__(ca_bundle)
        self.timeout = timeout
        self.api_calls = 0
        self.quota: tuple[int, int] | None = None
        self.retry_after: float | None = None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        self.retry_after = None
        if TOKEN_PATH not in str(url):
            self.api_calls += 1
        response = super().request(method, url, *args, **kwargs)
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            usage = Salesforce.parse_api_usage(info).get("api-usage")
            if usage is not None:
                self.quota = (int(usage[0]), int(usage[1]))
        if response.status_code >= 400:
            self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


def _error_of(content: Any) -> tuple[str, str]:
    """Salesforce's error code and message from an error body of any of its shapes."""
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        first = content[0]
        return str(first.get("errorCode") or first.get("statusCode") or ""), str(
            first.get("message") or ""
        )
    if isinstance(content, Mapping):
        return str(content.get("errorCode") or content.get("error") or ""), str(
            content.get("message") or content.get("error_description") or ""
        )
    return "", str(content)[:300]


@dataclass(frozen=True)
class RecordPage:
    """One page of rows and the query's total (as Salesforce counted it)."""

    rows: list[Row]
    total_size: int


@dataclass(frozen=True)
class IngestResults:
    """A Bulk API 2.0 ingest job's per-record results, as the CSV Salesforce answers."""

    job_id: str
    successful: str
    failed: str
    unprocessed: str


class SalesforceClient:
    """A logged-in simple-salesforce handle behind one retry and quota policy."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: SalesforceHttpSession | None = None,
    ) -> None:
        self.settings = settings
        # read now: a missing variable is a config error before any network traffic
        self.credentials: Credentials = read_credentials(settings, environ)
        self.session = session or SalesforceHttpSession(
            settings.ca_bundle, settings.timeout_seconds
        )
        self._sleep = sleep
        self._sf: Any = None
        self.logins = 0

    # --- session -------------------------------------------------------------------

    @property
    def sf(self) -> Any:
        """The simple-salesforce handle (Any: its dynamic attributes defeat typing)."""
        if self._sf is None:
            self.login()
        return self._sf

    def login(self) -> Token:
        """Exchange the credentials for a session (retried like any call)."""
        token = self._run(
            "login", partial(request_token, self.session, self.settings, self.credentials)
        )
        self.logins += 1
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.session,
            version=self.settings.api_version,
        )
        return token

    @property
    def base_url(self) -> str:
        return str(self.sf.base_url)

    def usage(self) -> ApiUsage:
        """The quota as the last response reported it, and the calls this client made."""
        used, limit = self.session.quota or (None, None)
        return ApiUsage(used=used, limit=limit, calls_made=self.session.api_calls)

    # --- one call --------------------------------------------------------------------

    def call(self, what: str, operation: Callable[[Any], T], *, record_id: str | None = None) -> T:
        """``operation(sf)`` under the quota guard, one re-login and the retry policy."""

        def once() -> T:
            self._guard_quota(what)
            try:
                return operation(self.sf)
            except SalesforceExpiredSession:
                logger.info("salesforce: session expired during %s; logging in again", what)
                self.login()
                self._guard_quota(what)
                try:
                    return operation(self.sf)
                except SalesforceExpiredSession as exc:
                    raise AuthError(
                        f"Salesforce refused a fresh session during {what} (INVALID_SESSION_ID); "
                        "check the integration user's session and IP settings"
                    ) from exc

        return self._run(what, once, record_id)

    def _guard_quota(self, what: str) -> None:
        if self.session.quota is None:
            return
        used, limit = self.session.quota
        share = self.settings.max_quota_share
        if limit and used / limit >= share:
            raise RateLimitExhausted(
                f"Salesforce API quota: {used} of {limit} daily calls used, which reaches "
                f"crm.max_quota_share={share}; stopped before {what}. "
                "The next run resumes from the last saved cursor."
            )

    def _run(self, what: str, function: Callable[[], T], record_id: str | None = None) -> T:
        def attempt() -> T:
            try:
                return function()
            except PartnerKpiError:
                raise
            except Exception as exc:
                classified = self._classify(exc, what, record_id)
                if classified is exc:
                    raise
                raise classified from exc

        def gave_up(last: TransientError, attempts: int) -> Exception:
            return CrmApiError(
                f"{what} failed {attempts} times; the last answer: {last.message}",
                crm=CRM,
                error_code=last.code,
                http_status=last.status,
                record_id=record_id,
            )

        return call_with_retries(
            attempt,
            what=what,
            crm_label="Salesforce",
            settings=self.settings,
            sleep=self._sleep,
            logger=logger,
            gave_up=gave_up,
        )

    def _classify(self, exc: Exception, what: str, record_id: str | None) -> Exception:
        """A transient failure to retry, the project's final error, or ``exc`` itself."""
        if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(
            exc
        ):
            return ConfigError(
                "crm.ca_bundle",
                f"the TLS certificate of {self.settings.login_url} is not trusted; "
                "point crm.ca_bundle at the PEM file of the CA that signed it",
            )
        if isinstance(exc, requests.Timeout):
            return TransientError("TIMEOUT", f"no answer within {self.settings.timeout_seconds} s")
        if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            return TransientError("CONNECTION_LOST", type(exc).__name__)
        if isinstance(exc, SalesforceOperationError):
            return CrmApiError(str(exc), crm=CRM, error_code="BULK_JOB_FAILED", record_id=record_id)
        if isinstance(exc, SalesforceError):
            status = exc.status
            code, message = _error_of(exc.content)
        elif isinstance(exc, requests.HTTPError) and exc.response is not None:
            status = exc.response.status_code
            try:
                body: Any = exc.response.json()
            except ValueError:
                body = exc.response.text
            code, message = _error_of(body)
        else:
            return exc
        code = code or f"HTTP_{status}"
        if code == LIMIT_CODE and DAILY_QUOTA_MESSAGE in message:
            return RateLimitExhausted(
                f"Salesforce's daily API quota is used up ({code}: {message}); "
                "the next run resumes from the last saved cursor"
            )
        limit = status == 429 or code == LIMIT_CODE
        if limit or status >= 500 or status == 408:
            retry_after = self.session.retry_after
            if retry_after is not None and retry_after > self.settings.max_retry_after_seconds:
                return RateLimitExhausted(
                    f"Salesforce asked to wait {retry_after:.0f} s before {what} ({code}), "
                    f"longer than crm.max_retry_after_seconds; the next run resumes"
                )
            return TransientError(
                code,
                message or f"HTTP {status}",
                status=status,
                retry_after=retry_after,
                limit=limit,
            )
        if status == 401:
            return AuthError(f"Salesforce refused the session during {what} ({code}: {message})")
        return CrmApiError(
            message or f"HTTP {status}",
            crm=CRM,
            error_code=code,
            record_id=record_id,
            http_status=status,
        )

    # --- reads -------------------------------------------------------------------------

    def count(self, select: Select) -> int:
        """``SELECT COUNT()`` with the read's condition (deleted rows too when it has them)."""
        soql = count_of(select)
        result = self.call(
            f"count {select.sobject}",
            lambda sf: sf.query(soql, include_deleted=select.include_deleted),
        )
        return int(result["totalSize"])

    def pages(self, select: Select, *, bulk_threshold: int | None = None) -> Iterator[RecordPage]:
        """The rows of ``select``, page by page, over REST or Bulk API 2.0.

        The first REST page tells how many records match (``totalSize``): when
        that reaches ``bulk_threshold`` and more pages remain, the read becomes a
        Bulk API 2.0 job. Deciding from the first page costs no extra call in the
        common, smaller case (a ``COUNT()`` first would cost one on every read).
        """
        soql = select.soql()
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_PAGE_SIZE}"}
        result = self.call(
            f"query {select.sobject}",
            lambda sf: sf.query(soql, include_deleted=select.include_deleted, headers=headers),
        )
        total = int(result["totalSize"])
        if bulk_threshold is not None and total >= bulk_threshold and not result.get("done"):
            logger.info(
                "salesforce: %d %s records, switching to Bulk API 2.0", total, select.sobject
            )
            yield from self.bulk_pages(select, total)
            return
        while True:
            yield RecordPage([row_from_json(r, select.fields) for r in result["records"]], total)
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self.call(
                f"query {select.sobject} (next page)",
                partial(_query_more, str(next_url), headers),
            )

    def bulk_pages(self, select: Select, total: int) -> Iterator[RecordPage]:
        """The rows of ``select`` through a Bulk API 2.0 query job, a result page at a time."""
        sobject = select.sobject
        operation = Operation.query_all if select.include_deleted else Operation.query
        job = self.call(
            f"create a Bulk API 2.0 job on {sobject}",
            lambda sf: _bulk(sf, sobject).create_job(operation, select.soql()),
        )
        job_id = str(job["id"])
        self._wait_for_job(sobject, job_id, query=True)
        locator = ""
        while True:
            result = self.call(
                f"Bulk API 2.0 results of {job_id}",
                partial(_bulk_results, sobject, job_id, locator),
            )
            locator = str(result.get("locator") or "")
            # A result page saves calls (50,000 rows each) but is parsed and passed
            # on a query page at a time, so memory stays that of 2,000 rows.
            rows = rows_from_csv(result.pop("records"), select.fields)
            while chunk := list(islice(rows, QUERY_PAGE_SIZE)):
                yield RecordPage(chunk, total)
            if not locator:
                return

    def _wait_for_job(self, sobject: str, job_id: str, *, query: bool) -> dict[str, Any]:
        """Poll a Bulk API 2.0 job until it is JobComplete; its last job info.

        A Failed or Aborted job, or one still running at ``bulk_timeout_seconds``,
        is a CrmApiError with the job's own message.
        """
        kind = "query" if query else "update"
        deadline = time.monotonic() + self.settings.bulk_timeout_seconds
        while True:
            info: dict[str, Any] = self.call(
                f"Bulk API 2.0 {kind} job {job_id}",
                lambda sf: _bulk(sf, sobject).get_job(job_id, query),
            )
            state = str(info.get("state"))
            if state == BULK_DONE:
                return info
            if state in BULK_FAILED:
                raise CrmApiError(
                    f"Bulk API 2.0 {kind} job {job_id} ended {state}: "
                    + str(info.get("errorMessage") or "no message"),
                    crm=CRM,
                    error_code=f"BULK_JOB_{state.upper()}",
                )
            if time.monotonic() >= deadline:
                raise CrmApiError(
                    f"job {job_id} not complete after {self.settings.bulk_timeout_seconds} s",
                    crm=CRM,
                    error_code="BULK_JOB_TIMEOUT",
                )
            self._sleep(self.settings.bulk_poll_seconds)

    def bulk_update(self, sobject: str, csv_text: str, records: int) -> IngestResults:
        """Update records through one Bulk API 2.0 ingest job: create, upload the CSV,
        close, wait, then read the per-record results (successful, failed, unprocessed).

        Each step is a call under the retry policy. A job that ends Failed or Aborted
        raises; records it did not process come back as unprocessed, never as written.
        """
        job = self.call(
            f"create a Bulk API 2.0 update job on {sobject}",
            lambda sf: _bulk(sf, sobject).create_job(Operation.update),
        )
        job_id = str(job["id"])
        self.call(
            f"upload {records} {sobject} updates to job {job_id}",
            lambda sf: _bulk(sf, sobject).upload_job_data(job_id, csv_text),
        )
        self.call(f"close job {job_id}", lambda sf: _bulk(sf, sobject).close_job(job_id))
        info = self._wait_for_job(sobject, job_id, query=False)
        texts = {
            kind: self.call(
                f"{kind} of job {job_id}",
                partial(_ingest_results, sobject, job_id, kind),
            )
            for kind in ("successfulResults", "failedResults")
        }
        processed = int(info.get("numberRecordsProcessed") or 0)
        unprocessed = ""
        if processed < records:
            unprocessed = self.call(
                f"unprocessed records of job {job_id}",
                partial(_ingest_results, sobject, job_id, "unprocessedrecords"),
            )
        return IngestResults(
            job_id=job_id,
            successful=texts["successfulResults"],
            failed=texts["failedResults"],
            unprocessed=unprocessed,
        )

    def rows_by_ids(self, select: Select, ids: Sequence[str], key: str = "Id") -> Iterator[Row]:
        """The rows of ``select`` whose ``key`` is one of ``ids``, in as few queries as fit."""
        if not ids:
            return
        for chunk in id_chunks(self.base_url, select, ids, key):
            for page in self.pages(chunk):
                yield from page.rows


def _query_more(next_url: str, headers: Mapping[str, str], sf: Any) -> Any:
    return sf.query_more(next_url, identifier_is_url=True, headers=dict(headers))


def _bulk(sf: Any, sobject: str) -> Any:
    """simple-salesforce's Bulk API 2.0 client for one object, with the current session.

    Its job-level steps are driven one by one (rather than through its ``query``
    generator) so that each request gets the retry policy and a failed result
    page does not restart the whole job.
    """
    return getattr(sf.bulk2, sobject)._client


def _ingest_results(sobject: str, job_id: str, kind: str, sf: Any) -> str:
    return str(_bulk(sf, sobject).get_ingest_results(job_id, kind))


def _bulk_results(sobject: str, job_id: str, locator: str, sf: Any) -> Any:
    return _bulk(sf, sobject).get_query_results(job_id, locator, BULK_RESULT_PAGE_SIZE)

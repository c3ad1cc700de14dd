"""The wire of the Salesforce adapter: simple-salesforce behind ``connectors.wire``.

Every request to the org goes through ``SalesforceClient.call``: the shared skeleton
(quota guard, retries, classification) around one simple-salesforce operation, plus
what is Salesforce's own:

- the quota comes from ``Sforce-Limit-Info``, read from every response by
  ``SalesforceHttpSession`` (simple-salesforce reads it on REST calls only, and
  drops ``Retry-After``);
- a session that expired (INVALID_SESSION_ID) logs in again once and repeats the call;
- error bodies in any of Salesforce's shapes give the code and message;
  REQUEST_LIMIT_EXCEEDED is a rate limit, and with TotalRequests the daily quota used up.

Query paging lives in ``paging``, Bulk API 2.0 update jobs in ``ingest``; both poll
their jobs through ``wait_for_job`` here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
)

from connectors.http import CaBundleSession, ca_bundle_file
from connectors.reach import lost_connection
from connectors.retry import NoAnswer, parse_retry_after
from connectors.salesforce.auth import (
    TOKEN_PATH,
    Credentials,
    Token,
    read_credentials,
    request_token,
)
from connectors.salesforce.queries import CRM
from connectors.salesforce.settings import SalesforceSettings
from connectors.wire import ErrorAnswer, Wire
from core.errors import AuthError, CrmApiError, RetriesExhausted

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

    def __init__(self, ca_bundle: Any, timeout: tuple[float, float]) -> None:
        super().__init__(ca_bundle)
        self.timeout = timeout
        self.api_calls = 0
        self.quota: tuple[int, int] | None = None
        self.retry_after: float | None = None
        #: the org's clock (Date header) at the last answer: how long ago a read began
        self.server_time: datetime | None = None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        self.retry_after = None
        if TOKEN_PATH not in str(url):
            self.api_calls += 1
        response = super().request(method, url, *args, **kwargs)
        self.server_time = _date_of(response.headers.get("Date")) or self.server_time
        info = response.headers.get("Sforce-Limit-Info")
        if info:
            usage = Salesforce.parse_api_usage(info).get("api-usage")
            if usage is not None:
                self.quota = (int(usage[0]), int(usage[1]))
        if response.status_code >= 400:
            self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


def _date_of(header: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None when absent or unreadable."""
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return None


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


class SalesforceClient(Wire[SalesforceSettings]):
    """A logged-in simple-salesforce handle behind the shared retry and quota policy."""

    crm = CRM
    label = "Salesforce"
    url_key = "crm.login_url"
    logger = logger

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: SalesforceHttpSession | None = None,
    ) -> None:
        super().__init__(settings, sleep)
        # read now: a missing variable is a config error before any network traffic
        self.credentials: Credentials = read_credentials(settings, environ)
        self.session = session or SalesforceHttpSession(
            ca_bundle_file(settings.ca_bundle), self.timeouts()
        )
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
        """Exchange the credentials for a session (retried like any call, but not metered:
        the token endpoint is no API call)."""
        token = self.run(
            "login",
            partial(request_token, self.session, self.settings, self.credentials),
            metered=False,
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

    # --- what the skeleton asks ----------------------------------------------------------

    @property
    def host(self) -> str:
        return self.settings.login_url

    def quota(self) -> tuple[int | None, int | None]:
        return self.session.quota or (None, None)

    def requests_made(self) -> int:
        # counted by the session: one operation may send several requests (query_all
        # pages, a repeat after a fresh login) and a login sends none to the API
        return self.session.api_calls

    def call(
        self,
        what: str,
        operation: Callable[[Any], T],
        *,
        record_id: str | None = None,
        repeatable: bool = True,
    ) -> T:
        """``operation(sf)`` under the skeleton, with one fresh login if the session expired.

        ``repeatable=False`` for a write: its lost answer is ``AnswerLost``, not a repeat.
        """

        def once() -> T:
            try:
                return operation(self.sf)
            except SalesforceExpiredSession:
                logger.info("salesforce: session expired during %s; logging in again", what)
                self.login()
                self.guard_quota(what)
                try:
                    return operation(self.sf)
                except SalesforceExpiredSession as exc:
                    raise AuthError(
                        f"Salesforce refused a fresh session during {what} (INVALID_SESSION_ID); "
                        "check the integration user's session and IP settings"
                    ) from exc

        return self.run(what, once, record_id=record_id, repeatable=repeatable)

    def read_failure(self, exc: Exception) -> ErrorAnswer | Exception | None:
        if isinstance(exc, requests.Timeout):
            return NoAnswer("TIMEOUT", f"no answer within {self.settings.timeout_seconds} s")
        if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            return NoAnswer("CONNECTION_LOST", lost_connection(exc))
        if isinstance(exc, SalesforceOperationError):
            return CrmApiError(str(exc), crm=CRM, error_code="BULK_JOB_FAILED")
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
            return None
        return ErrorAnswer(
            status=status,
            code=code or f"HTTP_{status}",
            message=message or f"HTTP {status}",
            retry_after=self.session.retry_after,
            rate_limited=code == LIMIT_CODE,
            quota_used_up=code == LIMIT_CODE and DAILY_QUOTA_MESSAGE in message,
        )

    def pause(self, seconds: float) -> None:
        """Wait between tries of something the retry policy does not drive (locked records)."""
        self._sleep(seconds)

    def auth_refused(self, answer: ErrorAnswer, what: str) -> str:
        return f"Salesforce refused the session during {what} ({answer.code}: {answer.message})"

    # --- Bulk API 2.0 jobs ------------------------------------------------------------------

    def wait_for_job(self, sobject: str, job_id: str, *, query: bool) -> dict[str, Any]:
        """Poll a Bulk API 2.0 job until it is JobComplete; its last job info.

        A Failed or Aborted job is a CrmApiError with the job's own message; one still
        running at ``bulk_timeout_seconds`` is RetriesExhausted (exit 4).
        """
        kind = "query" if query else "update"
        deadline = time.monotonic() + self.settings.bulk_timeout_seconds
        while True:
            info: dict[str, Any] = self.call(
                f"Bulk API 2.0 {kind} job {job_id}",
                lambda sf: bulk_client(sf, sobject).get_job(job_id, query),
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
                # slow, not refused: the org may finish it later, and the next run resumes
                raise RetriesExhausted(
                    f"salesforce BULK_JOB_TIMEOUT: Bulk API 2.0 {kind} job {job_id} not complete "
                    f"after {self.settings.bulk_timeout_seconds} s (crm.bulk_timeout_seconds); "
                    "the next run resumes where this one stopped",
                    crm=CRM,
                    error_code="BULK_JOB_TIMEOUT",
                )
            self._sleep(self.settings.bulk_poll_seconds)


def bulk_client(sf: Any, sobject: str) -> Any:
    """simple-salesforce's Bulk API 2.0 client for one object, with the current session.

    Its job-level steps are driven one by one (rather than through its ``query``
    generator) so that each request gets the retry policy and a failed result
    page does not restart the whole job.
    """
    return getattr(sf.bulk2, sobject)._client

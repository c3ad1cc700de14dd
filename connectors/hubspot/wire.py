"""The wire of the HubSpot adapter: hubspot-api-client behind ``connectors.wire``.

Every request goes through ``HubSpotWire.call``: the shared skeleton (quota
guard, retries, classification) around one generated ``*_with_http_info`` method,
plus what is HubSpot's own:

- the quota comes from ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining``, read
  from every answer, and a call waits out the ten-second window when the last
  answer said it was spent;
- a 429 waits exactly its ``Retry-After``; a 429 of the DAILY policy is the quota
  used up; a 403 names the scopes the private app needs; a 404 that is not HubSpot's
  answer about a record is a ConfigError on ``crm.base_url`` (``wrong_base_url``).
  The client's own urllib3 retries are off, so every attempt is seen, counted and
  logged by the skeleton;
- each answer comes back as its raw JSON, which ``client`` hands to ``mapping``, so
  the rest of the adapter never touches a generated model.

The token lives in the client's configuration only; no message built here contains it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.associations.v4.schema import ApiException as LabelsApiException
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.pipelines import ApiException as PipelinesApiException
from hubspot.crm.properties import ApiException as PropertiesApiException

from connectors.http import ca_bundle_file
from connectors.hubspot.mapping import (
    BatchError,
)
from connectors.hubspot.queries import ACTIVITY_READ_SCOPES, CRM, SCOPES, WRITE_SCOPES
from connectors.hubspot.settings import HubSpotSettings
from connectors.reach import lost_connection
from connectors.retry import NoAnswer, parse_retry_after
from connectors.wire import ErrorAnswer, Wire
from core.errors import ConfigError, CrmApiError

logger = logging.getLogger(__name__)

#: Every generated package's ApiException the adapter can meet (each package has its own).
API_EXCEPTIONS: tuple[type[Exception], ...] = (
    AssociationsApiException,
    LabelsApiException,
    CompaniesApiException,
    DealsApiException,
    ObjectsApiException,
    PipelinesApiException,
    PropertiesApiException,
)
DAILY_POLICY = "DAILY"
#: HubSpot's category of a 404 about a record (an id that does not exist or was archived).
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
#: Where a private app's token tells its scopes (the token goes in the body).
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"


def read_token(settings: HubSpotSettings, environ: Mapping[str, str]) -> str:
    """The private app's token from the variable ``crm.access_token_env`` names."""
    name = settings.access_token_env
    token = environ.get(name, "").strip()
    if not token:
        raise ConfigError(
            "crm.access_token_env",
            f"the environment variable {name} is not set or empty; put the HubSpot private "
            "app's access token in it (Settings → Integrations → Private apps), or name "
            "another variable in crm.access_token_env",
        )
    return token


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class RateLimits:
    """What the X-HubSpot-RateLimit-* headers of the last answer said."""

    daily: int | None = None
    daily_remaining: int | None = None
    window_max: int | None = None
    window_remaining: int | None = None
    interval_ms: int | None = None

    def update(self, headers: Mapping[str, str]) -> None:
        """Take in the headers that are present (a 429 or an error may carry none).

        ``headers`` are keyed in lower case (HTTP header names ignore case).
        """
        for attribute, name in (
            ("daily", "X-HubSpot-RateLimit-Daily"),
            ("daily_remaining", "X-HubSpot-RateLimit-Daily-Remaining"),
            ("window_max", "X-HubSpot-RateLimit-Max"),
            ("window_remaining", "X-HubSpot-RateLimit-Remaining"),
            ("interval_ms", "X-HubSpot-RateLimit-Interval-Milliseconds"),
        ):
            value = _int_header(headers, name.lower())
            if value is not None:
                setattr(self, attribute, value)

    @property
    def daily_used(self) -> int | None:
        if self.daily is None or self.daily_remaining is None:
            return None
        return max(self.daily - self.daily_remaining, 0)


def _error_body(raw: Any, status: int) -> tuple[str, str, str | None, str | None]:
    """HubSpot's category, message, correlationId and policyName from an error body."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    body: Any = None
    if isinstance(raw, str) and raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
    if not isinstance(body, Mapping):
        text = raw.strip()[:300] if isinstance(raw, str) else ""
        return f"HTTP_{status}", text or f"HTTP {status}", None, None
    return (
        str(body.get("category") or f"HTTP_{status}"),
        str(body.get("message") or f"HTTP {status}"),
        str(body["correlationId"]) if body.get("correlationId") else None,
        str(body["policyName"]) if body.get("policyName") else None,
    )


def raise_unexpected(errors: Sequence[BatchError], *, expected: str) -> None:
    """A 207's errors other than the expected category are errors of the whole call."""
    for error in errors:
        if error.category != expected:
            raise CrmApiError(
                error.message,
                crm=CRM,
                error_code=error.code or error.category,
                record_id=error.ids[0] if error.ids else None,
            )


def wrong_base_url(answer: ErrorAnswer, record_id: str | None) -> bool:
    """A 404 that says the base URL is wrong, not that a record is missing.

    Every route the adapter calls is a collection or metadata route that exists in every
    account (lists, searches, batches, pipelines, properties, labels): records travel in
    the body, and a missing one comes back among a 207's errors. So a 404 whose body is
    not a HubSpot JSON error, or one about no record, is a path HubSpot does not serve.
    Only HubSpot's own OBJECT_NOT_FOUND about a record stays the CRM's answer.
    """
    if answer.status != 404:
        return False
    if answer.code == f"HTTP_{answer.status}":  # no HubSpot category: not HubSpot's JSON
        return True
    return record_id is None and answer.code != OBJECT_NOT_FOUND


@dataclass
class _Apis:
    """The generated API objects, built once (each property access would build a new pool)."""

    hubspot: HubSpot
    cache: dict[str, Any] = field(default_factory=dict)

    def get(self, path: str) -> Any:
        if path not in self.cache:
            target: Any = self.hubspot.crm
            for part in path.split("."):
                target = getattr(target, part)
            self.cache[path] = target
        return self.cache[path]


class HubSpotWire(Wire[HubSpotSettings]):
    """hubspot-api-client behind the shared retry and quota policy, answering raw JSON."""

    crm = CRM
    label = "HubSpot"
    url_key = "crm.base_url"
    logger = logger

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, sleep)
        # read now: a missing variable is a config error before any network traffic
        token = read_token(settings, os.environ if environ is None else environ)
        ca_bundle = ca_bundle_file(settings.ca_bundle)
        hubspot = HubSpot(
            access_token=token,
            host=settings.base_url,
            ssl_ca_cert=str(ca_bundle) if ca_bundle is not None else None,
            retry=False,  # urllib3 retries off: the skeleton retries, seeing every attempt
        )
        self._apis = _Apis(hubspot)
        self._token = token
        self._scopes: frozenset[str] | None = None
        self.limits = RateLimits()
        #: the server's clock (Date header) at the last answer: caps incremental cursors
        self.server_time: datetime | None = None
        self._timeout = settings.timeout_seconds
        #: (connect, read): a server that accepts no connection is said so in seconds
        self.timeout = self.timeouts()

    # --- what the skeleton asks ----------------------------------------------------------

    @property
    def host(self) -> str:
        return self.settings.base_url

    def quota(self) -> tuple[int | None, int | None]:
        return self.limits.daily_used, self.limits.daily

    def before_attempt(self) -> None:
        """Wait out the ten-second window when the last answer said it was spent."""
        if self.limits.window_remaining is not None and self.limits.window_remaining <= 0:
            seconds = (self.limits.interval_ms or 10_000) / 1000
            logger.info("hubspot: ten-second call window spent; waiting %.1f s", seconds)
            self._sleep(seconds)
            self.limits.window_remaining = None

    def call(
        self,
        what: str,
        operation: Callable[[], Any],
        *,
        record_id: str | None = None,
        repeatable: bool = True,
    ) -> tuple[Mapping[str, Any], int]:
        """``operation()`` under the skeleton: its JSON body and status (``repeatable=False``
        for a write: its lost answer is ``AnswerLost``, not a repeat).

        ``operation`` is a generated ``*_with_http_info`` method called with
        ``_preload_content=False``: it answers the raw response, whose JSON is read
        here. (The client's model layer parses every createdAt/updatedAt with
        dateutil, which cost half the time of a full read; the wire format is
        HubSpot's documented JSON either way.)
        """

        def send() -> tuple[Mapping[str, Any], int]:
            response = operation()
            try:
                raw = response.data
            finally:
                response.release_conn()
            self._observe(response.headers)
            status = int(response.status)
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            if not isinstance(body, Mapping):
                raise CrmApiError(
                    f"{what}: the answer is not a JSON object",
                    crm=CRM,
                    error_code="UNEXPECTED_RESPONSE",
                    http_status=status,
                    record_id=record_id,
                )
            return body, status

        return self.run(what, send, record_id=record_id, repeatable=repeatable)

    def _observe(self, headers: Any) -> None:
        if not headers:
            return
        lowered = {str(k).lower(): str(v) for k, v in dict(headers).items()}
        self.limits.update(lowered)
        date = lowered.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.server_time = parsedate_to_datetime(date).astimezone(UTC)

    def read_failure(self, exc: Exception) -> ErrorAnswer | Exception | None:
        if isinstance(exc, AttributeError) and isinstance(exc.__context__, API_EXCEPTIONS):
            # hubspot-api-client 12 decodes ``e.body`` of every ApiException, and the one it
            # makes of an SSL failure has none: the AttributeError hides the real error
            exc = exc.__context__
        if isinstance(exc, urllib3.exceptions.TimeoutError):
            return NoAnswer("TIMEOUT", f"no answer within {self._timeout} s")
        if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError):
            return NoAnswer("CONNECTION_LOST", lost_connection(exc))
        if not isinstance(exc, API_EXCEPTIONS):
            return None
        status = int(getattr(exc, "status", 0) or 0)
        if status == 0:
            # no HTTP answer: the client made a status-0 ApiException of the failure
            reason = str(getattr(exc, "reason", "") or "")
            return NoAnswer("CONNECTION_LOST", reason.splitlines()[0] if reason else "no answer")
        headers = {str(k): str(v) for k, v in dict(getattr(exc, "headers", None) or {}).items()}
        self._observe(headers)
        category, message, correlation_id, policy = _error_body(getattr(exc, "body", None), status)
        if status != 429:
            return ErrorAnswer(status, category, message, correlation_id)
        lowered = {k.lower(): v for k, v in headers.items()}
        return ErrorAnswer(
            status,
            category,
            f"{message} (policy {policy})",
            correlation_id,
            retry_after=parse_retry_after(lowered.get("retry-after")),
            quota_used_up=policy == DAILY_POLICY,
        )

    def meaning(self, answer: ErrorAnswer, what: str, record_id: str | None) -> Exception:
        if wrong_base_url(answer, record_id):
            return ConfigError(
                self.url_key,
                f"{self.settings.base_url} answered HTTP 404 ({answer.code}: {answer.message}) "
                f"to {what}, a route every HubSpot account has: {self.url_key} is not the "
                "URL of HubSpot's API; check it (HubSpot's is https://api.hubapi.com, with no "
                "path)",
            )
        return super().meaning(answer, what, record_id)

    def auth_refused(self, answer: ErrorAnswer, what: str) -> str:
        return (
            f"HubSpot refused the access token read from {self.settings.access_token_env} "
            f"({answer.code}) during {what}; create or rotate the private app's token "
            "(Settings → Integrations → Private apps) and set it in that variable "
            "(crm.access_token_env names it)"
        )

    def refusal_message(self, answer: ErrorAnswer, what: str) -> str:
        message = f"{what}: {answer.message}"
        if answer.status == 403:
            writing = what.startswith(("batch update", "create"))
            scopes = (*SCOPES, *WRITE_SCOPES) if writing else SCOPES
            # a read of an activity object names that object's scope
            words = what.replace("→", " ").split()
            named = [s for name, s in ACTIVITY_READ_SCOPES.items() if name in words]
            message += f"; grant the private app the scopes {', '.join(named or scopes)}"
        return message

    def request(self, path: str, method: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
        """A generated API method, bound to its arguments, answering the raw response."""
        bound = getattr(self._apis.get(path), method)
        return partial(
            bound, *args, _preload_content=False, _request_timeout=self.timeout, **kwargs
        )

    def ask(
        self,
        what: str,
        path: str,
        method: str,
        *args: Any,
        repeatable: bool = True,
        **kwargs: Any,
    ) -> Mapping[str, Any]:
        """The JSON body answered by one generated API method (``path``.``method``)."""
        body, _ = self.call(
            what, self.request(path, method, *args, **kwargs), repeatable=repeatable
        )
        return body

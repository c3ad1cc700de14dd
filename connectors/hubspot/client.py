"""The wire layer around hubspot-api-client: the token, retries, the quota guard, plain values.

Every request goes through ``HubSpotClient.call``, which

- refuses to start a call once the configured share of the daily quota is used
  (``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining``, read from every answer),
  and waits out the ten-second window when its last answer said it was spent;
- retries, with exponential backoff and jitter (tenacity), what is worth
  retrying: 429s of the ten-second window (waiting exactly ``Retry-After``),
  5xx, 408, timeouts and dropped connections. The client's own urllib3
  retries are off, so every attempt is seen, counted and logged here;
- turns the rest into the project's errors: a 429 of the DAILY policy, or
  retries run out on 429s → RateLimitExhausted; a 401 → AuthError; anything
  else → ``CrmApiError`` with HubSpot's category and
  correlationId. Never a silent success.

HubSpot's JSON answers are turned into the plain values of ``mapping`` here, so the
rest of the adapter never touches a generated model. The token lives in the
client's configuration only; no message built here contains it.
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
from pathlib import Path
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.associations.v4.schema import ApiException as LabelsApiException
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.pipelines import ApiException as PipelinesApiException
from hubspot.crm.properties import ApiException as PropertiesApiException

from connectors.hubspot.mapping import (
    AssociatedCompany,
    HsRecord,
    LabelDef,
    PipelineInfo,
    StageInfo,
    parse_ms,
)
from connectors.hubspot.paging import SearchPage
from connectors.hubspot.queries import COMPANIES, CRM, DEALS, SCOPES, WRITE_SCOPES
from connectors.hubspot.settings import HubSpotSettings
from connectors.retry import TransientError, call_with_retries, parse_retry_after
from core.connector import ApiUsage
from core.errors import (
    AuthError,
    ConfigError,
    CrmApiError,
    PartnerKpiError,
    RateLimitExhausted,
)

logger = logging.getLogger(__name__)

#: Every generated package's ApiException the adapter can meet (each package has its own).
API_EXCEPTIONS: tuple[type[Exception], ...] = (
    AssociationsApiException,
    LabelsApiException,
    CompaniesApiException,
    DealsApiException,
    PipelinesApiException,
    PropertiesApiException,
)
DAILY_POLICY = "DAILY"
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


@dataclass(frozen=True)
class _ErrorBody:
    category: str
    message: str
    correlation_id: str | None
    policy: str | None
    sub_category: str | None


def _error_body(raw: Any, status: int) -> _ErrorBody:
    """HubSpot's error fields from an error body (bytes, text or absent)."""
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
        return _ErrorBody(f"HTTP_{status}", text or f"HTTP {status}", None, None, None)
    sub = body.get("subCategory")
    return _ErrorBody(
        category=str(body.get("category") or f"HTTP_{status}"),
        message=str(body.get("message") or f"HTTP {status}"),
        correlation_id=str(body["correlationId"]) if body.get("correlationId") else None,
        policy=str(body["policyName"]) if body.get("policyName") else None,
        sub_category=str(sub) if sub else None,
    )


@dataclass(frozen=True)
class BatchError:
    """One error of a 207 batch answer: HubSpot's category, the ids it names, the detail."""

    category: str
    message: str
    ids: tuple[str, ...]
    code: str | None = None
    sub_category: str | None = None
    properties: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class AssociationPage:
    """One from-object's associated companies in a v4 batch read, and where more start."""

    from_id: str
    companies: list[AssociatedCompany]
    next_after: str | None


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


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _next_after(body: Mapping[str, Any]) -> str | None:
    after = _mapping(_mapping(body.get("paging")).get("next")).get("after")
    return str(after) if after not in (None, "") else None


def record_of(obj: Mapping[str, Any]) -> HsRecord:
    """A SimplePublicObject (HubSpot's JSON) as an HsRecord."""
    history: dict[str, tuple[tuple[str, int], ...]] = {}
    for name, entries in _mapping(obj.get("propertiesWithHistory")).items():
        rows: list[tuple[str, int]] = []
        for entry in _items(entries):
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


def batch_errors_of(body: Mapping[str, Any]) -> list[BatchError]:
    """The errors of a 207 answer as BatchError values."""
    errors: list[BatchError] = []
    for item in _items(body.get("errors")):
        context = _mapping(item.get("context"))
        ids = [str(i) for key in ("ids", "fromObjectId", "id") for i in context.get(key) or []]
        details = _items(item.get("errors"))
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


def _property_info(item: Mapping[str, Any]) -> PropertyInfo:
    return PropertyInfo(
        name=str(item.get("name")),
        type=str(item.get("type")),
        field_type=str(item.get("fieldType")),
        group_name=str(item.get("groupName")),
        read_only_value=bool(_mapping(item.get("modificationMetadata")).get("readOnlyValue")),
        hubspot_defined=bool(item.get("hubspotDefined")),
        options=tuple(str(o.get("value")) for o in _items(item.get("options"))),
    )


class HubSpotClient:
    """hubspot-api-client behind one retry and quota policy, answering plain values."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        # read now: a missing variable is a config error before any network traffic
        token = read_token(settings, os.environ if environ is None else environ)
        ca_bundle: Path | None = settings.ca_bundle
        if ca_bundle is not None and not ca_bundle.is_file():
            raise ConfigError(
                "crm.ca_bundle", f"{ca_bundle} is not a file; point it at a PEM file of CAs"
            )
        hubspot = HubSpot(
            access_token=token,
            host=settings.base_url,
            ssl_ca_cert=str(ca_bundle) if ca_bundle is not None else None,
            retry=False,  # urllib3 retries off: tenacity retries, seeing every attempt
        )
        self._apis = _Apis(hubspot)
        self._token = token
        self._scopes: frozenset[str] | None = None
        self._sleep = sleep
        self.limits = RateLimits()
        self.calls = 0
        #: the server's clock (Date header) at the last answer: caps incremental cursors
        self.server_time: datetime | None = None
        self._timeout = settings.timeout_seconds

    # --- usage -----------------------------------------------------------------------------

    def usage(self) -> ApiUsage:
        """The daily quota as the last answer reported it, and the calls this client made."""
        return ApiUsage(used=self.limits.daily_used, limit=self.limits.daily, calls_made=self.calls)

    # --- one call ----------------------------------------------------------------------------

    def call(
        self, what: str, operation: Callable[[], Any], *, record_id: str | None = None
    ) -> tuple[Mapping[str, Any], int]:
        """``operation()`` under the quota guard and the retry policy: its JSON body and status.

        ``operation`` is a generated ``*_with_http_info`` method called with
        ``_preload_content=False``: it answers the raw response, whose JSON is read
        here. (The client's model layer parses every createdAt/updatedAt with
        dateutil, which cost half the time of a full read; the wire format is
        HubSpot's documented JSON either way.)
        """

        def attempt() -> tuple[Mapping[str, Any], int]:
            self._guard_quota(what)
            self._pace()
            self.calls += 1
            try:
                response = operation()
                try:
                    raw = response.data
                finally:
                    response.release_conn()
            except PartnerKpiError:
                raise
            except Exception as exc:
                classified = self._classify(exc, what, record_id)
                if classified is exc:
                    raise
                raise classified from exc
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

        def gave_up(last: TransientError, attempts: int) -> Exception:
            return CrmApiError(
                f"{what} failed {attempts} times; the last answer: {last.message}",
                crm=CRM,
                error_code=last.code,
                http_status=last.status,
                request_id=last.correlation_id,
                record_id=record_id,
            )

        return call_with_retries(
            attempt,
            what=what,
            crm_label="HubSpot",
            settings=self.settings,
            sleep=self._sleep,
            logger=logger,
            gave_up=gave_up,
        )

    def _observe(self, headers: Any) -> None:
        if not headers:
            return
        lowered = {str(k).lower(): str(v) for k, v in dict(headers).items()}
        self.limits.update(lowered)
        date = lowered.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.server_time = parsedate_to_datetime(date).astimezone(UTC)

    def _guard_quota(self, what: str) -> None:
        used, daily = self.limits.daily_used, self.limits.daily
        share = self.settings.max_quota_share
        if used is not None and daily and used / daily >= share:
            raise RateLimitExhausted(
                f"HubSpot API quota: {used} of {daily} daily calls used, which reaches "
                f"crm.max_quota_share={share}; stopped before {what}. "
                "The next run resumes from the last saved cursor."
            )

    def _pace(self) -> None:
        """Wait out the ten-second window when the last answer said it was spent."""
        if self.limits.window_remaining is not None and self.limits.window_remaining <= 0:
            seconds = (self.limits.interval_ms or 10_000) / 1000
            logger.info("hubspot: ten-second call window spent; waiting %.1f s", seconds)
            self._sleep(seconds)
            self.limits.window_remaining = None

    def _classify(self, exc: Exception, what: str, record_id: str | None) -> Exception:
        """A transient failure to retry, the project's final error, or ``exc`` itself."""
        if isinstance(exc, AttributeError) and isinstance(exc.__context__, API_EXCEPTIONS):
            # hubspot-api-client 12 decodes ``e.body`` of every ApiException, and the one it
            # makes of an SSL failure has none: the AttributeError hides the real error
            exc = exc.__context__
        if isinstance(exc, API_EXCEPTIONS):
            return self._classify_answer(exc, what, record_id)
        if isinstance(exc, urllib3.exceptions.TimeoutError):
            return TransientError("TIMEOUT", f"no answer within {self._timeout} s")
        if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError):
            return TransientError("CONNECTION_LOST", type(exc).__name__)
        return exc

    def _classify_answer(self, exc: Any, what: str, record_id: str | None) -> Exception:
        status = int(getattr(exc, "status", 0) or 0)
        if status == 0:
            # no HTTP answer: the client turned an SSL failure into a status-0 ApiException
            reason = str(getattr(exc, "reason", "") or "")
            if "CERTIFICATE_VERIFY_FAILED" in reason:
                return ConfigError(
                    "crm.ca_bundle",
                    f"the TLS certificate of {self.settings.base_url} is not trusted; point "
                    "crm.ca_bundle at the PEM file of the CA that signed it",
                )
            first_line = reason.splitlines()[0] if reason else "no answer"
            return TransientError("CONNECTION_LOST", first_line)
        headers = {str(k): str(v) for k, v in dict(getattr(exc, "headers", None) or {}).items()}
        self._observe(headers)
        error = _error_body(getattr(exc, "body", None), status)
        if status == 429:
            if error.policy == DAILY_POLICY:
                return RateLimitExhausted(
                    f"HubSpot's daily API quota is used up ({error.category}, policy DAILY, "
                    f"correlationId {error.correlation_id}); stopped at {what}. The next run "
                    "resumes from the last saved cursor"
                )
            lowered = {k.lower(): v for k, v in headers.items()}
            retry_after = parse_retry_after(lowered.get("retry-after"))
            if retry_after is not None and retry_after > self.settings.max_retry_after_seconds:
                return RateLimitExhausted(
                    f"HubSpot asked to wait {retry_after:.0f} s before {what} "
                    f"(policy {error.policy}), longer than crm.max_retry_after_seconds; "
                    "the next run resumes from the last saved cursor"
                )
            return TransientError(
                error.category,
                f"{error.message} (policy {error.policy})",
                status=status,
                correlation_id=error.correlation_id,
                retry_after=retry_after,
                limit=True,
            )
        if status >= 500 or status == 408:
            return TransientError(
                error.category, error.message, status=status, correlation_id=error.correlation_id
            )
        if status == 401:
            return AuthError(
                f"HubSpot refused the access token read from {self.settings.access_token_env} "
                f"({error.category}) during {what}; create or rotate the private app's token "
                "(Settings → Integrations → Private apps) and set it in that variable "
                "(crm.access_token_env names it)"
            )
        message = f"{what}: {error.message}"
        if status == 403:
            writing = what.startswith(("batch update", "create"))
            scopes = (*SCOPES, *WRITE_SCOPES) if writing else SCOPES
            message += f"; grant the private app the scopes {', '.join(scopes)}"
        return CrmApiError(
            message,
            crm=CRM,
            error_code=error.category,
            http_status=status,
            request_id=error.correlation_id,
            record_id=record_id,
        )

    # --- requests ------------------------------------------------------------------------------

    def _request(self, path: str, method: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
        """A generated API method, bound to its arguments, answering the raw response."""
        bound = getattr(self._apis.get(path), method)
        return partial(
            bound, *args, _preload_content=False, _request_timeout=self._timeout, **kwargs
        )

    def list_page(
        self,
        object_type: str,
        after: str | None,
        *,
        limit: int,
        properties: Sequence[str],
        properties_with_history: Sequence[str] = (),
        archived: bool = False,
    ) -> tuple[list[HsRecord], str | None]:
        """One page of a list (GET /crm/v3/objects/{type}), in id order, and the next cursor."""
        kwargs: dict[str, Any] = {
            "limit": limit,
            "properties": list(properties),
            "archived": archived,
        }
        if after is not None:
            kwargs["after"] = after
        if properties_with_history:
            kwargs["properties_with_history"] = list(properties_with_history)
        state = "archived " if archived else ""
        body, _ = self.call(
            f"list {state}{object_type}",
            self._request(f"{object_type}.basic_api", "get_page_with_http_info", **kwargs),
        )
        return [record_of(item) for item in _items(body.get("results"))], _next_after(body)

    def search(self, object_type: str, request: dict[str, Any]) -> SearchPage[HsRecord]:
        """One search page (POST /crm/v3/objects/{type}/search)."""
        body, _ = self.call(
            f"search {object_type}",
            self._request(
                f"{object_type}.search_api",
                "do_search_with_http_info",
                public_object_search_request=request,
            ),
        )
        return SearchPage(
            [record_of(item) for item in _items(body.get("results"))], int(body.get("total") or 0)
        )

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        properties_with_history: Sequence[str] = (),
    ) -> tuple[list[HsRecord], list[BatchError]]:
        """Records by id (POST …/batch/read); ids that do not exist come back as errors."""
        request: dict[str, Any] = {
            "inputs": [{"id": record_id} for record_id in ids],
            "properties": list(properties),
        }
        if properties_with_history:
            request["propertiesWithHistory"] = list(properties_with_history)
        body, _ = self.call(
            f"batch read {len(ids)} {object_type}",
            self._request(
                f"{object_type}.batch_api",
                "read_with_http_info",
                batch_read_input_simple_public_object_id=request,
            ),
        )
        return [record_of(item) for item in _items(body.get("results"))], batch_errors_of(body)

    def batch_update(
        self, object_type: str, inputs: Sequence[tuple[str, Mapping[str, str]]]
    ) -> tuple[list[str], list[BatchError]]:
        """Update records (POST …/batch/update): the ids written, and a 207's errors."""
        request = {"inputs": [{"id": rid, "properties": dict(props)} for rid, props in inputs]}
        body, _ = self.call(
            f"batch update {len(inputs)} {object_type}",
            self._request(
                f"{object_type}.batch_api",
                "update_with_http_info",
                batch_input_simple_public_object_batch_input=request,
            ),
        )
        written = [str(item.get("id")) for item in _items(body.get("results"))]
        return written, batch_errors_of(body)

    def associated_companies(
        self, deal_inputs: Sequence[tuple[str, str | None]]
    ) -> tuple[list[AssociationPage], list[BatchError]]:
        """v4 batch read of deal→company associations for (deal id, after) inputs."""
        request = {
            "inputs": [
                {"id": deal_id, **({"after": after} if after else {})}
                for deal_id, after in deal_inputs
            ]
        }
        body, _ = self.call(
            f"read the companies of {len(deal_inputs)} deals",
            self._request(
                "associations.v4.batch_api",
                "get_page_with_http_info",
                DEALS,
                COMPANIES,
                batch_input_public_fetch_associations_batch_request=request,
            ),
        )
        pages: list[AssociationPage] = []
        for result in _items(body.get("results")):
            companies = [
                AssociatedCompany(
                    company_id=str(item.get("toObjectId")),
                    types=frozenset(
                        (str(t.get("category")), int(t.get("typeId") or 0))
                        for t in _items(item.get("associationTypes"))
                    ),
                )
                for item in _items(result.get("to"))
            ]
            from_id = str(_mapping(result.get("from")).get("id"))
            pages.append(AssociationPage(from_id, companies, _next_after(result)))
        return pages, batch_errors_of(body)

    def association_labels(self, from_type: str, to_type: str) -> list[LabelDef]:
        """The association types (labels) from one object type to another."""
        body, _ = self.call(
            f"read the {from_type}→{to_type} association labels",
            self._request(
                "associations.v4.schema.definitions_api", "get_all_with_http_info",
                from_type, to_type,
            ),
        )  # fmt: skip
        return [
            LabelDef(
                str(item.get("category")),
                int(item.get("typeId") or 0),
                str(item["label"]) if item.get("label") else None,
            )
            for item in _items(body.get("results"))
        ]

    def pipelines(self, object_type: str) -> list[PipelineInfo]:
        """Every pipeline of an object type, with its stages and their metadata."""
        body, _ = self.call(
            f"read the {object_type} pipelines",
            self._request("pipelines.pipelines_api", "get_all_with_http_info", object_type),
        )
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
                        metadata={
                            str(k): str(v) for k, v in _mapping(stage.get("metadata")).items()
                        },
                        archived=bool(stage.get("archived")),
                    )
                    for stage in _items(p.get("stages"))
                ),
            )
            for p in _items(body.get("results"))
        ]

    def properties(self, object_type: str) -> list[PropertyInfo]:
        """Every property definition of an object type."""
        body, _ = self.call(
            f"read the {object_type} properties",
            self._request("properties.core_api", "get_all_with_http_info", object_type),
        )
        return [_property_info(item) for item in _items(body.get("results"))]

    def property_groups(self, object_type: str) -> list[str]:
        """The names of an object type's property groups."""
        body, _ = self.call(
            f"read the {object_type} property groups",
            self._request("properties.groups_api", "get_all_with_http_info", object_type),
        )
        return [str(item.get("name")) for item in _items(body.get("results"))]

    def create_property_group(self, object_type: str, name: str, label: str) -> None:
        """Create a property group."""
        self.call(
            f"create the {object_type} property group {name}",
            self._request(
                "properties.groups_api",
                "create_with_http_info",
                object_type,
                {"name": name, "label": label},
            ),
        )

    def token_scopes(self) -> frozenset[str] | None:
        """The scopes HubSpot granted the private app's token, or None when it will not say.

        POST /oauth/v2/private-apps/get/access-token-info takes the token in the
        body; the generated client has no method for it, so it goes through the
        client's own connection pool (same CA bundle, timeout and retry policy).
        """
        if self._scopes is not None:  # a run asks more than once (check, then the fields)
            return self._scopes
        pool = self._apis.get("companies.basic_api").api_client.rest_client.pool_manager
        url = self.settings.base_url.rstrip("/") + TOKEN_INFO_PATH
        body, status = self.call(
            "read the token's scopes",
            lambda: pool.request(
                "POST",
                url,
                body=json.dumps({"tokenKey": self._token}),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                preload_content=False,
                timeout=self._timeout,
            ),
        )
        scopes = body.get("scopes")
        if status != 200 or not isinstance(scopes, list):
            return None
        self._scopes = frozenset(str(scope) for scope in scopes)
        return self._scopes

    def create_property(self, object_type: str, request: Mapping[str, Any]) -> PropertyInfo:
        """Create a property; its definition as HubSpot answers it."""
        body, _ = self.call(
            f"create the {object_type} property {request.get('name')}",
            self._request(
                "properties.core_api", "create_with_http_info", object_type, dict(request)
            ),
        )
        return _property_info(body)

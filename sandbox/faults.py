"""Faults on demand, for reliability tests: each by rate or every Nth call, seeded.

A spec is a comma-separated list, on the command line (``--faults``) or posted
as JSON to ``/__sandbox/faults``::

    rate_limit=0.2              20 % of calls answer 429 (HubSpot) / 403 REQUEST_LIMIT_EXCEEDED
    server_error=every:7        every 7th call answers 503 (server_error_status=500 for 500s)
    latency_ms=50               every call waits 50 ms first
    write_latency_ms=250        every call that changes records waits 250 ms first (a write
                                in flight long enough to be caught, reads at full speed)
    drop=0.05                   5 % of calls lose the connection without an answer
    token_expiry=after:100      a session expires after 100 calls (INVALID_SESSION_ID / 401)
    reject_records=0.05         5 % of the records of a batch write are rejected
    daily_limit=5000            the daily API quota (calls); past it, every call is refused
    retry_after=1               Retry-After seconds sent with 429
    seed=42                     the random seed, so a run is repeatable
    lost_response=every:3       every 3rd call is applied, then its connection drops unanswered
    query_timeout=every:2       Salesforce: every 2nd large Opportunity/OpportunityHistory query
                                answers 400 QUERY_TIMEOUT (large: more than
                                query_timeout_rows=2000 matching rows)
    lock_row=0.1                Salesforce: 10 % of the records of an update answer
                                UNABLE_TO_LOCK_ROW (sObject Collections, single-record PATCH)
    others_usage=50             Salesforce: the org's other users spend 50 API calls of the
                                daily quota with each of ours (REQUEST_LIMIT_EXCEEDED mid-run)
    query_fields_limit=40       Salesforce: a query (REST or Bulk) selecting more than 40 fields
                                answers 400 QUERY_TOO_COMPLICATED (0, the default, is off)
    search_lag_ms=2000          HubSpot: a write reaches CRM search 2 s later (each write
                                takes the lag in force when made; 0, the default, at once)

Where each Salesforce shape comes from (error body, status):

- ``lost_response``: the request lands, the answer never comes; the client sees
  ``RemoteDisconnected('Remote end closed connection without response')``
  (https://github.com/simple-salesforce/simple-salesforce/issues/449) and a retry may
  apply it twice (https://github.com/django-salesforce/django-salesforce/issues/159).
- ``query_timeout``: 400 ``[{"message": "Your query request was running for too long.",
  "errorCode": "QUERY_TIMEOUT"}]`` (https://github.com/restforce/restforce/issues/790,
  https://github.com/airbytehq/airbyte/issues/17503).
- ``query_fields_limit``: 400 ``[{"errorCode": "QUERY_TOO_COMPLICATED", "message": "Query is
  either selecting too many fields or the filter conditions are too complicated."}]`` for a
  query selecting too many (formula) fields
  (https://github.com/simple-salesforce/simple-salesforce/issues/179).
- ``lock_row``: a SaveResult ``{"success": false, "errors": [{"statusCode":
  "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access to this record or 1
  records: <id>", "fields": []}]}`` (https://github.com/roblesterjr04/EloquentSalesForce/issues/59,
  https://github.com/jsforce/jsforce/issues/1018).
- ``others_usage``: once the day's quota is gone, 403 ``[{"message": "TotalRequests Limit
  exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]``
  (https://github.com/SalesforceLabs/OrgCheck/issues/181).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

TRIGGERED_FAULTS = (
    "rate_limit",
    "server_error",
    "drop",
    "reject_records",
    "lost_response",
    "query_timeout",
    "lock_row",
)
#: options that take a whole number
_WHOLE_OPTIONS = (
    "daily_limit",
    "retry_after",
    "seed",
    "server_error_status",
    "others_usage",
    "query_timeout_rows",
    "query_fields_limit",
)
#: HubSpot's eventual consistency: milliseconds a write waits before CRM search sees it
HUBSPOT_OPTIONS = ("search_lag_ms",)


class FaultSpecError(ValueError):
    """A fault spec that cannot be read; the message names the item."""


@dataclass(frozen=True)
class Trigger:
    """Fires with probability ``rate``, or on every ``every``-th call."""

    rate: float = 0.0
    every: int = 0

    @classmethod
    def parse(cls, name: str, text: str) -> Trigger:
        try:
            if text.startswith("every:"):
                every = int(text.removeprefix("every:"))
                if every < 1:
                    raise ValueError
                return cls(every=every)
            rate = float(text)
        except ValueError:
            raise FaultSpecError(
                f"{name}={text!r}: use a rate between 0 and 1 or every:N with N >= 1"
            ) from None
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError(f"{name}={text!r}: a rate lies between 0 and 1")
        return cls(rate=rate)

    def describe(self) -> str:
        return f"every:{self.every}" if self.every else str(self.rate)


@dataclass(frozen=True)
class FaultSpec:
    """Which faults are on. The empty spec is a well-behaved CRM."""

    triggers: dict[str, Trigger] = field(default_factory=dict)
    latency_ms: float = 0.0
    write_latency_ms: float = 0.0
    token_expiry_after: int | None = None
    daily_limit: int = 100_000
    retry_after: int = 1
    server_error_status: int = 503
    seed: int = 0
    #: API calls the org's other users make with each of ours (Salesforce's daily quota)
    others_usage: int = 0
    #: a query matching more rows than this is large enough to time out (``query_timeout``)
    query_timeout_rows: int = 2000
    #: Salesforce: a query selecting more fields than this is QUERY_TOO_COMPLICATED (0: off)
    query_fields_limit: int = 0
    #: HubSpot: milliseconds a write waits before CRM search sees it
    search_lag_ms: float = 0.0

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        if not text or not text.strip():
            return cls()
        items: dict[str, str] = {}
        for item in text.split(","):
            name, sep, value = item.strip().partition("=")
            if not sep:
                raise FaultSpecError(f"{item.strip()!r}: write name=value")
            items[name.strip()] = value.strip()
        return cls.from_mapping(items)

    @classmethod
    def from_mapping(cls, items: dict[str, Any]) -> FaultSpec:
        triggers: dict[str, Trigger] = {}
        options: dict[str, Any] = {}
        for name, raw in items.items():
            value = str(raw)
            try:
                if name in TRIGGERED_FAULTS:
                    triggers[name] = Trigger.parse(name, value)
                elif name in ("latency_ms", "write_latency_ms"):
                    options[name] = float(value)
                elif name == "token_expiry":
                    options["token_expiry_after"] = int(value.removeprefix("after:"))
                elif name in _WHOLE_OPTIONS:
                    options[name] = int(value)
                    if options[name] < 0:
                        raise FaultSpecError(f"{name}={value!r}: use a whole number >= 0")
                elif name in HUBSPOT_OPTIONS:
                    options[name] = float(value)
                    if options[name] < 0:
                        raise FaultSpecError(f"{name}={value!r}: a lag is 0 or more")
                else:
                    known = ", ".join((*TRIGGERED_FAULTS, "latency_ms", "write_latency_ms",
                                       "token_expiry",
                                       *_WHOLE_OPTIONS, *HUBSPOT_OPTIONS))  # fmt: skip
                    raise FaultSpecError(f"unknown fault {name!r}; known: {known}")
            except ValueError as exc:
                if isinstance(exc, FaultSpecError):
                    raise
                raise FaultSpecError(f"{name}={value!r}: not a number") from None
        return cls(triggers=triggers, **options)

    def describe(self) -> dict[str, Any]:
        return {
            **{name: trigger.describe() for name, trigger in self.triggers.items()},
            "latency_ms": self.latency_ms,
            "write_latency_ms": self.write_latency_ms,
            "token_expiry": self.token_expiry_after,
            **{name: getattr(self, name) for name in (*_WHOLE_OPTIONS, *HUBSPOT_OPTIONS)},
        }


class FaultInjector:
    """Decides, call by call, which fault fires. Thread-safe and repeatable for one seed."""

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(spec or FaultSpec())

    def configure(self, spec: FaultSpec) -> None:
        with self._lock:
            self.spec = spec
            self._random = random.Random(spec.seed)
            self._counts: dict[str, int] = dict.fromkeys(TRIGGERED_FAULTS, 0)

    def fires(self, name: str) -> bool:
        """Whether fault ``name`` fires on this call (each call counts once per fault)."""
        with self._lock:
            trigger = self.spec.triggers.get(name)
            if trigger is None:
                return False
            self._counts[name] += 1
            if trigger.every:
                return self._counts[name] % trigger.every == 0
            return self._random.random() < trigger.rate

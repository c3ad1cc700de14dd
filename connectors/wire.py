"""The skeleton of every CRM client: what happens around each request, written once.

``Wire.run`` makes one call of an adapter:

1. the quota guard: no call starts once ``crm.max_quota_share`` of the daily quota
   is used (as the CRM's last answer reported it): RateLimitExhausted;
2. the call is counted and sent through the adapter's own client library;
3. a failure is classified (``connectors.reach`` reads the connection's failures):
   no connection at all (refused, unknown host) is an ``Unreachable`` retry with a
   short budget; a certificate for another host is a ConfigError on the URL's key,
   one the CA bundle does not trust a ConfigError on ``crm.ca_bundle``; the CRM's
   error answer, read by the adapter into an ``ErrorAnswer``, means a retry (429 or
   the CRM's limit code, 5xx, 408; a Retry-After past ``crm.max_retry_after_seconds``
   ends the run instead), an AuthError (401), RateLimitExhausted (the daily quota is
   gone) or a CrmApiError (an answer no retry changes);
4. retries follow ``connectors.retry``; when they run out the call ends in one of
   ``CrmUnavailable``'s kinds (exit 4: the next run resumes) naming the attempts and
   seconds, the last code, HTTP status, request id and record id: CrmUnreachable (with
   the URL, and for one on this machine the hint to start the sandbox),
   RateLimitExhausted when the CRM kept saying to slow down, else RetriesExhausted;
5. a write (``repeatable=False``) whose answer was lost (the connection dropped or the
   read timed out after it may have been sent) is not sent again: it may have landed,
   and a second write is a second LastModifiedDate, trigger run and history row. It
   ends in ``AnswerLost``, for the caller to read the records back
   (``writeback.apply``); an error answer (5xx, 429) says it was not applied, and is
   retried as above.

An adapter supplies only what differs: how to send a request (its client library),
how to read an error into an ``ErrorAnswer``, and what quota its answers report.
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from connectors.reach import is_loopback, no_connection, not_tls, untrusted_ca, wrong_host
from connectors.retry import (
    NoAnswer,
    RetrySettings,
    TransientError,
    Unreachable,
    call_with_retries,
)
from core.connector import ApiUsage
from core.errors import (
    AnswerLost,
    AuthError,
    ConfigError,
    CrmApiError,
    CrmEvidence,
    CrmUnavailable,
    CrmUnreachable,
    PartnerKpiError,
    RateLimitExhausted,
    RetriesExhausted,
)

T = TypeVar("T")
SettingsT = TypeVar("SettingsT", bound=RetrySettings)

#: The longest wait for a connection to be accepted (the rest of a request has
#: ``crm.timeout_seconds``): a CRM that takes longer to accept one is not there.
CONNECT_TIMEOUT_SECONDS = 10.0
#: What a CRM on this machine that accepts no connection most likely means.
SANDBOX_HINT = "is the sandbox running? start it with `partner-kpi sandbox serve`"


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer of the CRM, as the adapter reads its status, body and headers."""

    status: int
    code: str
    message: str
    request_id: str | None = None
    retry_after: float | None = None
    #: the CRM said to slow down without a 429 (Salesforce's REQUEST_LIMIT_EXCEEDED)
    rate_limited: bool = False
    #: the day's quota is used up: waiting will not help
    quota_used_up: bool = False


def _attempts(attempts: int, seconds: float) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''} over {seconds:.1f} s"


class Wire(ABC, Generic[SettingsT]):
    """A CRM client behind the quota guard, the classification and the retry policy."""

    #: the CRM's name in errors (``CrmApiError.crm``) and as people write it
    crm: ClassVar[str]
    label: ClassVar[str]
    #: the config key of the URL ``host`` is read from
    url_key: ClassVar[str]
    #: where retries are logged (the adapter's client module)
    logger: ClassVar[logging.Logger]

    def __init__(self, settings: SettingsT, sleep: Callable[[float], None]) -> None:
        self.settings = settings
        self._sleep = sleep
        #: attempts made of metered calls (each one request to the API)
        self.calls = 0

    # --- what each adapter supplies -----------------------------------------------------

    @property
    @abstractmethod
    def host(self) -> str:
        """The URL whose certificate is checked (named when it is not trusted)."""

    @abstractmethod
    def quota(self) -> tuple[int | None, int | None]:
        """(used, limit) of the daily quota as the last answer reported it."""

    @abstractmethod
    def read_failure(self, exc: Exception) -> ErrorAnswer | Exception | None:
        """The CRM's error answer in ``exc``; or the error it already means (a
        TransientError for a timeout or a dropped connection); or None: not the wire's."""

    @abstractmethod
    def auth_refused(self, answer: ErrorAnswer, what: str) -> str:
        """The line of the AuthError for a 401: which credential, and the fix."""

    def refusal_message(self, answer: ErrorAnswer, what: str) -> str:
        """The message of a CrmApiError for an answer no retry can change."""
        return answer.message

    def before_attempt(self) -> None:
        """Called before each metered attempt, after the quota guard (pacing)."""

    def requests_made(self) -> int:
        """Requests this client sent to the API (an attempt is one, unless said otherwise)."""
        return self.calls

    # --- the skeleton ------------------------------------------------------------------------

    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds of one request."""
        read = self.settings.timeout_seconds
        return min(CONNECT_TIMEOUT_SECONDS, read), read

    def usage(self) -> ApiUsage:
        """The daily quota as the last answer reported it, and the requests this client made."""
        used, limit = self.quota()
        return ApiUsage(used=used, limit=limit, calls_made=self.requests_made())

    def calls_left(self) -> int | None:
        """Calls a run may still make before ``guard_quota`` stops it (None: no quota seen)."""
        used, limit = self.quota()
        if used is None or not limit:
            return None
        left = max(0, math.ceil(self.settings.max_quota_share * limit) - used)
        # the guard's own test settles the rounding of the product either way
        while left > 0 and self._quota_reached(used + left - 1, limit):
            left -= 1
        while not self._quota_reached(used + left, limit):
            left += 1
        return left

    def _quota_reached(self, used: int, limit: int) -> bool:
        """Whether ``used`` calls of ``limit`` reach ``crm.max_quota_share``: the one test
        ``guard_quota`` stops a run by and ``calls_left`` counts towards."""
        return used / limit >= self.settings.max_quota_share

    def guard_quota(self, what: str) -> None:
        """RateLimitExhausted before a call once ``crm.max_quota_share`` of the quota is used."""
        used, limit = self.quota()
        share = self.settings.max_quota_share
        if used is not None and limit and self._quota_reached(used, limit):
            raise RateLimitExhausted(
                f"{self.label} API quota: {used} of {limit} daily calls used, which reaches "
                f"crm.max_quota_share={share}; stopped before {what}. "
                "The next run resumes from the last saved cursor."
            )

    def run(
        self,
        what: str,
        send: Callable[[], T],
        *,
        record_id: str | None = None,
        metered: bool = True,
        repeatable: bool = True,
    ) -> T:
        """``send()`` under the quota guard, the classification and the retry policy.

        ``metered``: the request counts against the API quota (a login does not).
        ``repeatable``: sending it twice does no harm (a read); a write is not, and a
        lost answer to it ends in ``AnswerLost`` instead of a blind repeat.
        """
        started = time.monotonic()
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            if metered:
                self.guard_quota(what)
                self.before_attempt()
                self.calls += 1
            try:
                return send()
            except PartnerKpiError:
                raise
            except Exception as exc:
                classified = self.classify(exc, what, record_id)
                if classified is exc:
                    raise
                if isinstance(classified, NoAnswer) and not repeatable:
                    seconds = time.monotonic() - started
                    raise self.answer_lost(classified, what, record_id, attempts, seconds) from exc
                raise classified from exc

        return call_with_retries(
            attempt,
            what=what,
            crm_label=self.label,
            settings=self.settings,
            sleep=self._sleep,
            logger=self.logger,
            gave_up=lambda last, attempts, seconds: self.gave_up(
                last, what, record_id, attempts, seconds
            ),
        )

    def answer_lost(
        self, lost: NoAnswer, what: str, record_id: str | None, attempts: int, seconds: float
    ) -> AnswerLost:
        """The error that ends a write whose answer was lost: it may have landed."""
        record = f" (record {record_id})" if record_id else ""
        return AnswerLost(
            f"{self.crm} {lost.code}{record}: the answer to {what} was lost ({lost.message}); "
            "the write may have landed, so it was not sent again blindly; the next run reads "
            "its records back and settles them",
            crm=self.crm, error_code=lost.code, http_status=None, request_id=None,
            record_id=record_id, attempts=attempts, seconds=seconds,
        )  # fmt: skip

    def gave_up(
        self,
        last: TransientError,
        what: str,
        record_id: str | None,
        attempts: int,
        seconds: float,
    ) -> CrmUnavailable:
        """The error that ends a call whose tries ran out, with the evidence of the last."""
        evidence: CrmEvidence = {
            "crm": self.crm, "error_code": last.code, "http_status": last.status,
            "request_id": last.correlation_id, "record_id": record_id, "attempts": attempts,
            "seconds": seconds,
        }  # fmt: skip
        tried = _attempts(attempts, seconds)
        if isinstance(last, Unreachable):
            message = (
                f"{self.label} cannot be reached at {last.url} ({last.message}); {what} "
                f"gave up after {tried}. Check {self.url_key}"
            )
            if is_loopback(last.url):
                message += f"; {SANDBOX_HINT}"
            return CrmUnreachable(message, url=last.url, **evidence)
        if last.limit:
            return RateLimitExhausted(
                f"{self.label} kept refusing {what} ({last.code}: {last.message}) after "
                f"{tried}; the next run resumes from the last saved cursor",
                **evidence,
            )
        details = [f"HTTP {last.status}"] if last.status else []
        if last.correlation_id:
            details.append(f"request id {last.correlation_id}")
        said = last.message + (f" ({', '.join(details)})" if details else "")
        record = f" (record {record_id})" if record_id else ""
        return RetriesExhausted(
            f"{self.crm} {last.code}{record}: {what} failed {attempts} times over "
            f"{seconds:.1f} s; the last answer: {said}. The next run resumes where this "
            "one stopped",
            **evidence,
        )

    def classify(self, exc: Exception, what: str, record_id: str | None) -> Exception:
        """A TransientError to retry, the project's final error, or ``exc`` itself."""
        missing = no_connection(exc)
        if missing is not None:
            return Unreachable(missing.code, missing.reason, url=missing.url or self.host)
        other_host = wrong_host(exc)
        if other_host is not None:
            return ConfigError(
                self.url_key,
                f"the TLS certificate of {self.host} is for another host ({other_host}); "
                f"{self.url_key} names a server that is not the CRM: correct it",
            )
        if not_tls(exc):
            return ConfigError(
                self.url_key,
                f"{self.host} does not answer in TLS (a plain-HTTP server, or another "
                f"service on that port); {self.url_key} names a server that is not the CRM: "
                "correct it",
            )
        if untrusted_ca(exc):
            return ConfigError(
                "crm.ca_bundle",
                f"the TLS certificate of {self.host} is not trusted; point crm.ca_bundle at "
                "the PEM file of the CA that signed it",
            )
        read = self.read_failure(exc)
        if read is None or isinstance(read, Exception):
            return exc if read is None else read
        return self.meaning(read, what, record_id)

    def meaning(self, answer: ErrorAnswer, what: str, record_id: str | None) -> Exception:
        """What an error answer means for the call: retry, stop the run, or fail it."""
        said = f"{answer.code}: {answer.message}"
        if answer.request_id:
            said += f", request id {answer.request_id}"
        if answer.quota_used_up:
            return RateLimitExhausted(
                f"{self.label}'s daily API quota is used up ({said}); stopped at {what}; "
                "the next run resumes from the last saved cursor"
            )
        limit = answer.rate_limited or answer.status == 429
        if limit or answer.status >= 500 or answer.status == 408:
            wait = answer.retry_after
            if wait is not None and wait > self.settings.max_retry_after_seconds:
                return RateLimitExhausted(
                    f"{self.label} asked to wait {wait:.0f} s before {what} ({said}), longer "
                    "than crm.max_retry_after_seconds; the next run resumes from the last "
                    "saved cursor"
                )
            return TransientError(
                answer.code,
                answer.message,
                status=answer.status,
                correlation_id=answer.request_id,
                retry_after=wait,
                limit=limit,
            )
        if answer.status == 401:
            return AuthError(self.auth_refused(answer, what))
        return CrmApiError(
            self.refusal_message(answer, what),
            crm=self.crm,
            error_code=answer.code,
            record_id=record_id,
            http_status=answer.status,
            request_id=answer.request_id,
        )

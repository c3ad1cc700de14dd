"""The skeleton of every CRM client: what happens around each request, written once.

``Wire.run`` makes one call of an adapter:

1. the quota guard: no call starts once ``crm.max_quota_share`` of the daily quota
   is used (as the CRM's last answer reported it): RateLimitExhausted;
2. the call is counted and sent through the adapter's own client library;
3. a failure is classified: a certificate the CA bundle does not trust is a
   ConfigError on ``crm.ca_bundle``; the CRM's error answer, read by the adapter into
   an ``ErrorAnswer``, means a retry (429 or the CRM's limit code, 5xx, 408; a
   Retry-After past ``crm.max_retry_after_seconds`` ends the run instead), an
   AuthError (401), RateLimitExhausted (the daily quota is gone) or a CrmApiError;
4. retries follow ``connectors.retry``; when they run out the call ends in a
   CrmApiError naming the attempts, the last code, HTTP status, request id and
   record id (RateLimitExhausted when the CRM kept saying to slow down).

An adapter supplies only what differs: how to send a request (its client library),
how to read an error into an ``ErrorAnswer``, and what quota its answers report.
"""

from __future__ import annotations

import logging
import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from connectors.retry import RetrySettings, TransientError, call_with_retries
from core.connector import ApiUsage
from core.errors import (
    AuthError,
    ConfigError,
    CrmApiError,
    PartnerKpiError,
    RateLimitExhausted,
)

T = TypeVar("T")
SettingsT = TypeVar("SettingsT", bound=RetrySettings)

#: What OpenSSL says when no CA in the bundle signed the server's certificate.
UNTRUSTED_CA = "CERTIFICATE_VERIFY_FAILED"


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


def untrusted_ca(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a failed certificate check."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or UNTRUSTED_CA in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


class Wire(ABC, Generic[SettingsT]):
    """A CRM client behind the quota guard, the classification and the retry policy."""

    #: the CRM's name in errors (``CrmApiError.crm``) and as people write it
    crm: ClassVar[str]
    label: ClassVar[str]
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

    def usage(self) -> ApiUsage:
        """The daily quota as the last answer reported it, and the requests this client made."""
        used, limit = self.quota()
        return ApiUsage(used=used, limit=limit, calls_made=self.requests_made())

    def guard_quota(self, what: str) -> None:
        """RateLimitExhausted before a call once ``crm.max_quota_share`` of the quota is used."""
        used, limit = self.quota()
        share = self.settings.max_quota_share
        if used is not None and limit and used / limit >= share:
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
    ) -> T:
        """``send()`` under the quota guard, the classification and the retry policy.

        ``metered``: the request counts against the API quota (a login does not).
        """

        def attempt() -> T:
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
                raise classified from exc

        def gave_up(last: TransientError, attempts: int) -> Exception:
            return CrmApiError(
                f"{what} failed {attempts} times; the last answer: {last.message}",
                crm=self.crm,
                error_code=last.code,
                http_status=last.status,
                request_id=last.correlation_id,
                record_id=record_id,
            )

        return call_with_retries(
            attempt,
            what=what,
            crm_label=self.label,
            settings=self.settings,
            sleep=self._sleep,
            logger=self.logger,
            gave_up=gave_up,
        )

    def classify(self, exc: Exception, what: str, record_id: str | None) -> Exception:
        """A TransientError to retry, the project's final error, or ``exc`` itself."""
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

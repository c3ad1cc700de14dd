"""What the adapters share about retrying: the settings, the policy, the wait, the log line.

An adapter classifies each failure: a ``TransientError`` is tried again (on the
CRM's Retry-After, else with backoff and jitter); anything else ends the call.
An ``Unreachable`` one (no connection could be made) gets a short budget of its own:
a few quick tries within seconds, not the minutes a busy CRM is given. A ``NoAnswer``
one (sent, then no answer) is retried for a read only: ``Wire.run`` ends a write there. When the
tries run out the call ends with the error the caller builds from the last failure,
never a silent success.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import TypeVar

from pydantic import ConfigDict, Field
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from core.adapter import CrmSettings
from core.config_values import Number, WholeNumber

T = TypeVar("T")

#: The budget of a call that gets no connection: a server restarting is back within
#: seconds, while a wrong URL or a stopped sandbox never is and should be said at once.
UNREACHABLE_ATTEMPTS = 4
UNREACHABLE_SECONDS = 5.0
#: Its backoff (initial, cap), below the configured one when that is shorter.
UNREACHABLE_BACKOFF = (0.5, 2.0)


class RetrySettings(CrmSettings):
    """The ``crm:`` keys every adapter reads the same way: overlap, quota and retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    overlap_seconds: WholeNumber = Field(
        default=300,
        ge=0,
        description="incremental reads restart this long before the cursor (late commits)",
    )
    max_quota_share: Number = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="stop cleanly once this share of the daily API quota is used",
    )
    max_attempts: WholeNumber = Field(
        default=8, ge=1, description="tries per call before giving up"
    )
    backoff_initial_seconds: Number = Field(default=1.0, ge=0.0)
    backoff_max_seconds: Number = Field(default=60.0, ge=0.0)
    max_retry_after_seconds: Number = Field(
        default=300.0, ge=0.0, description="a longer Retry-After ends the run (quota exhausted)"
    )
    timeout_seconds: Number = Field(default=120.0, gt=0.0, description="per HTTP request")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), None if absent."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


def backoff_seconds(attempt: int, initial: float, maximum: float) -> float:
    """Exponential backoff with full jitter on top: initial·2^(attempt−1), capped, plus
    up to ``initial`` at random, so clients retrying together spread out.

    Written out rather than tenacity's wait_exponential_jitter, whose argument names
    changed between the versions pyproject allows.
    """
    exponential: float = initial * 2.0 ** (attempt - 1)
    return min(exponential, maximum) + random.uniform(0, initial)


def wait_before_retry(
    state: RetryCallState, settings: RetrySettings, retry_after: float | None
) -> float:
    """The CRM's Retry-After when it sent one, else the backoff for this attempt."""
    if retry_after is not None:
        return float(retry_after)
    initial, maximum = settings.backoff_initial_seconds, settings.backoff_max_seconds
    if isinstance(_failure(state), Unreachable):
        initial = min(initial, UNREACHABLE_BACKOFF[0])
        maximum = min(maximum, UNREACHABLE_BACKOFF[1])
    return backoff_seconds(state.attempt_number, initial, maximum)


def log_retry(
    logger: logging.Logger, crm: str, what: str, state: RetryCallState, max_attempts: int
) -> None:
    """One warning per retry: what failed, which attempt, how long until the next."""
    failure = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    logger.warning(
        "%s: %s failed (%s); attempt %d of %d, next in %.1f s",
        crm,
        what,
        failure,
        state.attempt_number,
        max_attempts,
        wait,
        # the same facts as fields, for JSON log lines
        extra={
            "crm": crm,
            "call": what,
            "failure": str(failure),
            "attempt": state.attempt_number,
            "max_attempts": max_attempts,
            "wait_seconds": round(wait, 3),
        },
    )


class TransientError(Exception):
    """A failure worth another try; ``limit`` when the CRM said to slow down."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        retry_after: float | None = None,
        limit: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        self.limit = limit


class NoAnswer(TransientError):
    """The request was sent, or may have been, and no answer came (the connection was lost
    mid-call, the read timed out): a read is asked again; a write may have landed."""


class Unreachable(TransientError):
    """No connection could be made to ``url``: worth a few quick tries, not the full budget."""

    def __init__(self, code: str, message: str, *, url: str) -> None:
        super().__init__(code, message)
        self.url = url
        self.args = (f"{code}: {message} at {url}",)  # each retry's log line names the URL


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _wait(settings: RetrySettings, state: RetryCallState) -> float:
    failure = _failure(state)
    retry_after = failure.retry_after if isinstance(failure, TransientError) else None
    return wait_before_retry(state, settings, retry_after)


def attempts_allowed(settings: RetrySettings, failure: BaseException | None) -> int:
    """How many attempts a call failing this way may make."""
    if isinstance(failure, Unreachable):
        return min(settings.max_attempts, UNREACHABLE_ATTEMPTS)
    return settings.max_attempts


def _stop(settings: RetrySettings, state: RetryCallState) -> bool:
    """Whether the last failure ends the call: the attempts, or the short budget of an
    unreachable CRM, are used up."""
    failure = _failure(state)
    if state.attempt_number >= attempts_allowed(settings, failure):
        return True
    seconds = state.seconds_since_start or 0.0
    return isinstance(failure, Unreachable) and seconds >= UNREACHABLE_SECONDS


def call_with_retries(
    attempt: Callable[[], T],
    *,
    what: str,
    crm_label: str,
    settings: RetrySettings,
    sleep: Callable[[float], None],
    logger: logging.Logger,
    gave_up: Callable[[TransientError, int, float], Exception],
) -> T:
    """``attempt()`` until it succeeds, raises a non-transient error, or the tries run out.

    ``gave_up(last, attempts, seconds)`` builds the error that ends the call when the
    tries ran out: the last failure, the attempts made and the seconds they took.
    """
    attempts = 0

    def counted() -> T:
        nonlocal attempts
        attempts += 1
        return attempt()

    retrying = Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=partial(_stop, settings),
        wait=partial(_wait, settings),
        sleep=sleep,
        before_sleep=lambda state: log_retry(
            logger, crm_label.lower(), what, state, attempts_allowed(settings, _failure(state))
        ),
        reraise=True,
    )
    started = time.monotonic()
    try:
        return retrying(counted)
    except TransientError as exc:
        raise gave_up(exc, attempts, time.monotonic() - started) from exc

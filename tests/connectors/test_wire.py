"""The client skeleton alone, with a made-up adapter: no library, no network."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from connectors.retry import RetrySettings, TransientError
from connectors.wire import ErrorAnswer, Wire
from core.errors import AuthError, ConfigError, CrmApiError, RateLimitExhausted


class Refused(Exception):
    """What the made-up client library raises for an error answer."""

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(answer.code)
        self.answer = answer


class MadeUp(Wire[RetrySettings]):
    crm = "madeup"
    label = "MadeUp"
    logger = logging.getLogger("tests.madeup")

    def __init__(self, sleeps: list[float], **settings: Any) -> None:
        super().__init__(RetrySettings(type="madeup", **settings), sleeps.append)
        self.used: int | None = None
        self.limit: int | None = None

    @property
    def host(self) -> str:
        return "https://crm.example.test"

    def quota(self) -> tuple[int | None, int | None]:
        return self.used, self.limit

    def read_failure(self, exc: Exception) -> ErrorAnswer | Exception | None:
        if isinstance(exc, TimeoutError):
            return TransientError("TIMEOUT", "no answer")
        return exc.answer if isinstance(exc, Refused) else None

    def auth_refused(self, answer: ErrorAnswer, what: str) -> str:
        return f"MadeUp refused the key during {what}"


def answers(*outcomes: ErrorAnswer | Exception | str) -> Callable[[], str]:
    """A request that fails or answers as listed, one outcome per attempt."""
    queue = list(outcomes)

    def send() -> str:
        outcome = queue.pop(0)
        if isinstance(outcome, ErrorAnswer):
            raise Refused(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send


def test_a_retry_waits_the_retry_after_and_counts_each_attempt() -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps)
    limited = ErrorAnswer(429, "RATE", "slow down", retry_after=2.0)
    assert wire.run("read", answers(limited, TimeoutError(), "ok")) == "ok"
    assert sleeps[0] == 2.0 and len(sleeps) == 2
    assert wire.usage().calls_made == 3


def test_retries_that_run_out_name_the_evidence() -> None:
    wire = MadeUp([], max_attempts=2)
    down = ErrorAnswer(503, "DOWN", "try later", request_id="req-7")
    with pytest.raises(CrmApiError) as caught:
        wire.run("read deal 9", answers(down, down), record_id="9")
    error = caught.value
    assert "2 times" in str(error) and "try later" in str(error)
    assert (error.error_code, error.http_status, error.request_id, error.record_id) == (
        "DOWN", 503, "req-7", "9",
    )  # fmt: skip


def test_the_quota_guard_stops_before_the_request() -> None:
    wire = MadeUp([], max_quota_share=0.5)
    wire.used, wire.limit = 50, 100
    with pytest.raises(RateLimitExhausted, match=r"50 of 100 .* crm.max_quota_share=0.5"):
        wire.run("read", answers("never sent"))
    assert wire.calls == 0
    assert wire.run("log in", answers("token"), metered=False) == "token"  # not a quota call


def test_a_retry_after_past_the_cap_ends_the_run_without_waiting() -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps, max_retry_after_seconds=60)
    with pytest.raises(RateLimitExhausted, match="wait 3600 s"):
        wire.run("read", answers(ErrorAnswer(429, "RATE", "later", retry_after=3600.0)))
    assert sleeps == []


def test_a_used_up_quota_is_not_retried() -> None:
    sleeps: list[float] = []
    gone = ErrorAnswer(429, "RATE", "daily limit", quota_used_up=True)
    with pytest.raises(RateLimitExhausted, match="daily API quota is used up"):
        MadeUp(sleeps).run("read", answers(gone))
    assert sleeps == []


def test_an_untrusted_certificate_names_the_ca_bundle() -> None:
    failure = OSError("connection failed")
    failure.__context__ = ssl.SSLCertVerificationError("certificate verify failed")
    with pytest.raises(ConfigError) as caught:
        MadeUp([]).run("read", answers(failure))
    assert caught.value.key == "crm.ca_bundle" and "https://crm.example.test" in str(caught.value)


def test_refusals_are_auth_or_api_errors_and_others_pass_through() -> None:
    with pytest.raises(AuthError, match="refused the key during read"):
        MadeUp([]).run("read", answers(ErrorAnswer(401, "AUTH", "bad key")))
    with pytest.raises(CrmApiError) as caught:
        MadeUp([]).run("read", answers(ErrorAnswer(400, "BAD", "no such field")))
    assert caught.value.error_code == "BAD" and caught.value.http_status == 400
    with pytest.raises(KeyError):  # not the wire's: a bug, left as it is
        MadeUp([]).run("read", answers(KeyError("x")))

"""The client skeleton alone, with a made-up adapter: no library, no network."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from connectors.retry import (
    UNREACHABLE_ATTEMPTS,
    UNREACHABLE_SECONDS,
    NoAnswer,
    RetrySettings,
)
from connectors.wire import SANDBOX_HINT, ErrorAnswer, Wire
from core.errors import (
    AnswerLost,
    AuthError,
    ConfigError,
    CrmApiError,
    CrmUnreachable,
    RateLimitExhausted,
    RetriesExhausted,
)


class Refused(Exception):
    """What the made-up client library raises for an error answer."""

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(answer.code)
        self.answer = answer


class MadeUp(Wire[RetrySettings]):
    crm = "madeup"
    label = "MadeUp"
    url_key = "crm.madeup_url"
    logger = logging.getLogger("tests.madeup")

    def __init__(
        self, sleeps: list[float], host: str = "https://crm.example.test", **settings: Any
    ) -> None:
        super().__init__(RetrySettings(type="madeup", **settings), sleeps.append)
        self.used: int | None = None
        self.limit: int | None = None
        self._host = host

    @property
    def host(self) -> str:
        return self._host

    def quota(self) -> tuple[int | None, int | None]:
        return self.used, self.limit

    def read_failure(self, exc: Exception) -> ErrorAnswer | Exception | None:
        if isinstance(exc, TimeoutError):
            return NoAnswer("TIMEOUT", "no answer")
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
    with pytest.raises(RetriesExhausted) as caught:
        wire.run("read deal 9", answers(down, down), record_id="9")
    error = caught.value
    assert error.exit_code == 4  # the CRM may be back by the next run: it resumes
    assert str(error).startswith("madeup DOWN (record 9): read deal 9 failed 2 times over ")
    assert "the last answer: try later (HTTP 503, request id req-7)" in str(error)
    assert (error.error_code, error.http_status, error.request_id, error.record_id) == (
        "DOWN", 503, "req-7", "9",
    )  # fmt: skip
    assert (error.crm, error.attempts) == ("madeup", 2)


def test_a_definite_error_answer_is_not_retried_and_stays_an_api_error() -> None:
    sleeps: list[float] = []
    with pytest.raises(CrmApiError) as caught:
        MadeUp(sleeps).run("read", answers(ErrorAnswer(400, "MALFORMED_QUERY", "bad SOQL")))
    assert caught.value.exit_code == 5 and sleeps == []


def test_connections_lost_on_every_attempt_are_retries_exhausted() -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps, max_attempts=3)
    with pytest.raises(RetriesExhausted, match=r"read failed 3 times .* last answer: no answer"):
        wire.run("read", answers(TimeoutError(), TimeoutError(), TimeoutError()))
    assert len(sleeps) == 2


def test_a_write_whose_answer_is_lost_is_not_sent_again() -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps)
    with pytest.raises(AnswerLost) as caught:
        wire.run("update 3 deals", answers(TimeoutError(), "ok"), repeatable=False)
    error = caught.value
    assert error.exit_code == 4 and sleeps == [] and wire.usage().calls_made == 1
    assert (error.crm, error.error_code, error.attempts) == ("madeup", "TIMEOUT", 1)
    assert str(error).startswith("madeup TIMEOUT: the answer to update 3 deals was lost")


def test_a_write_refused_with_an_answer_is_retried_as_before() -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps)
    busy = ErrorAnswer(503, "DOWN", "try later")
    limited = ErrorAnswer(429, "RATE", "slow down", retry_after=0.0)
    # a 503 or a 429 says the write was not applied: sending it again is safe
    assert wire.run("update", answers(busy, limited, "ok"), repeatable=False) == "ok"
    assert len(sleeps) == 2 and wire.usage().calls_made == 3


@pytest.mark.parametrize(
    ("host", "hint"),
    [("https://127.0.0.1:8443", True), ("https://localhost:8443", True),
     ("https://crm.example.test", False)],
)  # fmt: skip
def test_a_refused_connection_gives_up_within_seconds_naming_the_url(host: str, hint: bool) -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps, host, max_attempts=8)  # the full budget a busy CRM gets
    refused = [ConnectionRefusedError(111, "Connection refused") for _ in range(8)]
    with pytest.raises(CrmUnreachable) as caught:
        wire.run("log in", answers(*refused), metered=False)
    error = caught.value
    assert error.exit_code == 4 and error.url == host
    assert error.attempts == UNREACHABLE_ATTEMPTS == len(sleeps) + 1
    assert sum(sleeps) < UNREACHABLE_SECONDS  # not the minutes of 8 backed-off attempts
    message = str(error)
    assert message.startswith(f"MadeUp cannot be reached at {host} (connection refused); log in ")
    assert "Check crm.madeup_url" in message
    assert (SANDBOX_HINT in message) is hint
    assert "partner-kpi sandbox serve" in SANDBOX_HINT


def test_a_refused_connection_uses_a_shorter_configured_backoff() -> None:
    sleeps: list[float] = []
    wire = MadeUp(sleeps, backoff_initial_seconds=0.0, backoff_max_seconds=0.0)
    with pytest.raises(CrmUnreachable):
        wire.run("read", answers(*[ConnectionRefusedError() for _ in range(8)]))
    assert sleeps == [0.0] * (UNREACHABLE_ATTEMPTS - 1)


def test_a_server_back_after_a_refusal_is_read() -> None:
    sleeps: list[float] = []
    assert MadeUp(sleeps).run("read", answers(ConnectionRefusedError(), "ok")) == "ok"
    assert len(sleeps) == 1 and sleeps[0] <= 1.0  # 0.5 s, plus up to 0.5 s of jitter


def test_a_certificate_for_another_host_names_the_url_key() -> None:
    mismatch = ssl.SSLCertVerificationError(1, "certificate verify failed")
    mismatch.verify_code = 62  # X509_V_ERR_HOSTNAME_MISMATCH
    mismatch.verify_message = "Hostname mismatch, certificate is not valid for 'crm.example.test'."
    failure = OSError("connection failed")
    failure.__context__ = mismatch
    sleeps: list[float] = []
    with pytest.raises(ConfigError) as caught:
        MadeUp(sleeps).run("read", answers(failure))
    assert caught.value.key == "crm.madeup_url" and sleeps == []
    assert "is for another host (Hostname mismatch" in str(caught.value)


def test_the_quota_guard_stops_before_the_request() -> None:
    wire = MadeUp([], max_quota_share=0.5)
    wire.used, wire.limit = 50, 100
    with pytest.raises(RateLimitExhausted, match=r"50 of 100 .* crm.max_quota_share=0.5"):
        wire.run("read", answers("never sent"))
    assert wire.calls == 0
    assert wire.run("log in", answers("token"), metered=False) == "token"  # not a quota call


@pytest.mark.parametrize(("share", "used", "limit"), [(0.5, 14, 42), (0.1, 1, 30), (0.7, 0, 10)])
def test_calls_left_are_those_the_quota_guard_lets_through(
    share: float, used: int, limit: int
) -> None:
    wire = MadeUp([], max_quota_share=share)
    assert wire.calls_left() is None  # no quota reported yet
    wire.used, wire.limit = used, limit
    left = wire.calls_left()
    assert left is not None and left > 0
    for _ in range(left):
        wire.run("read", answers("sent"))
        wire.used += 1
    assert wire.calls_left() == 0
    with pytest.raises(RateLimitExhausted):
        wire.run("read", answers("never sent"))


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

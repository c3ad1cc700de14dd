"""What the adapters share about retrying: the settings, the wait, the log line."""

from __future__ import annotations

import logging
import random

from pydantic import BaseModel, ConfigDict, Field
from tenacity import RetryCallState


class RetrySettings(BaseModel):
    """The ``crm:`` keys every adapter reads the same way: overlap, quota and retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    overlap_seconds: int = Field(
        default=300,
        ge=0,
        description="incremental reads restart this long before the cursor (late commits)",
    )
    max_quota_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="stop cleanly once this share of the daily API quota is used",
    )
    max_attempts: int = Field(default=8, ge=1, description="tries per call before giving up")
    backoff_initial_seconds: float = Field(default=1.0, ge=0.0)
    backoff_max_seconds: float = Field(default=60.0, ge=0.0)
    max_retry_after_seconds: float = Field(
        default=300.0, ge=0.0, description="a longer Retry-After ends the run (quota exhausted)"
    )
    timeout_seconds: float = Field(default=120.0, gt=0.0, description="per HTTP request")


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
    return backoff_seconds(
        state.attempt_number, settings.backoff_initial_seconds, settings.backoff_max_seconds
    )


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
    )

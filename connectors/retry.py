"""Retry timing shared by the adapters: what to wait before the next try."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, initial: float, maximum: float) -> float:
    """Exponential backoff with full jitter on top: initial·2^(attempt−1), capped, plus
    up to ``initial`` at random, so clients retrying together spread out.

    Written out rather than tenacity's wait_exponential_jitter, whose argument names
    changed between the versions pyproject allows.
    """
    exponential: float = initial * 2.0 ** (attempt - 1)
    return min(exponential, maximum) + random.uniform(0, initial)

"""pct(): KPIS.md's percentile rank, with ties averaged and nulls ranked last.

pct(x) = (count(v < x) + 0.5 × (count(v = x) − 1)) / (n − 1) is always a whole
number of half-steps, h / (2(n − 1)) with h = 2·count(v < x) + count(v = x) − 1.
Ranks are kept as those integers so that values that are equal on paper are
equal in the code too: averaging two pcts or weighting eight of them never
splits a tie through floating-point noise.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class HalfRanks:
    """pct() of every value as integer numerators over one denominator 2(n − 1)."""

    numerators: tuple[int, ...]
    denominator: int

    def pct(self, i: int) -> float:
        return self.numerators[i] / self.denominator


def half_ranks(values: Sequence[float | None], *, lower_is_better: bool = False) -> HalfRanks:
    """The percentile rank of each value. A null ranks below every non-null value and
    ties with the other nulls; when lower is better the values are negated first.
    With one value, pct is 0.5."""
    n = len(values)
    if n <= 1:
        return HalfRanks(numerators=(1,) * n, denominator=2)
    signed = [None if v is None else (-v if lower_is_better else v) for v in values]
    present = sorted(v for v in signed if v is not None)
    nulls = n - len(present)
    numerators = []
    for value in signed:
        if value is None:
            below, equal = 0, nulls
        else:
            first, after = bisect_left(present, value), bisect_right(present, value)
            below, equal = nulls + first, after - first
        numerators.append(2 * below + equal - 1)
    return HalfRanks(numerators=tuple(numerators), denominator=2 * (n - 1))


def pct(values: Sequence[float | None], *, lower_is_better: bool = False) -> list[float]:
    """pct() of each value as a float in 0..1."""
    ranks = half_ranks(values, lower_is_better=lower_is_better)
    return [ranks.pct(i) for i in range(len(values))]

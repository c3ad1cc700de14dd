"""pct(): KPIS.md's percentile rank, with ties averaged and nulls ranked last."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence


def pct(values: Sequence[float | None], *, lower_is_better: bool = False) -> list[float]:
    """pct(x) = (count(v < x) + 0.5 × (count(v = x) − 1)) / (n − 1) for each value.

    0.5 when n = 1. A null ranks below every non-null value and ties with the
    other nulls. When lower is better the values are negated first.
    """
    n = len(values)
    if n == 0:
        return []
    if n == 1:
        return [0.5]
    signed = [None if v is None else (-v if lower_is_better else v) for v in values]
    present = sorted(v for v in signed if v is not None)
    nulls = n - len(present)
    ranks: list[float] = []
    for value in signed:
        if value is None:
            below, equal = 0, nulls
        else:
            below = nulls + bisect_left(present, value)
            equal = bisect_right(present, value) - bisect_left(present, value)
        ranks.append((below + 0.5 * (equal - 1)) / (n - 1))
    return ranks

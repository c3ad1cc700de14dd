"""The composite score of KPIS.md: shrinkage, components, score, tier and drivers.

This runs on the per-partner rows (a few thousand), so it is plain Python that
reads like the definitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import lcm
from typing import Any

from kpi_engine.components import COMPONENTS
from kpi_engine.ranking import HalfRanks, half_ranks
from kpi_engine.result import TIERS, Drivers


def shrunk_rate(successes: int, trials: int, prior_rate: float | None, k: float) -> float | None:
    """(successes + k·m) / (trials + k): a small sample pulled towards the portfolio rate m."""
    if prior_rate is None or trials + k == 0:
        return None
    return (successes + k * prior_rate) / (trials + k)


def portfolio_rate(successes: Sequence[int], trials: Sequence[int]) -> float | None:
    """The rate of all partners together (m), or None when nothing was tried."""
    total = sum(trials)
    return sum(successes) / total if total else None


def quality_scores(rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """quality_score = 100 × mean(pct(deal_count), pct(won_amount)) over all partners."""
    by_count = half_ranks([row["deal_count"] for row in rows])
    by_amount = half_ranks([row["won_amount"] for row in rows])
    # one division of an integer sum, so partners tied on paper tie exactly
    return [
        100 * (a + b) / (2 * by_count.denominator)
        for a, b in zip(by_count.numerators, by_amount.numerators, strict=True)
    ]


def component_values(
    row: Mapping[str, Any],
    close_rate_m: float | None,
    deal_success_m: float | None,
    k: float,
    components: Sequence[str] = tuple(COMPONENTS),
) -> dict[str, float | None]:
    """The components of one partner: the eight of KPIS.md, then each other KPI given a
    weight (its own value); a partner without opportunities at A has none of them."""
    if row["opportunity_count"] == 0:
        return dict.fromkeys(components)
    values = _default_components(row, close_rate_m, deal_success_m, k)
    return {name: values[name] if name in values else row[name] for name in components}


def _default_components(
    row: Mapping[str, Any], close_rate_m: float | None, deal_success_m: float | None, k: float
) -> dict[str, float | None]:
    closed = row["won_count"] + row["lost_count"]
    return {
        "avg_deal_size": row["avg_deal_size"],
        "deal_count": row["deal_count"],
        "pipeline_value": row["pipeline_value"],
        "close_rate_adj": shrunk_rate(row["won_count"], closed, close_rate_m, k),
        "deal_velocity": row["deal_velocity"],
        "quality_score": row["quality_score"],
        "deal_success_adj": shrunk_rate(
            row["created_w_won"], row["created_w_count"], deal_success_m, k
        ),
        "sales_cycle_days": row["sales_cycle_days"],
    }


def component_ranks(
    components: Sequence[Mapping[str, float | None]], directions: Mapping[str, str]
) -> dict[str, HalfRanks]:
    """pct() of every component over all partners (lower-is-better ones negated)."""
    return {
        name: half_ranks([c[name] for c in components], lower_is_better=direction == "lower")
        for name, direction in directions.items()
    }


def percentiles_of(ranks: Mapping[str, HalfRanks], i: int) -> dict[str, float]:
    """Partner i's pct() of each component, as floats for reports and drivers."""
    return {name: rank.pct(i) for name, rank in ranks.items()}


def integer_weights(weights: Mapping[str, float]) -> dict[str, int]:
    """The weights scaled to whole numbers with the same ratios (every float is a rational)."""
    exact = {name: Fraction(weight) for name, weight in weights.items()}
    scale = lcm(*(w.denominator for w in exact.values()))
    return {name: int(w * scale) for name, w in exact.items()}


def composite_score(ranks: Mapping[str, HalfRanks], i: int, weights: Mapping[str, int]) -> float:
    """score = 100 × Σ wᵢ·pct(componentᵢ) / Σ wᵢ, rounded to one decimal, halves up.

    pct = h / 2(n − 1) with whole h, and the weights are whole (``integer_weights``),
    so the score is the exact fraction 100·Σ wᵢhᵢ / (2(n − 1)·Σ wᵢ): rounding a half
    is decided on the true value, never on float noise.
    """
    numerator = 1000 * sum(weight * ranks[name].numerators[i] for name, weight in weights.items())
    # every component's pct() shares the denominator 2(n − 1)
    denominator = ranks["deal_count"].denominator * sum(weights.values())
    tenths = (2 * numerator + denominator) // (2 * denominator)  # floor(x + 1/2)
    return tenths / 10


def drivers(percentiles: Mapping[str, float], weights: Mapping[str, float]) -> Drivers:
    """The two components with the highest wᵢ·pct and the two with the lowest."""
    contributions = [
        (weight * percentiles[name], position, name)
        for position, (name, weight) in enumerate(weights.items())
        if weight > 0
    ]
    strong = [name for _, _, name in sorted(contributions, key=lambda c: (-c[0], c[1]))[:2]]
    weak = [
        name
        for _, _, name in sorted(contributions, key=lambda c: (c[0], c[1]))
        if name not in strong
    ][:2]
    return Drivers(strong=tuple(strong), weak=tuple(weak))


def tier_counts(tiers: Sequence[str]) -> dict[str, int]:
    """How many partners each tier holds, best tier first."""
    return {name: tiers.count(name) for name in TIERS}


def settings_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The full weight map of the settings' ``weights``: the eight components of KPIS.md (1
    unless given), then every other KPI given a weight."""
    return {
        **{name: weights.get(name, 1.0) for name in COMPONENTS},
        **{name: w for name, w in weights.items() if name not in COMPONENTS},
    }

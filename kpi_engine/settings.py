"""Scoring settings: the configurable parts of KPIS.md, validated.

The formulas are fixed; the window, the weights, the tier thresholds, the
prior strength and the channel map are settings with KPIS.md's defaults.
Every validation message names what is wrong and how to fix it, because the
app turns it into one line that names the config key.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config_values import Number, WholeNumber
from kpi_engine.result import TIERS

#: Components of the composite score, in KPIS.md order, with their direction.
COMPONENTS: dict[str, str] = {
    "avg_deal_size": "higher",
    "deal_count": "higher",
    "pipeline_value": "higher",
    "close_rate_adj": "higher",
    "deal_velocity": "higher",
    "quality_score": "higher",
    "deal_success_adj": "higher",
    "sales_cycle_days": "lower",
}

CHANNEL_GROUPS = ("paid", "owned", "earned", "other", "unknown")

DEFAULT_CHANNEL_MAP: dict[str, str] = {
    "Paid Search": "paid",
    "Paid Social": "paid",
    "Advertisement": "paid",
    "Web": "owned",
    "Email": "owned",
    "Webinar": "owned",
    "Content": "owned",
    "Partner Referral": "earned",
    "Referral": "earned",
    "Trade Show": "earned",
    "Word of mouth": "earned",
    "Public Relations": "earned",
}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierThresholds(_Settings):
    """Lowest score of each tier (``result.TIERS``) but the last; below ``silver`` is Bronze."""

    platinum: Number = 75.0
    gold: Number = 50.0
    silver: Number = 25.0

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not 0 <= self.silver < self.gold < self.platinum <= 100:
            raise ValueError(
                f"thresholds must satisfy 0 <= silver < gold < platinum <= 100, got "
                f"silver={self.silver}, gold={self.gold}, platinum={self.platinum}; "
                "reorder them"
            )
        return self

    def floors(self) -> tuple[tuple[str, float], ...]:
        """Each tier but the last with its lowest score, best tier first."""
        return tuple(zip(TIERS, (self.platinum, self.gold, self.silver), strict=False))

    def tier_of(self, score: float) -> str:
        """The tier name of a (rounded) score."""
        return next((tier for tier, floor in self.floors() if score >= floor), TIERS[-1])


class ScoringSettings(_Settings):
    """Everything about scoring that a user may change (the ``scoring:`` config section)."""

    window_days: WholeNumber = Field(
        default=365, description="L: length of the current window in days"
    )
    weights: dict[str, Number] = Field(default_factory=lambda: dict.fromkeys(COMPONENTS, 1.0))
    tiers: TierThresholds = Field(default_factory=TierThresholds)
    prior_strength: Number = Field(default=10.0, description="k: pseudo-deals of the prior")
    channel_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CHANNEL_MAP))

    @field_validator("window_days")
    @classmethod
    def _window_positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"must be a whole number of days > 0, got {value}; e.g. 365")
        return value

    @field_validator("prior_strength")
    @classmethod
    def _prior_not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"must be >= 0, got {value}; 0 turns shrinkage off, default 10")
        return value

    @field_validator("weights", mode="before")
    @classmethod
    def _weights_known(cls, value: object) -> object:
        # Partial maps override the defaults, so `weights: {deal_count: 2}` keeps the rest at 1.
        if not isinstance(value, dict):
            return value
        for name, weight in value.items():
            if name not in COMPONENTS:
                raise ValueError(
                    f"unknown KPI {name!r} in weights; use one of {', '.join(COMPONENTS)}"
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise ValueError(f"weight of {name!r} must be a number, got {weight!r}")
            if weight < 0:
                raise ValueError(f"weight of {name!r} is {weight}; weights must be >= 0")
        merged = dict.fromkeys(COMPONENTS, 1.0)
        merged.update({name: float(w) for name, w in value.items()})
        if sum(merged.values()) <= 0:
            raise ValueError("all weights are 0; give at least one component a weight > 0")
        return merged

    @field_validator("channel_map")
    @classmethod
    def _groups_known(cls, value: dict[str, str]) -> dict[str, str]:
        for source, group in value.items():
            if group not in CHANNEL_GROUPS:
                raise ValueError(
                    f"lead source {source!r} maps to unknown group {group!r}; "
                    f"use one of {', '.join(CHANNEL_GROUPS)}"
                )
        return value

    def channel_of(self, lead_source: str | None) -> str:
        """The channel group of a raw lead source (null → unknown, unmapped → other)."""
        if lead_source is None:
            return "unknown"
        return self.channel_map.get(lead_source, "other")

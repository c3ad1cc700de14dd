"""Scoring settings: the configurable parts of KPIS.md, validated.

The formulas are fixed; the window, the weights, the tier thresholds, the
prior strength, the channel map and the lists and thresholds of the funnel,
customer and service KPIs are settings with KPIS.md's defaults.
Every validation message names what is wrong and how to fix it, because the
app turns it into one line that names the config key.
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config_values import Number, WholeNumber
from kpi_engine.components import CHANNEL_GROUPS, COMPONENTS
from kpi_engine.result import TIERS

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


#: KPIS.md ``referral_sources``: the lead sources that make an opportunity a referral.
DEFAULT_REFERRAL_SOURCES = ("Referral", "Partner Referral", "Customer Referral", "Word of mouth")
#: KPIS.md ``onboarding_case_types``: the case types that onboard a new customer.
DEFAULT_ONBOARDING_CASE_TYPES = ("Onboarding",)
#: KPIS.md ``value_call_seconds``: the shortest connected call that counts as value added.
DEFAULT_VALUE_CALL_SECONDS = 120

#: A field's API name as both CRMs spell them (First_Contact_Resolved__c, hs_fcr).
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _text_list(value: object, what: str, example: str) -> object:
    """A YAML list of non-empty texts, or an error that shows how to write one."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item.strip() for item in value
    ):
        raise ValueError(f"must be a list of {what}, each a non-empty text, e.g. {example}")
    if len(set(value)) != len(value):
        repeated = next(item for item in value if value.count(item) > 1)
        raise ValueError(f"lists {repeated!r} twice; give each value once")
    return tuple(value)


def weighable_kpis() -> dict[str, str]:
    """Every KPI a weight can make a score component, with the direction its rank takes:
    the numeric KPIs of the catalogue (read only when a weight names one: it needs Polars)."""
    from kpi_engine.catalogue import KPIS

    return {kpi.name: kpi.direction for kpi in KPIS if kpi.kind.numeric and kpi.direction != "none"}


def _kpi_names() -> tuple[str, ...]:
    from kpi_engine.catalogue import KPIS

    return KPIS.names


def component_directions(weights: dict[str, float]) -> dict[str, str]:
    """Each score component of these weights with its direction: "lower" ones are negated."""
    kpis = weighable_kpis() if any(name not in COMPONENTS for name in weights) else {}
    return {name: COMPONENTS.get(name) or kpis[name] for name in weights}


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
    referral_sources: tuple[str, ...] = Field(
        default=DEFAULT_REFERRAL_SOURCES, description="lead sources counted by referral_count"
    )
    onboarding_case_types: tuple[str, ...] = Field(
        default=DEFAULT_ONBOARDING_CASE_TYPES, description="case types onboarding_days reads"
    )
    value_call_seconds: WholeNumber = Field(
        default=DEFAULT_VALUE_CALL_SECONDS, description="shortest call value_added_calls counts"
    )
    #: the CRM's checkbox of a case resolved at first contact (connectors read it into
    #: Case.first_contact_resolved); None: judged by the contacts logged and reopenings
    first_contact_field: str | None = None

    @field_validator("referral_sources", mode="before")
    @classmethod
    def _referral_sources_listed(cls, value: object) -> object:
        return _text_list(value, "lead-source values", "[Referral, Partner Referral]")

    @field_validator("onboarding_case_types", mode="before")
    @classmethod
    def _onboarding_types_listed(cls, value: object) -> object:
        return _text_list(value, "case types", "[Onboarding]")

    @field_validator("value_call_seconds", mode="before")
    @classmethod
    def _call_seconds_whole(cls, value: object) -> object:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"must be a whole number of seconds, got {value}; e.g. 120")
        return value

    @field_validator("value_call_seconds")
    @classmethod
    def _call_seconds_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must be a whole number of seconds >= 0, got {value}; default 120")
        return value

    @field_validator("first_contact_field", mode="before")
    @classmethod
    def _field_name(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and _FIELD_NAME.match(value)):
            raise ValueError(
                "must be the API name of a checkbox field on cases or tickets (letters, digits "
                "and _, such as First_Contact_Resolved__c), or null to judge by the contacts "
                f"logged and reopenings; got {value!r}"
            )
        return value

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
        # Partial maps override the defaults, so `weights: {deal_count: 2}` keeps the rest at 1;
        # a weight on any other numeric KPI adds it as a component (KPIS.md "Composite score").
        if not isinstance(value, dict):
            return value
        extra = [name for name in value if name not in COMPONENTS]
        kpis = weighable_kpis() if extra else {}
        for name, weight in value.items():
            if name not in COMPONENTS and name not in kpis:
                choices = ", ".join([*COMPONENTS, *(n for n in kpis if n not in COMPONENTS)])
                if name in _kpi_names():
                    raise ValueError(
                        f"KPI {name!r} is not a number, so it cannot weigh in the score; "
                        f"use one of {choices}"
                    )
                raise ValueError(f"unknown KPI {name!r} in weights; use one of {choices}")
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise ValueError(f"weight of {name!r} must be a number, got {weight!r}")
            if weight < 0:
                raise ValueError(f"weight of {name!r} is {weight}; weights must be >= 0")
        # the eight components first, then the other KPIs given a weight in catalogue order
        merged = dict.fromkeys(COMPONENTS, 1.0)
        merged.update({name: float(value[name]) for name in COMPONENTS if name in value})
        merged.update({name: float(value[name]) for name in kpis if name in extra})
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

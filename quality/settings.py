"""The ``quality:`` config section: a policy per rule and the amount bound, validated.

Every rule is ``exclude`` unless the section says otherwise: the record is left out
of every KPI as if the CRM did not hold it. ``keep`` scores it and lists it; ``fail``
stops the run before anything is scored or written.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.config_values import Number

Policy = Literal["exclude", "keep", "fail"]
POLICIES: tuple[Policy, ...] = ("exclude", "keep", "fail")

#: amount_implausible's default: beyond this many times the portfolio's median won amount
MEDIAN_WON_FACTOR = 1000.0


class QualitySettings(BaseModel):
    """Policies by rule name (``exclude`` for every rule not named) and the amount bound."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, Policy] = Field(default_factory=dict)
    #: amount_implausible: beyond this × the median won amount (None: no such bound)
    median_won_factor: Number | None = Field(default=MEDIAN_WON_FACTOR, gt=0)
    #: amount_implausible: beyond this amount in the corporate currency (None: no cap)
    amount_cap: Number | None = Field(default=None, gt=0)

    @field_validator("rules", mode="before")
    @classmethod
    def _known_rules(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError("must be a mapping of rule: policy (e.g. amount_implausible: fail)")
        if not value:
            return value
        # the rules are read here, not on import: their column tests need Polars, and a
        # config that names no rule (``rules: {}`` included) is validated without it
        from quality.rules import RULES, RULES_BY_NAME

        for name, policy in value.items():
            rule = RULES_BY_NAME.get(name)
            if rule is None:
                raise ValueError(
                    f"unknown rule {name!r}; use one of {', '.join(r.name for r in RULES)}"
                )
            if policy not in POLICIES:
                shown = "yes/no or true/false" if isinstance(policy, bool) else repr(policy)
                raise ValueError(
                    f"{name}: policy must be one of {', '.join(POLICIES)} (got {shown})"
                )
            if policy == "keep" and not rule.keepable:
                raise ValueError(
                    f"{name}: cannot be kept ({rule.meaning}: such a record cannot be scored); "
                    "use exclude or fail"
                )
        return value

    def policy(self, rule: str) -> Policy:
        """The policy of ``rule``: as configured, else ``exclude``."""
        return self.rules.get(rule, "exclude")

    def amount_bound(self, median_won: float | None) -> float | None:
        """The largest plausible amount: the lower of factor × median won amount and the cap."""
        bounds = [self.amount_cap] if self.amount_cap is not None else []
        if self.median_won_factor is not None and median_won is not None and median_won > 0:
            bounds.append(self.median_won_factor * median_won)
        return min(bounds) if bounds else None

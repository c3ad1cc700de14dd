"""What scoring produces: per partner every KPI, the score, the tier and the drivers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

NO_PARTNER = "(no partner)"

#: The tiers a score falls into (``TierThresholds.tier_of``), best first.
TIERS: tuple[str, ...] = ("Platinum", "Gold", "Silver", "Bronze")

#: Decimals a float keeps where scores.csv (and a CRM text field) prints it.
FLOAT_DIGITS = 6

#: One KPI value: a count, an amount or rate (None when KPIS.md says null), a text,
#: or days per stage.
KpiValue = int | float | str | dict[str, float] | None


def float_text(value: float) -> str:
    """A float as scores.csv prints it: 6 decimals at most, shortest form, never -0.0."""
    rounded = round(value, FLOAT_DIGITS)
    return repr(0.0 if rounded == 0 else rounded)


def stage_days_text(days: Mapping[str, float], stage_order: Sequence[str] = ()) -> str:
    """'Prospecting=0.0; Engaging=45.8': stages in pipeline order, then any others by name."""
    rank = {stage: i for i, stage in enumerate(stage_order)}
    ordered = sorted(days, key=lambda s: (rank.get(s, len(rank)), s))
    return "; ".join(f"{stage}={float_text(days[stage])}" for stage in ordered)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class ChannelFigures(_Result):
    """One channel group's figures in the current window."""

    won_count: int
    won_amount: float
    close_rate: float | None


class Drivers(_Result):
    """The components that lift a score most (strong) and hold it down most (weak)."""

    strong: tuple[str, ...]
    weak: tuple[str, ...]


class PartnerKpis(_Result):
    """The KPI values of one partner (or of the "(no partner)" bucket), by their catalogue
    names in catalogue order, and its figures per channel group.

    Serialised flat, as scores.json shows it: every KPI, then ``channels``. A KPI reads
    as an attribute too (``kpis.deal_count``), typed ``Any`` since the catalogue, not the
    class, knows its kind; typed code reads ``number()``, ``text()`` or ``per_stage()``.
    """

    values: dict[str, KpiValue]
    channels: dict[str, ChannelFigures]

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        return super().__getattr__(name)  # type: ignore[misc]

    def number(self, name: str) -> float | None:
        """A numeric KPI (count, amount, rate, days) as a float; None when it is null."""
        value = self.values[name]
        if value is None:
            return None
        if isinstance(value, int | float):
            return float(value)
        raise TypeError(f"{name} is not a number: {value!r}")

    def per_stage(self, name: str) -> dict[str, float]:
        """A per-stage KPI (stage_days): days by stage name."""
        value = self.values[name]
        if not isinstance(value, dict):
            raise TypeError(f"{name} is not a per-stage KPI: {value!r}")
        return value

    def text(self, name: str) -> str | None:
        """A text KPI (top_channel); None when it is null."""
        value = self.values[name]
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} is not a text: {value!r}")
        return value

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {**dumped["values"], "channels": dumped["channels"]}


class PartnerScore(_Result):
    """One partner's KPIs, composite score, tier and the reasons for them."""

    partner_id: str
    partner_name: str
    kpis: PartnerKpis
    #: component values after shrinkage (close_rate_adj, deal_success_adj …); None ranks last
    components: dict[str, float | None]
    #: pct() of each component over all partners, 0..1
    percentiles: dict[str, float]
    score: float
    tier: str
    drivers: Drivers
    #: what else a reader of the drivers must know, such as records left out by data quality
    notes: tuple[str, ...] = ()

    def percentiles_text(self, components: Sequence[str], name: Callable[[str], str] = str) -> str:
        """'deal_count (p97), pipeline_value (p90)': components with this partner's pct()."""
        return ", ".join(f"{name(c)} (p{round(100 * self.percentiles[c])})" for c in components)

    def drivers_text(self) -> str:
        """'strong: deal_count (p97), …; weak: …': the drivers as scores.csv and the CRM
        show them, so a rep sees why without opening the JSON; then any notes."""
        strong = self.percentiles_text(self.drivers.strong)
        weak = self.percentiles_text(self.drivers.weak)
        return "; ".join((f"strong: {strong}", f"weak: {weak}", *self.notes))


class PortfolioSummary(_Result):
    """Totals over every opportunity, and the unscored "(no partner)" bucket."""

    partner_count: int
    opportunity_count: int
    won_count: int
    won_amount: float
    pipeline_count: int
    pipeline_value: float
    #: m of the shrinkage: close rate and deal success of all partners together in W
    close_rate: float | None
    deal_success: float | None
    no_partner: PartnerKpis
    #: opportunities whose partner id is not among the partner accounts (not scored)
    unlisted_partner_opportunity_count: int
    tier_counts: dict[str, int]
    #: the activity objects the CRM had none of (or did not let us read): the KPIs that
    #: read them are null for every partner (``Kpi.sources``)
    objects_missing: tuple[str, ...] = ()


class ScoringResult(_Result):
    """The result of one scoring run, partners ranked by score."""

    as_of: date
    window_days: int
    partners: tuple[PartnerScore, ...]
    portfolio: PortfolioSummary

"""What scoring produces: per partner every KPI, the score, the tier and the drivers."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

#: The per-partner KPI columns of KPIS.md, by their exact names, in its order.
KPI_COLUMNS: tuple[str, ...] = (
    "deal_count",
    "won_amount",
    "missing_amount_count",
    "avg_deal_size",
    "pipeline_count",
    "pipeline_value",
    "weighted_pipeline",
    "close_rate",
    "sales_cycle_days",
    "deal_velocity",
    "deal_success",
    "quality_score",
    "new_revenue",
    "won_amount_growth",
    "top_channel",
    "stage_days",
)

NO_PARTNER = "(no partner)"


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
    """The KPI values of one partner (or of the "(no partner)" bucket)."""

    deal_count: int
    won_amount: float
    missing_amount_count: int
    avg_deal_size: float | None
    pipeline_count: int
    pipeline_value: float
    weighted_pipeline: float
    close_rate: float | None
    sales_cycle_days: float | None
    deal_velocity: float | None
    deal_success: float | None
    quality_score: float | None
    new_revenue: float
    won_amount_growth: float | None
    top_channel: str | None
    stage_days: dict[str, float]
    channels: dict[str, ChannelFigures]


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


class ScoringResult(_Result):
    """The result of one scoring run, partners ranked by score."""

    as_of: date
    window_days: int
    partners: tuple[PartnerScore, ...]
    portfolio: PortfolioSummary

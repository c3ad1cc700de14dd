"""score_partners(): records in, one ScoringResult out. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import polars as pl

from kpi_engine.frames import (
    OpportunitiesInput,
    PartnersInput,
    StageEventsInput,
    opportunities_frame,
    partners_frame,
    stage_events_frame,
)
from kpi_engine.kpis import (
    aggregate_by_partner,
    channel_figures,
    derive_kpis,
    flag_opportunities,
    stage_days,
    top_channels,
)
from kpi_engine.result import (
    ChannelFigures,
    PartnerKpis,
    PartnerScore,
    PortfolioSummary,
    ScoringResult,
)
from kpi_engine.scoring import (
    component_ranks,
    component_values,
    composite_score,
    drivers,
    integer_weights,
    percentiles_of,
    portfolio_rate,
    quality_scores,
    settings_weights,
    tier_counts,
)
from kpi_engine.settings import CHANNEL_GROUPS, ScoringSettings

_COUNT_COLUMNS = (
    "opportunity_count",
    "deal_count",
    "won_with_amount",
    "missing_amount_count",
    "lost_count",
    "pipeline_count",
    "created_w_count",
    "created_w_won",
)
_SUM_COLUMNS = ("won_amount", "pipeline_value", "weighted_pipeline", "new_revenue")

Key = str | None


# Result models are built with model_construct: every value comes typed from the frames
# above, and validating 5,000 partners × 5 channel groups again would cost a tenth of a second.


def score_partners(
    partners: PartnersInput,
    opportunities: OpportunitiesInput,
    stage_events: StageEventsInput,
    *,
    as_of: date,
    settings: ScoringSettings | None = None,
) -> ScoringResult:
    """Score every partner as of ``as_of`` by the definitions of KPIS.md.

    Inputs are schema records (small inputs) or Arrow tables in the schema's
    Arrow layout (large ones); both give the same result.
    """
    settings = settings or ScoringSettings()
    partner_rows = partners_frame(partners)
    flagged = flag_opportunities(opportunities_frame(opportunities), as_of, settings)
    events = stage_events_frame(stage_events)

    # group_by yields rows in any order; sorted, the portfolio totals sum the same every run
    kpis = derive_kpis(aggregate_by_partner(flagged)).sort("partner_id", nulls_last=True)
    channels = channel_figures(flagged)
    kpis = kpis.join(top_channels(channels), on="partner_id", how="left", nulls_equal=True)
    channels_by_key = _channels_by_key(channels)
    stage_days_by_key = _stage_days_by_key(stage_days(flagged, events))

    listed = (
        partner_rows.join(kpis, left_on="id", right_on="partner_id", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in (*_COUNT_COLUMNS, *_SUM_COLUMNS))
        .sort("id")
        .to_dicts()
    )
    for row, quality in zip(listed, quality_scores(listed), strict=True):
        row["quality_score"] = quality

    close_rate_m = portfolio_rate(
        [r["deal_count"] for r in listed], [r["deal_count"] + r["lost_count"] for r in listed]
    )
    deal_success_m = portfolio_rate(
        [r["created_w_won"] for r in listed], [r["created_w_count"] for r in listed]
    )
    components = [
        component_values(r, close_rate_m, deal_success_m, settings.prior_strength) for r in listed
    ]
    weights = settings_weights(settings)
    ranks = component_ranks(components)
    whole_weights = integer_weights(weights)
    scores = []
    for i, (row, values) in enumerate(zip(listed, components, strict=True)):
        percentiles = percentiles_of(ranks, i)
        score = composite_score(ranks, i, whole_weights)
        scores.append(
            PartnerScore.model_construct(
                partner_id=row["id"],
                partner_name=row["name"] or "",
                kpis=_partner_kpis(row, row["id"], channels_by_key, stage_days_by_key),
                components=values,
                percentiles=percentiles,
                score=score,
                tier=settings.tiers.tier_of(score),
                drivers=drivers(percentiles, weights),
            )
        )
    scores.sort(key=lambda s: (-s.score, s.partner_name, s.partner_id))

    listed_ids = set(partner_rows["id"].to_list())
    unlisted = kpis.filter(
        pl.col("partner_id").is_not_null() & ~pl.col("partner_id").is_in(list(listed_ids))
    )
    no_partner_rows = kpis.filter(pl.col("partner_id").is_null()).to_dicts()
    no_partner = no_partner_rows[0] if no_partner_rows else _empty_row()
    no_partner["quality_score"] = None
    portfolio = PortfolioSummary(
        partner_count=len(listed),
        opportunity_count=flagged.height,
        won_count=int(kpis["deal_count"].sum()),
        won_amount=float(kpis["won_amount"].sum()),
        pipeline_count=int(kpis["pipeline_count"].sum()),
        pipeline_value=float(kpis["pipeline_value"].sum()),
        close_rate=close_rate_m,
        deal_success=deal_success_m,
        no_partner=_partner_kpis(no_partner, None, channels_by_key, stage_days_by_key),
        unlisted_partner_opportunity_count=int(unlisted["opportunity_count"].sum()),
        tier_counts=tier_counts([s.tier for s in scores]),
    )
    return ScoringResult(
        as_of=as_of,
        window_days=settings.window_days,
        partners=tuple(scores),
        portfolio=portfolio,
    )


def _empty_row() -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys((*_COUNT_COLUMNS, *_SUM_COLUMNS), 0)
    row.update(
        avg_deal_size=None,
        close_rate=None,
        sales_cycle_days=None,
        deal_velocity=None,
        deal_success=None,
        won_amount_growth=None,
        top_channel=None,
    )
    return row


def _channels_by_key(channels: pl.DataFrame) -> dict[Key, dict[str, ChannelFigures]]:
    found: dict[Key, dict[str, ChannelFigures]] = defaultdict(dict)
    for row in channels.to_dicts():
        found[row["partner_id"]][row["channel"]] = ChannelFigures.model_construct(
            won_count=row["won_count"],
            won_amount=row["won_amount"],
            close_rate=row["close_rate"],
        )
    return found


def _stage_days_by_key(stages: pl.DataFrame) -> dict[Key, dict[str, float]]:
    found: dict[Key, dict[str, float]] = defaultdict(dict)
    for row in stages.sort("stage").to_dicts():
        found[row["partner_id"]][row["stage"]] = row["stage_days"]
    return found


def _partner_kpis(
    row: dict[str, Any],
    key: Key,
    channels_by_key: dict[Key, dict[str, ChannelFigures]],
    stage_days_by_key: dict[Key, dict[str, float]],
) -> PartnerKpis:
    empty = ChannelFigures.model_construct(won_count=0, won_amount=0.0, close_rate=None)
    found = channels_by_key.get(key, {})
    return PartnerKpis.model_construct(
        deal_count=row["deal_count"],
        won_amount=row["won_amount"],
        missing_amount_count=row["missing_amount_count"],
        avg_deal_size=row["avg_deal_size"],
        pipeline_count=row["pipeline_count"],
        pipeline_value=row["pipeline_value"],
        weighted_pipeline=row["weighted_pipeline"],
        close_rate=row["close_rate"],
        sales_cycle_days=row["sales_cycle_days"],
        deal_velocity=row["deal_velocity"],
        deal_success=row["deal_success"],
        quality_score=row["quality_score"],
        new_revenue=row["new_revenue"],
        won_amount_growth=row["won_amount_growth"],
        top_channel=row["top_channel"],
        stage_days=stage_days_by_key.get(key, {}),
        channels={group: found.get(group, empty) for group in CHANNEL_GROUPS},
    )

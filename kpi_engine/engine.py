"""score_partners(): records in, one ScoringResult out. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import polars as pl

from core.schema import StageDef
from kpi_engine.activity import aggregate_activity
from kpi_engine.catalogue import KPIS, PER_STAGE, AcrossPartners, Catalogue, FromRecords
from kpi_engine.components import CHANNEL_GROUPS
from kpi_engine.frames import (
    Activity,
    OpportunitiesInput,
    PartnersInput,
    StageEventsInput,
    opportunities_frame,
    partners_frame,
    stage_events_frame,
)
from kpi_engine.kpis import (
    Facts,
    aggregate_by_partner,
    channel_figures,
    flag_opportunities,
    status_at,
)
from kpi_engine.result import (
    ChannelFigures,
    KpiValue,
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
    settings_weights,
    tier_counts,
)
from kpi_engine.settings import ScoringSettings, component_directions

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
    stage_defs: Iterable[StageDef] | None = None,
    activity: Activity | None = None,
) -> ScoringResult:
    """Score every partner as of ``as_of`` by the definitions of KPIS.md, the CRM as it
    stood on that date ("Status as of A"; ``stage_defs`` give each stage's probability).

    Inputs are schema records (small inputs), Arrow tables in the schema's Arrow layout or
    Polars frames (large ones); all give the same result. Without ``stage_defs`` the stage
    history names a stage but not its probability: an opportunity open at A then has its
    own probability if it is still open, else none.

    ``activity`` holds the leads, quotes, cases, calls and line items the funnel and
    service KPIs read (None, or None for one object: the CRM has none of it).
    """
    settings = settings or ScoringSettings()
    activity_frames = (activity or Activity()).frames()
    # a caller that hands the engine its only reference (audit --seed) gets the millions of
    # activity rows back once their sums are made, before the per-record KPIs run
    del activity
    missing = tuple(stream for stream, frame in activity_frames.items() if frame is None)
    partner_rows = partners_frame(partners)
    records = opportunities_frame(opportunities)
    events = stage_events_frame(stage_events)
    probabilities = {stage.name: stage.probability for stage in stage_defs or ()}
    at_a = status_at(records, events, as_of, probabilities)
    flagged = flag_opportunities(
        at_a,
        as_of,
        window_days=settings.window_days,
        channel_map=settings.channel_map,
        referral_sources=settings.referral_sources,
    )
    channels = channel_figures(flagged)
    facts = Facts(flagged, events, channels)

    sums = partner_sums(
        partner_rows["id"],
        aggregate_by_partner(flagged),
        aggregate_activity(flagged, activity_frames, as_of, settings),
    )
    del activity_frames
    # group_by yields rows in any order; sorted, the portfolio totals sum the same every run
    kpis = derive_kpis(sums, KPIS).sort("partner_id", nulls_last=True)
    per_stage: dict[str, dict[Key, dict[str, float]]] = {}
    for kpi in KPIS:
        if not isinstance(kpi.expression, FromRecords):
            continue
        found = kpi.expression.function(facts)
        if kpi.kind is PER_STAGE:
            per_stage[kpi.name] = _per_stage_by_key(found)
        else:
            found = found.rename({"value": kpi.name})
            kpis = kpis.join(found, on="partner_id", how="left", nulls_equal=True)
    # KPIS.md: a CRM with none of an object gives null for the KPIs that need it, never 0
    kpis = kpis.with_columns(
        pl.lit(None, dtype=kpis.schema[kpi.name]).alias(kpi.name)
        for kpi in KPIS
        if kpi.name in kpis.columns and any(s in missing for s in kpi.sources)
    )
    channels_by_key = _channels_by_key(channels)

    listed = (
        partner_rows.join(kpis, left_on="id", right_on="partner_id", how="left")
        .sort("id")
        .to_dicts()
    )
    for kpi in KPIS:
        if isinstance(kpi.expression, AcrossPartners):
            across = kpi.expression.function(listed)
            for row, value in zip(listed, across, strict=True):
                row[kpi.name] = value

    close_rate_m = portfolio_rate(
        [r["won_count"] for r in listed], [r["won_count"] + r["lost_count"] for r in listed]
    )
    deal_success_m = portfolio_rate(
        [r["created_w_won"] for r in listed], [r["created_w_count"] for r in listed]
    )
    weights = settings_weights(settings.weights)
    components = [
        component_values(r, close_rate_m, deal_success_m, settings.prior_strength, list(weights))
        for r in listed
    ]
    ranks = component_ranks(components, component_directions(weights))
    whole_weights = integer_weights(weights)
    scores = []
    for i, (row, values) in enumerate(zip(listed, components, strict=True)):
        percentiles = percentiles_of(ranks, i)
        score = composite_score(ranks, i, whole_weights)
        scores.append(
            PartnerScore.model_construct(
                partner_id=row["id"],
                partner_name=row["name"] or "",
                kpis=_partner_kpis(row, row["id"], KPIS, channels_by_key, per_stage),
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
    (no_partner,) = kpis.filter(pl.col("partner_id").is_null()).to_dicts()
    for kpi in KPIS:
        if isinstance(kpi.expression, AcrossPartners):
            no_partner[kpi.name] = None  # "(no partner)" is not ranked among the partners
    portfolio = PortfolioSummary(
        partner_count=len(listed),
        opportunity_count=flagged.height,
        won_count=int(kpis["won_count"].sum()),
        won_amount=float(kpis["won_total"].sum()),
        pipeline_count=int(kpis["open_count"].sum()),
        pipeline_value=float(kpis["open_total"].sum()),
        close_rate=close_rate_m,
        deal_success=deal_success_m,
        no_partner=_partner_kpis(no_partner, None, KPIS, channels_by_key, per_stage),
        unlisted_partner_opportunity_count=int(unlisted["opportunity_count"].sum()),
        tier_counts=tier_counts([s.tier for s in scores]),
        objects_missing=missing,
    )
    return ScoringResult(
        as_of=as_of,
        window_days=settings.window_days,
        partners=tuple(scores),
        portfolio=portfolio,
    )


def derive_kpis(sums: pl.DataFrame, catalogue: Catalogue) -> pl.DataFrame:
    """The sums with every KPI that is a Polars expression over them, in catalogue order
    (so an expression may use the KPIs above it)."""
    kpis = sums
    for kpi in catalogue:
        if isinstance(kpi.expression, pl.Expr):
            kpis = kpis.with_columns(kpi.expression.alias(kpi.name))
    return kpis


def partner_sums(partner_ids: pl.Series, *sums: pl.DataFrame) -> pl.DataFrame:
    """One row of sums per partner account, per other partner id the records name and for
    "(no partner)" (the null id): every sum 0 where a partner has nothing to count."""
    keys = pl.DataFrame({"partner_id": partner_ids}).vstack(
        pl.DataFrame({"partner_id": [None]}, schema={"partner_id": pl.String})
    )
    # each key is in each frame of sums at most once, so a float sum adds one value to 0s
    return (
        pl.concat([keys, *sums], how="diagonal")
        .group_by("partner_id")
        .agg(pl.exclude("partner_id").sum())
    )


def _channels_by_key(channels: pl.DataFrame) -> dict[Key, dict[str, ChannelFigures]]:
    found: dict[Key, dict[str, ChannelFigures]] = defaultdict(dict)
    for row in channels.to_dicts():
        found[row["partner_id"]][row["channel"]] = ChannelFigures.model_construct(
            won_count=row["won_count"],
            won_amount=row["won_amount"],
            close_rate=row["close_rate"],
        )
    return found


def _per_stage_by_key(stages: pl.DataFrame) -> dict[Key, dict[str, float]]:
    found: dict[Key, dict[str, float]] = defaultdict(dict)
    for row in stages.sort("stage").to_dicts():
        found[row["partner_id"]][row["stage"]] = row["value"]
    return found


def _partner_kpis(
    row: dict[str, Any],
    key: Key,
    catalogue: Catalogue,
    channels_by_key: dict[Key, dict[str, ChannelFigures]],
    per_stage: dict[str, dict[Key, dict[str, float]]],
) -> PartnerKpis:
    empty = ChannelFigures.model_construct(won_count=0, won_amount=0.0, close_rate=None)
    found = channels_by_key.get(key, {})
    values: dict[str, KpiValue] = {
        kpi.name: per_stage[kpi.name].get(key, {}) if kpi.name in per_stage else row[kpi.name]
        for kpi in catalogue
    }
    return PartnerKpis.model_construct(
        values=values,
        channels={group: found.get(group, empty) for group in CHANNEL_GROUPS},
    )

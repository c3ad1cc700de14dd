"""The KPI definitions of ../shared/design/KPIS.md, each in one place, by its name.

Three steps, all columnar:

1. ``flag_opportunities`` marks each opportunity with the window facts the
   KPIs are built from ("won in W", "open pipeline" …).
2. ``aggregate_by_partner`` sums those facts per partner (the null partner
   is the "(no partner)" bucket).
3. each KPI of ``kpi_engine.catalogue`` is derived from those sums (a Polars
   expression) or from the records (``Facts``: ``top_channels``, ``stage_days``).

Window W is ``as_of − L < date ≤ as_of`` and the prior window P is
``as_of − 2L < date ≤ as_of − L``. The sums of the partner's funnel, customers
and service that read other objects than opportunities are in
``kpi_engine.activity``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from kpi_engine.components import CHANNEL_GROUPS

AMOUNT = pl.col("amount")
WON_W = pl.col("won_w")
LOST_W = pl.col("lost_w")


def _in_window(column: str, start_exclusive: date, end_inclusive: date) -> pl.Expr:
    value = pl.col(column)
    return ((value > start_exclusive) & (value <= end_inclusive)).fill_null(False)


def _first_win_dates(opportunities: pl.DataFrame) -> pl.DataFrame:
    """Per customer, its first winning date: the smallest close date of its won
    opportunities, any partner's (every win on that date is a first win: no id decides)."""
    return (
        opportunities.filter((pl.col("status") == "won") & pl.col("account_id").is_not_null())
        .group_by("account_id")
        .agg(pl.col("close_date").min().alias("first_win_date"))
    )


def stage_entries(events: pl.DataFrame, opportunity: str = "opportunity_id") -> pl.DataFrame:
    """The stage changes of each opportunity in the order they happened, a row that repeats
    the stage before it dropped (KPIS.md "Inputs": it is not an entry).

    Changes are ordered by ``entered_date`` then ``sequence`` (its place within a day);
    ``opportunity`` names the column that tells opportunities apart. The stage name breaks
    a tie of both, so that any input order gives the same entries.
    """
    same_opportunity = pl.col(opportunity) == pl.col(opportunity).shift(1)
    repeat = same_opportunity & (pl.col("stage") == pl.col("stage").shift(1))
    return events.sort(opportunity, "entered_date", "sequence", "stage").filter(
        ~repeat.fill_null(False)
    )


def status_at(
    opportunities: pl.DataFrame,
    events: pl.DataFrame,
    as_of: date,
    stage_probability: Mapping[str, float],
) -> pl.DataFrame:
    """The opportunities as the CRM stood on ``as_of`` (KPIS.md "Status as of A").

    One created after A does not exist. One that closed won or lost on or before A has
    that status; any other is open at A, with the probability of the last stage it
    entered on or before A (by date, then its place in the history), or, with no such
    entry, its current probability if it is still open, else none.
    """
    closed_by_a = (
        pl.col("status").is_in(["won", "lost"]) & (pl.col("close_date") <= as_of)
    ).fill_null(False)
    existing = opportunities.filter(pl.col("created_date") <= as_of)
    # only an opportunity open at A reads its history, and only with probabilities to read
    open_at_a = existing.filter(~closed_by_a)["id"]
    entered = (
        stage_entries(
            events.filter(
                (pl.col("entered_date") <= as_of)
                & pl.col("opportunity_id").is_in(open_at_a.implode())
            )
        )
        # within a group, rows keep the order stage_entries gave them
        .group_by("opportunity_id")
        .agg(pl.col("stage").last().alias("stage_at"))
        if stage_probability and not open_at_a.is_empty()
        else pl.DataFrame(schema={"opportunity_id": pl.String, "stage_at": pl.String})
    )
    from_history = pl.col("stage_at").replace_strict(
        dict(stage_probability), default=None, return_dtype=pl.Float64
    )
    still_open = pl.col("status") == "open"
    probability = (
        pl.when(closed_by_a)
        .then(pl.col("probability"))
        .when(from_history.is_not_null())
        .then(from_history)
        .when(still_open)
        .then(pl.col("probability"))
    )
    status = pl.when(closed_by_a).then(pl.col("status")).otherwise(pl.lit("open"))
    return (
        existing.join(entered, left_on="id", right_on="opportunity_id", how="left",
                      maintain_order="left")
        .with_columns(status.alias("status"), probability.alias("probability"))
        .drop("stage_at")
    )  # fmt: skip


def flag_opportunities(
    opportunities: pl.DataFrame,
    as_of: date,
    *,
    window_days: int,
    channel_map: Mapping[str, str],
    referral_sources: Sequence[str],
) -> pl.DataFrame:
    """Each opportunity with the facts that the KPIs count (the settings' window, channel
    map and referral sources)."""
    length = timedelta(days=window_days)
    w_start, p_start = as_of - length, as_of - 2 * length
    status = pl.col("status")
    closed_in_w = _in_window("close_date", w_start, as_of)
    lead_source = pl.col("lead_source")
    channel = (
        pl.when(lead_source.is_null())
        .then(pl.lit("unknown"))
        .otherwise(lead_source.replace_strict(channel_map, default="other", return_dtype=pl.String))
    )
    first_win = pl.col("close_date") == pl.col("first_win_date")
    created_w = _in_window("created_date", w_start, as_of)
    closed_by_w = (status != "open") & (pl.col("close_date") <= w_start)
    flagged = opportunities.join(
        _first_win_dates(opportunities), on="account_id", how="left", maintain_order="left"
    ).with_columns(
        won_w=(status == "won") & closed_in_w,
        lost_w=(status == "lost") & closed_in_w,
        won_p=(status == "won") & _in_window("close_date", p_start, w_start),
        # the open pipeline: open at as_of (``status_at`` left only those that exist)
        pipeline=(status == "open") & (pl.col("created_date") <= as_of),
        created_w=created_w,
        first_won=((status == "won") & first_win).fill_null(False),
        cycle_days=(pl.col("close_date") - pl.col("created_date")).dt.total_days(),
        channel=channel,
        referral_w=created_w & lead_source.is_in(referral_sources).fill_null(False),
        # KPIS.md: created on or before A (all that exist) and not closed on or before A − L
        open_in_w=~closed_by_w.fill_null(False),
    )
    # retained: won in W from a customer the same partner (or no partner) won in P
    in_p = _customers_in_p(flagged)
    return (
        flagged.join(
            in_p,
            on=["partner_id", "account_id"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(retained=WON_W & pl.col("customer_in_p").fill_null(False))
        .drop("customer_in_p")
    )


def _customers_in_p(flagged: pl.DataFrame) -> pl.DataFrame:
    """Each pair of a partner (null: no partner) and a customer of it in P."""
    return (
        flagged.filter(pl.col("won_p") & pl.col("account_id").is_not_null())
        .select("partner_id", "account_id")
        .unique()
        .with_columns(customer_in_p=pl.lit(True))
    )


def _customers(condition: pl.Expr) -> pl.Expr:
    """How many distinct customers (accounts) the opportunities meeting ``condition`` have."""
    account = pl.col("account_id")
    return account.filter(condition & account.is_not_null()).n_unique().cast(pl.Int64)


def aggregate_by_partner(flagged: pl.DataFrame) -> pl.DataFrame:
    """The sums every KPI is derived from, one row per partner id (null: no partner)."""
    pipeline = pl.col("pipeline")
    return flagged.group_by("partner_id").agg(
        opportunity_count=pl.len(),
        # won in W: how many, their amounts, with and without an amount, their cycles
        won_count=WON_W.sum(),
        won_total=AMOUNT.filter(WON_W).sum(),
        won_with_amount=(WON_W & AMOUNT.is_not_null()).sum(),
        won_without_amount=(WON_W & AMOUNT.is_null()).sum(),
        won_cycle_days=pl.col("cycle_days").filter(WON_W).sum(),
        lost_count=LOST_W.sum(),
        # the open pipeline
        open_count=pipeline.sum(),
        open_total=AMOUNT.filter(pipeline).sum(),
        open_weighted_total=(AMOUNT * pl.col("probability")).filter(pipeline).sum(),
        # created in W, and of those the won ones
        created_w_count=pl.col("created_w").sum(),
        created_w_won=(pl.col("created_w") & (pl.col("status") == "won")).sum(),
        # won in W on the customer's first winning date
        first_win_total=AMOUNT.filter(WON_W & pl.col("first_won")).sum(),
        # won in the prior window P
        prior_won_total=AMOUNT.filter(pl.col("won_p")).sum(),
        # created in W from a referral
        referral_w_count=pl.col("referral_w").sum(),
        # customers: of W, of P, at A; those of P that bought again in W, and what they spent
        customers_w=_customers(WON_W),
        customers_p=_customers(pl.col("won_p")),
        customers_at_a=_customers(pl.col("status") == "won"),
        customers_retained=_customers(pl.col("retained")),
        retained_won_total=AMOUNT.filter(pl.col("retained")).sum(),
        # open at any time in W
        open_in_w_count=pl.col("open_in_w").sum(),
    )


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null when the denominator is 0."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


@dataclass(frozen=True)
class Facts:
    """What a KPI computed from the records reads, besides the per-partner sums."""

    #: every opportunity with its window facts (``flag_opportunities``)
    opportunities: pl.DataFrame
    #: stage changes (``frames.stage_events_frame``)
    stage_events: pl.DataFrame
    #: per partner and channel group, the figures of ``channel_figures``
    channels: pl.DataFrame


def channel_figures(flagged: pl.DataFrame) -> pl.DataFrame:
    """Per partner and channel group: won_count, won_amount and close_rate in W."""
    closed = flagged.filter(WON_W | LOST_W)
    return (
        closed.group_by("partner_id", "channel")
        .agg(
            won_count=WON_W.sum(),
            won_amount=AMOUNT.filter(WON_W).sum(),
            closed_count=pl.len(),
        )
        .with_columns(close_rate=pl.col("won_count") / pl.col("closed_count"))
    )


def top_channels(channels: pl.DataFrame) -> pl.DataFrame:
    """top_channel (as ``value``): the group with the largest won-in-W amount, ties alphabetical."""
    return (
        channels.filter(pl.col("won_count") > 0)
        .sort(["partner_id", "won_amount", "channel"], descending=[False, True, False])
        .group_by("partner_id", maintain_order=True)
        .agg(value=pl.col("channel").first())
    )


def stage_days(flagged: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """stage_days (as ``value``): per partner and stage, the mean days from entering it to
    entering the next.

    Over opportunities closed in W; an opportunity's repeat visits to a stage are
    summed first, so the mean is the total days over the number of opportunities
    that left the stage; a stage that is never left has no row (its value is null).
    """
    closed = (
        flagged.with_row_index("row")
        .filter(WON_W | LOST_W)
        .select("row", pl.col("id").alias("opportunity_id"), "partner_id")
    )
    # in entry order (row is the opportunity's place in id order: a number sorts faster than
    # an id), the next row of the same opportunity is the next stage entered
    visits = stage_entries(events.join(closed, on="opportunity_id", how="inner"), "row")
    same_opportunity = pl.col("row") == pl.col("row").shift(-1)
    days_in_stage = pl.when(same_opportunity).then(
        (pl.col("entered_date").shift(-1) - pl.col("entered_date")).dt.total_days()
    )
    return (
        visits.with_columns(days=days_in_stage)
        .filter(pl.col("days").is_not_null())
        .group_by("partner_id", "stage")
        .agg(total_days=pl.col("days").sum(), opportunities=pl.col("row").n_unique())
        .select("partner_id", "stage", value=pl.col("total_days") / pl.col("opportunities"))
    )


__all__ = [
    "CHANNEL_GROUPS",
    "Facts",
    "aggregate_by_partner",
    "channel_figures",
    "flag_opportunities",
    "ratio",
    "stage_days",
    "stage_entries",
    "top_channels",
]

"""The per-partner sums of the partner's funnel, customers and service (KPIS.md) that read
leads, quotes, cases, calls and line items; the KPIs of ``kpi_engine.catalogue`` divide them.

Every sum is a whole number, one row per partner id (null: no partner), and reads the CRM
as it stood on A: a record created after A does not exist, and a lead converted, a case
closed or a quote sent after A is not converted, closed or sent. An object the CRM lacks
is read as empty here; the engine then nulls the KPIs that name it in ``Kpi.sources``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from core.schema import ACTIVITY_ENTITIES
from kpi_engine.settings import ScoringSettings


def _in(column: str, start_exclusive: date, end_inclusive: date) -> pl.Expr:
    value = pl.col(column)
    return ((value > start_exclusive) & (value <= end_inclusive)).fill_null(False)


def _days(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_days()


def _or_empty(frames: Mapping[str, pl.DataFrame | None], stream: str) -> pl.DataFrame:
    """The object's frame, or an empty one in its layout when the CRM has none of it."""
    frame = frames.get(stream)
    if frame is not None:
        return frame
    empty = pl.from_arrow(ACTIVITY_ENTITIES[stream].scored_layout.empty_table())
    assert isinstance(empty, pl.DataFrame)
    return empty


def lead_sums(leads: pl.DataFrame, w_start: date, as_of: date) -> pl.DataFrame:
    """Per partner: leads created in W (lead_count), and of those the ones converted by A."""
    converted = (pl.col("converted_date") <= as_of).fill_null(False)
    return (
        leads.filter(_in("created_date", w_start, as_of))
        .group_by("partner_id")
        .agg(leads_created_w=pl.len(), leads_converted=converted.sum())
    )


def quote_sums(
    quotes: pl.DataFrame, flagged: pl.DataFrame, w_start: date, as_of: date
) -> pl.DataFrame:
    """Per partner: its opportunities whose first sent quote was sent in W, and the days from
    each one's creation to that quote (quote_turnaround_days)."""
    first_sent = (
        quotes.filter((pl.col("created_date") <= as_of) & (pl.col("sent_date") <= as_of))
        .group_by("opportunity_id")
        .agg(first_sent=pl.col("sent_date").min())
    )
    return (
        flagged.select("id", "partner_id", "created_date")
        .join(first_sent, left_on="id", right_on="opportunity_id", how="inner")
        .filter(_in("first_sent", w_start, as_of))
        .group_by("partner_id")
        .agg(quoted_w_count=pl.len(), quote_days_total=_days("first_sent", "created_date").sum())
    )


def customer_case_sums(
    cases: pl.DataFrame, flagged: pl.DataFrame, w_start: date, as_of: date
) -> pl.DataFrame:
    """Per partner, over the cases on its customers at A (a customer of several partners
    counts for each): created in W (tickets_per_customer), closed in W and of those the
    ones resolved at first contact (first_contact_resolution)."""
    customers_at_a = (
        flagged.filter((pl.col("status") == "won") & pl.col("account_id").is_not_null())
        .select("partner_id", "account_id")
        .unique()
    )
    # the CRM's own checkbox when it has one; else at most one contact, never reopened
    first_contact = pl.col("first_contact_resolved").fill_null(
        (pl.col("contact_count") <= 1) & ~pl.col("reopened")
    )
    closed_w = _in("closed_date", w_start, as_of)
    # counted per account first, then per partner: an account is the customer of dozens of
    # partners, and joining each case to each of them made ~30 rows a case (12 M at 1 M deals)
    per_account = (
        cases.filter((pl.col("created_date") <= as_of) & pl.col("account_id").is_not_null())
        .group_by("account_id")
        .agg(
            customer_cases_w=_in("created_date", w_start, as_of).sum(),
            customer_cases_closed_w=closed_w.sum(),
            customer_cases_first_contact=(closed_w & first_contact).sum(),
        )
    )
    return (
        customers_at_a.join(per_account, on="account_id", how="inner")
        .group_by("partner_id")
        .agg(pl.exclude("account_id").sum())
    )


def onboarding_sums(
    cases: pl.DataFrame, flagged: pl.DataFrame, as_of: date, case_types: tuple[str, ...]
) -> pl.DataFrame:
    """Per partner: its won-in-W opportunities whose customer's first onboarding case created
    on or after the close date was closed by A, and the days from close to that case's close
    (onboarding_days). Of several first cases created the same day, the one closed first
    counts, so no case id decides."""
    won = (
        flagged.filter(pl.col("won_w") & pl.col("account_id").is_not_null())
        .select("partner_id", "account_id", "close_date")
        .sort("close_date")
    )
    onboarding = (
        cases.filter(
            pl.col("type").is_in(case_types)
            & (pl.col("created_date") <= as_of)
            & pl.col("account_id").is_not_null()
        )
        .group_by("account_id", "created_date")
        .agg(closed_at_a=pl.col("closed_date").filter(pl.col("closed_date") <= as_of).min())
        .sort("created_date")
    )
    first_case = won.join_asof(
        onboarding, left_on="close_date", right_on="created_date", by="account_id",
        strategy="forward", check_sortedness=False,
    )  # fmt: skip
    return (
        first_case.filter(pl.col("closed_at_a").is_not_null())
        .group_by("partner_id")
        .agg(
            onboarded_count=pl.len(),
            onboarding_days_total=_days("closed_at_a", "close_date").sum(),
        )
    )


def call_sums(
    calls: pl.DataFrame, flagged: pl.DataFrame, w_start: date, as_of: date, seconds: int
) -> pl.DataFrame:
    """Per partner: connected calls of at least ``seconds`` logged in W on its opportunities
    (value_added_calls)."""
    value_calls = calls.filter(
        _in("call_date", w_start, as_of)
        & (pl.col("outcome") == "connected")
        & (pl.col("duration_seconds") >= seconds)
    )
    return (
        flagged.select("id", "partner_id")
        .join(value_calls, left_on="id", right_on="opportunity_id", how="inner")
        .group_by("partner_id")
        .agg(value_calls_w=pl.len())
    )


def product_sums(line_items: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
    """Per partner: Σ over its customers in W of the distinct products on its won-in-W
    opportunities with them (products_per_customer)."""
    won = flagged.filter(pl.col("won_w") & pl.col("account_id").is_not_null())
    return (
        won.select("id", "partner_id", "account_id")
        .join(line_items, left_on="id", right_on="opportunity_id", how="inner")
        .select("partner_id", "account_id", "product")
        .unique()
        .group_by("partner_id")
        .agg(customer_products=pl.len())
    )


def aggregate_activity(
    flagged: pl.DataFrame,
    frames: Mapping[str, pl.DataFrame | None],
    as_of: date,
    settings: ScoringSettings,
) -> pl.DataFrame:
    """Every sum of this module, one row per partner id seen in any of them (0 where none)."""
    w_start = as_of - timedelta(days=settings.window_days)
    cases = _or_empty(frames, "cases")
    parts = [
        lead_sums(_or_empty(frames, "leads"), w_start, as_of),
        quote_sums(_or_empty(frames, "quotes"), flagged, w_start, as_of),
        customer_case_sums(cases, flagged, w_start, as_of),
        onboarding_sums(cases, flagged, as_of, settings.onboarding_case_types),
        call_sums(_or_empty(frames, "calls"), flagged, w_start, as_of, settings.value_call_seconds),
        product_sums(_or_empty(frames, "line_items"), flagged),
    ]
    return (
        pl.concat([part.with_columns(pl.exclude("partner_id").cast(pl.Int64)) for part in parts],
                  how="diagonal")
        .group_by("partner_id")
        .agg(pl.exclude("partner_id").sum())
    )  # fmt: skip


__all__ = ["aggregate_activity"]

"""The KPI catalogue: every per-partner KPI of ../shared/design/KPIS.md, once, in its order.

One entry per KPI says what it is (``kind``), which way is better (``direction``),
when it is empty (``null_when``, KPIS.md's own words), how a report names and
explains it (``label``, ``meaning``, ``null_note``) and how it is computed
(``expression``). The result columns, scores.csv and scores.json, the writeback
field kinds and scales and the report's labels and units are all read from here:
adding a KPI is one entry plus its expression.

An expression is one of three things:

- a Polars expression over the per-partner sums of ``kpis.aggregate_by_partner``
  and ``activity.aggregate_activity`` (and the KPI columns above it in this table);
- ``FromRecords(function)``: a function of the flagged opportunities, their stage
  changes and channel figures (``kpis.Facts``) giving one row per partner;
- ``AcrossPartners(function)``: a figure that ranks every scored partner against
  the others, so it exists only for partner accounts, never for "(no partner)".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from kpi_engine.kpis import Facts, ratio, stage_days, top_channels
from kpi_engine.scoring import quality_scores

Direction = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class Kind:
    """What sort of value a KPI is, and how many decimals of it carry meaning."""

    name: str
    #: decimals a number field keeps (None: the value is not a number)
    decimals: int | None

    @property
    def numeric(self) -> bool:
        return self.decimals is not None


COUNT = Kind("count", decimals=0)  # a whole number of opportunities
MONEY = Kind("money", decimals=2)  # in the reporting currency
MONEY_PER_DAY = Kind("money_per_day", decimals=2)
RATE = Kind("rate", decimals=4)  # a share, 0..1 (revenue_retention: above 1 is expansion)
GROWTH = Kind("growth", decimals=4)  # a change against the prior window, −1..∞
DAYS = Kind("days", decimals=2)
SCORE = Kind("score", decimals=2)  # 0..100
AVERAGE = Kind("average", decimals=2)  # a mean count: tickets per customer, calls per deal
TEXT = Kind("text", decimals=None)
#: days per stage name; written as 'Prospecting=0.0; Engaging=45.8' where text is needed
PER_STAGE = Kind("per_stage", decimals=None)

#: KPIS.md's "null when" for a KPI that is never null (0 when there is nothing to count).
NEVER_ZERO = "never (0)"
NEVER = "never"


@dataclass(frozen=True)
class FromRecords:
    """A KPI computed from the opportunity records: ``function(facts)`` gives a frame of
    ``partner_id`` and ``value`` (for a per-stage KPI: ``partner_id``, ``stage``, ``value``)."""

    function: Callable[[Facts], pl.DataFrame]


@dataclass(frozen=True)
class AcrossPartners:
    """A KPI that ranks partners against each other: ``function(rows)`` gives one value per
    scored partner row (the rows hold every KPI above it)."""

    function: Callable[[Sequence[Mapping[str, Any]]], Sequence[float | None]]


Expression = pl.Expr | FromRecords | AcrossPartners


@dataclass(frozen=True)
class Kpi:
    """One KPI of KPIS.md."""

    name: str
    kind: Kind
    direction: Direction
    #: KPIS.md's "null when" column, word for word
    null_when: str
    label: str
    meaning: str
    expression: Expression
    #: why the report may show it empty, in a channel manager's words ("" when never)
    null_note: str = ""
    #: the activity objects it reads (``core.schema.ACTIVITY_ENTITIES``' streams): when the
    #: CRM lacks one of them the KPI is null; empty for a KPI of opportunities alone
    sources: tuple[str, ...] = ()

    @property
    def nullable(self) -> bool:
        return self.null_when not in (NEVER, NEVER_ZERO)


def _sum(column: str) -> pl.Expr:
    return pl.col(column)


def _deal_velocity() -> pl.Expr:
    cycle = pl.col("sales_cycle_days")
    # null when any input is null (Polars propagates nulls) or the cycle is <= 0
    return pl.when(cycle > 0).then(
        pl.col("pipeline_count") * pl.col("close_rate") * pl.col("avg_deal_size") / cycle
    )


def _top_channel(facts: Facts) -> pl.DataFrame:
    return top_channels(facts.channels)


def _stage_days(facts: Facts) -> pl.DataFrame:
    return stage_days(facts.opportunities, facts.stage_events)


class Catalogue:
    """The KPIs in KPIS.md order; looked up by name, iterated in order."""

    def __init__(self, *kpis: Kpi) -> None:
        self.kpis: tuple[Kpi, ...] = kpis

    def __iter__(self) -> Iterator[Kpi]:
        return iter(self.kpis)

    def __len__(self) -> int:
        return len(self.kpis)

    def __contains__(self, name: object) -> bool:
        return any(kpi.name == name for kpi in self.kpis)

    def __getitem__(self, name: str) -> Kpi:
        for kpi in self.kpis:
            if kpi.name == name:
                return kpi
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The KPI columns by their KPIS.md names, in KPIS.md order."""
        return tuple(kpi.name for kpi in self.kpis)

    def needing(self, stream: str) -> tuple[str, ...]:
        """The KPIs that read the activity object ``stream``: null while the CRM lacks it."""
        return tuple(kpi.name for kpi in self.kpis if stream in kpi.sources)


KPIS = Catalogue(
    Kpi(
        "deal_count", COUNT, "higher", NEVER_ZERO,
        label="Deals won",
        meaning="Opportunities won in the window.",
        expression=_sum("won_count"),
    ),
    Kpi(
        "won_amount", MONEY, "higher", NEVER_ZERO,
        label="Won amount",
        meaning="Total amount of the deals won in the window "
        "(deals without an amount are skipped).",
        expression=_sum("won_total"),
    ),
    Kpi(
        "missing_amount_count", COUNT, "lower", NEVER,
        label="Won deals without amount",
        meaning="Deals won in the window whose amount is empty in the CRM: "
        "a data-quality flag.",
        expression=_sum("won_without_amount"),
    ),
    Kpi(
        "avg_deal_size", MONEY, "higher", "that number is 0",
        label="Average deal size",
        meaning="Won amount divided by the won deals that have an amount.",
        expression=ratio(pl.col("won_total"), pl.col("won_with_amount")),
        null_note="no won deal with an amount in the window",
    ),
    Kpi(
        "pipeline_count", COUNT, "higher", NEVER_ZERO,
        label="Open deals",
        meaning="Open opportunities created up to the as-of date.",
        expression=_sum("open_count"),
    ),
    Kpi(
        "pipeline_value", MONEY, "higher", NEVER_ZERO,
        label="Pipeline value",
        meaning="Total amount of those open deals.",
        expression=_sum("open_total"),
    ),
    Kpi(
        "weighted_pipeline", MONEY, "higher", NEVER_ZERO,
        label="Weighted pipeline",
        meaning="Each open deal's amount times its stage's win probability, added up.",
        expression=_sum("open_weighted_total"),
    ),
    Kpi(
        "close_rate", RATE, "higher", "no closed in W",
        label="Close rate",
        meaning="Won deals divided by all deals closed (won or lost) in the window.",
        expression=ratio(pl.col("won_count"), pl.col("won_count") + pl.col("lost_count")),
        null_note="no deal closed in the window",
    ),
    Kpi(
        "sales_cycle_days", DAYS, "lower", "no won in W",
        label="Sales cycle (days)",
        meaning="Average days from creation to close of the deals won in the window; "
        "shorter is better.",
        expression=ratio(pl.col("won_cycle_days"), pl.col("won_count")),
        null_note="no deal won in the window",
    ),
    Kpi(
        "deal_velocity", MONEY_PER_DAY, "higher", "any input null, or cycle ≤ 0",
        label="Deal velocity (per day)",
        meaning="Open deals × close rate × average deal size ÷ sales cycle: "
        "the amount the pipeline is expected to close per day.",
        expression=_deal_velocity(),
        null_note="an input is empty or the sales cycle is 0 days",
    ),
    Kpi(
        "deal_success", RATE, "higher", "none created in W",
        label="Deal success",
        meaning="Of the deals created in the window, the share already won "
        "(deals still open count as not won).",
        expression=ratio(pl.col("created_w_won"), pl.col("created_w_count")),
        null_note="no deal created in the window",
    ),
    Kpi(
        "quality_score", SCORE, "higher", NEVER,
        label="Quality score",
        meaning="0–100: the average of the partner's percentile among all partners "
        "for deals won and for won amount.",
        expression=AcrossPartners(quality_scores),
    ),
    Kpi(
        "new_revenue", MONEY, "higher", NEVER_ZERO,
        label="New-customer revenue",
        meaning="Won amount from customers who had never bought before (from any partner).",
        expression=_sum("first_win_total"),
    ),
    Kpi(
        "won_amount_growth", GROWTH, "higher", "`won_amount(P)` = 0",
        label="Won amount growth",
        meaning="Change of the won amount against the window before this one.",
        expression=ratio(
            pl.col("won_total") - pl.col("prior_won_total"), pl.col("prior_won_total")
        ),
        null_note="nothing was won in the window before",
    ),
    Kpi(
        "top_channel", TEXT, "none", "no won in W",
        label="Top channel",
        meaning="The channel group with the largest won amount in the window.",
        expression=FromRecords(_top_channel),
        null_note="no deal won in the window",
    ),
    Kpi(
        "stage_days", PER_STAGE, "none", "stage never left",
        label="Days in each stage",
        meaning="Per stage, the average days between entering it and entering the next, "
        "over the deals closed in the window (repeat visits added up).",
        expression=FromRecords(_stage_days),
        null_note="the stage was never left",
    ),
    # --- the partner's funnel, customers and service ---
    Kpi(
        "lead_count", COUNT, "higher", "no lead data",
        label="Leads",
        meaning="Leads attributed to the partner, created in the window.",
        expression=pl.col("leads_created_w"),
        null_note="the CRM has no leads partner-kpi can read",
        sources=("leads",),
    ),
    Kpi(
        "lead_conversion_rate", RATE, "higher", "none created in W",
        label="Lead conversion rate",
        meaning="Of the partner's leads created in the window, the share converted "
        "by the as-of date.",
        expression=ratio(pl.col("leads_converted"), pl.col("leads_created_w")),
        null_note="no lead created in the window, or no lead data",
        sources=("leads",),
    ),
    Kpi(
        "referral_count", COUNT, "higher", NEVER_ZERO,
        label="Referral deals",
        meaning="Opportunities created in the window whose lead source is a referral "
        "(scoring.referral_sources).",
        expression=pl.col("referral_w_count"),
    ),
    Kpi(
        "customer_count", COUNT, "higher", NEVER_ZERO,
        label="Customers",
        meaning="Distinct customers of the deals won in the window.",
        expression=pl.col("customers_w"),
    ),
    Kpi(
        "customer_growth", GROWTH, "higher", "no customer of p in P",
        label="Customer growth",
        meaning="Change of the number of customers against the window before this one.",
        expression=ratio(pl.col("customers_w") - pl.col("customers_p"), pl.col("customers_p")),
        null_note="no customer won in the window before",
    ),
    Kpi(
        "account_retention", RATE, "higher", "no customer of p in P",
        label="Account retention",
        meaning="Of the customers won in the window before, the share that bought "
        "from the partner again in this window.",
        expression=ratio(pl.col("customers_retained"), pl.col("customers_p")),
        null_note="no customer won in the window before",
    ),
    Kpi(
        "revenue_retention", RATE, "higher", "that amount in P is 0",
        label="Revenue retention",
        meaning="Won amount in the window from the customers of the window before, divided "
        "by the won amount of the window before (above 100% is expansion).",
        expression=ratio(pl.col("retained_won_total"), pl.col("prior_won_total")),
        null_note="nothing was won in the window before",
    ),
    Kpi(
        "products_per_customer", AVERAGE, "higher", "no customer in W, or no line-item data",
        label="Products per customer",
        meaning="Per customer of the window, the distinct products on the deals won with it.",
        expression=ratio(pl.col("customer_products"), pl.col("customers_w")),
        null_note="no customer in the window, or no product lines partner-kpi can read",
        sources=("line_items",),
    ),
    Kpi(
        "tickets_per_customer", AVERAGE, "lower", "no customer at A, or no case data",
        label="Tickets per customer",
        meaning="Cases opened in the window by the partner's customers, per customer; "
        "fewer is better.",
        expression=ratio(pl.col("customer_cases_w"), pl.col("customers_at_a")),
        null_note="no customer yet, or no cases partner-kpi can read",
        sources=("cases",),
    ),
    Kpi(
        "first_contact_resolution", RATE, "higher", "none closed in W",
        label="First-contact resolution",
        meaning="Of the customers' cases closed in the window, the share resolved at first "
        "contact (one contact at most, never reopened).",
        expression=ratio(
            pl.col("customer_cases_first_contact"), pl.col("customer_cases_closed_w")
        ),
        null_note="no case of its customers closed in the window, or no case data",
        sources=("cases",),
    ),
    Kpi(
        "onboarding_days", DAYS, "lower", "no such opportunity",
        label="Onboarding (days)",
        meaning="Average days from a won deal's close to the close of its customer's first "
        "onboarding case; shorter is better.",
        expression=ratio(pl.col("onboarding_days_total"), pl.col("onboarded_count")),
        null_note="no deal won in the window whose onboarding case is closed, or no case data",
        sources=("cases",),
    ),
    Kpi(
        "quote_turnaround_days", DAYS, "lower", "none in W",
        label="Quote turnaround (days)",
        meaning="Average days from a deal's creation to its first quote sent, over the deals "
        "first quoted in the window; shorter is better.",
        expression=ratio(pl.col("quote_days_total"), pl.col("quoted_w_count")),
        null_note="no first quote sent in the window, or no quote data",
        sources=("quotes",),
    ),
    Kpi(
        "value_added_calls", AVERAGE, "higher", "no call data, or no such opportunity",
        label="Value-added calls per deal",
        meaning="Connected calls of at least scoring.value_call_seconds logged in the window, "
        "per deal open at any time in the window.",
        expression=ratio(pl.col("value_calls_w"), pl.col("open_in_w_count")),
        null_note="no deal open in the window, or no call data",
        sources=("calls",),
    ),
)  # fmt: skip

"""The words and number formats of the HTML report: each KPI of KPIS.md in plain language.

Labels and explanations paraphrase ../shared/design/KPIS.md for a channel manager;
the KPI names themselves (the dictionary keys) are the exact KPIS.md column names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "money", "rate", "days", "money_per_day", "score", "growth"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class KpiText:
    """How the report names, explains and formats one KPI."""

    label: str
    meaning: str
    kind: Kind
    better: Better
    #: why the KPI can be empty (KPIS.md's "null when"); "" when it never is
    null_when: str = ""


#: The numeric per-partner KPIs a scorecard lists, in KPIS.md order
#: (top_channel and stage_days have their own charts).
KPI_TEXT: dict[str, KpiText] = {
    "deal_count": KpiText("Deals won", "Opportunities won in the window.", "count", "higher"),
    "won_amount": KpiText(
        "Won amount",
        "Total amount of the deals won in the window (deals without an amount are skipped).",
        "money",
        "higher",
    ),
    "missing_amount_count": KpiText(
        "Won deals without amount",
        "Deals won in the window whose amount is empty in the CRM: a data-quality flag.",
        "count",
        "lower",
    ),
    "avg_deal_size": KpiText(
        "Average deal size",
        "Won amount divided by the won deals that have an amount.",
        "money",
        "higher",
        "no won deal with an amount in the window",
    ),
    "pipeline_count": KpiText(
        "Open deals", "Open opportunities created up to the as-of date.", "count", "higher"
    ),
    "pipeline_value": KpiText(
        "Pipeline value", "Total amount of those open deals.", "money", "higher"
    ),
    "weighted_pipeline": KpiText(
        "Weighted pipeline",
        "Each open deal's amount times its stage's win probability, added up.",
        "money",
        "higher",
    ),
    "close_rate": KpiText(
        "Close rate",
        "Won deals divided by all deals closed (won or lost) in the window.",
        "rate",
        "higher",
        "no deal closed in the window",
    ),
    "sales_cycle_days": KpiText(
        "Sales cycle (days)",
        "Average days from creation to close of the deals won in the window; shorter is better.",
        "days",
        "lower",
        "no deal won in the window",
    ),
    "deal_velocity": KpiText(
        "Deal velocity (per day)",
        "Open deals × close rate × average deal size ÷ sales cycle: "
        "the amount the pipeline is expected to close per day.",
        "money_per_day",
        "higher",
        "an input is empty or the sales cycle is 0 days",
    ),
    "deal_success": KpiText(
        "Deal success",
        "Of the deals created in the window, the share already won "
        "(deals still open count as not won).",
        "rate",
        "higher",
        "no deal created in the window",
    ),
    "quality_score": KpiText(
        "Quality score",
        "0–100: the average of the partner's percentile among all partners "
        "for deals won and for won amount.",
        "score",
        "higher",
    ),
    "new_revenue": KpiText(
        "New-customer revenue",
        "Won amount from customers who had never bought before (from any partner).",
        "money",
        "higher",
    ),
    "won_amount_growth": KpiText(
        "Won amount growth",
        "Change of the won amount against the window before this one.",
        "growth",
        "higher",
        "nothing was won in the window before",
    ),
}

#: Score components (settings.COMPONENTS) in plain words.
COMPONENT_LABELS: dict[str, str] = {
    "avg_deal_size": "average deal size",
    "deal_count": "deals won",
    "pipeline_value": "pipeline value",
    "close_rate_adj": "close rate (adjusted for few deals)",
    "deal_velocity": "deal velocity",
    "quality_score": "quality score",
    "deal_success_adj": "deal success (adjusted for few deals)",
    "sales_cycle_days": "sales cycle (shorter is better)",
}

#: Score components in a few words, for the ranked table and chart axes.
COMPONENT_SHORT_LABELS: dict[str, str] = {
    **COMPONENT_LABELS,
    "close_rate_adj": "close rate",
    "deal_success_adj": "deal success",
    "sales_cycle_days": "sales cycle",
}

#: Channel groups (settings.CHANNEL_GROUPS) in plain words.
CHANNEL_LABELS: dict[str, str] = {
    "paid": "Paid",
    "owned": "Owned",
    "earned": "Earned",
    "other": "Other sources",
    "unknown": "No lead source",
}

TIER_COLOURS: dict[str, str] = {
    "Platinum": "#5b6b8c",
    "Gold": "#c9a227",
    "Silver": "#9aa5b1",
    "Bronze": "#b0713a",
}
FALLBACK_COLOUR = "#7f7f7f"

NONE_TEXT = "—"


def component_label(name: str, *, short: bool = False) -> str:
    """A score component in plain words (its own name when unknown)."""
    return (COMPONENT_SHORT_LABELS if short else COMPONENT_LABELS).get(name, name)


def channel_label(group: str) -> str:
    """A channel group in plain words (its own name when unknown)."""
    return CHANNEL_LABELS.get(group, group)


def format_count(value: int | float) -> str:
    """12,345; a median between two counts keeps its half: 0.5."""
    if value != round(value):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def format_money(value: float) -> str:
    """1,153,214 in the reporting currency: whole units, or cents below 100."""
    if abs(value) < 100 and value != round(value):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def format_rate(value: float) -> str:
    """0.6311 → 63.1%."""
    return f"{100 * value:.1f}%"


def format_growth(value: float) -> str:
    """0.125 → +12.5%, −0.5 → −50.0%."""
    return f"{100 * value:+.1f}%".replace("-", "−")


def format_days(value: float) -> str:
    """49.43 → 49.4."""
    return f"{value:,.1f}"


def format_score(value: float) -> str:
    """82.7 (scores are rounded to one decimal by the engine)."""
    return f"{value:.1f}"


def format_kpi(kind: Kind, value: float | None) -> str:
    """A KPI value as the report shows it; an em dash for null."""
    if value is None:
        return NONE_TEXT
    match kind:
        case "count":
            return format_count(value)
        case "money":
            return format_money(value)
        case "money_per_day":
            return format_money(value)
        case "rate":
            return format_rate(value)
        case "growth":
            return format_growth(value)
        case "days":
            return format_days(value)
        case "score":
            return format_days(value)

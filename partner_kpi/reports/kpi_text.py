"""The words and number formats of the HTML report.

Each KPI's label, explanation and kind come from ``kpi_engine.catalogue``; this
module says how a kind of value is shown and names the score components, the
channel groups and the tiers' colours in plain words.
"""

from __future__ import annotations

from kpi_engine import KPIS, TIERS, Kind

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

#: One colour per tier, best tier first.
TIER_COLOURS: dict[str, str] = dict(
    zip(TIERS, ("#5b6b8c", "#c9a227", "#9aa5b1", "#b0713a"), strict=True)
)
FALLBACK_COLOUR = "#7f7f7f"

NONE_TEXT = "—"


def component_label(name: str, *, short: bool = False) -> str:
    """A score component in plain words: a KPI given a weight (scoring.weights) by its
    catalogue label, said lower-is-better where it is; its own name when unknown."""
    labels = COMPONENT_SHORT_LABELS if short else COMPONENT_LABELS
    if name in labels or name not in KPIS:
        return labels.get(name, name)
    kpi = KPIS[name]
    label = kpi.label[:1].lower() + kpi.label[1:]
    return label if short or kpi.direction != "lower" else f"{label} (lower is better)"


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
    """A numeric KPI value as the report shows it; an em dash for null."""
    if value is None:
        return NONE_TEXT
    match kind.name:
        case "count":
            return format_count(value)
        case "money" | "money_per_day":
            return format_money(value)
        case "rate":
            return format_rate(value)
        case "growth":
            return format_growth(value)
        case "days" | "score" | "average":
            return format_days(value)
    raise ValueError(f"no number format for a KPI of kind {kind.name!r}")

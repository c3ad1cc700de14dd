"""The report's charts as plotly figures, returned as plain JSON-ready dicts.

Each builder makes a ``plotly.graph_objects.Figure`` (so plotly validates every
property) and returns ``{"data", "layout", "config"}`` as plain Python values, which
the page embeds in its data block and draws with the inlined plotly.js. The overview
charts are whole figures; a scorecard's charts are templates the browser fills.

Plotly draws text (tick labels, hover text, legends) through its own small HTML
dialect, which decodes ``&lt;`` and friends: every CRM-supplied string that goes into
a chart passes through :func:`plot_text` so it shows literally, never as markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from kpi_engine import PartnerScore, TierThresholds
from partner_kpi.reports.kpi_text import (
    FALLBACK_COLOUR,
    TIER_COLOURS,
    channel_label,
    component_label,
    format_money,
)

Figure = dict[str, Any]

#: Width of one bar of the score distribution, in score points.
SCORE_BIN = 5
#: Names listed in the hover text of one bar of the score distribution.
HOVER_NAMES = 10

PARTNER_COLOUR = "#1f6fb2"
PORTFOLIO_COLOUR = "#b7c4cf"
STRONG_COLOUR = "#2e7d32"
WEAK_COLOUR = "#c62828"
NEUTRAL_COLOUR = "#90a4ae"
#: Decimals a scorecard's stage chart shows of a day count (its text and hover text).
STAGE_DAY_DECIMALS = 1

_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}


def plot_text(value: object) -> str:
    """A string for plotly's text dialect that shows literally: & < > as entities."""
    return html.escape(str(value), quote=False)


def tier_colour(tier: str) -> str:
    return TIER_COLOURS.get(tier, FALLBACK_COLOUR)


def _layout(title: str, *, height: int, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": "none",
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "font": _FONT,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hoverlabel": {"align": "left"},
    }
    layout.update(extra)
    return layout


def _figure(data: Sequence[Any], layout: dict[str, Any]) -> Figure:
    fig = go.Figure(data=list(data), layout=layout)
    spec: Figure = json.loads(fig.to_json())
    spec["config"] = dict(_CONFIG)
    return spec


def _threshold_shapes(
    thresholds: TierThresholds, *, axis: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Dashed lines (and their labels) at the lowest score of each tier."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for tier, value in thresholds.floors():
        line = {"color": tier_colour(tier), "dash": "dot", "width": 1}
        if axis == "x":
            shapes.append(
                {"type": "line", "xref": "x", "yref": "paper", "x0": value, "x1": value}
                | {"y0": 0, "y1": 1, "line": line}
            )
            notes.append(
                {"x": value, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom"}
                | {"text": f"{tier} ≥ {value:g}", "showarrow": False, "font": {"size": 10}}
            )
        else:
            shapes.append(
                {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1}
                | {"y0": value, "y1": value, "line": line}
            )
            notes.append(
                {"x": 1, "y": value, "xref": "paper", "yref": "y", "xanchor": "right"}
                | {"yanchor": "bottom", "text": f"{tier} ≥ {value:g}", "showarrow": False}
                | {"font": {"size": 10}}
            )
    return shapes, notes


def _names_hover(names: Sequence[str]) -> str:
    shown = "<br>".join(plot_text(name) for name in names[:HOVER_NAMES])
    if len(names) > HOVER_NAMES:
        shown += f"<br>… and {len(names) - HOVER_NAMES:,} more"
    return shown


def score_distribution(
    partners: Sequence[PartnerScore], thresholds: TierThresholds, tiers: Sequence[str]
) -> Figure:
    """Partners per 5-point score band, stacked by tier, with the tier thresholds marked."""
    bins = 100 // SCORE_BIN
    centres = [SCORE_BIN * i + SCORE_BIN / 2 for i in range(bins)]
    labels = [f"{SCORE_BIN * i}–{SCORE_BIN * (i + 1)}" for i in range(bins)]
    traces = []
    for tier in tiers:
        names: list[list[str]] = [[] for _ in range(bins)]
        for score in partners:
            if score.tier == tier:
                names[min(int(score.score // SCORE_BIN), bins - 1)].append(score.partner_name)
        traces.append(
            go.Bar(
                name=plot_text(tier),
                x=centres,
                y=[len(n) for n in names],
                width=SCORE_BIN * 0.95,
                marker={"color": tier_colour(tier)},
                customdata=labels,
                hovertext=[_names_hover(n) for n in names],
                hovertemplate="score %{customdata}: %{y} partner(s)<br>%{hovertext}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    shapes, notes = _threshold_shapes(thresholds, axis="x")
    layout = _layout(
        "Score distribution (partners per 5-point band)",
        height=320,
        barmode="stack",
        xaxis={"title": {"text": "score"}, "range": [0, 100], "dtick": 10},
        yaxis={"title": {"text": "partners"}, "rangemode": "tozero"},
        shapes=shapes,
        annotations=notes,
        legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
        margin={"l": 60, "r": 20, "t": 60, "b": 80},
    )
    return _figure(traces, layout)


def tier_counts(counts: Mapping[str, int]) -> Figure:
    """One bar per tier, best tier first."""
    tiers = list(counts)
    bar = go.Bar(
        x=[plot_text(t) for t in tiers],
        y=[counts[t] for t in tiers],
        text=[f"{counts[t]:,}" for t in tiers],
        textposition="outside",
        marker={"color": [tier_colour(t) for t in tiers]},
        hovertemplate="%{x}: %{y} partner(s)<extra></extra>",
    )
    layout = _layout(
        "Partners per tier",
        height=320,
        yaxis={"title": {"text": "partners"}, "rangemode": "tozero"},
        xaxis={"type": "category"},
    )
    return _figure([bar], layout)


def portfolio_channel_mix(partners: Sequence[PartnerScore], groups: Sequence[str]) -> Figure:
    """Won amount of all scored partners per channel group."""
    amounts = [0.0] * len(groups)
    counts = [0] * len(groups)
    for score in partners:
        for i, group in enumerate(groups):
            figures = score.kpis.channels.get(group)
            if figures is not None:
                amounts[i] += figures.won_amount
                counts[i] += figures.won_count
    bar = go.Bar(
        x=[plot_text(channel_label(g)) for g in groups],
        y=amounts,
        text=[format_money(a) for a in amounts],
        textposition="outside",
        customdata=[f"{c:,}" for c in counts],
        marker={"color": PARTNER_COLOUR},
        hovertemplate="%{x}: won amount %{text} in %{customdata} deal(s)<extra></extra>",
    )
    layout = _layout(
        "Won amount per channel group (all partners)",
        height=320,
        yaxis={"title": {"text": "won amount"}, "rangemode": "tozero"},
        xaxis={"type": "category"},
    )
    return _figure([bar], layout)


@dataclass(frozen=True)
class TierTrendRun:
    """One run of the tier-count trend: its axis label and partners per tier."""

    label: str
    counts: Mapping[str, int]


def tier_trend(runs: Sequence[TierTrendRun], tiers: Sequence[str]) -> Figure:
    """Partners per tier in each run, stacked, oldest run first."""
    labels = [plot_text(run.label) for run in runs]
    traces = [
        go.Bar(
            name=plot_text(tier),
            x=labels,
            y=[run.counts.get(tier, 0) for run in runs],
            marker={"color": tier_colour(tier)},
            hovertemplate="%{x}: %{y} partner(s)<extra>%{fullData.name}</extra>",
        )
        for tier in tiers
    ]
    layout = _layout(
        "Partners per tier, run by run",
        height=320,
        barmode="stack",
        xaxis={"type": "category", "title": {"text": "run (as of)"}},
        yaxis={"title": {"text": "partners"}},
        legend={"orientation": "h", "y": -0.3, "traceorder": "normal"},
        margin={"l": 60, "r": 20, "t": 40, "b": 90},
    )
    return _figure(traces, layout)


# -- a scorecard's charts: one template each, filled in the browser ------------------------
#
# A scorecard's charts differ from partner to partner only in their data arrays, so the
# page holds each chart once, as a template with empty arrays, and the page's script
# fills in the opened partner's arrays from the data block (see html_script.py).


def component_template(weights: Mapping[str, float], components: Sequence[str]) -> Figure:
    """Where a partner stands on each score component; the script sets x (percentiles,
    in reversed component order), text and the bar colours."""
    names = list(reversed(components))  # plotly draws the first category at the bottom
    bar = go.Bar(
        orientation="h",
        y=[component_label(n, short=True) for n in names],
        x=[0] * len(names),
        text=[""] * len(names),
        textposition="auto",
        marker={"color": [NEUTRAL_COLOUR] * len(names)},
        customdata=[[component_label(n), f"{weights.get(n, 0.0):g}"] for n in names],
        hovertemplate="%{customdata[0]}: percentile %{x} (weight %{customdata[1]})<extra></extra>",
    )
    line = {"type": "line", "xref": "x", "yref": "paper", "x0": 50, "x1": 50, "y0": 0}
    layout = _layout(
        "Score components: percentile among all partners (dotted line: median partner)",
        height=300,
        xaxis={"range": [0, 100], "title": {"text": "percentile"}},
        yaxis={"type": "category", "automargin": True},
        shapes=[line | {"y1": 1, "line": {"dash": "dot", "color": "#555", "width": 1}}],
        margin={"l": 10, "r": 20, "t": 40, "b": 45},
    )
    return _figure([bar], layout)


def channel_template(groups: Sequence[str], portfolio_shares: Sequence[float]) -> Figure:
    """A partner's won amount per channel group as shares, next to all partners' shares;
    the script sets the partner's y and hover text."""
    labels = [plot_text(channel_label(g)) for g in groups]
    mine = go.Bar(
        name="this partner",
        x=labels,
        y=[0.0] * len(groups),
        marker={"color": PARTNER_COLOUR},
        hovertext=[""] * len(groups),
        hovertemplate="%{x}: %{y}% of won amount<br>%{hovertext}<extra></extra>",
    )
    everyone = go.Bar(
        name="all partners",
        x=labels,
        y=[round(100 * s, 1) for s in portfolio_shares],
        marker={"color": PORTFOLIO_COLOUR},
        hovertemplate="%{x}: %{y}% of all partners' won amount<extra></extra>",
    )
    layout = _layout(
        "Channel mix: share of won amount",
        height=280,
        barmode="group",
        xaxis={"type": "category"},
        yaxis={"title": {"text": "% of won amount"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 40, "b": 70},
    )
    return _figure([mine, everyone], layout)


def stage_template() -> Figure:
    """Mean days a partner's closed deals spent in each stage, against the median partner;
    the script sets both traces' x (the partner's stages) and y."""
    bar = go.Bar(
        name="this partner",
        x=[],
        y=[],
        texttemplate=f"%{{y:,.{STAGE_DAY_DECIMALS}f}}",
        textposition="inside",
        marker={"color": PARTNER_COLOUR},
        hovertemplate=f"%{{x}}: %{{y:.{STAGE_DAY_DECIMALS}f}} days on average<extra></extra>",
    )
    median = go.Scatter(
        name="median partner",
        x=[],
        y=[],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 28, "color": "#333", "line": {"width": 2}},
        hovertemplate=f"%{{x}}: median partner %{{y:.{STAGE_DAY_DECIMALS}f}} days<extra></extra>",
    )
    layout = _layout(
        "Days in each stage (closed deals)",
        height=280,
        xaxis={"type": "category"},
        yaxis={"title": {"text": "days"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 40, "b": 70},
    )
    return _figure([bar, median], layout)


def trend_template(thresholds: TierThresholds) -> Figure:
    """A partner's score run by run, with the current tier thresholds; the script sets x
    (run labels), y (scores), customdata (tiers) and the marker colours."""
    line = go.Scatter(
        x=[],
        y=[],
        mode="lines+markers+text",
        texttemplate="%{y:.1f}",
        textposition="top center",
        customdata=[],
        marker={"color": [], "size": 9},
        line={"color": PARTNER_COLOUR},
        hovertemplate="%{x}: score %{y:.1f} (%{customdata})<extra></extra>",
    )
    shapes, notes = _threshold_shapes(thresholds, axis="y")
    layout = _layout(
        "Score run by run",
        height=260,
        xaxis={"type": "category"},
        yaxis={"range": [0, 105], "title": {"text": "score"}},
        shapes=shapes,
        annotations=notes,
        showlegend=False,
    )
    return _figure([line], layout)


def stage_days_shown(days: float) -> float:
    """``days`` rounded as the stage chart shows it: plotly's ``.1f`` is JavaScript's
    ``toFixed``, which rounds the float's exact value half away from zero, so the chart
    shows the same digits as for the unrounded value."""
    step = Decimal(1).scaleb(-STAGE_DAY_DECIMALS)
    return float(Decimal(days).quantize(step, rounding=ROUND_HALF_UP))


def channel_shares(score: PartnerScore, groups: Sequence[str]) -> list[float] | None:
    """The partner's share (%, one decimal) of its won amount per channel group; None when
    it won nothing."""
    figures = [score.kpis.channels.get(g) for g in groups]
    total = sum(f.won_amount for f in figures if f is not None)
    if total <= 0:
        return None
    return [0.0 if f is None else round(100 * f.won_amount / total, 1) for f in figures]

"""report.html's data block: every partner's figures as compact columns, from which the
page's script builds the ranked table and, when one is opened, a scorecard and its charts.

Python formats every number a reader sees (``kpi_text``), so the table and scorecards
show the same text as the summary; raw values travel only where the page computes with
them (sorting the key columns, placing a KPI bar, plotting). Repeated strings (tiers,
top channels, stages, runs) are sent once and referred to by index. A KPI that is null
for every partner because the CRM lacks its object (``funnel.Funnel``) sends no
per-partner values at all, only the object's note.

Numbers are written as short as they read the same to the script: a whole float as an
integer (``946392``, not ``946392.0``), a stage's days to the decimal its chart shows, a
count KPI whose every text is its value as written sends the values only (``text`` 0),
and a channel group with nothing won and no close rate sends 0 for the texts
``mix_empty`` holds once. So the bench's 5,000 partners with the funnel KPIs fill
2.7 MB, not 3.1.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpi_engine import KPIS, Kpi, PartnerScore, ScoringResult, ScoringSettings
from kpi_engine.components import CHANNEL_GROUPS
from partner_kpi.reports import charts
from partner_kpi.reports.funnel import Funnel
from partner_kpi.reports.kpi_text import (
    NONE_TEXT,
    channel_label,
    component_label,
    format_kpi,
    format_money,
    format_rate,
    format_score,
)

#: The ranked table's KPI columns after rank, partner, score, tier and drivers.
KEY_COLUMNS: tuple[str, ...] = (
    "deal_count",
    "won_amount",
    "close_rate",
    "pipeline_value",
    "sales_cycle_days",
)

#: A KPI against the portfolio median: its code in the data block, the bar's CSS class
#: and the words of the bar's tooltip.
VERDICTS: dict[str, tuple[str, str]] = {
    "b": ("better", "better than the median"),
    "w": ("worse", "worse than the median"),
    "e": ("even", "at the median"),
    "-": ("", "no value"),
}

NOTES: dict[str, str] = {
    "no_mix": "Channel mix: no won amount in the window.",
    "no_stages": (
        "Days in each stage: no deal of this partner closed in the window after moving "
        "through a stage."
    ),
}
TREND_NOTE_FIRST_RUN = "Score trend: appears after the second run."
TREND_NOTE_ONE_RUN = "Score trend: this partner was scored in one run only so far."


@dataclass(frozen=True)
class RunScores:
    """One scoring run as a scorecard's trend shows it: its axis label and each
    partner's score and tier."""

    label: str
    points: Mapping[str, tuple[float, str]]


def numeric_kpis() -> tuple[Kpi, ...]:
    """The KPIs a scorecard lists against the median: every number of the catalogue
    (top_channel and stage_days have their own lines)."""
    return tuple(kpi for kpi in KPIS if kpi.kind.numeric)


@dataclass(frozen=True)
class Portfolio:
    """Portfolio figures every scorecard compares against."""

    medians: Mapping[str, float | None]
    scales: Mapping[str, tuple[float, float]]
    stages: tuple[str, ...]
    stage_medians: Mapping[str, float]
    channel_shares: tuple[float, ...]

    @classmethod
    def of(
        cls,
        result: ScoringResult,
        stage_order: Sequence[str],
        columns: Mapping[str, Sequence[float | None]],
    ) -> Portfolio:
        """``columns``: each numeric KPI's values over the partners (:func:`kpi_columns`)."""
        medians: dict[str, float | None] = {}
        scales: dict[str, tuple[float, float]] = {}
        for name, column in columns.items():
            present = [v for v in column if v is not None]
            medians[name] = statistics.median(present) if present else None
            scales[name] = (min([0.0, *present]), max([0.0, *present]))
        rank = {stage: i for i, stage in enumerate(stage_order)}
        stage_days = [p.kpis.per_stage("stage_days") for p in result.partners]
        seen = {stage for days in stage_days for stage in days}
        stages = tuple(sorted(seen, key=lambda s: (rank.get(s, len(rank)), s)))
        stage_medians = {
            stage: statistics.median(days[stage] for days in stage_days if stage in days)
            for stage in stages
        }
        amounts = [
            sum(p.kpis.channels[g].won_amount for p in result.partners if g in p.kpis.channels)
            for g in CHANNEL_GROUPS
        ]
        total = sum(amounts)
        shares = tuple(a / total if total > 0 else 0.0 for a in amounts)
        return cls(medians, scales, stages, stage_medians, shares)


def kpi_columns(result: ScoringResult) -> dict[str, list[float | None]]:
    """Each numeric KPI's values over the partners, in rank order (counts stay ints)."""
    found = [p.kpis.values for p in result.partners]
    columns: dict[str, list[float | None]] = {}
    for kpi in numeric_kpis():
        column: list[float | None] = []
        for values in found:
            value = values[kpi.name]
            if value is not None and not isinstance(value, int | float):
                raise TypeError(f"{kpi.name} is not a number: {value!r}")
            column.append(value)
        columns[kpi.name] = column
    return columns


def competition_ranks(scores: Sequence[float]) -> list[int]:
    """1, 2, 2, 4: partners with equal scores share a rank (scores come sorted)."""
    ranks: list[int] = []
    for i, score in enumerate(scores):
        ranks.append(ranks[-1] if i and scores[i - 1] == score else i + 1)
    return ranks


class _Codes:
    """Strings sent once, each partner naming one by its index."""

    def __init__(self, known: Sequence[str] = ()) -> None:
        self.index: dict[str, int] = {}
        for value in known:
            self.code(value)

    def code(self, value: str) -> int:
        return self.index.setdefault(value, len(self.index))

    @property
    def values(self) -> list[str]:
        return list(self.index)


def _number(value: float) -> float:
    """A whole float as an int (``946392`` rather than ``946392.0`` in JSON): the same
    number to the page's script, two bytes shorter."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _values(kpi: Kpi, column: Sequence[float | None]) -> list[float | None]:
    """A KPI's values with the decimals its kind says carry meaning (never fewer than its
    text shows): enough to sort by and place a bar."""
    decimals = kpi.kind.decimals or 0
    return [None if v is None else _number(round(v, decimals)) for v in column]


def _texts(values: Sequence[float | None], texts: list[str]) -> list[str] | int:
    """The texts of a KPI over the partners, or 0 when each is its value as written (a
    count under 1,000 for every partner), which the script then writes itself."""
    written = all(type(v) is int and t == str(v) for v, t in zip(values, texts, strict=True))
    return 0 if written else texts


#: A channel group's [won amount, won deals, close rate] with nothing won and no closed
#: deal: sent once (``mix_empty``), each partner's such group as 0.
MIX_EMPTY = [format_money(0.0), f"{0:,}", NONE_TEXT]


def _position(value: float, scale: tuple[float, float]) -> float:
    low, high = scale
    span = high - low
    return round(100 * (value - low) / span, 2) if span > 0 else 0.0


def _verdict(kpi: Kpi, value: float | None, median: float | None) -> str:
    if value is None:
        return "-"
    if median is None or value == median:
        return "e"
    return "b" if (value > median) == (kpi.direction == "higher") else "w"


def _mix(score: PartnerScore) -> list[Any] | None:
    """[shares per channel group, per group [won amount, won deals, close rate], 0 for
    ``MIX_EMPTY`` or null for no deals]."""
    shares = charts.channel_shares(score, CHANNEL_GROUPS)
    if shares is None:
        return None
    pieces: list[list[str] | int | None] = []
    for group in CHANNEL_GROUPS:
        f = score.kpis.channels.get(group)
        if f is None:
            pieces.append(None)
            continue
        rate = NONE_TEXT if f.close_rate is None else format_rate(f.close_rate)
        piece = [format_money(f.won_amount), f"{f.won_count:,}", rate]
        pieces.append(0 if piece == MIX_EMPTY else piece)
    return [[_number(share) for share in shares], pieces]


@dataclass(frozen=True)
class PartnerData:
    """The data block, and the funnel section's portfolio figures it was built with (the
    page shows those in its summary too)."""

    block: dict[str, Any]
    funnel: Funnel


def partner_data(
    result: ScoringResult,
    *,
    settings: ScoringSettings,
    stage_order: Sequence[str],
    runs: Sequence[RunScores],
    scorecard_limit: int,
) -> PartnerData:
    """Everything the page's script needs for the table and the scorecards."""
    partners = result.partners
    kpis = numeric_kpis()
    values = kpi_columns(result)
    portfolio = Portfolio.of(result, stage_order, values)
    funnel = Funnel.of(values, portfolio.medians, result.portfolio.objects_missing)
    missing = funnel.missing_names
    index = {k.name: i for i, k in enumerate(kpis)}
    tiers = _Codes(list(result.portfolio.tier_counts))
    tops = _Codes()
    stage_index = {stage: i for i, stage in enumerate(portfolio.stages)}
    components = list(settings.weights)  # the eight of KPIS.md, then any KPI given a weight
    component_index = {name: i for i, name in enumerate(components)}
    trended = len(runs) >= 2
    columns: dict[str, list[Any]] = {
        key: []
        for key in ("id", "name", "rank", "score", "tier", "pct", "strong", "weak", "notes",
                    "top", "mix", "days", "trend")
    }  # fmt: skip
    columns["rank"] = competition_ranks([p.score for p in partners])
    for score in partners:
        top = score.kpis.text("top_channel")
        stage_days = score.kpis.per_stage("stage_days")
        points = [
            (i, *run.points[score.partner_id])
            for i, run in enumerate(runs)
            if score.partner_id in run.points
        ]
        columns["id"].append(score.partner_id)
        columns["name"].append(score.partner_name)
        columns["score"].append(format_score(score.score))
        columns["tier"].append(tiers.code(score.tier))
        columns["pct"].append([round(100 * score.percentiles.get(c, 0.0)) for c in components])
        columns["strong"].append([component_index[c] for c in score.drivers.strong])
        columns["weak"].append([component_index[c] for c in score.drivers.weak])
        columns["notes"].append(list(score.notes))
        columns["top"].append(-1 if top is None else tops.code(f"{channel_label(top)} ({top})"))
        columns["mix"].append(_mix(score))
        columns["days"].append(
            [
                [stage_index[s], _number(charts.stage_days_shown(stage_days[s]))]
                for s in portfolio.stages
                if s in stage_days
            ]
            or None
        )
        columns["trend"].append(
            [[i, _number(value), tiers.code(tier)] for i, value, tier in points]
            if trended and len(points) >= 2
            else None
        )
    # per numeric KPI (catalogue order), over the partners: the text shown (0: the value
    # as written), the value and the verdict; null, null and "" for a KPI of an object
    # the CRM lacks
    sent = {k.name: _values(k, values[k.name]) for k in kpis if k.name not in missing}
    columns["text"] = [
        _texts(sent[k.name], [format_kpi(k.kind, v) for v in values[k.name]])
        if k.name in sent
        else None
        for k in kpis
    ]
    columns["value"] = [sent.get(k.name) for k in kpis]
    columns["verdict"] = [
        "".join(_verdict(k, v, portfolio.medians[k.name]) for v in values[k.name])
        if k.name not in missing
        else ""
        for k in kpis
    ]
    block = {
        "partners": columns,
        "listed": min(scorecard_limit, len(partners)),
        "tiers": [[t, charts.tier_colour(t), charts.plot_text(t)] for t in tiers.values],
        "kpis": [
            {
                "name": k.name,
                "label": k.label,
                "meaning": k.meaning,
                "empty": f"empty: {k.null_note}" if k.null_note else "",
                "median": format_kpi(k.kind, portfolio.medians[k.name]),
                "tick": (
                    None
                    if (m := portfolio.medians[k.name]) is None
                    else _position(m, portfolio.scales[k.name])
                ),
                "scale": list(portfolio.scales[k.name]),
                "lower": k.direction == "lower",
                "funnel": k.funnel,
            }
            for k in kpis
        ],
        # the objects the CRM lacks: [stream, note, the KPIs it leaves empty]
        "missing": [[m.stream, m.note, [index[k.name] for k in m.kpis]] for m in funnel.missing],
        "key": [[k.name for k in kpis].index(name) for name in KEY_COLUMNS],
        "components": [
            [name, component_label(name), component_label(name, short=True)] for name in components
        ],
        "colours": {
            "strong": charts.STRONG_COLOUR,
            "weak": charts.WEAK_COLOUR,
            "neutral": charts.NEUTRAL_COLOUR,
        },
        "verdicts": VERDICTS,  # partners.verdict: per KPI a string of one code per partner
        "mix_empty": MIX_EMPTY,
        "tops": tops.values,
        "stages": [charts.plot_text(s) for s in portfolio.stages],
        "stage_medians": [
            _number(charts.stage_days_shown(portfolio.stage_medians[s])) for s in portfolio.stages
        ],
        "runs": [charts.plot_text(run.label) for run in runs],
        "notes": {**NOTES, "trend": TREND_NOTE_ONE_RUN if trended else TREND_NOTE_FIRST_RUN},
        "charts": {
            "components": charts.component_template(settings.weights, components),
            "channels": charts.channel_template(CHANNEL_GROUPS, portfolio.channel_shares),
            "stages": charts.stage_template(),
            "trend": charts.trend_template(settings.tiers),
        },
    }
    return PartnerData(block, funnel)

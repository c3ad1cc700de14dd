"""report.html: one self-contained page for a channel manager, readable offline.

The page holds a summary (window, tier counts, portfolio totals, the funnel, customers
and service KPIs over the portfolio, the "(no partner)" bucket, score distribution,
tiers, channel mix), the trend against earlier runs when the store has them, the ranked
table of every partner (searchable, sortable, filtered by tier, any KPI as an added
column), and a scorecard per partner (KPIs against the portfolio median, then the
funnel, customers and service KPIs likewise, drivers in plain words, score components,
channel mix, stage durations, score run by run).

Size: every partner's figures sit in one compact JSON data block (``partner_data``);
the page's script builds the table from it a page of rows at a time, and a scorecard
and its charts only when it is opened. plotly.js (about 4.6 MB) is inlined once. So
the page grows by a few hundred bytes per partner and opens in Chromium in under 2 s at
5,000 partners (first paint about 0.1 s; ``bench/e2e.py`` measures it).

Safety: the server-rendered parts go through Jinja with autoescaping; the data block
is JSON with ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes, so no string can end its
script element; the script puts CRM strings into the page as text only
(``textContent``, attributes), and chart text passes through ``charts.plot_text`` so
plotly shows it literally. A Content-Security-Policy allows only the page's own two
scripts (by hash) and no network at all.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import jinja2
import plotly  # type: ignore[import-untyped]
from markupsafe import Markup
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from kpi_engine import (
    KPIS,
    NO_PARTNER,
    TIERS,
    PartnerKpis,
    ScoringResult,
    ScoringSettings,
)
from kpi_engine.components import CHANNEL_GROUPS
from partner_kpi.reports import charts
from partner_kpi.reports.funnel import FunnelFigure, MissingObject, objects_in_words
from partner_kpi.reports.html_page import STYLE, TEMPLATE
from partner_kpi.reports.html_script import SCRIPT
from partner_kpi.reports.kpi_text import (
    NONE_TEXT,
    channel_label,
    component_label,
    format_count,
    format_kpi,
    format_money,
    format_rate,
    format_score,
)
from partner_kpi.reports.partner_data import KEY_COLUMNS, RunScores, numeric_kpis, partner_data
from quality import RULES, QualityCheck

#: Scorecards listed (collapsed) by default, best partners first; any other partner's
#: opens from its name in the ranked table.
SCORECARD_LIMIT = 200
#: Movers listed each way (up and down) in the trend section.
MOVERS = 5
#: Records the data-quality section lists; quality.csv holds every one.
QUALITY_ROWS = 20

THIS_RUN = "this run"


@dataclass(frozen=True)
class ScorePoint:
    """One partner's score in one stored run: what the trend is drawn from."""

    run_id: str
    as_of: date
    partner_id: str
    score: float
    tier: str


def write_report_html(
    result: ScoringResult,
    path: Path,
    *,
    settings: ScoringSettings,
    source: dict[str, object],
    history: Sequence[ScorePoint] = (),
    stage_order: Sequence[str] = (),
    run_id: str | None = None,
    scorecard_limit: int = SCORECARD_LIMIT,
    quality: QualityCheck | None = None,
) -> None:
    """Write report.html for ``result``.

    ``history`` holds the points of earlier runs (the store's score history); this
    run is added as the latest one, and points whose run id is ``run_id`` (this run,
    if the store already holds it) are not counted twice. ``stage_order`` is the
    pipeline's stage order for the stage charts. ``quality`` adds the data-quality section.
    ``scorecard_limit`` scorecards are listed up front; any other opens from the table.
    """
    html = render_report_html(
        result,
        settings=settings,
        source=source,
        history=history,
        stage_order=stage_order,
        run_id=run_id,
        scorecard_limit=scorecard_limit,
        quality=quality,
    )
    path.write_text(html, encoding="utf-8")


def render_report_html(
    result: ScoringResult,
    *,
    settings: ScoringSettings,
    source: Mapping[str, object],
    history: Sequence[ScorePoint] = (),
    stage_order: Sequence[str] = (),
    run_id: str | None = None,
    scorecard_limit: int = SCORECARD_LIMIT,
    quality: QualityCheck | None = None,
) -> str:
    """The page of :func:`write_report_html` as a string."""
    if scorecard_limit < 0:
        raise ValueError(f"scorecard_limit must be >= 0, got {scorecard_limit}")
    page = _page(
        result,
        settings=settings,
        source=source,
        runs=_runs(result, history, run_id),
        stage_order=stage_order,
        scorecard_limit=scorecard_limit,
        quality=None if quality is None else _quality(quality, result),
    )
    plotly_js = _plotly_js()
    return _template().render(
        page=page,
        data=Markup(script_json(page.data)),
        style=Markup(STYLE),
        plotly_js=Markup(plotly_js),
        script=Markup(SCRIPT),
        plotly_version=plotly.__version__,
        csp=_content_security_policy(plotly_js, SCRIPT),
    )


# -- the page's parts --------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    figure: charts.Figure


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str


@dataclass(frozen=True)
class TierTile:
    name: str
    count: int
    colour: str
    rule: str


@dataclass(frozen=True)
class Mover:
    name: str
    partner_id: str
    before: str
    now: str
    change: str
    tiers: str


@dataclass(frozen=True)
class Trend:
    runs: int
    first: str
    last: str
    previous: str
    chart: Chart
    movers: tuple[Mover, ...]


@dataclass(frozen=True)
class Run:
    """One scoring run of the trend: its id, date, axis label and scores by partner."""

    run_id: str
    as_of: date
    label: str
    points: Mapping[str, tuple[float, str]]
    #: this run (the result being reported), not one from the history
    current: bool = False


@dataclass(frozen=True)
class ColumnHead:
    #: the KPI's place in the data block's ``kpis``
    index: int
    label: str
    meaning: str


@dataclass(frozen=True)
class ColumnGroup:
    """KPIs the ranked table can add as a column, under one heading of its menu."""

    label: str
    columns: tuple[ColumnHead, ...]


@dataclass(frozen=True)
class GlossaryItem:
    name: str
    label: str
    meaning: str
    null_when: str = ""
    #: the CRM objects beyond opportunities it reads, in words ("" for none)
    reads: str = ""


@dataclass(frozen=True)
class WeightItem:
    label: str
    weight: str


@dataclass(frozen=True)
class Charts:
    distribution: Chart
    tiers: Chart
    channels: Chart


@dataclass(frozen=True)
class RuleCount:
    rule: str
    meaning: str
    excluded: int
    kept: int


@dataclass(frozen=True)
class QualityRow:
    record_id: str
    partner: str
    rule: str
    value: str
    action: str
    where: str


@dataclass(frozen=True)
class QualitySection:
    excluded: int
    kept: int
    bound: str
    rules: tuple[RuleCount, ...]
    rows: tuple[QualityRow, ...]
    more: int


@dataclass(frozen=True)
class Page:
    as_of: str
    window_start: str
    window_days: int
    partner_count: int
    source: tuple[tuple[str, str], ...]
    tiers: tuple[TierTile, ...]
    totals: tuple[Tile, ...]
    no_partner_name: str
    no_partner: tuple[Tile, ...]
    unlisted_count: int
    charts: Charts
    trend: Trend | None
    trend_note: str
    key_columns: tuple[ColumnHead, ...]
    column_choice: tuple[ColumnGroup, ...]
    tier_names: tuple[str, ...]
    scorecard_note: str
    #: the data block: every partner's figures and every chart's figure (partner_data)
    data: Mapping[str, object]
    component_count: int
    prior_strength: str
    tier_rules: str
    weights: tuple[WeightItem, ...]
    glossary: tuple[GlossaryItem, ...]
    channel_groups: tuple[GlossaryItem, ...]
    #: the funnel, customers and service KPIs over the portfolio, and the objects the
    #: CRM lacks (both empty when the catalogue has no such KPI)
    funnel: tuple[FunnelFigure, ...] = ()
    funnel_missing: tuple[MissingObject, ...] = ()
    #: the objects they read, in words: "leads, cases and line items"
    funnel_objects: str = ""
    quality: QualitySection | None = None


def _page(
    result: ScoringResult,
    *,
    settings: ScoringSettings,
    source: Mapping[str, object],
    runs: Sequence[Run],
    stage_order: Sequence[str],
    scorecard_limit: int,
    quality: QualitySection | None = None,
) -> Page:
    partners = result.partners
    portfolio = result.portfolio
    tiers = list(portfolio.tier_counts)
    thresholds = settings.tiers
    rules = _tier_rules(settings)
    overview = Charts(
        distribution=Chart(
            "chart-distribution",
            "Score distribution",
            charts.score_distribution(partners, thresholds, tiers),
        ),
        tiers=Chart("chart-tiers", "Partners per tier", charts.tier_counts(portfolio.tier_counts)),
        channels=Chart(
            "chart-channels",
            "Won amount per channel group",
            charts.portfolio_channel_mix(partners, CHANNEL_GROUPS),
        ),
    )
    trend = _trend(result, runs, tiers)
    built = partner_data(
        result,
        settings=settings,
        stage_order=stage_order,
        runs=[RunScores(run.label, run.points) for run in runs],
        scorecard_limit=scorecard_limit,
    )
    data = built.block
    shown = [overview.distribution, overview.tiers, overview.channels]
    if trend is not None:
        shown.append(trend.chart)
    data["overview"] = {chart.id: chart.figure for chart in shown}
    listed = min(scorecard_limit, len(partners))
    if listed == len(partners):
        scorecard_note = (
            "One scorecard per partner, best score first. Open one to see its KPIs "
            "against the portfolio median and its charts."
        )
    else:
        scorecard_note = (
            f"Scorecards of the best {listed:,} of {len(partners):,} partners are listed "
            "here; a partner's name in the ranking opens any other's. Every partner's KPIs "
            "are also in scores.csv and scores.json beside this file."
        )
    window_start = result.as_of - timedelta(days=result.window_days - 1)
    return Page(
        as_of=result.as_of.isoformat(),
        window_start=window_start.isoformat(),
        window_days=result.window_days,
        partner_count=len(partners),
        source=tuple((str(key), _source_value(value)) for key, value in source.items()),
        tiers=tuple(
            TierTile(t, portfolio.tier_counts[t], charts.tier_colour(t), rules.get(t, ""))
            for t in tiers
        ),
        totals=_totals(result),
        no_partner_name=NO_PARTNER,
        no_partner=_no_partner_tiles(portfolio.no_partner),
        unlisted_count=portfolio.unlisted_partner_opportunity_count,
        charts=overview,
        trend=trend,
        trend_note=(
            "The trend appears after the second run: the store holds no earlier run to "
            "compare this one with."
        ),
        key_columns=_columns(KEY_COLUMNS),
        column_choice=_column_choice(built.funnel.missing_names),
        tier_names=tuple(tiers),
        scorecard_note=scorecard_note,
        data=data,
        component_count=len(settings.weights),
        prior_strength=f"{settings.prior_strength:g}",
        tier_rules="; ".join(f"{tier} {rules[tier]}" for tier in rules),
        weights=tuple(
            WeightItem(component_label(name), f"{weight:g}")
            for name, weight in settings.weights.items()
        ),
        glossary=tuple(
            GlossaryItem(
                kpi.name,
                kpi.label,
                kpi.meaning,
                kpi.null_note,
                objects_in_words(kpi.sources),
            )
            for kpi in KPIS
        ),
        channel_groups=_channel_groups(settings),
        funnel=built.funnel.figures,
        funnel_missing=built.funnel.missing,
        funnel_objects=objects_in_words(built.funnel.streams),
        quality=quality,
    )


def _columns(names: Sequence[str]) -> tuple[ColumnHead, ...]:
    """The ranked table's heads of these numeric KPIs."""
    index = {kpi.name: i for i, kpi in enumerate(numeric_kpis())}
    return tuple(ColumnHead(index[n], KPIS[n].label, KPIS[n].meaning) for n in names)


def _column_choice(missing: frozenset[str]) -> tuple[ColumnGroup, ...]:
    """Every numeric KPI the table does not show (nor one of an object the CRM lacks),
    opportunity KPIs first, then those of the funnel, customers and service."""
    rest = [k for k in numeric_kpis() if k.name not in KEY_COLUMNS and k.name not in missing]
    groups = (
        ColumnGroup("Opportunities", _columns([k.name for k in rest if not k.funnel])),
        ColumnGroup("Funnel, customers and service", _columns([k.name for k in rest if k.funnel])),
    )
    return tuple(group for group in groups if group.columns)


def _quality(check: QualityCheck, result: ScoringResult) -> QualitySection:
    """The data-quality section: counts per rule and the first records caught."""
    names = {p.partner_id: p.partner_name for p in result.partners}
    found = {(rule, action): n for rule, action, n in
             check.table.group_by("rule", "action").len().iter_rows()}  # fmt: skip
    counts = [
        RuleCount(
            rule.name,
            rule.meaning,
            excluded=found.get((rule.name, "exclude"), 0),
            kept=found.get((rule.name, "keep"), 0),
        )
        for rule in RULES
    ]
    rows = tuple(
        QualityRow(
            f.record_id,
            names.get(f.partner_id or "", f.partner_id or NO_PARTNER),
            f.rule,
            f.value,
            f.action,
            f"{f.file}:{f.line}" if f.file else "",
        )
        for f in check.first(QUALITY_ROWS)
    )
    bound = "none" if check.amount_bound is None else format_money(check.amount_bound)
    return QualitySection(
        excluded=check.excluded_count,
        kept=check.kept_count,
        bound=bound,
        rules=tuple(c for c in counts if c.excluded or c.kept),
        rows=rows,
        more=max(0, check.table.height - QUALITY_ROWS),
    )


def _tier_rules(settings: ScoringSettings) -> dict[str, str]:
    """'score ≥ 75' for each tier but the last, 'score < 25' for the last."""
    floors = settings.tiers.floors()
    rules = {tier: f"score ≥ {floor:g}" for tier, floor in floors}
    rules[TIERS[-1]] = f"score < {floors[-1][1]:g}"
    return rules


def _source_value(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _totals(result: ScoringResult) -> tuple[Tile, ...]:
    p = result.portfolio
    return (
        Tile("opportunity_count", "opportunities", format_count(p.opportunity_count)),
        Tile("won_count", "deals won", format_count(p.won_count)),
        Tile("won_amount", "won amount", format_money(p.won_amount)),
        Tile("pipeline_count", "open deals", format_count(p.pipeline_count)),
        Tile("pipeline_value", "pipeline value", format_money(p.pipeline_value)),
        Tile("close_rate", "close rate (all partners)", _maybe(format_rate, p.close_rate)),
        Tile("deal_success", "deal success (all partners)", _maybe(format_rate, p.deal_success)),
    )


#: The "(no partner)" bucket's KPIs shown in the summary.
NO_PARTNER_COLUMNS = ("deal_count", "won_amount", "pipeline_count", "pipeline_value", "close_rate")


def _no_partner_tiles(kpis: PartnerKpis) -> tuple[Tile, ...]:
    return tuple(
        Tile(name, KPIS[name].label.lower(), format_kpi(KPIS[name].kind, kpis.number(name)))
        for name in NO_PARTNER_COLUMNS
    )


def _maybe(fmt: Callable[[float], str], value: float | None) -> str:
    return NONE_TEXT if value is None else fmt(value)


def _channel_groups(settings: ScoringSettings) -> tuple[GlossaryItem, ...]:
    items = []
    for group in CHANNEL_GROUPS:
        sources = sorted(s for s, g in settings.channel_map.items() if g == group)
        if group == "other":
            text = "Any lead source not in the channel map."
            if sources:
                text += " Also: " + ", ".join(sources) + "."
        elif group == "unknown":
            text = "Deals whose lead source is empty."
            if sources:
                text += " Also: " + ", ".join(sources) + "."
        else:
            text = ("Lead sources: " + ", ".join(sources) + ".") if sources else "No lead source."
        items.append(GlossaryItem(group, channel_label(group), text))
    return tuple(items)


# -- trend -------------------------------------------------------------------------------


def _runs(result: ScoringResult, history: Sequence[ScorePoint], run_id: str | None) -> list[Run]:
    """The stored runs and this one by as-of date (this run after stored runs of its
    date; stored runs of one date in the history's order); each run's points by partner."""
    grouped: dict[str, dict[str, tuple[float, str]]] = {}
    dates: dict[str, date] = {}
    for point in history:
        if run_id is not None and point.run_id == run_id:
            continue
        grouped.setdefault(point.run_id, {})[point.partner_id] = (point.score, point.tier)
        dates.setdefault(point.run_id, point.as_of)
    current_id = run_id if run_id is not None else THIS_RUN
    keyed = [(rid, dates[rid], grouped[rid], False) for rid in grouped]
    keyed.append(
        (
            current_id,
            result.as_of,
            {p.partner_id: (p.score, p.tier) for p in result.partners},
            True,
        )
    )
    keyed.sort(key=lambda run: run[1])  # stable: history order, then this run, within a day
    day_count: dict[date, int] = {}
    for _, day, _, _ in keyed:
        day_count[day] = day_count.get(day, 0) + 1
    return [
        Run(
            rid,
            day,
            day.isoformat() if day_count[day] == 1 else f"{day} · {rid}",
            points,
            current,
        )
        for rid, day, points, current in keyed
    ]


def _trend(result: ScoringResult, runs: Sequence[Run], tiers: Sequence[str]) -> Trend | None:
    if len(runs) < 2:
        return None
    names = {p.partner_id: p.partner_name for p in result.partners}
    tier_runs = []
    for run in runs:
        counts: dict[str, int] = {}
        for _, tier in run.points.values():
            counts[tier] = counts.get(tier, 0) + 1
        tier_runs.append(charts.TierTrendRun(run.label, counts))
    extra = sorted({t for run in tier_runs for t in run.counts} - set(tiers))
    chart = charts.tier_trend(tier_runs, [*tiers, *extra])
    at = next(i for i, run in enumerate(runs) if run.current)
    current = runs[at]
    # movers against the run just before this one (none when this run is the oldest)
    previous = runs[at - 1] if at > 0 else None
    moves = [
        (current.points[pid][0] - before[0], pid, before, current.points[pid])
        for pid, before in ({} if previous is None else previous.points).items()
        if pid in current.points
    ]
    ups = sorted((m for m in moves if m[0] > 0), key=lambda m: (-m[0], m[1]))[:MOVERS]
    downs = sorted((m for m in moves if m[0] < 0), key=lambda m: (m[0], m[1]))[:MOVERS]
    movers = tuple(
        Mover(
            name=names.get(pid, pid),
            partner_id=pid,
            before=format_score(before[0]),
            now=format_score(now[0]),
            change=f"{delta:+.1f}".replace("-", "−"),
            tiers=now[1] if before[1] == now[1] else f"{before[1]} → {now[1]}",
        )
        for delta, pid, before, now in [*ups, *downs]
    )
    return Trend(
        runs=len(runs),
        first=runs[0].label,
        last=runs[-1].label,
        previous="" if previous is None else previous.label,
        chart=Chart("chart-tier-trend", "Partners per tier, run by run", chart),
        movers=movers,
    )


# -- page machinery ----------------------------------------------------------------------

_ENVIRONMENT = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@functools.cache
def _template() -> jinja2.Template:
    return _ENVIRONMENT.from_string(TEMPLATE)


@functools.cache
def _plotly_js() -> str:
    """plotly.js from the plotly package, to inline in a <script> element (checked once a
    process: it is 4.6 MB)."""
    source: str = get_plotlyjs()
    lowered = source.lower()
    if "</script" in lowered or "<!--" in lowered:
        raise RuntimeError("this plotly.js cannot be inlined: it contains '</script' or '<!--'")
    return source


#: What JSON may hold but a script element's text may not, each as its JSON escape, so
#: no string in the data can end the element (``</script``) or open a comment (``<!--``).
_SCRIPT_UNSAFE = (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027"),
                  ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))  # fmt: skip


def script_json(value: object) -> str:
    """Compact JSON to sit inside ``<script type="application/json">``: no spaces between
    tokens, non-ASCII as UTF-8, and nothing that could end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for unsafe, escape in _SCRIPT_UNSAFE:
        text = text.replace(unsafe, escape)
    return text


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.cache
def _content_security_policy(*scripts: str) -> str:
    """Only these inline scripts run, and the page loads nothing from anywhere."""
    hashes = " ".join(_sha256(s) for s in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
    )

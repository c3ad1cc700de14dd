"""The KPI engine against an independent DuckDB oracle, on the bundled maven-crm dataset.

The oracle is plain DuckDB SQL over the Arrow tables of the common schema,
written from the definitions in ../shared/design/KPIS.md alone: it shares no
code with ``kpi_engine`` (only the public ``score_partners`` and
``ScoringSettings`` are imported, to run the engine) and it uses none of the
engine's intermediate frames. Where KPIS.md leaves arithmetic to the
implementation, the oracle does it exactly: a percentile is kept as an integer
numerator over a common denominator, so ties in ``quality_score`` and the
rounding of the composite score ("halves away from zero") are decided on exact
values rather than on floating-point sums.

Every KPI column, every channel figure, the shrunk components, the
percentiles, the score and the tier of every partner are compared for several
``(as_of, window_days)`` settings, chosen so that both the current window W
and the prior window P hold won deals in some of them. A few facts that come
from the dataset's README, not from either implementation, anchor both.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import pytest

from connectors.seed import SeedDataset, read_seed
from core.schema import (
    ACTIVITY_ENTITIES,
    Call,
    CallOutcome,
    Lead,
    LineItem,
    Quote,
    opportunities_to_arrow,
    partners_to_arrow,
    stage_events_to_arrow,
)
from core.schema import Case as CaseRecord
from kpi_engine import Activity, ScoringSettings, score_partners
from sandbox.data import BUNDLED_DATASET

# The Maven CRM dataset as the package ships it.
DATASET = BUNDLED_DATASET

# Defaults of KPIS.md, restated here so that the oracle does not read them from the engine.
PRIOR_STRENGTH = 10
CHANNEL_MAP: dict[str, str] = {
    "Paid Search": "paid",
    "Paid Social": "paid",
    "Advertisement": "paid",
    "Web": "owned",
    "Email": "owned",
    "Webinar": "owned",
    "Content": "owned",
    "Partner Referral": "earned",
    "Referral": "earned",
    "Trade Show": "earned",
    "Word of mouth": "earned",
    "Public Relations": "earned",
}
CHANNEL_GROUPS = ("paid", "owned", "earned", "other", "unknown")
#: component -> True when higher is better; every default weight is 1
COMPONENTS: dict[str, bool] = {
    "avg_deal_size": True,
    "deal_count": True,
    "pipeline_value": True,
    "close_rate_adj": True,
    "deal_velocity": True,
    "quality_score": True,
    "deal_success_adj": True,
    "sales_cycle_days": False,
}
WEIGHTS: dict[str, int] = dict.fromkeys(COMPONENTS, 1)
TIERS: tuple[tuple[float, str], ...] = ((75.0, "Platinum"), (50.0, "Gold"), (25.0, "Silver"))

FLOAT_KPIS = (
    "won_amount",
    "avg_deal_size",
    "pipeline_value",
    "weighted_pipeline",
    "close_rate",
    "sales_cycle_days",
    "deal_velocity",
    "deal_success",
    "quality_score",
    "new_revenue",
    "won_amount_growth",
)
INT_KPIS = ("deal_count", "missing_amount_count", "pipeline_count")


class Case(NamedTuple):
    as_of: date
    window_days: int
    #: whether the prior window P holds won deals, so won_amount_growth is not null throughout
    prior_has_wins: bool


CASES = (
    Case(date(2017, 12, 31), 365, prior_has_wins=False),
    Case(date(2017, 9, 30), 180, prior_has_wins=True),
    Case(date(2017, 6, 30), 90, prior_has_wins=True),
    Case(date(2017, 12, 31), 45, prior_has_wins=True),
    Case(date(2017, 3, 31), 90, prior_has_wins=False),
)


@dataclass(frozen=True)
class Bundled:
    """The seed dataset, as records (for the engine) and as Arrow tables (for the oracle)."""

    records: SeedDataset
    partners: pa.Table
    opportunities: pa.Table
    stage_events: pa.Table

    def score(self, as_of: date, window_days: int) -> Any:
        """The engine's ScoringResult (typed Any: the test imports only the entry point)."""
        return score_partners(
            self.records.partners,
            self.records.opportunities,
            self.records.stage_events,
            as_of=as_of,
            settings=ScoringSettings(window_days=window_days),
            stage_defs=self.records.stage_defs,
        )


@pytest.fixture(scope="module")
def bundled() -> Bundled:
    data = read_seed(DATASET)
    return Bundled(
        records=data,
        partners=partners_to_arrow(data.partners),
        opportunities=opportunities_to_arrow(data.opportunities),
        stage_events=stage_events_to_arrow(data.stage_events),
    )


# --- the oracle --------------------------------------------------------------------------------

# One row per opportunity with the window facts of KPIS.md "Windows". W: A − L < date ≤ A,
# P: A − 2L < date ≤ A − L. A customer's first winning date: the smallest close_date of its
# won opportunities, any partner's; every win on that date is a first win.
FLAGGED_SQL = """
CREATE TEMP TABLE flagged AS
WITH last_entry AS (
    -- KPIS.md "Status as of A": the last stage entered on or before A
    SELECT e.opportunity_id, arg_max(e.stage, (e.entered_date, e.sequence)) AS stage
    FROM events e CROSS JOIN params p
    WHERE e.entered_date <= p.a
    GROUP BY e.opportunity_id
), at_a AS (
    -- an opportunity exists at A when created on or before it; closed by A keeps its
    -- status, else it is open at A with its last entered stage's probability (or, with
    -- none, its own when still open)
    SELECT o.* REPLACE (
        CASE WHEN o.status IN ('won', 'lost') AND o.close_date <= p.a THEN o.status
             ELSE 'open' END AS status,
        CASE WHEN o.status IN ('won', 'lost') AND o.close_date <= p.a THEN o.probability
             WHEN s.probability IS NOT NULL THEN s.probability
             WHEN o.status = 'open' THEN o.probability END AS probability
    )
    FROM opps o
    CROSS JOIN params p
    LEFT JOIN last_entry l ON l.opportunity_id = o.id
    LEFT JOIN stage_probability s ON s.stage = l.stage
    WHERE o.created_date <= p.a
), first_won AS (
    SELECT account_id, min(close_date) AS first_date
    FROM at_a
    WHERE status = 'won' AND account_id IS NOT NULL
    GROUP BY account_id
)
SELECT
    o.*,
    o.status = 'won' AND o.close_date > p.a - p.l AND o.close_date <= p.a AS won_w,
    o.status = 'lost' AND o.close_date > p.a - p.l AND o.close_date <= p.a AS lost_w,
    o.status = 'won' AND o.close_date > p.a - 2 * p.l AND o.close_date <= p.a - p.l AS won_p,
    o.created_date > p.a - p.l AND o.created_date <= p.a AS created_w,
    o.status = 'open' AND o.created_date <= p.a AS in_pipeline,
    coalesce(o.status = 'won' AND o.close_date = f.first_date, false) AS first_won_of_customer,
    CASE
        WHEN o.lead_source IS NULL THEN 'unknown'
        ELSE coalesce(m.grp, 'other')
    END AS channel
FROM at_a o
CROSS JOIN params p
LEFT JOIN first_won f ON f.account_id = o.account_id
LEFT JOIN channel_map m ON m.lead_source = o.lead_source
"""

# Per partner (every partner account, with or without opportunities): the counting KPIs.
KPIS_SQL = """
CREATE TEMP TABLE kpis AS
WITH agg AS (
    SELECT
        pa.id AS partner_id,
        pa.name AS partner_name,
        count(o.id) AS opportunity_count,
        count(*) FILTER (WHERE o.won_w) AS deal_count,
        coalesce(sum(o.amount) FILTER (WHERE o.won_w), 0.0) AS won_amount,
        count(*) FILTER (WHERE o.won_w AND o.amount IS NULL) AS missing_amount_count,
        count(o.amount) FILTER (WHERE o.won_w) AS won_with_amount,
        count(*) FILTER (WHERE o.in_pipeline) AS pipeline_count,
        coalesce(sum(o.amount) FILTER (WHERE o.in_pipeline), 0.0) AS pipeline_value,
        coalesce(sum(o.amount * o.probability) FILTER (WHERE o.in_pipeline), 0.0)
            AS weighted_pipeline,
        count(*) FILTER (WHERE o.won_w OR o.lost_w) AS closed_count,
        sum(o.close_date - o.created_date) FILTER (WHERE o.won_w) AS cycle_days_total,
        count(*) FILTER (WHERE o.created_w) AS created_count,
        count(*) FILTER (WHERE o.created_w AND o.status = 'won') AS created_won_count,
        coalesce(sum(o.amount) FILTER (WHERE o.won_w AND o.first_won_of_customer), 0.0)
            AS new_revenue,
        coalesce(sum(o.amount) FILTER (WHERE o.won_p), 0.0) AS won_amount_prior
    FROM partners pa
    LEFT JOIN flagged o ON o.partner_id = pa.id
    GROUP BY pa.id, pa.name
),
ratios AS (
    SELECT
        *,
        won_amount / nullif(won_with_amount, 0) AS avg_deal_size,
        deal_count / nullif(closed_count, 0) AS close_rate,
        cycle_days_total::DOUBLE / nullif(deal_count, 0) AS sales_cycle_days,
        created_won_count / nullif(created_count, 0) AS deal_success,
        (won_amount - won_amount_prior) / nullif(won_amount_prior, 0.0) AS won_amount_growth
    FROM agg
)
SELECT
    *,
    CASE
        WHEN sales_cycle_days > 0
            THEN pipeline_count * close_rate * avg_deal_size / sales_cycle_days
    END AS deal_velocity
FROM ratios
"""

# The shrinkage means m: rates of all partners together in W (unscored opportunities aside).
PORTFOLIO_SQL = """
CREATE TEMP TABLE portfolio AS
SELECT
    sum(deal_count) / nullif(sum(closed_count), 0) AS close_rate,
    sum(created_won_count) / nullif(sum(created_count), 0) AS deal_success
FROM kpis
"""

CHANNELS_SQL = """
SELECT
    pa.id AS partner_id,
    g.grp,
    count(o.id) FILTER (WHERE o.won_w) AS won_count,
    coalesce(sum(o.amount) FILTER (WHERE o.won_w), 0.0) AS won_amount,
    count(o.id) FILTER (WHERE o.won_w)
        / nullif(count(o.id) FILTER (WHERE o.won_w OR o.lost_w), 0) AS close_rate
FROM partners pa
CROSS JOIN channel_groups g
LEFT JOIN flagged o ON o.partner_id = pa.id AND o.channel = g.grp
GROUP BY pa.id, g.grp
"""

# Among the groups with a win in W: largest won amount, ties alphabetical.
TOP_CHANNEL_SQL = f"""
SELECT partner_id, arg_min(grp, (-won_amount, grp)) AS top_channel
FROM ({CHANNELS_SQL})
WHERE won_count > 0
GROUP BY partner_id
"""

# Over opportunities closed in W: events ordered by (entered_date, sequence); a row that repeats
# the stage before it is no entry; the time in a stage runs to the next entry; visits of one stage
# are summed per opportunity, then averaged over the opportunities of the partner. A stage that is
# never left has no next entry and so no value.
STAGE_DAYS_SQL = """
WITH closed AS (
    SELECT id, partner_id FROM flagged WHERE won_w OR lost_w
),
ordered AS (
    SELECT
        e.*,
        lag(e.stage) OVER (
            PARTITION BY e.opportunity_id ORDER BY e.entered_date, e.sequence, e.stage
        ) AS stage_before
    FROM events e
    WHERE e.opportunity_id IN (SELECT id FROM closed)
),
timed AS (
    SELECT
        opportunity_id,
        stage,
        lead(entered_date) OVER (
            PARTITION BY opportunity_id ORDER BY entered_date, sequence, stage
        ) - entered_date AS days
    FROM ordered
    WHERE stage_before IS DISTINCT FROM stage
),
per_opportunity AS (
    SELECT opportunity_id, stage, sum(days) AS days
    FROM timed
    WHERE days IS NOT NULL
    GROUP BY opportunity_id, stage
)
SELECT c.partner_id, po.stage, avg(po.days::DOUBLE) AS days
FROM per_opportunity po
JOIN closed c ON c.id = po.opportunity_id
GROUP BY c.partner_id, po.stage
"""


def pct_sql(source: str) -> str:
    """pct() of KPIS.md "Ranking" as an exact fraction ``num / den``, per (partner, metric).

    ``source`` has columns partner_id, metric, key (already negated where lower is better).
    pct = (count(v < x) + 0.5 (count(v = x) − 1)) / (n − 1), doubled top and bottom so that
    the numerator is an integer; a null key ranks below every non-null one and ties other nulls.
    """
    return f"""
    SELECT
        x.partner_id,
        x.metric,
        CASE WHEN n.n = 1 THEN 1 ELSE
            2 * count(*) FILTER (
                WHERE v.key < x.key OR (v.key IS NULL AND x.key IS NOT NULL)
            )
            + count(*) FILTER (WHERE v.key = x.key OR (v.key IS NULL AND x.key IS NULL))
            - 1
        END AS num,
        CASE WHEN n.n = 1 THEN 2 ELSE 2 * (n.n - 1) END AS den
    FROM ({source}) x
    JOIN ({source}) v ON v.metric = x.metric
    CROSS JOIN (SELECT count(*) AS n FROM partners) n
    GROUP BY x.partner_id, x.metric, n.n
    """


QUALITY_SQL = f"""
CREATE TEMP TABLE quality AS
SELECT
    partner_id,
    sum(num) AS key,
    100.0 * sum(num) / (2 * any_value(den)) AS quality_score
FROM ({
    pct_sql(
        "SELECT partner_id, 'deal_count' AS metric, deal_count::DOUBLE AS key FROM kpis "
        "UNION ALL SELECT partner_id, 'won_amount', won_amount FROM kpis"
    )
})
GROUP BY partner_id
"""

# Components; a partner without any opportunity has none of them (ranks last on every one).
COMPONENTS_SQL = """
CREATE TEMP TABLE components AS
WITH wide AS (
    SELECT
        k.partner_id,
        k.opportunity_count > 0 AS scored,
        k.avg_deal_size,
        k.deal_count::DOUBLE AS deal_count,
        k.pipeline_value,
        (k.deal_count + p.k * m.close_rate) / (k.closed_count + p.k) AS close_rate_adj,
        k.deal_velocity,
        q.quality_score,
        q.key AS quality_key,
        (k.created_won_count + p.k * m.deal_success) / (k.created_count + p.k)
            AS deal_success_adj,
        k.sales_cycle_days
    FROM kpis k
    JOIN quality q USING (partner_id)
    CROSS JOIN portfolio m
    CROSS JOIN params p
)
SELECT partner_id, metric, CASE WHEN scored THEN value END AS value,
    CASE WHEN scored THEN key END AS key
FROM (
    SELECT partner_id, scored, 'avg_deal_size' AS metric, avg_deal_size AS value,
        avg_deal_size AS key FROM wide
    UNION ALL SELECT partner_id, scored, 'deal_count', deal_count, deal_count FROM wide
    UNION ALL SELECT partner_id, scored, 'pipeline_value', pipeline_value, pipeline_value
        FROM wide
    UNION ALL SELECT partner_id, scored, 'close_rate_adj', close_rate_adj, close_rate_adj
        FROM wide
    UNION ALL SELECT partner_id, scored, 'deal_velocity', deal_velocity, deal_velocity FROM wide
    UNION ALL SELECT partner_id, scored, 'quality_score', quality_score, quality_key FROM wide
    UNION ALL SELECT partner_id, scored, 'deal_success_adj', deal_success_adj, deal_success_adj
        FROM wide
    UNION ALL SELECT partner_id, scored, 'sales_cycle_days', sales_cycle_days,
        -sales_cycle_days FROM wide
)
"""

PERCENTILES_SQL = f"""
CREATE TEMP TABLE percentiles AS
{pct_sql("SELECT partner_id, metric, key FROM components")}
"""

# score = 100 Σ w·pct / Σ w, rounded to one decimal with halves away from zero, computed on
# exact integers: score·10 = 1000 Σ w·num / (den Σ w), and scores are never negative.
SCORES_SQL = """
SELECT
    pc.partner_id,
    ((2000 * sum(w.w * pc.num) + any_value(pc.den) * sum(w.w))
        // (2 * any_value(pc.den) * sum(w.w))) / 10.0 AS score
FROM percentiles pc
JOIN weights w ON w.component = pc.metric
GROUP BY pc.partner_id
"""


@dataclass(frozen=True)
class Oracle:
    """What the oracle says, keyed by partner id."""

    kpis: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, tuple[int, float, float | None]]]
    top_channel: dict[str, str]
    stage_days: dict[str, dict[str, float]]
    components: dict[str, dict[str, float | None]]
    percentiles: dict[str, dict[str, float]]
    scores: dict[str, float]
    close_rate_m: float | None
    deal_success_m: float | None


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_oracle(bundled: Bundled, as_of: date, window_days: int) -> Oracle:
    con = duckdb.connect(":memory:")
    try:
        con.register("partners", bundled.partners)
        con.register("opps", bundled.opportunities)
        con.register("events", bundled.stage_events)
        con.execute(
            "CREATE TEMP TABLE params AS SELECT $a::DATE AS a, $l::INTEGER AS l, $k::DOUBLE AS k",
            {"a": as_of, "l": window_days, "k": PRIOR_STRENGTH},
        )
        con.execute("CREATE TEMP TABLE stage_probability (stage VARCHAR, probability DOUBLE)")
        con.executemany(
            "INSERT INTO stage_probability VALUES (?, ?)",
            [[stage.name, stage.probability] for stage in bundled.records.stage_defs],
        )
        con.execute("CREATE TEMP TABLE channel_map (lead_source VARCHAR, grp VARCHAR)")
        con.executemany("INSERT INTO channel_map VALUES (?, ?)", list(CHANNEL_MAP.items()))
        con.execute("CREATE TEMP TABLE channel_groups (grp VARCHAR)")
        con.executemany("INSERT INTO channel_groups VALUES (?)", [[g] for g in CHANNEL_GROUPS])
        con.execute("CREATE TEMP TABLE weights (component VARCHAR, w BIGINT)")
        con.executemany("INSERT INTO weights VALUES (?, ?)", list(WEIGHTS.items()))
        for statement in (
            FLAGGED_SQL,
            KPIS_SQL,
            PORTFOLIO_SQL,
            QUALITY_SQL,
            COMPONENTS_SQL,
            PERCENTILES_SQL,
        ):
            con.execute(statement)

        kpis_sql = "SELECT k.*, q.quality_score FROM kpis k JOIN quality q USING (partner_id)"
        kpis = {row["partner_id"]: row for row in _rows(con, kpis_sql)}
        channels: dict[str, dict[str, tuple[int, float, float | None]]] = {}
        for row in _rows(con, CHANNELS_SQL):
            channels.setdefault(row["partner_id"], {})[row["grp"]] = (
                row["won_count"],
                row["won_amount"],
                row["close_rate"],
            )
        top_channel = {r["partner_id"]: r["top_channel"] for r in _rows(con, TOP_CHANNEL_SQL)}
        stage_days: dict[str, dict[str, float]] = {}
        for row in _rows(con, STAGE_DAYS_SQL):
            stage_days.setdefault(row["partner_id"], {})[row["stage"]] = row["days"]
        components: dict[str, dict[str, float | None]] = {}
        for row in _rows(con, "SELECT partner_id, metric, value FROM components"):
            components.setdefault(row["partner_id"], {})[row["metric"]] = row["value"]
        percentiles: dict[str, dict[str, float]] = {}
        for row in _rows(con, "SELECT partner_id, metric, num / den AS pct FROM percentiles"):
            percentiles.setdefault(row["partner_id"], {})[row["metric"]] = row["pct"]
        scores = {r["partner_id"]: r["score"] for r in _rows(con, SCORES_SQL)}
        (portfolio,) = _rows(con, "SELECT * FROM portfolio")
    finally:
        con.close()
    return Oracle(
        kpis=kpis,
        channels=channels,
        top_channel=top_channel,
        stage_days=stage_days,
        components=components,
        percentiles=percentiles,
        scores=scores,
        close_rate_m=portfolio["close_rate"],
        deal_success_m=portfolio["deal_success"],
    )


def tier_of(score: float) -> str:
    return next((name for floor, name in TIERS if score >= floor), "Bronze")


# --- comparison ----------------------------------------------------------------------------------


class Mismatches:
    """Collects every difference, so that one failing run names all of them."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, where: str, engine: object, oracle: object) -> None:
        """Floats within rel/abs 1e-9, nulls only against nulls, everything else exactly."""
        if oracle is None or engine is None:
            same = oracle is None and engine is None
        elif isinstance(oracle, float) or isinstance(engine, float):
            same = (
                isinstance(engine, int | float)
                and not isinstance(engine, bool)
                and engine == pytest.approx(oracle, rel=1e-9, abs=1e-9)
            )
        else:
            same = type(engine) is type(oracle) and engine == oracle
        if not same:
            self.found.append(f"{where}: engine={engine!r} oracle={oracle!r}")

    def check_keys(self, where: str, engine: Iterable[str], oracle: Iterable[str]) -> None:
        self.check(f"{where} keys", sorted(engine), sorted(oracle))


def compare_kpis(diff: Mismatches, got: Any, oracle: Oracle) -> None:
    """Every KPI column of KPIS.md, the channel figures and the stage days of one partner."""
    pid = got.partner_id
    want = oracle.kpis[pid]
    kpis = got.kpis
    diff.check(f"{pid} partner_name", got.partner_name, want["partner_name"])
    for name in INT_KPIS + FLOAT_KPIS:
        diff.check(f"{pid} {name}", getattr(kpis, name), want[name])
    diff.check(f"{pid} top_channel", kpis.top_channel, oracle.top_channel.get(pid))

    want_stages = oracle.stage_days.get(pid, {})
    diff.check_keys(f"{pid} stage_days", kpis.stage_days, want_stages)
    for stage, days in want_stages.items():
        diff.check(f"{pid} stage_days[{stage}]", kpis.stage_days.get(stage), days)

    want_channels = oracle.channels[pid]
    diff.check_keys(f"{pid} channels", kpis.channels, want_channels)
    for group, (won_count, won_amount, close_rate) in want_channels.items():
        figures = kpis.channels.get(group)
        if figures is not None:
            diff.check(f"{pid} channels[{group}].won_count", figures.won_count, won_count)
            diff.check(f"{pid} channels[{group}].won_amount", figures.won_amount, won_amount)
            diff.check(f"{pid} channels[{group}].close_rate", figures.close_rate, close_rate)


def compare_score(diff: Mismatches, got: Any, oracle: Oracle) -> None:
    """Components, percentiles, score, tier and drivers of one partner."""
    pid = got.partner_id
    for component in COMPONENTS:
        want_value = oracle.components[pid][component]
        diff.check(f"{pid} components[{component}]", got.components.get(component), want_value)
        want_pct = oracle.percentiles[pid][component]
        diff.check(f"{pid} percentiles[{component}]", got.percentiles.get(component), want_pct)
    diff.check(f"{pid} score", got.score, oracle.scores[pid])
    diff.check(f"{pid} tier", got.tier, tier_of(oracle.scores[pid]))

    # drivers: the two components with the highest w·pct and the two with the lowest; ties may
    # go either way, so each one chosen is only held against the components left out
    weighted = {c: WEIGHTS[c] * oracle.percentiles[pid][c] for c in COMPONENTS}
    for label, chosen, sign in (("strong", got.drivers.strong, 1), ("weak", got.drivers.weak, -1)):
        left_out = [c for c in COMPONENTS if c not in chosen]
        ordered = all(
            c in weighted and sign * (weighted[c] - weighted[o]) >= -1e-12
            for c in chosen
            for o in left_out
        )
        if len(chosen) != 2 or not ordered:
            diff.found.append(f"{pid} drivers.{label}={chosen!r}, w·pct by oracle {weighted}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.as_of}-{c.window_days}d")
def test_engine_matches_oracle(bundled: Bundled, case: Case) -> None:
    result = bundled.score(case.as_of, case.window_days)
    oracle = run_oracle(bundled, case.as_of, case.window_days)

    # The case exercises the prior window as it claims to (a fact of the data, not the engine).
    growth = [row["won_amount_growth"] for row in oracle.kpis.values()]
    assert any(g is not None for g in growth) is case.prior_has_wins

    diff = Mismatches()
    engine_by_id = {p.partner_id: p for p in result.partners}
    diff.check_keys("partners", engine_by_id, oracle.kpis)
    for partner_id, got in engine_by_id.items():
        if partner_id in oracle.kpis:
            compare_kpis(diff, got, oracle)
            compare_score(diff, got, oracle)

    diff.check("portfolio close_rate (m)", result.portfolio.close_rate, oracle.close_rate_m)
    diff.check("portfolio deal_success (m)", result.portfolio.deal_success, oracle.deal_success_m)
    want_tiers = Counter(tier_of(score) for score in oracle.scores.values())
    got_tiers = {tier: n for tier, n in result.portfolio.tier_counts.items() if n}
    diff.check("portfolio tier_counts", got_tiers, dict(want_tiers))
    if diff.found:
        pytest.fail(f"{len(diff.found)} mismatches:\n" + "\n".join(diff.found), pytrace=False)


def test_bundled_dataset_facts(bundled: Bundled) -> None:
    """Counts the dataset's README states, held against both the engine and the oracle."""
    as_of, window_days = date(2017, 12, 31), 730  # W holds every date of the dataset
    result = bundled.score(as_of, window_days)
    oracle = run_oracle(bundled, as_of, window_days)
    rows = oracle.kpis.values()

    # 35 sales agents (the partner accounts), 8,800 opportunities.
    assert bundled.partners.num_rows == 35
    assert bundled.opportunities.num_rows == 8800
    assert result.portfolio.partner_count == 35
    assert len(result.partners) == 35
    assert len(oracle.kpis) == 35
    # Won 4,238; every opportunity has a partner, so the partners' wins add up to it.
    assert result.portfolio.won_count == 4238
    assert sum(p.kpis.deal_count for p in result.partners) == 4238
    assert sum(row["deal_count"] for row in rows) == 4238
    # Lost 2,473.
    assert sum(row["closed_count"] - row["deal_count"] for row in rows) == 2473
    # Engaging 1,589 and Prospecting 500 are open, and all were created by the last date.
    assert result.portfolio.pipeline_count == 1589 + 500
    assert sum(p.kpis.pipeline_count for p in result.partners) == 1589 + 500
    assert sum(row["pipeline_count"] for row in rows) == 1589 + 500
    # Some agents sourced nothing, so the rule "no opportunities ranks last" is exercised.
    assert any(row["opportunity_count"] == 0 for row in rows)


# --- the partner's funnel, customers and service --------------------------------------------------

# Defaults of KPIS.md, restated here so that the oracle does not read them from the engine.
REFERRAL_SOURCES = ("Referral", "Partner Referral", "Customer Referral", "Word of mouth")
ONBOARDING_CASE_TYPES = ("Onboarding",)
VALUE_CALL_SECONDS = 120
FUNNEL_KPIS = (
    "lead_count", "lead_conversion_rate", "referral_count", "customer_count", "customer_growth",
    "account_retention", "revenue_retention", "products_per_customer", "tickets_per_customer",
    "first_contact_resolution", "onboarding_days", "quote_turnaround_days", "value_added_calls",
)  # fmt: skip
FUNNEL_CASES = (
    Case(date(2017, 12, 31), 365, prior_has_wins=False),
    Case(date(2017, 9, 30), 180, prior_has_wins=True),
    Case(date(2017, 6, 30), 90, prior_has_wins=True),
    Case(date(2018, 1, 31), 120, prior_has_wins=True),
)


@dataclass(frozen=True)
class Companion:
    """Leads, quotes, cases, calls and line items made up for the bundled opportunities."""

    records: dict[str, list[Any]]
    tables: dict[str, pa.Table]


def generate_companion(data: SeedDataset, seed: int = 12) -> Companion:
    """Deterministic made-up activity around the bundled deals, with the quirks KPIS.md names:
    leads with no partner and converted after A, quotes never sent or sent on the creation
    day, cases on accounts no partner sold to, reopened and checkbox-judged, calls of exactly
    the threshold and on deals that closed later, the same product twice on a deal."""
    rng = random.Random(seed)
    start = date(2016, 6, 1)

    def day(span: int = 640) -> date:
        return start + timedelta(days=rng.randrange(span))

    partner_ids: list[str | None] = [p.id for p in data.partners] + [None]
    opportunities = list(data.opportunities)
    accounts = [*sorted({o.account_id for o in opportunities if o.account_id}), "acct-nobody"]
    leads = []
    for i in range(3000):
        created = day()
        converted = None if rng.random() < 0.5 else created + timedelta(days=rng.randrange(150))
        leads.append(
            Lead(id=f"L{i:05d}", partner_id=rng.choice(partner_ids), created_date=created,
                 converted_date=converted)
        )  # fmt: skip
    quotes = []
    for o in opportunities:
        for j in range(rng.choice((0, 0, 1, 1, 2, 3))):
            created = o.created_date + timedelta(days=rng.randrange(0, 40))
            sent = None if rng.random() < 0.25 else created + timedelta(days=rng.choice(
                (0, 0, 1, 3, 7, 21, 60)))  # fmt: skip
            quotes.append(
                Quote(id=f"Q{o.id}-{j}", opportunity_id=o.id, created_date=created, sent_date=sent)
            )
    cases = []
    for i in range(4000):
        created = day()
        closed = None if rng.random() < 0.15 else created + timedelta(days=rng.randrange(90))
        cases.append(
            CaseRecord(
                id=f"C{i:05d}", account_id=rng.choice([*accounts, None]), created_date=created,
                closed_date=closed, type=rng.choice(("Onboarding", "Onboarding", "Support",
                                                     "Billing", None)),
                contact_count=rng.randrange(4), reopened=rng.random() < 0.15,
                first_contact_resolved=rng.choice((None, None, None, True, False)),
            )
        )  # fmt: skip
    calls = []
    for i in range(6000):
        calls.append(
            Call(
                id=f"K{i:05d}", opportunity_id=rng.choice(opportunities).id if rng.random() < 0.97
                else None, call_date=day(), duration_seconds=rng.choice(
                    (None, 0, 45, 119, 120, 121, 300, 1200)),
                outcome=rng.choice((None, *CallOutcome, CallOutcome.CONNECTED)),
            )
        )  # fmt: skip
    line_items = []
    for o in opportunities:
        # the Maven product (the name's part after the dash) as one line, sometimes more
        product = (o.name or "").split(" – ")[-1]
        line_items.append(LineItem(id=f"I{o.id}-0", opportunity_id=o.id, product=product))
        for j in range(rng.choice((0, 0, 0, 1, 2))):
            extra = rng.choice((product, "GTX Pro", "MG Special", "GTK 500"))
            line_items.append(LineItem(id=f"I{o.id}-{j + 1}", opportunity_id=o.id, product=extra))
    records: dict[str, list[Any]] = {
        "leads": leads, "quotes": quotes, "cases": cases, "calls": calls,
        "line_items": line_items,
    }  # fmt: skip
    tables = {
        stream: ACTIVITY_ENTITIES[stream].to_arrow(rows, ACTIVITY_ENTITIES[stream].scored_layout)
        for stream, rows in records.items()
    }
    return Companion(records=records, tables=tables)


@pytest.fixture(scope="module")
def companion(bundled: Bundled) -> Companion:
    return generate_companion(bundled.records)


# Every partner account and the "(no partner)" bucket (a null key), matched with IS NOT
# DISTINCT FROM so that the null key finds the records that have no partner.
FUNNEL_SQL = """
WITH keys AS (
    SELECT id AS partner_id FROM partners UNION ALL SELECT NULL
),
cust_w AS (SELECT DISTINCT partner_id, account_id FROM flagged
           WHERE won_w AND account_id IS NOT NULL),
cust_p AS (SELECT DISTINCT partner_id, account_id FROM flagged
           WHERE won_p AND account_id IS NOT NULL),
cust_a AS (SELECT DISTINCT partner_id, account_id FROM flagged
           WHERE status = 'won' AND account_id IS NOT NULL),
lead_figures AS (
    SELECT l.partner_id, count(*) AS n,
           count(*) FILTER (WHERE l.converted_date <= p.a) AS converted
    FROM leads l CROSS JOIN params p
    WHERE l.created_date > p.a - p.l AND l.created_date <= p.a
    GROUP BY l.partner_id
),
products AS (
    -- per customer of p in W: distinct products on p's won-in-W deals with it (0 when none)
    SELECT c.partner_id, c.account_id, count(DISTINCT li.product) AS n
    FROM cust_w c
    JOIN flagged f ON f.won_w AND f.partner_id IS NOT DISTINCT FROM c.partner_id
        AND f.account_id = c.account_id
    LEFT JOIN line_items li ON li.opportunity_id = f.id
    GROUP BY c.partner_id, c.account_id
),
customer_cases AS (
    SELECT ca.partner_id, c.*
    FROM cust_a ca
    JOIN cases c ON c.account_id = ca.account_id
    CROSS JOIN params p
    WHERE c.created_date <= p.a
),
onboarding_candidates AS (
    SELECT f.id, f.partner_id, f.close_date, c.created_date,
           CASE WHEN c.closed_date <= p.a THEN c.closed_date END AS closed_at_a
    FROM flagged f
    JOIN cases c ON c.account_id = f.account_id
    CROSS JOIN params p
    WHERE f.won_w AND c.type IN (SELECT type FROM onboarding_types)
      AND c.created_date >= f.close_date AND c.created_date <= p.a
),
onboarding AS (
    -- the first case by created date; of several that day, the one closed first
    SELECT id, any_value(partner_id) AS partner_id, any_value(close_date) AS close_date,
           min(closed_at_a) FILTER (WHERE created_date = first_created) AS closed_at_a
    FROM (SELECT *, min(created_date) OVER (PARTITION BY id) AS first_created
          FROM onboarding_candidates)
    GROUP BY id
),
first_quotes AS (
    SELECT q.opportunity_id, min(q.sent_date) AS first_sent
    FROM quotes q CROSS JOIN params p
    WHERE q.sent_date <= p.a AND q.created_date <= p.a
    GROUP BY q.opportunity_id
)
SELECT
    k.partner_id,
    lf.n AS lead_count,
    lf.converted / nullif(lf.n, 0) AS lead_conversion_rate,
    (SELECT count(*) FROM flagged f WHERE f.partner_id IS NOT DISTINCT FROM k.partner_id
        AND f.created_w AND f.lead_source IN (SELECT source FROM referral_sources))
        AS referral_count,
    (SELECT count(*) FROM cust_w c WHERE c.partner_id IS NOT DISTINCT FROM k.partner_id)
        AS customer_count,
    (SELECT count(*) FROM cust_p c WHERE c.partner_id IS NOT DISTINCT FROM k.partner_id)
        AS prior_customer_count,
    (SELECT count(*) FROM cust_p c JOIN cust_w w ON w.account_id = c.account_id
        AND w.partner_id IS NOT DISTINCT FROM c.partner_id
        WHERE c.partner_id IS NOT DISTINCT FROM k.partner_id) AS kept_customers,
    (SELECT sum(f.amount) FROM flagged f JOIN cust_p c ON c.account_id = f.account_id
        AND c.partner_id IS NOT DISTINCT FROM f.partner_id
        WHERE f.won_w AND f.partner_id IS NOT DISTINCT FROM k.partner_id) AS kept_amount,
    (SELECT sum(f.amount) FROM flagged f
        WHERE f.won_p AND f.partner_id IS NOT DISTINCT FROM k.partner_id) AS prior_amount,
    (SELECT avg(n) FROM products x WHERE x.partner_id IS NOT DISTINCT FROM k.partner_id)
        AS products_per_customer,
    (SELECT count(*) FROM customer_cases c CROSS JOIN params p
        WHERE c.partner_id IS NOT DISTINCT FROM k.partner_id
        AND c.created_date > p.a - p.l)
        / nullif((SELECT count(*) FROM cust_a c
                  WHERE c.partner_id IS NOT DISTINCT FROM k.partner_id), 0)
        AS tickets_per_customer,
    (SELECT avg(CASE WHEN coalesce(c.first_contact_resolved,
                                   c.contact_count <= 1 AND NOT c.reopened)
                     THEN 1.0 ELSE 0.0 END)
        FROM customer_cases c CROSS JOIN params p
        WHERE c.partner_id IS NOT DISTINCT FROM k.partner_id
        AND c.closed_date > p.a - p.l AND c.closed_date <= p.a) AS first_contact_resolution,
    (SELECT avg(o.closed_at_a - o.close_date) FROM onboarding o
        WHERE o.partner_id IS NOT DISTINCT FROM k.partner_id AND o.closed_at_a IS NOT NULL)
        AS onboarding_days,
    (SELECT avg(q.first_sent - f.created_date) FROM flagged f
        JOIN first_quotes q ON q.opportunity_id = f.id CROSS JOIN params p
        WHERE f.partner_id IS NOT DISTINCT FROM k.partner_id
        AND q.first_sent > p.a - p.l AND q.first_sent <= p.a) AS quote_turnaround_days,
    (SELECT count(*) FROM calls c JOIN flagged f ON f.id = c.opportunity_id CROSS JOIN params p
        WHERE f.partner_id IS NOT DISTINCT FROM k.partner_id
        AND c.call_date > p.a - p.l AND c.call_date <= p.a
        AND c.outcome = 'connected' AND c.duration_seconds >= p.call_seconds)
        / nullif((SELECT count(*) FROM flagged f CROSS JOIN params p
                  WHERE f.partner_id IS NOT DISTINCT FROM k.partner_id
                  AND NOT (f.status IN ('won', 'lost') AND f.close_date <= p.a - p.l)), 0)
        AS value_added_calls
FROM keys k
LEFT JOIN lead_figures lf ON lf.partner_id IS NOT DISTINCT FROM k.partner_id
"""


def run_funnel_oracle(
    bundled: Bundled, companion: Companion, as_of: date, window_days: int
) -> dict[str | None, dict[str, Any]]:
    """The 13 KPIs per partner id (None: no partner), from KPIS.md alone."""
    con = duckdb.connect(":memory:")
    try:
        con.register("partners", bundled.partners)
        con.register("opps", bundled.opportunities)
        con.register("events", bundled.stage_events)
        for stream, table in companion.tables.items():
            con.register(stream, table)
        con.execute(
            "CREATE TEMP TABLE params AS SELECT $a::DATE AS a, $l::INTEGER AS l, "
            "$s::INTEGER AS call_seconds",
            {"a": as_of, "l": window_days, "s": VALUE_CALL_SECONDS},
        )
        con.execute("CREATE TEMP TABLE stage_probability (stage VARCHAR, probability DOUBLE)")
        con.executemany(
            "INSERT INTO stage_probability VALUES (?, ?)",
            [[stage.name, stage.probability] for stage in bundled.records.stage_defs],
        )
        con.execute("CREATE TEMP TABLE channel_map (lead_source VARCHAR, grp VARCHAR)")
        con.execute("CREATE TEMP TABLE referral_sources (source VARCHAR)")
        con.executemany("INSERT INTO referral_sources VALUES (?)", [[s] for s in REFERRAL_SOURCES])
        con.execute("CREATE TEMP TABLE onboarding_types (type VARCHAR)")
        con.executemany(
            "INSERT INTO onboarding_types VALUES (?)", [[t] for t in ONBOARDING_CASE_TYPES]
        )
        con.execute(FLAGGED_SQL)
        rows = _rows(con, FUNNEL_SQL)
    finally:
        con.close()
    found: dict[str | None, dict[str, Any]] = {}
    for row in rows:
        prior_customers, prior_amount = row["prior_customer_count"], row["prior_amount"] or 0.0
        customers = row["customer_count"]
        found[row["partner_id"]] = {
            "lead_count": row["lead_count"] or 0,
            "lead_conversion_rate": row["lead_conversion_rate"],
            "referral_count": row["referral_count"],
            "customer_count": customers,
            "customer_growth": (customers - prior_customers) / prior_customers
            if prior_customers else None,
            "account_retention": row["kept_customers"] / prior_customers
            if prior_customers else None,
            "revenue_retention": (row["kept_amount"] or 0.0) / prior_amount
            if prior_amount else None,
            "products_per_customer": row["products_per_customer"],
            "tickets_per_customer": row["tickets_per_customer"],
            "first_contact_resolution": row["first_contact_resolution"],
            "onboarding_days": row["onboarding_days"],
            "quote_turnaround_days": row["quote_turnaround_days"],
            "value_added_calls": row["value_added_calls"],
        }  # fmt: skip
    return found


@pytest.mark.parametrize("case", FUNNEL_CASES, ids=lambda c: f"{c.as_of}-{c.window_days}d")
def test_funnel_kpis_match_the_oracle_and_leave_the_default_score_alone(
    bundled: Bundled, companion: Companion, case: Case
) -> None:
    result = score_partners(
        bundled.records.partners,
        bundled.records.opportunities,
        bundled.records.stage_events,
        as_of=case.as_of,
        settings=ScoringSettings(window_days=case.window_days),
        stage_defs=bundled.records.stage_defs,
        activity=Activity(**companion.records),
    )
    oracle = run_funnel_oracle(bundled, companion, case.as_of, case.window_days)
    diff = Mismatches()
    got: dict[str | None, Any] = {p.partner_id: p.kpis for p in result.partners}
    got[None] = result.portfolio.no_partner
    diff.check_keys("partners", [str(k) for k in got], [str(k) for k in oracle])
    for key, kpis in got.items():
        for name in FUNNEL_KPIS:
            diff.check(f"{key} {name}", kpis.values[name], oracle[key][name])
    # every KPI has values and nulls somewhere, so no column passes by being empty
    for name in FUNNEL_KPIS:
        values = [row[name] for row in oracle.values()]
        if name not in ("customer_growth", "account_retention", "revenue_retention"):
            assert any(v not in (None, 0) for v in values), name
        elif case.prior_has_wins:
            assert any(v is not None for v in values), name
    # the default score reads none of them: the oracle's scores, computed without activity
    scores = run_oracle(bundled, case.as_of, case.window_days).scores
    for partner in result.partners:
        diff.check(f"{partner.partner_id} score", partner.score, scores[partner.partner_id])
    if diff.found:
        pytest.fail(f"{len(diff.found)} mismatches:\n" + "\n".join(diff.found), pytrace=False)

"""Benchmark of the KPI engine on a large synthetic CRM extract, against plain DuckDB SQL.

What it measures, on one generated data set (1,000,000 opportunities, 5,000
partners and about 2.5 stage events per opportunity by default):

* generation time of the data set (numpy + pyarrow, vectorised, fixed seed);
* ``kpi_engine.score_partners`` wall time: the first run and the best of
  ``--repeat`` runs, after one warm-up call on a small slice;
* the same per-partner figures computed by plain DuckDB SQL over the same Arrow
  tables (best of ``--repeat``, results fetched to Arrow), and the ratio
  engine / DuckDB;
* the engine's peak memory, measured in a fresh child process that only loads
  the inputs from an Arrow IPC file and scores them (``VmHWM`` of
  ``/proc/self/status``; ``ru_maxrss`` of a child started by a large parent can
  carry the parent's size), and the same for DuckDB; plus this process's
  ``ru_maxrss`` after each phase;
* a cross-check that the engine and DuckDB agree, figure by figure;
* with ``--profile``: where the engine's time goes, by stage (the engine's own
  functions timed one by one) and under cProfile.

Targets (reported, never asserted; the exit code is 0 whatever they say):
engine ≤ 2 s, engine peak RSS ≤ 1.5 GiB, engine / DuckDB ≤ 2.

Run from the repository root::

    python bench/kpi_engine.py                      # full size, human report
    python bench/kpi_engine.py --profile            # plus the stage breakdown
    python bench/kpi_engine.py --json               # one JSON line
    python bench/kpi_engine.py --opportunities 100000 --partners 500 --repeat 1
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's folder comes first on sys.path, and this file's
# name would shadow the engine package it measures: drop the folder.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Mapping, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from core.schema import (  # noqa: E402
    OPPORTUNITY_ARROW_SCHEMA,
    PARTNER_ARROW_SCHEMA,
    STAGE_EVENT_ARROW_SCHEMA,
)
from kpi_engine import KPIS, PartnerKpis, ScoringResult, ScoringSettings, score_partners  # noqa: E402

T = TypeVar("T")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

AS_OF = date(2017, 12, 31)
EPOCH = date(1970, 1, 1)
HISTORY_DAYS = 3 * 365
CUSTOMER_COUNT = 50_000
WARMUP_OPPORTUNITIES = 10_000

TARGET_ENGINE_SECONDS = 2.0
TARGET_PEAK_MIB = 1.5 * 1024
TARGET_RATIO = 2.0

STATUSES = ("won", "lost", "open")
STATUS_SHARES = (0.48, 0.28, 0.24)
STAGES = ("Prospecting", "Engaging", "Won", "Lost")
#: Raw lead sources and how often they occur; "Cold Call" maps to no group ("other").
LEAD_SOURCES: dict[str, float] = {
    "Web": 0.18,
    "Partner Referral": 0.14,
    "Paid Search": 0.12,
    "Email": 0.10,
    "Trade Show": 0.08,
    "Referral": 0.08,
    "Webinar": 0.06,
    "Paid Social": 0.06,
    "Content": 0.05,
    "Word of mouth": 0.05,
    "Advertisement": 0.03,
    "Public Relations": 0.03,
    "Cold Call": 0.02,
}


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Dataset:
    """The three engine inputs in the schema's Arrow layout."""

    partners: pa.Table
    opportunities: pa.Table
    stage_events: pa.Table

    @property
    def nbytes(self) -> int:
        return int(self.partners.nbytes + self.opportunities.nbytes + self.stage_events.nbytes)

    def head(self, opportunities: int) -> Dataset:
        """All partners, the first ``opportunities`` opportunities and their events."""
        opps = self.opportunities.slice(0, opportunities)
        keep = pc.is_in(self.stage_events["opportunity_id"], value_set=opps["id"])
        return Dataset(self.partners, opps, self.stage_events.filter(keep))


def _fixed_width_ids(prefix: str, numbers: IntArray, digits: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, built without a row loop."""
    head = prefix.encode()
    width = len(head) + digits
    chars = np.empty((len(numbers), width), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = numbers.astype(np.int64)
    for position in range(width - 1, len(head) - 1, -1):  # one pass per digit
        chars[:, position] = ord("0") + rest % 10
        rest = rest // 10
    offsets = np.arange(len(numbers) + 1, dtype=np.int32) * width
    return pa.StringArray.from_buffers(
        len(numbers), pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())
    )


def _pick(values: pa.Array, indices: IntArray, null: BoolArray | None = None) -> pa.Array:
    """``values[indices]``, null where ``null`` is true."""
    return values.take(pa.array(indices, type=pa.int64(), mask=null))


def _dates(days: IntArray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.int32()).view(pa.date32())


def _skewed_weights(rng: np.random.Generator, count: int, sigma: float) -> FloatArray:
    weights: FloatArray = rng.lognormal(0.0, sigma, count)
    shares: FloatArray = weights / float(weights.sum())
    return shares


def generate(opportunity_count: int, partner_count: int, seed: int) -> Dataset:
    """A realistic CRM extract as of 2017-12-31, vectorised, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    n = opportunity_count
    end = (AS_OF - EPOCH).days

    # partners: a long tail of small resellers, a few large ones, 1% without deals yet,
    # and 20 partner ids that opportunities name but the partner list lacks
    partner_digits = max(5, len(str(partner_count)))
    partner_ids = _fixed_width_ids("P", np.arange(1, partner_count + 1), partner_digits)
    partners = pa.Table.from_arrays(
        [
            partner_ids,
            _fixed_width_ids("Partner ", np.arange(1, partner_count + 1), partner_digits),
        ],
        schema=PARTNER_ARROW_SCHEMA,
    )
    unlisted = 20
    weights = rng.lognormal(0.0, 1.2, partner_count + unlisted)
    weights[:partner_count][rng.random(partner_count) < 0.01] = 0.0
    weights[partner_count:] *= 0.02
    known_partner_ids = pa.concat_arrays(
        [partner_ids, _fixed_width_ids("PX", np.arange(1, unlisted + 1), partner_digits)]
    )
    partner_index = rng.choice(partner_count + unlisted, size=n, p=weights / weights.sum())
    customer_ids = _fixed_width_ids("C", np.arange(1, CUSTOMER_COUNT + 1), 6)
    customer_index = rng.choice(CUSTOMER_COUNT, size=n, p=_skewed_weights(rng, CUSTOMER_COUNT, 1.0))

    status = rng.choice(len(STATUSES), size=n, p=STATUS_SHARES)
    won, lost = status == 0, status == 1
    closed = won | lost
    engaging_open = ~closed & (rng.random(n) < 0.5)
    probability = np.select([won, lost, engaging_open], [1.0, 0.0, 0.5], default=0.1)

    # closed deals close on or before as_of; open ones are mostly recent
    cycle = rng.integers(1, 201, size=n)
    created = np.where(
        closed,
        end - HISTORY_DAYS + 1 + np.floor(rng.random(n) * (HISTORY_DAYS - cycle)).astype(np.int64),
        end - np.minimum(rng.exponential(150.0, size=n).astype(np.int64), HISTORY_DAYS - 1),
    )
    close = np.where(closed, created + cycle, created + 90)
    amount = np.round(rng.lognormal(np.log(8_000.0), 1.1, size=n), 2)
    source_names = pa.array(list(LEAD_SOURCES), type=pa.string())
    shares = np.array(list(LEAD_SOURCES.values()))
    source_index = rng.choice(len(LEAD_SOURCES), size=n, p=shares / shares.sum())

    # ids follow creation order, as a CRM hands them out
    order = np.argsort(created, kind="stable")
    status, won, closed, engaging_open = (a[order] for a in (status, won, closed, engaging_open))
    created, close = created[order], close[order]
    probability, amount = probability[order], amount[order]
    opportunity_ids = _fixed_width_ids("O", np.arange(1, n + 1), max(7, len(str(n))))
    opportunities = pa.Table.from_arrays(
        [
            opportunity_ids,
            _pick(known_partner_ids, partner_index[order], rng.random(n) < 0.03),
            _pick(customer_ids, customer_index[order], rng.random(n) < 0.10),
            _pick(pa.array(STATUSES, type=pa.string()), status),
            pa.array(probability, type=pa.float64()),
            pa.array(amount, type=pa.float64(), mask=rng.random(n) < 0.02),
            _dates(created),
            _dates(close),
            _pick(source_names, source_index[order], rng.random(n) < 0.01),
        ],
        schema=OPPORTUNITY_ARROW_SCHEMA,
    )

    # stage events: Prospecting on creation, Engaging in between (most), Won/Lost on closing
    index = np.arange(n, dtype=np.int64)
    engaged = (closed & (rng.random(n) < 0.85)) | engaging_open
    latest = np.where(closed, close, end)
    engaged_on = created + np.floor(rng.random(n) * (latest - created + 1)).astype(np.int64)
    event_opportunity = np.concatenate([index, index[engaged], index[closed]])
    event_stage = np.concatenate(
        [
            np.zeros(n, dtype=np.int64),
            np.ones(int(engaged.sum()), dtype=np.int64),
            np.where(won[closed], 2, 3),
        ]
    )
    event_date = np.concatenate([created, engaged_on[engaged], close[closed]])
    event_sequence = np.concatenate(
        [
            np.zeros(n, dtype=np.int32),
            np.ones(int(engaged.sum()), dtype=np.int32),
            np.full(int(closed.sum()), 2, dtype=np.int32),
        ]
    )
    # a history table is appended in time order
    chronological = np.lexsort((event_sequence, event_opportunity, event_date))
    stage_events = pa.Table.from_arrays(
        [
            opportunity_ids.take(pa.array(event_opportunity[chronological])),
            _pick(pa.array(STAGES, type=pa.string()), event_stage[chronological]),
            _dates(event_date[chronological]),
            pa.array(event_sequence[chronological], type=pa.int32()),
        ],
        schema=STAGE_EVENT_ARROW_SCHEMA,
    )
    return Dataset(partners, opportunities, stage_events)


def write_dataset(dataset: Dataset, folder: Path) -> None:
    """The three tables as Arrow IPC files in ``folder``."""
    for name, table in _tables(dataset).items():
        path = str(folder / f"{name}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def read_dataset(folder: Path) -> Dataset:
    """The tables written by ``write_dataset``, read into memory (not memory-mapped)."""
    tables = {}
    for name in ("partners", "opportunities", "stage_events"):
        with pa.OSFile(str(folder / f"{name}.arrow"), "rb") as source:
            tables[name] = pa.ipc.open_file(source).read_all()
    return Dataset(**tables)


def _tables(dataset: Dataset) -> dict[str, pa.Table]:
    return {
        "partners": dataset.partners,
        "opportunities": dataset.opportunities,
        "stage_events": dataset.stage_events,
    }


# ------------------------------------------------------------------------- engine


def run_engine(dataset: Dataset, settings: ScoringSettings) -> ScoringResult:
    """One full scoring run, as the app calls it."""
    return score_partners(
        dataset.partners,
        dataset.opportunities,
        dataset.stage_events,
        as_of=AS_OF,
        settings=settings,
    )


# ------------------------------------------------------------------------- duckdb


def _window_bounds(settings: ScoringSettings) -> tuple[str, str, str]:
    length = timedelta(days=settings.window_days)
    return AS_OF.isoformat(), (AS_OF - length).isoformat(), (AS_OF - 2 * length).isoformat()


def _flagged_sql(settings: ScoringSettings) -> str:
    as_of, w_start, p_start = _window_bounds(settings)
    closed_in_w = f"(o.close_date > DATE '{w_start}' AND o.close_date <= DATE '{as_of}')"
    return f"""
    flagged AS (
        SELECT o.id, o.partner_id, o.status, o.probability, o.amount,
            o.close_date - o.created_date AS cycle_days,
            coalesce(o.status = 'won' AND {closed_in_w}, false) AS won_w,
            coalesce(o.status = 'lost' AND {closed_in_w}, false) AS lost_w,
            coalesce(o.status = 'won' AND o.close_date > DATE '{p_start}'
                AND o.close_date <= DATE '{w_start}', false) AS won_p,
            o.status = 'open' AND o.created_date <= DATE '{as_of}' AS pipeline,
            o.created_date > DATE '{w_start}' AND o.created_date <= DATE '{as_of}' AS created_w,
            CASE WHEN o.lead_source IS NULL THEN 'unknown'
                ELSE coalesce(m.channel, 'other') END AS channel
        FROM opportunities o LEFT JOIN channel_map m ON o.lead_source = m.lead_source
    )"""


def duckdb_queries(settings: ScoringSettings) -> dict[str, str]:
    """Plain SQL for KPIS.md's per-partner figures, per channel figures and stage days."""
    as_of, w_start, _ = _window_bounds(settings)
    flagged = _flagged_sql(settings)
    channels = """
    channels AS (
        SELECT partner_id, channel,
            count(*) FILTER (WHERE won_w) AS won_count,
            coalesce(sum(amount) FILTER (WHERE won_w), 0) AS won_amount,
            count(*) FILTER (WHERE won_w) / count(*) AS close_rate
        FROM flagged WHERE won_w OR lost_w
        GROUP BY partner_id, channel
    )"""
    partner_figures = f"""
    WITH {flagged},
    first_won AS (
        -- per customer, its first won opportunity: smallest close date, then smallest id
        SELECT arg_min(id, (close_date, id)) AS id
        FROM opportunities
        WHERE status = 'won' AND account_id IS NOT NULL
        GROUP BY account_id
    ),
    sums AS (
        SELECT f.partner_id,
            count(*) AS opportunity_count,
            count(*) FILTER (WHERE won_w) AS deal_count,
            coalesce(sum(amount) FILTER (WHERE won_w), 0) AS won_amount,
            count(amount) FILTER (WHERE won_w) AS won_with_amount,
            count(*) FILTER (WHERE won_w AND amount IS NULL) AS missing_amount_count,
            count(*) FILTER (WHERE lost_w) AS lost_count,
            count(*) FILTER (WHERE pipeline) AS pipeline_count,
            coalesce(sum(amount) FILTER (WHERE pipeline), 0) AS pipeline_value,
            coalesce(sum(amount * probability) FILTER (WHERE pipeline), 0) AS weighted_pipeline,
            avg(cycle_days) FILTER (WHERE won_w) AS sales_cycle_days,
            count(*) FILTER (WHERE created_w) AS created_w_count,
            count(*) FILTER (WHERE created_w AND status = 'won') AS created_w_won,
            coalesce(sum(amount) FILTER (WHERE won_w AND fw.id IS NOT NULL), 0) AS new_revenue,
            coalesce(sum(amount) FILTER (WHERE won_p), 0) AS won_amount_p
        FROM flagged f LEFT JOIN first_won fw ON f.id = fw.id
        GROUP BY f.partner_id
    ),
    {channels},
    top AS (
        SELECT partner_id, channel AS top_channel
        FROM channels WHERE won_count > 0
        QUALIFY row_number() OVER (
            PARTITION BY partner_id ORDER BY won_amount DESC, channel) = 1
    ),
    kpis AS (
        SELECT s.*,
            s.won_amount / nullif(s.won_with_amount, 0) AS avg_deal_size,
            s.deal_count / nullif(s.deal_count + s.lost_count, 0) AS close_rate,
            s.created_w_won / nullif(s.created_w_count, 0) AS deal_success,
            (s.won_amount - s.won_amount_p) / nullif(s.won_amount_p, 0) AS won_amount_growth,
            t.top_channel
        FROM sums s LEFT JOIN top t ON s.partner_id IS NOT DISTINCT FROM t.partner_id
    )
    SELECT *,
        CASE WHEN sales_cycle_days > 0
            THEN pipeline_count * close_rate * avg_deal_size / sales_cycle_days END
            AS deal_velocity
    FROM kpis"""
    channel_figures = f"WITH {flagged}, {channels} SELECT * FROM channels"
    stage_days = f"""
    WITH closed AS (
        SELECT id, partner_id FROM opportunities
        WHERE status IN ('won', 'lost')
            AND close_date > DATE '{w_start}' AND close_date <= DATE '{as_of}'
    ),
    visits AS (
        SELECT c.partner_id, e.opportunity_id, e.stage,
            lead(e.entered_date) OVER (
                PARTITION BY e.opportunity_id ORDER BY e.entered_date, e.sequence, e.stage
            ) - e.entered_date AS days
        FROM stage_events e JOIN closed c ON e.opportunity_id = c.id
    ),
    per_opportunity AS (
        SELECT partner_id, opportunity_id, stage, sum(days) AS days
        FROM visits WHERE days IS NOT NULL
        GROUP BY partner_id, opportunity_id, stage
    )
    SELECT partner_id, stage, avg(days) AS stage_days
    FROM per_opportunity GROUP BY partner_id, stage"""
    return {
        "partner_figures": partner_figures,
        "channel_figures": channel_figures,
        "stage_days": stage_days,
    }


def duckdb_connection(dataset: Dataset, settings: ScoringSettings) -> Any:
    """An in-memory DuckDB with the Arrow tables (and the channel map) registered."""
    connection = duckdb.connect(":memory:")
    for name, table in _tables(dataset).items():
        connection.register(name, table)
    channel_map = pa.table(
        {
            "lead_source": list(settings.channel_map),
            "channel": list(settings.channel_map.values()),
        }
    )
    connection.register("channel_map", channel_map)
    return connection


def run_duckdb(connection: Any, queries: Mapping[str, str]) -> dict[str, pa.Table]:
    """Every query, fetched to Arrow (so DuckDB really computes it)."""
    tables = {}
    for name, sql in queries.items():
        relation = connection.sql(sql)
        # duckdb 2 names it to_arrow_table; 1.x arrow() (2's arrow() returns a reader)
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        tables[name] = fetch()
    return tables


# ----------------------------------------------------------------- cross-checking

#: Figures compared between the engine and DuckDB, with their value when a partner has no row.
COMPARED: dict[str, float | None] = {
    "deal_count": 0,
    "won_amount": 0.0,
    "missing_amount_count": 0,
    "avg_deal_size": None,
    "pipeline_count": 0,
    "pipeline_value": 0.0,
    "weighted_pipeline": 0.0,
    "close_rate": None,
    "sales_cycle_days": None,
    "deal_velocity": None,
    "deal_success": None,
    "new_revenue": 0.0,
    "won_amount_growth": None,
}


def _same(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-6)
    return left == right


def cross_check(result: ScoringResult, tables: Mapping[str, pa.Table]) -> dict[str, int]:
    """How many partners (and the no-partner bucket) disagree, per figure; all 0 is agreement."""
    figures = {row["partner_id"]: row for row in tables["partner_figures"].to_pylist()}
    stages: dict[str | None, dict[str, float]] = {}
    for row in tables["stage_days"].to_pylist():
        stages.setdefault(row["partner_id"], {})[row["stage"]] = row["stage_days"]
    channels: dict[tuple[str | None, str], dict[str, Any]] = {
        (row["partner_id"], row["channel"]): row for row in tables["channel_figures"].to_pylist()
    }
    engine_rows: list[tuple[str | None, PartnerKpis]] = [
        (p.partner_id, p.kpis) for p in result.partners
    ]
    engine_rows.append((None, result.portfolio.no_partner))
    mismatches = dict.fromkeys([*COMPARED, "top_channel", "stage_days", "channels"], 0)
    for key, kpis in engine_rows:
        sql_row = figures.get(key, {})
        for name, default in COMPARED.items():
            if not _same(getattr(kpis, name), sql_row.get(name, default)):
                mismatches[name] += 1
        if kpis.top_channel != sql_row.get("top_channel"):
            mismatches["top_channel"] += 1
        sql_stages = stages.get(key, {})
        if set(kpis.stage_days) != set(sql_stages) or not all(
            _same(value, sql_stages[stage]) for stage, value in kpis.stage_days.items()
        ):
            mismatches["stage_days"] += 1
        for group, figure in kpis.channels.items():
            sql_channel = channels.get((key, group), {})
            if not (
                _same(figure.won_count, sql_channel.get("won_count", 0))
                and _same(figure.won_amount, sql_channel.get("won_amount", 0.0))
                and _same(figure.close_rate, sql_channel.get("close_rate"))
            ):
                mismatches["channels"] += 1
                break
    return mismatches


# ------------------------------------------------------------------- measurement


def _mib(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def max_rss_kib() -> int:
    """Peak RSS of this process so far (``ru_maxrss``: KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def proc_status_kib(key: str) -> int | None:
    """A ``/proc/self/status`` figure in KiB (VmHWM: peak RSS of this program only)."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def peak_rss_kib() -> int:
    """This program's own peak RSS: VmHWM where Linux gives it, else ``ru_maxrss``."""
    return proc_status_kib("VmHWM") or max_rss_kib()


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs."""

    runs: list[float] = field(default_factory=list)

    @property
    def first(self) -> float:
        return self.runs[0]

    @property
    def best(self) -> float:
        return min(self.runs)


def timed(call: Callable[[], T], repeat: int) -> tuple[Timing, T]:
    """``repeat`` runs of ``call`` (garbage collected between), their times, the last result."""
    timing = Timing()
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = call()
        timing.runs.append(time.perf_counter() - start)
    assert result is not None
    return timing, result


# ----------------------------------------------------------------------- profiling


@contextmanager
def _stopwatch(stages: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    stages[name] = stages.get(name, 0.0) + time.perf_counter() - start


def stage_breakdown(dataset: Dataset, settings: ScoringSettings) -> dict[str, float]:
    """Seconds of each step of ``score_partners``, replayed through the engine's functions.

    Mirrors kpi_engine/engine.py; "score and build results" is the full call minus
    the steps before it (joins, to_dicts, the Python scoring and the result models).
    """
    from kpi_engine import engine as engine_module
    from kpi_engine import frames, kpis

    stages: dict[str, float] = {}
    gc.collect()
    with _stopwatch(stages, "partners_frame"):
        frames.partners_frame(dataset.partners)
    with _stopwatch(stages, "opportunities_frame (cast, sort, checks)"):
        opportunities = frames.opportunities_frame(dataset.opportunities)
    with _stopwatch(stages, "flag_opportunities (incl. first won)"):
        flagged = kpis.flag_opportunities(
            opportunities,
            AS_OF,
            window_days=settings.window_days,
            channel_map=settings.channel_map,
            referral_sources=settings.referral_sources,
        )
    with _stopwatch(stages, "stage_events_frame (cast, sort)"):
        events = frames.stage_events_frame(dataset.stage_events)
    with _stopwatch(stages, "aggregate_by_partner + derive_kpis"):
        engine_module.derive_kpis(kpis.aggregate_by_partner(flagged), KPIS)
    with _stopwatch(stages, "channel_figures + top_channels"):
        channels = kpis.channel_figures(flagged)
        kpis.top_channels(channels)
        engine_module._channels_by_key(channels)
    with _stopwatch(stages, "stage_days"):
        engine_module._per_stage_by_key(kpis.stage_days(flagged, events))
    steps = sum(stages.values())
    del opportunities, flagged, events, channels
    gc.collect()
    start = time.perf_counter()
    run_engine(dataset, settings)
    total = time.perf_counter() - start
    stages["score and build results (rest of the call)"] = max(total - steps, 0.0)
    stages["total (one separate full call)"] = total
    return stages


def _function_label(function: tuple[str, int, str]) -> str:
    filename, line, name = function
    if filename == "~":
        return name  # a builtin, e.g. "<method 'sort' of ...>"
    return f"{Path(filename).parent.name}/{Path(filename).name}:{line} {name}"


def profile_engine(
    dataset: Dataset, settings: ScoringSettings, top: int = 15
) -> dict[str, list[tuple[str, float]]]:
    """One engine call under cProfile: time per direct callee of score_partners, and hot spots."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    run_engine(dataset, settings)
    profiler.disable()
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    roots = [f for f in raw if f[2] == "score_partners" and f[0].endswith("engine.py")]
    callees: list[tuple[str, float]] = []
    if roots:
        root = roots[0]
        callees.append(("(score_partners total)", float(raw[root][3])))
        callees.append(("(score_partners own lines)", float(raw[root][2])))
        for function, (_, _, _, _, callers) in raw.items():
            if root in callers:
                callees.append((_function_label(function), float(callers[root][3])))
    callees.sort(key=lambda item: -item[1])
    by_own_time = sorted(raw.items(), key=lambda item: -float(item[1][2]))[:top]
    hot = [(_function_label(function), float(row[2])) for function, row in by_own_time]
    return {"by_step": callees[: top + 2], "by_own_time": hot}


# --------------------------------------------------------------------- child runs


def child_phase(phase: str, folder: Path, settings: ScoringSettings) -> dict[str, Any]:
    """Run one phase in this (fresh) process: load the inputs, warm up, run once, measure."""
    dataset = read_dataset(folder)
    gc.collect()
    loaded_kib = proc_status_kib("VmRSS") or max_rss_kib()
    warmup = dataset.head(WARMUP_OPPORTUNITIES)
    if phase == "engine":
        run_engine(warmup, settings)
        del warmup
        start = time.perf_counter()
        run_engine(dataset, settings)
    else:
        queries = duckdb_queries(settings)
        run_duckdb(duckdb_connection(warmup, settings), queries)
        del warmup
        connection = duckdb_connection(dataset, settings)
        start = time.perf_counter()
        run_duckdb(connection, queries)
    seconds = time.perf_counter() - start
    return {
        "phase": phase,
        "seconds": seconds,
        "rss_after_load_kib": loaded_kib,
        "peak_rss_kib": peak_rss_kib(),
        "ru_maxrss_kib": max_rss_kib(),
    }


def run_child(phase: str, folder: Path) -> dict[str, Any]:
    """``child_phase`` in a new interpreter, its figures read from its JSON line."""
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--phase",
            phase,
            "--data-dir",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"phase": phase, "error": done.stderr.strip().splitlines()[-1:]}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# ------------------------------------------------------------------------- report


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def _megabytes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MB"


def _verdict(ok: bool | None) -> str:
    return {True: "OK", False: "MISS", None: "n/a"}[ok]


def report_lines(figures: Mapping[str, Any]) -> list[str]:
    """The human report."""
    f = figures
    targets = f["targets"]
    lines = [
        f"partner-kpi engine benchmark · seed {f['seed']} · as of {f['as_of']} · "
        f"{f['cpus']} CPUs · python {f['python']} · polars {f['polars']} · "
        f"duckdb {f['duckdb']}",
        "",
        f"data       {f['opportunities']:,} opportunities · {f['partners']:,} partners · "
        f"{f['stage_events']:,} stage events · {f['input_mib']:.0f} MB of Arrow",
        f"generate   {_seconds(f['generate_s'])}",
        f"engine     first {_seconds(f['engine_first_s'])} · best of {f['repeat']} "
        f"{_seconds(f['engine_best_s'])} · fresh process {_seconds(f['engine_fresh_s'])}"
        f"   target ≤ {TARGET_ENGINE_SECONDS:g} s: {_verdict(targets['engine_seconds'])}",
        f"           runs {', '.join(f'{s:.3f}' for s in f['engine_runs_s'])} s",
        f"duckdb     first {_seconds(f['duckdb_first_s'])} · best of {f['repeat']} "
        f"{_seconds(f['duckdb_best_s'])} · fresh process {_seconds(f['duckdb_fresh_s'])}",
        f"           runs {', '.join(f'{s:.3f}' for s in f['duckdb_runs_s'])} s",
        f"ratio      engine / duckdb (best) {f['ratio']:.2f}×"
        f"   target ≤ {TARGET_RATIO:g}: {_verdict(targets['ratio'])}",
        f"memory     engine peak RSS {_megabytes(f['engine_peak_rss_mb'])} in a fresh process "
        f"({_megabytes(f['engine_rss_after_load_mb'])} after loading the inputs)"
        f"   target ≤ {TARGET_PEAK_MIB:.0f} MB: {_verdict(targets['engine_peak_rss'])}",
        f"           duckdb peak RSS {_megabytes(f['duckdb_peak_rss_mb'])} in a fresh process "
        f"({_megabytes(f['duckdb_rss_after_load_mb'])} after loading the inputs)",
        f"           this process ru_maxrss: {f['rss_after_generate_mb']} MB after generating, "
        f"{f['rss_after_engine_mb']} MB after the engine, "
        f"{f['rss_after_duckdb_mb']} MB after duckdb",
    ]
    bad = {name: count for name, count in f["cross_check"].items() if count}
    checked = len(f["cross_check"])
    lines.append(
        f"agreement  engine = duckdb on all {checked} figure groups for every partner"
        if not bad
        else "agreement  engine ≠ duckdb (partners differing): "
        + ", ".join(f"{name} {count}" for name, count in bad.items())
    )
    if f.get("errors"):
        lines.append(f"errors     {f['errors']}")
    if "stages" in f:
        lines += ["", "engine stages (seconds, each step timed alone):"]
        for name, seconds in f["stages"].items():
            lines.append(f"  {seconds:7.3f}  {name}")
    if "profile" in f:
        lines += ["", "cProfile, one engine call — time under each step of score_partners:"]
        for name, seconds in f["profile"]["by_step"]:
            lines.append(f"  {seconds:7.3f}  {name}")
        lines += ["", "cProfile — functions by own time:"]
        for name, seconds in f["profile"]["by_own_time"]:
            lines.append(f"  {seconds:7.3f}  {name}")
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--opportunities", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--partners", type=int, default=5_000, help="default 5,000")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per contender")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    parser.add_argument("--profile", action="store_true", help="also break the engine's time down")
    parser.add_argument("--phase", choices=("engine", "duckdb"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.opportunities < 1 or args.partners < 1:
        parser.error("--repeat, --opportunities and --partners must be at least 1")
    if args.phase and args.data_dir is None:
        parser.error("--phase needs --data-dir")
    return args


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of the module docstring, as one flat dict (plus the breakdowns)."""
    settings = ScoringSettings()
    start = time.perf_counter()
    dataset = generate(args.opportunities, args.partners, args.seed)
    generate_s = time.perf_counter() - start
    rss_after_generate = max_rss_kib()

    with tempfile.TemporaryDirectory(prefix="pk-bench-") as folder:
        write_dataset(dataset, Path(folder))
        engine_child = run_child("engine", Path(folder))
        duckdb_child = run_child("duckdb", Path(folder))

    warmup = dataset.head(WARMUP_OPPORTUNITIES)
    run_engine(warmup, settings)
    engine_timing, result = timed(lambda: run_engine(dataset, settings), args.repeat)
    rss_after_engine = max_rss_kib()

    queries = duckdb_queries(settings)
    run_duckdb(duckdb_connection(warmup, settings), queries)
    connection = duckdb_connection(dataset, settings)
    duckdb_timing, tables = timed(lambda: run_duckdb(connection, queries), args.repeat)
    rss_after_duckdb = max_rss_kib()

    engine_peak = engine_child.get("peak_rss_kib")
    ratio = engine_timing.best / duckdb_timing.best
    figures: dict[str, Any] = {
        "seed": args.seed,
        "as_of": AS_OF.isoformat(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "opportunities": dataset.opportunities.num_rows,
        "partners": dataset.partners.num_rows,
        "stage_events": dataset.stage_events.num_rows,
        "input_mib": dataset.nbytes / 2**20,
        "repeat": args.repeat,
        "generate_s": round(generate_s, 4),
        "engine_first_s": round(engine_timing.first, 4),
        "engine_best_s": round(engine_timing.best, 4),
        "engine_runs_s": [round(s, 4) for s in engine_timing.runs],
        "engine_fresh_s": engine_child.get("seconds"),
        "duckdb_first_s": round(duckdb_timing.first, 4),
        "duckdb_best_s": round(duckdb_timing.best, 4),
        "duckdb_runs_s": [round(s, 4) for s in duckdb_timing.runs],
        "duckdb_fresh_s": duckdb_child.get("seconds"),
        "ratio": round(ratio, 2),
        "engine_peak_rss_mb": _mib(engine_peak),
        "engine_rss_after_load_mb": _mib(engine_child.get("rss_after_load_kib")),
        "duckdb_peak_rss_mb": _mib(duckdb_child.get("peak_rss_kib")),
        "duckdb_rss_after_load_mb": _mib(duckdb_child.get("rss_after_load_kib")),
        "rss_after_generate_mb": _mib(rss_after_generate),
        "rss_after_engine_mb": _mib(rss_after_engine),
        "rss_after_duckdb_mb": _mib(rss_after_duckdb),
        "targets": {
            "engine_seconds": engine_timing.best <= TARGET_ENGINE_SECONDS,
            "engine_peak_rss": engine_peak is not None and engine_peak / 1024 <= TARGET_PEAK_MIB,
            "ratio": ratio <= TARGET_RATIO,
        },
        "cross_check": cross_check(result, tables),
    }
    errors = [child["error"] for child in (engine_child, duckdb_child) if "error" in child]
    if errors:
        figures["errors"] = errors
    if args.profile:
        del result, tables
        try:
            stages = stage_breakdown(dataset, settings)
            figures["stages"] = {name: round(seconds, 4) for name, seconds in stages.items()}
        except (AttributeError, TypeError) as exc:  # the engine's internals moved on
            figures["stages"] = {f"unavailable: {exc}": 0.0}
        profile = profile_engine(dataset, settings)
        figures["profile"] = {
            part: [(name, round(seconds, 4)) for name, seconds in rows]
            for part, rows in profile.items()
        }
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        print(json.dumps(child_phase(args.phase, args.data_dir, ScoringSettings())))
        return 0
    figures = benchmark(args)
    if args.json:
        print(json.dumps(figures))
    else:
        print("\n".join(report_lines(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build a store file at benchmark scale in seconds, for ``audit --offline`` and ``sync``.

``build_store(path, opportunities, partners)`` makes a store file holding that many
opportunities over that many partners, their stage changes and the seed's four stages,
in the shape of ``bench/seed_folder.py`` (stage mix, dates, amounts, empty accounts
on open deals) from a fixed seed. The rows are generated as Arrow columns and
inserted in one statement per table: seeding through a CRM and ``audit --config``
would take minutes at a million opportunities, and what is measured is what a run
does with a full store, not how it was filled. The store is created and migrated by
``LocalStore.open`` first, so the file is a store of the current schema.

``duckdb_core_figures`` computes KPIS.md's core per-partner figures in plain DuckDB
SQL over the same file: the yardstick ``audit --offline`` is measured against.

Run from the repository root (prints the counts, or the DuckDB time)::

    python bench/store_file.py /work/big/store1m.db --opportunities 1000000 --partners 5000
    python bench/store_file.py /work/big/store1m.db --duckdb-as-of 2017-12-31
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's folder comes first on sys.path, and bench/store.py
# would shadow the store package: drop the folder, add the root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402

from store import LocalStore  # noqa: E402
from store.pages import OPPORTUNITIES, PARTNERS, STAGE_CHANGES, STAGE_DEFS  # noqa: E402

#: the seed's products and list prices (bench/seed_folder.py)
PRICES = np.array([550, 4821, 55, 3393, 5482, 1096, 26768], dtype=np.float64)
#: stage name, status, probability, sort order, share of deals (bench/seed_folder.py)
STAGES = (
    ("Prospecting", "open", 0.1, 1, 6),
    ("Engaging", "open", 0.5, 2, 18),
    ("Won", "won", 1.0, 3, 48),
    ("Lost", "lost", 0.0, 4, 28),
)
LEAD_SOURCES = np.array(["Web", "Paid Search", "Partner Referral", "Trade Show", "Email"])
FIRST = date(2016, 10, 20)
LAST = date(2017, 12, 31)
FETCHED_AT = datetime(2018, 1, 1)


def _days(start: date, offsets: np.ndarray) -> pa.Array:
    epoch = (start - date(1970, 1, 1)).days
    return pa.array((offsets + epoch).astype("int32"), pa.int32()).cast(pa.date32())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pa.array(numbers.astype("int64")).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(text, width, "0"), "")


def _tracked(columns: dict[str, pa.Array], layout: pa.Schema) -> pa.Table:
    count = len(next(iter(columns.values())))
    columns["deleted"] = pa.repeat(pa.scalar(False), count)
    columns["fetched_at"] = pa.repeat(pa.scalar(FETCHED_AT, pa.timestamp("us")), count)
    return pa.table(columns).select(layout.names).cast(layout)


def partners_page(partners: int) -> pa.Table:
    """``partners`` partner accounts in the store's layout."""
    numbers = np.arange(partners)
    regions = np.array(["Central", "East", "West"])[numbers % 3]
    managers = pc.binary_join_element_wise("Manager ", _ids("", numbers % 50, 2), "")
    return _tracked(
        {
            "id": _ids("P", numbers, 6),
            "name": _ids("Partner ", numbers, 5),
            "region": pa.array(regions),
            "channel_manager": managers,
            "tier": pa.nulls(partners, pa.string()),
        },
        PARTNERS.layout,
    )


def records(opportunities: int, partners: int, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    """The opportunities and their stage changes, in the store's layouts."""
    rng = np.random.default_rng(seed)
    n = opportunities
    shares = np.array([s[4] for s in STAGES], dtype=np.float64)
    stage = rng.choice(len(STAGES), size=n, p=shares / shares.sum())
    product = rng.integers(0, len(PRICES), size=n)
    span = (LAST - FIRST).days
    created = rng.integers(0, span, size=n)
    engaged = np.minimum(created + rng.integers(0, 20, size=n), span)
    closed = np.minimum(engaged + rng.integers(1, 140, size=n), span)
    won, lost = stage == 2, stage == 3
    is_open = ~(won | lost)
    amount = np.where(lost, 0.0, np.round(PRICES[product] * rng.uniform(0.8, 1.1, size=n)))
    no_account = is_open & (rng.random(n) < 0.6)
    numbers = np.arange(n)
    names, statuses, probabilities = (np.array([s[i] for s in STAGES]) for i in (0, 1, 2))
    opportunity_ids = _ids("O", numbers, 9)
    deals = _tracked(
        {
            "id": opportunity_ids,
            "name": _ids("Deal ", numbers, 9),
            "partner_id": _ids("P", rng.integers(0, partners, size=n), 6),
            "account_id": pa.array(
                np.char.add("C", rng.integers(0, max(85, partners * 3), size=n).astype(str)),
                mask=no_account,
            ),
            "stage": pa.array(names[stage]),
            "status": pa.array(statuses[stage]),
            "probability": pa.array(probabilities[stage].astype(np.float64)),
            "amount": pa.array(amount),
            "amount_original": pa.nulls(n, pa.float64()),
            "currency": pa.repeat(pa.scalar("USD"), n),
            "created_date": _days(FIRST, created),
            "close_date": pa.array(
                _days(FIRST, np.where(is_open, created, closed)).to_numpy(zero_copy_only=False),
                pa.date32(),
                mask=is_open,
            ),
            "lead_source": pa.array(LEAD_SOURCES[rng.integers(0, len(LEAD_SOURCES), size=n)]),
        },
        OPPORTUNITIES.layout,
    )
    # Prospecting when created, Engaging when engaged, Won or Lost when closed: one
    # change per stage reached, as the seed's stage history has them
    reached = np.where(stage == 0, 1, np.where(stage == 1, 2, 3))
    owner = np.repeat(numbers, reached)
    step = np.arange(owner.size) - np.repeat(np.cumsum(reached) - reached, reached)
    day = np.select([step == 0, step == 1], [created[owner], engaged[owner]], default=closed[owner])
    entered = (day + (FIRST - date(1970, 1, 1)).days).astype("int64") * 86_400_000_000
    entered += (step * 3_600 + 9 * 3_600) * 1_000_000  # hours apart, as CRM stamps are
    change_stage = np.where(step == 2, names[stage][owner], names[np.minimum(step, 1)])
    changes = _tracked(
        {
            "id": pc.binary_join_element_wise(
                pc.take(opportunity_ids, pa.array(owner)),
                pa.array(step.astype(str)),
                ":",
            ),
            "opportunity_id": pc.take(opportunity_ids, pa.array(owner)),
            "stage": pa.array(change_stage),
            "entered_at": pa.array(entered, pa.timestamp("us")),
        },
        STAGE_CHANGES.layout,
    )
    return deals, changes


def stage_defs_page() -> pa.Table:
    """The seed's four stages in the store's layout."""
    return pa.table(
        {
            "name": [s[0] for s in STAGES],
            "status": [s[1] for s in STAGES],
            "probability": [s[2] for s in STAGES],
            "sort_order": pa.array([s[3] for s in STAGES], pa.int32()),
        }
    ).cast(STAGE_DEFS.layout)


def build_store(path: Path, opportunities: int, partners: int, *, seed: int = 7) -> Path:
    """A new store file at ``path`` (replaced if present) with ``opportunities`` deals over
    ``partners`` partners, their stage changes and the four seed stages."""
    path = Path(path)
    path.unlink(missing_ok=True)
    with LocalStore.open(path, holder="bench/store_file.py"):
        pass  # created and migrated to the current schema
    deals, changes = records(opportunities, partners, seed)
    pages = {
        PARTNERS.name: partners_page(partners),
        OPPORTUNITIES.name: deals,
        STAGE_CHANGES.name: changes,
        STAGE_DEFS.name: stage_defs_page(),
    }
    with duckdb.connect(str(path)) as conn:
        for table, page in pages.items():
            conn.register("_page", page)
            columns = ", ".join(page.column_names)
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _page")
            conn.unregister("_page")
        conn.execute("CHECKPOINT")
    del deals, changes
    return path


def core_figures_sql(as_of: date, window_days: int = 365) -> str:
    """Plain DuckDB SQL for KPIS.md's core per-partner figures over a store file: deal
    count, won amount, pipeline value, close rate and sales cycle: the yardstick."""
    start = as_of - timedelta(days=window_days)
    closed_in_w = f"close_date > DATE '{start}' AND close_date <= DATE '{as_of}'"
    return f"""
        SELECT partner_id,
            count(*) FILTER (WHERE won_w) AS deal_count,
            coalesce(sum(amount) FILTER (WHERE won_w), 0) AS won_amount,
            coalesce(sum(amount) FILTER (WHERE pipeline), 0) AS pipeline_value,
            count(*) FILTER (WHERE won_w)
                / nullif(count(*) FILTER (WHERE won_w OR lost_w), 0) AS close_rate,
            avg(close_date - created_date) FILTER (WHERE won_w) AS sales_cycle_days
        FROM (
            SELECT partner_id, amount, created_date, close_date,
                coalesce(status = 'won' AND {closed_in_w}, false) AS won_w,
                coalesce(status = 'lost' AND {closed_in_w}, false) AS lost_w,
                created_date <= DATE '{as_of}'
                    AND (status = 'open' OR close_date > DATE '{as_of}') AS pipeline
            FROM opportunities WHERE NOT deleted
        )
        GROUP BY partner_id
    """


def duckdb_core_figures(path: Path, as_of: date, window_days: int = 365) -> pa.Table:
    """``core_figures_sql`` run by DuckDB on the store file at ``path`` (opened read-only)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        table = conn.sql(core_figures_sql(as_of, window_days)).to_arrow_table()
    assert isinstance(table, pa.Table)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--duckdb-as-of",
        type=date.fromisoformat,
        help="build nothing: time the core figures in DuckDB SQL over the store at PATH",
    )
    parser.add_argument("--csv", type=Path, help="with --duckdb-as-of: write the figures here")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    if args.duckdb_as_of is not None:
        figures = duckdb_core_figures(args.path, args.duckdb_as_of)
        seconds = time.perf_counter() - began
        if args.csv is not None:
            pa_csv.write_csv(figures, args.csv)
        rows = figures.num_rows
        print(json.dumps({"path": str(args.path), "duckdb_s": round(seconds, 3), "rows": rows}))
        return 0
    build_store(args.path, args.opportunities, args.partners, seed=args.seed)
    with LocalStore.open(args.path, holder="bench/store_file.py") as store:
        counts = dataclasses.asdict(store.counts())
    seconds = time.perf_counter() - began
    print(json.dumps({"path": str(args.path), "seconds": round(seconds, 1), **counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

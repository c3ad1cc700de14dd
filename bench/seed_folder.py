"""Write a large seed folder in the layout of ../shared/data/README.md, for benchmarks.

The rows follow the bundled dataset's shape (stages, dates, products, empty
accounts on open deals) at any size, from a fixed seed. The opportunities are
drawn with numpy and written with Polars a chunk at a time (5,000,000 rows in
seconds, memory flat in the size); the same seed always writes the same bytes.
Then the companion files (leads, quotes, cases, calls) are derived from them by
the bundled data's own rules (``connectors.seed.companion``), as columns: at a
million opportunities a few seconds and about 1 GB, since the rules read the
whole pipeline at once (``--no-companion`` leaves them out).

Run from the repository root::

    python -m bench.seed_folder DIR --opportunities 1000000 --partners 5000 [--no-companion]
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from connectors.seed.companion import write_companion

PRODUCTS = {
    "GTX Basic": 550,
    "GTX Pro": 4821,
    "MG Special": 55,
    "MG Advanced": 3393,
    "GTX Plus Pro": 5482,
    "GTX Plus Basic": 1096,
    "GTK 500": 26768,
}
PIPELINE_COLUMNS = [
    "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
    "close_date", "close_value",
]  # fmt: skip
#: Stages and how often they occur; the two open ones have no account 60 % of the time.
STAGES = ("Won", "Lost", "Engaging", "Prospecting")
STAGE_WEIGHTS = (48, 28, 18, 6)
OPEN_WITHOUT_ACCOUNT = 0.6
FIRST = date(2016, 10, 20)
LAST = date(2017, 12, 31)
#: Rows drawn and written at a time: bounds the memory, and is part of what the seed means.
CHUNK = 1_000_000
#: The publisher's files end lines as Python's csv module does.
LINE_END = "\r\n"


def write_seed_folder(
    folder: Path,
    opportunities: int,
    partners: int,
    *,
    customers: int = 0,
    seed: int = 7,
    companion: bool = True,
) -> Path:
    """A seed folder with the given numbers of opportunities and partners, and with
    ``companion`` the leads, quotes, cases and calls derived from them."""
    folder.mkdir(parents=True, exist_ok=True)
    customers = customers or max(85, partners * 3)
    _write_small_files(folder, partners, customers)
    rng = np.random.default_rng(seed)
    with (folder / "sales_pipeline.csv").open("wb") as handle:
        handle.write((",".join(PIPELINE_COLUMNS) + LINE_END).encode())
        for start in range(0, opportunities, CHUNK):
            rows = _pipeline_chunk(
                rng, start, min(CHUNK, opportunities - start), partners, customers
            )
            rows.write_csv(handle, include_header=False, line_terminator=LINE_END)
    if companion:
        write_companion(folder, folder)
    return folder


def _write_small_files(folder: Path, partners: int, customers: int) -> None:
    """sales_teams.csv, accounts.csv and products.csv: a few thousand rows, in a row loop."""
    with (folder / "sales_teams.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sales_agent", "manager", "regional_office"])
        for i in range(partners):
            writer.writerow(
                [f"Agent {i:05d}", f"Manager {i % 50:02d}", ("Central", "East", "West")[i % 3]]
            )
    with (folder / "accounts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account", "sector", "year_established", "revenue", "employees",
                         "office_location", "subsidiary_of"])  # fmt: skip
        for i in range(customers):
            sector = ("retail", "medical", "software")[i % 3]
            writer.writerow(
                [
                    f"Customer {i:06d}",
                    sector,
                    1990 + i % 30,
                    100 + i % 900,
                    50 + i % 5000,
                    "United States",
                    "",
                ]
            )
    with (folder / "products.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product", "series", "sales_price"])
        for name, price in PRODUCTS.items():
            writer.writerow([name, name.split()[0], price])


def _pipeline_chunk(
    rng: np.random.Generator, start: int, size: int, partners: int, customers: int
) -> pl.DataFrame:
    """``size`` rows of sales_pipeline.csv, numbered from ``start``."""
    weights = np.array(STAGE_WEIGHTS, dtype=np.float64)
    stage = rng.choice(len(STAGES), size=size, p=weights / weights.sum())
    product = rng.integers(0, len(PRODUCTS), size=size)
    agent = rng.integers(0, partners, size=size)
    account = rng.integers(0, customers, size=size)
    no_account = rng.random(size) < OPEN_WITHOUT_ACCOUNT
    engage_day = rng.integers(0, (LAST - FIRST).days, size=size)
    cycle_days = rng.integers(1, 140, size=size)
    value_factor = rng.uniform(0.8, 1.1, size=size)

    won, prospecting = stage == STAGES.index("Won"), stage == STAGES.index("Prospecting")
    closed = stage <= STAGES.index("Lost")
    prices = np.array(list(PRODUCTS.values()), dtype=np.float64)
    first = np.datetime64(FIRST.isoformat(), "D")
    engage = first + engage_day.astype("timedelta64[D]")
    close = np.minimum(engage + cycle_days.astype("timedelta64[D]"), np.datetime64(LAST, "D"))
    frame = pl.DataFrame(
        {
            "number": np.arange(start, start + size, dtype=np.int64),
            "agent": agent,
            "product": pl.Series(list(PRODUCTS), dtype=pl.String).gather(product),
            "account": account,
            "no_account": no_account & ~closed,
            "deal_stage": pl.Series(STAGES, dtype=pl.String).gather(stage),
            "engage": engage,
            "close": close,
            "value": np.where(won, np.round(prices[product] * value_factor), 0).astype(np.int64),
            "prospecting": prospecting,
            "closed": closed,
        }
    )
    return frame.select(
        pl.format("B{}", pl.col("number").cast(pl.String).str.zfill(9)).alias("opportunity_id"),
        pl.format("Agent {}", pl.col("agent").cast(pl.String).str.zfill(5)).alias("sales_agent"),
        "product",
        pl.when(~pl.col("no_account"))  # null is written as an empty field
        .then(pl.format("Customer {}", pl.col("account").cast(pl.String).str.zfill(6)))
        .alias("account"),
        "deal_stage",
        pl.when(~pl.col("prospecting")).then(pl.col("engage")).alias("engage_date"),
        pl.when(pl.col("closed")).then(pl.col("close")).alias("close_date"),
        pl.when(pl.col("closed")).then(pl.col("value")).alias("close_value"),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--opportunities", type=int, required=True)
    parser.add_argument("--partners", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-companion", action="store_true", help="write no leads, quotes, cases or calls"
    )
    args = parser.parse_args(argv)
    write_seed_folder(
        args.folder,
        args.opportunities,
        args.partners,
        seed=args.seed,
        companion=not args.no_companion,
    )


if __name__ == "__main__":
    main()

"""Write a large seed folder in the layout of ../shared/data/README.md, for benchmarks.

The rows follow the bundled dataset's shape (stages, dates, products, empty
accounts on open deals) at any size, from a fixed seed.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

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
FIRST = date(2016, 10, 20)
LAST = date(2017, 12, 31)


def write_seed_folder(
    folder: Path, opportunities: int, partners: int, *, customers: int = 0, seed: int = 7
) -> Path:
    """A seed folder with the given numbers of opportunities and partners."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    customers = customers or max(85, partners * 3)
    agents = [f"Agent {i:05d}" for i in range(partners)]
    accounts = [f"Customer {i:06d}" for i in range(customers)]
    with (folder / "sales_teams.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sales_agent", "manager", "regional_office"])
        for i, agent in enumerate(agents):
            writer.writerow([agent, f"Manager {i % 50:02d}", ("Central", "East", "West")[i % 3]])
    with (folder / "accounts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account", "sector", "year_established", "revenue", "employees",
                         "office_location", "subsidiary_of"])  # fmt: skip
        for i, account in enumerate(accounts):
            sector = ("retail", "medical", "software")[i % 3]
            writer.writerow(
                [account, sector, 1990 + i % 30, 100 + i % 900, 50 + i % 5000, "United States", ""]
            )
    with (folder / "products.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product", "series", "sales_price"])
        for name, price in PRODUCTS.items():
            writer.writerow([name, name.split()[0], price])
    span = (LAST - FIRST).days
    names = list(PRODUCTS)
    with (folder / "sales_pipeline.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PIPELINE_COLUMNS)
        for i in range(opportunities):
            stage = rng.choices(("Won", "Lost", "Engaging", "Prospecting"), (48, 28, 18, 6))[0]
            product = rng.choice(names)
            account = "" if stage in ("Engaging", "Prospecting") and rng.random() < 0.6 else (
                rng.choice(accounts))  # fmt: skip
            engage = FIRST + timedelta(days=rng.randrange(span))
            close = min(engage + timedelta(days=rng.randrange(1, 140)), LAST)
            row = [f"B{i:09d}", rng.choice(agents), product, account, stage]
            if stage == "Prospecting":
                row += ["", "", ""]
            elif stage == "Engaging":
                row += [engage.isoformat(), "", ""]
            else:
                value = round(PRODUCTS[product] * rng.uniform(0.8, 1.1)) if stage == "Won" else 0
                row += [engage.isoformat(), close.isoformat(), str(value)]
            writer.writerow(row)
    return folder

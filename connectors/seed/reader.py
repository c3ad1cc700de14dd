"""Read a seed folder (the layout of ../shared/data/README.md) into the common schema."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from connectors.errors import SeedFormatError
from connectors.schema import Opportunity, Partner, StageDef, StageEvent
from connectors.seed.mapping import (
    DEFAULT_CORPORATE_CURRENCY,
    SEED_STAGES,
    Currencies,
    SeedOpportunity,
    customer_id,
    latest_date,
    opportunity_from_row,
    partner_from_row,
    product_key,
    stage_history,
)

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales_pipeline.csv": (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
    "accounts.csv": ("account",),
    "sales_teams.csv": ("sales_agent", "manager", "regional_office"),
    "products.csv": ("product", "sales_price"),
}
CURRENCIES_FILE = "currencies.csv"
CURRENCY_COLUMNS = ("iso_code", "conversion_rate")


@dataclass(frozen=True)
class CustomerAccount:
    """A customer account from accounts.csv, its other columns kept as fields."""

    id: str
    name: str
    fields: dict[str, str]


@dataclass(frozen=True)
class SeedDataset:
    """Everything a seed folder holds, mapped into the common schema."""

    partners: list[Partner]
    customers: list[CustomerAccount]
    seed_opportunities: list[SeedOpportunity]
    stage_events: list[StageEvent]
    currencies: Currencies
    stage_defs: tuple[StageDef, ...] = field(default=SEED_STAGES)

    @property
    def opportunities(self) -> list[Opportunity]:
        return [seed.opportunity for seed in self.seed_opportunities]


def read_rows(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    """The rows of one seed CSV; a missing file or column names the file and the column."""
    if not path.is_file():
        raise SeedFormatError(f"{path}: file not found (a seed folder needs it)")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in required if c not in columns]
        if missing:
            raise SeedFormatError(
                f"{path}: missing column {', '.join(repr(c) for c in missing)} "
                f"(found: {', '.join(columns) or 'no header'})"
            )
        return [{k.strip(): (v or "") for k, v in row.items() if k} for row in reader]


def _read_currencies(folder: Path) -> Currencies:
    path = folder / CURRENCIES_FILE
    if not path.exists():
        return Currencies(corporate=DEFAULT_CORPORATE_CURRENCY, rates={"USD": 1.0})
    rows = read_rows(path, CURRENCY_COLUMNS)
    if not rows:
        raise SeedFormatError(f"{path}: no rows; the first row must be the corporate currency")
    rates: dict[str, float] = {}
    for number, row in enumerate(rows, start=2):
        try:
            rate = float(row["conversion_rate"])
        except ValueError:
            raise SeedFormatError(
                f"{path}, line {number}: conversion_rate {row['conversion_rate']!r} is not a number"
            ) from None
        if rate <= 0:
            raise SeedFormatError(f"{path}, line {number}: conversion_rate must be > 0")
        rates[row["iso_code"].strip()] = rate
    corporate = rows[0]["iso_code"].strip()
    if rates[corporate] != 1.0:
        raise SeedFormatError(
            f"{path}: the first row is the corporate currency and must have rate 1"
        )
    return Currencies(corporate=corporate, rates=rates)


def _read_prices(folder: Path) -> dict[str, float]:
    path = folder / "products.csv"
    prices: dict[str, float] = {}
    for number, row in enumerate(read_rows(path, REQUIRED_COLUMNS["products.csv"]), start=2):
        try:
            prices[product_key(row["product"])] = float(row["sales_price"])
        except ValueError:
            raise SeedFormatError(
                f"{path}, line {number}: sales_price {row['sales_price']!r} is not a number"
            ) from None
    return prices


def read_seed(folder: Path | str) -> SeedDataset:
    """Read a seed folder into partners, customers, opportunities and stage history."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SeedFormatError(f"{folder}: not a folder")
    teams = read_rows(folder / "sales_teams.csv", REQUIRED_COLUMNS["sales_teams.csv"])
    accounts = read_rows(folder / "accounts.csv", REQUIRED_COLUMNS["accounts.csv"])
    pipeline = read_rows(folder / "sales_pipeline.csv", REQUIRED_COLUMNS["sales_pipeline.csv"])
    prices = _read_prices(folder)
    currencies = _read_currencies(folder)

    fallback_created = latest_date(pipeline)
    seeds = [
        opportunity_from_row(
            row, prices=prices, currencies=currencies, fallback_created=fallback_created
        )
        for row in pipeline
    ]
    customers = [
        CustomerAccount(
            id=customer_id(row["account"]),
            name=row["account"].strip(),
            fields={k: v for k, v in row.items() if k != "account"},
        )
        for row in accounts
    ]
    return SeedDataset(
        partners=[partner_from_row(row) for row in teams],
        customers=customers,
        seed_opportunities=seeds,
        stage_events=[event for seed in seeds for event in stage_history(seed)],
        currencies=currencies,
    )

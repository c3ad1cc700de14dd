"""Read a seed folder (the layout of ../shared/data/README.md) into the common schema."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import IO

from connectors.seed.mapping import (
    DEFAULT_CORPORATE_CURRENCY,
    SEED_STAGES,
    STAGES_BY_NAME,
    Currencies,
    SeedOpportunity,
    customer_id,
    latest_date,
    opportunity_from_row,
    partner_from_row,
    partner_id,
    product_key,
    stage_history,
)
from core.errors import SeedFormatError
from core.schema import Opportunity, Partner, StageDef, StageEvent

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
PIPELINE_FILE = "sales_pipeline.csv"
CURRENCIES_FILE = "currencies.csv"
CURRENCY_COLUMNS = ("iso_code", "conversion_rate")


@dataclass(frozen=True)
class CustomerAccount:
    """A customer account from accounts.csv, its other columns kept as fields."""

    id: str
    name: str
    fields: dict[str, str]


@dataclass(frozen=True)
class UnknownStageRow:
    """A sales_pipeline.csv row whose deal_stage is no seed stage: it cannot become a record
    (its status is unknown), so it is listed, with its line, for the data-quality step."""

    line: int
    record_id: str
    partner_id: str | None
    stage: str


@dataclass(frozen=True)
class SeedDataset:
    """Everything a seed folder holds, mapped into the common schema.

    Partners, customers and currencies are read at once; opportunities stream
    from the file (``iter_seed_opportunities``) so that a seed of a million deals
    never sits in memory as objects unless a caller asks for the lists.
    """

    folder: Path
    partners: list[Partner]
    customers: list[CustomerAccount]
    currencies: Currencies
    prices: dict[str, float]
    fallback_created: date
    opportunity_count: int
    #: rows whose stage is unknown, every one: never records, judged by data quality
    unknown_stages: tuple[UnknownStageRow, ...] = ()
    stage_defs: tuple[StageDef, ...] = field(default=SEED_STAGES)

    @property
    def pipeline_file(self) -> Path:
        return self.folder / PIPELINE_FILE

    def iter_seed_opportunities(self) -> Iterator[SeedOpportunity]:
        """The opportunities, one at a time, in file order, for a CRM to hold.

        A CRM cannot hold a deal in a stage its metadata lacks, so a seed with such rows
        is refused before anything is yielded, with every row's file and line named.
        """
        self.require_known_stages()
        yield from self._mapped()

    def require_known_stages(self) -> None:
        """A SeedFormatError naming every row whose stage is unknown, if there is one."""
        if not self.unknown_stages:
            return
        rows = "; ".join(
            f"line {row.line} ({row.record_id}: {row.stage!r})" for row in self.unknown_stages
        )
        raise SeedFormatError(
            f"{self.pipeline_file}: {len(self.unknown_stages)} rows have a deal_stage that is "
            f"no seed stage (known: {', '.join(STAGES_BY_NAME)}): {rows}"
        )

    def _mapped(self) -> Iterator[SeedOpportunity]:
        unknown = {row.line for row in self.unknown_stages}
        for line, row in iter_numbered_rows(self.pipeline_file, REQUIRED_COLUMNS[PIPELINE_FILE]):
            if line in unknown:
                continue
            yield opportunity_from_row(
                row,
                prices=self.prices,
                currencies=self.currencies,
                fallback_created=self.fallback_created,
            )

    def lines_of(self, record_ids: Iterable[str]) -> dict[str, int]:
        """The line of sales_pipeline.csv each of ``record_ids`` is on (the file is read
        again: only a run with data-quality findings asks)."""
        wanted = set(record_ids)
        if not wanted:
            return {}
        rows = iter_numbered_rows(self.pipeline_file, REQUIRED_COLUMNS[PIPELINE_FILE])
        return {
            row["opportunity_id"].strip(): line
            for line, row in rows
            if row["opportunity_id"].strip() in wanted
        }

    @cached_property
    def opportunity_ranks(self) -> dict[str, int]:
        """Each opportunity id's place in sorted id order.

        A CRM that numbers seeded records in this order keeps id order equal to
        seed-key order, so anything decided "by smaller id" (KPIS.md's tie-breaks)
        decides the same on the CRM as on the seed.
        """
        rows = iter_rows(self.folder / PIPELINE_FILE, REQUIRED_COLUMNS[PIPELINE_FILE])
        keys = sorted(row["opportunity_id"].strip() for row in rows)
        return {key: rank for rank, key in enumerate(keys)}

    @cached_property
    def seed_opportunities(self) -> list[SeedOpportunity]:
        """Every row that is a record (rows of unknown stage are in ``unknown_stages``)."""
        return list(self._mapped())

    @cached_property
    def opportunities(self) -> list[Opportunity]:
        return [seed.opportunity for seed in self.seed_opportunities]

    @cached_property
    def stage_events(self) -> list[StageEvent]:
        return [event for seed in self.seed_opportunities for event in stage_history(seed)]


def _open_csv(path: Path, required: Iterable[str]) -> tuple[IO[str], csv.DictReader[str]]:
    if not path.is_file():
        raise SeedFormatError(f"{path}: file not found (a seed folder needs it)")
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.DictReader(handle)
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in required if c not in columns]
    if missing:
        handle.close()
        raise SeedFormatError(
            f"{path}: missing column {', '.join(repr(c) for c in missing)} "
            f"(found: {', '.join(columns) or 'no header'})"
        )
    return handle, reader


def iter_numbered_rows(path: Path, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of one seed CSV with the line each ends on, streamed; a missing file or
    column names the file and column."""
    handle, reader = _open_csv(path, required)
    with handle:
        for row in reader:
            yield reader.line_num, {k.strip(): (v or "") for k, v in row.items() if k}


def iter_rows(path: Path, required: Iterable[str]) -> Iterator[dict[str, str]]:
    """The rows of one seed CSV, streamed."""
    for _line, row in iter_numbered_rows(path, required):
        yield row


def _unknown_stages(
    rows: Iterable[tuple[int, dict[str, str]]], found: list[UnknownStageRow]
) -> Iterator[dict[str, str]]:
    """``rows`` passed through, each whose stage is no seed stage added to ``found``."""
    for line, row in rows:
        stage = row["deal_stage"].strip()
        if stage not in STAGES_BY_NAME:
            agent = row["sales_agent"].strip()
            found.append(
                UnknownStageRow(
                    line, row["opportunity_id"].strip(), partner_id(agent) if agent else None, stage
                )
            )
        yield row


def read_rows(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    """The rows of one (small) seed CSV."""
    return list(iter_rows(path, required))


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
    """Read a seed folder: its small files at once, its opportunities on demand.

    The pipeline file is scanned once here, for its latest date (the fallback
    created date of undated deals), to check every column is present, and for the
    rows whose stage is unknown (every one, with its line).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SeedFormatError(f"{folder}: not a folder")
    teams = read_rows(folder / "sales_teams.csv", REQUIRED_COLUMNS["sales_teams.csv"])
    accounts = read_rows(folder / "accounts.csv", REQUIRED_COLUMNS["accounts.csv"])
    pipeline = folder / PIPELINE_FILE
    unknown: list[UnknownStageRow] = []
    fallback_created, opportunity_count = latest_date(
        _unknown_stages(iter_numbered_rows(pipeline, REQUIRED_COLUMNS[PIPELINE_FILE]), unknown)
    )
    customers = [
        CustomerAccount(
            id=customer_id(row["account"]),
            name=row["account"].strip(),
            fields={k: v for k, v in row.items() if k != "account"},
        )
        for row in accounts
    ]
    return SeedDataset(
        folder=folder,
        partners=[partner_from_row(row) for row in teams],
        customers=customers,
        currencies=_read_currencies(folder),
        prices=_read_prices(folder),
        fallback_created=fallback_created,
        opportunity_count=opportunity_count,
        unknown_stages=tuple(unknown),
    )

"""Read a seed folder (the layout of ../shared/data/README.md) into the common schema.

Every file is read by Polars into columns (``table.read_table``) and the pipeline is
mapped as columns (``mapping.map_pipeline``): a seed of a million deals is a few
hundred MB of Arrow memory, never a million Python objects. A value that cannot be
read is named by file, line, record and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from connectors.seed.activity import ActivityContext, read_activity
from connectors.seed.mapping import (
    DEFAULT_CORPORATE_CURRENCY,
    REQUIRED_PIPELINE_COLUMNS,
    SEED_STAGES,
    STAGES_BY_NAME,
    BadValues,
    Currencies,
    customer_id,
    map_pipeline,
    partner_from_row,
    product_key,
    refuse_bad_values,
    stage_events,
)
from connectors.seed.table import ROW, line_numbers, read_table
from core.errors import SeedFormatError
from core.schema import (
    ACTIVITY_ENTITIES,
    OPPORTUNITY_ENTITY,
    STAGE_EVENT_ENTITY,
    Opportunity,
    Partner,
    StageDef,
    StageEvent,
)
from kpi_engine.frames import Activity

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales_pipeline.csv": REQUIRED_PIPELINE_COLUMNS,
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

    ``records`` holds the pipeline's records as columns (the Opportunity layout, the
    seed's own columns a CRM record needs, and each row's place in the file);
    ``activity_rows`` the activity files likewise (``connectors.seed.activity``).
    """

    folder: Path
    partners: list[Partner]
    customers: list[CustomerAccount]
    currencies: Currencies
    prices: dict[str, float]
    fallback_created: date
    opportunity_count: int
    records: pl.DataFrame
    #: rows whose stage is unknown, every one: never records, judged by data quality
    unknown_stages: tuple[UnknownStageRow, ...] = ()
    stage_defs: tuple[StageDef, ...] = field(default=SEED_STAGES)
    #: each activity stream's rows (None: its file is absent), in the entity's whole layout,
    #: then the seed's own columns and ``ROW`` (``connectors.seed.activity``)
    activity_rows: dict[str, pl.DataFrame | None] = field(
        default_factory=lambda: dict.fromkeys(ACTIVITY_ENTITIES)
    )
    #: products.csv's names by ``product_key``
    product_names: dict[str, str] = field(default_factory=dict)
    #: the activity frames hold their entity's scored layout only (``read_seed``)
    scored_only: bool = False

    @property
    def pipeline_file(self) -> Path:
        return self.folder / PIPELINE_FILE

    def require_known_stages(self) -> None:
        """A SeedFormatError naming every row whose stage is unknown, if there is one: a
        CRM cannot hold a deal in a stage its metadata lacks."""
        if not self.unknown_stages:
            return
        rows = "; ".join(
            f"line {row.line} ({row.record_id}: {row.stage!r})" for row in self.unknown_stages
        )
        raise SeedFormatError(
            f"{self.pipeline_file}: {len(self.unknown_stages)} rows have a deal_stage that is "
            f"no seed stage (known: {', '.join(STAGES_BY_NAME)}): {rows}"
        )

    @cached_property
    def activity(self) -> Activity:
        """The leads, quotes, cases, calls and line items, each in its entity's whole layout,
        or its scored one when read ``scored_only`` (None: the seed has no such file, so the
        CRM has none of that object)."""
        if not self.activity_rows:
            raise RuntimeError(f"{self.folder}: the seed's activity was taken (take_activity)")
        return Activity(
            **{
                stream: None if rows is None else rows.select(self._activity_layout(stream).names)
                for stream, rows in self.activity_rows.items()
            }
        )

    def take_activity(self) -> Activity:
        """``activity``, which the dataset holds no more: handed straight to the engine, which
        lets it go once its sums are made (~220 MB at 1 M deals in the scored layout)."""
        activity = self.activity
        del self.__dict__["activity"]
        self.activity_rows.clear()
        return activity

    def _activity_layout(self, stream: str) -> pa.Schema:
        entity = ACTIVITY_ENTITIES[stream]
        return entity.scored_layout if self.scored_only else entity.layout

    def opportunities_table(self) -> pa.Table:
        """The records in the whole Opportunity layout."""
        return _in_layout(self.records, OPPORTUNITY_ENTITY.layout)

    @cached_property
    def stage_events_frame(self) -> pl.DataFrame:
        """The records' stage histories (the README's rule), in the StageEvent layout."""
        return stage_events(self.records)

    def stage_events_table(self) -> pa.Table:
        """The stage histories in the StageEvent layout."""
        return _in_layout(self.stage_events_frame, STAGE_EVENT_ENTITY.layout)

    def lines_of(self, record_ids: Iterable[str]) -> dict[str, int]:
        """The line of sales_pipeline.csv each of ``record_ids`` is on (a record's, or a row's
        of an unknown stage)."""
        wanted = set(record_ids)
        rows = self.records.filter(pl.col("id").is_in(list(wanted))).select("id", ROW)
        lines = line_numbers(self.pipeline_file, rows[ROW])
        found = {row.record_id: row.line for row in self.unknown_stages if row.record_id in wanted}
        return found | {record_id: lines[row] for record_id, row in rows.iter_rows()}

    # One model per record: for callers that handle records one at a time (tests, the
    # small bundled seed); large seeds travel as the tables above.

    @cached_property
    def opportunities(self) -> list[Opportunity]:
        """The records as Opportunity models, in file order."""
        return _models(Opportunity, self.opportunities_table())

    @cached_property
    def stage_events(self) -> list[StageEvent]:
        """The stage histories as StageEvent models."""
        return _models(StageEvent, self.stage_events_table())


def _in_layout(frame: pl.DataFrame, layout: pa.Schema) -> pa.Table:
    return frame.select(layout.names).to_arrow().cast(layout)


def _models(model: type[Any], table: pa.Table) -> list[Any]:
    return [model.model_validate(row) for row in table.to_pylist()]


def iter_rows(path: Path, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of one (small) seed CSV as dicts, each with the line it ends on."""
    table = read_table(path, required)
    lines = line_numbers(path, table[ROW])
    for row in table.iter_rows(named=True):
        number = row.pop(ROW)
        yield lines[number], row


def _read_currencies(folder: Path) -> Currencies:
    path = folder / CURRENCIES_FILE
    if not path.exists():
        return Currencies(corporate=DEFAULT_CORPORATE_CURRENCY, rates={"USD": 1.0})
    rows = list(iter_rows(path, CURRENCY_COLUMNS))
    if not rows:
        raise SeedFormatError(f"{path}: no rows; the first row must be the corporate currency")
    rates: dict[str, float] = {}
    for line, row in rows:
        try:
            rate = float(row["conversion_rate"])
        except ValueError:
            raise SeedFormatError(
                f"{path}, line {line}: conversion_rate {row['conversion_rate']!r} is not a number"
            ) from None
        if rate <= 0:
            raise SeedFormatError(f"{path}, line {line}: conversion_rate must be > 0")
        rates[row["iso_code"].strip()] = rate
    corporate = rows[0][1]["iso_code"].strip()
    if rates[corporate] != 1.0:
        raise SeedFormatError(
            f"{path}: the first row is the corporate currency and must have rate 1"
        )
    return Currencies(corporate=corporate, rates=rates)


def _read_products(folder: Path) -> tuple[dict[str, float], dict[str, str]]:
    """products.csv's prices and names, each by ``product_key``."""
    path = folder / "products.csv"
    prices: dict[str, float] = {}
    names: dict[str, str] = {}
    for line, row in iter_rows(path, REQUIRED_COLUMNS["products.csv"]):
        key = product_key(row["product"])
        names[key] = row["product"].strip()
        try:
            prices[key] = float(row["sales_price"])
        except ValueError:
            raise SeedFormatError(
                f"{path}, line {line}: sales_price {row['sales_price']!r} is not a number"
            ) from None
    return prices, names


def _customers(folder: Path) -> list[CustomerAccount]:
    return [
        CustomerAccount(
            id=customer_id(row["account"]),
            name=row["account"].strip(),
            fields={k: v for k, v in row.items() if k != "account"},
        )
        for _line, row in iter_rows(folder / "accounts.csv", REQUIRED_COLUMNS["accounts.csv"])
    ]


def _unknown_stages(path: Path, unknown: pl.DataFrame) -> tuple[UnknownStageRow, ...]:
    lines = line_numbers(path, unknown[ROW])
    return tuple(
        UnknownStageRow(lines[row], record_id, partner, stage)
        for row, record_id, partner, stage in unknown.rows()
    )


def read_seed(folder: Path | str, *, scored_only: bool = False) -> SeedDataset:
    """Read a seed folder: every file, the pipeline mapped into records as columns.

    With ``scored_only`` (a seed scored, never served as a CRM) every activity file is
    still read and checked whole, but only the columns the KPIs read are kept."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SeedFormatError(f"{folder}: not a folder")
    teams = list(iter_rows(folder / "sales_teams.csv", REQUIRED_COLUMNS["sales_teams.csv"]))
    customers = _customers(folder)
    path = folder / PIPELINE_FILE
    table = read_table(path, REQUIRED_COLUMNS[PIPELINE_FILE])
    rates = _read_currencies(folder)
    prices, product_names = _read_products(folder)
    try:
        mapped = map_pipeline(table, prices=prices, currencies=rates)
    except BadValues as error:
        raise refuse_bad_values(path, error.found, "opportunity") from None
    context = ActivityContext(
        records=mapped.records,
        opportunity_ids=pl.concat([mapped.records["id"], mapped.unknown["id"]]),
        customer_names=frozenset(customer.name for customer in customers),
        product_names=product_names,
        currencies=rates,
    )
    return SeedDataset(
        folder=folder,
        partners=[partner_from_row(row) for _line, row in teams],
        customers=customers,
        currencies=rates,
        prices=prices,
        fallback_created=mapped.fallback_created,
        opportunity_count=table.height,
        records=mapped.records,
        unknown_stages=_unknown_stages(path, mapped.unknown),
        activity_rows=read_activity(folder, context, scored_only=scored_only),
        product_names=product_names,
        scored_only=scored_only,
    )

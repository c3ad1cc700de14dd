"""How a seed row becomes CRM records: the rules of ../shared/data/README.md, once.

Both the seed reader (``partner-kpi audit --seed``) and the sandbox CRM build
their records through these functions, so the two can never disagree.
Everything here is pure: the pipeline file's frame of strings in, a frame of
records in the common schema's layout out (``map_pipeline``, ``stage_events``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from connectors.seed.table import ROW, line_numbers
from core.errors import SeedFormatError
from core.schema import OpportunityStatus, Partner, StageDef

#: The seed's stages and what the CRM's stage metadata says about them.
SEED_STAGES: tuple[StageDef, ...] = (
    StageDef(name="Prospecting", status=OpportunityStatus.OPEN, probability=0.1, sort_order=1),
    StageDef(name="Engaging", status=OpportunityStatus.OPEN, probability=0.5, sort_order=2),
    StageDef(name="Won", status=OpportunityStatus.WON, probability=1.0, sort_order=3),
    StageDef(name="Lost", status=OpportunityStatus.LOST, probability=0.0, sort_order=4),
)
STAGES_BY_NAME: dict[str, StageDef] = {stage.name: stage for stage in SEED_STAGES}
_STATUS_OF_STAGE = {stage.name: stage.status.value for stage in SEED_STAGES}
_PROBABILITY_OF_STAGE = {stage.name: stage.probability for stage in SEED_STAGES}

#: The columns sales_pipeline.csv must have.
REQUIRED_PIPELINE_COLUMNS = (
    "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
    "close_date", "close_value",
)  # fmt: skip

#: Stand-in lead sources for seeds without a lead_source column (README's fixed rule).
LEAD_SOURCE_CHOICES = ("Web", "Paid Search", "Partner Referral", "Trade Show", "Email")
OPEN_DEAL_CLOSE_DAYS = 90
DEFAULT_CORPORATE_CURRENCY = "USD"
PARTNER_ROLE = "Reseller"


def slug(name: str) -> str:
    """A stable, readable id for a named seed row: 'Anna Snelling' → 'anna-snelling'."""
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def partner_id(agent: str) -> str:
    """The id of the partner account made from a sales agent."""
    return f"partner-{slug(agent)}"


def customer_id(account: str) -> str:
    """The id of the customer account made from an accounts.csv row."""
    return f"customer-{slug(account)}"


def product_key(product: str) -> str:
    """Product names compared with spaces and case ignored (GTXPro matches GTX Pro)."""
    return re.sub(r"\s+", "", product).lower()


def stand_in_lead_sources(opportunity_ids: Iterable[str]) -> list[str]:
    """The README's fixed rule for seeds that carry no lead source: the choice at sha256 of
    the id mod 5 (a comprehension, not a call per id: a million ids cost ~0.5 s)."""
    choices, count, sha256, number = (
        LEAD_SOURCE_CHOICES,
        len(LEAD_SOURCE_CHOICES),
        hashlib.sha256,
        int.from_bytes,
    )
    return [choices[number(sha256(key.encode()).digest()) % count] for key in opportunity_ids]


@dataclass(frozen=True)
class Currencies:
    """The corporate currency and the rates (units of it per one unit of each currency)."""

    corporate: str
    #: an amount in the corporate currency is the amount / its currency's rate; an amount
    #: in a currency with no rate stays unconverted (rule currency_without_rate judges it)
    rates: Mapping[str, float]


def partner_from_row(row: Mapping[str, str]) -> Partner:
    """A sales_teams.csv row as a partner account."""
    agent = row["sales_agent"].strip()
    return Partner(
        id=partner_id(agent),
        name=agent,
        region=row.get("regional_office") or None,
        channel_manager=row.get("manager") or None,
    )


# --- sales_pipeline.csv, as columns -------------------------------------------------------
#
# The rules below are the README's, written as Polars expressions over the whole file: a
# million rows are mapped in native code, never as a million Python objects. A value the
# rules cannot read stops the mapping with the file, line, record and column named.

#: Optional pipeline columns, read when the file has them.
OPTIONAL_PIPELINE_COLUMNS = ("created_date", "amount", "currency", "lead_source", "deal_type")
DATE_FORMAT = "%Y-%m-%d"
#: the pipeline file's name of a column the mapping renames
_FILE_COLUMN = {"id": "opportunity_id", "stage": "deal_stage"}


@dataclass(frozen=True)
class PipelineRecords:
    """A pipeline file mapped: the rows of a seed stage as records, the others as found."""

    #: the Opportunity layout's columns, then what the sandbox's CRM records need besides
    #: (product, customer_name, partner_name, engage_date, deal_type), then the file's ``ROW``
    records: pl.DataFrame
    #: rows whose stage is no seed stage: ``ROW``, ``id``, ``partner_id``, ``stage``
    unknown: pl.DataFrame
    #: the created date of a record with no date: the file's latest date
    fallback_created: date


@dataclass(frozen=True)
class BadValue:
    """A value of a pipeline row the rules cannot read (row, record, column, value, why)."""

    row: int
    record_id: str
    column: str
    value: str
    expected: str


class BadValues(Exception):
    """Values the mapping cannot read, in file order: the reader names their lines."""

    def __init__(self, found: list[BadValue]) -> None:
        super().__init__(f"{len(found)} values cannot be read")
        self.found = found


#: bad values named in full in an error; the rest are counted
NAMED_BAD_VALUES = 5


def refuse_bad_values(path: Path, found: list[BadValue], noun: str) -> SeedFormatError:
    """The error naming the first bad values of ``path`` (in file order) by line, record
    (``noun`` and id) and column, and counting the rest."""
    lines = line_numbers(path, (bad.row for bad in found[:NAMED_BAD_VALUES]))
    named = "; ".join(
        f"line {lines[bad.row]}: {noun} {bad.record_id!r}: {bad.column} {bad.value!r} "
        f"is not {bad.expected}"
        for bad in found[:NAMED_BAD_VALUES]
    )
    more = len(found) - NAMED_BAD_VALUES
    tail = f" (and {more} more)" if more > 0 else ""
    first = found[0].record_id or None
    return SeedFormatError(f"{path}: {named}{tail}", record_id=first)


def _each_distinct(
    frame: pl.DataFrame, column: str, rule: Callable[[str], object], dtype: pl.DataType
) -> pl.Expr:
    """``rule`` applied to each distinct non-empty value of ``column`` (a few thousand
    partners, products or currencies among a million rows) and mapped back onto the rows:
    the scalar rule stays the one definition, at the cost of the distinct values only."""
    values = frame[column].unique().to_list()
    mapping = {value: rule(value) for value in values if value}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=dtype)


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text == "").then(None).otherwise(text)


def _stripped(table: pl.DataFrame, column: str) -> pl.Expr:
    present = column in table.columns
    return (pl.col(column).str.strip_chars() if present else pl.lit("")).alias(column)


def _latest_date(parsed: pl.DataFrame) -> date:
    """The dataset's latest date: the largest readable engage_date or close_date of any row
    (a value that cannot be read is named by the row checks, with its line)."""
    latest = parsed.select(
        pl.max_horizontal(pl.col("engage_date__date").max(), pl.col("close_date__date").max())
    ).item()
    if latest is None:
        raise SeedFormatError("sales_pipeline.csv has no engage_date or close_date at all")
    assert isinstance(latest, date)
    return latest


def _bad_values(frame: pl.DataFrame, checks: Mapping[str, tuple[pl.Expr, str]]) -> list[BadValue]:
    found: list[BadValue] = []
    for column, (bad, expected) in checks.items():
        rows = frame.filter(bad).select(
            ROW, pl.col("id").alias("record"), pl.col(column).alias("value")
        )
        name = _FILE_COLUMN.get(column, column)
        found.extend(BadValue(row, rid, name, value, expected) for row, rid, value in rows.rows())
    return sorted(found, key=lambda bad: bad.row)


def map_pipeline(
    table: pl.DataFrame,
    *,
    prices: Mapping[str, float],
    currencies: Currencies,
) -> PipelineRecords:
    """The rows of sales_pipeline.csv (``read_table``'s frame) as opportunity records.

    A row's stage must be a seed stage to become a record (the others are returned
    apart, for data quality to judge); implausible values (a NaN amount, a won deal with
    no close date) are kept for the data-quality rules. BadValues when a date or number
    cannot be read or an opportunity_id is empty.
    """
    # the stand-in lead sources are hashed in Python, on a thread: the mapping below runs in
    # Polars, which lets go of the GIL, so the two share the machine's cores
    with ThreadPoolExecutor(max_workers=1) as pool:
        return _mapped(table, prices=prices, currencies=currencies, pool=pool)


def _mapped(
    table: pl.DataFrame,
    *,
    prices: Mapping[str, float],
    currencies: Currencies,
    pool: ThreadPoolExecutor,
) -> PipelineRecords:
    text = table.select(
        ROW,
        *(_stripped(table, c) for c in REQUIRED_PIPELINE_COLUMNS),
        *(_stripped(table, c) for c in OPTIONAL_PIPELINE_COLUMNS),
    ).rename({"opportunity_id": "id", "deal_stage": "stage"})
    # ``id`` and ``stage`` are the file's opportunity_id and deal_stage, stripped
    lead_sources = pool.submit(_lead_sources, text)
    partner = _each_distinct(text, "sales_agent", partner_id, pl.String())
    # one mask: the records and their lead sources are the rows of a seed stage
    known = text["stage"].is_in(list(STAGES_BY_NAME))
    unknown = text.filter(~known).select(ROW, "id", partner.alias("partner_id"), "stage")

    parsed = text.with_columns(
        *(
            pl.col(c).str.to_date(DATE_FORMAT, strict=False).alias(f"{c}__date")
            for c in ("engage_date", "close_date", "created_date")
        ),
        *(
            pl.col(c).cast(pl.Float64, strict=False).alias(f"{c}__number")
            for c in ("amount", "close_value")
        ),
    )
    fallback_created = _latest_date(parsed)
    parsed = parsed.filter(known).with_columns(
        pl.col("stage").replace_strict(_STATUS_OF_STAGE, return_dtype=pl.String).alias("status")
    )
    won = pl.col("status") == OpportunityStatus.WON.value
    close_value_used = won & pl.col("amount__number").is_null() & (pl.col("amount") == "")

    def unreadable(column: str, suffix: str, used: pl.Expr | None = None) -> pl.Expr:
        found = (pl.col(column) != "") & pl.col(f"{column}__{suffix}").is_null()
        return found if used is None else used & found

    bad = _bad_values(
        parsed,
        {
            "id": (pl.col("id") == "", "a non-empty opportunity_id"),
            **{
                c: (unreadable(c, "date"), "a YYYY-MM-DD date")
                for c in ("engage_date", "close_date", "created_date")
            },
            "amount": (unreadable("amount", "number"), "a number"),
            "close_value": (unreadable("close_value", "number", close_value_used), "a number"),
        },
    )
    if bad:
        raise BadValues(bad)

    created = pl.coalesce("created_date__date", "engage_date__date", pl.lit(fallback_created))
    is_open = pl.col("status") == OpportunityStatus.OPEN.value
    product = _blank_to_null(pl.col("product"))
    price = _each_distinct(
        parsed, "product", lambda product: prices.get(product_key(product)), pl.Float64()
    )
    amount = (
        pl.when(pl.col("amount__number").is_not_null())
        .then(pl.col("amount__number"))
        .when(won)
        .then(pl.col("close_value__number"))
        .when(product.is_not_null())
        .then(price)
    )
    currency = (
        pl.when(pl.col("currency") == "")
        .then(pl.lit(currencies.corporate))
        .otherwise(pl.col("currency"))
    )
    rate = currency.replace_strict(dict(currencies.rates), default=None, return_dtype=pl.Float64)
    customer = _blank_to_null(pl.col("account"))
    records = parsed.with_columns(
        created.alias("created_date"),
        amount.alias("amount_original"),
        currency.alias("currency"),
        customer.alias("customer_name"),
        product.alias("product"),
        pl.col("engage_date__date").alias("engage_date"),
    ).select(
        "id",
        pl.concat_str(
            pl.col("customer_name").fill_null("No account"),
            pl.lit(" – "),
            pl.col("product").fill_null("no product"),
        ).alias("name"),
        partner.alias("partner_id"),
        _each_distinct(parsed, "account", customer_id, pl.String()).alias("account_id"),
        "stage",
        "status",
        pl.col("stage").replace_strict(_PROBABILITY_OF_STAGE, return_dtype=pl.Float64)
        .alias("probability"),
        (pl.col("amount_original") / rate).alias("amount"),
        "amount_original",
        "currency",
        "created_date",
        pl.when(is_open)
        .then(pl.col("created_date") + timedelta(days=OPEN_DEAL_CLOSE_DAYS))
        .otherwise(pl.col("close_date__date"))
        .alias("close_date"),
        "lead_source",
        "product",
        "customer_name",
        pl.col("sales_agent").alias("partner_name"),
        "engage_date",
        _blank_to_null(pl.col("deal_type")).alias("deal_type"),
        ROW,
    )  # fmt: skip
    lead_source = lead_sources.result().filter(known)
    records = records.with_columns(lead_source.alias("lead_source"))
    return PipelineRecords(records, unknown, fallback_created)


def _lead_sources(text: pl.DataFrame) -> pl.Series:
    """Each row's lead source: the file's, or the README's stand-in where it gives none."""
    given = text["lead_source"]
    missing = given == ""
    if not missing.any():
        return given
    if missing.all():
        return pl.Series(stand_in_lead_sources(text["id"].to_list()), dtype=pl.String)
    where = missing.arg_true()
    return given.scatter(where, stand_in_lead_sources(text["id"].gather(where).to_list()))


def stage_events(records: pl.DataFrame) -> pl.DataFrame:
    """The README's stage history of ``records``, in the StageEvent layout: Prospecting on
    the created date, Engaging on engage_date, Won or Lost on close_date, numbered in that
    order (``sequence``)."""
    closed = (pl.col("status") != OpportunityStatus.OPEN.value) & pl.col("close_date").is_not_null()
    engaged = pl.col("engage_date").is_not_null()

    rows = records.lazy()

    def visits(rows: pl.LazyFrame, stage: pl.Expr, day: str, sequence: pl.Expr) -> pl.LazyFrame:
        return rows.select(
            pl.col("id").alias("opportunity_id"),
            stage.alias("stage"),
            pl.col(day).alias("entered_date"),
            sequence.cast(pl.Int32).alias("sequence"),
        )

    # lazily: the filtered copies of the records are never made whole
    return pl.concat(
        [
            visits(rows, pl.lit("Prospecting"), "created_date", pl.lit(0)),
            visits(rows.filter(engaged), pl.lit("Engaging"), "engage_date", pl.lit(1)),
            visits(rows.filter(closed), pl.col("stage"), "close_date", 1 + engaged.cast(pl.Int32)),
        ]
    ).collect()

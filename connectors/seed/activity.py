"""A seed's optional activity files (leads, quotes, cases, calls, line items) as columns.

The rules are ../shared/data/README.md's "More objects": each file present becomes one
frame in its entity's whole layout (``core.schema.ACTIVITY_ENTITIES``), read and checked
as columns like the pipeline; an absent file is None (the CRM has none of that object),
a file of a header only an empty frame. The Maven ``product`` column stands in for an
absent ``line_items.csv``: one line item per opportunity, quantity 1, its amount.

Beside the layout every frame keeps ``ROW`` (its row's place in the file; a derived line
item, its opportunity's in the pipeline) and the seed's own names a CRM record is made
from (``SOURCE_COLUMNS``): the sandbox seeds its objects from these frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.seed.mapping import (
    DATE_FORMAT,
    BadValue,
    Currencies,
    customer_id,
    partner_id,
    product_key,
    refuse_bad_values,
)
from connectors.seed.table import ROW, read_table
from core.schema import ACTIVITY_ENTITIES, CallOutcome
from kpi_engine.frames import increasing

#: each activity stream's file in a seed folder
ACTIVITY_FILES: dict[str, str] = {
    "leads": "leads.csv",
    "quotes": "quotes.csv",
    "cases": "cases.csv",
    "calls": "calls.csv",
    "line_items": "line_items.csv",
}
#: each file's columns (README "More objects"), all required when the file is present
ACTIVITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("lead_id", "sales_agent", "created_date", "status", "converted_date",
              "opportunity_id", "lead_source"),
    "quotes": ("quote_id", "opportunity_id", "created_date", "status", "sent_date"),
    "cases": ("case_id", "account", "created_date", "closed_date", "type", "contacts",
              "reopened"),
    "calls": ("call_id", "opportunity_id", "date", "duration_seconds", "outcome"),
    "line_items": ("opportunity_id", "product", "quantity", "amount"),
}  # fmt: skip
LEAD_STATUSES = ("Open", "Converted", "Disqualified")
CONVERTED = "Converted"
QUOTE_STATUSES = ("Draft", "Presented", "Accepted", "Denied")
CASE_TYPES = ("Question", "Problem", "Onboarding")
CALL_OUTCOMES = (CallOutcome.CONNECTED, CallOutcome.NO_ANSWER, CallOutcome.VOICEMAIL)
#: the seed's own columns each frame keeps beside its entity's layout (then ``ROW``)
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("partner_name",),  # the file's sales_agent ("" → null)
    "quotes": (),
    "cases": ("customer_name",),  # the file's account
    "calls": (),
    # the amount in the opportunity's currency, and that currency
    "line_items": ("amount_original", "currency"),
}
#: what a record of each stream is called in an error
_NOUN = {
    "leads": "lead",
    "quotes": "quote",
    "cases": "case",
    "calls": "call",
    "line_items": "line item of opportunity",
}
#: the file column that names a row in an error
_ROW_NAME = {
    "leads": "lead_id",
    "quotes": "quote_id",
    "cases": "case_id",
    "calls": "call_id",
    "line_items": "opportunity_id",
}


@dataclass(frozen=True)
class ActivityContext:
    """What the activity files are checked against: the rest of the seed."""

    #: the pipeline's records (``map_pipeline``): ``id``, ``product``, ``amount``,
    #: ``amount_original``, ``currency``, ``ROW``
    records: pl.DataFrame
    #: every opportunity_id of the pipeline, unknown stages included
    opportunity_ids: pl.Series
    #: accounts.csv's names
    customer_names: frozenset[str]
    #: products.csv's names by ``product_key``
    product_names: Mapping[str, str]
    currencies: Currencies


def read_activity(
    folder: Path, context: ActivityContext, *, scored_only: bool = False
) -> dict[str, pl.DataFrame | None]:
    """Each activity stream's frame (None when its file is absent), in stream order; with
    ``scored_only`` only its entity's scored layout is kept once every column is checked."""
    readers = {
        "leads": _leads,
        "quotes": _quotes,
        "cases": _cases,
        "calls": _calls,
        "line_items": _line_items,
    }
    frames: dict[str, pl.DataFrame | None] = {}
    for stream in ACTIVITY_ENTITIES:
        path = folder / ACTIVITY_FILES[stream]
        if stream == "line_items" and not path.exists():
            frames[stream] = _line_items_of_products(context)
        elif path.exists():
            text = _text(path, ACTIVITY_COLUMNS[stream])
            frames[stream] = _in_layout(stream, readers[stream](path, text, context))
        else:
            frames[stream] = None
        if scored_only and (frame := frames[stream]) is not None:
            # the KPIs read a third of the columns: the rest (a CRM record's) is let go
            frames[stream] = frame.select(ACTIVITY_ENTITIES[stream].scored_layout.names)
    return frames


def _text(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    table = read_table(path, columns)
    return table.select(ROW, *(pl.col(c).str.strip_chars() for c in columns))


def _in_layout(stream: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` as the entity's whole layout (its Polars types), then the source columns."""
    layout = ACTIVITY_ENTITIES[stream].layout
    empty = pl.from_arrow(layout.empty_table())
    assert isinstance(empty, pl.DataFrame)
    return frame.select(
        *(pl.col(name).cast(dtype) for name, dtype in empty.schema.items()),
        *SOURCE_COLUMNS[stream],
        ROW,
    )


# --- checks, as columns ---------------------------------------------------------------


def _blank_to_null(column: str) -> pl.Expr:
    return pl.when(pl.col(column) == "").then(None).otherwise(pl.col(column))


def _date(column: str) -> pl.Expr:
    return pl.col(column).str.to_date(DATE_FORMAT, strict=False)


def _bad_date(column: str, *, required: bool) -> tuple[pl.Expr, str]:
    unreadable = (pl.col(column) != "") & _date(column).is_null()
    if required:
        return (pl.col(column) == "") | unreadable, "a YYYY-MM-DD date"
    return unreadable, "a YYYY-MM-DD date or empty"


def _not_one_of(column: str, allowed: tuple[str, ...], *, optional: bool) -> tuple[pl.Expr, str]:
    values = list(allowed) + ([""] if optional else [])
    words = ", ".join(allowed) + (" or empty" if optional else "")
    return ~pl.col(column).is_in(values), f"one of {words}"


def _repeated_or_empty(text: pl.DataFrame, column: str) -> tuple[pl.Expr, str]:
    ids = pl.col(column)
    bad = (ids == "") if increasing(text[column]) else (ids == "") | ~ids.is_first_distinct()
    return bad, "a non-empty id no earlier row has"


def _unknown_opportunity(
    text: pl.DataFrame, context: ActivityContext, *, optional: bool
) -> tuple[pl.Expr, str]:
    """The file's ``opportunity_id`` names no row of sales_pipeline.csv."""
    column = "opportunity_id"
    # the few values no opportunity has, found by a join: a third of the time of is_in
    # against the million opportunity ids (1.7 M calls: 0.09 s, was 0.32 s)
    known = context.opportunity_ids.alias(column).to_frame()
    strangers = text.select(column).join(known, on=column, how="anti")[column].unique()
    unknown = pl.col(column).is_in(strangers.implode())
    if optional:
        return (pl.col(column) != "") & unknown, "an opportunity_id of sales_pipeline.csv or empty"
    return unknown, "an opportunity_id of sales_pipeline.csv"


def _check(
    path: Path, stream: str, text: pl.DataFrame, checks: list[tuple[str, tuple[pl.Expr, str]]]
) -> None:
    """A SeedFormatError naming the file, line, record and column of every bad value."""
    found: list[BadValue] = []
    name = _ROW_NAME[stream]
    for column, (bad, expected) in checks:
        rows = text.filter(bad).select(ROW, pl.col(name), pl.col(column).alias("value"))
        found.extend(BadValue(row, rid, column, value, expected) for row, rid, value in rows.rows())
    if found:
        found.sort(key=lambda bad: bad.row)
        raise refuse_bad_values(path, found, _NOUN[stream])


# --- one reader per file ---------------------------------------------------------------


def _leads(path: Path, text: pl.DataFrame, context: ActivityContext) -> pl.DataFrame:
    converted = pl.col("status") == CONVERTED
    _check(
        path,
        "leads",
        text,
        [
            ("lead_id", _repeated_or_empty(text, "lead_id")),
            ("created_date", _bad_date("created_date", required=True)),
            ("status", _not_one_of("status", LEAD_STATUSES, optional=False)),
            ("converted_date", _bad_date("converted_date", required=False)),
            ("converted_date", (converted & (pl.col("converted_date") == ""),
                                "a date: the lead's status is Converted")),
            ("converted_date", (~converted & (pl.col("converted_date") != ""),
                                "empty: the lead's status is not Converted")),
            ("opportunity_id", (~converted & (pl.col("opportunity_id") != ""),
                                "empty: the lead's status is not Converted")),
            ("opportunity_id", _unknown_opportunity(text, context, optional=True)),
        ],
    )  # fmt: skip
    agents = [agent for agent in text["sales_agent"].unique().to_list() if agent]
    return text.select(
        pl.col("lead_id").alias("id"),
        pl.col("sales_agent")
        .replace_strict({a: partner_id(a) for a in agents}, default=None, return_dtype=pl.String)
        .alias("partner_id"),
        _date("created_date").alias("created_date"),
        pl.col("status"),
        _date("converted_date").alias("converted_date"),
        _blank_to_null("opportunity_id").alias("converted_opportunity_id"),
        _blank_to_null("lead_source").alias("lead_source"),
        _blank_to_null("sales_agent").alias("partner_name"),
        ROW,
    )


def _quotes(path: Path, text: pl.DataFrame, context: ActivityContext) -> pl.DataFrame:
    _check(
        path,
        "quotes",
        text,
        [
            ("quote_id", _repeated_or_empty(text, "quote_id")),
            ("opportunity_id", _unknown_opportunity(text, context, optional=False)),
            ("created_date", _bad_date("created_date", required=True)),
            ("status", _not_one_of("status", QUOTE_STATUSES, optional=False)),
            ("sent_date", _bad_date("sent_date", required=False)),
        ],
    )
    return text.select(
        pl.col("quote_id").alias("id"),
        "opportunity_id",
        _date("created_date").alias("created_date"),
        "status",
        _date("sent_date").alias("sent_date"),
        ROW,
    )


def _cases(path: Path, text: pl.DataFrame, context: ActivityContext) -> pl.DataFrame:
    contacts = pl.col("contacts").cast(pl.Int64, strict=False)
    known_account = pl.col("account").is_in(sorted(context.customer_names))
    _check(
        path,
        "cases",
        text,
        [
            ("case_id", _repeated_or_empty(text, "case_id")),
            ("account", ((pl.col("account") != "") & ~known_account,
                         "an account of accounts.csv or empty")),
            ("created_date", _bad_date("created_date", required=True)),
            ("closed_date", _bad_date("closed_date", required=False)),
            ("type", _not_one_of("type", CASE_TYPES, optional=True)),
            ("contacts", (contacts.is_null() | (contacts < 0), "a whole number of 0 or more")),
            ("reopened", (~pl.col("reopened").is_in(["0", "1"]), "0 or 1")),
        ],
    )  # fmt: skip
    names = [name for name in text["account"].unique().to_list() if name]
    return text.select(
        pl.col("case_id").alias("id"),
        pl.col("account")
        .replace_strict({n: customer_id(n) for n in names}, default=None, return_dtype=pl.String)
        .alias("account_id"),
        _date("created_date").alias("created_date"),
        _date("closed_date").alias("closed_date"),
        _blank_to_null("type").alias("type"),
        contacts.alias("contact_count"),
        (pl.col("reopened") == "1").alias("reopened"),
        pl.lit(None, dtype=pl.Boolean).alias("first_contact_resolved"),
        _blank_to_null("account").alias("customer_name"),
        ROW,
    )


def _calls(path: Path, text: pl.DataFrame, context: ActivityContext) -> pl.DataFrame:
    duration = pl.col("duration_seconds").cast(pl.Int64, strict=False)
    bad_duration = (pl.col("duration_seconds") != "") & (duration.is_null() | (duration < 0))
    outcomes = tuple(outcome.value for outcome in CALL_OUTCOMES)
    _check(
        path,
        "calls",
        text,
        [
            ("call_id", _repeated_or_empty(text, "call_id")),
            ("opportunity_id", _unknown_opportunity(text, context, optional=True)),
            ("date", _bad_date("date", required=True)),
            ("duration_seconds", (bad_duration, "a whole number of 0 or more, or empty")),
            ("outcome", _not_one_of("outcome", outcomes, optional=True)),
        ],
    )
    return text.select(
        pl.col("call_id").alias("id"),
        _blank_to_null("opportunity_id").alias("opportunity_id"),
        _date("date").alias("call_date"),
        duration.alias("duration_seconds"),
        _blank_to_null("outcome").alias("outcome"),
        ROW,
    )


def _product_name(context: ActivityContext) -> pl.Expr:
    """A product as products.csv names it (``GTXPro`` → ``GTX Pro``); other names as given."""
    return pl.col("product").map_batches(
        lambda names: _named_products(names, context.product_names), return_dtype=pl.String
    )


def _named_products(names: pl.Series, product_names: Mapping[str, str]) -> pl.Series:
    distinct = [name for name in names.unique().to_list() if name]
    mapping = {name: product_names.get(product_key(name), name) for name in distinct}
    return names.replace_strict(mapping, default=None, return_dtype=pl.String)


def _line_items(path: Path, text: pl.DataFrame, context: ActivityContext) -> pl.DataFrame:
    quantity = pl.col("quantity").cast(pl.Float64, strict=False)
    amount = pl.col("amount").cast(pl.Float64, strict=False)
    _check(
        path,
        "line_items",
        text,
        [
            ("opportunity_id", _unknown_opportunity(text, context, optional=False)),
            ("product", (pl.col("product") == "", "a product name")),
            ("quantity", ((pl.col("quantity") != "") & quantity.is_null(), "a number or empty")),
            ("amount", ((pl.col("amount") != "") & amount.is_null(), "a number or empty")),
        ],
    )
    rates = pl.col("currency").replace_strict(
        dict(context.currencies.rates), default=None, return_dtype=pl.Float64
    )
    currency = context.records.select(pl.col("id").alias("opportunity_id"), "currency")
    return (
        text.join(currency, on="opportunity_id", how="left", maintain_order="left")
        .with_columns(pl.col("currency").fill_null(context.currencies.corporate))
        .select(
            pl.format(
                "{}-{}", "opportunity_id", pl.int_range(1, pl.len() + 1).over("opportunity_id")
            ).alias("id"),
            "opportunity_id",
            _product_name(context).alias("product"),
            quantity.alias("quantity"),
            (amount / rates).alias("amount"),
            amount.alias("amount_original"),
            "currency",
            ROW,
        )
    )


def _line_items_of_products(context: ActivityContext) -> pl.DataFrame:
    """One line item per opportunity with a product: quantity 1, the opportunity's amount."""
    records = context.records.filter(pl.col("product").is_not_null())
    return _in_layout(
        "line_items",
        records.select(
            pl.format("{}-1", "id").alias("id"),
            pl.col("id").alias("opportunity_id"),
            _product_name(context).alias("product"),
            pl.lit(1.0).alias("quantity"),
            "amount",
            "amount_original",
            "currency",
            ROW,
        ),
    )

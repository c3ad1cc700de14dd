"""A page of schema records as an Arrow table in a store table's layout, ready to upsert.

Columns are built one list at a time from the records' attributes: a page of
2,000 opportunities becomes a table in a few milliseconds, and DuckDB reads
it without a row-by-row insert. Within a page the last record of an id wins,
as it would had the records come one page each: DuckDB's ``ON CONFLICT``
resolves a key repeated inside one statement arbitrarily.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TypeVar

import pyarrow as pa

from core.schema import Opportunity, Partner, StageChange

UTC_TIMESTAMP = pa.timestamp("us")

PARTNER_COLUMNS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("region", pa.string()),
        pa.field("channel_manager", pa.string()),
        pa.field("tier", pa.string()),
        pa.field("deleted", pa.bool_(), nullable=False),
        pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
    ]
)

OPPORTUNITY_COLUMNS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("partner_id", pa.string()),
        pa.field("account_id", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("probability", pa.float64(), nullable=False),
        pa.field("amount", pa.float64()),
        pa.field("amount_original", pa.float64()),
        pa.field("currency", pa.string()),
        pa.field("created_date", pa.date32(), nullable=False),
        pa.field("close_date", pa.date32()),
        pa.field("lead_source", pa.string()),
        pa.field("deleted", pa.bool_(), nullable=False),
        pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
    ]
)

STAGE_CHANGE_COLUMNS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("opportunity_id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("entered_at", UTC_TIMESTAMP, nullable=False),
        pa.field("deleted", pa.bool_(), nullable=False),
        pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
    ]
)

IDS_COLUMNS = pa.schema([pa.field("id", pa.string(), nullable=False)])

_R = TypeVar("_R", Partner, Opportunity, StageChange)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime, the store's form; a naive input is taken as UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def last_per_id(records: Iterable[_R]) -> list[_R]:
    """The records with each id once, its last occurrence's values, in first-seen order."""
    return list({record.id: record for record in records}.values())


def _table(columns: list[list[object]], schema: pa.Schema, fetched_at: datetime) -> pa.Table:
    """The record columns, then ``deleted`` (false) and ``fetched_at``, as a table of ``schema``."""
    count = len(columns[0])
    arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=False)]
    arrays.append(pa.repeat(pa.scalar(False), count))
    arrays.append(pa.repeat(pa.scalar(as_utc(fetched_at), type=UTC_TIMESTAMP), count))
    return pa.Table.from_arrays(arrays, schema=schema)


def partners_page(records: Iterable[Partner], fetched_at: datetime) -> pa.Table:
    """Partners in the ``partners`` table's layout, not deleted, fetched at ``fetched_at``."""
    rows = last_per_id(records)
    columns: list[list[object]] = [
        [r.id for r in rows],
        [r.name for r in rows],
        [r.region for r in rows],
        [r.channel_manager for r in rows],
        [r.tier for r in rows],
    ]
    return _table(columns, PARTNER_COLUMNS, fetched_at)


def opportunities_page(records: Iterable[Opportunity], fetched_at: datetime) -> pa.Table:
    """Opportunities in the ``opportunities`` table's layout, not deleted."""
    rows = last_per_id(records)
    columns: list[list[object]] = [
        [r.id for r in rows],
        [r.name for r in rows],
        [r.partner_id for r in rows],
        [r.account_id for r in rows],
        [r.stage for r in rows],
        # str(), not .value: a record built by model_construct may hold a plain str
        [str(r.status) for r in rows],
        [r.probability for r in rows],
        [r.amount for r in rows],
        [r.amount_original for r in rows],
        [r.currency for r in rows],
        [r.created_date for r in rows],
        [r.close_date for r in rows],
        [r.lead_source for r in rows],
    ]
    return _table(columns, OPPORTUNITY_COLUMNS, fetched_at)


def stage_changes_page(records: Iterable[StageChange], fetched_at: datetime) -> pa.Table:
    """Stage changes in the ``stage_changes`` table's layout, ``entered_at`` as UTC."""
    rows = last_per_id(records)
    columns: list[list[object]] = [
        [r.id for r in rows],
        [r.opportunity_id for r in rows],
        [r.stage for r in rows],
        [as_utc(r.entered_at) for r in rows],
    ]
    return _table(columns, STAGE_CHANGE_COLUMNS, fetched_at)


def ids_page(ids: Iterable[str]) -> pa.Table:
    """Record ids as a one-column table, each once."""
    return pa.Table.from_arrays(
        [pa.array(list(dict.fromkeys(ids)), pa.string())], schema=IDS_COLUMNS
    )

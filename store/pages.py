"""The store's tables of CRM records, and a page of records as an Arrow table ready to upsert.

Each table keeps one entity of the common schema: its columns are the
entity's, in the declared order and types, and a table of records read
incrementally adds ``deleted`` and ``fetched_at``. Nothing here lists an
entity's columns: they come from its declaration in ``core.schema``.

A page is built a column at a time from the records' attributes: 2,000
opportunities become a table in a few milliseconds, and DuckDB reads it
without a row-by-row insert. Within a page the last record of a key wins, as
it would had the records come one page each: DuckDB's ``ON CONFLICT``
resolves a key repeated inside one statement arbitrarily.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic

import pyarrow as pa

from core.entity import Entity, RecordT
from core.schema import (
    ACTIVITY_ENTITIES,
    OPPORTUNITY_ENTITY,
    PARTNER_ENTITY,
    STAGE_CHANGE_ENTITY,
    STAGE_DEF_ENTITY,
)

UTC_TIMESTAMP = pa.timestamp("us")

#: What the store adds to each record read incrementally: a tombstone and when it was read.
TRACKING = (
    pa.field("deleted", pa.bool_(), nullable=False),
    pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
)

IDS_COLUMNS = pa.schema([pa.field("id", pa.string(), nullable=False)])


def as_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime, the store's form; a naive input is taken as UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class RecordTable(Generic[RecordT]):
    """A store table that keeps one entity, keyed as the entity is."""

    name: str
    entity: Entity[RecordT]
    #: read incrementally: upserted by key, marked deleted, stamped with ``fetched_at``
    tracked: bool = True

    @property
    def key(self) -> tuple[str, ...]:
        """The table's primary key: the entity's key."""
        return self.entity.key

    @cached_property
    def layout(self) -> pa.Schema:
        """The table's columns: the entity's, then ``TRACKING`` if the table is tracked."""
        return pa.schema([*self.entity.layout, *(TRACKING if self.tracked else ())])

    def page(self, records: Iterable[RecordT], fetched_at: datetime) -> pa.Table:
        """``records`` in the table's layout: each key once, not deleted, read at ``fetched_at``."""
        rows = self.entity.last_per_key(records)
        table = self.entity.to_arrow(rows, self.entity.layout)
        if not self.tracked:
            return table
        count = table.num_rows
        deleted, fetched = TRACKING
        table = table.append_column(deleted, pa.repeat(pa.scalar(False), count))
        moment = pa.scalar(as_utc(fetched_at), type=UTC_TIMESTAMP)
        return table.append_column(fetched, pa.repeat(moment, count))


PARTNERS = RecordTable("partners", PARTNER_ENTITY)
OPPORTUNITIES = RecordTable("opportunities", OPPORTUNITY_ENTITY)
STAGE_CHANGES = RecordTable("stage_changes", STAGE_CHANGE_ENTITY)
#: the pipeline's stages are read whole each time, never incrementally
STAGE_DEFS = RecordTable("stage_defs", STAGE_DEF_ENTITY, tracked=False)

#: The activity objects' tables (leads, quotes, cases, calls, line items), by stream name.
ACTIVITY_TABLES: dict[str, RecordTable[Any]] = {
    stream: RecordTable(stream, entity) for stream, entity in ACTIVITY_ENTITIES.items()
}

#: Every store table that keeps CRM records.
RECORD_TABLES: tuple[RecordTable[Any], ...] = (
    PARTNERS,
    OPPORTUNITIES,
    STAGE_CHANGES,
    STAGE_DEFS,
    *ACTIVITY_TABLES.values(),
)


def ids_page(ids: Iterable[str]) -> pa.Table:
    """Record ids as a one-column table, each once."""
    return pa.Table.from_arrays(
        [pa.array(list(dict.fromkeys(ids)), pa.string())], schema=IDS_COLUMNS
    )

"""Turn the engine's inputs (schema records or Arrow tables) into checked Polars frames.

Records are converted once through the schema's Arrow layout, so both kinds of
input meet the same checks and the same code from here on. Frames are sorted
into a canonical order (by id) so that the order rows arrive in never changes a
floating-point sum, and so never a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import polars as pl
import pyarrow as pa

from core.errors import SchemaError
from core.schema import (
    OPPORTUNITY_ARROW_SCHEMA,
    PARTNER_ARROW_SCHEMA,
    STAGE_EVENT_ARROW_SCHEMA,
    Opportunity,
    OpportunityStatus,
    Partner,
    StageEvent,
    opportunities_to_arrow,
    partners_to_arrow,
    stage_events_to_arrow,
)

PartnersInput: TypeAlias = Sequence[Partner] | pa.Table
OpportunitiesInput: TypeAlias = Sequence[Opportunity] | pa.Table
StageEventsInput: TypeAlias = Sequence[StageEvent] | pa.Table


def _checked_frame(table: pa.Table, schema: pa.Schema, what: str) -> pl.DataFrame:
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise SchemaError(f"{what} table lacks column(s) {', '.join(missing)}")
    try:
        table = table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaError(f"{what} table does not fit the schema: {exc}") from None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _first_duplicate(sorted_frame: pl.DataFrame, key: str) -> str | None:
    """The smallest id that occurs twice; the frame is sorted by ``key``."""
    repeated = sorted_frame.filter(pl.col(key) == pl.col(key).shift(1))
    return None if repeated.is_empty() else str(repeated[key][0])


def partners_frame(partners: PartnersInput) -> pl.DataFrame:
    """Partners as a frame (``id``, ``name``), sorted by id, ids unique."""
    table = partners if isinstance(partners, pa.Table) else partners_to_arrow(partners)
    frame = _checked_frame(table, PARTNER_ARROW_SCHEMA, "partner").sort("id")
    if (dup := _first_duplicate(frame, "id")) is not None:
        raise SchemaError(f"partner {dup!r} appears more than once", record_id=dup)
    return frame


def opportunities_frame(opportunities: OpportunitiesInput) -> pl.DataFrame:
    """Opportunities as a frame, sorted by id, ids unique, statuses known."""
    table = (
        opportunities
        if isinstance(opportunities, pa.Table)
        else opportunities_to_arrow(opportunities)
    )
    frame = _checked_frame(table, OPPORTUNITY_ARROW_SCHEMA, "opportunity").sort("id")
    known = [s.value for s in OpportunityStatus]
    bad = frame.filter(~pl.col("status").is_in(known))
    if not bad.is_empty():
        record = bad.row(0, named=True)
        raise SchemaError(
            f"opportunity {record['id']!r}: unknown status {record['status']!r}; "
            "expected one of open, won, lost",
            record_id=record["id"],
        )
    undated = frame.filter((pl.col("status") != "open") & pl.col("close_date").is_null())
    if not undated.is_empty():
        record_id = undated["id"][0]
        raise SchemaError(
            f"opportunity {record_id!r}: a closed opportunity needs a close date",
            record_id=record_id,
        )
    if (dup := _first_duplicate(frame, "id")) is not None:
        raise SchemaError(f"opportunity {dup!r} appears more than once", record_id=dup)
    return frame


def stage_events_frame(events: StageEventsInput) -> pl.DataFrame:
    """Stage events as a frame (unsorted: ``stage_days`` orders the few it uses)."""
    table = events if isinstance(events, pa.Table) else stage_events_to_arrow(events)
    return _checked_frame(table, STAGE_EVENT_ARROW_SCHEMA, "stage event")

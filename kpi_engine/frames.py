"""Turn the engine's inputs (schema records or Arrow tables) into checked Polars frames.

Records are converted once through the schema's Arrow layout, so both kinds of
input meet the same checks and the same code from here on. The layout, the
key and the name in messages come from each entity's declaration in
``core.schema``. Frames of keyed entities are sorted into a canonical order
(by key) so that the order rows arrive in never changes a floating-point sum,
and so never a result; the activity objects' sums are whole numbers, so their
frames keep the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

import polars as pl
import pyarrow as pa

from core.entity import Entity, RecordT
from core.errors import SchemaError
from core.schema import (
    ACTIVITY_ENTITIES,
    OPPORTUNITY_ENTITY,
    PARTNER_ENTITY,
    STAGE_EVENT_ENTITY,
    Opportunity,
    OpportunityStatus,
    Partner,
    StageEvent,
)

# Records (small inputs), or columns: an Arrow table (the store's) or a Polars frame (a
# seed folder's, kept as Polars so its strings are not copied into Arrow's layout and back)
PartnersInput: TypeAlias = Sequence[Partner] | pa.Table | pl.DataFrame
OpportunitiesInput: TypeAlias = Sequence[Opportunity] | pa.Table | pl.DataFrame
StageEventsInput: TypeAlias = Sequence[StageEvent] | pa.Table | pl.DataFrame
#: records of one activity object (Lead, Quote, Case, Call, LineItem) in any of those forms
ActivityRecords: TypeAlias = Sequence[Any] | pa.Table | pl.DataFrame


@dataclass(frozen=True)
class Activity:
    """The records of the partner's funnel, customers and service (KPIS.md), per object.

    None means the CRM has none of that object (absent, or not readable): the KPIs that
    need it are null. An empty table means the object exists and holds nothing: its KPIs
    follow their rule for no records (0, or null when nothing is counted). The field names
    are ``core.schema.ACTIVITY_ENTITIES``' stream names.
    """

    leads: ActivityRecords | None = None
    quotes: ActivityRecords | None = None
    cases: ActivityRecords | None = None
    calls: ActivityRecords | None = None
    line_items: ActivityRecords | None = None

    def frames(self) -> dict[str, pl.DataFrame | None]:
        """Each object's records as a checked frame in its scored layout (None: no data),
        ids unique, in the order given: every activity sum is a count or a whole number of
        days, which no order changes, so the millions of rows are not sorted (a copy)."""
        return {
            stream: None
            if (rows := getattr(self, stream)) is None
            else _refuse_unsorted_repeats(entity, _checked_columns(entity, rows))
            for stream, entity in ACTIVITY_ENTITIES.items()
        }


assert tuple(f.name for f in fields(Activity)) == tuple(ACTIVITY_ENTITIES), (
    "Activity's fields are the activity streams of core.schema, in order"
)


def _checked_polars(entity: Entity[RecordT], frame: pl.DataFrame) -> pl.DataFrame:
    """A Polars frame in the entity's scored layout (its Polars types, nulls only where the
    layout allows them)."""
    layout = entity.scored_layout
    missing = [name for name in layout.names if name not in frame.columns]
    if missing:
        raise SchemaError(f"{entity.label} table lacks column(s) {', '.join(missing)}")
    empty = pl.from_arrow(layout.empty_table())
    assert isinstance(empty, pl.DataFrame)
    try:
        frame = frame.select(layout.names).cast(empty.schema)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise SchemaError(f"{entity.label} table does not fit the schema: {exc}") from None
    nulls = [f.name for f in layout if not f.nullable and frame[f.name].null_count()]
    if nulls:
        raise SchemaError(f"{entity.label} table has nulls in column(s) {', '.join(nulls)}")
    return frame


def _checked_arrow(entity: Entity[RecordT], rows: Sequence[RecordT] | pa.Table) -> pl.DataFrame:
    """Records or an Arrow table in the entity's scored layout, as a Polars frame."""
    layout = entity.scored_layout
    table = rows if isinstance(rows, pa.Table) else entity.to_arrow(rows, layout)
    missing = [name for name in layout.names if name not in table.column_names]
    if missing:
        raise SchemaError(f"{entity.label} table lacks column(s) {', '.join(missing)}")
    try:
        table = table.select(layout.names).cast(layout)
    # ValueError: pyarrow's ArrowInvalid, and a null cast into a column that may hold none
    except (ValueError, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaError(f"{entity.label} table does not fit the schema: {exc}") from None
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _checked_columns(
    entity: Entity[RecordT], rows: Sequence[RecordT] | pa.Table | pl.DataFrame
) -> pl.DataFrame:
    """``rows`` in the entity's scored layout, in the order given."""
    if isinstance(rows, pl.DataFrame):
        return _checked_polars(entity, rows)
    return _checked_arrow(entity, rows)


def _checked_frame(
    entity: Entity[RecordT], rows: Sequence[RecordT] | pa.Table | pl.DataFrame
) -> pl.DataFrame:
    """``rows`` in the entity's scored layout, sorted by its key if it has one."""
    frame = _checked_columns(entity, rows)
    return frame.sort(entity.key) if entity.key else frame


def _refuse_repeats(entity: Entity[RecordT], sorted_frame: pl.DataFrame) -> pl.DataFrame:
    """The frame, sorted by key, if no key occurs twice; else an error naming the smallest."""
    (key,) = entity.key
    repeated = sorted_frame.filter(pl.col(key) == pl.col(key).shift(1))
    if not repeated.is_empty():
        dup = str(repeated[key][0])
        raise SchemaError(f"{entity.label} {dup!r} appears more than once", record_id=dup)
    return sorted_frame


def increasing(ids: pl.Series) -> bool:
    """Whether each id is greater than the one before, so none repeats: a test that costs a
    tenth of hashing them all (1.7 M calls: 0.01 s, 0.15 s), for ids in order as
    generated files and many exports have them."""
    return bool((ids > ids.shift(1)).all())


def _refuse_unsorted_repeats(entity: Entity[RecordT], frame: pl.DataFrame) -> pl.DataFrame:
    """The frame, in any order, if no key occurs twice; else the error of ``_refuse_repeats``
    naming the smallest repeated key."""
    (key,) = entity.key
    ids = frame[key]
    if increasing(ids) or ids.n_unique() == frame.height:
        return frame
    dup = str(frame.filter(pl.col(key).is_duplicated())[key].min())
    raise SchemaError(f"{entity.label} {dup!r} appears more than once", record_id=dup)


def partners_frame(partners: PartnersInput) -> pl.DataFrame:
    """Partners as a frame (``id``, ``name``), sorted by id, ids unique."""
    return _refuse_repeats(PARTNER_ENTITY, _checked_frame(PARTNER_ENTITY, partners))


def opportunities_frame(opportunities: OpportunitiesInput) -> pl.DataFrame:
    """Opportunities as a frame, sorted by id, ids unique, statuses known."""
    frame = _checked_frame(OPPORTUNITY_ENTITY, opportunities)
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
    return _refuse_repeats(OPPORTUNITY_ENTITY, frame)


def stage_events_frame(events: StageEventsInput) -> pl.DataFrame:
    """Stage events as a frame (unsorted: ``stage_days`` orders the few it uses)."""
    return _checked_frame(STAGE_EVENT_ENTITY, events)

"""The seed's records and stage visits as both CRMs number and stamp them, as columns.

A CRM seeds a deal per record, in file order (``SERIAL``), numbers its ids in seed-key
order (``RANK``: "smaller id" means the same in the CRM as in the seed) and stamps each
stage visit at 09:00 of its day plus a minute per earlier visit of the record
(``POSITION``). Everything is a Polars expression, so a million deals are laid out in
native code; the tables are handed to SQLite in bulk (``SqlStore.insert_frame``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import polars as pl

from connectors.seed import SeedDataset

#: a record's place in the pipeline file among the records (0 first)
SERIAL = "__serial"
#: a record's place among the records in id order (0 the smallest id)
RANK = "__rank"
#: a visit's place in its record's stage history (0 first)
POSITION = "__position"
#: the hour of day a seeded stage visit happens (then one minute per earlier visit)
VISIT_HOUR = 9
_MS_PER_DAY = 86_400_000


#: each live dataset's numbered records and stage visits, by ``id`` (a dataset's frames do
#: not hash): both CRMs of a sandbox seed from one dataset, and at a million records the
#: visits cost a second to number
_NUMBERED: dict[int, tuple[pl.DataFrame, pl.DataFrame]] = {}


def numbered(dataset: SeedDataset) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``numbered_records`` and ``stage_visits`` of ``dataset``, made once while it lives."""
    key = id(dataset)
    if key not in _NUMBERED:
        records = numbered_records(dataset)
        _NUMBERED[key] = (records, stage_visits(dataset, records))
        weakref.finalize(dataset, _NUMBERED.pop, key, None)
    return _NUMBERED[key]


def numbered_records(dataset: SeedDataset) -> pl.DataFrame:
    """The records with ``SERIAL`` and ``RANK``; refused if a stage is unknown."""
    dataset.require_known_stages()
    return dataset.records.with_row_index(SERIAL).with_columns(
        (pl.col("id").rank("ordinal") - 1).alias(RANK)
    )


def stage_visits(dataset: SeedDataset, records: pl.DataFrame) -> pl.DataFrame:
    """Each record's stage history: ``SERIAL``, ``stage``, ``entered_date`` and
    ``POSITION``, in file order of the records and history order within each.

    A record's history is every stage event of its id, by ``sequence`` (events of a
    repeated id follow the order they were made in, and each record of that id has them all).
    """
    events = (
        dataset.stage_events_frame.with_row_index("__event")
        .sort("opportunity_id", "sequence", "__event")
        .with_columns(pl.int_range(pl.len()).over("opportunity_id").alias(POSITION))
    )
    return (
        records.select(SERIAL, "id")
        .join(events, left_on="id", right_on="opportunity_id", how="inner")
        .sort(SERIAL, POSITION)
        .select(SERIAL, "stage", "entered_date", POSITION)
    )


def epoch_ms(day: pl.Expr) -> pl.Expr:
    """Epoch milliseconds of a date column's midnight UTC (``hubspot.values.day_ms``)."""
    return day.cast(pl.Int64) * _MS_PER_DAY


def at_hour(day: pl.Expr, *, hour: int = 0, minutes: pl.Expr | int = 0) -> pl.Expr:
    """A date column at a time of day (UTC), with ``minutes`` added."""
    minute_ms = minutes * 60_000 if isinstance(minutes, int) else minutes.cast(pl.Int64) * 60_000
    return (epoch_ms(day) + hour * 3_600_000 + minute_ms).cast(pl.Datetime("ms", "UTC"))


def sf_datetimes(moment: pl.Expr) -> pl.Expr:
    """Salesforce's datetime text of whole-second UTC moments (``store.sf_datetime``)."""
    return moment.dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def lookup(column: str, values: Mapping[str, str | None]) -> pl.Expr:
    """``values.get(cell or "")`` per cell of a text column, as a column."""
    return pl.col(column).fill_null("").replace_strict(values, default=None, return_dtype=pl.String)

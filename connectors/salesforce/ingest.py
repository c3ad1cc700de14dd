"""Bulk API 2.0 update jobs of a writeback: the CSV sent, and the per-record results read.

The CSV has ``Id`` and every field any record of the job writes. A cell left
empty leaves the field as it is (a record that does not write that field); the
literal ``#N/A`` sets it to null. Results come back as three CSVs: successful
rows (``sf__Id``, ``sf__Created``, the columns sent), failed rows (``sf__Id``,
``sf__Error`` as ``CODE:message:Field1 Field2 --``, the columns sent) and rows the job
never processed (the columns sent). A record in none of them is not written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from connectors.salesforce.client import IngestResults
from core.connector import WriteResult

#: The Bulk API's cell for "set this field to null" (an empty cell changes nothing).
NULL_CELL = "#N/A"
UNPROCESSED = "UNPROCESSED"


def wire_value(value: Any) -> Any:
    """A value as Salesforce's APIs take it: dates and datetimes as ISO 8601 text (UTC)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return NULL_CELL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(wire_value(value))


def ingest_csv(updates: Mapping[str, Mapping[str, Any]]) -> str:
    """The job's CSV: a header of Id and every written field, a row per record."""
    fields = sorted({name for values in updates.values() for name in values})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Id", *fields])
    for record_id, values in updates.items():
        writer.writerow([record_id, *(_cell(values[f]) if f in values else "" for f in fields)])
    return out.getvalue()


def _rows(text: str) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(io.StringIO(text))


def _record_id(row: Mapping[str, str]) -> str:
    return (row.get("sf__Id") or row.get("Id") or "").strip()


def parse_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``CODE:message:field1,field2 --`` as (code, message, fields); lenient on shape."""
    body = text.strip().removesuffix("--").strip()
    code, _, rest = body.partition(":")
    message, _, fields = rest.rpartition(":")
    if not message:  # no fields part: "CODE:message"
        message, fields = rest, ""
    names = tuple(name for name in re.split(r"[\s,]+", fields) if name)
    return code.strip() or "UNKNOWN_ERROR", message.strip(), names


def _matched(record_id: str, sent: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The sent id a result row names (Salesforce may answer 18 characters for 15)."""
    if record_id in sent:
        return record_id
    if not record_id:  # a row naming no id names no record (every id starts with "")
        return None
    return next((i for i in sent if record_id.startswith(i) or i.startswith(record_id)), None)


def ingest_outcomes(
    results: IngestResults, sent: Mapping[str, Mapping[str, Any]]
) -> dict[str, WriteResult]:
    """Each sent record's outcome from the job's three result CSVs."""
    outcomes: dict[str, WriteResult] = {}
    for row in _rows(results.successful):
        record_id = _matched(_record_id(row), sent)
        if record_id is not None:
            outcomes[record_id] = WriteResult(record_id, True, fields=tuple(sent[record_id]))
    for row in _rows(results.failed):
        record_id = _matched(_record_id(row), sent)
        if record_id is not None:
            code, message, fields = parse_error(row.get("sf__Error") or "")
            outcomes[record_id] = WriteResult(
                record_id, False, code, message, fields or tuple(sent[record_id])
            )
    for row in _rows(results.unprocessed):
        record_id = _matched(_record_id(row), sent)
        if record_id is not None and record_id not in outcomes:
            outcomes[record_id] = WriteResult(
                record_id,
                False,
                UNPROCESSED,
                f"job {results.job_id} did not process it",
                tuple(sent[record_id]),
            )
    return outcomes

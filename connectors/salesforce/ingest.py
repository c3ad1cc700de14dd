"""Bulk API 2.0 update jobs of a writeback: the CSV sent, the job's calls, the results read.

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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from simple_salesforce.bulk2 import Operation

from connectors.salesforce.wire import SalesforceClient, bulk_client
from core.connector import WriteResult
from core.errors import CrmApiError

#: The Bulk API's cell for "set this field to null" (an empty cell changes nothing).
NULL_CELL = "#N/A"
UNPROCESSED = "UNPROCESSED"
#: The org's refusal of a second upload to one job, and of closing a closed job.
MULTIPLE_CONTENTS = "Found multiple contents for job"
INVALID_JOB_STATE = "INVALIDJOBSTATE"


@dataclass(frozen=True)
class IngestResults:
    """A Bulk API 2.0 ingest job's per-record results, as the CSV Salesforce answers."""

    job_id: str
    successful: str
    failed: str
    unprocessed: str


def bulk_update(
    client: SalesforceClient, sobject: str, csv_text: str, records: int
) -> IngestResults:
    """Update records through one Bulk API 2.0 ingest job: create, upload the CSV,
    close, wait, then read the per-record results (successful, failed, unprocessed).

    Each step is a call under the retry policy. A job that ends Failed or Aborted
    raises; records it did not process come back as unprocessed, never as written.
    A step whose answer was lost is retried, and the org's refusal of the repeat (the
    data is already there, the job already closed) means the first one landed.
    """
    job = client.call(
        f"create a Bulk API 2.0 update job on {sobject}",
        lambda sf: bulk_client(sf, sobject).create_job(Operation.update),
    )
    job_id = str(job["id"])
    try:
        client.call(
            f"upload {records} {sobject} updates to job {job_id}",
            lambda sf: bulk_client(sf, sobject).upload_job_data(job_id, csv_text),
        )
    except CrmApiError as refused:
        # this job's only upload is ours: a repeat refused for "multiple contents" means
        # the first one landed and its answer was lost
        if MULTIPLE_CONTENTS not in str(refused):
            raise
    try:
        client.call(f"close job {job_id}", lambda sf: bulk_client(sf, sobject).close_job(job_id))
    except CrmApiError as refused:
        # "Closing already UploadComplete Job not allowed": the first close landed
        if refused.error_code != INVALID_JOB_STATE or not _closed(client, sobject, job_id):
            raise
    info = client.wait_for_job(sobject, job_id, query=False)
    texts = {
        kind: client.call(f"{kind} of job {job_id}", partial(_results, sobject, job_id, kind))
        for kind in ("successfulResults", "failedResults")
    }
    processed = int(info.get("numberRecordsProcessed") or 0)
    unprocessed = ""
    if processed < records:
        unprocessed = client.call(
            f"unprocessed records of job {job_id}",
            partial(_results, sobject, job_id, "unprocessedrecords"),
        )
    return IngestResults(
        job_id=job_id,
        successful=texts["successfulResults"],
        failed=texts["failedResults"],
        unprocessed=unprocessed,
    )


def _closed(client: SalesforceClient, sobject: str, job_id: str) -> bool:
    """Whether the job is past Open (closed, running or done), as the org reports it."""
    info = client.call(
        f"Bulk API 2.0 update job {job_id}",
        lambda sf: bulk_client(sf, sobject).get_job(job_id, False),
    )
    return str(info.get("state")) not in ("Open", "Aborted", "Failed")


def _results(sobject: str, job_id: str, kind: str, sf: Any) -> str:
    return str(bulk_client(sf, sobject).get_ingest_results(job_id, kind))


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

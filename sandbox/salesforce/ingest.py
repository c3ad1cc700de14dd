"""Bulk API 2.0 ingest jobs (``/jobs/ingest``): insert and update from CSV.

A job is created Open, takes its CSV in one upload, and is processed when closed
(state UploadComplete). The org writes its rows then, at once; the first status
request after that answers InProgress and the next the final state (JobComplete,
or Failed when the CSV itself is unusable), so a client's polling loop runs as
against Salesforce, deterministically. Results are then read as CSV files.

A row of an update job is saved by ``SalesforceOrg.update_record``, the call
``PATCH /composite/sobjects`` makes for each of its records: it is validated,
secured (field-level security), fault-injected (``reject_records``) and written,
history rows included, exactly as a collection update of it would be. What is
Bulk's own is the CSV around it:

- the header names fields, any case; one the user cannot see (unknown, or hidden
  by field-level security) fails the whole job: ``InvalidBatch : Field name not
  found : X``;
- an empty cell leaves a field as it is, ``#N/A`` sets it to null;
- a cell that cannot be read as its field's type fails its row with Bulk's
  ``INVALID_FIELD:Failed to deserialize field at col N. …``; every other problem
  is the one a collection update answers (same code, message and fields);
- a failed row's ``sf__Error`` is ``CODE:message:Field1 Field2 --`` (no fields:
  ``CODE:message:--``); ``sf__Id`` holds the record's id once the record was found.

HTTP lives in ``routes``; this module raises ``SalesforceApiError`` for what
Salesforce answers with an error body.
"""

from __future__ import annotations

import csv
import io
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sandbox.salesforce.objects import BOOLEAN_TYPES, KEY_PREFIXES, NUMBER_TYPES, SfField
from sandbox.salesforce.org import FieldError, SalesforceApiError, full_id, now_stamp, parses
from sandbox.salesforce.permissions import USER_ID

if TYPE_CHECKING:
    from sandbox.salesforce.org import SalesforceOrg

#: The operations Bulk API 2.0 knows, and those the sandbox carries out.
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
SUPPORTED_OPERATIONS = ("insert", "update")
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
CSV_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
                  "BACKQUOTE": "`"}  # fmt: skip
#: The cell value that sets a field to null (an empty cell leaves it unchanged).
NULL_CELL = "#N/A"
#: One upload's limit: 150 MB once base64-encoded, about 100 MB of CSV.
MAX_UPLOAD_BASE64_BYTES = 150 * 1024 * 1024
#: Bulk API 2.0 ingest exists from API version 41.0.
MIN_API_VERSION = 41.0
#: Salesforce counts an ingest job's records against the daily batch allocation in
#: batches of 10,000.
RECORDS_PER_BATCH = 10_000
#: Rows are committed in chunks of 200, as Salesforce saves them.
CHUNK = 200
#: GET /jobs/ingest answers this many jobs a page.
JOBS_PAGE = 1000

OPEN, UPLOAD_COMPLETE, IN_PROGRESS = "Open", "UploadComplete", "InProgress"
JOB_COMPLETE, FAILED, ABORTED = "JobComplete", "Failed", "Aborted"
FINAL_STATES = (JOB_COMPLETE, FAILED, ABORTED)
RESULT_KINDS = ("successfulResults", "failedResults", "unprocessedrecords")

_ENUMS = {
    "operation": ("OperationEnum", OPERATIONS),
    "contentType": ("ContentType", ("CSV",)),
    "lineEnding": ("LineEndingEnum", tuple(LINE_ENDINGS)),
    "columnDelimiter": ("ColumnDelimiterEnum", tuple(CSV_DELIMITERS)),
}
_XSD = {"double": "double", "currency": "double", "percent": "double", "int": "int",
        "boolean": "boolean", "date": "date", "datetime": "dateTime"}  # fmt: skip
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
#: Codes a row fails with before its record is found: its sf__Id stays empty.
_BEFORE_LOOKUP = frozenset(
    {"MISSING_ARGUMENT", "MALFORMED_ID", "INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED",
     "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"}
)  # fmt: skip


def error_text(error: FieldError) -> str:
    """A failed row's sf__Error: ``CODE:message:Field1 Field2 --``."""
    fields = "".join(f"{name} " for name in error.fields)
    return f"{error.status_code}:{error.message}:{fields}--"


@dataclass
class IngestJob:
    """One ingest job: its info, the CSV uploaded and, once processed, its results."""

    info: dict[str, Any]
    data: str | None = None
    #: the uploaded header line, as the result files repeat it
    header_line: str = ""
    #: result rows: [sf__Id, sf__Created, *cells] and [sf__Id, sf__Error, *cells]
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    #: what the job's info says once processing is seen to end (state, counts, times)
    outcome: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class IngestJobs:
    """The org's Bulk API 2.0 ingest jobs."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self._jobs: dict[str, IngestJob] = {}
        self._lock = threading.Lock()

    # --- the job resource ---------------------------------------------------------------

    def create(self, body: Any, version: str) -> dict[str, Any]:
        """POST /jobs/ingest: a new Open job, or the error Salesforce answers."""
        if not isinstance(body, dict):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body is not a JSON object"
            )
        for key, (enum, allowed) in _ENUMS.items():
            value = body.get(key)
            if value is not None and value not in allowed:
                raise SalesforceApiError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {enum} from VALUE_STRING value {value} "
                    "or request may be missing a required field",
                )
        name = str(body.get("object") or "")
        sf_object = self.org.schema.get(name) if name else None
        if sf_object is None:
            raise SalesforceApiError(400, "INVALIDJOB", f"Unable to find object: {name}")
        operation = body.get("operation")
        if operation is None:
            raise SalesforceApiError(400, "INVALIDJOB", "InvalidJob : Operation is required")
        if operation not in SUPPORTED_OPERATIONS:
            raise SalesforceApiError(
                400,
                "INVALIDJOB",
                f"The sandbox does not carry out {operation} jobs; it carries out "
                f"{' and '.join(SUPPORTED_OPERATIONS)}",
            )
        job_id = self.org.ids.next(KEY_PREFIXES["BulkQueryJob"])
        stamp = now_stamp()
        info = {
            "id": job_id,
            "operation": operation,
            "object": sf_object.name,
            "createdById": USER_ID,
            "createdDate": stamp,
            "systemModstamp": stamp,
            "state": OPEN,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
            "lineEnding": body.get("lineEnding") or "LF",
            "columnDelimiter": body.get("columnDelimiter") or "COMMA",
            "jobType": "V2Ingest",
        }
        with self._lock:
            self._jobs[job_id] = IngestJob(info=info)
        return dict(info)

    def job(self, job_id: str) -> IngestJob:
        with self._lock:
            found = self._jobs.get(job_id)
        if found is None:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    def info(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/ingest/<id>: a closed job is InProgress once, then in its final state."""
        job = self.job(job_id)
        with job.lock:
            state = job.info["state"]
            if state == UPLOAD_COMPLETE:
                job.info.update(state=IN_PROGRESS, systemModstamp=now_stamp())
            elif state == IN_PROGRESS:
                job.info.update(job.outcome, systemModstamp=now_stamp())
            shown = dict(job.info)
            for key, value in _COUNTS_BEFORE.items():
                shown.setdefault(key, value)
            return shown

    def listing(self, locator: str | None) -> dict[str, Any]:
        """GET /jobs/ingest: the jobs, a page at a time (queryLocator: where a page starts)."""
        start = int(locator) if locator and locator.isdigit() else 0
        with self._lock:
            jobs = list(self._jobs.values())
        page = jobs[start : start + JOBS_PAGE]
        keys = ("id", "operation", "object", "createdById", "createdDate", "systemModstamp",
                "state", "concurrencyMode", "contentType", "apiVersion", "jobType",
                "lineEnding", "columnDelimiter")  # fmt: skip
        end = start + len(page)
        more = end < len(jobs)
        return {
            "done": not more,
            "records": [{key: job.info[key] for key in keys} for job in page],
            "nextRecordsUrl": (
                f"/services/data/v{page[-1].info['apiVersion']}/jobs/ingest?queryLocator={end}"
                if more
                else None
            ),
        }

    def delete(self, job_id: str) -> None:
        """DELETE /jobs/ingest/<id>: only a job that is no longer open or processing."""
        job = self.job(job_id)
        with job.lock:
            if job.info["state"] not in (UPLOAD_COMPLETE, *FINAL_STATES):
                raise SalesforceApiError(
                    400,
                    "INVALIDJOBSTATE",
                    f"Deleting a job in state {job.info['state']} is not allowed; abort it first",
                )
        with self._lock:
            self._jobs.pop(job_id, None)

    def batches_used(self) -> int:
        """Batches of the daily allocation the processed jobs took (10,000 records each)."""
        with self._lock:
            jobs = list(self._jobs.values())
        return sum(
            math.ceil((len(job.successful) + len(job.failed)) / RECORDS_PER_BATCH) for job in jobs
        )

    # --- data, state changes, results -----------------------------------------------------

    def upload(self, job_id: str, data: bytes) -> None:
        """PUT /jobs/ingest/<id>/batches: the job's CSV, in one request while it is Open."""
        job = self.job(job_id)
        check_upload_size(len(data))
        with job.lock:
            if job.info["state"] != OPEN:
                raise SalesforceApiError(
                    400,
                    "INVALIDJOBSTATE",
                    f"Job {job_id} is in state {job.info['state']}; data can only be "
                    "uploaded to an Open job",
                )
            if job.data is not None:
                raise SalesforceApiError(
                    400,
                    "BULK_API_ERROR",
                    f"Found multiple contents for job: <{job_id}>, please 'Close' / 'Abort' / "
                    "'Delete' the current Job then create a new Job and make sure you only do "
                    "'PUT' once on a given Job.",
                )
            job.data = data.decode("utf-8", errors="replace")

    def set_state(
        self, job_id: str, body: Any, reject: Callable[[], bool]
    ) -> tuple[dict[str, Any], int]:
        """PATCH /jobs/ingest/<id>: close (UploadComplete) or abort (Aborted) the job.

        Closing processes it; the job's info and the number of records written.
        """
        job = self.job(job_id)
        wanted = body.get("state") if isinstance(body, dict) else None
        with job.lock:
            state = job.info["state"]
            if wanted == UPLOAD_COMPLETE:
                if state != OPEN:
                    raise SalesforceApiError(
                        400, "INVALIDJOBSTATE", f"Closing already {state} Job not allowed"
                    )
                written = self._process(job, reject)
                job.info.update(state=UPLOAD_COMPLETE, systemModstamp=now_stamp())
                return dict(job.info), written
            if wanted == ABORTED:
                if state in FINAL_STATES:
                    raise SalesforceApiError(
                        400, "INVALIDJOBSTATE", f"Aborting already {state} Job not allowed"
                    )
                if state == OPEN:
                    # nothing was processed: every uploaded row stays unprocessed
                    try:
                        job.header_line, _, job.unprocessed = _parse(job)
                    except _Unusable as unusable:
                        job.header_line, job.unprocessed = unusable.header_line, unusable.rows
                    job.outcome = _counts(0, 0, 0)
                job.info.update(job.outcome, state=ABORTED, systemModstamp=now_stamp())
                job.info.pop("errorMessage", None)
                return dict(job.info), 0
        raise SalesforceApiError(
            400,
            "INVALIDJOBSTATE",
            f"Invalid state {wanted!r}: a job's state can be set to UploadComplete or Aborted",
        )

    def results(self, job_id: str, kind: str) -> str:
        """GET …/successfulResults, …/failedResults, …/unprocessedrecords: CSV."""
        job = self.job(job_id)
        with job.lock:
            if job.info["state"] not in FINAL_STATES:
                raise SalesforceApiError(
                    400,
                    "INVALIDJOB",
                    f"Job {job_id} is not complete: {job.info['state']}",
                )
            if kind == "successfulResults":
                return _result_csv(job, ["sf__Id", "sf__Created"], job.successful)
            if kind == "failedResults":
                return _result_csv(job, ["sf__Id", "sf__Error"], job.failed)
            return _result_csv(job, [], job.unprocessed)

    # --- processing -----------------------------------------------------------------------

    def _process(self, job: IngestJob, reject: Callable[[], bool]) -> int:
        """Save the job's rows; its outcome is kept for the status requests that follow."""
        started = time.monotonic()
        try:
            job.header_line, header, rows = _parse(job)
        except _Unusable as unusable:
            job.header_line, job.unprocessed = unusable.header_line, unusable.rows
            job.outcome = {**_counts(0, 0, 0), "state": FAILED, "errorMessage": str(unusable)}
            return 0
        sf_object = self.org.sobject(job.info["object"])
        columns: list[SfField] = []
        for name in header:
            sf_field = sf_object.field(name)
            if sf_field is None:
                job.unprocessed = rows
                job.outcome = {
                    **_counts(0, 0, 0),
                    "state": FAILED,
                    "errorMessage": f"InvalidBatch : Field name not found : {name}",
                }
                return 0
            columns.append(sf_field)
        id_column = next((i for i, f in enumerate(columns) if f.name == "Id"), None)
        save = self._updater if job.info["operation"] == "update" else self._inserter
        for start in range(0, len(rows), CHUNK):
            with self.org.store.transaction():
                for row in rows[start : start + CHUNK]:
                    record_id, error = save(job.info["object"], columns, id_column, row, reject)
                    if error is None:
                        created = "true" if job.info["operation"] == "insert" else "false"
                        job.successful.append([record_id, created, *row])
                    else:
                        known = error.status_code not in _BEFORE_LOOKUP and not (
                            error.message.startswith("Failed to deserialize")
                        )
                        job.failed.append([record_id if known else "", error_text(error), *row])
        elapsed = int((time.monotonic() - started) * 1000)
        job.outcome = {
            **_counts(len(job.successful) + len(job.failed), len(job.failed), elapsed),
            "state": JOB_COMPLETE,
        }
        return len(job.successful)

    def _updater(
        self,
        sobject: str,
        columns: list[SfField],
        id_column: int | None,
        row: list[str],
        reject: Callable[[], bool],
    ) -> tuple[str, FieldError | None]:
        record_id = full_id(row[id_column]) if id_column is not None else ""
        if not record_id:
            return "", FieldError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        values = _values(columns, row, skip=id_column)
        if isinstance(values, FieldError):
            return record_id, values
        return record_id, self.org.update_record(sobject, record_id, values, reject)

    def _inserter(
        self,
        sobject: str,
        columns: list[SfField],
        id_column: int | None,
        row: list[str],
        reject: Callable[[], bool],
    ) -> tuple[str, FieldError | None]:
        if id_column is not None and row[id_column]:
            return "", FieldError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        values = _values(columns, row, skip=id_column)
        if isinstance(values, FieldError):
            return "", values
        made = self.org.create_record(sobject, values)
        return ("", made) if isinstance(made, FieldError) else (made, None)


_COUNTS_BEFORE = {"numberRecordsProcessed": 0, "numberRecordsFailed": 0, "retries": 0,
                  "totalProcessingTime": 0, "apiActiveProcessingTime": 0,
                  "apexProcessingTime": 0}  # fmt: skip


def _counts(processed: int, failed: int, elapsed_ms: int) -> dict[str, Any]:
    return {
        **_COUNTS_BEFORE,
        "numberRecordsProcessed": processed,
        "numberRecordsFailed": failed,
        "totalProcessingTime": elapsed_ms,
        "apiActiveProcessingTime": elapsed_ms,
    }


def check_version(version: str) -> None:
    """Bulk API 2.0 ingest is there from API version 41.0."""
    if float(version) < MIN_API_VERSION:
        raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")


def check_upload_size(size: int) -> None:
    """Refuse an upload over 150 MB once base64-encoded, as Salesforce counts it."""
    encoded = 4 * ((size + 2) // 3)
    if encoded > MAX_UPLOAD_BASE64_BYTES:
        raise SalesforceApiError(
            400,
            "CLIENTINPUTERROR",
            f"Failed to read request. Exceeded max size limit of {MAX_UPLOAD_BASE64_BYTES} "
            f"bytes of base64-encoded content ({encoded} bytes)",
        )


class _Unusable(Exception):
    """CSV the job cannot be processed with; the message is the job's errorMessage."""

    def __init__(self, message: str, header_line: str, rows: list[list[str]]) -> None:
        super().__init__(message)
        self.header_line = header_line
        self.rows = rows


def _parse(job: IngestJob) -> tuple[str, list[str], list[list[str]]]:
    """The header line as uploaded, the field names and the data rows."""
    text = job.data or ""
    if not text:
        return "", [], []
    ending = job.info["lineEnding"]
    first = text.split("\n", 1)[0]
    delimiter = CSV_DELIMITERS[job.info["columnDelimiter"]]
    parsed = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    header, rows = (parsed[0], parsed[1:]) if parsed else ([], [])
    header_line = first.removesuffix("\r")
    if "\n" in text and first.endswith("\r") != (ending == "CRLF"):
        raise _Unusable(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
            f"setting is {ending}",
            header_line,
            rows,
        )
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise _Unusable(
                f"ClientInputError : Row {number} has {len(row)} values; the header names "
                f"{len(header)} fields",
                header_line,
                rows,
            )
    return header_line, header, rows


def _values(
    columns: list[SfField], row: list[str], skip: int | None
) -> dict[str, Any] | FieldError:
    """A row's values by field: empty cells left out, #N/A as null, the rest typed."""
    values: dict[str, Any] = {}
    for column, (sf_field, cell) in enumerate(zip(columns, row, strict=True)):
        if column == skip or cell == "":
            continue
        if cell == NULL_CELL:
            values[sf_field.name] = None
            continue
        value = _typed(sf_field, cell)
        if value is _UNREADABLE:
            return FieldError(
                "INVALID_FIELD",
                f"Failed to deserialize field at col {column}. Due to, '{cell}' is not a valid "
                f"value for the type xsd:{_XSD[sf_field.type]}",
                [sf_field.name],
            )
        values[sf_field.name] = value
    return values


_UNREADABLE = object()


def _typed(sf_field: SfField, cell: str) -> Any:
    """A cell as its field's type (as the REST API's JSON would carry it), or _UNREADABLE."""
    kind = sf_field.type
    if kind == "int":
        return int(cell) if _INTEGER.match(cell) else _UNREADABLE
    if kind in NUMBER_TYPES:
        return float(cell) if _NUMBER.match(cell) else _UNREADABLE
    if kind in BOOLEAN_TYPES:
        return _BOOLEANS.get(cell.lower(), _UNREADABLE)
    if kind == "date":
        return cell if _DATE.match(cell) and parses(date.fromisoformat, cell) else _UNREADABLE
    if kind == "datetime":
        readable = _DATETIME.match(cell) and parses(datetime.fromisoformat, cell)
        return cell if readable else _UNREADABLE
    return cell


def _result_csv(job: IngestJob, prefix: list[str], rows: list[list[str]]) -> str:
    """A result file: sf__ columns quoted, then the header as uploaded; values quoted."""
    delimiter = CSV_DELIMITERS[job.info["columnDelimiter"]]
    terminator = LINE_ENDINGS[job.info["lineEnding"]]
    head = [f'"{name}"' for name in prefix]
    if job.header_line:
        head.append(job.header_line)
    if not head:
        return ""
    out = io.StringIO()
    out.write(delimiter.join(head) + terminator)
    writer = csv.writer(
        out,
        delimiter=delimiter,
        lineterminator=terminator,
        quoting=csv.QUOTE_ALL if prefix else csv.QUOTE_MINIMAL,
    )
    writer.writerows(rows)
    return out.getvalue()


__all__ = ["CSV_DELIMITERS", "NULL_CELL", "RESULT_KINDS", "IngestJobs", "error_text"]

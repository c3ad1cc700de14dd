"""Salesforce REST endpoints: OAuth (token, userinfo), versions, limits, describe, query,
records (get, create, update, delete), sObject Collections (create, update), Bulk API 2.0
query jobs and ingest jobs (insert, update: ``ingest``), and the Tooling API's CustomField
(create, get, query).

Control endpoints serve tests and users trying failure paths:
``/__sandbox/salesforce/user`` shows and sets the integration user's permissions to
manage and assign permission sets; ``/__sandbox/salesforce/revoke`` revokes the
connected app's OAuth tokens (every session, and the refresh token, which a new one
replaces), at once or after a given number of further API calls.
``/__sandbox/salesforce/clock`` moves the org's clock forward (deleted records leave the
Recycle Bin after 15 days by it) and ``/__sandbox/salesforce/empty-recycle-bin`` empties
the bin at once (``recycle_bin``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from sandbox.credentials import SandboxCredentials, SessionRegistry
from sandbox.faults import FaultInjector
from sandbox.http import CONTROL, SALESFORCE, Route, clock_advance_ms, json_body, json_response
from sandbox.salesforce.describe import describe_global, describe_object, global_entry
from sandbox.salesforce.ingest import (
    CSV_DELIMITERS,
    RESULT_KINDS,
    IngestJobs,
    check_upload_size,
)
from sandbox.salesforce.ingest import check_version as check_ingest_version
from sandbox.salesforce.jwt_grant import JWT_BEARER_GRANT, check_assertion
from sandbox.salesforce.org import (
    API_VERSION,
    DEFAULT_BATCH_SIZE,
    MIN_BATCH_SIZE,
    QueryTimeout,
    RollBack,
    SalesforceApiError,
    SalesforceOrg,
    all_or_none_results,
    now_stamp,
)
from sandbox.salesforce.permissions import ORG_ID, USER_ID, USER_PERMISSIONS, userinfo
from sandbox.salesforce.soql import SoqlError
from sandbox.salesforce.soql_sql import CompiledQuery
from sandbox.stats import SandboxStats
from sandbox.store import sf_datetime

SUPPORTED_VERSIONS = tuple(f"{v}.0" for v in range(31, 63))
VERSION_LABELS = {"58.0": "Summer '23", "59.0": "Winter '24", "60.0": "Spring '24",
                  "61.0": "Summer '24", "62.0": "Winter '25"}  # fmt: skip
BULK_DEFAULT_MAX_RECORDS = 100_000
#: Salesforce refuses a request whose URI and headers together pass 16,384 bytes
#: (help.salesforce.com article 000386264): 414 URI Too Long.
MAX_URI_AND_HEADERS_BYTES = 16_384
DAILY_BULK_API_BATCHES = 15_000


@dataclass
class BulkQueryJob:
    """A Bulk API 2.0 query job: its rows are fixed when it completes."""

    info: dict[str, Any]
    compiled: CompiledQuery | None
    records: list[dict[str, Any]]


class Revocation:
    """The connected app's OAuth tokens, revoked now or after some more API calls.

    Revoking ends every session (INVALID_SESSION_ID) and refuses the refresh token
    in use (invalid_grant "expired access/refresh token"); ``refresh_token`` is then
    a new one, as a user re-authorising the app would get.
    """

    def __init__(self, refresh_token: str) -> None:
        self.refresh_token = refresh_token
        self._retired: str | None = None
        self._calls_left: int | None = None
        self._lock = threading.Lock()

    def schedule(self, after_calls: int) -> str:
        """Revoke after ``after_calls`` more API calls (0: now); the refresh token to use next."""
        with self._lock:
            self._retired = self.refresh_token
            self.refresh_token = "5Aep" + secrets.token_urlsafe(60)
            self._calls_left = after_calls or None
            return self.refresh_token

    def accepts(self, refresh_token: str) -> bool:
        with self._lock:
            if refresh_token == self._retired:
                return self._calls_left is not None and self._calls_left > 0
            return refresh_token == self.refresh_token

    def counts_call(self) -> bool:
        """Count one API call; True when the revocation takes effect with it."""
        with self._lock:
            if self._calls_left is None:
                return False
            if self._calls_left > 0:
                self._calls_left -= 1
                return False
            self._calls_left = None
            return True


#: subrequests in one Composite request
COMPOSITE_LIMIT = 25
_DESCRIBE_URL = re.compile(
    r"^/services/data/v(?P<version>\d+\.\d)/sobjects/(?P<sobject>[A-Za-z0-9_]+)/describe/?$"
)


def _request_bytes(request: Request) -> int:
    """The request line's URI and the headers, in bytes, as Salesforce's edge counts them."""
    uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    headers = sum(len(name) + len(value) + 4 for name, value in request.headers.items())
    return len(str(uri).encode()) + headers


def uri_too_long() -> Response:
    """Salesforce's edge refusing a URI and headers past 16,384 bytes: 414 with an HTML body
    (https://github.com/simple-salesforce/simple-salesforce/issues/271,
    https://github.com/jsforce/jsforce/issues/1134)."""
    return Response(
        "<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>",
        status=414,
        content_type="text/html;charset=iso-8859-1",
    )


def _error(error: SalesforceApiError) -> Response:
    return json_response(error.body(), error.status)


def _soql_error(error: SoqlError) -> Response:
    return json_response([{"message": error.message, "errorCode": error.error_code}], 400)


def _batch_size(request: Request) -> int:
    """Sforce-Query-Options: batchSize=N, honoured from 200 to 2,000 as Salesforce does."""
    options = request.headers.get("Sforce-Query-Options", "")
    for option in options.split(","):
        name, _, value = option.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), MIN_BATCH_SIZE), DEFAULT_BATCH_SIZE)
    return DEFAULT_BATCH_SIZE


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(record: dict[str, Any], paths: list[tuple[str, ...]]) -> list[str]:
    values = []
    for path in paths:
        node: Any = record
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        values.append(_csv_value(node))
    return values


class SalesforceHost(Protocol):
    """What the Salesforce routes use of the sandbox app, which passes itself in."""

    @property
    def salesforce(self) -> SalesforceOrg: ...
    @property
    def credentials(self) -> SandboxCredentials: ...
    @property
    def sessions(self) -> SessionRegistry: ...
    @property
    def stats(self) -> SandboxStats: ...
    @property
    def faults(self) -> FaultInjector: ...
    def salesforce_usage(self) -> tuple[int, int]: ...


def salesforce_routes(app: SalesforceHost) -> list[Route]:
    """Every Salesforce route the sandbox serves; its query and ingest jobs and the OAuth
    revocation start afresh with them."""
    org = app.salesforce
    jobs: dict[str, BulkQueryJob] = {}
    jobs_lock = threading.Lock()
    ingest = IngestJobs(org)
    base = "/services/data/v<version>"
    revocation = Revocation(app.credentials.sf_refresh_token)

    def check_version(version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def token(request: Request) -> Response:
        form = request.form
        creds = app.credentials
        grant = form.get("grant_type", "")
        if grant == JWT_BEARER_GRANT:
            # the consumer key travels inside the assertion (iss), not in the form
            refused = check_assertion(
                str(form.get("assertion") or ""),
                public_pem=creds.sf_jwt_key.public_pem,
                client_id=creds.sf_client_id,
                username=creds.sf_username,
                server_url=request.host_url,
            )
            if refused is not None:
                return json_response(
                    {"error": refused.error, "error_description": refused.description}, 400
                )
            return issue_token(request)
        if form.get("client_id") != creds.sf_client_id:
            return json_response(
                {"error": "invalid_client_id", "error_description": "client identifier invalid"},
                400,
            )
        if grant == "password":
            ok = (
                form.get("client_secret") == creds.sf_client_secret
                and form.get("username") == creds.sf_username
                and form.get("password") == creds.sf_password + creds.sf_security_token
            )
        elif grant == "client_credentials":
            ok = form.get("client_secret") == creds.sf_client_secret
        elif grant == "refresh_token":
            if not revocation.accepts(str(form.get("refresh_token") or "")):
                return json_response(
                    {"error": "invalid_grant", "error_description": "expired access/refresh token"},
                    400,
                )
            ok = form.get("client_secret", creds.sf_client_secret) == creds.sf_client_secret
        else:
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                400,
            )
        if not ok:
            return json_response(
                {"error": "invalid_grant", "error_description": "authentication failure"}, 400
            )
        return issue_token(request)

    def issue_token(request: Request) -> Response:
        creds = app.credentials
        access_token = app.sessions.issue()
        issued_at = str(int(time.time() * 1000))
        instance_url = request.host_url.rstrip("/")
        identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(
                creds.sf_client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return json_response(
            {
                "access_token": access_token,
                "instance_url": instance_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": signature,
            }
        )

    def versions(request: Request) -> Response:
        return json_response(
            [
                {
                    "label": VERSION_LABELS.get(v, f"v{v}"),
                    "url": f"/services/data/v{v}",
                    "version": v,
                }
                for v in SUPPORTED_VERSIONS
            ]
        )

    def version_root(request: Request, version: str) -> Response:
        check_version(version)
        names = ("composite", "jobs", "limits", "query", "queryAll", "sobjects", "tooling")
        return json_response({name: f"/services/data/v{version}/{name}" for name in names})

    def limits(request: Request, version: str) -> Response:
        check_version(version)
        used, limit = app.salesforce_usage()
        with jobs_lock:
            job_count = len(jobs)
        return json_response(
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - job_count},
                "DailyBulkV2QueryFileStorageMB": {"Max": 1024000, "Remaining": 1024000},
                "DailyBulkApiBatches": {
                    "Max": DAILY_BULK_API_BATCHES,
                    "Remaining": max(DAILY_BULK_API_BATCHES - ingest.batches_used(), 0),
                },
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            }
        )

    def sobjects(request: Request, version: str) -> Response:
        check_version(version)
        return json_response(describe_global(org.schema, version))

    def sobject_info(request: Request, version: str, sobject: str) -> Response:
        check_version(version)
        return json_response(
            {"objectDescribe": global_entry(org.sobject(sobject), version), "recentItems": []}
        )

    def describe(request: Request, version: str, sobject: str) -> Response:
        check_version(version)
        return json_response(describe_object(org.sobject(sobject), version))

    def record(request: Request, version: str, sobject: str, record_id: str) -> Response:
        check_version(version)
        if request.method == "DELETE":
            org.delete_record(sobject, record_id)
            return Response(status=204)
        if request.method == "GET":
            fields = request.args.get("fields")
            found = org.get_record(sobject, record_id, fields.split(",") if fields else None)
            app.stats.returned(SALESFORCE, 1)
            return json_response(found)
        values = json_body(request)
        if not isinstance(values, dict):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body is not a JSON object"
            )
        error = org.update_record(
            sobject,
            record_id,
            values,
            lambda: app.faults.fires("reject_records"),
            lambda: app.faults.fires("lock_row"),
        )
        if error is not None:
            status = 404 if error.status_code == "INVALID_CROSS_REFERENCE_KEY" else 400
            if error.status_code == "INVALID_CROSS_REFERENCE_KEY":
                return json_response(
                    [
                        {
                            "errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist",
                        }
                    ],
                    status,
                )
            return json_response(
                [
                    {
                        "message": error.message,
                        "errorCode": error.status_code,
                        "fields": error.fields,
                    }
                ],
                status,
            )
        app.stats.written(SALESFORCE, 1)
        return Response(status=204)

    def run_query(request: Request, version: str, include_deleted: bool) -> Response:
        check_version(version)
        soql = request.args.get("q")
        if not soql:
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        timeout = QueryTimeout(
            app.faults.spec.query_timeout_rows, lambda: app.faults.fires("query_timeout")
        )
        page = org.start_query(
            soql,
            include_deleted=include_deleted,
            batch_size=_batch_size(request),
            timeout=timeout,
            fields_limit=app.faults.spec.query_fields_limit,
        )
        app.stats.returned(SALESFORCE, len(page["records"]))
        return json_response(page)

    def query(request: Request, version: str) -> Response:
        return run_query(request, version, include_deleted=False)

    def query_all(request: Request, version: str) -> Response:
        return run_query(request, version, include_deleted=True)

    def query_more(request: Request, version: str, locator: str) -> Response:
        check_version(version)
        page = org.next_page(locator)
        app.stats.returned(SALESFORCE, len(page["records"]))
        return json_response(page)

    def composite_sobjects(request: Request, version: str) -> Response:
        check_version(version)
        body = json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "Expected a JSON object with a records array"
            )
        all_or_none = bool(body.get("allOrNone", False))
        try:
            if request.method == "POST":
                results = org.create_collection(body["records"], all_or_none)
            else:
                results = org.update_collection(
                    body["records"],
                    all_or_none,
                    lambda: app.faults.fires("reject_records"),
                    lambda: app.faults.fires("lock_row"),
                )
        except RollBack as rollback:
            return json_response(all_or_none_results(rollback.results))
        app.stats.written(SALESFORCE, sum(1 for r in results if r["success"]))
        return json_response(results)

    def composite(request: Request, version: str) -> Response:
        """``POST /composite``: up to 25 subrequests answered in one response, one call
        toward the API limits. The sandbox answers GET describe subrequests (what a
        connector batches); any other is a 400 subresponse saying so."""
        check_version(version)
        body = json_body(request)
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not 0 < len(subrequests) <= COMPOSITE_LIMIT:
            raise SalesforceApiError(
                400, "INVALID_BATCH_REQUEST",
                f"a compositeRequest array of 1 to {COMPOSITE_LIMIT} subrequests is required",
            )  # fmt: skip
        answers: list[dict[str, Any]] = []
        for sub in subrequests:
            sub = sub if isinstance(sub, dict) else {}
            reference = str(sub.get("referenceId") or "")
            found = _DESCRIBE_URL.match(str(sub.get("url") or ""))
            unsupported = "the sandbox's composite answers GET describe subrequests"
            status = 400
            answer: Any = SalesforceApiError(400, "NOT_SUPPORTED", unsupported).body()
            if str(sub.get("method", "")).upper() == "GET" and found is not None:
                try:
                    check_version(found["version"])
                    status, answer = 200, describe_object(org.sobject(found["sobject"]), version)
                except SalesforceApiError as error:
                    status, answer = error.status, error.body()
            answers.append(
                {"body": answer, "httpHeaders": {}, "httpStatusCode": status,
                 "referenceId": reference}
            )  # fmt: skip
        return json_response({"compositeResponse": answers})

    # --- Bulk API 2.0 query jobs ----------------------------------------------------

    def job_info(job: BulkQueryJob) -> dict[str, Any]:
        return dict(job.info)

    def create_query_job(request: Request, version: str) -> Response:
        check_version(version)
        body = json_body(request)
        if not isinstance(body, dict) or body.get("operation") not in ("query", "queryAll"):
            raise SalesforceApiError(400, "INVALIDJOB", "operation must be query or queryAll")
        soql = str(body.get("query") or "")
        compiled, records = org.query_rows(
            soql,
            include_deleted=body["operation"] == "queryAll",
            fields_limit=app.faults.spec.query_fields_limit,
        )
        stamp = now_stamp()
        job_id = org.new_job_id()
        info = {
            "id": job_id,
            "operation": body["operation"],
            "object": compiled.object_name,
            "createdById": USER_ID,
            "createdDate": stamp,
            "systemModstamp": stamp,
            "state": "UploadComplete",
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": body.get("lineEnding", "LF"),
            "columnDelimiter": body.get("columnDelimiter", "COMMA"),
        }
        with jobs_lock:
            jobs[job_id] = BulkQueryJob(info=info, compiled=compiled, records=records)
        return json_response(info)

    def get_job(job_id: str) -> BulkQueryJob:
        with jobs_lock:
            job = jobs.get(job_id)
        if job is None:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def query_job(request: Request, version: str, job_id: str) -> Response:
        check_version(version)
        job = get_job(job_id)
        if request.method == "DELETE":
            with jobs_lock:
                jobs.pop(job_id, None)
            return Response(status=204)
        if request.method == "PATCH":
            job.info["state"] = "Aborted"
            return json_response(job_info(job))
        # the sandbox finishes a job by the time anyone asks
        if job.info["state"] == "UploadComplete":
            job.info.update(
                state="JobComplete",
                numberRecordsProcessed=len(job.records),
                retries=0,
                totalProcessingTime=1,
                systemModstamp=now_stamp(),
            )
        return json_response(job_info(job))

    def query_job_results(request: Request, version: str, job_id: str) -> Response:
        check_version(version)
        job = get_job(job_id)
        if job.info["state"] != "JobComplete" or job.compiled is None:
            raise SalesforceApiError(
                400, "INVALIDJOB", f"Job {job_id} is not complete: {job.info['state']}"
            )
        start = (
            int(request.args.get("locator") or 0)
            if (request.args.get("locator") or "0").isdigit()
            else -1
        )
        if start < 0:
            raise SalesforceApiError(400, "INVALIDLOCATOR", "invalid locator")
        max_records = int(request.args.get("maxRecords") or BULK_DEFAULT_MAX_RECORDS)
        chunk = job.records[start : start + max_records]
        paths = [path for path in job.compiled.select_paths]
        out = io.StringIO()
        delimiter = CSV_DELIMITERS.get(job.info["columnDelimiter"], ",")
        terminator = "\r\n" if job.info["lineEnding"] == "CRLF" else "\n"
        writer = csv.writer(out, delimiter=delimiter, lineterminator=terminator)
        writer.writerow([".".join(path) for path in paths])
        for item in chunk:
            writer.writerow(_flatten(item, paths))
        end = start + len(chunk)
        app.stats.returned(SALESFORCE, len(chunk))
        return Response(
            out.getvalue(),
            content_type="text/csv",
            headers={
                "Sforce-Locator": str(end) if end < len(job.records) else "null",
                "Sforce-NumberOfRecords": str(len(chunk)),
            },
        )

    # --- Bulk API 2.0 ingest jobs ---------------------------------------------------------

    def check_ingest(version: str) -> None:
        check_version(version)
        check_ingest_version(version)

    def ingest_root(request: Request, version: str) -> Response:
        check_ingest(version)
        if request.method == "POST":
            return json_response(ingest.create(json_body(request), version))
        return json_response(ingest.listing(request.args.get("queryLocator")))

    def ingest_job(request: Request, version: str, job_id: str) -> Response:
        check_ingest(version)
        if request.method == "DELETE":
            ingest.delete(job_id)
            return Response(status=204)
        if request.method == "PATCH":
            info, written = ingest.set_state(
                job_id, json_body(request), lambda: app.faults.fires("reject_records")
            )
            app.stats.written(SALESFORCE, written)
            return json_response(info)
        return json_response(ingest.info(job_id))

    def ingest_upload(request: Request, version: str, job_id: str) -> Response:
        check_ingest(version)
        ingest.job(job_id)  # an unknown job is 404 before its data is read
        if request.content_length is not None:
            check_upload_size(request.content_length)
        ingest.upload(job_id, request.get_data())
        return Response(status=201)

    def ingest_results(kind: str) -> Any:
        def results(request: Request, version: str, job_id: str) -> Response:
            check_ingest(version)
            return Response(ingest.results(job_id, kind), content_type="text/csv")

        return results

    # --- Tooling API -------------------------------------------------------------------

    def tooling_custom_field(request: Request, version: str) -> Response:
        check_version(version)
        body = json_body(request)
        if not isinstance(body, dict):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body is not a JSON object"
            )
        metadata = body.get("Metadata")
        field_id = org.create_custom_field(
            str(body.get("FullName") or ""), metadata if isinstance(metadata, dict) else {}
        )
        return json_response({"id": field_id, "success": True, "errors": [], "warnings": [],
                              "infos": []}, 201)  # fmt: skip

    def tooling_custom_field_get(request: Request, version: str, field_id: str) -> Response:
        check_version(version)
        found = org.custom_fields.get(field_id)
        if found is None:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return json_response({"attributes": {"type": "CustomField"}, "Id": field_id, **found})

    def tooling_query(request: Request, version: str) -> Response:
        check_version(version)
        soql = request.args.get("q")
        if not soql:
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        page = org.start_query(
            soql, include_deleted=False, batch_size=_batch_size(request), tooling=True
        )
        return json_response(page)

    def user_info(request: Request) -> Response:
        return json_response(userinfo(request.host_url.rstrip("/"), app.credentials.sf_username))

    def create(request: Request, version: str, sobject: str) -> Response:
        check_version(version)
        values = json_body(request)
        if not isinstance(values, dict):
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "The request body is not a JSON object"
            )
        made = org.create_record(sobject, values)
        if not isinstance(made, str):
            return json_response([made.as_error_json()], 400)
        app.stats.written(SALESFORCE, 1)
        return json_response({"id": made, "success": True, "errors": []}, 201)

    def sobject_root(request: Request, version: str, sobject: str) -> Response:
        if request.method == "POST":
            return create(request, version, sobject)
        return sobject_info(request, version, sobject)

    # --- control ---------------------------------------------------------------------

    def user_control(request: Request) -> Response:
        if request.method == "POST":
            body = json_body(request)
            body = body if isinstance(body, dict) else {}
            wanted = body.get("permissions", {})
            objects = body.get("object_read", {})
            fields = body.get("field_read", {})
            if (
                not isinstance(wanted, dict)
                or not set(wanted) <= set(USER_PERMISSIONS)
                or not isinstance(objects, dict)
                or not isinstance(fields, dict)
                or not (wanted or objects or fields)
            ):
                return json_response(
                    {"error": f"post {{'permissions': {{name: bool}}}} with names from "
                              f"{', '.join(USER_PERMISSIONS)}, {{'object_read': {{object: "
                              f"bool}}}} or {{'field_read': {{'Object.Field': bool}}}}"}, 400,
                )  # fmt: skip
            try:
                for name, readable in objects.items():
                    org.set_object_read(str(name), bool(readable))
                for name, readable in fields.items():
                    org.set_field_read(str(name), bool(readable))
            except SalesforceApiError as error:
                return json_response({"error": error.message}, 400)
            org.security.user_permissions.update({k: bool(v) for k, v in wanted.items()})
        return json_response(
            {"user_id": USER_ID, "organization_id": ORG_ID,
             "permissions": dict(org.security.user_permissions),
             "unreadable_objects": sorted(org.schema.unreadable)}
        )  # fmt: skip

    def revoke_control(request: Request) -> Response:
        body = json_body(request)
        after = body.get("after_calls", 0) if isinstance(body, dict) else 0
        if not isinstance(after, int) or after < 0:
            return json_response({"error": "after_calls is a whole number >= 0"}, 400)
        refresh_token = revocation.schedule(after)
        if after == 0:
            revoke_now()
        return json_response({"after_calls": after, "refresh_token": refresh_token})

    def clock_control(request: Request) -> Response:
        """The org's clock; POST {"advance_days": D} or {"advance_ms": N} lets time pass
        (forward only) and purges what the Recycle Bin no longer keeps (15 days)."""
        advance = clock_advance_ms(request)
        if isinstance(advance, Response):
            return advance
        purged = org.advance_clock(advance) if advance else 0
        return json_response(
            {"now": sf_datetime(org.clock.now()), "offset_ms": org.clock.offset_ms,
             "purged": purged}
        )  # fmt: skip

    def empty_bin_control(request: Request) -> Response:
        """Empty the Recycle Bin at once, as an admin (or a full bin) does."""
        return json_response({"purged": org.empty_recycle_bin()})

    def revoke_now() -> None:
        app.sessions.expire_all()

    def guarded(handler: Any, auth: bool = True) -> Any:
        """Answer the org's errors in Salesforce's error shape."""

        def wrapped(request: Request, **arguments: Any) -> Response:
            if _request_bytes(request) > MAX_URI_AND_HEADERS_BYTES:
                return uri_too_long()
            if auth and revocation.counts_call():
                revoke_now()
                return _error(
                    SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
                )
            try:
                response: Response = handler(request, **arguments)
            except SalesforceApiError as error:
                return _error(error)
            except SoqlError as error:
                return _soql_error(error)
            return response

        return wrapped

    def route(rule: str, methods: tuple[str, ...], handler: Any, auth: bool = True) -> Route:
        return Route(rule, methods, SALESFORCE, guarded(handler, auth), auth)

    return [
        route("/services/oauth2/token", ("POST",), token, auth=False),
        route("/services/oauth2/userinfo", ("GET",), user_info),
        route("/services/data", ("GET",), versions, auth=False),
        route(f"{base}", ("GET",), version_root),
        route(f"{base}/limits", ("GET",), limits),
        route(f"{base}/sobjects", ("GET",), sobjects),
        route(f"{base}/sobjects/<sobject>", ("GET", "POST"), sobject_root),
        route(f"{base}/sobjects/<sobject>/describe", ("GET",), describe),
        route(f"{base}/sobjects/<sobject>/<record_id>", ("GET", "PATCH", "DELETE"), record),
        route(f"{base}/composite", ("POST",), composite),
        route(f"{base}/query", ("GET",), query),
        route(f"{base}/query/<locator>", ("GET",), query_more),
        route(f"{base}/queryAll", ("GET",), query_all),
        route(f"{base}/queryAll/<locator>", ("GET",), query_more),
        route(f"{base}/composite/sobjects", ("PATCH", "POST"), composite_sobjects),
        route(f"{base}/jobs/query", ("POST",), create_query_job),
        route(f"{base}/jobs/query/<job_id>", ("GET", "PATCH", "DELETE"), query_job),
        route(f"{base}/jobs/query/<job_id>/results", ("GET",), query_job_results),
        route(f"{base}/jobs/ingest", ("GET", "POST"), ingest_root),
        route(f"{base}/jobs/ingest/<job_id>", ("GET", "PATCH", "DELETE"), ingest_job),
        route(f"{base}/jobs/ingest/<job_id>/batches", ("PUT",), ingest_upload),
        *(
            route(f"{base}/jobs/ingest/<job_id>/{kind}", ("GET",), ingest_results(kind))
            for kind in RESULT_KINDS
        ),
        # Salesforce documents unprocessedrecords; simple-salesforce asks for unprocessedRecords
        route(
            f"{base}/jobs/ingest/<job_id>/unprocessedRecords",
            ("GET",),
            ingest_results("unprocessedrecords"),
        ),
        route(f"{base}/tooling/sobjects/CustomField", ("POST",), tooling_custom_field),
        route(
            f"{base}/tooling/sobjects/CustomField/<field_id>", ("GET",), tooling_custom_field_get
        ),
        route(f"{base}/tooling/query", ("GET",), tooling_query),
        Route("/__sandbox/salesforce/user", ("GET", "POST"), CONTROL, user_control),
        Route("/__sandbox/salesforce/revoke", ("POST",), CONTROL, revoke_control),
        Route("/__sandbox/salesforce/clock", ("GET", "POST"), CONTROL, clock_control),
        Route("/__sandbox/salesforce/empty-recycle-bin", ("POST",), CONTROL, empty_bin_control),
    ]


__all__ = ["API_VERSION", "salesforce_routes"]

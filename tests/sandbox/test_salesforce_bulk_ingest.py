"""Bulk API 2.0 ingest jobs (update, insert) driven by the unmodified simple-salesforce.

A row of a Bulk update is saved as PATCH /composite/sobjects saves a record, so
the tests hold the two side by side: the same record, the same problem, the same
code. What is Bulk's own (the CSV header, #N/A, empty cells, a cell that is not
its field's type, the job's states) is checked on its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
import requests
from simple_salesforce.bulk2 import JobState, Operation
from simple_salesforce.exceptions import SalesforceOperationError

from sandbox.salesforce import ingest
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, salesforce_client, set_faults

VALIDATION = "Partner fields are locked while the account is under review (sandbox fault)"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _account_ids(sf: Any, limit: int) -> list[str]:
    soql = f"SELECT Id FROM Account ORDER BY Id LIMIT {limit}"
    return [r["Id"] for r in sf.query_all_iter(soql)]


def _run(sf: Any, data: str, operation: Operation = Operation.update) -> tuple[str, Any]:
    """Create, upload, close and poll a job with the client's own calls; id and last info."""
    client = sf.bulk2.Account._client
    job_id = client.create_job(operation)["id"]
    client.upload_job_data(job_id, data)
    client.close_job(job_id)
    info = client.get_job(job_id, False)
    while info["state"] in (JobState.upload_complete, JobState.in_progress):
        info = client.get_job(job_id, False)
    return job_id, info


def _results(sf: Any, job_id: str, kind: str) -> list[dict[str, str]]:
    return _rows(sf.bulk2.Account._client.get_ingest_results(job_id, kind))


def _raw(sf: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A call to /jobs/ingest… with the client's session and token, answer unchecked."""
    headers = {**sf.headers, **kwargs.pop("headers", {})}
    response: requests.Response = sf.session.request(
        method, f"{sf.bulk2_url}ingest{path}", headers=headers, **kwargs
    )
    return response


def _composite(sf: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"allOrNone": False,
            "records": [{"attributes": {"type": "Account"}, **r} for r in records]}  # fmt: skip
    result: list[dict[str, Any]] = sf.restful("composite/sobjects", method="PATCH", json=body)
    return result


def _error(text: str) -> tuple[str, str, list[str]]:
    """sf__Error as (code, message, fields): ``CODE:message:Field1 Field2 --``."""
    code, _, rest = text.partition(":")
    assert rest.endswith("--"), text
    message, _, fields = rest.removesuffix("--").rpartition(":")
    return code, message, fields.split()


# --- the happy path, step by step and through the high-level call -------------------------


def test_500_accounts_updated_step_by_step(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    # the dataset has 120 accounts: insert 380 more through a Bulk insert job
    inserted = sf.bulk2.Account.insert(
        records=[{"Name": f"Bulk {n}", "Region__c": "APAC"} for n in range(380)], wait=0
    )
    assert inserted[0]["numberRecordsProcessed"] == 380
    assert inserted[0]["numberRecordsFailed"] == 0
    created = _results(sf, inserted[0]["job_id"], "successfulResults")
    assert {r["sf__Created"] for r in created} == {"true"}
    assert all(r["sf__Id"].startswith("001") for r in created)
    ids = _account_ids(sf, 500)
    assert len(ids) == 500
    control(running, "reset-stats", {})

    client = sf.bulk2.Account._client
    job = client.create_job(Operation.update)
    job_id = job["id"]
    assert job_id.startswith("750") and len(job_id) == 18
    assert (job["state"], job["operation"], job["object"], job["contentType"]) == (
        "Open", "update", "Account", "CSV"
    )  # fmt: skip
    assert job["contentUrl"] == f"services/data/v60.0/jobs/ingest/{job_id}/batches"
    data = "Id,Name,Region__c\n" + "".join(f"{i},Renamed {n},EMEA\n" for n, i in enumerate(ids))
    client.upload_job_data(job_id, data)  # raises unless 201
    assert client.close_job(job_id)["state"] == "UploadComplete"
    polled = client.get_job(job_id, False)
    assert polled["state"] == "InProgress"  # once, so a polling loop polls
    info = client.get_job(job_id, False)
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (500, 0)
    assert {"retries", "totalProcessingTime", "apiActiveProcessingTime",
            "apexProcessingTime"} <= set(info)  # fmt: skip

    successful = client.get_ingest_results(job_id, "successfulResults")
    assert successful.splitlines()[0] == '"sf__Id","sf__Created",Id,Name,Region__c'
    rows = _rows(successful)
    assert [r["sf__Id"] for r in rows] == ids
    assert {r["sf__Created"] for r in rows} == {"false"}
    assert rows[7]["Name"] == "Renamed 7"
    assert client.get_ingest_results(job_id, "failedResults") == (
        '"sf__Id","sf__Error",Id,Name,Region__c\n'
    )
    assert client.get_ingest_results(job_id, "unprocessedRecords") == "Id,Name,Region__c\n"

    read_back = {r["Id"]: r for r in sf.query_all_iter("SELECT Id, Name, Region__c FROM Account")}
    assert read_back[ids[7]]["Name"] == "Renamed 7"
    assert {read_back[i]["Region__c"] for i in ids} == {"EMEA"}

    stats = control(running, "stats")
    base = "salesforce {} /services/data/v<version>/jobs/ingest{}"
    assert stats["requests"][base.format("POST", "")] == 1
    assert stats["requests"][base.format("PUT", "/<job_id>/batches")] == 1
    assert stats["requests"][base.format("PATCH", "/<job_id>")] == 1
    assert stats["requests"][base.format("GET", "/<job_id>")] == 2
    assert stats["requests"][base.format("GET", "/<job_id>/successfulResults")] == 1
    assert stats["requests"][base.format("GET", "/<job_id>/unprocessedRecords")] == 1
    assert stats["records_written"] == {"salesforce": 500}


def test_high_level_update_nulls_with_na_and_leaves_empty_cells(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    first, second = _account_ids(sf, 2)
    sf.Account.update(first, {"Region__c": "EMEA", "AnnualRevenue": 5})
    sf.Account.update(second, {"Region__c": "EMEA"})
    control(running, "reset-stats", {})

    # simple-salesforce writes a record's missing keys as empty cells
    result = sf.bulk2.Account.update(
        records=[{"Id": first, "Region__c": "#N/A"}, {"Id": second, "Name": "Kept Region"}],
        wait=0,
    )
    assert result == [{"numberRecordsFailed": 0, "numberRecordsProcessed": 2,
                       "numberRecordsTotal": 2, "job_id": result[0]["job_id"]}]  # fmt: skip
    rows = {r["Id"]: r for r in sf.query_all_iter(
        f"SELECT Id, Name, Region__c, AnnualRevenue FROM Account WHERE Id IN "
        f"('{first}', '{second}')")}  # fmt: skip
    assert rows[first]["Region__c"] is None  # #N/A: null
    assert rows[first]["AnnualRevenue"] == 5  # not in the CSV: unchanged
    assert (rows[second]["Name"], rows[second]["Region__c"]) == ("Kept Region", "EMEA")
    assert control(running, "stats")["records_written"] == {"salesforce": 2}


# --- per-row outcomes, side by side with PATCH /composite/sobjects ------------------------


def test_a_rejected_record_fails_with_the_code_composite_gives(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    ids = _account_ids(sf, 4)
    where = "WHERE Id IN ('" + "','".join(ids) + "')"
    before = _regions(sf, where)

    set_faults(running, "reject_records=every:2")
    answered = _composite(sf, [{"id": i, "Region__c": "LATAM"} for i in ids])
    assert [r["success"] for r in answered] == [True, False, True, False]
    expected = answered[1]["errors"][0]
    assert expected["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"

    set_faults(running, "reject_records=every:2")  # the count starts again
    control(running, "reset-stats", {})
    job_id, info = _run(sf, "Id,Region__c\n" + "".join(f"{i},APAC\n" for i in ids))
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete", 4, 2
    )  # fmt: skip
    failed = _results(sf, job_id, "failedResults")
    assert [r["sf__Id"] for r in failed] == [ids[1], ids[3]]
    assert failed[0]["sf__Error"] == f"FIELD_CUSTOM_VALIDATION_EXCEPTION:{VALIDATION}:--"
    assert _error(failed[0]["sf__Error"]) == (
        expected["statusCode"], expected["message"], expected["fields"]
    )  # fmt: skip
    assert [r["sf__Id"] for r in _results(sf, job_id, "successfulResults")] == [ids[0], ids[2]]
    assert control(running, "stats")["records_written"] == {"salesforce": 2}
    regions = _regions(sf, where)  # each time the rejected ones kept their region
    assert [regions[i] for i in ids] == ["APAC", before[ids[1]], "APAC", before[ids[3]]]


def _regions(sf: Any, where: str) -> dict[str, str | None]:
    return {r["Id"]: r["Region__c"] for r in sf.query_all_iter(
        f"SELECT Id, Region__c FROM Account {where}")}  # fmt: skip


def test_row_errors_match_composite_and_bulk_reads_cells_by_type(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    live, gone, other = _account_ids(sf, 3)
    assert sf.Account.delete(gone) == 204
    opportunity = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    missing = "001000000000000AAA"
    too_long = "x" * 256
    composite = _composite(
        sf,
        [{"id": opportunity, "Name": "a"}, {"id": missing, "Name": "a"},
         {"id": gone, "Name": "a"}, {"id": live, "Name": too_long},
         {"id": other, "Name": None}],
    )  # fmt: skip
    expected = [(e["statusCode"], e["message"], e["fields"])
                for e in (r["errors"][0] for r in composite)]  # fmt: skip
    assert [e[0] for e in expected] == [
        "MALFORMED_ID", "INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED",
        "STRING_TOO_LONG", "REQUIRED_FIELD_MISSING",
    ]  # fmt: skip
    assert expected[3][1:] == (
        f"Account Name: data value too large: {too_long} (max length=255)",
        ["Name"],
    )

    data = (
        "Id,Name,AnnualRevenue\n"
        f"{opportunity},a,\n{missing},a,\n{gone},a,\n{live},{too_long},\n{other},#N/A,\n"
        f"{live},,lots\n,No Id,\n{live[:15]},Short Id,12\n"
    )
    job_id, info = _run(sf, data)
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (8, 7)
    failed = _results(sf, job_id, "failedResults")
    assert [_error(r["sf__Error"]) for r in failed[:5]] == [
        (code, message, fields) for code, message, fields in expected
    ]
    # the record was found for these (sf__Id), not for an id that names no live record
    assert [r["sf__Id"] for r in failed[:5]] == ["", "", "", live, other]
    assert failed[5]["sf__Error"] == (
        "INVALID_FIELD:Failed to deserialize field at col 2. Due to, 'lots' is not a valid "
        "value for the type xsd:double:AnnualRevenue --"
    )
    assert failed[6]["sf__Error"] == "MISSING_ARGUMENT:Id not specified in an update call:--"
    assert failed[6]["Name"] == "No Id"  # the row as uploaded follows sf__Error
    (done,) = _results(sf, job_id, "successfulResults")
    assert (done["sf__Id"], done["Id"]) == (live, live[:15])  # a 15-character id works
    assert sf.Account.get(live)["AnnualRevenue"] == 12


def test_opportunity_updates_add_history_as_composite_does(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    sf = salesforce_client(fresh_sandbox())
    soql = "SELECT Id FROM Opportunity WHERE IsClosed = false LIMIT 1"
    opportunity = sf.query(soql)["records"][0]["Id"]
    history = f"SELECT COUNT() FROM OpportunityHistory WHERE OpportunityId = '{opportunity}'"
    before = sf.query(history)["totalSize"]
    result = sf.bulk2.Opportunity.update(
        records=[{"Id": opportunity, "Amount": "1234.5", "CloseDate": "2031-02-03"}], wait=0
    )
    assert result[0]["numberRecordsFailed"] == 0
    assert sf.query(history)["totalSize"] == before + 1
    record = sf.Opportunity.get(opportunity)
    assert (record["Amount"], record["CloseDate"]) == (1234.5, "2031-02-03")


# --- field-level security ----------------------------------------------------------------


def _grant(sf: Any, field: str, *, edit: bool) -> str:
    """A permission set granting read (and edit) on ``field``, assigned to the session's
    user; the FieldPermissions id."""
    user = sf.session.get(
        f"https://{sf.sf_instance}/services/oauth2/userinfo", headers=sf.headers
    ).json()["user_id"]
    permission_set = sf.PermissionSet.create({"Name": "Scores", "Label": "Scores"})["id"]
    grant: str = sf.FieldPermissions.create(
        {"ParentId": permission_set, "SobjectType": "Account", "Field": field,
         "PermissionsRead": True, "PermissionsEdit": edit}
    )["id"]  # fmt: skip
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": permission_set})
    return grant


def test_field_level_security_as_describe_and_composite_see_it(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    sf.toolingexecute(
        "sobjects/CustomField", method="POST",
        data={"FullName": "Account.Partner_Score__c",
              "Metadata": {"type": "Number", "precision": 4, "scale": 1, "label": "Score"}},
    )  # fmt: skip
    sf.toolingexecute(
        "sobjects/CustomField", method="POST",
        data={"FullName": "Account.Partner_Scored_At__c",
              "Metadata": {"type": "DateTime", "label": "Scored At"}},
    )  # fmt: skip
    account = _account_ids(sf, 1)[0]
    data = f"Id,Partner_Score__c\n{account},71.5\n"

    # hidden (no read access): the user cannot name the field, so the job fails
    job_id, info = _run(sf, data)
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Partner_Score__c"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (0, 0)
    assert _results(sf, job_id, "unprocessedrecords") == [
        {"Id": account, "Partner_Score__c": "71.5"}
    ]
    assert _results(sf, job_id, "failedResults") == []
    with pytest.raises(SalesforceOperationError, match="Field name not found : Partner_Score__c"):
        sf.bulk2.Account.update(records=[{"Id": account, "Partner_Score__c": "1"}], wait=0)

    # read but not edit: each row fails as a collection update of it does
    grant = _grant(sf, "Account.Partner_Score__c", edit=False)
    (composite,) = _composite(sf, [{"id": account, "Partner_Score__c": 71.5}])
    expected = composite["errors"][0]
    assert expected["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    job_id, info = _run(sf, data)
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 1)
    (failed,) = _results(sf, job_id, "failedResults")
    assert failed["sf__Error"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Partner_Score__c. "
        "Please check the security settings of this field and verify that it is read/write "
        "for your profile or permission set.:Partner_Score__c --"
    )
    assert _error(failed["sf__Error"]) == (
        expected["statusCode"], expected["message"], expected["fields"]
    )  # fmt: skip
    assert failed["sf__Id"] == account

    # edit access: written, type-checked as the REST API checks it
    assert sf.FieldPermissions.update(grant, {"PermissionsEdit": True}) == 204
    _grant_datetime = sf.FieldPermissions.create(
        {"ParentId": sf.FieldPermissions.get(grant)["ParentId"], "SobjectType": "Account",
         "Field": "Account.Partner_Scored_At__c", "PermissionsRead": True,
         "PermissionsEdit": True}
    )  # fmt: skip
    assert _grant_datetime["success"]
    job_id, info = _run(
        sf,
        "Id,Partner_Score__c,Partner_Scored_At__c\n"
        f"{account},71.5,2026-01-02T03:04:05.000Z\n{account},12345,\n",
    )
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    (too_big,) = _results(sf, job_id, "failedResults")
    assert _error(too_big["sf__Error"])[0] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    record = sf.Account.get(account)
    assert record["Partner_Score__c"] == 71.5
    assert record["Partner_Scored_At__c"] == "2026-01-02T03:04:05.000+0000"


# --- the job's life: states, refusals, listing, deletion -----------------------------------


def test_job_states_and_what_each_refuses(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    sf = salesforce_client(fresh_sandbox())
    client = sf.bulk2.Account._client
    job_id = client.create_job(Operation.update)["id"]
    assert _raw(sf, "GET", f"/{job_id}/successfulResults").status_code == 400  # not done
    deleted = _raw(sf, "DELETE", f"/{job_id}")
    assert (deleted.status_code, deleted.json()[0]["errorCode"]) == (400, "INVALIDJOBSTATE")
    account = _account_ids(sf, 1)[0]
    client.upload_job_data(job_id, f"Id,Name\n{account},Never Written\n")
    again = _raw(sf, "PUT", f"/{job_id}/batches", data=b"Id\n",
                 headers={"Content-Type": "text/csv"})  # fmt: skip
    assert again.status_code == 400
    assert again.json()[0]["errorCode"] == "BULK_API_ERROR"
    assert "Found multiple contents for job" in again.json()[0]["message"]

    assert client.abort_job(job_id, False)["state"] == "Aborted"
    info = client.get_job(job_id, False)
    assert (info["state"], info["numberRecordsProcessed"]) == ("Aborted", 0)
    assert _results(sf, job_id, "unprocessedRecords") == [{"Id": account, "Name": "Never Written"}]
    assert _results(sf, job_id, "successfulResults") == []
    closed = _raw(sf, "PATCH", f"/{job_id}", json={"state": "UploadComplete"})
    assert (closed.status_code, closed.json()[0]["errorCode"]) == (400, "INVALIDJOBSTATE")
    assert sf.Account.get(account)["Name"] != "Never Written"

    listing = _raw(sf, "GET", "").json()
    assert listing["done"] is True and listing["nextRecordsUrl"] is None
    (listed,) = [r for r in listing["records"] if r["id"] == job_id]
    assert (listed["state"], listed["jobType"], listed["object"]) == (
        "Aborted", "V2Ingest", "Account"
    )  # fmt: skip

    # Salesforce answers DELETE with 204 and no body; simple-salesforce 1.12 then fails to
    # read JSON from it, though the job is gone
    with pytest.raises(requests.exceptions.JSONDecodeError):
        client.delete_job(job_id, False)
    gone = _raw(sf, "GET", f"/{job_id}")
    assert (gone.status_code, gone.json()[0]["errorCode"]) == (404, "NOT_FOUND")


def test_what_a_job_cannot_be_created_with(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    sf = salesforce_client(fresh_sandbox())

    def create(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = _raw(sf, "POST", "", json=body)
        return answer.status_code, answer.json()[0]

    status, error = create({"object": "Acount", "operation": "update"})
    assert (status, error["errorCode"]) == (400, "INVALIDJOB")
    assert error["message"] == "Unable to find object: Acount"
    status, error = create({"object": "Account", "operation": "upd"})
    assert (status, error["errorCode"]) == (400, "JSON_PARSER_ERROR")
    assert "OperationEnum" in error["message"]
    status, error = create({"object": "Account", "operation": "upsert"})
    assert (status, error["errorCode"]) == (400, "INVALIDJOB")
    status, error = create({"object": "Account", "operation": "update", "lineEnding": "CR"})
    assert "LineEndingEnum" in error["message"]
    old = sf.session.post(
        sf.bulk2_url.replace("v60.0", "v40.0") + "ingest",
        json={"object": "Account", "operation": "update"},
        headers=sf.headers,
    )
    assert old.status_code == 404  # Bulk API 2.0 ingest starts with API 41.0


def test_a_csv_the_job_cannot_read_fails_it(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    sf = salesforce_client(fresh_sandbox())
    account = _account_ids(sf, 1)[0]
    job_id, info = _run(sf, f"Id,Name,Bogus__c\n{account},X,1\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Bogus__c"
    job_id, info = _run(sf, f"Id,Name\r\n{account},X\r\n")  # the job says LF
    assert info["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    )
    assert _results(sf, job_id, "unprocessedrecords") == [{"Id": account, "Name": "X"}]


def test_an_upload_over_the_limit_is_refused(
    fresh_sandbox: Callable[..., RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    sf = salesforce_client(fresh_sandbox())
    monkeypatch.setattr(ingest, "MAX_UPLOAD_BASE64_BYTES", 40)  # 150 MB, scaled down
    job_id = sf.bulk2.Account._client.create_job(Operation.update)["id"]
    body = b"Id,Name\n" + b"001,x\n" * 5  # 38 bytes: 52 once base64-encoded
    answer = _raw(sf, "PUT", f"/{job_id}/batches", data=body,
                  headers={"Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "CLIENTINPUTERROR"
    assert _raw(sf, "PUT", f"/{job_id}/batches", data=b"Id,Name\n",
                headers={"Content-Type": "text/csv"}).status_code == 201  # fmt: skip


def test_auth_faults_and_limits_apply_to_ingest_routes(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    created = _raw(sf, "POST", "", json={"object": "Account", "operation": "update"})
    assert created.headers["Sforce-Limit-Info"].startswith("api-usage=")
    job_id = created.json()["id"]
    anonymous = requests.get(
        f"{sf.bulk2_url}ingest/{job_id}", verify=str(running.ca_bundle), timeout=60
    )
    assert (anonymous.status_code, anonymous.json()[0]["errorCode"]) == (
        401, "INVALID_SESSION_ID"
    )  # fmt: skip
    set_faults(running, "rate_limit=every:1")
    limited = _raw(sf, "GET", f"/{job_id}")
    assert (limited.status_code, limited.json()[0]["errorCode"]) == (
        403, "REQUEST_LIMIT_EXCEEDED"
    )  # fmt: skip
    set_faults(running, "server_error=every:1")
    assert _raw(sf, "PATCH", f"/{job_id}", json={"state": "Aborted"}).status_code == 503
    set_faults(running, "")
    assert _raw(sf, "GET", f"/{job_id}").json()["state"] == "Open"  # the refusals changed nothing
    limits = sf.limits()
    assert limits["DailyBulkApiBatches"]["Max"] == 15000

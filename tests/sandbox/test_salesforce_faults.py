"""The sandbox's Salesforce fails as an org fails: a write whose answer is lost, QUERY_TIMEOUT,
UNABLE_TO_LOCK_ROW, the quota spent by the org's other users, 414 and MALFORMED_QUERY for long
SOQL, compound fields the Bulk API refuses, and text longer than a field holds, each in
Salesforce's own shape (sources in sandbox/faults.py and sandbox/salesforce/org.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from connectors.seed import read_seed
from core.errors import SeedFormatError
from sandbox.faults import FaultSpec, FaultSpecError
from sandbox.salesforce.org import SalesforceOrg
from sandbox.server import RunningSandbox
from sandbox.store import SqlStore
from tests.sandbox.conftest import control, salesforce_client, set_faults

Start = Callable[..., RunningSandbox]
QUERY_TIMEOUT = {
    "message": "Your query request was running for too long.",
    "errorCode": "QUERY_TIMEOUT",
    "fields": [],
}
#: https://github.com/simple-salesforce/simple-salesforce/issues/179
QUERY_TOO_COMPLICATED = {
    "errorCode": "QUERY_TOO_COMPLICATED",
    "message": "Query is either selecting too many fields or the filter conditions are too "
    "complicated.",
    "fields": [],
}


def _partners(sf: Any, n: int) -> list[str]:
    rows = sf.query(f"SELECT Id FROM Account WHERE IsPartner = true ORDER BY Id LIMIT {n}")
    return [r["Id"] for r in rows["records"]]


def _first_error(error: SalesforceMalformedRequest | SalesforceRefusedRequest) -> dict[str, Any]:
    content: Any = error.content
    first: dict[str, Any] = content[0]
    return first


def _bulk_query(sf: Any, soql: str) -> requests.Response:
    response: requests.Response = sf.session.post(
        f"{sf.base_url}jobs/query",
        json={"operation": "query", "query": soql},
        headers=sf.headers,
    )
    return response


def test_a_lost_response_is_applied_then_dropped_on_both_crms(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    (account,) = _partners(sf, 1)
    company = control(running, "id-map")["hubspot"]["partner-anna-snelling"]
    hubspot = f"{running.url}/crm/v3/objects/companies/{company}"
    token = {"Authorization": f"Bearer {running.credentials.hubspot_access_token}"}
    set_faults(running, "lost_response=every:1")

    with pytest.raises(requests.ConnectionError):
        sf.Account.update(account, {"Region__c": "Lost answer"})
    with pytest.raises(requests.ConnectionError):
        requests.patch(hubspot, json={"properties": {"name": "Lost answer"}}, headers=token,
                       verify=str(running.ca_bundle), timeout=30)  # fmt: skip

    set_faults(running, "")
    assert sf.Account.get(account)["Region__c"] == "Lost answer"  # the write landed
    found = requests.get(hubspot, headers=token, verify=str(running.ca_bundle), timeout=30)
    assert found.json()["properties"]["name"] == "Lost answer"


def test_large_opportunity_queries_time_out(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    set_faults(running, "query_timeout=every:1")

    for soql in ("SELECT Id FROM Opportunity", "SELECT Id, StageName FROM OpportunityHistory"):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(soql)
        assert refused.value.status == 400
        assert _first_error(refused.value) | {"fields": []} == QUERY_TIMEOUT
    # a small query, another object, a count and a Bulk job of the same query all answer
    assert len(sf.query("SELECT Id FROM Opportunity ORDER BY Id LIMIT 2000")["records"]) == 2000
    assert sf.query("SELECT Id FROM Account")["totalSize"] > 0
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 8800
    assert _bulk_query(sf, "SELECT Id FROM Opportunity").status_code == 200

    set_faults(running, "query_timeout=every:2,query_timeout_rows=9000")
    assert sf.query("SELECT Id FROM Opportunity")["totalSize"] == 8800  # not large now


def test_a_query_selecting_too_many_fields_is_too_complicated(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    wide = "SELECT Id, Name, StageName, Amount FROM Opportunity ORDER BY Id LIMIT 5"
    set_faults(running, "query_fields_limit=3")

    for query in (sf.query, sf.query_all):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            query(wide)
        assert refused.value.status == 400
        assert _first_error(refused.value) | {"fields": []} == QUERY_TOO_COMPLICATED
    bulk = _bulk_query(sf, wide)
    assert bulk.status_code == 400
    assert bulk.json()[0] | {"fields": []} == QUERY_TOO_COMPLICATED
    # three fields, a count and a Bulk job of three fields all answer
    narrow = "SELECT Id, Name, StageName FROM Opportunity ORDER BY Id LIMIT 5"
    assert len(sf.query(narrow)["records"]) == 5
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 8800
    assert _bulk_query(sf, narrow).status_code == 200

    set_faults(running, "query_fields_limit=0")  # off
    assert len(sf.query(wide)["records"]) == 5


def test_locked_rows_fail_alone_in_a_collection(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    accounts = _partners(sf, 3)
    set_faults(running, "lock_row=every:2")
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"allOrNone": False, "records": [
            {"attributes": {"type": "Account"}, "id": a, "Region__c": "Locked?"}
            for a in accounts]},
    )  # fmt: skip
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1] == {
        "id": accounts[1],
        "success": False,
        "errors": [{
            "statusCode": "UNABLE_TO_LOCK_ROW",
            "message": f"unable to obtain exclusive access to this record or 1 records: "
                       f"{accounts[1]}",
            "fields": [],
        }],
    }  # fmt: skip
    set_faults(running, "")
    regions = {a: sf.Account.get(a)["Region__c"] for a in accounts}
    assert regions[accounts[1]] != "Locked?"
    assert regions[accounts[0]] == regions[accounts[2]] == "Locked?"


def test_other_users_spend_the_daily_quota(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    set_faults(running, "daily_limit=100,others_usage=9")
    usages = []
    for _ in range(10):
        sf.query("SELECT Id FROM Account LIMIT 1")
        usages.append(sf.api_usage["api-usage"].used)
    assert usages == list(range(10, 101, 10))  # ten calls a call of ours
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert refused.value.status == 403
    assert _first_error(refused.value) == {
        "message": "TotalRequests Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
    }


def test_long_soql_is_refused_as_salesforce_refuses_it(sandbox: RunningSandbox) -> None:
    sf = salesforce_client(sandbox)
    url = f"{sf.base_url}query/"

    def uri_bytes(soql: str) -> int:
        prepared = requests.Request("GET", url, params={"q": soql}).prepare()
        return len(str(prepared.path_url))

    def in_list(n: int) -> str:
        ids = ", ".join(f"'001{i:012d}AAA'" for i in range(n))
        return f"SELECT Id FROM Account WHERE Id IN ({ids})"

    n = max(n for n in range(1, 700) if uri_bytes(in_list(n)) <= 15_000)
    assert sf.session.get(url, params={"q": in_list(n)}, headers=sf.headers).status_code == 200
    over = min(n for n in range(n, 700) if uri_bytes(in_list(n)) > 16_384)
    too_long = sf.session.get(url, params={"q": in_list(over)}, headers=sf.headers)
    assert too_long.status_code == 414
    assert too_long.text == "<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>"

    # a Bulk job carries its SOQL in the body: the statement's own limit applies
    padded = "SELECT Id FROM Account WHERE Name != '" + "x" * 100_000 + "'"
    refused = _bulk_query(sf, padded)
    assert (refused.status_code, refused.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")
    assert refused.json()[0]["message"] == (
        "SOQL statements can not be longer than 100000 characters"
    )


def test_the_bulk_api_refuses_compound_fields(sandbox: RunningSandbox) -> None:
    sf = salesforce_client(sandbox)
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    address = described["BillingAddress"]
    assert (address["type"], address["soapType"], address["filterable"]) == (
        "address", "urn:address", False,
    )  # fmt: skip
    rows = sf.query("SELECT Id, BillingAddress FROM Account LIMIT 5")["records"]
    assert len(rows) == 5 and all("BillingAddress" in r for r in rows)  # REST answers it

    refused = _bulk_query(sf, "SELECT Id, BillingAddress FROM Account")
    assert refused.status_code == 400
    assert refused.json() == [{"message": "Selecting compound data not supported in Bulk Query",
                               "errorCode": "API_ERROR", "fields": []}]  # fmt: skip
    assert _bulk_query(sf, "SELECT Id, BillingCountry FROM Account").status_code == 200


def test_text_longer_than_its_field_is_string_too_long(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    (account,) = _partners(sf, 1)
    name = {f["name"]: f for f in sf.Account.describe()["fields"]}["Name"]
    assert (name["label"], name["length"]) == ("Account Name", 255)

    assert sf.Account.update(account, {"Name": "n" * 255}) == 204
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.update(account, {"Name": "n" * 256})
    assert _first_error(refused.value) == {
        "errorCode": "STRING_TOO_LONG",
        "message": f"Account Name: data value too large: {'n' * 256} (max length=255)",
        "fields": ["Name"],
    }
    assert sf.Account.get(account)["Name"] == "n" * 255


def test_a_seed_no_org_could_hold_is_refused(bundled_seed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "seed"
    shutil.copytree(bundled_seed, folder)
    long_name = "Anna " + "Snelling" * 40  # 325 characters: a partner Account's Name
    for file in ("sales_teams.csv", "sales_pipeline.csv"):
        path = folder / file
        path.write_text(path.read_text().replace("Anna Snelling", long_name))
    with pytest.raises(SeedFormatError, match=r"Account Name .* is 325 characters.*255") as no:
        SalesforceOrg(SqlStore(), read_seed(folder))
    line = 1 + next(  # the file, line and column that hold it are named
        n
        for n, row in enumerate((folder / "sales_teams.csv").read_text().splitlines())
        if row.startswith("Anna ")
    )
    assert f"{folder / 'sales_teams.csv'}, line {line}: sales_agent" in str(no.value)


def test_a_long_customer_name_an_org_holds_is_seeded(bundled_seed: Path, tmp_path: Path) -> None:
    # 110 characters fit Account Name (255), but "customer – product" passes Opportunity
    # Name's 120: the name the seed mapping makes is cut, the seed is not refused
    folder = tmp_path / "seed"
    shutil.copytree(bundled_seed, folder)
    long_name = "Cancity " + "x" * 102
    for file in ("accounts.csv", "sales_pipeline.csv", "cases.csv"):
        path = folder / file
        path.write_text(path.read_text().replace("Cancity", long_name))
    org = SalesforceOrg(SqlStore(), read_seed(folder))
    (customer,) = org.store.query('SELECT Id FROM "Account" WHERE Name = ?', (long_name,))
    names = org.store.query('SELECT Name FROM "Opportunity" WHERE AccountId = ?', (customer[0],))
    assert names and all(name == f"{long_name} – GTX Plus Basic"[:120] or len(name) <= 120
                         for (name,) in names)  # fmt: skip
    assert any(len(name) == 120 for (name,) in names)


def test_a_last_page_can_be_asked_for_again_and_ten_cursors_stay_open(
    sandbox: RunningSandbox,
) -> None:
    sf = salesforce_client(sandbox)
    first = sf.query("SELECT Id FROM Opportunity ORDER BY Id")
    pages = [first]
    while not pages[-1]["done"]:
        pages.append(sf.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True))
    last_url = pages[-2]["nextRecordsUrl"]
    # the answer of the last page was lost: the same locator answers it again
    assert sf.query_more(last_url, identifier_is_url=True) == pages[-1]

    for _ in range(10):  # ten more cursors: the oldest is released
        sf.query("SELECT Id FROM Opportunity")
    with pytest.raises(SalesforceMalformedRequest) as released:
        sf.query_more(last_url, identifier_is_url=True)
    assert _first_error(released.value)["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(
    "spec",
    ["others_usage=-1", "query_timeout_rows=x", "lock_row=2", "query_fields_limit=-1",
     "query_fields_limit=2.5"],
)  # fmt: skip
def test_bad_fault_values_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError, match=spec.split("=")[0]):
        FaultSpec.parse(spec)

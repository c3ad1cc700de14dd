"""The unmodified simple-salesforce client against the sandbox, endpoint by endpoint.

Expected figures come from the dataset's README (35 partners, 85 customers,
8,800 opportunities) and from Salesforce's documented limits (2,000 records a
query page, batchSize 200..2,000, 200 records a collection call).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, salesforce_client, salesforce_token, set_faults

REFERENCE = Path(__file__).resolve().parent / "reference"


def first_error(error: SalesforceError) -> dict[str, Any]:
    """The first error of a Salesforce error body ([{message, errorCode, …}])."""
    body: list[dict[str, Any]] = error.content  # type: ignore[assignment]
    return body[0]


@pytest.fixture(scope="module")
def sf(sandbox: RunningSandbox) -> Any:
    return salesforce_client(sandbox)


def test_partner_accounts_are_queryable(sf: Any) -> None:
    records = list(sf.query_all_iter("SELECT Id, Name, Type FROM Account WHERE IsPartner = true"))
    assert len(records) == 35
    assert {r["Type"] for r in records} == {"Partner"}
    assert all(r["Id"].startswith("001") and len(r["Id"]) == 18 for r in records)
    customers = sf.query("SELECT COUNT() FROM Account WHERE Type = 'Customer'")
    assert customers["totalSize"] == 85 and customers["records"] == []


def test_query_pages_of_2000_walk_every_opportunity_once(sf: Any) -> None:
    first = sf.query("SELECT Id FROM Opportunity")
    assert first["totalSize"] == 8800
    assert len(first["records"]) == 2000 and first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v60.0/query/01g")
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id, StageName FROM Opportunity")]
    assert len(ids) == 8800 == len(set(ids))


@pytest.mark.parametrize(("limit", "pages"), [(2000, [2000]), (2001, [2000, 1])])
def test_paging_boundary(sf: Any, limit: int, pages: list[int]) -> None:
    page = sf.query(f"SELECT Id FROM Opportunity ORDER BY Id LIMIT {limit}")
    sizes = [len(page["records"])]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        sizes.append(len(page["records"]))
    assert sizes == pages
    assert "nextRecordsUrl" not in page


@pytest.mark.parametrize(("asked", "served"), [(100, 200), (500, 500), (5000, 2000)])
def test_batch_size_header_is_honoured_within_200_to_2000(sf: Any, asked: int, served: int) -> None:
    page = sf.query(
        "SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": f"batchSize={asked}"}
    )
    assert len(page["records"]) == served


def test_parent_relationship_fields(sf: Any) -> None:
    page = sf.query(
        "SELECT Id, Name, PartnerAccount.Name, Account.Name FROM Opportunity "
        "WHERE Account.Name = 'cancity' AND StageName = 'Won' ORDER BY CloseDate, Id LIMIT 3"
    )
    record = page["records"][0]
    assert list(record) == ["attributes", "Id", "Name", "PartnerAccount", "Account"]
    assert record["Account"]["Name"] == "Cancity"  # case-insensitive match, stored casing
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["PartnerAccount"]["attributes"]["url"].startswith(
        "/services/data/v60.0/sobjects/Account/001"
    )
    no_account = sf.query("SELECT Id, Account.Name FROM Opportunity WHERE AccountId = null LIMIT 1")
    assert no_account["records"][0]["Account"] is None


def test_query_shape_matches_the_reference(sf: Any) -> None:
    reference = json.loads((REFERENCE / "restforce" / "query_success_response.json").read_text())
    page = sf.query("SELECT Id, Name FROM Account LIMIT 1")
    assert set(page) == set(reference)
    assert set(page["records"][0]["attributes"]) == set(reference["records"][0]["attributes"])
    empty = json.loads((REFERENCE / "restforce" / "query_empty_response.json").read_text())
    assert sf.query("SELECT Id FROM Account WHERE Name = 'no such account'") == empty


def test_describe_has_the_reference_keys(sf: Any) -> None:
    reference = json.loads(
        (REFERENCE / "restforce" / "sobject_describe_success_response.json").read_text()
    )
    described = sf.Opportunity.describe()
    assert set(reference) <= set(described)
    fields = {f["name"]: f for f in described["fields"]}
    assert set(reference["fields"][0]) <= set(fields["Id"])
    assert fields["PartnerAccountId"]["referenceTo"] == ["Account"]
    assert fields["PartnerAccountId"]["relationshipName"] == "PartnerAccount"
    assert fields["StageName"]["type"] == "picklist"
    global_reference = json.loads(
        (REFERENCE / "restforce" / "describe_sobjects_success_response.json").read_text()
    )
    described_global = sf.describe()
    assert described_global is not None
    names = {o["name"] for o in described_global["sobjects"]}
    assert {"Account", "Opportunity", "OpportunityStage", "OpportunityHistory",
            "OpportunityPartner", "User"} <= names  # fmt: skip
    assert set(global_reference["sobjects"][0]) <= set(described_global["sobjects"][0])


def test_stage_metadata_and_history(sf: Any) -> None:
    stages = {
        r["ApiName"]: r
        for r in sf.query_all_iter(
            "SELECT ApiName, IsClosed, IsWon, DefaultProbability, SortOrder FROM OpportunityStage"
        )
    }
    assert stages["Won"]["IsWon"] is True and stages["Won"]["DefaultProbability"] == 100
    assert (
        stages["Engaging"]["IsClosed"] is False and stages["Engaging"]["DefaultProbability"] == 50
    )
    history = list(sf.query_all_iter("SELECT Id FROM OpportunityHistory"))
    # README: Prospecting always; Engaging for every deal with an engage date (all but the
    # 500 Prospecting deals); Won/Lost for the 6,711 closed deals
    assert len(history) == 8800 + (8800 - 500) + (4238 + 2473)
    partners = sf.query("SELECT COUNT() FROM OpportunityPartner WHERE IsPrimary = true")
    assert partners["totalSize"] == 8800


def test_single_currency_org_has_no_currency_type(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query("SELECT IsoCode FROM CurrencyType")
    assert first_error(error.value)["errorCode"] == "INVALID_TYPE"


def test_malformed_soql_names_the_position(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query("SELECT Id FORM Account")
    body = first_error(error.value)
    assert body["errorCode"] == "MALFORMED_QUERY"
    assert "Row:1:Column:" in body["message"]


def test_unknown_field_is_invalid_field(sf: Any) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query("SELECT Id, Nme FROM Account")
    body = first_error(error.value)
    assert body["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nme' on entity 'Account'" in body["message"]
    assert "Row:1:Column:12" in body["message"]


def test_limits_and_limit_info_header(sf: Any) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] > 0
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used > 0  # parsed from Sforce-Limit-Info


def test_bulk2_query_pages_by_locator(sf: Any) -> None:
    chunks = list(
        sf.bulk2.Opportunity.query("SELECT Id, Amount, IsWon FROM Opportunity", max_records=3000)
    )
    assert len(chunks) == 3  # 3,000 + 3,000 + 2,800
    rows = [row for chunk in chunks for row in csv.DictReader(io.StringIO(chunk))]
    assert len(rows) == 8800 == len({r["Id"] for r in rows})
    assert {r["IsWon"] for r in rows} == {"true", "false"}


def test_rest_is_refused_without_a_valid_token(sandbox: RunningSandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = requests.get(
            f"{sandbox.url}/services/data/v60.0/limits",
            headers=headers,
            verify=str(sandbox.ca_bundle),
            timeout=30,
        )
        assert response.status_code == 401
        assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_token_endpoint_rejects_a_wrong_password(sandbox: RunningSandbox) -> None:
    creds = sandbox.credentials
    response = requests.post(
        f"{sandbox.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": creds.sf_client_id,
            "client_secret": creds.sf_client_secret,
            "username": creds.sf_username,
            "password": "wrong" + creds.sf_security_token,
        },
        verify=str(sandbox.ca_bundle),
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_other_grants(sandbox: RunningSandbox, grant: str) -> None:
    creds = sandbox.credentials
    form = {"grant_type": grant}
    if grant == "refresh_token":
        form["refresh_token"] = creds.sf_refresh_token
    token = salesforce_token(sandbox, **form)
    assert token["token_type"] == "Bearer" and token["instance_url"] == sandbox.url


# --- writes: each on a private sandbox -------------------------------------------------


def test_collection_update_is_per_record(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    partners = [
        r["Id"]
        for r in sf.query_all_iter("SELECT Id FROM Account WHERE IsPartner = true ORDER BY Id")
    ]
    before = sf.query(f"SELECT SystemModstamp FROM Account WHERE Id = '{partners[0]}'")
    result = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "id": partners[0], "AnnualRevenue": 1234},
                {"attributes": {"type": "Account"}, "id": partners[1], "AnnualRevenue": "lots"},
                {"attributes": {"type": "Account"}, "id": "001000000000000AAA", "AnnualRevenue": 1},
            ],
        },
    )
    assert [r["success"] for r in result] == [True, False, False]
    assert result[1]["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert result[1]["errors"][0]["fields"] == ["AnnualRevenue"]
    rows = {
        r["Id"]: r
        for r in sf.query_all_iter(
            "SELECT Id, AnnualRevenue, SystemModstamp FROM Account "
            f"WHERE Id IN ('{partners[0]}', '{partners[1]}')"
        )
    }
    assert rows[partners[0]]["AnnualRevenue"] == 1234
    assert rows[partners[1]]["AnnualRevenue"] is None
    assert rows[partners[0]]["SystemModstamp"] > before["records"][0]["SystemModstamp"]
    assert control(running, "stats")["records_written"] == {"salesforce": 1}


def test_collection_all_or_none_rolls_back(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    ids = [
        r["Id"]
        for r in sf.query("SELECT Id FROM Account WHERE IsPartner = true LIMIT 2")["records"]
    ]
    result = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "id": ids[0], "AnnualRevenue": 5},
                {"attributes": {"type": "Account"}, "id": ids[1], "AnnualRevenue": "five"},
            ],
        },
    )
    assert [r["success"] for r in result] == [False, False]
    assert result[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    check = sf.query(f"SELECT AnnualRevenue FROM Account WHERE Id = '{ids[0]}'")
    assert check["records"][0]["AnnualRevenue"] is None


def test_collection_refuses_more_than_200(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    sf = salesforce_client(fresh_sandbox())
    records = [{"attributes": {"type": "Account"}, "id": "001", "Name": "x"}] * 201
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.restful("composite/sobjects", method="PATCH", json={"records": records})
    assert first_error(error.value)["errorCode"] == "EXCEEDED_ID_LIMIT"


def _tooling_field(sf: Any, full_name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata}
    )
    return answer


def _account_fields(sf: Any) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in sf.Account.describe()["fields"]}


def test_a_tooling_field_is_hidden_until_a_permission_set_grants_it(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    """Field-level security as in Salesforce: a field made through the Tooling API is seen by
    no one until a FieldPermissions row on a permission set assigned to the user grants it."""
    sf = salesforce_client(fresh_sandbox())
    metadata = {"type": "Number", "precision": 4, "scale": 1, "label": "Partner Score"}
    created = _tooling_field(sf, "Account.Partner_Score__c", metadata)
    assert created["success"] is True and created["id"].startswith("00N")
    partner = sf.query("SELECT Id FROM Account WHERE IsPartner = true LIMIT 1")["records"][0]["Id"]

    # hidden: not described, not queryable, not writable, yet it exists (Tooling API query)
    assert "Partner_Score__c" not in _account_fields(sf)
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query("SELECT Partner_Score__c FROM Account LIMIT 1")
    assert first_error(error.value)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Account.update(partner, {"Partner_Score__c": 71.5})
    assert first_error(error.value)["errorCode"] == "INVALID_FIELD"
    found = sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName,TableEnumOrId+FROM+CustomField"
        "+WHERE+TableEnumOrId='Account'"
    )
    assert [(r["Id"], r["DeveloperName"]) for r in found["records"]] == [
        (created["id"], "Partner_Score")
    ]
    assert found["records"][0]["attributes"]["url"] == (
        f"/services/data/v60.0/tooling/sobjects/CustomField/{created['id']}"
    )
    with pytest.raises(SalesforceMalformedRequest) as error:  # a hidden field still exists
        _tooling_field(sf, "Account.Partner_Score__c", {"type": "Number"})
    assert first_error(error.value)["errorCode"] == "DUPLICATE_DEVELOPER_NAME"

    # read access through a permission set assigned to the session's user
    user = sf.session.get(
        f"https://{sf.sf_instance}/services/oauth2/userinfo", headers=sf.headers
    ).json()["user_id"]
    permission_set = sf.PermissionSet.create({"Name": "Scores", "Label": "Scores"})["id"]
    assert permission_set.startswith("0PS")
    grant = sf.FieldPermissions.create(
        {"ParentId": permission_set, "SobjectType": "Account", "Field": "Account.Partner_Score__c",
         "PermissionsRead": True, "PermissionsEdit": False}
    )["id"]  # fmt: skip
    assert grant.startswith("01k")
    assert "Partner_Score__c" not in _account_fields(sf)  # not assigned yet
    assignment = sf.PermissionSetAssignment.create(
        {"AssigneeId": user, "PermissionSetId": permission_set}
    )["id"]
    assert assignment.startswith("0Pa")
    described = _account_fields(sf)["Partner_Score__c"]
    assert (described["type"], described["precision"], described["scale"]) == ("double", 4, 1)
    assert described["updateable"] is False
    assert sf.query(f"SELECT Partner_Score__c FROM Account WHERE Id = '{partner}'")["records"]
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Account.update(partner, {"Partner_Score__c": 71.5})
    assert first_error(error.value)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"

    # edit access: updateable, writable, type-checked
    assert sf.FieldPermissions.update(grant, {"PermissionsEdit": True}) == 204
    assert _account_fields(sf)["Partner_Score__c"]["updateable"] is True
    assert sf.Account.update(partner, {"Partner_Score__c": 71.5}) == 204
    assert sf.Account.get(partner)["Partner_Score__c"] == 71.5
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Account.update(partner, {"Partner_Score__c": 12345.0})  # 4 digits, 1 after the point
    assert first_error(error.value)["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"

    # queryable like any object; unassigning hides the field again
    rows = sf.query(
        "SELECT Field, PermissionsRead, PermissionsEdit, Parent.Name FROM FieldPermissions "
        f"WHERE ParentId = '{permission_set}' AND SobjectType = 'Account'"
    )["records"]
    assert [(r["Field"], r["PermissionsEdit"], r["Parent"]["Name"]) for r in rows] == [
        ("Account.Partner_Score__c", True, "Scores")
    ]
    assert sf.PermissionSetAssignment.delete(assignment) == 204
    assert "Partner_Score__c" not in _account_fields(sf)


def test_permission_objects_refuse_what_salesforce_refuses(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    _tooling_field(sf, "Account.Partner_Tier__c", {"type": "Text", "length": 20})
    user = "0055g000000sAndbox"
    permission_set = sf.PermissionSet.create({"Name": "Scores", "Label": "Scores"})["id"]

    def refused(sobject: str, values: dict[str, Any]) -> str:
        with pytest.raises(SalesforceMalformedRequest) as error:
            getattr(sf, sobject).create(values)
        return str(first_error(error.value)["errorCode"])

    assert refused("PermissionSet", {"Name": "Scores", "Label": "Again"}) == (
        "DUPLICATE_DEVELOPER_NAME"
    )
    assert refused("PermissionSet", {"Name": "two__underscores", "Label": "x"}) == (
        "FIELD_INTEGRITY_EXCEPTION"
    )
    assert refused("PermissionSet", {"Name": "NoLabel"}) == "REQUIRED_FIELD_MISSING"
    grant = {"ParentId": permission_set, "SobjectType": "Account",
             "Field": "Account.Partner_Tier__c", "PermissionsRead": True}  # fmt: skip
    assert refused("FieldPermissions", grant | {"PermissionsRead": False,
                                                "PermissionsEdit": True}) == (
        "FIELD_INTEGRITY_EXCEPTION"
    )  # fmt: skip
    assert refused("FieldPermissions", grant | {"Field": "Account.Name"}) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"  # a required field has no field permissions
    )
    assert refused("FieldPermissions", grant | {"ParentId": "0PS5g0000000999GAA"}) == (
        "INVALID_CROSS_REFERENCE_KEY"
    )
    sf.FieldPermissions.create(grant)
    assert refused("FieldPermissions", grant) == "DUPLICATE_VALUE"
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": permission_set})
    assert refused(
        "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": permission_set}
    ) == "DUPLICATE_VALUE"  # fmt: skip
    profile_set = sf.query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true")
    assert refused(
        "PermissionSetAssignment",
        {"AssigneeId": user, "PermissionSetId": profile_set["records"][0]["Id"]},
    ) == "FIELD_INTEGRITY_EXCEPTION"  # fmt: skip

    # a user without "Manage Profiles and Permission Sets" / "Assign Permission Sets"
    control(running, "salesforce/user", {"permissions": {
        "PermissionsManageProfilesPermissionsets": False,
        "PermissionsAssignPermissionSets": False}})  # fmt: skip
    assert refused("PermissionSet", {"Name": "Other", "Label": "Other"}) == (
        "INSUFFICIENT_ACCESS_OR_READONLY"
    )
    other = sf.query("SELECT Id FROM User WHERE Id != '0055g000000sAndbox' LIMIT 1")
    assert refused(
        "PermissionSetAssignment",
        {"AssigneeId": other["records"][0]["Id"], "PermissionSetId": permission_set},
    ) == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"  # fmt: skip


def test_collections_create_records_one_result_each(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    sf = salesforce_client(fresh_sandbox())
    for name in ("Partner_A__c", "Partner_B__c"):
        _tooling_field(sf, f"Account.{name}", {"type": "Text", "length": 20})
    permission_set = sf.PermissionSet.create({"Name": "Scores", "Label": "Scores"})["id"]
    rows = [
        {"attributes": {"type": "FieldPermissions"}, "ParentId": permission_set,
         "SobjectType": "Account", "Field": field, "PermissionsRead": True,
         "PermissionsEdit": True}
        for field in ("Account.Partner_A__c", "Account.Nope__c", "Account.Partner_B__c")
    ]  # fmt: skip
    results = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": rows}
    )
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0]["id"].startswith("01k") and "id" not in results[1]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    rolled_back = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": True, "records": [
            {"attributes": {"type": "PermissionSet"}, "Name": "Kept", "Label": "Kept"},
            {"attributes": {"type": "PermissionSet"}, "Name": "Scores", "Label": "Taken"},
        ]},
    )  # fmt: skip
    assert [r["success"] for r in rolled_back] == [False, False]
    assert sf.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'Kept'")["totalSize"] == 0


def test_userinfo_names_the_session_user(sandbox: RunningSandbox) -> None:
    token = salesforce_token(sandbox)
    answer = requests.get(
        f"{sandbox.url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        verify=str(sandbox.ca_bundle),
        timeout=60,
    )
    assert answer.status_code == 200
    info = answer.json()
    org_id, user_id = token["id"].rsplit("/", 2)[-2:]
    assert (info["user_id"], info["organization_id"]) == (user_id, org_id)
    assert info["preferred_username"] == sandbox.credentials.sf_username
    assert info["sub"] == token["id"]
    assert {"name", "email", "zoneinfo", "urls", "active", "user_type"} <= set(info)
    refused = requests.get(
        f"{sandbox.url}/services/oauth2/userinfo",
        headers={"Authorization": "Bearer nope"},
        verify=str(sandbox.ca_bundle),
        timeout=60,
    )
    assert refused.status_code == 401


def test_picklist_values_can_be_inactive(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    values = [{"fullName": "Gold"}, {"fullName": "Silver", "isActive": False}]
    _tooling_field(sf, "Account.Partner_Tier__c", {
        "type": "Picklist", "label": "Tier",
        "valueSet": {"restricted": True, "valueSetDefinition": {"value": values}}})  # fmt: skip
    permission_set = sf.PermissionSet.create({"Name": "Scores", "Label": "Scores"})["id"]
    sf.FieldPermissions.create(
        {"ParentId": permission_set, "SobjectType": "Account", "Field": "Account.Partner_Tier__c",
         "PermissionsRead": True, "PermissionsEdit": True}
    )  # fmt: skip
    sf.PermissionSetAssignment.create(
        {"AssigneeId": "0055g000000sAndbox", "PermissionSetId": permission_set}
    )
    described = _account_fields(sf)["Partner_Tier__c"]
    assert [(v["value"], v["active"]) for v in described["picklistValues"]] == [
        ("Gold", True), ("Silver", False)
    ]  # fmt: skip
    partner = sf.query("SELECT Id FROM Account WHERE IsPartner = true LIMIT 1")["records"][0]["Id"]
    assert sf.Account.update(partner, {"Partner_Tier__c": "Gold"}) == 204
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Account.update(partner, {"Partner_Tier__c": "Silver"})
    assert first_error(error.value)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_revoked_tokens_end_sessions_and_refuse_the_refresh_token(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    old_refresh = running.credentials.sf_refresh_token
    sf = salesforce_client(running)
    # revoked after two more calls: those two still work, the third ends the session
    renewed = control(running, "salesforce/revoke", {"after_calls": 2})["refresh_token"]
    assert renewed != old_refresh
    assert salesforce_token(running, grant_type="refresh_token", refresh_token=old_refresh)
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(RuntimeError, match="expired access/refresh token"):
        salesforce_token(running, grant_type="refresh_token", refresh_token=old_refresh)
    # the new refresh token works; a revocation now ends the new session at once
    fresh = salesforce_token(running, grant_type="refresh_token", refresh_token=renewed)
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    url = f"{running.url}/services/data/v60.0/limits"
    assert requests.get(url, headers=headers, verify=str(running.ca_bundle), timeout=60).ok
    control(running, "salesforce/revoke", {})
    gone = requests.get(url, headers=headers, verify=str(running.ca_bundle), timeout=60)
    assert gone.status_code == 401 and gone.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_single_record_update_of_a_missing_record(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    sf = salesforce_client(fresh_sandbox())
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.update("0015g0000000000000", {"Name": "x"})


def test_session_expires_after_n_calls(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    set_faults(running, "token_expiry=after:2")
    sf = salesforce_client(running)
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account LIMIT 1")
    fresh = salesforce_client(running)  # a new login gets a new session
    assert fresh.query("SELECT COUNT() FROM Account")["totalSize"] == 120


def test_daily_quota_is_enforced(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    set_faults(running, "daily_limit=3")
    sf = salesforce_client(running)
    for _ in range(3):
        sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceRefusedRequest) as error:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert first_error(error.value)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_stats_count_requests_by_route(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    control(running, "reset-stats", {})
    list(sf.query_all_iter("SELECT Id FROM Opportunity"))
    stats: dict[str, Any] = control(running, "stats")
    assert stats["requests"]["salesforce GET /services/data/v<version>/query"] == 1
    assert stats["requests"]["salesforce GET /services/data/v<version>/query/<locator>"] == 4
    assert stats["records_returned"]["salesforce"] == 8800

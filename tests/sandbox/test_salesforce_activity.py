"""The sandbox org's leads, quotes, cases, tasks and opportunity products through the
unmodified simple-salesforce: parent-to-child subqueries in Salesforce's nested shape,
describe's child relationships, what a user without Read on an object or field sees,
the Bulk API's refusal of subqueries, and a case's Status history as an org keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceError, SalesforceResourceNotFound

from connectors.seed import SeedDataset, read_seed
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, salesforce_client
from tests.sandbox.salesforce_activity import (
    crm_ids,
    hand_made_activity,
    sandbox_of,
    with_activity,
)

REFERENCE = Path(__file__).resolve().parent / "reference"


def _reference(name: str) -> Any:
    return json.loads((REFERENCE / "restforce" / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def org(bundled_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    seed: SeedDataset = read_seed(bundled_seed)
    dataset = with_activity(seed, hand_made_activity(seed))
    with sandbox_of(dataset, tmp_path_factory.mktemp("sf-activity-api")) as running:
        yield running


@pytest.fixture
def running(org: RunningSandbox) -> RunningSandbox:
    org.app.reset()
    return org


@pytest.fixture
def ids(running: RunningSandbox) -> dict[str, str]:
    mapping: dict[str, str] = crm_ids(running)
    return mapping


def _error(exc: SalesforceError) -> dict[str, Any]:
    body: list[dict[str, Any]] = exc.content  # type: ignore[assignment]
    return body[0]


def test_a_subquery_nests_each_parents_children_as_salesforce_does(
    running: RunningSandbox, ids: dict[str, str]
) -> None:
    sf = salesforce_client(running)
    result = sf.query(
        "SELECT Id, (SELECT Id, Subject FROM Tasks ORDER BY CreatedDate DESC LIMIT 2), "
        "(SELECT OldValue, NewValue FROM Histories WHERE Field = 'Status' ORDER BY CreatedDate) "
        f"FROM Case WHERE Id IN ('{ids['cases:CS-2']}', '{ids['cases:CS-3']}') ORDER BY Id"
    )
    reference = _reference("query_success_response.json")["records"][0]["Whizbangs__r"]
    busy, quiet = result["records"]
    assert set(busy["Tasks"]) == set(reference) == {"totalSize", "done", "records"}
    # three logged contacts, the LIMIT applies per case
    assert busy["Tasks"]["totalSize"] == 2 and busy["Tasks"]["done"] is True
    assert set(busy["Tasks"]["records"][0]) == {"attributes", "Id", "Subject"}
    assert busy["Tasks"]["records"][0]["attributes"]["type"] == "Task"
    moves = [(h["OldValue"], h["NewValue"]) for h in busy["Histories"]["records"]]
    assert moves == [("New", "Closed"), ("Closed", "Working"), ("Working", "Closed")]
    # no child: null, not an empty result
    assert quiet["Tasks"] is None and quiet["Histories"] is None


def test_a_subquery_must_name_a_child_relationship(running: RunningSandbox) -> None:
    sf = salesforce_client(running)
    with pytest.raises(SalesforceError) as refused:
        sf.query("SELECT Id, (SELECT Id FROM Cases) FROM Lead")
    assert _error(refused.value)["errorCode"] == "INVALID_TYPE"
    assert "Didn't understand relationship 'Cases'" in _error(refused.value)["message"]


def test_describe_lists_the_child_relationships_subqueries_name(running: RunningSandbox) -> None:
    sf = salesforce_client(running)
    described = sf.Case.describe()
    reference = _reference("sobject_describe_success_response.json")["childRelationships"][0]
    children = {c["relationshipName"]: c for c in described["childRelationships"]}
    assert set(children["Tasks"]) == set(reference)
    assert (children["Tasks"]["childSObject"], children["Tasks"]["field"]) == ("Task", "WhatId")
    assert (children["Histories"]["childSObject"], children["Histories"]["field"]) == (
        "CaseHistory",
        "CaseId",
    )
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Quote", "QuoteDocument", "Case", "CaseHistory", "CaseStatus", "Task",
            "OpportunityLineItem", "Product2", "PricebookEntry", "Pricebook2"} <= names  # fmt: skip


def test_without_read_on_an_object_it_is_gone_as_in_an_org(running: RunningSandbox) -> None:
    control(running, "salesforce/user", {"object_read": {"Case": False}})
    sf = salesforce_client(running)
    assert "Case" not in {o["name"] for o in sf.describe()["sobjects"]}
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Case.describe()
    assert _error(missing.value) == {
        "message": "The requested resource does not exist",
        "errorCode": "NOT_FOUND",
        "fields": [],
    }
    with pytest.raises(SalesforceError) as refused:
        sf.query("SELECT Id FROM Case")
    assert _error(refused.value)["errorCode"] == "INVALID_TYPE"
    control(running, "salesforce/user", {"object_read": {"Case": True}})
    assert sf.Case.describe()["name"] == "Case"


def test_a_field_hidden_by_field_level_security_is_missing(running: RunningSandbox) -> None:
    control(running, "salesforce/user", {"field_read": {"Lead.PartnerAccountId": False}})
    sf = salesforce_client(running)
    assert "PartnerAccountId" not in {f["name"] for f in sf.Lead.describe()["fields"]}
    with pytest.raises(SalesforceError) as refused:
        sf.query("SELECT Id, PartnerAccountId FROM Lead")
    assert _error(refused.value)["errorCode"] == "INVALID_FIELD"
    control(running, "salesforce/user", {"field_read": {"Lead.PartnerAccountId": True}})
    assert sf.query("SELECT Id, PartnerAccountId FROM Lead")["totalSize"] == 3


def test_the_bulk_api_refuses_a_subquery_and_reads_relationships(running: RunningSandbox) -> None:
    sf = salesforce_client(running)
    with pytest.raises(SalesforceError) as refused:
        list(sf.bulk2.Case.query("SELECT Id, (SELECT Id FROM Tasks) FROM Case"))
    assert "Aggregate Relationships not supported in Bulk V2 Query" in str(refused.value)
    (csv_text,) = sf.bulk2.OpportunityLineItem.query(
        "SELECT Id, Product2.Name, TotalPrice FROM OpportunityLineItem ORDER BY Id"
    )
    lines = csv_text.strip().splitlines()
    assert lines[0].replace('"', "") == "Id,Product2.Name,TotalPrice"
    assert "GTX Basic" in lines[1]


def test_a_case_status_change_is_tracked_and_sets_closed(
    running: RunningSandbox, ids: dict[str, str]
) -> None:
    sf = salesforce_client(running)
    case = ids["cases:CS-3"]
    sf.Case.update(case, {"Status": "Closed"})
    closed = sf.Case.get(case)
    assert closed["IsClosed"] is True and closed["ClosedDate"] is not None
    sf.Case.update(case, {"Status": "Working"})
    reopened = sf.Case.get(case)
    assert reopened["IsClosed"] is False and reopened["ClosedDate"] is None
    history = sf.query(
        "SELECT OldValue, NewValue FROM CaseHistory "
        f"WHERE CaseId = '{case}' AND Field = 'Status' ORDER BY CreatedDate, Id"
    )["records"]
    assert [(h["OldValue"], h["NewValue"]) for h in history] == [
        ("New", "Closed"),
        ("Closed", "Working"),
    ]


def test_seeded_records_point_at_the_seeded_deals_and_accounts(
    running: RunningSandbox, ids: dict[str, str]
) -> None:
    sf = salesforce_client(running)
    lead = sf.Lead.get(ids["leads:LD-1"])
    assert lead["IsConverted"] is True and lead["ConvertedDate"] == "2017-01-09"
    assert (
        sf.Opportunity.get(lead["ConvertedOpportunityId"])["Id"] == lead["ConvertedOpportunityId"]
    )
    assert sf.Account.get(lead["PartnerAccountId"])["IsPartner"] is True
    item = sf.query(
        "SELECT PricebookEntry.Pricebook2.IsStandard, PricebookEntry.Product2Id, Product2Id "
        f"FROM OpportunityLineItem WHERE Id = '{ids['line_items:LI-1']}'"
    )["records"][0]
    assert item["PricebookEntry"]["Pricebook2"]["IsStandard"] is True
    assert item["PricebookEntry"]["Product2Id"] == item["Product2Id"]
    call = sf.Task.get(ids["calls:CL-1"])
    assert (call["TaskSubtype"], call["CallDisposition"], call["CallDurationInSeconds"]) == (
        "Call",
        "Connected",
        120,
    )


def test_a_composite_request_answers_each_describe_on_its_own(running: RunningSandbox) -> None:
    control(running, "salesforce/user", {"object_read": {"Case": False}})
    sf = salesforce_client(running)
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "GET", "url": f"/services/data/v{sf.sf_version}/sobjects/{name}/describe",
         "referenceId": name}
        for name in ("Lead", "Case")
    ]}  # fmt: skip
    answers = sf.restful("composite", method="POST", data=json.dumps(body))["compositeResponse"]
    lead, case = answers
    assert (lead["referenceId"], lead["httpStatusCode"]) == ("Lead", 200)
    assert lead["body"] == sf.Lead.describe()
    assert (case["referenceId"], case["httpStatusCode"]) == ("Case", 404)
    assert case["body"][0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceError):
        sf.restful("composite", method="POST", data=json.dumps({"compositeRequest": []}))

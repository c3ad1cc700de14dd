"""The HubSpot routes over WSGI (werkzeug's test client on the whole SandboxApp): status
codes, error bodies, query-string forms, paging links, stats and injected faults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client, TestResponse

from connectors.seed import read_seed
from sandbox.app import SandboxApp
from sandbox.faults import FaultSpec
from sandbox.server import RunningSandbox
from tests.sandbox.test_hubspot_portal import write_seed

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


class Api:
    """A tiny HubSpot caller over werkzeug's test client, with the app's bearer token."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.client = Client(app)
        self.headers = {"Authorization": f"Bearer {app.credentials.hubspot_access_token}"}

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(
            path, query_string=query, headers=self.headers, environ_overrides=LOOPBACK
        )

    def send(self, method: str, path: str, body: Any) -> TestResponse:
        return self.client.open(
            path, method=method, json=body, headers=self.headers, environ_overrides=LOOPBACK
        )

    def post(self, path: str, body: Any) -> TestResponse:
        return self.send("POST", path, body)


def json_of(response: TestResponse) -> Any:
    return response.get_json()


@pytest.fixture(scope="module")
def api(sandbox: RunningSandbox) -> Api:
    """The read-only shared sandbox's app: tests using it must not write."""
    return Api(sandbox.app)


@pytest.fixture
def fresh_api(fresh_sandbox: Callable[..., RunningSandbox]) -> Api:
    """The writable shared sandbox's app, reset."""
    return Api(fresh_sandbox().app)


def assert_hubspot_error(response: TestResponse, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status
    body: dict[str, Any] = json_of(response)
    assert body["status"] == "error" and body["category"] == category
    assert body["message"] and body["correlationId"]
    return body


def test_list_paging_walks_every_company_once(api: Api) -> None:
    seen: list[str] = []
    response = api.get("/crm/v3/objects/companies", limit=7, properties="name,type")
    pages = 0
    while True:
        assert response.status_code == 200
        body = json_of(response)
        pages += 1
        seen += [r["id"] for r in body["results"]]
        assert all(
            set(r["properties"]) >= {"name", "type", "hs_object_id"} for r in body["results"]
        )
        if "paging" not in body:
            break
        link = urlsplit(body["paging"]["next"]["link"])
        assert link.query.count("after=") == 1 and body["paging"]["next"]["after"] in link.query
        response = api.client.get(
            link.path, query_string=link.query, headers=api.headers, environ_overrides=LOOPBACK
        )
    assert len(seen) == len(set(seen)) == 120 and pages == 18
    assert api.app.stats.snapshot()["records_returned"]["hubspot"] >= 120


def test_multi_valued_parameters_repeated_or_comma_separated(api: Api) -> None:
    comma = json_of(api.get("/crm/v3/objects/deals", limit=2, properties="amount,lead_source"))
    repeated = api.client.get(
        "/crm/v3/objects/deals?limit=2&properties=amount&properties=lead_source",
        headers=api.headers,
        environ_overrides=LOOPBACK,
    )
    assert comma["results"] == json_of(repeated)["results"]
    assert set(comma["results"][0]["properties"]) == {
        "amount",
        "lead_source",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_error_shapes(api: Api) -> None:
    assert_hubspot_error(api.get("/crm/v3/objects/deals/1"), 404, "OBJECT_NOT_FOUND")
    assert_hubspot_error(api.get("/crm/v3/objects/widgets"), 400, "VALIDATION_ERROR")
    assert_hubspot_error(api.get("/crm/v3/objects/deals", limit=101), 400, "VALIDATION_ERROR")
    assert_hubspot_error(
        api.get("/crm/v3/objects/deals", limit=100, propertiesWithHistory="dealstage"),
        400,
        "VALIDATION_ERROR",
    )
    assert_hubspot_error(api.get("/crm/v3/objects/deals", after="xyz"), 400, "VALIDATION_ERROR")
    assert_hubspot_error(api.post("/crm/v3/objects/deals/search", [1]), 400, "VALIDATION_ERROR")
    assert_hubspot_error(
        api.get("/crm/v3/properties/deals/no_such_property"), 404, "OBJECT_NOT_FOUND"
    )
    assert_hubspot_error(api.get("/crm/v3/pipelines/deals/1"), 404, "OBJECT_NOT_FOUND")
    unauthenticated = api.client.get("/crm/v3/objects/deals", environ_overrides=LOOPBACK)
    assert_hubspot_error(unauthenticated, 401, "INVALID_AUTHENTICATION")


def test_get_one_with_history_and_associations(api: Api) -> None:
    deal = json_of(api.get("/crm/v3/objects/deals", limit=1))["results"][0]
    one = json_of(
        api.get(
            f"/crm/v3/objects/deals/{deal['id']}",
            propertiesWithHistory="dealstage",
            associations="companies,widgets",
        )
    )
    assert one["properties"] == deal["properties"]
    assert one["propertiesWithHistory"]["dealstage"][0]["value"] == deal["properties"]["dealstage"]
    types = {a["type"] for a in one["associations"]["companies"]["results"]}
    assert types == {"deal_to_company", "deal_to_company_unlabeled", "reseller"}


def test_search_answers_past_ten_thousand_with_400(tmp_path: Path) -> None:
    # an app of its own: the bundled data has fewer than 10,000 deals
    api = Api(SandboxApp(read_seed(write_seed(tmp_path / "seed", 10_050))))
    ids: list[str] = []
    after: str | None = None
    while True:
        response = api.post("/crm/v3/objects/deals/search", {"limit": 200, "after": after})
        if response.status_code == 400:
            break
        body = json_of(response)
        assert body["total"] == 10_050
        ids += [r["id"] for r in body["results"]]
        after = body["paging"]["next"]["after"]
    assert after == "10000" and len(ids) == len(set(ids)) == 10_000
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    stats = api.app.stats.snapshot()
    assert stats["records_returned"]["hubspot"] == 10_000
    assert stats["statuses"]["hubspot 400"] == 1


def test_batch_update_statuses_and_stats(fresh_api: Api) -> None:
    companies = json_of(fresh_api.get("/crm/v3/objects/companies", limit=3))["results"]
    ids = [c["id"] for c in companies]
    good = fresh_api.post(
        "/crm/v3/objects/companies/batch/update",
        {"inputs": [{"id": i, "properties": {"region": "Nowhere"}} for i in ids]},
    )
    assert good.status_code == 200 and json_of(good)["status"] == "COMPLETE"
    partial = fresh_api.post(
        "/crm/v3/objects/companies/batch/update",
        {
            "inputs": [
                {"id": ids[0], "properties": {"numberofemployees": "many"}},
                {"id": ids[1], "properties": {"numberofemployees": "12"}},
            ]
        },
    )
    assert partial.status_code == 207
    body = json_of(partial)
    assert body["numErrors"] == 1 and body["errors"][0]["context"] == {"ids": [ids[0]]}
    too_many = fresh_api.post(
        "/crm/v3/objects/companies/batch/update",
        {"inputs": [{"id": str(n), "properties": {}} for n in range(101)]},
    )
    assert_hubspot_error(too_many, 400, "VALIDATION_ERROR")
    stats = fresh_api.app.stats.snapshot()
    assert stats["records_written"]["hubspot"] == 4
    assert stats["requests"]["hubspot POST /crm/v3/objects/<object_type>/batch/update"] == 3
    listed = json_of(
        fresh_api.get("/crm/v3/objects/companies", limit=3, properties="region,numberofemployees")
    )
    assert [r["properties"]["region"] for r in listed["results"]] == ["Nowhere"] * 3
    assert listed["results"][1]["properties"]["numberofemployees"] == "12"


def test_reject_records_fault_fails_single_records(fresh_api: Api) -> None:
    fresh_api.app.faults.configure(FaultSpec.parse("reject_records=every:3"))
    companies = json_of(fresh_api.get("/crm/v3/objects/companies", limit=6))["results"]
    response = fresh_api.post(
        "/crm/v3/objects/companies/batch/update",
        {"inputs": [{"id": c["id"], "properties": {"region": "R"}} for c in companies]},
    )
    assert response.status_code == 207
    body = json_of(response)
    assert [e["context"]["ids"] for e in body["errors"]] == [
        [companies[2]["id"]],
        [companies[5]["id"]],
    ]
    assert len(body["results"]) == 4
    assert fresh_api.app.stats.snapshot()["records_written"]["hubspot"] == 4


def test_patch_and_delete_one_record(fresh_api: Api) -> None:
    deal = json_of(fresh_api.get("/crm/v3/objects/deals", limit=1))["results"][0]
    path = f"/crm/v3/objects/deals/{deal['id']}"
    patched = fresh_api.send("PATCH", path, {"properties": {"dealname": "Renamed"}})
    assert patched.status_code == 200 and json_of(patched)["properties"]["dealname"] == "Renamed"
    bad = fresh_api.send("PATCH", path, {"properties": {"amount": "lots"}})
    assert_hubspot_error(bad, 400, "VALIDATION_ERROR")
    assert fresh_api.send("DELETE", path, None).status_code == 204
    assert_hubspot_error(fresh_api.get(path), 404, "OBJECT_NOT_FOUND")
    archived = json_of(fresh_api.get("/crm/v3/objects/deals", archived="true"))["results"]
    assert [d["id"] for d in archived] == [deal["id"]]


def test_properties_and_groups_over_http(fresh_api: Api) -> None:
    group = fresh_api.post("/crm/v3/properties/companies/groups", {"name": "kpi", "label": "KPI"})
    assert group.status_code == 201
    names = [
        g["name"] for g in json_of(fresh_api.get("/crm/v3/properties/companies/groups"))["results"]
    ]
    assert "kpi" in names
    assert json_of(fresh_api.get("/crm/v3/properties/companies/groups/kpi"))["label"] == "KPI"
    definition = {
        "name": "partner_tier",
        "label": "Tier",
        "type": "string",
        "fieldType": "text",
        "groupName": "kpi",
    }
    created = fresh_api.post("/crm/v3/properties/companies", definition)
    assert created.status_code == 201
    assert json_of(fresh_api.get("/crm/v3/properties/companies/partner_tier")) == json_of(created)
    again = fresh_api.post("/crm/v3/properties/companies", definition)
    assert_hubspot_error(again, 409, "OBJECT_ALREADY_EXISTS")
    patched = fresh_api.send(
        "PATCH", "/crm/v3/properties/companies/partner_tier", {"label": "Partner tier"}
    )
    assert json_of(patched)["label"] == "Partner tier"


def test_pipelines_and_association_labels(api: Api) -> None:
    (pipeline,) = json_of(api.get("/crm/v3/pipelines/deals"))["results"]
    one = json_of(api.get(f"/crm/v3/pipelines/deals/{pipeline['id']}"))
    assert one == pipeline
    stages = json_of(api.get(f"/crm/v3/pipelines/deals/{pipeline['id']}/stages"))["results"]
    assert stages == pipeline["stages"]
    stage = json_of(api.get(f"/crm/v3/pipelines/deals/{pipeline['id']}/stages/{stages[2]['id']}"))
    assert stage["metadata"] == {"isClosed": "true", "probability": "1.0"}
    labels = json_of(api.get("/crm/v4/associations/deals/companies/labels"))["results"]
    assert {(x["category"], x["label"]) for x in labels} == {
        ("HUBSPOT_DEFINED", None),
        ("HUBSPOT_DEFINED", "Primary"),
        ("USER_DEFINED", "Reseller"),
    }
    too_many = api.post(
        "/crm/v4/associations/deals/companies/batch/read",
        {"inputs": [{"id": str(n)} for n in range(1001)]},
    )
    assert_hubspot_error(too_many, 400, "VALIDATION_ERROR")

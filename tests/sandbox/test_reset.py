"""A reset sandbox answers exactly as a freshly started one: after writes, deletions, custom
fields and properties, permission changes, jobs, revocations, narrowed scopes and faults,
``POST /__sandbox/reset`` puts back the seeded state, in a fraction of a start."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from sandbox.salesforce.permissions import MANAGE
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, salesforce_client, salesforce_token


def hubspot(running: RunningSandbox, method: str, path: str, body: Any = None) -> Any:
    """A HubSpot call with the private app token; its status, JSON body and rate headers."""
    response = requests.request(
        method,
        f"{running.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {running.credentials.hubspot_access_token}"},
        verify=str(running.ca_bundle),
        timeout=60,
    )
    limits = {k: v for k, v in response.headers.items() if k.startswith("X-HubSpot-RateLimit")}
    return response.status_code, response.json() if response.content else None, limits


def change_everything(running: RunningSandbox) -> str:
    """Every kind of state a test can leave behind, through the APIs a test uses; the
    access token of a session still live at the end."""
    # first: a faults post clears the call counts, which the calls below then fill
    control(running, "faults", {"daily_limit": "60", "reject_records": "every:50", "seed": "7"})
    sf = salesforce_client(running)
    accounts = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 2")["records"]
    sf.Account.update(accounts[0]["Id"], {"Name": "Renamed"})
    sf.Account.create({"Name": "Made before the reset"})
    opportunity = sf.query("SELECT Id FROM Opportunity ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Opportunity.update(opportunity, {"StageName": "Won"})  # adds an OpportunityHistory row
    sf.Opportunity.delete(opportunity)
    assert not sf.query("SELECT Id FROM Opportunity")["done"]  # a query cursor left open
    sf.toolingexecute("sobjects/CustomField", method="POST",
                      data={"FullName": "Account.Partner_Score__c",
                            "Metadata": {"type": "Number", "precision": 4, "scale": 1,
                                         "label": "Partner Score"}})  # fmt: skip
    sf.PermissionSet.create({"Name": "Scores", "Label": "Scores"})
    sf.restful("jobs/query", method="POST",
               json={"operation": "query", "query": "SELECT Id FROM Account"})  # fmt: skip
    sf.restful("jobs/ingest", method="POST", json={"object": "Account", "operation": "update"})
    control(running, "salesforce/user", {"permissions": {MANAGE: False}})
    control(running, "salesforce/revoke", {})  # every session and the refresh token

    companies = hubspot(running, "GET", "/crm/v3/objects/companies?limit=2")[1]["results"]
    rename = {"inputs": [{"id": companies[0]["id"], "properties": {"name": "Renamed"}}]}
    hubspot(running, "POST", "/crm/v3/objects/companies/batch/update", rename)
    deal = hubspot(running, "GET", "/crm/v3/objects/deals?limit=1")[1]["results"][0]["id"]
    hubspot(running, "DELETE", f"/crm/v3/objects/deals/{deal}")
    hubspot(running, "POST", "/crm/v3/properties/companies/groups", {"name": "kpi", "label": "KPI"})
    hubspot(running, "POST", "/crm/v3/properties/companies",
            {"name": "partner_tier", "label": "Tier", "type": "string", "fieldType": "text",
             "groupName": "kpi"})  # fmt: skip
    scopes = control(running, "hubspot/scopes")["scopes"]
    control(running, "hubspot/scopes", {"scopes": [s for s in scopes if s.endswith(".read")]})
    control(running, "hubspot/revoke", {"after_calls": 0})
    return str(salesforce_token(running)["access_token"])


def observe(running: RunningSandbox, old_token: str) -> dict[str, Any]:
    """What a client sees of the sandbox, in one fixed order of calls (which itself writes,
    so that the ids handed out next are compared too)."""
    refused = requests.get(
        f"{running.url}/services/data/v60.0/limits",
        headers={"Authorization": f"Bearer {old_token}"},
        verify=str(running.ca_bundle),
        timeout=60,
    )
    seen: dict[str, Any] = {"old_session": (refused.status_code, refused.json())}
    seen |= {
        name: control(running, path)
        for name, path in [("stats", "stats"), ("faults", "faults"), ("id_map", "id-map"),
                           ("user", "salesforce/user"), ("scopes", "hubspot/scopes")]
    }  # fmt: skip
    # the refresh token the sandbox started with is accepted again
    refreshed = salesforce_token(
        running, grant_type="refresh_token", refresh_token=running.credentials.sf_refresh_token
    )
    seen["refreshed"] = sorted(refreshed)
    sf = salesforce_client(running)
    seen["limits"] = sf.limits()
    seen["account_fields"] = [f["name"] for f in sf.Account.describe()["fields"]]
    first_page = sf.query("SELECT Id, Name, LastModifiedDate FROM Account ORDER BY Id")
    seen["accounts"] = first_page["records"]
    seen["opportunities"] = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    seen["history"] = sf.query("SELECT COUNT() FROM OpportunityHistory")["totalSize"]
    seen["cursor"] = sf.query("SELECT Id FROM Opportunity")["nextRecordsUrl"]
    seen["permission_sets"] = sf.query("SELECT Id, Name FROM PermissionSet")["records"]
    seen["custom_fields"] = sf.toolingexecute("query/?q=SELECT+Id+FROM+CustomField")["records"]
    seen["new_account"] = sf.Account.create({"Name": "Made after the reset"})["id"]
    seen["new_permission_set"] = sf.PermissionSet.create({"Name": "Again", "Label": "Again"})
    seen["companies"] = hubspot(running, "GET", "/crm/v3/objects/companies?limit=100")
    seen["deals"] = hubspot(running, "GET", "/crm/v3/objects/deals?limit=3&archived=true")
    seen["deals_in_full"] = hubspot(
        running, "GET",
        "/crm/v3/objects/deals?limit=3&associations=companies&propertiesWithHistory=dealstage",
    )  # fmt: skip
    seen["pipelines"] = hubspot(running, "GET", "/crm/v3/pipelines/deals")
    deal = seen["deals_in_full"][1]["results"][0]["id"]
    seen["deal"] = hubspot(running, "GET", f"/crm/v3/objects/deals/{deal}?associations=companies")
    associations = "/crm/v4/associations/deals/companies/batch/read"
    seen["deal_companies"] = hubspot(running, "POST", associations, {"inputs": [{"id": deal}]})[1][
        "results"
    ]  # the answer's other keys are the times it ran
    won = seen["pipelines"][1]["results"][0]["stages"][-1]["id"]
    update = {"inputs": [{"id": deal, "properties": {"dealstage": won}}]}
    written = hubspot(running, "POST", "/crm/v3/objects/deals/batch/update", update)[1]
    seen["deal_won"] = {
        name: written["results"][0]["properties"].get(name)
        for name in ("dealstage", "hs_is_closed", "hs_is_closed_won", "hs_deal_stage_probability")
    }
    seen["properties"] = hubspot(running, "GET", "/crm/v3/properties/companies")
    seen["groups"] = hubspot(running, "GET", "/crm/v3/properties/companies/groups")
    seen["token_scopes"] = hubspot(
        running, "POST", "/oauth/v2/private-apps/get/access-token-info",
        {"tokenKey": running.credentials.hubspot_access_token},
    )[1]["scopes"]  # fmt: skip
    seen["stats_after"] = control(running, "stats")
    # paging links name the sandbox's own port
    same_everywhere: dict[str, Any] = json.loads(json.dumps(seen).replace(running.url, "URL"))
    return same_everywhere


def test_a_reset_sandbox_answers_like_a_freshly_started_one(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    used = fresh_sandbox()
    reference = fresh_sandbox()  # a second one in a test is a sandbox of its own, just started
    live_session = change_everything(used)

    took = control(used, "reset", {})["seconds_to_reset"]

    # the data, row for row and column for column (added columns gone), as seeded
    assert list(used.app.store.db.iterdump()) == list(reference.app.store.db.iterdump())
    assert observe(used, live_session) == observe(reference, "00D5g000001sAndbox!never-issued")
    assert took > 0  # how long it takes is measured (README), not asserted


def test_a_reset_waits_for_the_calls_in_flight(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    """A call still running when a reset comes (a killed client's, say) ends first, and
    its write does not outlive the reset."""
    running = fresh_sandbox()
    company = hubspot(running, "GET", "/crm/v3/objects/companies?limit=1")[1]["results"][0]
    control(running, "faults", {"latency_ms": "500"})
    rename = {"inputs": [{"id": company["id"], "properties": {"name": "Renamed"}}]}
    route = "hubspot POST /crm/v3/objects/<object_type>/batch/update"
    call = threading.Thread(
        target=hubspot, args=(running, "POST", "/crm/v3/objects/companies/batch/update", rename)
    )
    call.start()
    deadline = time.monotonic() + 30
    while route not in control(running, "stats")["requests"]:  # the call is in flight
        assert time.monotonic() < deadline, "the call never reached the sandbox"
        time.sleep(0.01)

    running.app.reset()
    call.join(timeout=30)

    status, after, _ = hubspot(running, "GET", f"/crm/v3/objects/companies/{company['id']}")
    assert status == 200 and after["properties"]["name"] == company["properties"]["name"]
    assert control(running, "stats")["records_written"] == {}


def test_a_sandbox_started_without_a_copy_refuses_a_reset(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    """The copy costs as much memory again as the data, so a plain start keeps none."""
    plain = fresh_sandbox(hubspot_ten_secondly_limit=1000)  # options: a start of its own
    answer = requests.post(
        f"{plain.url}/__sandbox/reset",
        json={},
        headers={"Authorization": f"Bearer {plain.credentials.control_token}"},
        verify=str(plain.ca_bundle),
        timeout=60,
    )
    assert answer.status_code == 409
    assert "--resettable" in answer.json()["error"]

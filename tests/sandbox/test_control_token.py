"""The /__sandbox/ control routes answer only the sandbox's own control token: no CRM token
(live, revoked or a Salesforce session) may read stats or change faults."""

from __future__ import annotations

from collections.abc import Callable

import requests

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, salesforce_token


def control_routes(running: RunningSandbox) -> list[tuple[str, str]]:
    """(method, path) of every control route the app serves."""
    found = []
    for rule in running.app.url_map.iter_rules():
        if rule.rule.startswith("/__sandbox/"):
            methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
            found += [(method, rule.rule) for method in methods]
    return sorted(found)


def call(running: RunningSandbox, method: str, path: str, token: str | None) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    # a body that would change state if it got through: every fault on, every token revoked
    body = {"rate_limit": "1.0"} if path.endswith("/faults") else {}
    return requests.request(
        method,
        f"{running.url}{path}",
        json=body if method == "POST" else None,
        headers=headers,
        verify=str(running.ca_bundle),
        timeout=60,
    )


def test_every_control_route_refuses_crm_tokens_and_no_token(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    routes = control_routes(running)
    # the routes of this issue and before: a route added later is covered without an edit
    assert {path for _, path in routes} >= {
        "/__sandbox/stats", "/__sandbox/reset-stats", "/__sandbox/faults", "/__sandbox/id-map",
        "/__sandbox/reset", "/__sandbox/hubspot/revoke", "/__sandbox/hubspot/scopes",
        "/__sandbox/salesforce/user", "/__sandbox/salesforce/revoke",
    }  # fmt: skip
    hubspot_token = running.credentials.hubspot_access_token
    salesforce_session = str(salesforce_token(running)["access_token"])
    faults_before = control(running, "faults")
    refusing = {
        "no token": None,
        "HubSpot token": hubspot_token,
        "Salesforce session": salesforce_session,
        "Salesforce client secret": running.credentials.sf_client_secret,
    }
    for method, path in routes:
        for name, token in refusing.items():
            answer = call(running, method, path, token)
            assert answer.status_code == 401, (method, path, name)
            error = answer.json()["error"]
            assert "control token" in error and "PARTNER_KPI_SANDBOX_CONTROL_TOKEN" in error
            assert hubspot_token not in error and salesforce_session not in error
    # nothing the refused calls asked for happened: no fault on, no token revoked
    assert control(running, "faults") == faults_before
    assert crm_status(running, hubspot_token) == 200


def test_a_revoked_hubspot_token_opens_no_control_route(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    token = running.credentials.hubspot_access_token
    assert control(running, "hubspot/revoke", {}) == {"revoked": True, "after_calls": 0}
    for method, path in control_routes(running):
        assert call(running, method, path, token).status_code == 401, (method, path)
    # the token stays revoked: no refused control call (a reset among them) restored it
    assert crm_status(running, token) == 401


def test_the_control_token_opens_every_control_route(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    token = running.credentials.control_token
    for method, path in control_routes(running):
        answer = call(running, method, path, token)
        assert answer.status_code not in (401, 403), (method, path, answer.text)
    answer = call(running, "POST", "/__sandbox/faults", token)
    assert answer.status_code == 200 and answer.json()["rate_limit"] == "1.0"
    control(running, "faults", {})
    # a control token is no CRM token either
    assert crm_status(running, token) == 401


def crm_status(running: RunningSandbox, token: str) -> int:
    """The status of a HubSpot list call made with ``token``."""
    return requests.get(
        f"{running.url}/crm/v3/objects/companies?limit=1",
        headers={"Authorization": f"Bearer {token}"},
        verify=str(running.ca_bundle),
        timeout=60,
    ).status_code

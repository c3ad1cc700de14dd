"""A revoked or narrowed HubSpot private app token, through the unmodified hubspot-api-client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from hubspot.crm.companies.exceptions import ForbiddenException, UnauthorizedException

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, hubspot_client


def test_a_revoked_token_is_refused_after_the_calls_it_had_left(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    hs = hubspot_client(running)
    assert control(running, "hubspot/revoke", {"after_calls": 2}) == {
        "revoked": False, "after_calls": 2
    }  # fmt: skip
    hs.crm.companies.basic_api.get_page(limit=1)
    hs.crm.companies.basic_api.get_page(limit=1)
    with pytest.raises(UnauthorizedException) as refused:
        hs.crm.companies.basic_api.get_page(limit=1)
    assert refused.value.status == 401
    assert '"category":"INVALID_AUTHENTICATION"' in str(refused.value.body)
    assert control(running, "stats")["requests"]  # the control endpoints still answer

    control(running, "hubspot/revoke", {"restore": True})
    assert hs.crm.companies.basic_api.get_page(limit=1).results
    control(running, "hubspot/revoke", {})
    with pytest.raises(UnauthorizedException):
        hs.crm.companies.basic_api.get_page(limit=1)


def test_a_call_needs_its_scope(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    hs = hubspot_client(running)
    assert "crm.objects.companies.write" in control(running, "hubspot/scopes")["scopes"]
    reading = ["crm.objects.companies.read", "crm.schemas.companies.read"]
    assert control(running, "hubspot/scopes", {"scopes": reading}) == {"scopes": reading}
    company = hs.crm.companies.basic_api.get_page(limit=1).results[0]  # read: granted
    with pytest.raises(ForbiddenException) as refused:
        hs.crm.companies.basic_api.update(company.id, {"properties": {"name": "x"}})
    assert refused.value.status == 403
    body = str(refused.value.body)
    assert '"category":"MISSING_SCOPES"' in body and "crm.objects.companies.write" in body
    assert hs.crm.companies.basic_api.get_by_id(company.id).properties["name"] != "x"


def test_the_token_info_tells_the_scopes_granted(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    """POST /oauth/v2/private-apps/get/access-token-info: the token in the body, no header."""
    running = fresh_sandbox()
    url = f"{running.url}/oauth/v2/private-apps/get/access-token-info"
    token = running.credentials.hubspot_access_token

    def info(token_key: str) -> requests.Response:
        return requests.post(
            url, json={"tokenKey": token_key}, verify=str(running.ca_bundle), timeout=30
        )

    answer = info(token)
    assert answer.status_code == 200
    body = answer.json()
    assert {"userId", "hubId", "appId", "scopes"} <= set(body)
    assert "crm.objects.companies.write" in body["scopes"]
    reading = [s for s in body["scopes"] if s.endswith(".read")]
    control(running, "hubspot/scopes", {"scopes": reading})
    assert "crm.objects.companies.write" not in info(token).json()["scopes"]
    assert info("pat-na1-not-the-token").status_code == 401
    control(running, "hubspot/revoke", {})
    assert info(token).status_code == 401  # a revoked token has no scopes to tell

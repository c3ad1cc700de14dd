"""Sandbox fixtures: one sandbox per test session, fresh ones for tests that write.

Clients are the real libraries over HTTPS on loopback, trusting the sandbox's CA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce.api import Salesforce

from connectors.http import session_for
from sandbox.faults import FaultSpec
from sandbox.salesforce.org import API_VERSION
from sandbox.server import RunningSandbox, start_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The bundled dataset, served for the whole session. Tests must not write to it."""
    running = start_sandbox(state_dir=tmp_path_factory.mktemp("sandbox"))
    yield running
    running.stop()


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[Callable[..., RunningSandbox]]:
    """A factory of private sandboxes (own data, own faults) for tests that change state."""
    started: list[RunningSandbox] = []

    def start(data_dir: Path | None = None, **options: Any) -> RunningSandbox:
        running = start_sandbox(data_dir, state_dir=tmp_path / f"sandbox{len(started)}", **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def salesforce_token(running: RunningSandbox, **form: str) -> dict[str, Any]:
    """The OAuth password grant against the sandbox (simple-salesforce's own login
    only knows *.salesforce.com hosts; partner-kpi's connector does the same exchange)."""
    creds = running.credentials
    data = {
        "grant_type": "password",
        "client_id": creds.sf_client_id,
        "client_secret": creds.sf_client_secret,
        "username": creds.sf_username,
        "password": creds.sf_password + creds.sf_security_token,
        **form,
    }
    response = requests.post(
        f"{running.url}/services/oauth2/token", data=data, verify=str(running.ca_bundle), timeout=30
    )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    return body


def salesforce_client(running: RunningSandbox) -> Any:
    """The unmodified simple-salesforce client, logged in to the sandbox.

    Typed Any: the client's dynamic attributes (``sf.Account``, ``sf.bulk2.Opportunity``)
    are declared as unions that mypy cannot narrow.
    """
    token = salesforce_token(running)
    session = session_for(running.ca_bundle)
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=session,
        version=API_VERSION,
    )


def hubspot_client(running: RunningSandbox) -> HubSpot:
    """The unmodified hubspot-api-client, pointed at the sandbox."""
    # client-side validation on: a response the client's models reject fails the test
    return HubSpot(
        access_token=running.credentials.hubspot_access_token,
        host=running.url,
        ssl_ca_cert=str(running.ca_bundle),
        client_side_validation=True,
    )


def control(running: RunningSandbox, path: str, body: Any = None) -> Any:
    """Call a /__sandbox/ control endpoint (GET, or POST with a body)."""
    headers = {"Authorization": f"Bearer {running.credentials.hubspot_access_token}"}
    url = f"{running.url}/__sandbox/{path}"
    verify = str(running.ca_bundle)
    if body is None:
        response = requests.get(url, headers=headers, verify=verify, timeout=30)
    else:
        response = requests.post(url, json=body, headers=headers, verify=verify, timeout=30)
    response.raise_for_status()
    return response.json()


def set_faults(running: RunningSandbox, spec: str) -> None:
    """Switch faults on at run time (as a user would, through the control endpoint)."""
    items = dict(item.split("=", 1) for item in spec.split(",") if item)
    FaultSpec.from_mapping(items)  # a typo fails here, not as a 400 inside a test
    control(running, "faults", items)

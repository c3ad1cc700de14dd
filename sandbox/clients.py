"""The real client libraries, connected to a running sandbox: for tests, benchmarks, users.

simple-salesforce's own login only knows *.salesforce.com hosts, so the password
grant is made here against the sandbox, as partner-kpi's connector does it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from hubspot import HubSpot
from simple_salesforce.api import Salesforce

from connectors.http import session_for
from sandbox.salesforce.org import API_VERSION

if TYPE_CHECKING:
    from sandbox.server import RunningSandbox


def salesforce_token(running: RunningSandbox, **form: str) -> dict[str, Any]:
    """The OAuth token answer (password grant unless ``form`` says otherwise)."""
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
        f"{running.url}/services/oauth2/token", data=data, verify=str(running.ca_bundle), timeout=60
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise RuntimeError(f"the sandbox refused the login: {body}")
    return body


def salesforce_client(running: RunningSandbox) -> Any:
    """The unmodified simple-salesforce client, logged in to the sandbox.

    Typed Any: the client's dynamic attributes (``sf.Account``, ``sf.bulk2.Opportunity``)
    are declared as unions that mypy cannot narrow.
    """
    token = salesforce_token(running)
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=session_for(running.ca_bundle),
        version=API_VERSION,
    )


def hubspot_client(running: RunningSandbox, *, client_side_validation: bool = True) -> HubSpot:
    """The unmodified hubspot-api-client, pointed at the sandbox.

    Client-side validation on by default: a response its models reject is an error.
    """
    return HubSpot(
        access_token=running.credentials.hubspot_access_token,
        host=running.url,
        ssl_ca_cert=str(running.ca_bundle),
        client_side_validation=client_side_validation,
    )


def control(running: RunningSandbox, path: str, body: Any = None) -> Any:
    """Call a /__sandbox/ control endpoint (GET, or POST with a body) with the control token."""
    headers = {"Authorization": f"Bearer {running.credentials.control_token}"}
    url = f"{running.url}/__sandbox/{path}"
    verify = str(running.ca_bundle)
    if body is None:
        response = requests.get(url, headers=headers, verify=verify, timeout=60)
    else:
        response = requests.post(url, json=body, headers=headers, verify=verify, timeout=60)
    response.raise_for_status()
    return response.json()

"""A CRM that cannot be reached, through both real client libraries: nothing listening, a
host name that does not resolve, a server whose certificate is for another host.

No sandbox: a closed port, a name under ``.invalid`` (RFC 2606: never resolves) and a
small TLS server of the test's own. Sleeps are recorded, not slept.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings
from connectors.reach import no_connection
from connectors.retry import UNREACHABLE_ATTEMPTS
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings
from connectors.wire import SANDBOX_HINT
from core.errors import ConfigError, CrmUnreachable

SF_ENV = {
    "PARTNER_KPI_SF_CLIENT_ID": "id",
    "PARTNER_KPI_SF_CLIENT_SECRET": "secret",
    "PARTNER_KPI_SF_USERNAME": "me@example.com",
    "PARTNER_KPI_SF_PASSWORD": "pw",
    "PARTNER_KPI_SF_SECURITY_TOKEN": "tok",
}
HS_ENV = {"PARTNER_KPI_HUBSPOT_TOKEN": "pat-na1-test"}
URL_KEY = {"salesforce": "crm.login_url", "hubspot": "crm.base_url"}


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def first_call(crm: str, url: str, sleeps: list[float], **keys: Any) -> Callable[[], object]:
    """The first call a run makes to ``url`` through ``crm``'s connector."""
    if crm == "salesforce":
        sf_settings = SalesforceSettings.model_validate(
            {"type": "salesforce", "login_url": url, **keys}
        )
        salesforce = SalesforceConnector(sf_settings, environ=SF_ENV, sleep=sleeps.append)
        return salesforce.fetch_stage_defs
    hs_settings = HubSpotSettings.model_validate({"type": "hubspot", "base_url": url, **keys})
    hubspot = HubSpotConnector(hs_settings, environ=HS_ENV, sleep=sleeps.append)
    return hubspot.fetch_stage_defs


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_nothing_listening_is_unreachable_after_a_few_quick_tries(crm: str) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    sleeps: list[float] = []
    with pytest.raises(CrmUnreachable) as caught:
        first_call(crm, url, sleeps)()
    error = caught.value
    assert (error.url, error.error_code, error.exit_code) == (url, "CONNECTION_REFUSED", 4)
    assert error.attempts == UNREACHABLE_ATTEMPTS and len(sleeps) == UNREACHABLE_ATTEMPTS - 1
    assert sum(sleeps) < 5.0  # the defaults would back off for minutes
    assert f"cannot be reached at {url} (connection refused)" in str(error)
    assert URL_KEY[crm] in str(error) and SANDBOX_HINT in str(error)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_a_host_that_does_not_resolve_is_unreachable_without_the_sandbox_hint(crm: str) -> None:
    sleeps: list[float] = []
    with pytest.raises(CrmUnreachable) as caught:
        first_call(crm, "https://crm.partner-kpi.invalid", sleeps)()
    error = caught.value
    assert error.error_code == "HOST_NOT_FOUND" and error.attempts == UNREACHABLE_ATTEMPTS
    assert error.url == "https://crm.partner-kpi.invalid:443"
    assert "the host name does not resolve" in str(error) and URL_KEY[crm] in str(error)
    assert SANDBOX_HINT not in str(error)


@pytest.fixture
def other_host(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A TLS server on loopback whose certificate, from a trusted CA, names another host."""
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("crm.example.test").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass  # the client refuses the certificate: that is the point

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], ca_file
    stop.set()
    thread.join(timeout=5)
    listener.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_a_certificate_for_another_host_names_the_url_key_at_once(
    crm: str, host: str, other_host: tuple[int, Path]
) -> None:
    port, ca_file = other_host
    url = f"https://{host}:{port}"
    sleeps: list[float] = []
    with pytest.raises(ConfigError) as caught:
        first_call(crm, url, sleeps, ca_bundle=str(ca_file))()
    assert caught.value.key == URL_KEY[crm] and caught.value.exit_code == 2
    assert f"the TLS certificate of {url} is for another host" in str(caught.value)
    assert sleeps == []  # no retry makes it the right server


def test_a_connection_lost_after_it_was_made_is_not_unreachable() -> None:
    import urllib3

    lost = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))
    assert no_connection(lost) is None
    assert no_connection(ConnectionRefusedError(111, "refused")) is not None


@pytest.fixture
def plain_http() -> Iterator[int]:
    """A plain-HTTP server on loopback: a URL with the wrong port or scheme reaches one."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_a_server_that_does_not_speak_tls_names_the_url_key_at_once(
    crm: str, plain_http: int
) -> None:
    # it used to be retried as a lost connection for two minutes, then exit 4
    url = f"https://127.0.0.1:{plain_http}"
    sleeps: list[float] = []
    with pytest.raises(ConfigError) as caught:
        first_call(crm, url, sleeps)()
    assert caught.value.key == URL_KEY[crm] and caught.value.exit_code == 2
    assert f"{url} does not answer in TLS" in str(caught.value)
    assert sleeps == []

"""Start the sandbox: a locally trusted HTTPS server on 127.0.0.1 and its ready line.

At start a throw-away CA (trustme) signs a certificate for 127.0.0.1 and
localhost; clients trust the CA file named in the ready line. The server binds
to loopback only and also refuses any non-loopback peer in the app.

The server is cheroot's: it keeps HTTP/1.1 connections alive, as Salesforce and HubSpot
do. (werkzeug's development server closes every connection, so each call paid a TLS
handshake on both sides: a third of a HubSpot sync's time.)
"""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
import yaml
from cheroot.ssl.builtin import BuiltinSSLAdapter
from cheroot.wsgi import Gateway_10
from cheroot.wsgi import Server as WsgiServer

from connectors.registry import adapters
from connectors.seed import read_seed
from sandbox.app import SandboxApp
from sandbox.credentials import SandboxCredentials
from sandbox.data import BUNDLED_DATASET
from sandbox.faults import FaultSpec
from sandbox.http import CONNECTION_KEY

HOST = "127.0.0.1"
#: worker threads: the reliability tests' storms send a few dozen calls at once
SERVER_THREADS = 16

#: environment variables that carry the sandbox's secrets into the written configs
SALESFORCE_ENV = {
    "PARTNER_KPI_SF_CLIENT_ID": "client_id",
    "PARTNER_KPI_SF_CLIENT_SECRET": "client_secret",
    "PARTNER_KPI_SF_USERNAME": "username",
    "PARTNER_KPI_SF_PASSWORD": "password",
    "PARTNER_KPI_SF_SECURITY_TOKEN": "security_token",
    "PARTNER_KPI_SF_REFRESH_TOKEN": "refresh_token",
}
HUBSPOT_ENV = {"PARTNER_KPI_HUBSPOT_TOKEN": "access_token"}
#: the token of the sandbox's own /__sandbox/ control routes (faults, clock, stats, reset)
CONTROL_TOKEN_ENV = "PARTNER_KPI_SANDBOX_CONTROL_TOKEN"
#: the JWT bearer grant's private key, written beside the configs (owner-only)
JWT_KEY_FILE = "salesforce-jwt-key.pem"
JWT_KEY_ENV = "PARTNER_KPI_SF_PRIVATE_KEY_FILE"


class _TlsAdapter(BuiltinSSLAdapter):
    """cheroot's TLS adapter around a context made in memory (its own reads key files)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.certificate = self.private_key = self.certificate_chain = None
        self.ciphers = self.private_key_password = None
        self.context = context
        self._server_env: dict[str, Any] = {}


class _Gateway(Gateway_10):
    """WSGI 1.0 with the request's socket in the environ, for the dropped-connection fault."""

    # cheroot's stubs give Gateway.get_environ no return; WSGI 1.0's returns the environ
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        environ[CONNECTION_KEY] = self.req.conn.socket
        return environ


class SandboxServer(WsgiServer):
    """cheroot's WSGI server, quiet: a client that hangs up is not news, and the sandbox
    prints nothing but its ready line."""

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        logging.getLogger("partner_kpi.sandbox").debug(msg, exc_info=traceback)


@dataclass
class RunningSandbox:
    """A sandbox serving in a background thread."""

    url: str
    ca_bundle: Path
    state_dir: Path
    app: SandboxApp
    server: SandboxServer
    thread: threading.Thread
    seconds_to_start: float
    #: the state folder was made for this sandbox (no --state-dir): removed when it stops
    owns_state_dir: bool = False

    @property
    def credentials(self) -> SandboxCredentials:
        return self.app.credentials

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=10)
        if self.owns_state_dir:  # it holds the connected app's private key
            shutil.rmtree(self.state_dir, ignore_errors=True)


def _tls_context(state_dir: Path) -> tuple[ssl.SSLContext, Path]:
    authority = trustme.CA(organization_name="partner-kpi sandbox")
    certificate = authority.issue_cert(HOST, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_path = state_dir / "sandbox-ca.pem"
    authority.cert_pem.write_to_path(str(ca_path))
    return context, ca_path


def start_sandbox(
    data_dir: Path | None = None,
    *,
    port: int = 0,
    faults: FaultSpec | None = None,
    state_dir: Path | None = None,
    hubspot_ten_secondly_limit: int = 1000,
    resettable: bool = False,
) -> RunningSandbox:
    """Seed a sandbox from ``data_dir`` (the bundled data by default) and serve it;
    ``resettable`` keeps a copy of the seeded state for ``POST /__sandbox/reset``."""
    started = time.perf_counter()
    app = SandboxApp(
        read_seed(data_dir or BUNDLED_DATASET),
        faults=faults,
        hubspot_ten_secondly_limit=hubspot_ten_secondly_limit,
        resettable=resettable,
    )
    # made once the seed is read, and removed again if the server cannot start
    state = state_dir or Path(tempfile.mkdtemp(prefix="partner-kpi-sandbox-"))
    state.mkdir(parents=True, exist_ok=True)
    try:
        context, ca_path = _tls_context(state)
        server = SandboxServer((HOST, port), app, numthreads=SERVER_THREADS)
        server.gateway = _Gateway
        server.ssl_adapter = _TlsAdapter(context)
        server.prepare()  # binds now: a port in use is an error here, not in the thread
    except BaseException:
        if state_dir is None:
            shutil.rmtree(state, ignore_errors=True)
        raise
    thread = threading.Thread(target=server.serve, name="sandbox", daemon=True)
    thread.start()
    return RunningSandbox(
        url=f"https://{HOST}:{server.bind_addr[1]}",
        ca_bundle=ca_path,
        state_dir=state,
        app=app,
        server=server,
        thread=thread,
        seconds_to_start=time.perf_counter() - started,
        owns_state_dir=state_dir is None,
    )


def write_configs(running: RunningSandbox) -> dict[str, Path]:
    """A ready config per CRM pointing at this sandbox; secrets stay in the environment.

    Each CRM adapter that the sandbox speaks says how its ``crm:`` section points here."""
    running.credentials.sf_jwt_key.write_private(running.state_dir / JWT_KEY_FILE)
    header = "# Written by `partner-kpi sandbox serve`; secrets come from the environment.\n"
    paths: dict[str, Path] = {}
    for crm, adapter in adapters().items():
        if adapter.sandbox_section is None:
            continue
        document = {
            "crm": adapter.sandbox_section(running.url, running.ca_bundle),
            "store": {"path": str(running.state_dir / f"{crm}-store.db")},
        }
        paths[crm] = running.state_dir / f"{crm}.yaml"
        paths[crm].write_text(header + yaml.safe_dump(document, sort_keys=False))
    return paths


def ready_line(running: RunningSandbox, configs: dict[str, Path]) -> str:
    """The one JSON line that says the sandbox is up and how to reach it (with its secrets)."""
    salesforce = running.credentials.salesforce()
    hubspot = running.credentials.hubspot()
    env = {name: salesforce[key] for name, key in SALESFORCE_ENV.items()}
    env.update({name: hubspot[key] for name, key in HUBSPOT_ENV.items()})
    control = running.credentials.control()
    env[CONTROL_TOKEN_ENV] = control["token"]
    key_file = running.state_dir / JWT_KEY_FILE
    if key_file.exists():
        env[JWT_KEY_ENV] = str(key_file)
    document: dict[str, Any] = {
        "url": running.url,
        "ca_bundle": str(running.ca_bundle),
        "salesforce": salesforce,
        "hubspot": hubspot,
        "control": control,
        "configs": {crm: str(path) for crm, path in configs.items()},
        "env": env,
        "seconds_to_start": round(running.seconds_to_start, 3),
    }
    return json.dumps(document)

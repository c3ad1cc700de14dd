"""Start the sandbox: a locally trusted HTTPS server on 127.0.0.1 and its ready line.

At start a throw-away CA (trustme) signs a certificate for 127.0.0.1 and
localhost; clients trust the CA file named in the ready line. The server binds
to loopback only and also refuses any non-loopback peer in the app.
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
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connectors.registry import adapters
from connectors.seed import read_seed
from sandbox.app import SandboxApp
from sandbox.credentials import SandboxCredentials
from sandbox.data import BUNDLED_DATASET
from sandbox.faults import FaultSpec

HOST = "127.0.0.1"
#: the paths the Salesforce org answers (its ``Date`` follows the org's clock)
SALESFORCE_PATHS = ("/services/",)

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


class _QuietHandler(WSGIRequestHandler):
    """No access log: a request line can carry record ids and a log is not ours to fill."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header by the answering CRM's clock (the Salesforce org's on its
        ``/services/`` routes, else the HubSpot portal's), which tests move forward."""
        app = getattr(self.server, "app", None)
        if timestamp is None and isinstance(app, SandboxApp):
            if str(getattr(self, "path", "")).startswith(SALESFORCE_PATHS):
                timestamp = app.salesforce.clock.now().timestamp()
            else:
                timestamp = app.hubspot.clock.now() / 1000
        return super().date_time_string(timestamp)


@dataclass
class RunningSandbox:
    """A sandbox serving in a background thread."""

    url: str
    ca_bundle: Path
    state_dir: Path
    app: SandboxApp
    server: BaseWSGIServer
    thread: threading.Thread
    seconds_to_start: float
    #: the state folder was made for this sandbox (no --state-dir): removed when it stops
    owns_state_dir: bool = False

    @property
    def credentials(self) -> SandboxCredentials:
        return self.app.credentials

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
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
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
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
        server = make_server(
            HOST, port, app, threaded=True, ssl_context=context, request_handler=_QuietHandler
        )
    except BaseException:
        if state_dir is None:
            shutil.rmtree(state, ignore_errors=True)
        raise
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    return RunningSandbox(
        url=f"https://{HOST}:{server.server_port}",
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

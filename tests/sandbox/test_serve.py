"""`partner-kpi sandbox serve` as a user runs it: ready line, loopback only, secrets kept."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from werkzeug.test import Client

from sandbox.server import RunningSandbox

READY_KEYS = {"url", "ca_bundle", "salesforce", "hubspot", "control", "configs", "env"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], float]]:
    """The real CLI in a subprocess (a sandbox of its own: the command is what is tested);
    its ready line and how long it took to appear."""
    state = tmp_path_factory.mktemp("served")
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "partner_kpi", "sandbox", "serve", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    try:
        yield json.loads(line), elapsed
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        # nothing after the ready line, and no secret on stderr
        assert out == ""
        ready = json.loads(line)
        secrets = [*ready["salesforce"].values(), *ready["hubspot"].values()]
        for secret in [*secrets, ready["control"]["token"]]:
            if len(secret) > 8:
                assert secret not in err


def test_the_ready_line_says_how_to_reach_the_sandbox(
    served: tuple[dict[str, Any], float],
) -> None:
    # how fast it starts is measured (seconds_to_start, bench/sandbox.py), not asserted:
    # a loaded CI machine would turn a time limit into a flaky test
    ready, elapsed = served
    assert 0 < ready["seconds_to_start"] <= elapsed
    assert set(ready) >= READY_KEYS
    assert ready["url"].startswith("https://127.0.0.1:")
    assert set(ready["salesforce"]) == {
        "client_id", "client_secret", "username", "password", "security_token", "refresh_token",
    }  # fmt: skip
    assert set(ready["hubspot"]) == {"access_token"}
    assert set(ready["control"]) == {"token"}
    assert Path(ready["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_configs_point_at_the_sandbox_and_hold_no_secret(
    served: tuple[dict[str, Any], float],
) -> None:
    ready, _ = served
    assert set(ready["configs"]) == {"salesforce", "hubspot"}
    secrets = [*ready["salesforce"].values(), *ready["hubspot"].values(), ready["control"]["token"]]
    for crm, path in ready["configs"].items():
        text = Path(path).read_text()
        config = yaml.safe_load(text)
        assert config["crm"]["type"] == crm
        assert config["crm"]["ca_bundle"] == ready["ca_bundle"]
        assert all(secret not in text for secret in secrets)
    assert ready["env"]["PARTNER_KPI_HUBSPOT_TOKEN"] == ready["hubspot"]["access_token"]
    assert ready["env"]["PARTNER_KPI_SF_PASSWORD"] == ready["salesforce"]["password"]
    assert ready["env"]["PARTNER_KPI_SANDBOX_CONTROL_TOKEN"] == ready["control"]["token"]
    # the JWT grant's key: a file only its owner reads, named by the variable the config reads
    key_file = Path(ready["env"]["PARTNER_KPI_SF_PRIVATE_KEY_FILE"])
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")


def test_https_with_the_printed_ca(served: tuple[dict[str, Any], float]) -> None:
    ready, _ = served
    versions = requests.get(f"{ready['url']}/services/data", verify=ready["ca_bundle"], timeout=30)
    assert versions.status_code == 200
    assert {"version": "60.0", "url": "/services/data/v60.0", "label": "Spring '24"} in (
        versions.json()
    )
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{ready['url']}/services/data", timeout=30)  # not trusted by default


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for UDP connect
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_bound_to_loopback_only(sandbox: RunningSandbox) -> None:
    assert sandbox.server.socket.getsockname()[0] == "127.0.0.1"
    address = _non_loopback_address()
    if address is None:
        return  # this machine has no other interface to try; the bind address was checked
    port = sandbox.server.bind_addr[1]
    with pytest.raises(OSError), socket.create_connection((address, port), timeout=3):
        pass


def test_app_refuses_non_loopback_peers(sandbox: RunningSandbox) -> None:
    client = Client(sandbox.app)
    response = client.get("/services/data", environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 403
    allowed = client.get("/services/data", environ_overrides={"REMOTE_ADDR": "127.0.0.1"})
    assert allowed.status_code == 200


def test_bad_fault_spec_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "partner_kpi", "sandbox", "serve", "--faults", "rate_limit=2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "partner-kpi: error: --faults: rate_limit='2': a rate lies between 0 and 1"
    ]


def test_a_state_folder_it_made_is_removed_when_it_stops(tmp_path: Path) -> None:
    # without --state-dir the folder (the connected app's private key) is the sandbox's own
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "partner_kpi", "sandbox", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    state = Path(ready["configs"]["salesforce"]).parent
    assert state.parent == tmp_path and (state / "salesforce-jwt-key.pem").is_file()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert list(tmp_path.iterdir()) == []


def test_a_seed_it_refuses_leaves_no_state_folder(tmp_path: Path, bundled_seed: Path) -> None:
    seed = tmp_path / "seed"
    shutil.copytree(bundled_seed, seed)
    pipeline = seed / "sales_pipeline.csv"
    pipeline.write_text(pipeline.read_text().replace(",Won,", ",Won?,", 1))
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "partner_kpi", "sandbox", "serve", "--data", str(seed)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    assert done.returncode == 6, done.stderr
    assert list(temp.iterdir()) == []

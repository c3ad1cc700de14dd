"""`partner-kpi audit --config` against the sandbox, as a user runs it: the real CLI in a
subprocess, the real client libraries over HTTPS, the real store file.

The reference is `audit --seed` on the same data: the scores must be equal, partner
by partner, with CRM ids translated to seed keys through the sandbox's id map.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import RunningSandbox, ready_line, write_configs
from tests.sandbox.conftest import control

CLI = [sys.executable, "-m", "partner_kpi"]
AS_OF = "2017-12-31"
#: a past date, half a year back, with a shorter window: deals open then have closed since
PAST = ("--as-of", "2017-06-30", "--window-days", "180")


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )


def read_scores(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def served(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> tuple[RunningSandbox, dict[str, Any]]:
    """The shared sandbox, reset, with its configs (and their stores) in the test's folder."""
    import json

    running = fresh_sandbox()
    ready = json.loads(ready_line(running, write_configs(running)))
    return running, ready


@pytest.fixture(scope="module")
def seed_scores(
    bundled_seed: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("seed-audit")
    done = run_cli("audit", "--seed", bundled_seed, "--as-of", AS_OF, "--out", out, "-q")
    assert done.returncode == 0, done.stderr
    return read_scores(out / "scores.csv")


@pytest.fixture(scope="module")
def past_seed_scores(
    bundled_seed: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("seed-audit-past")
    done = run_cli("audit", "--seed", bundled_seed, *PAST, "--out", out, "-q")
    assert done.returncode == 0, done.stderr
    return read_scores(out / "scores.csv")


#: An incremental read of the activity streams, when each finds the few records of its
#: overlap window: HubSpot asks the token's scopes and probes the Leads object (2), then
#: per stream the archived listing and a search page, the history batch read of leads,
#: quotes and tickets, one association read per associated object type (leads 2, tickets 3,
#: the others 1) and the metadata the mapping needs (lead pipeline and label 2; ticket
#: pipeline, label and category options 3): 2 + 7 + 4 + 9 + 3 + 3.
#: Salesforce: one Composite describe, a page per stream, the children changed since
#: (cases' Tasks, quotes' documents) and the case statuses: 9.
ACTIVITY_INCREMENTAL_CALLS = {"salesforce": 9, "hubspot": 28}


def _by_seed_key(rows: list[dict[str, str]], id_map: dict[str, str]) -> dict[str, dict[str, str]]:
    seed_key = {crm_id: key for key, crm_id in id_map.items()}
    return {seed_key[row["partner_id"]]: {**row, "partner_id": ""} for row in rows}


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_audit_through_the_crm_equals_the_seed_audit(
    served: tuple[RunningSandbox, dict[str, Any]],
    seed_scores: list[dict[str, str]],
    past_seed_scores: list[dict[str, str]],
    crm: str,
    tmp_path: Path,
) -> None:
    running, ready = served
    out = tmp_path / "out"
    done = run_cli(
        "audit", "--config", ready["configs"][crm], "--as-of", AS_OF, "--out", out,
        env=ready["env"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").is_file()
    id_map = control(running, "id-map")[crm]
    served_rows = _by_seed_key(read_scores(out / "scores.csv"), id_map)
    expected = {row["partner_id"]: {**row, "partner_id": ""} for row in seed_scores}
    assert served_rows == expected

    # the same store as of a past date (no call): the figures the seed gives for that date
    past = run_cli(
        "audit", "--config", ready["configs"][crm], "--offline", *PAST,
        "--out", tmp_path / "past", "-q", env=ready["env"],
    )  # fmt: skip
    assert past.returncode == 0, past.stderr
    past_rows = _by_seed_key(read_scores(tmp_path / "past" / "scores.csv"), id_map)
    assert past_rows == {row["partner_id"]: {**row, "partner_id": ""} for row in past_seed_scores}
    assert past_rows != served_rows  # the past date is not today's figures relabelled

    # a second audit right after only asks what an incremental sync needs
    control(running, "reset-stats", {})
    again = run_cli(
        "audit", "--config", ready["configs"][crm], "--as-of", AS_OF, "--out", tmp_path / "again",
        env=ready["env"],
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    stats = control(running, "stats")
    calls = sum(n for route, n in stats["requests"].items() if route.startswith(crm))
    returned = stats["records_returned"].get(crm, 0)
    # metadata and partners, plus one small page per incremental stream, and the activity
    # streams' own (ACTIVITY_INCREMENTAL_CALLS)
    assert calls <= 12 + ACTIVITY_INCREMENTAL_CALLS[crm], stats["requests"]
    # only the overlap window comes back: a full read returns 35 partners, 8,800
    # opportunities and their 23,811 stage changes
    assert returned < 0.05 * (35 + 8800 + 23811), stats["records_returned"]
    assert read_scores(tmp_path / "again" / "scores.csv") == read_scores(out / "scores.csv")


def test_offline_audit_makes_no_call(
    served: tuple[RunningSandbox, dict[str, Any]], tmp_path: Path
) -> None:
    running, ready = served
    config = ready["configs"]["salesforce"]
    first = run_cli("audit", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "a",
                    env=ready["env"])  # fmt: skip
    assert first.returncode == 0, first.stderr
    control(running, "reset-stats", {})
    offline = run_cli("audit", "--config", config, "--offline", "--as-of", AS_OF,
                      "--out", tmp_path / "b")  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    requests = control(running, "stats")["requests"]
    assert [route for route in requests if not route.startswith("sandbox ")] == []
    assert read_scores(tmp_path / "b" / "scores.csv") == read_scores(tmp_path / "a" / "scores.csv")


def test_readme_main_job_audits_the_bundled_sandbox(
    seed_scores: list[dict[str, str]], tmp_path: Path
) -> None:
    # the README's first command: no config, no secrets, the bundled sandbox for one run
    # (the CLI starts its own: that start is part of what is tested)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = run_cli(
        "audit", "--sandbox", "hubspot", "--as-of", AS_OF, "--out", tmp_path,
        env={"TMPDIR": str(temporary)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(temporary.iterdir()) == []  # its state (a private key, a store) is removed
    assert "synced 35 partners, 8800 opportunities" in done.stdout
    rows = read_scores(tmp_path / "scores.csv")
    drop_id = [{k: v for k, v in row.items() if k != "partner_id"} for row in rows]
    assert drop_id == [{k: v for k, v in row.items() if k != "partner_id"} for row in seed_scores]


def test_quota_run_out_exits_4_and_the_next_run_resumes(
    fresh_sandbox: Callable[..., RunningSandbox], seed_scores: list[dict[str, str]], tmp_path: Path
) -> None:
    import json

    running = fresh_sandbox()
    ready = json.loads(ready_line(running, write_configs(running)))
    config = ready["configs"]["salesforce"]
    # a full extract is ~20 calls; the connector stops at half the daily quota
    control(running, "faults", {"daily_limit": "16"})
    stopped = run_cli("audit", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "a",
                      env=ready["env"])  # fmt: skip
    assert stopped.returncode == 4, stopped.stderr
    message = stopped.stderr.strip().splitlines()
    assert len(message) == 1 and "quota" in message[0].lower(), stopped.stderr
    assert not (tmp_path / "a" / "scores.csv").exists()

    control(running, "faults", {"daily_limit": "100000"})  # a new day
    control(running, "reset-stats", {})
    resumed = run_cli("audit", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "b",
                      env=ready["env"])  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    pages = control(running, "stats")["requests"]
    more = pages.get("salesforce GET /services/data/v<version>/query/<locator>", 0)
    first = pages.get("salesforce GET /services/data/v<version>/query", 0)
    # the first run stored some pages and their cursor: the rest takes fewer than the
    # 45 query calls of a full extract (20, and 25 for the bundled activity objects)
    assert first + more < 18 + 25, pages
    rows = _by_seed_key(read_scores(tmp_path / "b" / "scores.csv"),
                        control(running, "id-map")["salesforce"])  # fmt: skip
    assert rows == {row["partner_id"]: {**row, "partner_id": ""} for row in seed_scores}


def test_example_config_works_against_the_sandbox_as_it_stands(tmp_path: Path) -> None:
    """A `sandbox serve` process of its own: the example config names port 8443 and the
    CA in .sandbox/ under the working folder, as the README's commands make them."""
    import json
    import signal

    repo = Path(__file__).resolve().parents[2]
    # beside the config, as in the repository: its relative paths are read from its folder
    shutil.copy(repo / "config.example.yaml", tmp_path / "config.example.yaml")
    serve = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--port", "8443", "--state-dir", ".sandbox"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        ready = json.loads(serve.stdout.readline())
        done = subprocess.run(
            [*CLI, "audit", "--config", "config.example.yaml", "--as-of", AS_OF,
             "--out", "out", "-q"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, **ready["env"]},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert len(read_scores(tmp_path / "out" / "scores.csv")) == 35
        assert (tmp_path / "partner-kpi.db").is_file()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_check_reports_access_and_writes_nothing(
    served: tuple[RunningSandbox, dict[str, Any]], crm: str
) -> None:
    running, ready = served
    control(running, "reset-stats", {})
    done = run_cli("check", "--config", ready["configs"][crm], env=ready["env"])
    # everything a sync reads is there; the four score fields are not made yet, which a
    # sync needs, so check says so (exit 1) and names the command that makes them
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    missing = [line for line in lines if not line.startswith(("ok ", "WARN"))]
    # every activity object has its line (a warning is not a missing item: exit stays 1)
    assert {line.split()[1] for line in lines if line.startswith(("ok ", "WARN"))} >= {
        "leads", "quotes", "cases", "calls", "line_items"
    }, done.stdout  # fmt: skip
    assert len(missing) == 4 and len(lines) > 8, done.stdout
    assert all(
        line.startswith("MISSING") and line.endswith("missing; partner-kpi fields create adds it")
        for line in missing
    ), done.stdout
    stats = control(running, "stats")
    assert stats["records_written"] == {}
    assert not any(method in route for route in stats["requests"]
                   for method in (" PATCH ", " DELETE "))  # fmt: skip
    secrets = [*ready["salesforce"].values(), *ready["hubspot"].values()]
    assert not any(secret in done.stdout + done.stderr for secret in secrets)


def test_check_with_a_wrong_password_names_the_fix(
    served: tuple[RunningSandbox, dict[str, Any]],
) -> None:
    _, ready = served
    env = {**ready["env"], "PARTNER_KPI_SF_PASSWORD": "not-the-password"}
    done = run_cli("check", "--config", ready["configs"]["salesforce"], env=env)
    # an auth failure (exit 3) as for a sync, not a missing item of the report (exit 1)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("partner-kpi: error: Salesforce refused the password login")
    assert "PARTNER_KPI_SF_PASSWORD" in line
    assert "not-the-password" not in done.stdout + done.stderr

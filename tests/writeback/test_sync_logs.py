"""A scheduled sync: quiet on stdout, one JSON object a line on stderr, no secret in them.

Runs the real CLI in its own process, as cron or an Airflow BashOperator would, with
the log format and level from the environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import set_faults
from tests.writeback.test_refusals import sync_process, target_for

JSON_INFO = {"PARTNER_KPI_LOG_FORMAT": "json", "PARTNER_KPI_LOG_LEVEL": "info"}
SECRET_KEYS = ("PASSWORD", "SECURITY_TOKEN", "CLIENT_SECRET", "REFRESH_TOKEN", "HUBSPOT_TOKEN")


def _records(stderr: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stderr.splitlines()]
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records), records
    return records


def test_a_scheduled_sync_prints_nothing_and_logs_json_lines(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    running = fresh_sandbox()
    target = target_for(running, "salesforce", tmp_path)
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    set_faults(running, "rate_limit=every:6,retry_after=0,seed=4")  # a few 429s to retry

    done = sync_process(target, "-q", env=JSON_INFO)

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # quiet: nothing was rejected
    records = _records(done.stderr)
    retries = [r for r in records if r["level"] == "WARNING" and "attempt" in r["message"]]
    assert retries, records  # each retry is a record, with what failed and when
    assert all(r["crm"] == "salesforce" and r["attempt"] >= 1 for r in retries)
    assert any("429" in r["failure"] or "REQUEST_LIMIT" in r["failure"] for r in retries)
    (summary,) = [r for r in records if r["message"] == "sync finished"]
    assert summary["level"] == "INFO" and summary["run_id"]
    assert summary["as_of"] == "2017-12-31"
    assert summary["records_written"] == 35 and summary["records_rejected"] == 0
    assert summary["write_calls"] == 1
    secrets = [v for k, v in target.env.items() if k.endswith(SECRET_KEYS)]
    assert secrets and not any(secret in done.stderr for secret in secrets)


def test_the_error_that_ends_a_run_is_a_json_record_too(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("crm:\n  type: salesforce\n  overlap_seconds: -5\n")
    done = subprocess.run(
        [sys.executable, "-m", "partner_kpi", "--log-format", "json", "sync",
         "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (record,) = _records(done.stderr)
    assert record["level"] == "ERROR" and record["exit_code"] == 2
    assert record["error"] == "ConfigError"
    assert record["message"].startswith("crm.overlap_seconds: Input should be greater than")


def test_text_is_the_default_and_warnings_only(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
) -> None:
    running = fresh_sandbox()
    target = target_for(running, "hubspot", tmp_path)
    synced_store("hubspot", target.store)  # a scheduled job's store: its runs read what changed
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    done = sync_process(target, "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # no retry, nothing to say


def test_an_audit_logs_its_summary(bundled_seed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "partner_kpi", "--log-format", "json", "--log-level", "info",
         "audit", "--seed", str(bundled_seed), "--as-of", "2017-12-31", "--out",
         str(tmp_path / "out"), "-q"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    (record,) = _records(done.stderr)
    assert record["message"] == "audit finished" and record["scored"] == 35
    # the tiers the seed audit prints (README): 1 Platinum, 21 Gold, 8 Silver, 5 Bronze
    assert record["tiers"] == {"Platinum": 1, "Gold": 21, "Silver": 8, "Bronze": 5}
    assert [Path(f).name for f in record["files"]] == [
        "scores.csv", "scores.json", "report.html", "quality.csv",
    ]  # fmt: skip
    assert record["quality"]["excluded"] == record["quality"]["kept"] == 0

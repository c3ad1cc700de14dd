"""`partner-kpi audit --seed` as a user runs it: the real CLI in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from connectors.hubspot.settings import HubSpotSettings
from connectors.salesforce.settings import SalesforceSettings
from kpi_engine import KPIS
from partner_kpi.config import anchored, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "partner_kpi"]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def audit_out(bundled_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit") / "out"
    done = run_cli("audit", "--seed", bundled_seed, "--as-of", "2017-12-31", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "scored 35 partners" in done.stdout
    return out


def test_scores_csv_has_every_partner_and_kpi_column(audit_out: Path, bundled_seed: Path) -> None:
    with (audit_out / "scores.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == [
        "partner_id",
        "partner_name",
        *KPIS.names,
        "score",
        "tier",
        "drivers",
    ]
    with (bundled_seed / "sales_teams.csv").open(newline="") as handle:
        agents = {row["sales_agent"] for row in csv.DictReader(handle)}
    assert {row["partner_name"] for row in rows} == agents
    scores = [float(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(row["tier"] in {"Platinum", "Gold", "Silver", "Bronze"} for row in rows)
    # no won deal closes in 2016, so P's won amount is 0: growth is null, an empty cell
    assert all(row["won_amount_growth"] == "" for row in rows)
    assert all(row["drivers"].startswith("strong: ") for row in rows)


def test_scores_json_carries_channels_and_stage_days(audit_out: Path) -> None:
    document = json.loads((audit_out / "scores.json").read_text())
    assert document["as_of"] == "2017-12-31"
    assert len(document["partners"]) == 35
    first = document["partners"][0]
    assert set(first["channels"]) == {"paid", "owned", "earned", "other", "unknown"}
    assert set(first["stage_days"]) == {"Prospecting", "Engaging"}
    assert document["portfolio"]["partner_count"] == 35
    assert sum(document["portfolio"]["tier_counts"].values()) == 35


def test_a_whole_history_window_counts_every_won_deal(bundled_seed: Path, tmp_path: Path) -> None:
    # README of the data: Won 4,238; every close date lies within 2016-10-20..2017-12-31.
    done = run_cli(
        "audit", "--seed", bundled_seed, "--as-of", "2017-12-31", "--window-days", "800",
        "--out", tmp_path, "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    with (tmp_path / "scores.csv").open(newline="") as handle:
        assert sum(int(row["deal_count"]) for row in csv.DictReader(handle)) == 4238


def test_example_config_documents_every_key_with_its_default() -> None:
    text = (REPO_ROOT / "config.example.yaml").read_text()
    example = load_config(REPO_ROOT / "config.example.yaml")
    defaults = load_config(None)
    assert example.scoring == defaults.scoring
    assert example.quality == defaults.quality
    # the default store path, read from the config file's folder as every relative path is
    assert example.store == anchored(defaults, REPO_ROOT).store
    assert isinstance(example.crm, SalesforceSettings)
    # every Salesforce key is written out; all hold the default but the sandbox's address
    written = yaml.safe_load(text)["crm"]
    assert set(written) == set(SalesforceSettings.model_fields)
    sandbox_keys = {"login_url", "ca_bundle"}
    reference = SalesforceSettings(type="salesforce")
    for key in set(written) - sandbox_keys - {"type"}:
        assert getattr(example.crm, key) == getattr(reference, key), key
    # the HubSpot shape is documented, commented out, key for key
    hubspot_block = "\n".join(
        line.removeprefix("# ")
        for line in text.split("# crm:\n#   type: hubspot", 1)[1].splitlines()
        if line.startswith("#   ")
    )
    documented = yaml.safe_load("crm:\n  type: hubspot\n" + hubspot_block)["crm"]
    assert set(documented) == set(HubSpotSettings.model_fields)
    HubSpotSettings.model_validate(documented)


@pytest.mark.parametrize(
    ("yaml_text", "key", "hint"),
    [
        ("scoring:\n  weights:\n    win_rate: 1\n", "scoring.weights", "unknown KPI 'win_rate'"),
        ("scoring:\n  weights:\n    deal_count: -2\n", "scoring.weights", "must be >= 0"),
        ("scoring:\n  tiers:\n    gold: 90\n", "scoring.tiers", "silver < gold < platinum"),
        ("scoring:\n  window_days: 0\n", "scoring.window_days", "> 0"),
        ("scoring:\n  window_dayz: 30\n", "scoring.window_dayz", "unknown key"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_key(
    tmp_path: Path, bundled_seed: Path, yaml_text: str, key: str, hint: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml_text)
    done = run_cli("audit", "--seed", bundled_seed, "--config", config, "--out", tmp_path / "out")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert key in lines[0] and hint in lines[0]
    assert not (tmp_path / "out").exists()


def test_window_days_flag_is_validated(tmp_path: Path, bundled_seed: Path) -> None:
    done = run_cli("audit", "--seed", bundled_seed, "--window-days", "-5", "--out", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("partner-kpi: error: --window-days:")


def test_seed_with_a_missing_column_names_file_and_column(
    tmp_path: Path, bundled_seed: Path
) -> None:
    seed = tmp_path / "seed"
    shutil.copytree(bundled_seed, seed)
    teams = (seed / "sales_teams.csv").read_text().splitlines()
    header, *rows = teams
    (seed / "sales_teams.csv").write_text(
        "\n".join(["sales_agent,manager", *(",".join(r.split(",")[:2]) for r in rows)])
    )
    assert header.startswith("sales_agent")
    done = run_cli("audit", "--seed", seed, "--out", tmp_path / "out")
    assert done.returncode == 6
    line = done.stderr.strip()
    assert "sales_teams.csv" in line and "'regional_office'" in line
    assert len(line.splitlines()) == 1


@pytest.mark.parametrize("command", ["audit", "sync", "rollback"])
def test_a_config_error_leaves_no_store_behind(command: str, tmp_path: Path) -> None:
    # a cron job with a CA path that is wrong must not leave a new, empty store file
    config = tmp_path / "etc" / "prod.yaml"
    config.parent.mkdir()
    config.write_text(
        "crm:\n  type: hubspot\n  base_url: https://127.0.0.1:9\n  ca_bundle: certs/none.pem\n"
    )
    args: dict[str, list[str | Path]] = {
        "audit": ["--out", tmp_path / "out"],
        "sync": [],
        "rollback": ["run-1"],
    }
    done = subprocess.run(
        [*CLI, command, "--config", config, *args[command]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PARTNER_KPI_HUBSPOT_TOKEN": "pat-na1-test"},
    )
    assert done.returncode == 2, done.stderr
    assert "crm.ca_bundle" in done.stderr and "certs/none.pem" in done.stderr
    assert list(config.parent.iterdir()) == [config]


def test_audit_sandbox_stopped_by_sigterm_leaves_no_state_folder(tmp_path: Path) -> None:
    # a scheduler's timeout sends SIGTERM: the sandbox's folder holds a private key
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = str(tmp_path / "out")
    process = subprocess.Popen(
        [*CLI, "audit", "--sandbox", "salesforce", "--as-of", "2017-12-31", "--out", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    deadline = time.monotonic() + 60
    while not any(temp.glob("partner-kpi-sandbox-*/salesforce.yaml")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert list(temp.iterdir()) == []

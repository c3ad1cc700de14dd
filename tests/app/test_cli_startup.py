"""What a command loads before it answers: ``--help``, ``--version`` and a config error
load no data library, no CRM client and no report template (the speed itself is
measured by the benchmark, not here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: the documented config, every section in it (writeback fields, quality rules), one key misspelt
EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
MISSPELT = EXAMPLE.read_text(encoding="utf-8").replace("\nstore:", "\nstoer:")
#: libraries that cost a fresh process a tenth of a second and more each, and that only a
#: command that reads, scores, stores, writes or reports needs
HEAVY = (
    "polars", "pyarrow", "numpy", "duckdb", "plotly", "jinja2", "rich",
    "simple_salesforce", "hubspot", "requests",
)  # fmt: skip

#: runs the CLI as the console script does, then prints the heavy modules it loaded
PROBE = f"""
import json, sys
from partner_kpi.cli import main
try:
    main(sys.argv[1:], prog_name="partner-kpi")
except SystemExit:
    pass
sys.stdout.flush()
heavy = {HEAVY!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def run_probe(*args: str | Path) -> tuple[list[str], str, str]:
    """The heavy modules a fresh process loaded for ``partner-kpi args``, its stdout
    (without the probe's line) and its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    *output, loaded = done.stdout.splitlines()
    return json.loads(loaded), "\n".join(output), done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["audit", "--help"],
        ["sync", "--help"],
        ["check", "--help"],
        ["fields", "plan", "--help"],
        ["history", "--help"],
        ["rollback", "--help"],
        ["sandbox", "serve", "--help"],
    ],
)
def test_help_and_version_load_no_heavy_library(args: list[str]) -> None:
    loaded, output, stderr = run_probe(*args)
    assert loaded == []
    assert stderr == ""
    assert ("Usage: partner-kpi" in output) if "--help" in args else ("0.1.0" in output)


def test_the_help_still_lists_the_sandbox_crms_and_the_exit_codes() -> None:
    # both read at import time: the adapters from their entry points, the codes from core
    _, output, _ = run_probe("audit", "--help")
    assert "--sandbox [hubspot|salesforce]" in output
    _, output, _ = run_probe("--help")
    assert "Exit codes:" in output and "  10 " in output


@pytest.mark.parametrize(
    ("command", "document", "key", "hint"),
    [
        (["check"], "scoring:\n  window_dayz: 30\n", "scoring.window_dayz", "unknown key"),
        (["sync"], "scoring:\n  window_days: lots\n", "scoring.window_days", "must be a number"),
        (["audit", "--out", "out"], "stoer:\n  path: x.db\n", "stoer", "unknown key"),
        (["fields", "plan"], "crm:\n  type: salesforc\n", "crm.type", "unknown CRM"),
        (["history"], "crm:\n  type: hubspot\n  timeout: 3\n", "crm.timeout", "unknown key"),
        (["rollback", "run-1"], "quality:\n  rules: []\n", "quality.rules", "mapping"),
        (["check"], None, "missing.yaml", "cannot read the file"),
        (["check"], MISSPELT, "stoer", "unknown key"),
    ],
)
def test_a_config_error_is_one_line_naming_the_key_and_loads_no_heavy_library(
    tmp_path: Path, command: list[str], document: str | None, key: str, hint: str
) -> None:
    config = tmp_path / ("missing.yaml" if document is None else "config.yaml")
    if document is not None:
        config.write_text(document, encoding="utf-8")
    loaded, output, stderr = run_probe(*command, "--config", config)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("partner-kpi: error: ") and key in lines[0] and hint in lines[0]
    assert output == ""
    assert loaded == []

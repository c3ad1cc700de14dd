"""The data-quality step in a run: bad rows are left out, listed and counted, and the run
ends with its documented exit code instead of a traceback (issue 10, findings 1 and 2)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.errors import DataQualityFailed
from kpi_engine import ScoringResult, ScoringSettings
from partner_kpi.run import RunOutput, run_seed_audit
from quality import QualitySettings

CLI = [sys.executable, "-m", "partner_kpi"]
AS_OF = "2017-12-31"
HEADER = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def small_seed(folder: Path, *rows: str) -> Path:
    """Three agents, one product of price 200; ``rows`` of sales_pipeline.csv (line 2 on)."""
    folder.mkdir(parents=True)
    (folder / "sales_teams.csv").write_text(
        "sales_agent,manager,regional_office\nAl Agent,Mo,East\nBo Broker,Mo,West\n"
        "Cy Channel,Mo,East\n"
    )
    (folder / "accounts.csv").write_text("account,sector\nAcme,tech\nBeta,retail\n")
    (folder / "products.csv").write_text("product,series,sales_price\nWidget,W,200\n")
    (folder / "sales_pipeline.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return folder


GOOD_ROWS = (
    "G1,Al Agent,Widget,Acme,Won,2017-02-01,2017-03-01,100",  # line 2
    "G2,Bo Broker,Widget,Beta,Won,2017-02-01,2017-04-01,300",  # line 3
    "G3,Cy Channel,Widget,Acme,Lost,2017-02-01,2017-05-01,0",  # line 4
)


def quality_rows(out: Path) -> list[dict[str, str]]:
    with (out / "quality.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def strict_json(path: Path) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


# --- finding 2: bad values crashed with a traceback -----------------------------------------


def test_nan_inf_1e400_complete_with_exit_10_and_file_and_line(tmp_path: Path) -> None:
    seed = small_seed(
        tmp_path / "seed",
        *GOOD_ROWS,
        "B1,Al Agent,Widget,Acme,Won,2017-02-01,2017-06-01,NaN",  # line 5
        "B2,Bo Broker,Widget,Beta,Won,2017-02-01,2017-06-01,inf",  # line 6
        "B3,Cy Channel,Widget,Acme,Won,2017-02-01,2017-06-01,1e400",  # line 7
    )
    out = tmp_path / "out"
    done = run_cli("audit", "--seed", seed, "--as-of", AS_OF, "--out", out)
    assert done.returncode == 10, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "partner-kpi: warning: completed, with 3 records left out of every KPI by data-quality "
        f"rules (amount_not_finite 3); they are listed in {out / 'quality.csv'}"
    )
    pipeline = str(seed / "sales_pipeline.csv")
    columns = ("record_id", "partner_name", "rule", "value", "action", "file", "line")
    assert [tuple(r[c] for c in columns) for r in quality_rows(out)] == [
        ("B1", "Al Agent", "amount_not_finite", "NaN", "exclude", pipeline, "5"),
        ("B2", "Bo Broker", "amount_not_finite", "inf", "exclude", pipeline, "6"),
        ("B3", "Cy Channel", "amount_not_finite", "inf", "exclude", pipeline, "7"),
    ]  # fmt: skip
    scores = strict_json(out / "scores.json")
    # the bad deals are not counted: the won amount is G1's 100 and G2's 300
    assert scores["portfolio"]["won_amount"] == 400.0
    assert scores["portfolio"]["opportunity_count"] == 3
    notes = {p["partner_id"]: p["notes"] for p in scores["partners"]}
    assert notes["partner-al-agent"] == [
        "1 record excluded by data-quality rules (amount_not_finite)"
    ]
    with (out / "scores.csv").open(newline="") as handle:
        drivers = {row["partner_id"]: row["drivers"] for row in csv.DictReader(handle)}
    assert drivers["partner-bo-broker"].endswith(
        "; 1 record excluded by data-quality rules (amount_not_finite)"
    )
    report = (out / "report.html").read_text()
    assert 'id="data-quality"' in report and "amount_not_finite" in report


def test_a_clean_seed_exits_0_with_an_empty_quality_csv(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli("audit", "--seed", small_seed(tmp_path / "seed", *GOOD_ROWS),
                   "--as-of", AS_OF, "--out", out, "-q")  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (out / "quality.csv").read_text() == (
        "record_id,partner_id,partner_name,rule,value,action,file,line\n"
    )


def test_policy_fail_exits_6_naming_the_rule_before_anything_is_written(tmp_path: Path) -> None:
    seed = small_seed(
        tmp_path / "seed",
        *GOOD_ROWS,
        "W9,Al Agent,Widget,Acme,Won,2017-02-01,,500",  # line 5: won, no close date
    )
    config = tmp_path / "config.yaml"
    config.write_text("quality:\n  rules:\n    closed_without_date: fail\n")
    out = tmp_path / "out"
    done = run_cli("audit", "--seed", seed, "--config", config, "--as-of", AS_OF, "--out", out)
    assert done.returncode == 6, done.stderr
    assert done.stderr.strip() == (
        "partner-kpi: error: data-quality rule closed_without_date (policy fail) caught 1 "
        f"record: W9 ({seed / 'sales_pipeline.csv'}:5, won with no close date). Nothing was "
        "scored or written; fix the records in the CRM, or set "
        "quality.rules.closed_without_date to exclude or keep"
    )
    assert not out.exists()


def test_three_unknown_stages_are_all_named(tmp_path: Path) -> None:
    seed = small_seed(
        tmp_path / "seed",
        *GOOD_ROWS,
        "U1,Al Agent,Widget,Acme,Negotiating,2017-02-01,,",  # line 5
        "U2,Bo Broker,Widget,Beta,Closed Won,2017-02-01,2017-03-01,10",  # line 6
        "U3,Cy Channel,Widget,Acme,won,2017-02-01,2017-03-01,10",  # line 7
    )
    output = run_seed_audit(seed, as_of=date(2017, 12, 31), settings=ScoringSettings(),
                            out=tmp_path / "out")  # fmt: skip
    assert [(r["record_id"], r["rule"], r["value"], r["line"])
            for r in quality_rows(tmp_path / "out")] == [
        ("U1", "unknown_stage", "stage Negotiating", "5"),
        ("U2", "unknown_stage", "stage Closed Won", "6"),
        ("U3", "unknown_stage", "stage won", "7"),
    ]  # fmt: skip
    assert output.excluded == 3
    with pytest.raises(DataQualityFailed, match=r"caught 3 records: U1 .*:5, .*U2 .*:6, .*U3 .*:7"):
        failing = QualitySettings(rules={"unknown_stage": "fail"})
        run_seed_audit(
            seed, as_of=date(2017, 12, 31), settings=ScoringSettings(), out=tmp_path / "out2",
            quality=failing,
        )  # fmt: skip


# --- finding 1: implausible data was scored with exit 0 -------------------------------------


@pytest.fixture(scope="module")
def with_huge_deal(bundled_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled seed plus one won deal of 1e15 for Darcel Schlecht (issue 10's probe)."""
    folder = tmp_path_factory.mktemp("huge") / "seed"
    shutil.copytree(bundled_seed, folder)
    with (folder / "sales_pipeline.csv").open("a") as handle:
        handle.write("HUGE0001,Darcel Schlecht,GTXPro,Isdom,Won,2017-05-01,2017-06-01,1e15\n")
    return folder


def _audit(seed: Path, out: Path, quality: QualitySettings | None = None) -> RunOutput:
    return run_seed_audit(seed, as_of=date(2017, 12, 31), settings=ScoringSettings(), out=out,
                          quality=quality)  # fmt: skip


def _scores(result: ScoringResult) -> dict[str, tuple[float, str]]:
    return {p.partner_id: (p.score, p.tier) for p in result.partners}


def test_a_1e15_deal_no_longer_moves_any_tier(
    bundled_seed: Path, with_huge_deal: Path, tmp_path: Path
) -> None:
    clean = _audit(bundled_seed, tmp_path / "clean")
    checked = _audit(with_huge_deal, tmp_path / "checked")
    assert _scores(checked.result) == _scores(clean.result)
    assert checked.result.portfolio.won_amount == clean.result.portfolio.won_amount
    assert [(f.record_id, f.rule) for f in checked.quality.findings] == [  # type: ignore[union-attr]
        ("HUGE0001", "amount_implausible")
    ]
    darcel = next(p for p in checked.result.partners if p.partner_id == "partner-darcel-schlecht")
    assert darcel.notes == ("1 record excluded by data-quality rules (amount_implausible)",)
    # kept, the same deal moves the partners' scores (the issue: Gold 71.0 to Platinum 79.0)
    kept = _audit(with_huge_deal, tmp_path / "kept",
                  QualitySettings(rules={"amount_implausible": "keep"}))  # fmt: skip
    assert kept.excluded == 0
    moved = {
        pid for pid, score in _scores(kept.result).items() if score != _scores(clean.result)[pid]
    }
    assert moved - {"partner-darcel-schlecht"}


def test_the_bundled_data_trips_no_rule_as_of_its_last_day(
    bundled_seed: Path, tmp_path: Path
) -> None:
    output = _audit(bundled_seed, tmp_path / "out")
    assert output.quality is not None and output.quality.findings == ()


def test_a_back_dated_audit_finds_nothing_in_records_created_after_it(
    bundled_seed: Path, tmp_path: Path
) -> None:
    """4,435 bundled rows were created after 2017-06-30: on that date they did not exist
    yet (KPIS.md, "Status as of A"), which is no data-quality finding."""
    day, window = date(2017, 6, 30), ScoringSettings(window_days=90)
    output = run_seed_audit(bundled_seed, as_of=day, settings=window, out=tmp_path / "x")
    assert output.quality is not None and output.quality.findings == ()
    assert output.excluded == 0


def test_a_record_created_after_the_day_of_the_run_is_excluded(tmp_path: Path) -> None:
    """A created date after both --as-of and today (the run's day) is one no CRM record
    can have yet: left out, with exit 10."""
    tomorrow = date.today().toordinal() + 1
    future = date.fromordinal(tomorrow).isoformat()
    seed = small_seed(
        tmp_path / "seed", *GOOD_ROWS, f"F1,Al Agent,Widget,Acme,Prospecting,{future},,"
    )
    out = tmp_path / "out"
    done = run_cli("audit", "--seed", seed, "--as-of", AS_OF, "--out", out)
    assert done.returncode == 10, done.stderr
    assert [(r["record_id"], r["rule"], r["line"]) for r in quality_rows(out)] == [
        ("F1", "created_in_future", "5")
    ]
    assert quality_rows(out)[0]["value"] == f"created {future} after {date.today().isoformat()}"


# --- a CRM holding bad rows: the sandbox starts on them, the audit flags them ---------------


def test_the_sandbox_serves_bad_rows_and_an_audit_through_it_flags_them(tmp_path: Path) -> None:
    """A private sandbox (a custom seed): a Won row with no close date made the seed
    mapping raise and the sandbox never started. Now both CRMs hold the rows, each audit
    leaves them out, says so in its JSON log record and stores the counts with the run."""
    import os

    from partner_kpi.config import load_config
    from partner_kpi.run import run_audit
    from sandbox.server import ready_line, start_sandbox, write_configs
    from store import LocalStore

    seed = small_seed(
        tmp_path / "seed",
        *GOOD_ROWS,
        "W9,Al Agent,Widget,Acme,Won,2017-02-01,,500",  # won, no close date
        "N9,Bo Broker,Widget,Beta,Won,2017-02-01,2017-06-01,-40",  # negative
    )
    running = start_sandbox(seed, state_dir=tmp_path / "state")
    try:
        ready = json.loads(ready_line(running, write_configs(running)))
        out = tmp_path / "sf"
        done = subprocess.run(
            [*CLI, "--log-format", "json", "--log-level", "info", "audit",
             "--config", ready["configs"]["salesforce"], "--as-of", AS_OF, "--out", out, "-q"],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, **ready["env"]},
        )  # fmt: skip
        assert done.returncode == 10, done.stderr
        records = [json.loads(line) for line in done.stderr.splitlines()]
        finished = next(r for r in records if r["message"] == "audit finished")
        assert finished["quality"]["excluded"] == 2
        assert finished["quality"]["by_rule"] == {
            "amount_negative": {"exclude": 1},
            "closed_without_date": {"exclude": 1},
        }
        error = records[-1]
        assert (error["error"], error["exit_code"]) == ("DataQualityExclusions", 10)
        rows = quality_rows(out)
        assert [(r["partner_name"], r["rule"], r["value"], r["file"]) for r in rows] == [
            ("Bo Broker", "amount_negative", "-40.0", ""),
            ("Al Agent", "closed_without_date", "won with no close date", ""),
        ]
        config = load_config(Path(ready["configs"]["salesforce"]))
        with LocalStore.open(config.store.path, holder="test") as store:
            (run,) = store.list_runs()
        assert run.status == "succeeded"
        assert run.counts["quality"]["excluded"] == 2
        assert run.error == "2 records excluded by data-quality rules"

        hubspot = run_audit(
            load_config(Path(ready["configs"]["hubspot"])), as_of=date(2017, 12, 31),
            settings=ScoringSettings(), out=tmp_path / "hs", environ=ready["env"],
        )  # fmt: skip
        assert hubspot.quality is not None
        assert [(f.rule, f.value) for f in hubspot.quality.findings] == [
            ("amount_negative", "-40.0"),
            ("closed_without_date", "won with no close date"),
        ]
        assert hubspot.result.portfolio.won_amount == 400.0  # G1 and G2 only
    finally:
        running.stop()


def test_the_sandbox_refuses_unknown_stages_naming_every_row(tmp_path: Path) -> None:
    """A CRM cannot hold a deal in a stage its metadata lacks: the seed is refused (exit 6)
    with every row's line, not only the first of three."""
    seed = small_seed(
        tmp_path / "seed",
        *GOOD_ROWS,
        "U1,Al Agent,Widget,Acme,Negotiating,2017-02-01,,",  # line 5
        "U2,Bo Broker,Widget,Beta,Closed Won,2017-02-01,2017-03-01,10",  # line 6
        "U3,Cy Channel,Widget,Acme,won,2017-02-01,2017-03-01,10",  # line 7
    )
    done = run_cli("sandbox", "serve", "--data", seed, "--state-dir", tmp_path / "state")
    assert done.returncode == 6, done.stderr
    assert done.stderr.strip() == (
        f"partner-kpi: error: {seed / 'sales_pipeline.csv'}: 3 rows have a deal_stage that is "
        "no seed stage (known: Prospecting, Engaging, Won, Lost): line 5 (U1: 'Negotiating'); "
        "line 6 (U2: 'Closed Won'); line 7 (U3: 'won')"
    )

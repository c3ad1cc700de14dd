"""The fault matrix on both CRMs: exit codes, runs needed, records wrong/missing/duplicated,
API calls against a fault-free run, and wall time.

Serves the bundled sandbox in this process (``--resettable``) and, per CRM, makes a
fault-free ``partner-kpi sync`` the reference; then, per case of
tests/reliability/matrix.py, resets the sandbox, switches the case's faults on and runs
``partner-kpi sync`` as a process, again and again as cron would, until it exits 0 (or the
case's bound of runs), and compares the CRM record by record with the reference
(tests/reliability/harness.py says how). Every figure of ``wrong``, ``missing``, ``dup``
and ``journal`` should be 0; ``truth`` says whether each run's exit code and stored
run record told what happened (``known`` marks a finding the matrix names).
It measures and prints; it asserts nothing.

Run from the repository root::

    python bench/faults.py                                  # every case, both CRMs
    python bench/faults.py --crm hubspot --faults 429-storm,SIGKILL-mid-write --json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's folder comes first on sys.path, and bench/sandbox.py and
# bench/store.py would shadow the packages of those names: drop the folder, add the root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from sandbox.server import RunningSandbox, start_sandbox  # noqa: E402
from tests.reliability.harness import CrmState, Outcome, reference_run, run_case  # noqa: E402
from tests.reliability.matrix import CRMS, FAULT_MATRIX, FaultCase  # noqa: E402


def fresh(running: RunningSandbox, folder: Path) -> RunningSandbox:
    """The sandbox reset to its seeded state, with its own folder for configs."""
    running.app.reset()
    folder.mkdir(parents=True)
    return dataclasses.replace(running, state_dir=folder)


def verdict(outcome: Outcome) -> str:
    """ok; known: only the symptom of the finding the case names; FAIL: anything else."""
    issue = outcome.case.known_issue_for(outcome.crm)
    failures = [*outcome.problems(), *outcome.untruths]
    if not failures:
        return "ok" if issue is None else "ok (fixed?)"
    if issue is None:
        return "FAIL"
    if issue.truth_only:
        only_symptom = all(issue.symptom in untruth for untruth in outcome.untruths)
        return "known" if only_symptom and not outcome.problems() else "FAIL"
    return "known" if any(issue.symptom in failure for failure in failures) else "FAIL"


def row(outcome: Outcome, reference: CrmState) -> dict[str, Any]:
    return {
        "crm": outcome.crm,
        "fault": outcome.case.slug,
        "spec": outcome.case.spec_for(outcome.crm) or "(none)",
        "exit_codes": [run.exit_code for run in outcome.runs],
        "expected_first_exit": outcome.case.first_exit_for(outcome.crm),
        "runs": len(outcome.runs),
        "wrong": len(outcome.wrong),
        "missing": len(outcome.missing),
        "duplicated": len(outcome.duplicated),
        "journal": len(outcome.journal),
        "calls": outcome.state.calls,
        "calls_fault_free": reference.calls,
        "seconds": round(outcome.seconds, 1),
        "truth": "yes" if not outcome.untruths else "NO",
        "verdict": verdict(outcome),
        "untruths": outcome.untruths,
        "problems": outcome.problems()[:5],
        "known_issue": (issue.reason if (issue := outcome.case.known_issue_for(outcome.crm))
                        else None),
    }  # fmt: skip


def print_table(rows: list[dict[str, Any]], figures: dict[str, Any]) -> None:
    print(f"partner-kpi fault matrix · bundled dataset (35 partners) · "
          f"{len(rows)} runs of cases · {figures['seconds']:.0f} s")  # fmt: skip
    for crm, clean in figures["fault_free"].items():
        print(f"fault-free {crm}: 1 run, exit 0, {clean['calls']} calls, {clean['seconds']:.1f} s")
    header = (
        f"{'crm':<10} {'fault':<30} {'exit codes':<24} {'runs':>4} {'wrong':>5} {'missing':>7} "
        f"{'dup':>3} {'journal':>7} {'calls (clean)':>13} {'s':>6} {'truth':>5}  verdict"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        codes = " → ".join(str(c) for c in r["exit_codes"])
        calls = f"{r['calls']} ({r['calls_fault_free']})"
        print(
            f"{r['crm']:<10} {r['fault']:<30} {codes:<24} {r['runs']:>4} {r['wrong']:>5} "
            f"{r['missing']:>7} {r['duplicated']:>3} {r['journal']:>7} {calls:>13} "
            f"{r['seconds']:>6.1f} {r['truth']:>5}  {r['verdict']}"
        )
    print()
    print("exit codes: of each run, until one exits 0 (-9: killed with SIGKILL); calls: to the "
          "CRM's API over all runs as the sandbox counted them (the fault-free run's)")  # fmt: skip
    for r in rows:
        for line in [*r["problems"], *r["untruths"]]:
            print(f"{r['crm']} {r['fault']}: {line}")
        if r["known_issue"] and r["verdict"] == "known":
            print(f"{r['crm']} {r['fault']}: known: {r['known_issue']}")


def selected(names: str | None) -> list[FaultCase]:
    if names is None:
        return list(FAULT_MATRIX)
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    known = {case.slug: case for case in FAULT_MATRIX}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise SystemExit(f"unknown fault case(s) {unknown}; known: {', '.join(known)}")
    return [known[name] for name in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--crm", choices=(*CRMS, "both"), default="both")
    parser.add_argument(
        "--faults", help="comma-separated case names (as --list prints them); default all"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if args.list:
        for case in FAULT_MATRIX:
            print(f"{case.slug:<32} {case.faults}")
        return
    cases = selected(args.faults)
    crms = CRMS if args.crm == "both" else (args.crm,)

    root = Path(tempfile.mkdtemp(prefix="partner-kpi-bench-faults-"))
    started = time.perf_counter()
    running = start_sandbox(state_dir=root / "sandbox", resettable=True)
    rows: list[dict[str, Any]] = []
    fault_free: dict[str, dict[str, Any]] = {}
    try:
        for crm in crms:
            folder = root / crm / "fault-free"
            reference, seconds = reference_run(fresh(running, folder), crm, folder / "run")
            fault_free[crm] = {"calls": reference.calls, "seconds": round(seconds, 1)}
            for case in (c for c in cases if crm in c.crms):
                folder = root / crm / case.slug
                outcome = run_case(fresh(running, folder), crm, case, folder / "run", reference)
                rows.append(row(outcome, reference))
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)
    figures = {"seconds": time.perf_counter() - started, "fault_free": fault_free}
    if args.json:
        print(json.dumps({**figures, "cases": rows}))
        return
    print_table(rows, figures)


if __name__ == "__main__":
    main()

"""One fault case on one CRM: ``partner-kpi sync`` as a process, repeated as cron would
until it exits 0, then the CRM compared record by record with a fault-free run.

The comparison reads every partner's score fields back with the CRM's client library
(faults off), counts the writes the sandbox applied to each record (its write log,
``/__sandbox/writes``), and finds:

* wrong: a field that holds another value than after the fault-free run, or a record
  written that the fault-free run does not write;
* missing: a field the fault-free run fills and this one left empty;
* duplicated: a record written more often than in the fault-free run (once);
* journal: a field whose last journaled write is not what the CRM holds, a write
  journaled twice, or one left pending;
* untruths: a run whose exit code, error line or stored run record does not tell what
  happened (the first run's code is the case's; 0 only at the end; no traceback).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wsgi import get_input_stream

from sandbox.clients import control
from sandbox.server import RunningSandbox
from store import JournalEntry, JournalOutcome, LocalStore, RunStatus
from tests.reliability.matrix import KILLED, FaultCase, Then
from tests.sandbox.conftest import set_faults
from tests.writeback.test_sandbox import AS_OF, Crm
from writeback.values import canonical

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: the object partner records are in, as the sandbox's write log names it
PARTNER_OBJECT = {"salesforce": "Account", "hubspot": "companies"}
#: the score write of each CRM: (method, path ending), as the connector sends it
WRITE_REQUEST = {
    "salesforce": ("PATCH", "/composite/sobjects"),
    "hubspot": ("POST", "/batch/update"),
}
#: the CRM call at which a kill at "extract" fires: past the field checks, in the reads
EXTRACT_CALL = 6
RUN_TIMEOUT_SECONDS = 300


class UntruthfulExit(AssertionError):
    """A run's exit code, error line or run record does not tell what happened."""


@dataclass(frozen=True)
class CrmState:
    """What the CRM holds after the runs, and what they cost."""

    #: partner record id → output (score, tier…) → the value read with the client library
    values: dict[str, dict[str, Any]]
    #: (object, record id) → writes the sandbox applied to that record
    writes: dict[tuple[str, str], int]
    #: calls to the CRM's API (the sandbox's request counts; control routes excluded)
    calls: int


@dataclass(frozen=True)
class RunResult:
    """One ``partner-kpi sync`` process."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Outcome:
    """A case run on a CRM and compared with the fault-free run."""

    crm: str
    case: FaultCase
    runs: list[RunResult]
    state: CrmState
    seconds: float
    wrong: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    journal: list[str] = field(default_factory=list)
    untruths: list[str] = field(default_factory=list)
    #: the case did not do what it means to (a kill at the write whose write never landed)
    setup: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return bool(self.runs) and self.runs[-1].exit_code == 0

    def problems(self) -> list[str]:
        """What went wrong in the CRM or the journal (the untruths apart)."""
        found = [f"wrong: {w}" for w in self.wrong]
        found += [f"missing: {m}" for m in self.missing]
        found += [f"duplicated: {d}" for d in self.duplicated]
        found += [f"journal: {j}" for j in self.journal]
        found += [f"setup: {s}" for s in self.setup]
        if not self.completed:
            found.append(f"no run exited 0 in {len(self.runs)} runs")
        return found

    def describe_runs(self) -> str:
        return "\n".join(
            f"run {n} exit {run.exit_code}:\n{run.stdout.strip()}\n{run.stderr.strip()}"
            for n, run in enumerate(self.runs, 1)
        )


# --- the CRM ---------------------------------------------------------------------------------


def prepared(running: RunningSandbox, crm: str, folder: Path) -> Crm:
    """A fresh sandbox seen through ``crm``: its config, the score fields made, no counts."""
    folder.mkdir(parents=True, exist_ok=True)
    target = Crm(running, crm, folder)
    made = target.cli("fields", "create", "--config", target.config)
    assert made.exit_code == 0, made.output
    target.reset_stats()
    return target


def crm_calls(running: RunningSandbox, crm: str) -> int:
    requests: dict[str, int] = control(running, "stats")["requests"]
    return sum(n for route, n in requests.items() if route.startswith(f"{crm} "))


def final_state(target: Crm) -> CrmState:
    """The calls the runs made, then (faults off) every partner's fields and write counts."""
    calls = crm_calls(target.running, target.crm)
    set_faults(target.running, "")
    logged: dict[str, dict[str, int]] = control(target.running, "writes")[target.crm]
    writes = {(name, rid): n for name, ids in logged.items() for rid, n in ids.items()}
    return CrmState(values=target.read(), writes=writes, calls=calls)


def compare(outcome: Outcome, reference: CrmState) -> None:
    """Fill the outcome's wrong, missing and duplicated lists, record by record."""
    state = outcome.state
    for record_id, expected in sorted(reference.values.items()):
        held = state.values.get(record_id)
        if held is None:
            outcome.missing.append(f"{record_id}: the record is gone")
            continue
        for output, value in sorted(expected.items()):
            got = held.get(output)
            if got == value:
                continue
            if got in (None, "") and value not in (None, ""):
                outcome.missing.append(f"{record_id} {output}: empty, expected {value!r}")
            else:
                outcome.wrong.append(f"{record_id} {output}: {got!r}, expected {value!r}")
    for key, writes in sorted(state.writes.items()):
        expected_writes = reference.writes.get(key, 0)
        if expected_writes == 0:
            outcome.wrong.append(f"{key[0]} {key[1]}: written {writes}×, never in a clean run")
        elif writes > expected_writes:
            outcome.duplicated.append(f"{key[0]} {key[1]}: written {writes}×, not once")


# --- the store's journal and runs ------------------------------------------------------------


def check_journal(
    outcome: Outcome, entries: Iterable[JournalEntry], fields: Mapping[str, str]
) -> None:
    """The last journaled write of every field is what the CRM holds; none twice or pending."""
    written: dict[tuple[str, str], list[JournalEntry]] = {}
    for entry in entries:  # oldest run first
        if entry.outcome is JournalOutcome.PENDING:
            outcome.journal.append(f"{entry.record_id} {entry.output}: still pending")
        if entry.outcome is JournalOutcome.WRITTEN:
            written.setdefault((entry.record_id, entry.output), []).append(entry)
    for (record_id, output), claims in sorted(written.items()):
        if len(claims) > 1:
            runs = ", ".join(c.run_id for c in claims)
            outcome.journal.append(f"{record_id} {output}: journaled as written by {runs}")
    for record_id, held in sorted(outcome.state.values.items()):
        for output in fields:
            claims = written.get((record_id, output), [])
            if not claims:
                if canonical("text", held.get(output)) is not None:
                    outcome.journal.append(
                        f"{record_id} {output}: holds {held.get(output)!r}, no write journaled"
                    )
                continue
            last = claims[-1]
            journaled = canonical(last.kind, last.new_value, scale=last.scale)
            if canonical(last.kind, held.get(output), scale=last.scale) != journaled:
                outcome.journal.append(
                    f"{record_id} {output}: holds {held.get(output)!r}, "
                    f"journal says {last.new_value!r} ({last.run_id})"
                )


def check_truth(outcome: Outcome, statuses: list[RunStatus]) -> None:
    """Each run's exit code, error line and stored run record against what it did."""
    case, runs = outcome.case, outcome.runs
    expected = case.first_exit_for(outcome.crm)
    if runs[0].exit_code != expected:
        outcome.untruths.append(f"the first run exited {runs[0].exit_code}, not {expected}")
    for n, run in enumerate(runs, 1):
        if "Traceback" in run.stderr:
            outcome.untruths.append(f"run {n} ended in a traceback (exit {run.exit_code})")
        if run.exit_code not in (0, KILLED) and "partner-kpi: error:" not in run.stderr:
            outcome.untruths.append(f"run {n} exited {run.exit_code} without an error line")
        if run.exit_code == 9 and "rejected" not in run.stdout:
            outcome.untruths.append(f"run {n} exited 9 and listed no rejected record")
    if len(statuses) != len(runs):
        outcome.untruths.append(f"{len(runs)} runs, {len(statuses)} sync runs in the store")
        return
    for n, (run, status) in enumerate(zip(runs, statuses, strict=True), 1):
        succeeded = status is RunStatus.SUCCEEDED
        if run.exit_code == 0 and not succeeded:
            outcome.untruths.append(f"run {n} exited 0 but is stored as {status}")
        elif run.exit_code == 9 and (succeeded or status is RunStatus.FAILED):
            outcome.untruths.append(f"run {n} exited 9 (partly written) but is stored as {status}")
        elif run.exit_code not in (0, 9) and status is not RunStatus.FAILED:
            outcome.untruths.append(f"run {n} exited {run.exit_code} but is stored as {status}")


def read_store(target: Crm) -> tuple[list[JournalEntry], list[RunStatus]]:
    with LocalStore.open(target.folder / f"{target.crm}-store.db", holder="reliability") as store:
        # by start time: a run id sorts by it to the second only, and two runs may share one
        syncs = (r for r in store.list_runs() if r.kind == "sync")
        runs = sorted(syncs, key=lambda r: (r.started_at, r.run_id))
        return store.journal(), [r.status for r in runs]


# --- the runs --------------------------------------------------------------------------------


class KillAt:
    """WSGI middleware of the sandbox's server: SIGKILLs the sync process when its request
    at ``point`` arrives, then serves that request, as a CRM finishes a call whose client
    died. Installed on the running server and removed after the run."""

    def __init__(self, app: WSGIApplication, crm: str, point: str) -> None:
        self.app, self.crm, self.point = app, crm, point
        self.pid: int | None = None  # the process, once started
        self.fired = False
        self._calls = 0
        self._lock = threading.Lock()

    def _is_point(self, environ: WSGIEnvironment) -> bool:
        path, method = str(environ.get("PATH_INFO", "")), environ.get("REQUEST_METHOD")
        if path.startswith("/__sandbox/"):
            return False
        self._calls += 1
        if self.point == "extract":
            return self._calls == EXTRACT_CALL
        write_method, write_path = WRITE_REQUEST[self.crm]
        return method == write_method and path.endswith(write_path)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            fire = self.pid is not None and not self.fired and self._is_point(environ)
            self.fired = self.fired or fire
        if fire:
            # the whole request is in before the client dies: the CRM applies it
            body = get_input_stream(environ).read()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            os.kill(self.pid or 0, signal.SIGKILL)
        return self.app(environ, start_response)


def run_sync(target: Crm, kill: str | None = None) -> RunResult:
    """``partner-kpi sync`` in its own process; SIGKILLed at ``kill`` when given."""
    command = [sys.executable, "-m", "partner_kpi", "sync", "--config", str(target.config),
               "--as-of", AS_OF]  # fmt: skip
    server = target.running.server
    original = server.wsgi_app
    killer = None if kill is None else KillAt(original, target.crm, kill)
    if killer is not None:
        server.wsgi_app = killer
    try:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env={**os.environ, **target.env}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if killer is not None:
            killer.pid = process.pid
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
        seconds = time.perf_counter() - started
    finally:
        server.wsgi_app = original
    return RunResult(process.returncode, stdout, stderr, seconds)


def run_case(
    running: RunningSandbox, crm: str, case: FaultCase, folder: Path, reference: CrmState
) -> Outcome:
    """The case on a fresh sandbox: the runs, then every check against ``reference``."""
    target = prepared(running, crm, folder)
    spec = case.spec_for(crm)
    set_faults(running, spec)
    started = time.perf_counter()
    runs = [run_sync(target, kill=case.kill)]
    landed = sum(control(running, "writes")[crm].get(PARTNER_OBJECT[crm], {}).values())
    while runs[-1].exit_code != 0 and len(runs) < case.max_runs:
        if case.then is Then.NEXT_DAY:
            set_faults(running, spec)
        elif case.then is Then.RECOVERED:
            set_faults(running, "")
        runs.append(run_sync(target))
    seconds = time.perf_counter() - started
    outcome = Outcome(crm, case, runs, final_state(target), seconds)
    if case.kill is not None and runs[0].exit_code != KILLED:
        outcome.setup.append(f"the kill at {case.kill} never came")
    elif case.kill == "write" and landed == 0:
        outcome.setup.append("the write of the killed run never reached the CRM")
    compare(outcome, reference)
    journal, statuses = read_store(target)
    check_journal(outcome, journal, target.fields)
    check_truth(outcome, statuses)
    return outcome


def reference_run(running: RunningSandbox, crm: str, folder: Path) -> tuple[CrmState, float]:
    """The fault-free run on a fresh sandbox: what every case must end with, and its time."""
    target = prepared(running, crm, folder)
    started = time.perf_counter()
    run = run_sync(target)
    seconds = time.perf_counter() - started
    assert run.exit_code == 0, f"{run.stdout}\n{run.stderr}"
    state = final_state(target)
    assert state.values and all(n == 1 for n in state.writes.values()), state.writes
    return state, seconds

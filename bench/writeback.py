"""Benchmark of the writeback: write calls against the minimum, and seconds per 1,000 records.

Seeds one sandbox with ``--partners`` (default 20,000) over ``--opportunities``
(default 60,000, enough to score every partner while seeding stays quick),
serves it in this process, and per CRM calls the functions the CLI calls
(``fields_plan(create=True)``, then ``run_sync`` as ``partner-kpi sync`` does),
with the sandbox's secrets as the environment:

1. ``fields create``, then a first sync into empty fields: every partner is written;
2. an unchanged sync: nothing to write, so no write call;
3. ``--changed`` partners (default 2,000, every n-th by record id) get another
   score in the CRM through its API, as if edited by hand (Salesforce
   ``composite/sobjects`` PATCH through simple-salesforce ``restful``, 200 a
   call; HubSpot ``crm.companies.batch_api.update``, 100 a call), then a sync,
   which must write exactly those records back;
4. another unchanged sync: no write call.

Write calls are the sandbox's request counts of the write routes
(Salesforce ``PATCH /services/data/v<version>/composite/sobjects``, HubSpot
``POST /crm/v3/objects/<object_type>/batch/update``), reset before each sync;
records written are the sandbox's count too. The minimum is ⌈records to write ÷
batch size⌉ (200 for Salesforce, 100 for HubSpot), and 0 when nothing changed;
the target is calls equal to it. A Salesforce write of more records than
``crm.bulk_write_threshold`` (2,000) goes as Bulk API 2.0 update jobs of
10,000: its write calls are every call of those jobs, against a minimum of seven
a job (create, upload, close, two status polls, successful and failed results).
Seconds are wall time of the whole sync
(extract, score, plan, guard, apply, journal), of the apply alone and of the
journal writes within it (timed by wrapping ``apply_plan`` where ``run_sync``
looks it up, and ``LocalStore.record_journal``), per 1,000 records written too.
The tier guard is left on; if it refuses a run, the run is repeated with
``force`` (as ``sync --force``) and the table says so. The sandbox serves
in this process, so its time is part of every figure.
It measures; it asserts nothing.

Run from the repository root::

    python bench/writeback.py                      # 20,000 partners, 2,000 changed
    python bench/writeback.py --partners 5000 --changed 500 --crm hubspot --json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's folder comes first on sys.path, and this file, bench/sandbox.py
# and bench/store.py would shadow the packages of those names: drop the folder, add the root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

from hubspot.crm.companies import (  # noqa: E402
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

import partner_kpi.run as run_module  # noqa: E402
from bench.seed_folder import write_seed_folder  # noqa: E402
from connectors.salesforce.queries import BULK_WRITE_JOB_SIZE  # noqa: E402
from core.errors import TierGuardRefused  # noqa: E402
from partner_kpi.config import AppConfig, load_config  # noqa: E402
from partner_kpi.fields import fields_plan  # noqa: E402
from partner_kpi.run import RunOutput, run_sync  # noqa: E402
from sandbox.clients import control, hubspot_client, salesforce_client  # noqa: E402
from sandbox.server import RunningSandbox, ready_line, start_sandbox, write_configs  # noqa: E402
from store import LocalStore  # noqa: E402
from writeback import WritePlan  # noqa: E402

SALESFORCE, HUBSPOT = "salesforce", "hubspot"
CRMS = (SALESFORCE, HUBSPOT)
AS_OF = date(2017, 12, 31)
BATCH = {SALESFORCE: 200, HUBSPOT: 100}
WRITE_ROUTES = {
    SALESFORCE: "salesforce PATCH /services/data/v<version>/composite/sobjects",
    HUBSPOT: "hubspot POST /crm/v3/objects/<object_type>/batch/update",
}
#: the fewest calls of one update job: create, upload, close, two status polls (a job
#: polled right after closing is still queued: InProgress, in the sandbox as in an org),
#: and the successful and failed results
CALLS_PER_JOB = 7


def write_calls(crm: str, requests_by_route: Mapping[str, int]) -> int:
    """Calls of the CRM's write routes: batch calls, and every call of a bulk update job."""
    calls = int(requests_by_route.get(WRITE_ROUTES[crm], 0))
    if crm == SALESFORCE:
        calls += sum(n for route, n in requests_by_route.items() if "/jobs/ingest" in route)
    return calls


def minimum_calls(crm: str, config: AppConfig, changed: int) -> int:
    """⌈changed ÷ batch⌉, or for a Salesforce write past its bulk threshold the calls of
    ⌈changed ÷ job size⌉ update jobs."""
    threshold = getattr(config.crm, "bulk_write_threshold", None)
    if crm == SALESFORCE and threshold is not None and changed > threshold:
        return math.ceil(changed / BULK_WRITE_JOB_SIZE) * CALLS_PER_JOB
    return math.ceil(changed / BATCH[crm])


#: added to a partner's score (mod 100) by the hand edit: a different value at any scale ≤ 1
EDIT_SHIFT = 12.3


# --- one sync, measured ---------------------------------------------------------------------


@dataclass
class Phase:
    """One sync of one CRM: what it planned and wrote, in how many calls, how fast."""

    crm: str
    phase: str
    #: records whose score differs from what the CRM holds: what the sync must write
    changed: int
    planned: int
    written: int
    write_calls: int
    minimum: int
    other_calls: int
    sync_seconds: float
    apply_seconds: float
    journal_seconds: float
    forced: bool

    def per_thousand(self, seconds: float) -> float | None:
        return seconds / self.written * 1000 if self.written else None

    def as_json(self) -> dict[str, Any]:
        sync_k, apply_k = (
            self.per_thousand(self.sync_seconds),
            self.per_thousand(self.apply_seconds),
        )
        return asdict(self) | {
            "sync_seconds": round(self.sync_seconds, 3),
            "apply_seconds": round(self.apply_seconds, 3),
            "journal_seconds": round(self.journal_seconds, 3),
            "sync_seconds_per_1000": None if sync_k is None else round(sync_k, 3),
            "apply_seconds_per_1000": None if apply_k is None else round(apply_k, 3),
        }


class Timed:
    """Wraps ``owner.name`` (looked up at call time by the product), adding up its seconds."""

    def __init__(self, owner: object, name: str) -> None:
        self.owner, self.name = owner, name
        self.seconds = 0.0
        self._original: Callable[..., Any] = getattr(owner, name)

    def __enter__(self) -> Timed:
        original = self._original

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(self.owner, self.name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.owner, self.name, self._original)


def measured_sync(
    running: RunningSandbox,
    crm: str,
    config: AppConfig,
    env: Mapping[str, str],
    phase: str,
    changed: int,
) -> tuple[Phase, RunOutput]:
    """Reset the stats, run ``sync`` (again with force if the tier guard refuses), count."""
    forced = False
    control(running, "reset-stats", {})
    with (
        Timed(run_module, "apply_plan") as apply,
        Timed(LocalStore, "record_journal") as journal,
    ):
        started = time.perf_counter()
        try:
            output = run_sync(config, as_of=AS_OF, environ=env)
        except TierGuardRefused:
            forced = True
            control(running, "reset-stats", {})
            apply.seconds = journal.seconds = 0.0
            started = time.perf_counter()
            output = run_sync(config, as_of=AS_OF, environ=env, force=True)
        seconds = time.perf_counter() - started
    stats = control(running, "stats")
    requests_by_route: dict[str, int] = stats["requests"]
    calls = write_calls(crm, requests_by_route)
    mine = sum(n for route, n in requests_by_route.items() if route.startswith(f"{crm} "))
    assert output.plan is not None, "a sync plans"
    planned = len(output.plan.records)
    return Phase(
        crm=crm,
        phase=phase,
        changed=changed,
        planned=planned,
        written=int(stats["records_written"].get(crm, 0)),
        write_calls=calls,
        minimum=minimum_calls(crm, config, changed),
        other_calls=mine - calls,
        sync_seconds=seconds,
        apply_seconds=apply.seconds,
        journal_seconds=journal.seconds,
        forced=forced,
    ), output


# --- the hand edit --------------------------------------------------------------------------


def edited_scores(plan: WritePlan, changed: int) -> dict[str, tuple[str, float]]:
    """Every n-th record of the first sync's plan (by id): score field → another score."""
    records = sorted(plan.records, key=lambda record: record.record_id)
    step = max(1, len(records) // changed) if changed else 1
    edits: dict[str, tuple[str, float]] = {}
    for record in records[::step][:changed]:
        change = record.change_of("score")
        if change is None or change.new is None:
            continue
        new = round((float(str(change.new)) + EDIT_SHIFT) % 100, 1)
        edits[record.record_id] = (change.field.name, new)
    return edits


def edit_salesforce(running: RunningSandbox, edits: Mapping[str, tuple[str, float]]) -> int:
    """PATCH composite/sobjects, 200 records a call; returns the records the org accepted."""
    sf = salesforce_client(running)
    items = list(edits.items())
    accepted = 0
    for start in range(0, len(items), BATCH[SALESFORCE]):
        records = [
            {"attributes": {"type": "Account"}, "id": record_id, name: value}
            for record_id, (name, value) in items[start : start + BATCH[SALESFORCE]]
        ]
        answer = sf.restful(
            "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
        )
        accepted += sum(1 for result in answer or [] if result.get("success"))
    return accepted


def edit_hubspot(running: RunningSandbox, edits: Mapping[str, tuple[str, float]]) -> int:
    """crm.companies.batch_api.update, 100 records a call; returns the records updated."""
    client = hubspot_client(running)
    items = list(edits.items())
    accepted = 0
    for start in range(0, len(items), BATCH[HUBSPOT]):
        inputs = [
            SimplePublicObjectBatchInput(id=record_id, properties={name: str(value)})
            for record_id, (name, value) in items[start : start + BATCH[HUBSPOT]]
        ]
        answer = client.crm.companies.batch_api.update(
            batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
                inputs=inputs
            )
        )
        accepted += len(answer.results)
    return accepted


# --- one CRM --------------------------------------------------------------------------------


@dataclass
class CrmRun:
    """All phases of one CRM, and what setting up the fields and the hand edit took."""

    crm: str
    fields_created: int
    fields_ok: bool
    edited: int
    edit_calls: int
    phases: list[Phase]


def bench_crm(
    running: RunningSandbox,
    crm: str,
    config_path: Path,
    env: Mapping[str, str],
    *,
    partners: int,
    changed: int,
) -> CrmRun:
    """fields create, then the four syncs of the module docstring, with the hand edit."""
    config = load_config(config_path)
    _, found = fields_plan(config, create=True, environ=env)
    # one line per field ("field Account.X" / "property companies.x"); the permission
    # set's lines ("field access …", "assignment …") are not fields
    created = sum(
        1
        for item in found.items
        if item.name.startswith(("field Account.", "property "))
        and item.detail.casefold().startswith("created")
    )
    phases: list[Phase] = []
    first, output = measured_sync(running, crm, config, env, "first sync (empty fields)", partners)
    phases.append(first)
    phases.append(measured_sync(running, crm, config, env, "unchanged", 0)[0])

    assert output.plan is not None, "a sync plans"
    edits = edited_scores(output.plan, changed)
    control(running, "reset-stats", {})
    edit = edit_salesforce if crm == SALESFORCE else edit_hubspot
    edited = edit(running, edits)
    edit_calls = int(control(running, "stats")["requests"].get(WRITE_ROUTES[crm], 0))

    phase = f"{edited:,} edited by hand"
    phases.append(measured_sync(running, crm, config, env, phase, edited)[0])
    phases.append(measured_sync(running, crm, config, env, "unchanged again", 0)[0])
    return CrmRun(crm, created, found.ok, edited, edit_calls, phases)


# --- the report -----------------------------------------------------------------------------


def _per_k(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def print_table(figures: Mapping[str, Any], runs: list[CrmRun]) -> None:
    print(f"partner-kpi writeback benchmark · {figures['partners']:,} partners · "
          f"{figures['opportunities']:,} opportunities · as of {AS_OF.isoformat()}")  # fmt: skip
    print(f"seed file {figures['seed_file_seconds']:.1f} s · sandbox seeded in "
          f"{figures['seed_seconds']:.1f} s")  # fmt: skip
    header = (
        f"{'crm':<10} {'sync':<26} {'changed':>7} {'planned':>7} {'written':>7} {'calls':>5} "
        f"{'min':>4} {'ok':>3} {'reads':>5} {'sync s':>7} {'s/1k':>6} {'apply s':>7} "
        f"{'s/1k':>6} {'journal s':>9}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        for phase in run.phases:
            ok = "yes" if phase.write_calls == phase.minimum else "NO"
            name = phase.phase + (" [forced]" if phase.forced else "")
            sync_k = _per_k(phase.per_thousand(phase.sync_seconds))
            apply_k = _per_k(phase.per_thousand(phase.apply_seconds))
            print(
                f"{run.crm:<10} {name:<26} {phase.changed:>7,} {phase.planned:>7,} "
                f"{phase.written:>7,} {phase.write_calls:>5} {phase.minimum:>4} {ok:>3} "
                f"{phase.other_calls:>5} {phase.sync_seconds:>7.2f} {sync_k:>6} "
                f"{phase.apply_seconds:>7.2f} {apply_k:>6} {phase.journal_seconds:>9.2f}"
            )
    print()
    for run in runs:
        fields = "ok" if run.fields_ok else "NOT ready"
        print(f"{run.crm}: fields create made {run.fields_created} field(s) ({fields}); "
              f"hand edit: {run.edited:,} records in {run.edit_calls} API call(s), "
              f"batch {BATCH[run.crm]}")  # fmt: skip
    print("changed = records whose score differs from the CRM's; planned = records the sync "
          "planned; calls = write calls the sandbox counted; min = ⌈changed ÷ batch⌉, or 7 a "
          "Bulk update job of 10,000 past crm.bulk_write_threshold")  # fmt: skip
    print("reads = the sync's other calls to that CRM; s/1k = seconds per 1,000 records written; "
          "apply s = in apply_plan; journal s = of it in LocalStore.record_journal")  # fmt: skip
    if any(phase.forced for run in runs for phase in run.phases):
        print("[forced]: the tier guard refused the run; it was repeated with force (sync --force)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=20_000)
    parser.add_argument("--opportunities", type=int, default=60_000)
    parser.add_argument("--changed", type=int, default=2_000, help="partners edited by hand")
    parser.add_argument("--crm", choices=(*CRMS, "both"), default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="partner-kpi-bench-writeback-"))
    started = time.perf_counter()
    write_seed_folder(root / "seed", args.opportunities, args.partners)
    seed_file_seconds = time.perf_counter() - started
    running = start_sandbox(
        root / "seed", state_dir=root / "sandbox", hubspot_ten_secondly_limit=10**9
    )
    figures: dict[str, Any] = {
        "partners": args.partners,
        "opportunities": args.opportunities,
        "changed": args.changed,
        "seed_file_seconds": round(seed_file_seconds, 2),
        "seed_seconds": round(running.seconds_to_start, 2),
    }
    runs: list[CrmRun] = []
    try:
        paths = write_configs(running)
        env: dict[str, str] = json.loads(ready_line(running, paths))["env"]
        for crm in CRMS if args.crm == "both" else (args.crm,):
            runs.append(
                bench_crm(
                    running, crm, paths[crm], env, partners=args.partners, changed=args.changed
                )
            )
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        figures["crms"] = {
            run.crm: {
                "batch_size": BATCH[run.crm],
                "fields_created": run.fields_created,
                "fields_ok": run.fields_ok,
                "edited": run.edited,
                "edit_calls": run.edit_calls,
                "phases": [phase.as_json() for phase in run.phases],
            }
            for run in runs
        }
        print(json.dumps(figures))
        return
    print_table(figures, runs)


if __name__ == "__main__":
    main()

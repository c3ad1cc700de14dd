"""A sync killed with SIGKILL is completed by the next run: nothing written twice or lost.

The sync runs as a real process against the sandbox, slowed by a latency fault (on its
writes only, to kill one in flight) so the test can kill it at a chosen point: during
the extract, or while its write call is in flight (the sandbox still applies that
write, so the killed run's journal is left pending and the next run must settle it, not
repeat it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.server import RunningSandbox
from store import JournalOutcome, LocalStore
from tests.sandbox.conftest import control, set_faults
from tests.writeback.test_sandbox import (
    AS_OF,
    PARTNERS,
    WRITE_ROUTES,
    Crm,
    assert_holds_scores,
    read_scores,
)


def _requests(running: RunningSandbox, crm: str) -> dict[str, int]:
    routes: dict[str, int] = control(running, "stats")["requests"]
    return {route: n for route, n in routes.items() if route.startswith(crm)}


def _kill_when(process: subprocess.Popen[str], seen: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not seen():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the point to kill at never came"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
@pytest.mark.parametrize("point", ["extract", "write"])
def test_a_killed_sync_is_completed_by_the_next_run(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
    crm: str,
    point: str,
) -> None:
    target = Crm(fresh_sandbox(), crm, tmp_path)
    if point == "write":  # a scheduled job's store (the kill at the extract needs a full read)
        synced_store(crm, target.store)
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    # slowed so the kill lands at its point: every call for the extract, the write alone
    # for the write (a full read of the activity objects is hundreds of calls)
    set_faults(target.running, "write_latency_ms=250" if point == "write" else "latency_ms=250")
    target.reset_stats()
    process = subprocess.Popen(
        [sys.executable, "-m", "partner_kpi", "sync", "--config", str(target.config),
         "--as-of", AS_OF],
        env={**os.environ, **target.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    if point == "write":
        _kill_when(process, lambda: WRITE_ROUTES[crm] in _requests(target.running, crm))
        # the sandbox finishes the write the dead process sent
        deadline = time.monotonic() + 30
        while target.records_written() < PARTNERS:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    else:
        _kill_when(process, lambda: sum(_requests(target.running, crm).values()) >= 4)
        assert target.records_written() == 0
    set_faults(target.running, "")

    landed_before = target.records_written()
    target.reset_stats()
    after = target.sync("--out", tmp_path / "out")
    assert after.exit_code == 0, after.output
    # nothing written twice, nothing lost
    assert landed_before + target.records_written() == PARTNERS
    assert target.write_calls() == (0 if point == "write" else 1)
    assert_holds_scores(target.read(), read_scores(tmp_path / "out" / "scores.csv"))

    with LocalStore.open(tmp_path / f"{crm}-store.db", holder="pytest") as store:
        killed, *_ = sorted(r.run_id for r in store.list_runs() if r.status == "failed")
        assert store.journal(outcome=JournalOutcome.PENDING) == []
        if point == "write":
            assert "settled the pending writes of stopped run(s)" in after.output
            entries = store.journal(run_id=killed)
            assert {e.record_id for e in entries} == set(target.partner_ids())
            assert {e.outcome for e in entries} == {JournalOutcome.WRITTEN}
        else:
            assert store.journal(run_id=killed) == []

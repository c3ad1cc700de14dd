"""The run lock against a real second process: refused naming the holder, freed by its death."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.connector import Cursor
from core.errors import StoreLocked
from store import LocalStore, RunStatus, lock_path_of
from tests.conftest import REPO_ROOT
from tests.store.conftest import in_order

HOLDER = "partner-kpi sync (test child)"

# The child opens the store, writes one page and its cursor inside a started
# run, reports ready and then waits to be killed, so that its run never finishes.
CHILD = """
import sys, time
from datetime import UTC, date, datetime
from core.connector import Cursor
from core.schema import Opportunity
from store import LocalStore

with LocalStore.open(sys.argv[1], holder=sys.argv[2]) as store:
    run_id = store.start_run("sync", date(2026, 11, 25))
    deal = Opportunity(
        id="O1", stage="Engaging", status="open", probability=0.4, created_date=date(2026, 1, 2)
    )
    with store.transaction():
        store.upsert_opportunities([deal])
        store.set_cursor("opportunities", Cursor(datetime(2026, 11, 24, tzinfo=UTC), "O1"))
    print("ready", run_id, flush=True)
    time.sleep(120)
"""


@contextmanager
def holding_child(path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A child process holding the store at ``path``, and the id of its unfinished run."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), HOLDER],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        if line[:1] != ["ready"]:
            child.kill()
            _, errors = child.communicate(timeout=30)
            pytest.fail(f"the child did not take the store: {errors}")
        yield child, line[1]
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()


def test_a_second_process_is_refused_with_the_holder_named(store_path: Path) -> None:
    with holding_child(store_path) as (child, _):
        with (
            pytest.raises(StoreLocked) as refused,
            LocalStore.open(store_path, holder="partner-kpi audit"),
        ):
            pass
        message = str(refused.value)
        assert message.startswith(f"the store {store_path} is in use by pid {child.pid} ")
        assert f"on host {socket.gethostname()} ({HOLDER}, since 20" in message
        assert message.endswith("); wait for it to finish or stop it")
        assert refused.value.exit_code == 7


def test_a_killed_holder_frees_the_store_and_its_last_page_is_kept(store_path: Path) -> None:
    with holding_child(store_path) as (child, run_id):
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL

    with LocalStore.open(store_path, holder="partner-kpi sync") as store:
        # the page and its cursor were committed before the kill: the next run resumes there
        assert in_order(store.opportunities_table()).column("id").to_pylist() == ["O1"]
        assert store.get_cursor("opportunities") == Cursor(datetime(2026, 11, 24, tzinfo=UTC), "O1")
        assert store.interrupted_runs == (run_id,)
        run = store.get_run(run_id)
        assert run is not None
        assert run.status is RunStatus.FAILED


def test_the_lock_file_names_the_holder_while_held_and_no_one_after(store_path: Path) -> None:
    lock_file = lock_path_of(store_path)
    assert lock_file.name == "partner-kpi.db.lock"
    with LocalStore.open(store_path, holder="partner-kpi history"):
        held = json.loads(lock_file.read_text())
        assert held["pid"] == os.getpid()
        assert held["holder"] == "partner-kpi history"
        assert held["host"] == socket.gethostname()
        assert datetime.strptime(held["since"], "%Y-%m-%dT%H:%M:%SZ")
    assert lock_file.read_text() == ""


def test_the_same_process_cannot_open_the_store_twice(store_path: Path) -> None:
    with (
        LocalStore.open(store_path, holder="first"),
        pytest.raises(StoreLocked, match=rf"in use by pid {os.getpid()} .*\(first, since"),
        LocalStore.open(store_path, holder="second"),
    ):
        pass
    with LocalStore.open(store_path, holder="third"):
        pass


def test_a_lock_file_of_unknown_form_is_shown_as_it_is(store_path: Path) -> None:
    lock_file = lock_path_of(store_path)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write("held by cron job 42\n")
        handle.flush()
        with (
            pytest.raises(StoreLocked, match=r"in use by another process \(held by cron job 42\)"),
            LocalStore.open(store_path, holder="pytest"),
        ):
            pass


def test_a_held_lock_with_an_empty_file_is_refused_without_a_name(store_path: Path) -> None:
    with lock_path_of(store_path).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with (
            pytest.raises(StoreLocked, match=r"in use by another process \(it did not say who\)"),
            LocalStore.open(store_path, holder="pytest"),
        ):
            pass


def test_a_holder_leaving_while_we_look_lets_us_in(store_path: Path) -> None:
    # the holder has emptied the file and is about to unlock: the run waits, not fails
    handle = lock_path_of(store_path).open("w")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    leaving = threading.Timer(0.05, handle.close)
    leaving.start()
    try:
        with LocalStore.open(store_path, holder="pytest") as store:
            assert store.counts().runs == 0
    finally:
        leaving.join()


def test_the_store_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "acme" / "partner-kpi.db"
    with LocalStore.open(path, holder="pytest"):
        pass
    assert path.is_file()
    assert lock_path_of(path).is_file()


def test_a_second_path_to_the_same_store_is_refused_with_its_holder(tmp_path: Path) -> None:
    store_path = tmp_path / "real" / "partner-kpi.db"
    store_path.parent.mkdir()
    linked = tmp_path / "linked.db"
    linked.symlink_to(store_path)
    with (
        LocalStore.open(store_path, holder="partner-kpi sync (salesforce)"),
        pytest.raises(StoreLocked) as refused,
        LocalStore.open(linked, holder="partner-kpi audit (salesforce)"),
    ):
        pass
    assert refused.value.exit_code == 7
    assert "partner-kpi sync (salesforce)" in str(refused.value)


def test_a_store_open_in_another_duckdb_client_is_locked_not_broken(tmp_path: Path) -> None:
    store_path = tmp_path / "partner-kpi.db"
    with LocalStore.open(store_path, holder="partner-kpi audit (hubspot)"):
        pass
    program = (
        "import duckdb, sys, time\n"
        f"conn = duckdb.connect({str(store_path)!r})\n"
        "print('open', flush=True)\n"
        "time.sleep(60)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        with (
            pytest.raises(StoreLocked) as refused,
            LocalStore.open(store_path, holder="partner-kpi sync (hubspot)"),
        ):
            pass
        assert refused.value.exit_code == 7
        assert str(store_path) in str(refused.value)
    finally:
        other.kill()
        other.wait()


def test_a_hard_link_to_a_store_held_by_another_run_is_locked_and_named(tmp_path: Path) -> None:
    """A hard link is another path to the same file: partner-kpi's lock (a file beside the
    path) does not see it, DuckDB's does; the message says a hard link may be why."""
    store_path = tmp_path / "partner-kpi.db"
    with LocalStore.open(store_path, holder="partner-kpi audit (hubspot)"):
        pass
    linked = tmp_path / "linked.db"
    os.link(store_path, linked)
    with (
        holding_child(store_path),
        pytest.raises(StoreLocked) as refused,
        LocalStore.open(linked, holder="partner-kpi audit (hubspot)"),
    ):
        pass
    assert refused.value.exit_code == 7
    assert "hard link" in str(refused.value)

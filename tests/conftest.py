"""Fixtures shared by every test package: the bundled dataset and the sandboxes.

Per test session (per xdist worker) one sandbox serves the tests that read and another
the tests that write, reset to its seeded state before each of them. Two instances, not
one reset between all tests: module-scoped clients and full reads of the read-only
sandbox (``sf``, ``hs``, ``full_read``…) would lose their sessions and see other tests'
writes if a writing test reset or changed the sandbox under them. The second seeding
costs one start per worker; a reset costs milliseconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.data import BUNDLED_DATASET
from sandbox.server import RunningSandbox, start_sandbox

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bundled_seed() -> Path:
    """The real Maven CRM dataset, as the package ships it (a clone needs nothing beside it)."""
    return BUNDLED_DATASET


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The bundled dataset, served for the whole session and never reset: tests must not
    write to it (a test that writes rows fails the session's teardown here)."""
    running = start_sandbox(state_dir=tmp_path_factory.mktemp("sandbox"))
    rows_written = running.app.store.db.total_changes
    yield running
    running.stop()
    assert running.app.store.db.total_changes == rows_written, (
        "a test wrote to the read-only shared sandbox: tests that write use fresh_sandbox()"
    )


@pytest.fixture(scope="session")
def writable_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The bundled dataset for tests that write; ``fresh_sandbox()`` resets it before each."""
    running = start_sandbox(state_dir=tmp_path_factory.mktemp("writable-sandbox"), resettable=True)
    yield running
    running.stop()


@pytest.fixture
def fresh_sandbox(
    writable_sandbox: RunningSandbox, tmp_path: Path
) -> Iterator[Callable[..., RunningSandbox]]:
    """A factory of sandboxes for tests that change state, each as if just started.

    ``fresh_sandbox()`` hands out the session's writable sandbox reset to its seeded state
    (milliseconds, where a start takes a second and a half), with the test's own state
    folder for the configs it writes. Other data (``data_dir``) or start options need a
    start of their own, and so does a second sandbox in one test: those are private and
    stopped after the test.
    """
    started: list[RunningSandbox] = []
    shared_handed_out = False

    def start(data_dir: Path | None = None, **options: Any) -> RunningSandbox:
        nonlocal shared_handed_out
        state_dir = tmp_path / f"sandbox{len(started) + shared_handed_out}"
        if data_dir is None and not options and not shared_handed_out:
            shared_handed_out = True
            writable_sandbox.app.reset()
            state_dir.mkdir()
            return dataclasses.replace(writable_sandbox, state_dir=state_dir)
        running = start_sandbox(data_dir, state_dir=state_dir, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()

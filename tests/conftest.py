"""Fixtures shared by every test package: the bundled dataset and the sandboxes.

Per test session (per xdist worker) one sandbox serves the tests that read and another
the tests that write, reset to its seeded state before each of them. Two instances, not
one reset between all tests: module-scoped clients and full reads of the read-only
sandbox (``sf``, ``hs``, ``full_read``…) would lose their sessions and see other tests'
writes if a writing test reset or changed the sandbox under them. The second seeding
costs one start per worker; a reset costs milliseconds.

Tests about what a sync writes start from a store one sync of the read-only sandbox
filled (``synced_store``), as every run of a scheduled job after its first does: an
incremental read, where a full read through HubSpot is some 800 calls per test.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from sandbox.data import BUNDLED_DATASET
from sandbox.server import RunningSandbox, ready_line, start_sandbox, write_configs

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
def synced_store(
    sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, Path], None]:
    """Copies of a store filled by one audit of the read-only sandbox per CRM (made
    at first use): ``synced_store(crm, path)`` puts one at ``path``.

    The writable sandbox holds the same records under the same ids when reset, and the
    store's cursors stand at the moment of the sync: a sync from the copy reads only what
    the test changed.
    """
    from partner_kpi.cli import main  # the CLI loads the app: only for tests that use it

    made: dict[str, Path] = {}

    def copy_to(crm: str, path: Path) -> None:
        if crm not in made:
            folder = tmp_path_factory.mktemp(f"synced-{crm}")
            configs = write_configs(sandbox)
            document = yaml.safe_load(configs[crm].read_text())
            document["store"]["path"] = str(folder / "store.db")
            config = folder / "config.yaml"
            config.write_text(yaml.safe_dump(document))
            env = json.loads(ready_line(sandbox, configs))["env"]
            done = CliRunner().invoke(
                main,
                ["audit", "--config", str(config), "--as-of", "2017-12-31",
                 "--out", str(folder / "out")],
                env=env,
                catch_exceptions=False,
            )  # fmt: skip
            assert done.exit_code == 0, done.output
            made[crm] = folder / "store.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made[crm], path)

    return copy_to


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

"""Sandbox fixtures: one sandbox per test session, fresh ones for tests that write.

Clients are the real libraries over HTTPS on loopback, trusting the sandbox's CA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.clients import control, hubspot_client, salesforce_client, salesforce_token
from sandbox.faults import FaultSpec
from sandbox.server import RunningSandbox, start_sandbox

# the client helpers live in the product (sandbox.clients); tests import them from here too
__all__ = ["control", "hubspot_client", "salesforce_client", "salesforce_token", "set_faults"]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The bundled dataset, served for the whole session. Tests must not write to it."""
    running = start_sandbox(state_dir=tmp_path_factory.mktemp("sandbox"))
    yield running
    running.stop()


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[Callable[..., RunningSandbox]]:
    """A factory of private sandboxes (own data, own faults) for tests that change state."""
    started: list[RunningSandbox] = []

    def start(data_dir: Path | None = None, **options: Any) -> RunningSandbox:
        running = start_sandbox(data_dir, state_dir=tmp_path / f"sandbox{len(started)}", **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def set_faults(running: RunningSandbox, spec: str) -> None:
    """Switch faults on at run time (as a user would, through the control endpoint)."""
    items = dict(item.split("=", 1) for item in spec.split(",") if item)
    FaultSpec.from_mapping(items)  # a typo fails here, not as a 400 inside a test
    control(running, "faults", items)

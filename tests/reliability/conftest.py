"""The fault-free run each fault case is compared with: once per CRM per test session."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from sandbox.server import RunningSandbox
from tests.reliability.harness import CrmState, reference_run


@pytest.fixture(scope="session")
def reference(
    writable_sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], CrmState]:
    """The CRM's state after a fault-free sync of a fresh sandbox, computed on first use.

    Runs on the session's writable sandbox, reset first; ``fresh_sandbox()`` resets it
    again for the test that asked.
    """
    states: dict[str, CrmState] = {}

    def state_of(crm: str) -> CrmState:
        if crm not in states:
            writable_sandbox.app.reset()
            folder = tmp_path_factory.mktemp(f"reference-{crm}")
            running = dataclasses.replace(writable_sandbox, state_dir=folder)
            states[crm] = reference_run(running, crm, folder / "run")[0]
        return states[crm]

    return state_of

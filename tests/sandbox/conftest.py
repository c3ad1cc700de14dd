"""Helpers for tests that drive a sandbox (the fixtures ``sandbox`` and ``fresh_sandbox``
are in tests/conftest.py).

Clients are the real libraries over HTTPS on loopback, trusting the sandbox's CA.
"""

from __future__ import annotations

from sandbox.clients import control, hubspot_client, salesforce_client, salesforce_token
from sandbox.faults import FaultSpec
from sandbox.server import RunningSandbox

# the client helpers live in the product (sandbox.clients); tests import them from here too
__all__ = ["control", "hubspot_client", "salesforce_client", "salesforce_token", "set_faults"]


def set_faults(running: RunningSandbox, spec: str) -> None:
    """Switch faults on at run time (as a user would, through the control endpoint)."""
    items = dict(item.split("=", 1) for item in spec.split(",") if item)
    FaultSpec.from_mapping(items)  # a typo fails here, not as a 400 inside a test
    control(running, "faults", items)

"""``write_latency_ms`` slows the calls that change records and no other: which calls
those are, by each CRM's routes."""

from __future__ import annotations

import pytest

from sandbox.app import writes_records
from sandbox.faults import FaultSpec


@pytest.mark.parametrize(
    ("method", "rule", "writes"),
    [
        ("PATCH", "/services/data/v<version>/composite/sobjects", True),
        ("POST", "/services/data/v<version>/composite/sobjects", True),
        ("POST", "/services/data/v<version>/sobjects/<sobject>", True),
        ("DELETE", "/services/data/v<version>/sobjects/<sobject>/<record_id>", True),
        ("POST", "/services/data/v<version>/composite", False),  # describes, in one call
        ("GET", "/services/data/v<version>/query", False),
        ("POST", "/services/data/v<version>/jobs/query", False),
        ("POST", "/crm/v3/objects/<object_type>/batch/update", True),
        ("POST", "/crm/v3/objects/<object_type>/batch/archive", True),
        ("POST", "/crm/v3/objects/<object_type>/batch/read", False),
        ("POST", "/crm/v3/objects/<object_type>/search", False),
        ("POST", "/crm/v4/associations/<from_type>/<to_type>/batch/read", False),
        ("GET", "/crm/v3/objects/<object_type>", False),
    ],
)
def test_the_calls_that_change_records(method: str, rule: str, writes: bool) -> None:
    assert writes_records(method, rule) is writes


def test_write_latency_is_a_fault_of_its_own() -> None:
    spec = FaultSpec.parse("write_latency_ms=250")
    assert (spec.write_latency_ms, spec.latency_ms) == (250.0, 0.0)
    assert spec.describe()["write_latency_ms"] == 250.0

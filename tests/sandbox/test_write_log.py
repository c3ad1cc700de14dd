"""The sandbox's write log (``/__sandbox/writes``): every committed write of a record,
counted per record, however it came; a rolled-back batch counts nothing; a reset empties it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, hubspot_client, salesforce_client


def _writes(running: RunningSandbox) -> dict[str, dict[str, dict[str, int]]]:
    found: dict[str, dict[str, dict[str, int]]] = control(running, "writes")
    return found


def _accounts(sf: Any, n: int) -> list[str]:
    query = f"SELECT Id FROM Account WHERE IsPartner = true ORDER BY Id LIMIT {n}"
    return [r["Id"] for r in sf.query(query)["records"]]


def test_salesforce_writes_are_counted_per_record(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    assert _writes(running) == {"salesforce": {}, "hubspot": {}}
    sf = salesforce_client(running)
    first, second, third = _accounts(sf, 3)

    sf.Account.update(first, {"AnnualRevenue": 1})  # a single-record PATCH
    records = [{"attributes": {"type": "Account"}, "id": rid, "AnnualRevenue": 2}
               for rid in (first, second)]  # fmt: skip
    sf.restful("composite/sobjects", method="PATCH",
               json={"allOrNone": False, "records": records})  # fmt: skip
    # an allOrNone batch with a bad value is rolled back: nothing landed, nothing counted
    rolled_back = [
        {"attributes": {"type": "Account"}, "id": third, "AnnualRevenue": 3},
        {"attributes": {"type": "Account"}, "id": second, "AnnualRevenue": "x"},
    ]
    sf.restful("composite/sobjects", method="PATCH",
               json={"allOrNone": True, "records": rolled_back})  # fmt: skip
    sf.query("SELECT Id, AnnualRevenue FROM Account")  # reads are no writes

    assert _writes(running)["salesforce"] == {"Account": {first: 2, second: 1}}
    running.app.reset()
    assert _writes(running) == {"salesforce": {}, "hubspot": {}}


def test_hubspot_writes_are_counted_per_record(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    hs = hubspot_client(running)
    first, second = (c.id for c in hs.crm.companies.basic_api.get_page(limit=2).results)

    hs.crm.companies.basic_api.update(first, {"properties": {"name": "Renamed"}})
    inputs = [SimplePublicObjectBatchInput(id=rid, properties={"name": "Again"})
              for rid in (first, second)]  # fmt: skip
    hs.crm.companies.batch_api.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=inputs
        )
    )
    hs.crm.companies.basic_api.get_page(limit=10)

    assert _writes(running)["hubspot"] == {"companies": {first: 2, second: 1}}
    assert _writes(running)["salesforce"] == {}

"""CRM search trails writes (``search_lag_ms``), as HubSpot's eventually consistent index
does; list and get reads see a write at once."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, set_faults
from tests.sandbox.test_reset import hubspot

DEALS = "/crm/v3/objects/deals"


def found_by_search(running: RunningSandbox, deal_id: str) -> bool:
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": deal_id}]}
        ],
        "properties": ["dealname"],
    }
    status, answer, _ = hubspot(running, "POST", f"{DEALS}/search", body)
    assert status == 200
    assert answer["total"] == len(answer["results"])
    return [r["id"] for r in answer["results"]] == [deal_id]


def rename(running: RunningSandbox, deal_id: str, name: str) -> None:
    update = {"inputs": [{"id": deal_id, "properties": {"dealname": name}}]}
    assert hubspot(running, "POST", f"{DEALS}/batch/update", update)[0] == 200


def test_a_write_reaches_search_after_the_lag_in_force_when_it_was_made(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    _, page, _ = hubspot(running, "GET", f"{DEALS}?limit=2")
    slow, quick = (record["id"] for record in page["results"])
    assert found_by_search(running, slow) and found_by_search(running, quick)

    set_faults(running, "search_lag_ms=60000")
    rename(running, slow, "Written under a minute's lag")
    set_faults(running, "search_lag_ms=0")
    rename(running, quick, "Written after, indexed at once")
    # indexed out of order: the later write is searchable, the earlier one is not yet
    assert found_by_search(running, quick) and not found_by_search(running, slow)
    status, record, _ = hubspot(running, "GET", f"{DEALS}/{slow}?properties=dealname")
    assert status == 200 and record["properties"]["dealname"] == "Written under a minute's lag"

    control(running, "hubspot/clock", {"advance_ms": 59_000})
    assert not found_by_search(running, slow)
    control(running, "hubspot/clock", {"advance_ms": 1_000})
    assert found_by_search(running, slow)


def test_the_lag_is_off_unless_asked_for(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    assert control(running, "faults")["search_lag_ms"] == 0
    _, page, _ = hubspot(running, "GET", f"{DEALS}?limit=1")
    deal = page["results"][0]["id"]
    rename(running, deal, "Seen at once")
    assert found_by_search(running, deal)

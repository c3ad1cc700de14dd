"""Records archived by another user: in the recycling bin for 90 days by the portal's clock
(listed with archived=true, restorable with their associations), then gone for good."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control
from tests.sandbox.test_reset import hubspot

DEALS = "/crm/v3/objects/deals"


def archived_ids(running: RunningSandbox) -> set[str]:
    """Every deal id the archived listing returns, page by page."""
    found: set[str] = set()
    after = ""
    while True:
        _, page, _ = hubspot(running, "GET", f"{DEALS}?archived=true&limit=100{after}")
        found |= {record["id"] for record in page["results"]}
        if "paging" not in page:
            return found
        after = f"&after={page['paging']['next']['after']}"


def companies_of(running: RunningSandbox, deal_id: str) -> list[Any]:
    _, body, _ = hubspot(
        running,
        "POST",
        "/crm/v4/associations/deals/companies/batch/read",
        {"inputs": [{"id": deal_id}]},
    )
    if not body["results"]:
        return []
    return sorted(body["results"][0]["to"], key=lambda t: t["toObjectId"])


def a_deal(running: RunningSandbox) -> str:
    _, page, _ = hubspot(running, "GET", f"{DEALS}?limit=1")
    return str(page["results"][0]["id"])


def test_an_archived_deal_is_restored_with_its_associations_within_90_days(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    deal = a_deal(running)
    companies = companies_of(running, deal)
    assert companies  # a partner and a customer
    answer = control(running, "hubspot/archive", {"object_type": "deals", "ids": [deal, "1"]})
    assert answer == {"archived": [deal], "not_found": ["1"]}
    assert hubspot(running, "GET", f"{DEALS}/{deal}")[0] == 404
    status, archived, _ = hubspot(running, "GET", f"{DEALS}/{deal}?archived=true")
    assert status == 200 and archived["archived"] is True and archived["archivedAt"]
    assert deal in archived_ids(running)
    assert companies_of(running, deal) == []

    clock = control(running, "hubspot/clock", {"advance_days": 89})
    assert clock["purged"] == 0 and clock["offset_ms"] == 89 * 86_400_000
    assert control(running, "hubspot/restore", {"ids": [deal]}) == {
        "restored": [deal], "not_found": []
    }  # fmt: skip
    status, restored, _ = hubspot(running, "GET", f"{DEALS}/{deal}")
    assert status == 200 and restored["archived"] is False
    # modified when restored, by the portal's clock: an incremental read finds it
    assert restored["updatedAt"] > archived["archivedAt"]
    assert companies_of(running, deal) == companies
    assert deal not in archived_ids(running)


def test_a_deal_archived_more_than_90_days_ago_is_gone_for_good(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    _, page, _ = hubspot(running, "GET", f"{DEALS}?limit=2")
    deal, kept = (record["id"] for record in page["results"])
    control(running, "hubspot/archive", {"ids": [deal]})
    control(running, "hubspot/clock", {"advance_days": 60})
    control(running, "hubspot/archive", {"ids": [kept]})  # archived 60 days later
    clock = control(running, "hubspot/clock", {"advance_days": 31})
    assert clock["purged"] == 1  # 91 days for the first, 31 for the second
    assert deal not in archived_ids(running) and kept in archived_ids(running)
    assert hubspot(running, "GET", f"{DEALS}/{deal}?archived=true")[0] == 404
    assert hubspot(running, "GET", f"{DEALS}/{deal}")[0] == 404
    assert control(running, "hubspot/restore", {"ids": [deal]}) == {
        "restored": [], "not_found": [deal]
    }  # fmt: skip
    assert control(running, "hubspot/restore", {"ids": [kept]})["restored"] == [kept]


def test_the_portal_clock_moves_forward_only_and_dates_the_answers(
    fresh_sandbox: Callable[..., RunningSandbox],
) -> None:
    running = fresh_sandbox()
    before = control(running, "hubspot/clock")
    assert before["offset_ms"] == 0 and before["purged"] == 0
    for refused in ({"advance_days": -1}, {}, {"advance_ms": "soon"}, {"advance_days": True}):
        answer = requests.post(
            f"{running.url}/__sandbox/hubspot/clock",
            json=refused,
            headers={"Authorization": f"Bearer {running.credentials.control_token}"},
            verify=str(running.ca_bundle),
            timeout=30,
        )
        assert answer.status_code == 400, refused
    control(running, "hubspot/clock", {"advance_days": 91})
    response = requests.get(
        f"{running.url}{DEALS}?limit=1",
        headers={"Authorization": f"Bearer {running.credentials.hubspot_access_token}"},
        verify=str(running.ca_bundle),
        timeout=30,
    )
    served = parsedate_to_datetime(response.headers["Date"])
    process = datetime.now(UTC)
    assert 90.9 < (served - process).total_seconds() / 86_400 < 91.1
    # a reset puts the clock back as seeded
    running.app.reset()
    assert control(running, "hubspot/clock")["offset_ms"] == 0

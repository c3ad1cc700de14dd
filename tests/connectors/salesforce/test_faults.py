"""Faults on the sandbox: storms of limits, 503s, dropped connections and expiring sessions
still end with the exact record set; a used-up quota or exhausted retries end in an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from connectors.salesforce.connector import SalesforceConnector
from connectors.seed import SeedDataset
from core.errors import RateLimitExhausted, RetriesExhausted
from core.schema import Opportunity
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import (
    RecordedSleep,
    history_rows,
    make_connector,
    records_of,
    sandbox_env,
)
from tests.sandbox.conftest import control, salesforce_client, set_faults

Start = Callable[..., RunningSandbox]


def _statuses(running: RunningSandbox) -> dict[str, int]:
    statuses: dict[str, int] = control(running, "stats")["statuses"]
    return statuses


def _extract(connector: SalesforceConnector) -> tuple[list[str], list[Opportunity], list[str]]:
    partners = [p.id for p in records_of(connector.fetch_partners())]
    opportunities = records_of(connector.fetch_opportunities(None))
    changes = [c.id for c in records_of(connector.fetch_stage_changes(None))]
    return partners, opportunities, changes


@pytest.mark.parametrize(
    ("faults", "options", "evidence"),
    [
        ("rate_limit=0.3", {}, "salesforce 403"),
        ("server_error=0.3", {}, "salesforce 503"),
        ("drop=0.2", {}, None),
        ("token_expiry=after:3", {}, None),
        (
            "rate_limit=0.2,server_error=0.2,drop=0.1,token_expiry=after:3",
            {"max_attempts": 25, "bulk_threshold": 2001},
            "salesforce 503",
        ),
    ],
)
def test_faults_still_give_the_exact_record_set(
    fresh_sandbox: Start,
    seed: SeedDataset,
    faults: str,
    options: dict[str, Any],
    evidence: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    running = fresh_sandbox()
    id_map: dict[str, str] = control(running, "id-map")["salesforce"]
    set_faults(running, faults)
    sleep = RecordedSleep()
    connector = make_connector(running, sleep, **options)

    partners, opportunities, changes = _extract(connector)

    assert sorted(partners) == sorted(id_map[p.id] for p in seed.partners)
    assert sorted(o.id for o in opportunities) == sorted(id_map[o.id] for o in seed.opportunities)
    assert {o.id: o.partner_id for o in opportunities} == {
        id_map[o.id]: id_map[o.partner_id or ""] for o in seed.opportunities
    }
    assert len(changes) == len(set(changes)) == history_rows(seed)
    if evidence is not None:
        assert _statuses(running).get(evidence, 0) > 0
        assert sleep.waits  # every retry backed off first
    if "token_expiry" in faults:
        assert connector.client.logins > 2  # a fresh session every third call
    secrets = [*sandbox_env(running).values(), connector.client.sf.session_id]
    for record in caplog.records:
        assert not any(secret in record.getMessage() for secret in secrets)


def test_a_used_up_daily_quota_stops_the_read_at_once(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    set_faults(running, "daily_limit=4")
    other = salesforce_client(running)  # another integration spends the quota
    for _ in range(4):
        other.query("SELECT COUNT() FROM Account")
    connector = make_connector(running, max_quota_share=1.0)
    received: list[Opportunity] = []
    with pytest.raises(RateLimitExhausted, match="TotalRequests") as caught:
        for page in connector.fetch_opportunities(None):
            received.extend(page.records)
    assert received == []
    assert _statuses(running)["salesforce 403"] == 1  # refused once, never retried
    assert "the next run resumes" in str(caught.value)


def test_the_quota_share_is_never_exceeded(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    set_faults(running, "daily_limit=10")
    connector = make_connector(running, max_quota_share=0.5)
    pages = connector.fetch_opportunities(None)
    received = []
    with pytest.raises(RateLimitExhausted, match=r"max_quota_share=0\.5"):
        for page in pages:
            received.append(page)
    # stages, describe, then three query pages: 5 of 10 calls; the org never had to refuse
    assert len(received) == 3 and sum(len(p.records) for p in received) == 6000
    assert connector.usage().used == 5 and connector.usage().limit == 10
    assert "salesforce 403" not in _statuses(running)


def test_retries_that_run_out_are_errors(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running, max_attempts=3)
    connector.fetch_stage_defs()  # logged in, metadata read
    set_faults(running, "server_error=1.0")
    with pytest.raises(RetriesExhausted) as caught:
        records_of(connector.fetch_partners())
    assert caught.value.error_code == "SERVER_UNAVAILABLE" and caught.value.exit_code == 4
    assert caught.value.http_status == 503 and caught.value.attempts == 3
    assert _statuses(running)["salesforce 503"] == 3
    set_faults(running, "rate_limit=1.0")
    with pytest.raises(RateLimitExhausted, match="REQUEST_LIMIT_EXCEEDED"):
        records_of(connector.fetch_partners())


def test_a_session_that_expires_again_at_once_is_an_auth_error(fresh_sandbox: Start) -> None:
    from core.errors import AuthError

    running = fresh_sandbox()
    set_faults(running, "token_expiry=after:0")
    connector = make_connector(running)
    with pytest.raises(AuthError, match="INVALID_SESSION_ID"):
        connector.fetch_stage_defs()
    assert connector.client.logins == 2  # the first session and one fresh one, no more

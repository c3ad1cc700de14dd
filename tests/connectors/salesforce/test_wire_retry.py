"""One error-handling path with canned answers (``responses``): Retry-After is honoured,
and retries that run out end in an error, never in a silent success.

The sandbox sends no Retry-After on Salesforce routes (Salesforce itself rarely
does), so this path is pinned here; every other fault is exercised on the sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest
import responses

from connectors.retry import parse_retry_after
from connectors.salesforce.paging import pages
from connectors.salesforce.queries import Select, fields
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.wire import SalesforceClient
from core.errors import ConfigError, RateLimitExhausted, RetriesExhausted
from tests.connectors.salesforce.conftest import RecordedSleep

LOGIN = "https://login.example.test"
INSTANCE = "https://acme.my.example.test"
QUERY = f"{INSTANCE}/services/data/v60.0/query/"
ENV = {
    "PARTNER_KPI_SF_CLIENT_ID": "id",
    "PARTNER_KPI_SF_CLIENT_SECRET": "secret",
    "PARTNER_KPI_SF_USERNAME": "me@example.com",
    "PARTNER_KPI_SF_PASSWORD": "pw",
    "PARTNER_KPI_SF_SECURITY_TOKEN": "tok",
}
SELECT = Select("Account", fields("Id", "Name"))


def _client(sleep: RecordedSleep, **options: Any) -> SalesforceClient:
    settings = SalesforceSettings.model_validate(
        {"type": "salesforce", "login_url": LOGIN, "backoff_initial_seconds": 0.5, **options}
    )
    return SalesforceClient(settings, environ=ENV, sleep=sleep)


def _login() -> None:
    responses.post(
        f"{LOGIN}/services/oauth2/token",
        json={"access_token": "00Dx!token", "instance_url": INSTANCE},
    )


@responses.activate
def test_retry_after_is_honoured_then_the_page_arrives() -> None:
    _login()
    limited = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests"}]
    responses.get(QUERY, status=429, json=limited, headers={"Retry-After": "7"})
    responses.get(
        QUERY,
        json={"totalSize": 1, "done": True, "records": [{"Id": "001x", "Name": "A"}]},
        headers={"Sforce-Limit-Info": "api-usage=12/15000"},
    )
    sleep = RecordedSleep()
    client = _client(sleep)
    (page,) = list(pages(client, SELECT))
    assert page.rows == [{"Id": "001x", "Name": "A"}]
    assert sleep.waits == [7.0]
    usage = client.usage()
    assert (usage.used, usage.limit, usage.calls_made) == (12, 15000, 2)


@responses.activate
def test_backoff_grows_with_jitter_and_exhaustion_is_an_error() -> None:
    _login()
    unavailable = [{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}]
    for _ in range(4):
        responses.get(QUERY, status=503, json=unavailable)
    sleep = RecordedSleep()
    with pytest.raises(RetriesExhausted) as caught:
        list(pages(_client(sleep, max_attempts=4), SELECT))
    assert caught.value.error_code == "SERVER_UNAVAILABLE"
    assert "4 times" in str(caught.value)
    assert len(sleep.waits) == 3
    for attempt, wait in enumerate(sleep.waits, start=1):
        floor = 0.5 * 2 ** (attempt - 1)
        assert floor <= wait <= floor + 0.5  # exponential, plus up to `initial` of jitter


@responses.activate
def test_a_retry_after_beyond_the_limit_stops_the_run() -> None:
    _login()
    responses.get(QUERY, status=429, json=[], headers={"Retry-After": "3600"})
    sleep = RecordedSleep()
    with pytest.raises(RateLimitExhausted, match="3600"):
        list(pages(_client(sleep), SELECT))
    assert sleep.waits == []


def test_retry_after_dates_are_read() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@responses.activate
def test_a_bulk_job_still_running_at_the_deadline_ends_the_run_for_the_next_to_resume() -> None:
    _login()
    job = f"{INSTANCE}/services/data/v60.0/jobs/query/750x"
    responses.get(job, json={"id": "750x", "state": "InProgress"})
    client = _client(RecordedSleep(), bulk_timeout_seconds=0.001, bulk_poll_seconds=0.0)
    with pytest.raises(RetriesExhausted) as caught:
        client.wait_for_job("Opportunity", "750x", query=True)
    assert caught.value.exit_code == 4 and caught.value.error_code == "BULK_JOB_TIMEOUT"
    assert "job 750x not complete after 0.001 s (crm.bulk_timeout_seconds)" in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "said"),
    [({"status": 404, "body": "<html>Not Found</html>"}, "answered HTTP 404"),
     ({"status": 200, "body": "<html>Sign in to the Wi-Fi</html>"},
      "answered 200 without a token")],
)  # fmt: skip
@responses.activate
def test_a_login_url_that_is_no_salesforce_login_server_names_the_key(
    answer: dict[str, Any], said: str
) -> None:
    responses.post(f"{LOGIN}/services/oauth2/token", **answer)
    sleep = RecordedSleep()
    with pytest.raises(ConfigError) as caught:
        _client(sleep).login()
    assert caught.value.key == "crm.login_url" and sleep.waits == []
    assert f"{LOGIN}/services/oauth2/token {said}: that is not a Salesforce login" in str(
        caught.value
    )

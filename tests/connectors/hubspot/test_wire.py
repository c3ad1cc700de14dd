"""The HubSpot wire alone: headers, Retry-After, the quota guard, pacing, the token.

Operations here are stand-ins for the generated client's raw responses, so
these tests need no network; the same policy against the sandbox is in
test_reliability.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot.crm.pipelines import ApiException as PipelinesApiException
from pydantic import ValidationError

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.wire import RateLimits, read_token
from connectors.retry import parse_retry_after
from core.errors import ConfigError, CrmApiError, RateLimitExhausted

TOKEN = "pat-na1-test-token"


class RawResponse:
    """What a ``*_with_http_info(_preload_content=False)`` call answers."""

    def __init__(self, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
        self.data = body
        self.status = 200
        self.headers = headers or {}
        self.released = False

    def release_conn(self) -> None:
        self.released = True


def settings(**overrides: Any) -> HubSpotSettings:
    return HubSpotSettings.model_validate({"type": "hubspot", **overrides})


def client(sleeps: list[float], **overrides: Any) -> HubSpotClient:
    return HubSpotClient(
        settings(**overrides), environ={"PARTNER_KPI_HUBSPOT_TOKEN": TOKEN}, sleep=sleeps.append
    )


def test_rate_limit_headers_are_read_in_any_case() -> None:
    limits = RateLimits()
    limits.update(
        {
            "x-hubspot-ratelimit-daily": "500000",
            "x-hubspot-ratelimit-daily-remaining": "499000",
            "x-hubspot-ratelimit-max": "190",
            "x-hubspot-ratelimit-remaining": "12",
            "x-hubspot-ratelimit-interval-milliseconds": "10000",
        }
    )
    assert (limits.daily, limits.daily_used, limits.window_max, limits.window_remaining) == (
        500_000, 1_000, 190, 12,
    )  # fmt: skip
    limits.update({})  # an answer without the headers keeps what was known
    assert limits.daily_used == 1_000


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now) == 10.0
    assert parse_retry_after(None) is None and parse_retry_after("later") is None


def test_a_call_records_headers_usage_and_the_server_clock() -> None:
    sleeps: list[float] = []
    hs = client(sleeps)
    response = RawResponse(
        b'{"results": []}',
        {
            "Date": "Thu, 26 Nov 2026 02:00:30 GMT",
            "X-HubSpot-RateLimit-Daily": "1000",
            "X-HubSpot-RateLimit-Daily-Remaining": "990",
        },
    )
    body, status = hs.call("list deals", lambda: response)
    assert body == {"results": []} and status == 200 and response.released
    assert hs.server_time == datetime(2026, 11, 26, 2, 0, 30, tzinfo=UTC)
    usage = hs.usage()
    assert (usage.used, usage.limit, usage.calls_made, usage.share_used) == (10, 1000, 1, 0.01)


def test_the_quota_guard_stops_before_the_call() -> None:
    hs = client([], max_quota_share=0.5)
    hs.limits.update(
        {"x-hubspot-ratelimit-daily": "1000", "x-hubspot-ratelimit-daily-remaining": "500"}
    )
    called: list[bool] = []

    def operation() -> RawResponse:
        called.append(True)
        return RawResponse()

    with pytest.raises(RateLimitExhausted, match="500 of 1000"):
        hs.call("search deals", operation)
    assert called == [] and hs.calls == 0


def test_a_spent_ten_second_window_is_waited_out() -> None:
    sleeps: list[float] = []
    hs = client(sleeps)
    headers = {
        "X-HubSpot-RateLimit-Remaining": "0",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }
    hs.call("one", lambda: RawResponse(headers=headers))
    assert sleeps == []
    hs.call("two", lambda: RawResponse())
    assert sleeps == [10.0]


def test_the_token_comes_from_the_named_variable() -> None:
    named = settings(access_token_env="HS_TOKEN")
    assert read_token(named, {"HS_TOKEN": f"  {TOKEN}\n"}) == TOKEN
    for environ in ({}, {"HS_TOKEN": "  "}):
        with pytest.raises(ConfigError) as excinfo:
            read_token(named, environ)
        assert excinfo.value.key == "crm.access_token_env" and "HS_TOKEN" in str(excinfo.value)


@pytest.mark.parametrize(
    ("key", "value", "fix"),
    [
        ("base_url", "http://api.hubapi.com", "https://"),
        ("timezone", "Mars/Olympus", "IANA time zone"),
        ("lead_source_property", "Lead Source", "internal name"),
        ("partner_tier_property", "tier-level", "internal name"),
        ("max_quota_share", 0, "greater than 0"),
        ("overlap_seconds", -1, "greater than or equal to 0"),
        ("company_currency", "usd", "pattern"),
        ("unknown_key", 1, "Extra inputs"),
    ],
)
def test_settings_refuse_bad_values_with_the_fix(key: str, value: Any, fix: str) -> None:
    with pytest.raises(ValidationError, match=fix):
        settings(**{key: value})


def test_settings_defaults() -> None:
    s = settings()
    assert (s.partner_property, s.partner_value, s.partner_label, s.lead_source_property) == (
        "type", "PARTNER", "Reseller", "lead_source",
    )  # fmt: skip
    assert (s.overlap_seconds, s.max_quota_share, s.pipeline, s.timezone) == (300, 0.5, None, "UTC")
    assert settings(base_url="https://example.test/").base_url == "https://example.test"


def not_found(body: bytes) -> PipelinesApiException:
    """A 404 as the generated client raises it, with ``body`` as the server sent it."""
    exc = PipelinesApiException(status=404, reason="Not Found")
    exc.body = body
    return exc


def failing(exc: Exception) -> Any:
    def operation() -> Any:
        raise exc

    return operation


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Not Found</body></html>",  # another server's page
        b"",
        b'{"status": "error", "message": "The requested resource does not exist", '
        b'"category": "NOT_FOUND"}',  # HubSpot's JSON, but no record is in question
    ],
    ids=["page", "empty", "json-no-record"],
)
def test_a_404_on_a_route_every_account_has_names_the_base_url(body: bytes) -> None:
    hs = client([], base_url="https://api.hubapi.com/wrong/path")
    with pytest.raises(ConfigError) as raised:
        hs.call("read the deals pipelines", failing(not_found(body)))
    assert raised.value.key == "crm.base_url"
    assert str(raised.value).startswith(
        "crm.base_url: https://api.hubapi.com/wrong/path answered HTTP 404"
    )
    assert "to read the deals pipelines" in str(raised.value)
    assert hs.calls == 1  # not retried


def test_hubspots_own_404_about_a_record_stays_the_crms_answer() -> None:
    hs = client([])
    object_not_found = (
        b'{"status": "error", "message": "Object not found.  objectId are usually numeric.", '
        b'"correlationId": "c-1", "category": "OBJECT_NOT_FOUND"}'
    )
    with pytest.raises(CrmApiError) as raised:
        hs.call("read the deals pipelines", failing(not_found(object_not_found)))
    assert (raised.value.error_code, raised.value.http_status) == ("OBJECT_NOT_FOUND", 404)
    assert raised.value.request_id == "c-1"
    json_not_found = b'{"status": "error", "message": "gone", "category": "NOT_FOUND"}'
    with pytest.raises(CrmApiError) as raised:
        hs.call("read deal 42", failing(not_found(json_not_found)), record_id="42")
    assert (raised.value.error_code, raised.value.record_id) == ("NOT_FOUND", "42")

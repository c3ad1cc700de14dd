"""Retries, limits, auth and config against a misbehaving sandbox.

Faults are switched on at run time through the sandbox's control endpoint. The
connector's ``sleep`` is recorded instead of slept: the sandbox's faults are
random, not timed, so no real wait is needed, and the recorded waits show that
Retry-After is honoured. Whatever fails, a read ends with the exact record set
or with one of the project's errors, never with fewer records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from connectors.hubspot.connector import HubSpotConnector
from core.errors import (
    AuthError,
    ConfigError,
    CrmUnavailable,
    RateLimitExhausted,
    RetriesExhausted,
)
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import (
    TOKEN_ENV,
    connector_for,
    drain,
    settings_for,
)
from tests.sandbox.conftest import control, hubspot_client, set_faults


@pytest.fixture
def faulty(fresh_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    """The writable shared sandbox, reset, whose faults the test switches."""
    return fresh_sandbox()


@pytest.fixture
def calm(faulty: RunningSandbox) -> RunningSandbox:
    """The faulty sandbox before the test switches a fault: no faults, no counts (reset)."""
    return faulty


def full_read(connector: HubSpotConnector) -> dict[str, Any]:
    """Everything a first sync reads, as comparable values."""
    connector.fetch_stage_defs()
    partners, _, _ = drain(connector.fetch_partners())
    opportunities, deleted, _ = drain(connector.fetch_opportunities(None))
    changes, _, _ = drain(connector.fetch_stage_changes(None))
    return {
        "partners": sorted(partners, key=lambda p: p.id),
        "opportunities": sorted(opportunities, key=lambda o: o.id),
        "deleted": deleted,
        "changes": sorted(changes, key=lambda c: c.id),
    }


@pytest.fixture(scope="module")
def clean(sandbox: RunningSandbox) -> dict[str, Any]:
    """A full read of the read-only shared sandbox: the same data, read without faults."""
    return full_read(connector_for(sandbox))


def statuses(running: RunningSandbox) -> dict[str, int]:
    return dict(control(running, "stats")["statuses"])


@pytest.mark.parametrize(
    "faults",
    ["rate_limit=0.3,seed=3", "server_error=0.3,seed=4", "drop=0.2,seed=5"],
    ids=["429-storm", "503s", "dropped-connections"],
)
def test_faults_still_end_with_the_exact_record_set(
    calm: RunningSandbox, clean: dict[str, Any], faults: str
) -> None:
    sleeps: list[float] = []
    connector = connector_for(calm, sleep=sleeps.append)
    set_faults(calm, faults)
    assert full_read(connector) == clean
    assert sleeps, "no fault fired: the test proves nothing"
    seen = statuses(calm)
    if faults.startswith("rate_limit"):
        # every 429 waited exactly its Retry-After (1 s), no fixed sleep
        assert seen.get("hubspot 429", 0) == len(sleeps) and set(sleeps) == {1.0}
    if faults.startswith("server_error"):
        assert seen.get("hubspot 503", 0) == len(sleeps)
        assert len(set(sleeps)) > 1  # exponential backoff with jitter
    assert connector.usage().calls_made == connector.client.calls


def test_all_faults_at_once(calm: RunningSandbox, clean: dict[str, Any]) -> None:
    sleeps: list[float] = []
    connector = connector_for(calm, sleep=sleeps.append, max_attempts=12)
    set_faults(calm, "rate_limit=0.15,server_error=0.15,drop=0.1,seed=9")
    assert full_read(connector) == clean


def test_quota_share_stops_cleanly_before_the_daily_limit(calm: RunningSandbox) -> None:
    set_faults(calm, "daily_limit=20")
    connector = connector_for(calm, max_quota_share=0.5)
    with pytest.raises(RateLimitExhausted, match=r"crm.max_quota_share=0.5") as excinfo:
        full_read(connector)
    assert "10 of 20 daily calls used" in str(excinfo.value)
    assert connector.usage().used == 10 and connector.usage().limit == 20
    assert statuses(calm).get("hubspot 429", 0) == 0  # stopped before HubSpot refused


def test_daily_429_is_exhaustion_not_retried(calm: RunningSandbox) -> None:
    """Another integration used up the day's quota: HubSpot's DAILY 429 ends the run."""
    set_faults(calm, "daily_limit=3")
    other = hubspot_client(calm)
    for _ in range(3):
        other.crm.pipelines.pipelines_api.get_all("deals")
    sleeps: list[float] = []
    connector = connector_for(calm, sleep=sleeps.append)
    with pytest.raises(RateLimitExhausted, match="DAILY"):
        full_read(connector)
    assert statuses(calm).get("hubspot 429") == 1 and sleeps == []


@pytest.mark.parametrize(
    ("faults", "error", "code"),
    [
        ("rate_limit=1.0", RateLimitExhausted, None),
        ("server_error=1.0", RetriesExhausted, "SERVICE_UNAVAILABLE"),
        ("drop=1.0", RetriesExhausted, "CONNECTION_LOST"),
    ],
    ids=["429", "503", "drop"],
)
def test_exhausted_retries_are_errors(
    calm: RunningSandbox, faults: str, error: type[CrmUnavailable], code: str | None
) -> None:
    sleeps: list[float] = []
    connector = connector_for(calm, max_attempts=3, sleep=sleeps.append)
    set_faults(calm, faults)
    with pytest.raises(error) as excinfo:
        connector.fetch_stage_defs()
    assert len(sleeps) == 2  # three attempts, two waits
    assert "3 attempts" in str(excinfo.value) or "3 times" in str(excinfo.value)
    assert excinfo.value.exit_code == 4  # the next run resumes
    if code is not None:
        assert isinstance(excinfo.value, RetriesExhausted)
        assert excinfo.value.error_code == code
    if code == "SERVICE_UNAVAILABLE":
        assert isinstance(excinfo.value, RetriesExhausted)
        assert excinfo.value.request_id and excinfo.value.request_id in str(excinfo.value)
        assert excinfo.value.http_status == 503


def test_a_refused_token_is_an_auth_error_without_the_secret(
    calm: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "pat-na1-00000000-not-the-sandbox-token"
    connector = HubSpotConnector(settings_for(calm), environ={TOKEN_ENV: secret})
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as excinfo:
        connector.fetch_stage_defs()
    message = str(excinfo.value)
    assert TOKEN_ENV in message and "Private apps" in message
    chain: BaseException | None = excinfo.value
    while chain is not None:
        assert secret not in str(chain) and secret not in repr(chain)
        chain = chain.__cause__ or chain.__context__
    assert secret not in caplog.text
    with pytest.raises(AuthError):  # check ends on it too (exit 3), as a sync does
        connector.check()


def test_secrets_stay_out_of_retry_logs(
    calm: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    token = calm.credentials.hubspot_access_token
    connector = connector_for(calm, max_attempts=2, sleep=lambda _: None)
    set_faults(calm, "server_error=1.0")
    with caplog.at_level(logging.DEBUG), pytest.raises(RetriesExhausted) as excinfo:
        connector.fetch_stage_defs()
    assert "failed" in caplog.text
    assert token not in caplog.text and token not in str(excinfo.value)


def test_missing_token_names_the_variable_and_key(faulty: RunningSandbox) -> None:
    with pytest.raises(ConfigError) as excinfo:
        HubSpotConnector(settings_for(faulty, access_token_env="MY_HS_TOKEN"), environ={})
    assert excinfo.value.key == "crm.access_token_env"
    assert "MY_HS_TOKEN" in str(excinfo.value)


def test_an_untrusted_certificate_is_a_config_error(calm: RunningSandbox, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    connector = HubSpotConnector(
        settings_for(calm, ca_bundle=str(other)),
        environ={TOKEN_ENV: calm.credentials.hubspot_access_token},
    )
    with pytest.raises(ConfigError) as excinfo:
        connector.fetch_stage_defs()
    assert excinfo.value.key == "crm.ca_bundle"


def test_a_missing_ca_file_is_a_config_error(calm: RunningSandbox, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        HubSpotConnector(
            settings_for(calm, ca_bundle=str(tmp_path / "nope.pem")),
            environ={TOKEN_ENV: "x"},
        )


def test_an_unknown_partner_label_is_a_config_error(calm: RunningSandbox) -> None:
    connector = connector_for(calm, partner_label="Distributor")
    with pytest.raises(ConfigError) as excinfo:
        drain(connector.fetch_opportunities(None))
    assert excinfo.value.key == "crm.partner_label"
    assert "Reseller" in str(excinfo.value)  # the labels that exist are named
    items = {i.name: i for i in connector.check()}
    assert not items["association label"].ok


def test_an_unknown_pipeline_is_a_config_error(calm: RunningSandbox) -> None:
    connector = connector_for(calm, pipeline="Enterprise deals")
    with pytest.raises(ConfigError) as excinfo:
        connector.fetch_stage_defs()
    assert excinfo.value.key == "crm.pipeline" and "Partner deals" in str(excinfo.value)
    items = {i.name: i for i in connector.check()}
    assert items["connection"].ok and not items["pipelines"].ok


def test_pipeline_by_label_reads_it(calm: RunningSandbox) -> None:
    defs = connector_for(calm, pipeline="Partner deals").fetch_stage_defs()
    assert [d.name for d in defs] == ["Prospecting", "Engaging", "Won", "Lost"]


def test_a_missing_lead_source_property_fails_check(calm: RunningSandbox) -> None:
    items = {i.name: i for i in connector_for(calm, lead_source_property="hs_source").check()}
    assert not items["deal properties"].ok
    assert "crm.lead_source_property" in items["deal properties"].detail


def test_another_partner_filter(calm: RunningSandbox) -> None:
    partners, _, _ = drain(connector_for(calm, partner_value="OTHER").fetch_partners())
    assert len(partners) == 85  # the customers, selected by the same property
    none, _, _ = drain(connector_for(calm, partner_value="VENDOR").fetch_partners())
    assert none == []
    items = {i.name: i for i in connector_for(calm, partner_value="VENDOR").check()}
    assert not items["partner companies"].ok

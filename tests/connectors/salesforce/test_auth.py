"""Credentials come only from the variables the config names; refusals never show a secret."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.salesforce.auth import JWT_GRANT, jwt_assertion, read_credentials, token_form
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings
from core.errors import AuthError, ConfigError
from sandbox.salesforce.jwt_grant import SigningKey
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import make_connector, records_of, sandbox_env


def _settings(**options: Any) -> SalesforceSettings:
    return SalesforceSettings.model_validate({"type": "salesforce", **options})


def test_a_missing_variable_names_the_variable_and_the_key() -> None:
    env = {"PARTNER_KPI_SF_CLIENT_ID": "id", "PARTNER_KPI_SF_CLIENT_SECRET": "s3cr3t"}
    with pytest.raises(ConfigError) as caught:
        SalesforceConnector(_settings(), environ=env)
    assert caught.value.key == "crm.username_env"
    assert "PARTNER_KPI_SF_USERNAME" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_renamed_variables_are_read() -> None:
    env = {"MY_ID": "id", "MY_TOKEN": "r3fresh-value"}
    credentials = read_credentials(
        _settings(auth_flow="refresh_token", client_id_env="MY_ID", refresh_token_env="MY_TOKEN"),
        env,
    )
    assert token_form(_settings(), credentials) == {
        "grant_type": "refresh_token",
        "client_id": "id",
        "refresh_token": "r3fresh-value",
    }
    assert "r3fresh-value" not in repr(credentials)
    with pytest.raises(ConfigError, match=r"MY_TOKEN") as caught:
        read_credentials(
            _settings(
                auth_flow="refresh_token", client_id_env="MY_ID", refresh_token_env="MY_TOKEN"
            ),
            {"MY_ID": "id"},
        )
    assert caught.value.key == "crm.refresh_token_env"


def test_password_grant_appends_the_security_token_which_may_be_empty() -> None:
    env = {
        "PARTNER_KPI_SF_CLIENT_ID": "id",
        "PARTNER_KPI_SF_CLIENT_SECRET": "secret",
        "PARTNER_KPI_SF_USERNAME": "me@example.com",
        "PARTNER_KPI_SF_PASSWORD": "pw",
        "PARTNER_KPI_SF_SECURITY_TOKEN": "",
    }
    form = token_form(_settings(), read_credentials(_settings(), env))
    assert form["password"] == "pw" and form["grant_type"] == "password"
    with pytest.raises(ConfigError, match="PARTNER_KPI_SF_PASSWORD"):
        read_credentials(_settings(), {**env, "PARTNER_KPI_SF_PASSWORD": ""})


def test_jwt_assertion_is_signed_for_the_connected_app(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "server.key"
    key_file.write_bytes(pem)
    settings = _settings(auth_flow="jwt", login_url="https://test.salesforce.com")
    env = {
        "PARTNER_KPI_SF_CLIENT_ID": "3MVGid",
        "PARTNER_KPI_SF_USERNAME": "me@example.com",
        "PARTNER_KPI_SF_PRIVATE_KEY_FILE": str(key_file),
    }
    credentials = read_credentials(settings, env)
    assertion = jwt_assertion(settings, credentials, now=1_700_000_000)
    claims = jwt.decode(
        assertion,
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "3MVGid",
        "sub": "me@example.com",
        "aud": "https://test.salesforce.com",
        "exp": 1_700_000_180,
    }
    assert token_form(settings, credentials)["grant_type"] == JWT_GRANT
    with pytest.raises(ConfigError, match="PARTNER_KPI_SF_PRIVATE_KEY_FILE"):
        jwt_assertion(
            settings,
            read_credentials(settings, {**env, "PARTNER_KPI_SF_PRIVATE_KEY_FILE": "/nope"}),
        )


@pytest.mark.parametrize("flow", ["password", "client_credentials", "refresh_token"])
def test_each_grant_logs_in_to_the_sandbox(sandbox: RunningSandbox, flow: str) -> None:
    connector = make_connector(sandbox, auth_flow=flow)
    stages = connector.fetch_stage_defs()
    assert [s.name for s in stages] == ["Prospecting", "Engaging", "Won", "Lost"]


def _jwt_env(running: RunningSandbox, key_file: Path) -> dict[str, str]:
    return {
        "PARTNER_KPI_SF_CLIENT_ID": running.credentials.sf_client_id,
        "PARTNER_KPI_SF_USERNAME": running.credentials.sf_username,
        "PARTNER_KPI_SF_PRIVATE_KEY_FILE": str(key_file),
    }


def test_the_jwt_bearer_grant_logs_in_to_the_sandbox(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    key_file = sandbox.credentials.sf_jwt_key.write_private(tmp_path / "key.pem")
    settings = _settings(auth_flow="jwt", login_url=sandbox.url, ca_bundle=str(sandbox.ca_bundle))
    connector = SalesforceConnector(settings, environ=_jwt_env(sandbox, key_file))
    stages = connector.fetch_stage_defs()
    assert [s.name for s in stages] == ["Prospecting", "Engaging", "Won", "Lost"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("key", "upload its certificate to the app"),
        ("audience", "set crm.jwt_audience"),
        ("user", "pre-authorize the connected app"),
    ],
)
def test_a_refused_jwt_login_says_what_to_fix(
    sandbox: RunningSandbox, tmp_path: Path, change: str, says: str
) -> None:
    key = sandbox.credentials.sf_jwt_key if change != "key" else SigningKey.generate()
    env = _jwt_env(sandbox, key.write_private(tmp_path / "key.pem"))
    options: dict[str, Any] = {}
    if change == "audience":
        options["jwt_audience"] = "https://example.my.salesforce.com"
    if change == "user":
        env["PARTNER_KPI_SF_USERNAME"] = "someone.else@example.com"
    settings = _settings(
        auth_flow="jwt", login_url=sandbox.url, ca_bundle=str(sandbox.ca_bundle), **options
    )
    with pytest.raises(AuthError) as caught:
        SalesforceConnector(settings, environ=env).fetch_stage_defs()
    message = str(caught.value)
    assert says in message and "\n" not in message
    assert "PRIVATE KEY" not in message


def test_refused_credentials_are_an_auth_error_without_the_secret(
    sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {**sandbox_env(sandbox), "PARTNER_KPI_SF_PASSWORD": "not-the-Passw0rd"}
    settings = _settings(login_url=sandbox.url, ca_bundle=str(sandbox.ca_bundle))
    connector = SalesforceConnector(settings, environ=env)
    with pytest.raises(AuthError) as caught:
        records_of(connector.fetch_partners())
    message = str(caught.value)
    assert "invalid_grant" in message and "PARTNER_KPI_SF_PASSWORD" in message
    for secret in (
        "not-the-Passw0rd",
        env["PARTNER_KPI_SF_CLIENT_SECRET"],
        env["PARTNER_KPI_SF_SECURITY_TOKEN"],
    ):
        assert secret not in message
        assert all(secret not in record.getMessage() for record in caplog.records)
    # the check command ends on the refusal too, as an auth error (exit 3) like a sync
    with pytest.raises(AuthError, match="refused the password login"):
        connector.check()


def test_an_untrusted_certificate_points_at_the_ca_bundle(sandbox: RunningSandbox) -> None:
    settings = _settings(login_url=sandbox.url, max_attempts=2, backoff_initial_seconds=0.0)
    connector = SalesforceConnector(settings, environ=sandbox_env(sandbox))
    with pytest.raises(ConfigError) as caught:
        connector.fetch_stage_defs()
    assert caught.value.key == "crm.ca_bundle"

"""The sandbox's JWT bearer check: what Salesforce accepts and how it refuses the rest."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from sandbox.salesforce.jwt_grant import GrantRefused, SigningKey, check_assertion

SERVER = "https://127.0.0.1:8443"
CLIENT_ID = "3MVG9-app"
USER = "sandbox@partner-kpi.local"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def _assertion(key: SigningKey, **claims: Any) -> str:
    body = {"iss": CLIENT_ID, "sub": USER, "aud": SERVER, "exp": int(time.time()) + 180}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key.private_pem, "RS256")


def _check(key: SigningKey, assertion: str) -> GrantRefused | None:
    return check_assertion(
        assertion, public_pem=key.public_pem, client_id=CLIENT_ID, username=USER, server_url=SERVER
    )


def test_a_good_assertion_is_accepted(key: SigningKey) -> None:
    assert _check(key, _assertion(key)) is None
    # Salesforce's own login servers are audiences too (the connector's default)
    assert _check(key, _assertion(key, aud="https://test.salesforce.com")) is None


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"aud": "https://example.com"}, "invalid_grant", "audience is invalid"),
        ({"sub": "other@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"exp": None}, "invalid_grant", "invalid assertion"),
    ],
)
def test_refusals_name_salesforces_errors(
    key: SigningKey, claims: dict[str, Any], error: str, description: str
) -> None:
    assert _check(key, _assertion(key, **claims)) == GrantRefused(error, description)


def test_a_key_the_app_does_not_hold_is_refused(key: SigningKey) -> None:
    stranger = SigningKey.generate()
    assert _check(key, _assertion(stranger)) == GrantRefused("invalid_grant", "invalid assertion")
    assert _check(key, "not.a.jwt") == GrantRefused("invalid_grant", "invalid assertion")


def test_the_private_key_file_is_owner_only(key: SigningKey, tmp_path: Path) -> None:
    path = key.write_private(tmp_path / "key.pem")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_bytes() == key.private_pem

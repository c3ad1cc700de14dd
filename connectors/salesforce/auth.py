"""The OAuth 2.0 token exchange with a Salesforce org or the sandbox, made here, not by the client.

simple-salesforce's own login builds ``https://{domain}.salesforce.com`` and so cannot
reach a My Domain on another host, a proxy or the local sandbox; the exchange is a
single form POST to ``{login_url}/services/oauth2/token``, made here with the
connector's own session (and its CA bundle). Four grants:

- ``password``: username, password + security token, and the connected app's id and secret;
- ``client_credentials``: the connected app's id and secret (its "run as" user);
- ``refresh_token``: a refresh token (the secret is sent when its variable is set);
- ``jwt``: an RS256 assertion signed with the private key the connected app trusts.

Secrets come only from the environment variables the settings name; they live in
the form (``repr`` hidden) and never enter a log line or an exception message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

from connectors.salesforce.settings import SalesforceSettings
from core.errors import AuthError, ConfigError

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180
#: Token endpoint answers that mean "these credentials are wrong", not "try again".
OAUTH_REFUSALS = frozenset(
    {"invalid_grant", "invalid_client", "invalid_client_id", "invalid_client_credentials",
     "unsupported_grant_type", "invalid_request", "inactive_user", "inactive_org"}
)  # fmt: skip


@dataclass(frozen=True)
class Token:
    """An access token and the instance it is good for."""

    access_token: str = field(repr=False)
    instance_url: str
    issued_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Credentials:
    """The secrets of one grant, read from the environment; printing it shows no secret."""

    flow: str
    values: Mapping[str, str] = field(repr=False)
    #: which config key and environment variable each secret came from, for messages
    sources: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def _secret(
    settings: SalesforceSettings,
    environ: Mapping[str, str],
    key: str,
    *,
    allow_empty: bool = False,
) -> tuple[str, tuple[str, str]]:
    """The value of the variable that ``crm.<key>`` names; ConfigError naming both if unset."""
    variable = str(getattr(settings, key))
    value = environ.get(variable)
    if value is None or (not value and not allow_empty):
        raise ConfigError(
            f"crm.{key}",
            f"environment variable {variable} is not set; export it "
            f"(auth_flow {settings.auth_flow} needs it) or point crm.{key} at another variable",
        )
    return value, (f"crm.{key}", variable)


def read_credentials(
    settings: SalesforceSettings, environ: Mapping[str, str] | None = None
) -> Credentials:
    """The secrets ``settings.auth_flow`` needs, from the environment (ConfigError if missing)."""
    env = os.environ if environ is None else environ
    wanted: dict[str, tuple[str, bool]] = {"client_id": ("client_id_env", False)}
    if settings.auth_flow == "password":
        wanted |= {
            "client_secret": ("client_secret_env", False),
            "username": ("username_env", False),
            "password": ("password_env", False),
            # empty when the org trusts the caller's IP range
            "security_token": ("security_token_env", True),
        }
    elif settings.auth_flow == "client_credentials":
        wanted |= {"client_secret": ("client_secret_env", False)}
    elif settings.auth_flow == "refresh_token":
        wanted |= {"refresh_token": ("refresh_token_env", False)}
    else:
        wanted |= {
            "username": ("username_env", False),
            "private_key_file": ("private_key_file_env", False),
        }
    values: dict[str, str] = {}
    sources: dict[str, tuple[str, str]] = {}
    for name, (key, allow_empty) in wanted.items():
        values[name], sources[name] = _secret(settings, env, key, allow_empty=allow_empty)
    if settings.auth_flow == "refresh_token" and env.get(settings.client_secret_env):
        values["client_secret"] = env[settings.client_secret_env]
    return Credentials(flow=settings.auth_flow, values=values, sources=sources)


def jwt_assertion(
    settings: SalesforceSettings, credentials: Credentials, now: float | None = None
) -> str:
    """The signed JWT bearer assertion: issuer the connected app, subject the user."""
    key_path = Path(credentials.values["private_key_file"])
    try:
        private_key = key_path.read_text(encoding="utf-8")
    except OSError:
        variable = credentials.sources["private_key_file"][1]
        raise ConfigError(
            "crm.private_key_file_env",
            f"cannot read the private key file named by {variable}; check the path",
        ) from None
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": credentials.values["client_id"],
        "sub": credentials.values["username"],
        "aud": settings.jwt_audience or settings.login_url,
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


def token_form(settings: SalesforceSettings, credentials: Credentials) -> dict[str, str]:
    """The token request's form fields for the configured grant."""
    values = credentials.values
    if credentials.flow == "password":
        return {
            "grant_type": "password",
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
            "username": values["username"],
            "password": values["password"] + values["security_token"],
        }
    if credentials.flow == "client_credentials":
        return {
            "grant_type": "client_credentials",
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
        }
    if credentials.flow == "refresh_token":
        form = {
            "grant_type": "refresh_token",
            "client_id": values["client_id"],
            "refresh_token": values["refresh_token"],
        }
        if "client_secret" in values:
            form["client_secret"] = values["client_secret"]
        return form
    return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings, credentials)}


def _refusal_fix(credentials: Credentials, code: str, description: str) -> str:
    """What to do about a refused login, for the refusals that have one known cause."""
    variables = ", ".join(variable for _, variable in credentials.sources.values())
    said = description.casefold()
    if credentials.flow == "refresh_token" and code == "invalid_grant" and "expired" in said:
        variable = credentials.sources["refresh_token"][1]
        return (
            "the refresh token was revoked or has expired: authorize the connected app "
            f"again and put the new refresh token in {variable}"
        )
    if credentials.flow == "jwt" and "audience" in said:
        return (
            "set crm.jwt_audience to the login server the org trusts "
            "(https://login.salesforce.com, or https://test.salesforce.com for a sandbox org)"
        )
    if credentials.flow == "jwt" and "approved this consumer" in said:
        return (
            "pre-authorize the connected app for the user named in "
            f"{credentials.sources['username'][1]} (Permitted Users: admin approved) or "
            "approve it once as that user"
        )
    if credentials.flow == "jwt" and "assertion" in said:
        return (
            "the connected app does not hold the certificate of the key in "
            f"{credentials.sources['private_key_file'][1]}; upload its certificate to the app"
        )
    return f"check the values of {variables}"


def _oauth_error(response: requests.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", ""
    if isinstance(body, dict):
        return str(body.get("error") or f"HTTP_{response.status_code}"), str(
            body.get("error_description") or ""
        )
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or ""), str(body[0].get("message") or "")
    return f"HTTP_{response.status_code}", ""


def _not_a_login_server(settings: SalesforceSettings, answer: str) -> ConfigError:
    """A server answered the token request, but not as a Salesforce login server does."""
    return ConfigError(
        "crm.login_url",
        f"{settings.login_url}{TOKEN_PATH} {answer}: that is not a Salesforce login server; "
        "use https://login.salesforce.com, https://test.salesforce.com (a sandbox org) or the "
        "org's My Domain URL",
    )


def request_token(
    session: requests.Session, settings: SalesforceSettings, credentials: Credentials
) -> Token:
    """One token request. AuthError when the org refuses the credentials; an
    ``requests.HTTPError`` for anything else (a 503, a rate limit) so the caller's
    retry policy can judge it."""
    response = session.post(
        settings.login_url + TOKEN_PATH,
        data=token_form(settings, credentials),
        headers={"Accept": "application/json"},
    )
    if response.status_code == 200:
        try:
            body = response.json()
            return Token(
                access_token=str(body["access_token"]), instance_url=str(body["instance_url"])
            )
        except (ValueError, TypeError, KeyError):
            raise _not_a_login_server(settings, "answered 200 without a token") from None
    if response.status_code in (404, 405):
        raise _not_a_login_server(settings, f"answered HTTP {response.status_code}")
    code, description = _oauth_error(response)
    if code in OAUTH_REFUSALS or response.status_code == 401:
        raise AuthError(
            f"Salesforce refused the {credentials.flow} login at {settings.login_url} "
            f"({code}: {description or 'no description'}); "
            + _refusal_fix(credentials, code, description)
        )
    raise requests.HTTPError(
        f"token endpoint answered {response.status_code} {code}", response=response
    )

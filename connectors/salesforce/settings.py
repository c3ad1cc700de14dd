"""How to reach a Salesforce org: the ``crm:`` config section when ``type: salesforce``.

Secrets are never in the file: each secret key names the environment variable
that holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_API_VERSION = "60.0"


class SalesforceSettings(BaseModel):
    """Connection and authentication for one Salesforce org."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["salesforce"]
    login_url: str = Field(
        default="https://login.salesforce.com",
        description="OAuth host: login or test.salesforce.com, a My Domain, or the sandbox",
    )
    api_version: str = DEFAULT_API_VERSION
    auth_flow: Literal["password", "client_credentials", "refresh_token", "jwt"] = "password"
    client_id_env: str = "PARTNER_KPI_SF_CLIENT_ID"
    client_secret_env: str = "PARTNER_KPI_SF_CLIENT_SECRET"
    username_env: str = "PARTNER_KPI_SF_USERNAME"
    password_env: str = "PARTNER_KPI_SF_PASSWORD"
    security_token_env: str = "PARTNER_KPI_SF_SECURITY_TOKEN"
    refresh_token_env: str = "PARTNER_KPI_SF_REFRESH_TOKEN"
    private_key_file_env: str = "PARTNER_KPI_SF_PRIVATE_KEY_FILE"
    ca_bundle: Path | None = Field(
        default=None, description="PEM file of CAs to trust (the sandbox, a corporate proxy)"
    )

"""How to reach a HubSpot account: the ``crm:`` config section when ``type: hubspot``.

The private-app token is never in the file: ``access_token_env`` names the
environment variable that holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class HubSpotSettings(BaseModel):
    """Connection and authentication for one HubSpot account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["hubspot"]
    base_url: str = "https://api.hubapi.com"
    access_token_env: str = "PARTNER_KPI_HUBSPOT_TOKEN"
    ca_bundle: Path | None = Field(
        default=None, description="PEM file of CAs to trust (the sandbox, a corporate proxy)"
    )

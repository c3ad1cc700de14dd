"""HubSpot CRM v3/v4 endpoints (placeholder until the HubSpot emulation lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.http import Route

if TYPE_CHECKING:
    from sandbox.app import SandboxApp


def hubspot_routes(app: SandboxApp) -> list[Route]:
    """Every HubSpot route the sandbox serves."""
    return []

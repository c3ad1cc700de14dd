"""The HubSpot adapter, on hubspot-api-client (CRM API v3, associations v4).

Reads partner companies, deals, deal pipelines and deal stage history, and the
activity objects (leads, quotes, tickets, calls, line items), into the common schema,
and writes scores back to partner companies. API reference:
https://developers.hubspot.com/docs/api/crm/understanding-the-crm

    settings      the ``crm:`` section (``type: hubspot``): connection and read policy
    queries       object types, property names, request builders and the API's sizes
    wire          hubspot-api-client behind the shared skeleton (``connectors.wire``)
    client        one method per endpoint, through the wire, answering plain values
    paging        list pages and search keyset windows (no 10,000-result cap)
    deals         the deal reads: association batches with resume cursors
    associations  which associations make a company a deal's partner and its customer
    stages        stage metadata and each deal's stage visits
    mapping       HubSpot's JSON → plain values → Partner, Opportunity, StageDef, StageChange
    carry         the stage changes an opportunities read keeps for the stage-change read
    activity      the reads of the activity streams: objects, associations, history
    activity_mapping  those objects → Lead, Quote, Case, Call, LineItem
    writes        score values to partner companies, and reads of the values written
    provisioning  the score properties those writes need, and the token's scopes
    connector     ``HubSpotConnector``: the Connector protocol

This module holds only ``ADAPTER``, the description the app reads through
``connectors.registry``; the client library is imported when a connector is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.hubspot.queries import (
    ARCHIVE_RETENTION_DAYS,
    BATCH_SIZE,
    CRM,
    score_property_name,
)
from connectors.hubspot.settings import HubSpotSettings
from core.adapter import CrmAdapter, ScoringFields
from core.connector import Connector


def _connect(
    settings: HubSpotSettings, environ: Mapping[str, str], scoring: ScoringFields
) -> Connector:
    from connectors.hubspot.connector import HubSpotConnector

    return HubSpotConnector(settings, environ=environ, scoring=scoring)


def _sandbox_section(url: str, ca_bundle: Path) -> dict[str, Any]:
    return {"type": CRM, "base_url": url, "ca_bundle": str(ca_bundle)}


ADAPTER: CrmAdapter[HubSpotSettings] = CrmAdapter(
    name=CRM,
    settings_model=HubSpotSettings,
    connect=_connect,
    field_name=score_property_name,
    write_batch_size=BATCH_SIZE,
    library_loggers=("hubspot",),
    sandbox_section=_sandbox_section,
    deleted_visible_days=ARCHIVE_RETENTION_DAYS,
)

__all__ = ["ADAPTER"]

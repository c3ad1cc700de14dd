"""The Salesforce adapter: partners, opportunities, stages and stage history from an org,
and score writeback to partner Accounts, over simple-salesforce.

- ``connector``: ``SalesforceConnector``, the Connector protocol (reads and ``check``);
- ``wire``: simple-salesforce behind the shared skeleton (``connectors.wire``);
- ``auth``: the OAuth token exchange (password, client credentials, refresh token, JWT);
- ``paging``: REST query pages and Bulk API 2.0 query jobs;
- ``changes``: incremental reads of changed rows and OpportunityPartner attribution;
- ``mapping``: Salesforce records into the common schema;
- ``activity``, ``activity_queries``, ``activity_mapping``: leads, quotes, cases, calls
  and line items (who may read them, what is selected, rows into the schema);
- ``writes``: score values onto partner Accounts (sObject Collections);
- ``ingest``: Bulk API 2.0 update jobs for large writebacks;
- ``provisioning``: score fields on Account (``fields plan/create``);
- ``field_access``: read and edit on those fields through one permission set;
- ``queries``: objects, fields, SOQL builders and the API's sizes (constants);
- ``settings``: the ``crm:`` config section and the adapter's own ``writeback:`` keys.

This module holds only ``ADAPTER``, the description the app reads through
``connectors.registry``; the client library is imported when a connector is made.

API docs: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.salesforce.queries import (
    BULK_WRITE_JOB_SIZE,
    COLLECTION_SIZE,
    CRM,
    RECYCLE_BIN_DAYS,
    score_field_extra,
    score_field_name,
)
from connectors.salesforce.settings import SalesforceSettings, SalesforceWritebackSettings
from core.adapter import CrmAdapter, ScoringFields
from core.connector import Connector


def _connect(
    settings: SalesforceSettings, environ: Mapping[str, str], scoring: ScoringFields
) -> Connector:
    from connectors.salesforce.connector import SalesforceConnector

    return SalesforceConnector(settings, environ=environ, scoring=scoring)


def _sandbox_section(url: str, ca_bundle: Path) -> dict[str, Any]:
    return {"type": CRM, "login_url": url, "auth_flow": "password", "ca_bundle": str(ca_bundle)}


ADAPTER: CrmAdapter[SalesforceSettings] = CrmAdapter(
    name=CRM,
    settings_model=SalesforceSettings,
    connect=_connect,
    field_name=score_field_name,
    field_extra=score_field_extra,
    write_batch_size=COLLECTION_SIZE,
    bulk_write_threshold=lambda settings: settings.bulk_write_threshold,
    bulk_write_batch_size=BULK_WRITE_JOB_SIZE,
    writeback_settings_model=SalesforceWritebackSettings,
    library_loggers=("simple_salesforce",),
    sandbox_section=_sandbox_section,
    deleted_visible_days=RECYCLE_BIN_DAYS,
)

__all__ = ["ADAPTER"]

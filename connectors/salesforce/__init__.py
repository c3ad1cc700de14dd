"""The Salesforce adapter: partners, opportunities, stages and stage history from an org,
and score writeback to partner Accounts, over simple-salesforce.

- ``connector``: ``SalesforceConnector``, the public face (core.connector.Connector);
- ``writes``: score values onto partner Accounts (sObject Collections, Bulk API 2.0);
- ``provisioning``: score fields on Account and the integration user's access to them;
- ``client``: login, retries, the quota guard, REST and Bulk API 2.0 paging;
- ``auth``: the OAuth token exchange (password, client credentials, refresh token, JWT);
- ``queries``: objects, fields and SOQL builders (constants, nothing runs);
- ``mapping``: Salesforce records into the common schema;
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
    score_field_extra,
    score_field_name,
)
from connectors.salesforce.settings import SalesforceSettings, SalesforceWritebackSettings
from core.adapter import CrmAdapter
from core.connector import Connector


def _connect(settings: SalesforceSettings, environ: Mapping[str, str]) -> Connector:
    from connectors.salesforce.connector import SalesforceConnector

    return SalesforceConnector(settings, environ=environ)


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
)

__all__ = ["ADAPTER"]

"""Build the connector a config's ``crm:`` section asks for.

The one place in the app that knows which adapters exist; each adapter's
package is imported only when it is used.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.hubspot.settings import HubSpotSettings
from connectors.salesforce.settings import SalesforceSettings
from core.connector import Connector
from core.errors import ConfigError


def connector_for(
    settings: SalesforceSettings | HubSpotSettings | None, environ: Mapping[str, str]
) -> Connector:
    """The connector for the configured CRM; secrets are read from ``environ``."""
    if settings is None:
        raise ConfigError(
            "crm", "no CRM configured; add a crm: section (see config.example.yaml) or use --seed"
        )
    if isinstance(settings, SalesforceSettings):
        from connectors.salesforce import SalesforceConnector

        return SalesforceConnector(settings, environ=environ)
    from connectors.hubspot import HubSpotConnector

    return HubSpotConnector(settings, environ=environ)

"""The HubSpot adapter, on hubspot-api-client (CRM API v3, associations v4).

Reads partner companies, deals, deal pipelines and deal stage history into the
common schema, and writes scores back to partner companies (issue 5). API
reference: https://developers.hubspot.com/docs/api/crm/understanding-the-crm

    settings   the ``crm:`` section (``type: hubspot``): connection and read policy
    queries    object types, property names, request builders and the API's sizes
    paging     list pages and search keyset windows (no 10,000-result cap)
    client     the token, retries and quota guard; API models → plain values
    mapping    plain values → Partner, Opportunity, StageDef, StageChange
    carry      the stage changes an opportunities read keeps for the stage-change read
    writes     score values to partner companies, and reads of the values written
    provisioning  the score properties those writes need, and the token's scopes
    connector  ``HubSpotConnector``: the Connector protocol
"""

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings

__all__ = ["HubSpotConnector", "HubSpotSettings"]

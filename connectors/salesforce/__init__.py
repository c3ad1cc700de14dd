"""The Salesforce adapter: partners, opportunities, stages and stage history from an org,
and score writeback to partner Accounts, over simple-salesforce.

- ``connector``: ``SalesforceConnector``, the public face (core.connector.Connector);
- ``writes``: score values onto partner Accounts (sObject Collections, Bulk API 2.0);
- ``provisioning``: score fields on Account and the integration user's access to them;
- ``client``: login, retries, the quota guard, REST and Bulk API 2.0 paging;
- ``auth``: the OAuth token exchange (password, client credentials, refresh token, JWT);
- ``queries``: objects, fields and SOQL builders (constants, nothing runs);
- ``mapping``: Salesforce records into the common schema;
- ``settings``: the ``crm:`` config section.

API docs: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
"""

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["SalesforceConnector", "SalesforceSettings"]

"""The HubSpot adapter (hubspot-api-client): settings today, the connector in issue 4."""

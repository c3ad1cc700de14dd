"""The sandbox CRM: a local HTTPS Salesforce + HubSpot for trying partner-kpi and for tests."""

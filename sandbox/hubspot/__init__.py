"""The sandbox's HubSpot CRM v3/v4 emulation."""

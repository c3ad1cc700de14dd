"""The sandbox's Salesforce REST emulation."""

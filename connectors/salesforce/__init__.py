"""The Salesforce adapter (simple-salesforce): settings today, the connector in issue 4."""

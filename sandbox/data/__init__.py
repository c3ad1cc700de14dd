"""The dataset the sandbox serves by default: the Maven CRM data set (see PROVENANCE.md)."""

from pathlib import Path

BUNDLED_DATASET = Path(__file__).resolve().parent / "maven-crm"

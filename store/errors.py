"""Errors of the local store beyond ``StoreLocked`` (which lives in connectors.errors)."""

from __future__ import annotations

from connectors.errors import PartnerKpiError


class StoreError(PartnerKpiError):
    """The store file cannot be used as it is: the message names the file and the fix."""


class StoreVersionError(StoreError):
    """The store was written by a newer partner-kpi than the one running."""

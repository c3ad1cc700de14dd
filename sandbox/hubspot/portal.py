"""The sandbox's HubSpot portal (placeholder until the HubSpot emulation lands)."""

from __future__ import annotations

from connectors.seed import SeedDataset
from sandbox.store import SqlStore


class HubSpotPortal:
    """One HubSpot account's data and behaviour."""

    def __init__(self, store: SqlStore, dataset: SeedDataset) -> None:
        self.store = store
        self.id_map: dict[str, str] = {}

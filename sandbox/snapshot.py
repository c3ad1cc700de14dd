"""The sandbox as seeded, kept aside so that a reset puts it back in milliseconds.

The SQLite database is copied page by page with sqlite3's backup API, both ways (every
table, row, added column and rowid as it was); the org's and the portal's Python side
(schemas, id counters, id maps, property registry, pipeline) is deep-copied, sharing
the one store they both write to.
"""

from __future__ import annotations

import copy
import sqlite3

from sandbox.hubspot.portal import HubSpotPortal
from sandbox.salesforce.org import SalesforceOrg
from sandbox.store import SqlStore


class SeededState:
    """A copy of a freshly seeded org and portal; ``restore`` makes the store seeded again."""

    def __init__(self, store: SqlStore, salesforce: SalesforceOrg, hubspot: HubSpotPortal) -> None:
        self._store = store
        self._database = sqlite3.connect(":memory:", check_same_thread=False)
        with store.lock:
            store.db.backup(self._database)
        # copied now, so that the originals serve the start and copies only the resets
        self._objects = self._copy((salesforce, hubspot))

    def restore(self) -> tuple[SalesforceOrg, HubSpotPortal]:
        """The store's data as seeded, and an org and a portal as they were then."""
        with self._store.lock:
            self._database.backup(self._store.db)
            return self._copy(self._objects)

    def _copy(
        self, objects: tuple[SalesforceOrg, HubSpotPortal]
    ) -> tuple[SalesforceOrg, HubSpotPortal]:
        # the copies share the live store, not a copy of it
        return copy.deepcopy(objects, {id(self._store): self._store})

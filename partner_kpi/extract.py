"""The extract step of a run: bring the local store up to date from a CRM.

Each stream resumes from its stored cursor; every page is upserted and its
cursor saved before the next page is asked for, so a run that dies at any
point is completed by the next one with nothing lost and nothing duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from core.connector import Connector, Cursor, Page
from store import LocalStore

log = logging.getLogger("partner_kpi.extract")

OPPORTUNITIES = "opportunities"
STAGE_CHANGES = "stage_changes"

RecordT = TypeVar("RecordT")


@dataclass
class ExtractCounts:
    """What one extract read, per stream."""

    partners: int = 0
    opportunities: int = 0
    opportunities_deleted: int = 0
    stage_changes: int = 0
    stage_changes_deleted: int = 0
    stage_defs: int = 0
    pages: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "partners": self.partners,
            "opportunities": self.opportunities,
            "opportunities_deleted": self.opportunities_deleted,
            "stage_changes": self.stage_changes,
            "stage_changes_deleted": self.stage_changes_deleted,
            "stage_defs": self.stage_defs,
            "pages": dict(self.pages),
        }


def _drain(
    stream: str,
    pages: Iterator[Page[RecordT]],
    save: Callable[[Page[RecordT]], None],
    store: LocalStore,
    counts: ExtractCounts,
) -> tuple[int, int]:
    records = deleted = 0
    for page in pages:
        # a page and the cursor after it commit together: a crash re-reads at most a page
        with store.transaction():
            save(page)
            if page.cursor is not None:
                store.set_cursor(stream, page.cursor)
        records += len(page.records)
        deleted += len(page.deleted_ids)
        counts.pages[stream] = counts.pages.get(stream, 0) + 1
    return records, deleted


def extract_into_store(connector: Connector, store: LocalStore) -> ExtractCounts:
    """Read what changed in the CRM since the stored cursors into the store."""
    counts = ExtractCounts()
    stage_defs = connector.fetch_stage_defs()
    store.replace_stage_defs(stage_defs)
    counts.stage_defs = len(stage_defs)

    for page in connector.fetch_partners():
        store.upsert_partners(page.records, page.deleted_ids)
        counts.partners += len(page.records)
        counts.pages["partners"] = counts.pages.get("partners", 0) + 1

    since: Cursor | None = store.get_cursor(OPPORTUNITIES)
    counts.opportunities, counts.opportunities_deleted = _drain(
        OPPORTUNITIES,
        connector.fetch_opportunities(since),
        lambda page: store.upsert_opportunities(page.records, page.deleted_ids),
        store,
        counts,
    )
    since = store.get_cursor(STAGE_CHANGES)
    counts.stage_changes, counts.stage_changes_deleted = _drain(
        STAGE_CHANGES,
        connector.fetch_stage_changes(since),
        lambda page: store.upsert_stage_changes(page.records, page.deleted_ids),
        store,
        counts,
    )
    log.info("extracted", extra={"counts": counts.as_json()})
    return counts

"""The extract step of a run: bring the local store up to date from a CRM.

Each stream resumes from its stored cursor; every page is upserted and its
cursor saved before the next page is asked for, so a run that dies at any
point is completed by the next one with nothing lost and nothing duplicated.

Deletions the CRM has stopped listing are found by a reconciliation (``deletions``), the
same for opportunities and every activity stream (``_read_reconciled``): after a read with
no cursor (at no call), or after an incremental read when the stream's last complete read
began longer ago than the CRM's window (a listing of its live ids).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from core.connector import OPPORTUNITIES, Connector, Cursor, Page
from partner_kpi.deletions import Reconciliation, crm_now, machine_now, why_reconcile
from store import LocalStore

log = logging.getLogger("partner_kpi.extract")

PARTNERS = "partners"
STAGE_CHANGES = "stage_changes"

RecordT = TypeVar("RecordT")


@dataclass
class ExtractCounts:
    """What one extract read, per stream."""

    partners: int = 0
    #: stored partners the CRM no longer returns (deleted, purged, or no longer partners)
    partners_gone: int = 0
    opportunities: int = 0
    opportunities_deleted: int = 0
    stage_changes: int = 0
    stage_changes_deleted: int = 0
    stage_defs: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    #: per stream, the reconciliation made (why, records it marked deleted, calls it cost)
    reconciliations: dict[str, Reconciliation] = field(default_factory=dict)
    #: per activity stream read, the records and deletions read
    activity: dict[str, dict[str, int]] = field(default_factory=dict)
    #: per activity stream the CRM did not let us read, why (its KPIs are null)
    activity_unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def reconciled_deleted(self) -> int:
        """Records the reconciliations marked deleted (the CRM no longer lists them)."""
        return sum(len(r.marked) for r in self.reconciliations.values())

    def as_json(self) -> dict[str, object]:
        return {
            "partners": self.partners,
            "partners_gone": self.partners_gone,
            "opportunities": self.opportunities,
            "opportunities_deleted": self.opportunities_deleted,
            "stage_changes": self.stage_changes,
            "stage_changes_deleted": self.stage_changes_deleted,
            "stage_defs": self.stage_defs,
            "pages": dict(self.pages),
            "reconciled_deleted": self.reconciled_deleted,
            "reconciliations": {k: r.as_json() for k, r in self.reconciliations.items()},
            "activity": {k: dict(v) for k, v in self.activity.items()},
            "activity_unavailable": dict(self.activity_unavailable),
        }


def _drain(
    stream: str,
    pages: Iterator[Page[RecordT]],
    save: Callable[[Page[RecordT]], None],
    store: LocalStore,
    counts: ExtractCounts,
    full_read_began: datetime | None = None,
) -> tuple[int, int]:
    """Save every page and the cursor after it; ``full_read_began``: the pages are a full
    read begun then, which each saved cursor says until the read ends."""
    records = deleted = 0
    for page in pages:
        # a page and the cursor after it commit together: a crash re-reads at most a page
        with store.transaction():
            save(page)
            if page.cursor is not None:
                store.set_cursor(stream, page.cursor, full_read_began=full_read_began)
        records += len(page.records)
        deleted += len(page.deleted_ids)
        counts.pages[stream] = counts.pages.get(stream, 0) + 1
    return records, deleted


def extract_into_store(
    connector: Connector,
    store: LocalStore,
    *,
    deleted_visible_days: int | None = None,
    clock: Callable[[], datetime] = machine_now,
) -> ExtractCounts:
    """Read what changed in the CRM since the stored cursors into the store.

    ``deleted_visible_days`` is how long the CRM lists deleted records (None: for as
    long as it matters); ``clock`` stands in for the CRM's when it sent no ``Date``.
    """
    counts = ExtractCounts()
    deletions = _Deletions(deleted_visible_days, clock)
    stage_defs = connector.fetch_stage_defs()
    store.replace_stage_defs(stage_defs)
    counts.stage_defs = len(stage_defs)

    # Partners are read whole every run, so the ids read are the live ones: a partner the
    # CRM no longer returns (deleted and purged, or no longer a partner) leaves the store's
    # live partners at no extra call. Nothing is marked if the read fails part-way.
    partner_ids: list[list[str]] = []
    for page in connector.fetch_partners():
        store.upsert_partners(page.records, page.deleted_ids)
        partner_ids.append([partner.id for partner in page.records])
        counts.partners += len(page.records)
        counts.pages["partners"] = counts.pages.get("partners", 0) + 1
    counts.partners_gone = len(store.mark_missing_deleted(PARTNERS, partner_ids))

    counts.opportunities, counts.opportunities_deleted = _read_reconciled(
        OPPORTUNITIES,
        connector.fetch_opportunities,
        lambda page: store.upsert_opportunities(page.records, page.deleted_ids),
        connector,
        store,
        counts,
        deletions,
    )

    since = store.get_cursor(STAGE_CHANGES)
    counts.stage_changes, counts.stage_changes_deleted = _drain(
        STAGE_CHANGES,
        connector.fetch_stage_changes(since),
        lambda page: store.upsert_stage_changes(page.records, page.deleted_ids),
        store,
        counts,
    )
    _extract_activity(connector, store, counts, deletions)
    log.info("extracted", extra={"counts": counts.as_json()})
    return counts


def unreadable(stream: str, reason: str) -> str:
    """Why an activity stream is not read, and the KPIs that are null for want of it: the
    words of ``check``'s warning and of a sync's log line."""
    from kpi_engine import KPIS  # the catalogue needs Polars: loaded only when asked

    return f"{reason}; null without it: {', '.join(KPIS.needing(stream)) or 'none'}"


def _extract_activity(
    connector: Connector, store: LocalStore, counts: ExtractCounts, deletions: _Deletions
) -> None:
    """Read each activity stream the CRM lets us read from its cursor, reconciled as
    opportunities are; a stream it does not is recorded as such (its KPIs are then null,
    not 0) and skipped, never a failure, and never reconciled."""
    access = connector.activity_access()
    store.record_activity_access(access)
    for stream, reason in access.items():
        if reason is not None:
            counts.activity_unavailable[stream] = reason
            log.info("not read: %s: %s", stream, unreadable(stream, reason))
            continue

        def save(page: Page[Any], stream: str = stream) -> None:
            store.upsert_activity(stream, page.records, page.deleted_ids)

        read, deleted = _read_reconciled(
            stream, partial(connector.fetch_activity, stream), save, connector, store, counts,
            deletions,
        )  # fmt: skip
        counts.activity[stream] = {"records": read, "deleted": deleted}


@dataclass(frozen=True)
class _Deletions:
    """How long the CRM lists deleted records (None: for as long as it matters), and the
    clock that stands in for the CRM's when it sent no ``Date``."""

    visible_days: int | None
    clock: Callable[[], datetime]


def _read_reconciled(
    stream: str,
    fetch: Callable[[Cursor | None], Iterator[Page[Any]]],
    save: Callable[[Page[Any]], None],
    connector: Connector,
    store: LocalStore,
    counts: ExtractCounts,
    deletions: _Deletions,
) -> tuple[int, int]:
    """Read ``stream`` from its stored cursor into the store, reconcile it when
    ``why_reconcile`` says so, and record the read complete; the records and deletions read.

    A read with no cursor hands the ids it read to the reconciliation, at no call.
    """
    since = store.get_cursor(stream)
    began = crm_now(connector, deletions.clock)
    # when the full read this one continues began: HubSpot's cursor holds it (a listing in
    # id order); a read in modification order (Salesforce's) continues as an incremental
    # one, and the store remembers that it is the rest of a full read
    resumed = since.modified_at if since is not None and since.in_full_read else None
    resumed = resumed or store.full_read_began(stream)
    reason = why_reconcile(
        since, store.read_through(stream), began, deletions.visible_days, resuming=resumed
    )
    listed: set[str] | None = set() if since is None else None

    def save_listed(page: Page[Any]) -> None:
        save(page)
        if listed is not None:
            listed.update(record.id for record in page.records)

    full_read_began = began if since is None else resumed
    read = _drain(stream, fetch(since), save_listed, store, counts, full_read_began)
    if reason is not None:
        counts.reconciliations[stream] = _reconcile(connector, store, stream, reason, listed)
    # a full read spread over runs is complete as of the moment its first part began
    store.set_read_through(stream, full_read_began or began)
    return read


def _reconcile(
    connector: Connector, store: LocalStore, stream: str, reason: str, listed: set[str] | None
) -> Reconciliation:
    """Mark deleted the stored records of ``stream`` the CRM no longer holds: those not
    among ``listed`` (the ids a read with no cursor read), else not among its live ids.

    Not stage changes: those of a deleted opportunity leave every KPI with it (the store
    joins them to live opportunities); partners are read whole.
    """
    calls_before = connector.usage().calls_made
    live = [list(listed)] if listed is not None else connector.fetch_live_ids(stream)
    marked = store.mark_missing_deleted(stream, live)
    done = Reconciliation(reason, tuple(marked), connector.usage().calls_made - calls_before)
    if marked or listed is None:
        log.info(
            "reconciled %s: %d marked deleted (%s; %d calls)",
            stream, len(marked), reason, done.calls,
            extra={"reconciliation": {stream: done.as_json()}},
        )  # fmt: skip
    return done

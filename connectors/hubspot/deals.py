"""How the connector reads deals: in association batches with resume cursors, their
partner and customer companies, and their stage visits.

Both streams read deals the same way (``fetch_opportunities`` and, without a carry,
``fetch_stage_changes``), so the listing or search, the batches and their cursors,
and the choice of how stage history is read are written once here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from connectors.hubspot.carry import Visit
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import (
    AssociatedCompany,
    HsRecord,
    StageCatalog,
    moment_of,
    ms_of,
)
from connectors.hubspot.paging import ModifiedSinceSearch, list_pages, listed_pages
from connectors.hubspot.queries import (
    ASSOCIATION_BATCH_SIZE,
    DEAL_STAGE,
    DEALS,
    HISTORY_PAGE_SIZE,
    ID,
    LIST_PAGE_SIZE,
    MAX_QUERY_STRING_CHARS,
    MODIFIED,
    PIPELINE,
    SEARCH_MAX_BODY_CHARS,
    SEARCH_PAGE_SIZE,
    body_chars,
    condition,
    query_string_chars,
    search_body,
)
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.stages import visits_from_history, visits_from_stage_dates
from connectors.hubspot.wire import raise_unexpected
from core.connector import Cursor

logger = logging.getLogger(__name__)

#: Search bodies are kept this far under HubSpot's limit (filters and paging vary).
BODY_MARGIN = 200


@dataclass(frozen=True)
class Window:
    """Which deals a read covers: those modified at or after ``start_ms`` (a search), or
    all of them (``start_ms`` None: a full read, a listing in id order).

    A full read continued from an earlier run's saved position has ``after`` (where its
    listing stands) and ``began`` (the server's clock when the full read's first part began).
    """

    start_ms: int | None
    after: str | None = None
    began: datetime | None = None

    @property
    def resumed(self) -> bool:
        """Whether this continues a full read that an earlier run stopped mid-listing."""
        return self.after is not None


@dataclass(frozen=True)
class DealBatch:
    """Up to one association batch of deals, and the cursor to resume from after it."""

    deals: list[HsRecord]
    cursor: Cursor | None


class DealReader:
    """Deal reads of one connector: its client, settings and stage catalog.

    The listing, search windows, batches and cursors serve any object type: the activity
    reads (``activity``) make one with their ``object_type`` and the property whose history
    a full read lists with the records (``history_property``).
    """

    def __init__(
        self,
        client: HubSpotClient,
        settings: HubSpotSettings,
        catalog: Callable[[], StageCatalog],
        *,
        object_type: str = DEALS,
        history_property: str = DEAL_STAGE,
        modified_property: str = MODIFIED,
    ) -> None:
        self.client = client
        self.settings = settings
        self._catalog = catalog
        self.object_type = object_type
        self.history_property = history_property
        self.modified_property = modified_property
        #: batch reads of dealstage history made (the deals whose stage dates were not enough)
        self.history_reads = 0

    def window(self, since: Cursor | None) -> Window:
        """The deals a read from ``since`` covers: from the overlap before it, all of them
        (None), or the rest of a full read in progress."""
        if since is None:
            return Window(None)
        if since.in_full_read:
            return Window(None, after=since.full_read_after, began=since.modified_at)
        return Window(ms_of(since.modified_at) - self.settings.overlap_seconds * 1000)

    def plan(
        self, start: int | None, properties_for: Callable[[Sequence[str]], list[str]]
    ) -> tuple[list[str], list[str], bool]:
        """How a deal read gets stage history: (properties, stage ids whose dates it reads,
        whether a full read lists each deal's dealstage history with it).

        ``stage_dates`` (the default) asks for every stage's entered/exited dates,
        when the request stays short enough. Otherwise a full read lists deals with
        their history, 50 a page, and an incremental read batch-reads the history
        of the deals it finds, 50 a call.
        """
        if self.settings.stage_history == "stage_dates":
            stage_ids = sorted(self._catalog().by_id)
            properties = properties_for(stage_ids)
            if self._fits(properties, full=start is None):
                return properties, stage_ids, False
        return properties_for([]), [], start is None

    def _fits(self, properties: Sequence[str], *, full: bool) -> bool:
        """Whether a read can ask for these properties (URL or search-body length)."""
        if full:
            fits = query_string_chars(properties) <= MAX_QUERY_STRING_CHARS
        else:
            widest = search_body(
                [condition(MODIFIED, "EQ", 10**13), condition(ID, "GT", 10**20)],
                ID,
                properties,
                SEARCH_PAGE_SIZE,
            )
            fits = body_chars(widest) <= SEARCH_MAX_BODY_CHARS - BODY_MARGIN
        if not fits:
            logger.info(
                "hubspot: %d stage-date properties make the request too long; stage history "
                "comes from propertiesWithHistory instead",
                len(properties),
            )
        return fits

    def archived(self, start: int | None) -> list[str]:
        """Ids of deals archived at or after ``start`` (all archived ones when None)."""
        probe = PIPELINE if self.object_type == DEALS else ID
        fetch = partial(
            self.client.list_page,
            self.object_type,
            limit=LIST_PAGE_SIZE,
            properties=[probe],
            archived=True,
        )
        return [
            r.id
            for records in list_pages(fetch)
            for r in records
            if start is None or r.archived_at_ms is None or r.archived_at_ms >= start
        ]

    def batches(
        self,
        window: Window,
        properties: Sequence[str],
        now: datetime | None,
        with_history: bool = False,
        calls_per_batch: int = 0,
    ) -> Iterator[DealBatch]:
        """Deals in batches of the association batch size, each with its resume cursor;
        ``now`` is the server's clock as the read begins.

        An incremental read (search, oldest first) has a cursor after every batch; a full
        read, see ``_listed``. A batch ends early when the daily quota would stop the run
        before another page and the ``calls_per_batch`` its reader makes (the association
        read): the pages read are saved, not read again by the next run.
        """
        if window.start_ms is None:
            yield from self._listed(window, properties, now, with_history, calls_per_batch)
            return
        cap_ms = ms_of(now) if now is not None else None
        search = ModifiedSinceSearch(
            partial(self.client.search, self.object_type),
            key=lambda record: record.key,
            properties=properties,
            modified=self.modified_property,
        )
        buffer: list[HsRecord] = []
        for records in newest_only(search.pages(window.start_ms)):
            buffer += records
            while len(buffer) >= ASSOCIATION_BATCH_SIZE:
                chunk, buffer = buffer[:ASSOCIATION_BATCH_SIZE], buffer[ASSOCIATION_BATCH_SIZE:]
                yield DealBatch(chunk, cursor_after(chunk[-1].key, cap_ms))
            if buffer and self._quota_ends(calls_per_batch):
                chunk, buffer = buffer, []
                yield DealBatch(chunk, cursor_after(chunk[-1].key, cap_ms))
        if buffer:
            yield DealBatch(buffer, cursor_after(buffer[-1].key, cap_ms))

    def _quota_ends(self, calls_per_batch: int) -> bool:
        """Whether the quota guard would stop the run before one more page and a batch."""
        left = self.client.calls_left()
        return left is not None and left <= calls_per_batch

    def _listed(
        self,
        window: Window,
        properties: Sequence[str],
        now: datetime | None,
        with_history: bool,
        calls_per_batch: int,
    ) -> Iterator[DealBatch]:
        """A full read: the listing (id order) from ``window.after``, in batches.

        Each batch but the last saves where the listing stands (the ``after`` of the page
        holding the next deal) with the moment the full read began, so a run stopped by
        the quota is continued by the next. The last batch has the normal cursor: the
        newest change seen, capped at that moment; for a full read in several parts, that
        moment itself (what changed after it, in parts already read, is read again).
        """
        began = window.began if window.resumed else now
        cap_ms = ms_of(began) if began is not None else None
        pages = listed_pages(
            partial(
                self.client.list_page,
                self.object_type,
                limit=HISTORY_PAGE_SIZE if with_history else LIST_PAGE_SIZE,
                properties=properties,
                properties_with_history=[self.history_property] if with_history else [],
            ),
            window.after,
            on_stale=lambda exc: logger.warning(
                "hubspot: the saved position of the full read in progress was refused (%s); "
                "the listing starts over from its first deal",
                exc,
            ),
        )
        buffer: list[tuple[HsRecord, str | None]] = []  # each deal with its page's ``after``
        newest: tuple[int, str] | None = None
        for page in pages:
            buffer += [(record, page.after) for record in page.records]
            for record in page.records:
                if newest is None or record.key > newest:
                    newest = record.key
            while len(buffer) >= ASSOCIATION_BATCH_SIZE:
                chunk, buffer = buffer[:ASSOCIATION_BATCH_SIZE], buffer[ASSOCIATION_BATCH_SIZE:]
                # the rest of a page is read again from that page: a deal twice, never none
                position = buffer[0][1] if buffer else page.next_after
                yield DealBatch([deal for deal, _ in chunk], in_full_read(position, cap_ms))
            if buffer and page.next_after is not None and self._quota_ends(calls_per_batch):
                chunk, buffer = buffer, []
                yield DealBatch([deal for deal, _ in chunk], in_full_read(page.next_after, cap_ms))
        if window.resumed or newest is None:
            last = None if cap_ms is None else (cap_ms, "")
        else:
            last = newest
        deals = [deal for deal, _ in buffer]
        yield DealBatch(deals, None if last is None else cursor_after(last, cap_ms))

    def companies_of(self, deal_ids: Sequence[str]) -> dict[str, list[AssociatedCompany]]:
        """Each deal's associated companies, in v4 batch reads of up to 1,000 deals."""
        found: dict[str, list[AssociatedCompany]] = {}
        pending: list[tuple[str, str | None]] = [(deal_id, None) for deal_id in deal_ids]
        while pending:
            batch, pending = pending[:ASSOCIATION_BATCH_SIZE], pending[ASSOCIATION_BATCH_SIZE:]
            pages, errors = self.client.associated_companies(batch)
            for page in pages:
                found.setdefault(page.from_id, []).extend(page.companies)
                if page.next_after:
                    pending.append((page.from_id, page.next_after))
            raise_unexpected(errors, expected="OBJECT_NOT_FOUND")
        return found

    def visits(self, deals: Sequence[HsRecord], stage_ids: Sequence[str]) -> dict[str, list[Visit]]:
        """Each deal's stage visits: from the history it was read with, from its stage dates
        when they prove complete, else from its dealstage history read in batches of 50
        (the API's maximum with history)."""
        visits: dict[str, list[Visit]] = {}
        needed: list[str] = []
        for deal in deals:
            if DEAL_STAGE in deal.history:
                visits[deal.id] = visits_from_history(deal)
                continue
            derived = visits_from_stage_dates(deal, stage_ids) if stage_ids else None
            if derived is None:
                needed.append(deal.id)
            else:
                visits[deal.id] = derived
        for begin in range(0, len(needed), HISTORY_PAGE_SIZE):
            chunk = needed[begin : begin + HISTORY_PAGE_SIZE]
            self.history_reads += 1
            records, errors = self.client.batch_read(
                DEALS, chunk, properties=[DEAL_STAGE], properties_with_history=[DEAL_STAGE]
            )
            for record in records:
                visits[record.id] = visits_from_history(record)
            raise_unexpected(errors, expected="OBJECT_NOT_FOUND")  # archived since: skipped
        return {deal.id: visits[deal.id] for deal in deals if deal.id in visits}


def newest_only(pages: Iterator[list[HsRecord]]) -> Iterator[list[HsRecord]]:
    """Pages without a deal already given at the same or a later ``hs_lastmodifieddate``.

    A search window restarts at the last moment seen and a deal modified during the read
    comes again, so one read may meet a deal twice; only a newer version is passed on.
    """
    newest: dict[str, int] = {}
    for records in pages:
        fresh = []
        for record in records:
            modified, record_id = record.key
            if newest.get(record_id, modified - 1) < modified:
                newest[record_id] = modified
                fresh.append(record)
        if fresh:
            yield fresh


def in_full_read(position: str | None, began_ms: int | None) -> Cursor | None:
    """The cursor of a full read under way: its listing's position and when it began (None:
    at its first page or its end, or with no server clock seen; nothing to save)."""
    if position is None or began_ms is None:
        return None
    return Cursor(modified_at=moment_of(began_ms), full_read_after=position)


def cursor_after(key: tuple[int, str], cap_ms: int | None) -> Cursor:
    """The cursor after a record: its modification time and id, capped at the server clock
    when the read began (anything changed after that is read again next time)."""
    ms, record_id = key
    if cap_ms is not None and ms > cap_ms:
        return Cursor(modified_at=moment_of(cap_ms), record_id="")
    return Cursor(modified_at=moment_of(ms), record_id=record_id)

"""Paging, written once: list pages by ``after``, and search as a series of keyset windows.

HubSpot's search pages by offset (``after``) and refuses to page past its
10,000th result (HTTP 400). Offset paging has a second flaw: a record modified
while a read pages moves to the end of the order, every later record shifts
one place forward, and the record at the page boundary is skipped for good.

So every search page here is its own window: "the oldest records modified at
or after the last timestamp seen", asked from offset 0, with the records
already seen at that timestamp dropped by id. A window never pages, so it
never reaches the cap and no shift can skip a record. If a whole page shares
one timestamp (more ties than a page holds), that timestamp is read on its
own, ordered by record id, and the read then continues strictly after it.

The records already seen at the window's first timestamp are also left out
by the server (``hs_object_id NOT_IN``, as many ids as the body has room for):
when an update touches a batch of records at one moment, a window that starts
inside that batch would otherwise spend most of its page on records it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.hubspot.queries import (
    CRM,
    ID,
    MODIFIED,
    SEARCH_MAX_BODY_CHARS,
    SEARCH_MAX_FILTERS_PER_GROUP,
    SEARCH_MAX_IN_VALUES,
    SEARCH_PAGE_SIZE,
    body_chars,
    condition,
    search_body,
)
from core.errors import CrmApiError

T = TypeVar("T")


@dataclass(frozen=True)
class SearchPage(Generic[T]):
    """One search answer: the page's records and how many match in all."""

    results: list[T]
    total: int


Search = Callable[[dict[str, Any]], SearchPage[T]]
ListPage = Callable[[str | None], tuple[list[T], str | None]]


@dataclass(frozen=True)
class ListedPage(Generic[T]):
    """One page of a listing: its records, the ``after`` it was asked with (None: the first
    page) and the ``after`` of the next page (None: the last)."""

    records: list[T]
    after: str | None
    next_after: str | None


def listed_pages(
    fetch: ListPage[T],
    after: str | None = None,
    on_stale: Callable[[CrmApiError], None] | None = None,
) -> Iterator[ListedPage[T]]:
    """Every page of a list endpoint from ``after`` on, with the positions a read resumes at:
    ``fetch(after)`` → (records, next after or None).

    With ``on_stale``, a saved ``after`` the API refuses (HTTP 400: HubSpot calls the token
    opaque and promises no lifetime) starts the listing over from its first page, after
    telling ``on_stale`` why.
    """
    resumed = after is not None and on_stale is not None
    while True:
        try:
            records, next_after = fetch(after)
        except CrmApiError as exc:
            if not (resumed and on_stale is not None and exc.http_status == 400):
                raise
            on_stale(exc)
            resumed, after = False, None
            continue
        resumed = False
        yield ListedPage(records, after, next_after)
        if next_after is None:
            return
        after = next_after


def list_pages(fetch: ListPage[T]) -> Iterator[list[T]]:
    """Every non-empty page of a list endpoint, from its first."""
    for page in listed_pages(fetch):
        if page.records:
            yield page.records


def _check_filters(filters: Sequence[dict[str, Any]], added: int) -> None:
    if len(filters) + added > SEARCH_MAX_FILTERS_PER_GROUP:
        raise ValueError(
            f"a search group holds at most {SEARCH_MAX_FILTERS_PER_GROUP} filters; "
            f"{len(filters)} given and {added} needed for paging"
        )


class ModifiedSinceSearch(Generic[T]):
    """Records modified at or after a moment, oldest first, page by page, without a cap.

    ``key(record)`` gives (modified ms, record id). Records modified during the
    read may come twice (once before, once after their change); none is lost.
    """

    def __init__(
        self,
        search: Search[T],
        *,
        key: Callable[[T], tuple[int, str]],
        properties: Sequence[str],
        filters: Sequence[dict[str, Any]] = (),
        page_size: int = SEARCH_PAGE_SIZE,
        max_body_chars: int = SEARCH_MAX_BODY_CHARS,
        modified: str = MODIFIED,
    ) -> None:
        """``modified``: the property the object stamps each change in (contacts:
        ``lastmodifieddate``; a search on their ``hs_lastmodifieddate`` finds nothing)."""
        _check_filters(filters, 3)
        self.modified = modified
        self.search = search
        self.max_body_chars = max_body_chars
        self.key = key
        self.properties = list(properties)
        self.filters = list(filters)
        self.page_size = page_size
        self.calls = 0

    def _ask(self, extra: Sequence[dict[str, Any]], sort: str, seen: set[str]) -> list[T]:
        """One search page; as many ``seen`` ids as fit are excluded by the server."""
        self.calls += 1
        body = search_body([*self.filters, *extra], sort, self.properties, self.page_size)
        excluded = sorted(seen)[:SEARCH_MAX_IN_VALUES]
        while excluded:
            not_in = {"propertyName": ID, "operator": "NOT_IN", "values": excluded}
            wider = search_body(
                [*self.filters, *extra, not_in], sort, self.properties, self.page_size
            )
            if body_chars(wider) <= self.max_body_chars:
                body = wider
                break
            excluded = excluded[: len(excluded) // 2]
        return self.search(body).results

    def pages(self, start_ms: int) -> Iterator[list[T]]:
        """The records modified at or after ``start_ms``, in pages of new records."""
        lower, strict = start_ms, False
        seen: set[str] = set()  # ids already given whose modification time is ``lower``
        while True:
            results = self._ask(
                [condition(self.modified, "GT" if strict else "GTE", lower)],
                self.modified,
                set() if strict else seen,
            )
            keys = [self.key(record) for record in results]
            fresh = [
                r
                for r, (ms, rid) in zip(results, keys, strict=True)
                if not (ms == lower and rid in seen)
            ]
            if fresh:
                yield fresh
            if len(results) < self.page_size:
                return
            last = keys[-1][0]
            if last < lower:
                raise CrmApiError(
                    "the search answered records older than its own filter; cannot page safely",
                    crm=CRM,
                    error_code="UNORDERED_SEARCH",
                )
            if last == lower:
                # a full page of one timestamp: read that timestamp by id, then go past it
                yield from self._ties(lower, seen | {rid for _, rid in keys})
                strict, seen = True, set()
                continue
            lower, strict = last, False
            seen = {rid for ms, rid in keys if ms == last}

    def _ties(self, moment: int, seen: set[str]) -> Iterator[list[T]]:
        """Every record modified exactly at ``moment``, by id (keyset on hs_object_id)."""
        after_id: str | None = None
        while True:
            extra = [condition(self.modified, "EQ", moment)]
            if after_id is not None:
                extra.append(condition(ID, "GT", after_id))
            results = self._ask(extra, ID, seen)
            fresh = [r for r in results if self.key(r)[1] not in seen]
            if fresh:
                yield fresh
            if len(results) < self.page_size:
                return
            after_id = self.key(results[-1])[1]


def id_keyset_pages(
    search: Search[T],
    *,
    id_of: Callable[[T], str],
    properties: Sequence[str],
    filters: Sequence[dict[str, Any]] = (),
    page_size: int = SEARCH_PAGE_SIZE,
) -> Iterator[list[T]]:
    """Every record matching ``filters``, in id order, each page a window after the last id."""
    _check_filters(filters, 1)
    after_id: str | None = None
    while True:
        extra = [condition(ID, "GT", after_id)] if after_id is not None else []
        body = search_body([*filters, *extra], ID, properties, page_size)
        results = search(body).results
        if results:
            yield results
        if len(results) < page_size:
            return
        after_id = id_of(results[-1])

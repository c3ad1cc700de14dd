"""A full read stopped by the daily quota is continued by the next run, not started over.

A full read lists deals in id order, so no modification time tells where it stands: each
batch saves the listing's position with the moment the full read began, and the next run
continues the listing from there. Against a private sandbox, with the real connector and
store, the daily quota (``daily_limit``) set anew between runs as a new day would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.deals import DealReader, Window
from connectors.hubspot.mapping import HsRecord, StageCatalog
from connectors.hubspot.queries import ASSOCIATION_BATCH_SIZE, LIST_PAGE_SIZE, MODIFIED
from connectors.hubspot.settings import HubSpotSettings
from core.connector import OPPORTUNITIES, Cursor
from core.errors import RateLimitExhausted
from partner_kpi.extract import STAGE_CHANGES, extract_into_store
from sandbox.server import RunningSandbox
from store.local import LocalStore
from tests.connectors.hubspot.conftest import connector_for, hubspot_calls, reset_stats
from tests.connectors.hubspot.test_incremental import update_deals
from tests.sandbox.conftest import control, set_faults
from tests.sandbox.test_hubspot_portal import write_seed

DEALS = 2_500
#: the quota's half, 21 calls, stops a first read in the listing of its second batch (3 calls
#: before the listing: the pipelines, the association labels, the archived deals; 11 a batch),
#: and is enough for the rest (3 calls, 9 pages, an association read)
DAILY_QUOTA = "daily_limit=42"
#: a sync also reads the activity streams, 12 calls even when the portal holds none of them
#: (the token's scopes, the Leads object's probe, each stream's archived listing and listing):
#: half of 48 still stops both deal streams mid-listing and leaves a day room for them
SYNC_DAILY_QUOTA = "daily_limit=48"
LIST_ROUTE = "hubspot GET /crm/v3/objects/<object_type>"
PAGES_PER_BATCH = ASSOCIATION_BATCH_SIZE // LIST_PAGE_SIZE
DAY_MS = 86_400_000


@pytest.fixture
def running(fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path) -> RunningSandbox:
    # own sandbox: three association batches of deals, far fewer than the bundled 8,800
    return fresh_sandbox(write_seed(tmp_path / "seed", DEALS, won=1_500))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore.open(tmp_path / "store.db", holder="test") as opened:
        yield opened


def read_opportunities(running: RunningSandbox, store: LocalStore) -> None:
    """The opportunities stream of a sync: every page upserted with the cursor after it."""
    since = store.get_cursor(OPPORTUNITIES)
    for page in connector_for(running).fetch_opportunities(since):
        with store.transaction():
            store.upsert_opportunities(page.records, page.deleted_ids)
            if page.cursor is not None:
                store.set_cursor(OPPORTUNITIES, page.cursor)


def list_calls(running: RunningSandbox) -> int:
    return hubspot_calls(running).get(LIST_ROUTE, 0)


def next_day(running: RunningSandbox, quota: str = DAILY_QUOTA) -> None:
    """Cron's next day: the portal's clock a day on, the daily quota anew."""
    control(running, "hubspot/clock", {"advance_ms": DAY_MS})
    set_faults(running, quota)


def test_a_full_read_stopped_by_the_quota_resumes_where_it_stopped(
    running: RunningSandbox, store: LocalStore, tmp_path: Path
) -> None:
    with LocalStore.open(tmp_path / "whole.db", holder="test") as whole:
        reset_stats(running)
        read_opportunities(running, whole)  # the same read, uninterrupted
        single = list_calls(running)
        reference = whole.opportunities_table().sort_by("id").to_pylist()
        finished = whole.get_cursor(OPPORTUNITIES)
    assert len(reference) == DEALS and finished is not None and not finished.in_full_read

    reset_stats(running)
    set_faults(running, DAILY_QUOTA)
    with pytest.raises(RateLimitExhausted, match="resumes from the last saved cursor"):
        read_opportunities(running, store)
    first = list_calls(running)
    saved = store.get_cursor(OPPORTUNITIES)
    stored = store.counts().opportunities
    # stopped in the listing of its second batch, which it ended early (the quota about to
    # stop it): every page it listed is saved, with the listing's position after it
    assert saved is not None and saved.in_full_read
    assert first - 1 > PAGES_PER_BATCH and stored == (first - 1) * LIST_PAGE_SIZE

    next_day(running)
    read_opportunities(running, store)
    both = list_calls(running)
    # each run lists the archived deals once; the rest are the deals' pages: those of a
    # single read, and at most one read again
    again = (both - 2) - (single - 1)
    assert 0 <= again <= 1, (single, first, both)
    done = store.get_cursor(OPPORTUNITIES)
    assert done is not None and not done.in_full_read
    assert done.modified_at == saved.modified_at  # the moment the first part began
    assert store.opportunities_table().sort_by("id").to_pylist() == reference


def test_a_deal_changed_during_an_interrupted_full_read_is_read_next_time(
    running: RunningSandbox, store: LocalStore
) -> None:
    set_faults(running, DAILY_QUOTA)
    with pytest.raises(RateLimitExhausted):
        read_opportunities(running, store)
    stored = {row["id"]: row for row in store.opportunities_table().to_pylist()}
    changed = min(stored)  # read in the first part: the listing has passed it
    before = stored[changed]["amount"]

    next_day(running)
    update_deals(running, {changed: {"amount": "98765.5"}})
    read_opportunities(running, store)  # the rest of the listing, not this deal again
    amounts = {row["id"]: row["amount"] for row in store.opportunities_table().to_pylist()}
    assert len(amounts) == DEALS and amounts[changed] == before

    next_day(running)
    read_opportunities(running, store)  # incremental, from when the full read began
    amounts = {row["id"]: row["amount"] for row in store.opportunities_table().to_pylist()}
    assert amounts[changed] == 98765.5 and len(amounts) == DEALS


def test_a_sync_stopped_twice_by_the_quota_ends_as_an_uninterrupted_one(
    running: RunningSandbox, store: LocalStore, tmp_path: Path
) -> None:
    """Both streams, as a sync extracts them: the stage changes' own full read resumes too."""
    with LocalStore.open(tmp_path / "whole.db", holder="test") as whole:
        extract_into_store(connector_for(running), whole)
        expected = tables(whole)

    set_faults(running, SYNC_DAILY_QUOTA)
    stopped_in: set[str] = set()  # the streams a day ended in, mid-listing
    days = 0
    while True:
        days += 1
        try:
            extract_into_store(connector_for(running), store)
        except RateLimitExhausted:
            assert days < 10, "the read does not advance"
            for stream in (OPPORTUNITIES, STAGE_CHANGES):
                cursor = store.get_cursor(stream)
                if cursor is not None and cursor.in_full_read:
                    stopped_in.add(stream)
            next_day(running, SYNC_DAILY_QUOTA)
            continue
        break
    assert stopped_in == {OPPORTUNITIES, STAGE_CHANGES}
    assert tables(store) == expected
    for stream in (OPPORTUNITIES, STAGE_CHANGES):
        cursor = store.get_cursor(stream)
        assert cursor is not None and not cursor.in_full_read


def tables(store: LocalStore) -> dict[str, list[dict[str, Any]]]:
    return {
        "partners": store.partners_table().sort_by("id").to_pylist(),
        "opportunities": store.opportunities_table().sort_by("id").to_pylist(),
        "stage_events": store.stage_events_table()
        .sort_by([("opportunity_id", "ascending"), ("sequence", "ascending")])
        .to_pylist(),
    }


class UnevenListing:
    """A deal listing whose pages (300) do not divide a batch (1,000): ``after`` is the
    first id of the next page, as the sandbox and HubSpot page a list."""

    def __init__(self, deals: int) -> None:
        self.ids = list(range(1, deals + 1))
        self.asked: list[str | None] = []

    def calls_left(self) -> int | None:
        return None  # no quota reported

    def list_page(
        self, object_type: str, after: str | None, **options: Any
    ) -> tuple[list[HsRecord], str | None]:
        self.asked.append(after)
        start = 0 if after is None else self.ids.index(int(after))
        page = self.ids[start : start + 300]
        rest = self.ids[start + 300 : start + 301]
        records = [HsRecord(id=str(i), properties={MODIFIED: str(1_000 + i)}) for i in page]
        return records, str(rest[0]) if rest else None


def no_catalog() -> StageCatalog:
    raise AssertionError("a listing needs no stages")


def test_a_batch_ending_mid_page_resumes_at_that_page() -> None:
    listing = UnevenListing(2_500)
    settings = HubSpotSettings(type="hubspot")
    reader = DealReader(cast(HubSpotClient, listing), settings, no_catalog)
    began = datetime(2026, 12, 4, tzinfo=UTC)
    first = next(iter(reader.batches(Window(None), [], began)))
    cursor = first.cursor
    assert cursor is not None and cursor.in_full_read and cursor.modified_at == began
    assert [d.id for d in first.deals] == [str(i) for i in range(1, 1_001)]
    assert cursor.full_read_after == "901"  # the page holding deal 1,001, read again

    rest = list(reader.batches(reader.window(cursor), [], datetime(2026, 12, 5, tzinfo=UTC)))
    read = [d.id for batch in [first, *rest] for d in batch.deals]
    assert set(read) == {str(i) for i in range(1, 2_501)}
    assert len(read) - 2_500 == 100  # deals 901 to 1,000, once more
    end = rest[-1].cursor
    assert end is not None and not end.in_full_read and end.modified_at == began


def test_a_saved_position_the_api_refuses_starts_the_listing_over(
    running: RunningSandbox, store: LocalStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """HubSpot calls ``after`` opaque: a position saved days ago may be refused (400). The
    read then lists from the first deal, and ends as an uninterrupted read does."""
    with LocalStore.open(tmp_path / "whole.db", holder="test") as whole:
        read_opportunities(running, whole)
        reference = whole.opportunities_table().sort_by("id").to_pylist()
    began = datetime(2024, 1, 1, tzinfo=UTC)
    store.set_cursor(OPPORTUNITIES, Cursor(began, full_read_after="a-token-that-expired"))

    read_opportunities(running, store)

    assert store.opportunities_table().sort_by("id").to_pylist() == reference
    done = store.get_cursor(OPPORTUNITIES)
    assert done is not None and not done.in_full_read and done.modified_at == began
    assert any("starts over from its first deal" in r.getMessage() for r in caplog.records)

"""The extract's reconciliation choice, stream by stream, through the real store: each
stream (opportunities and every activity stream the CRM lets us read) reconciles by its
own cursor and its own last complete read; a stream the CRM does not let us read is
never listed. The toy CRM (no clock of its own) runs on the clock the test hands in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.connector import OPPORTUNITIES, Cursor, Page
from core.errors import RateLimitExhausted
from core.schema import Lead
from partner_kpi.deletions import NO_CURSOR, reason_to_reconcile
from partner_kpi.extract import ExtractCounts, extract_into_store
from store.local import LocalStore
from tests.app.test_toy_crm import CHANGED_AT, ToyConnector, toy_crm

WINDOW = 15
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: the streams the toy lets us read: quotes, cases and line items it has not
READABLE = {OPPORTUNITIES, "leads", "calls"}


@dataclass
class ListingToy(ToyConnector):
    """The toy, noting every stream whose live ids a run lists."""

    listed: list[str] = field(default_factory=list)

    def fetch_live_ids(self, stream: str) -> Iterator[list[str]]:
        self.listed.append(stream)
        yield from super().fetch_live_ids(stream)


def _lead(lead_id: str) -> Lead:
    return Lead(id=lead_id, partner_id="alpha", created_date=date(2024, 3, 1))


def _live_leads(store: LocalStore) -> list[str]:
    leads = store.activity_tables()["leads"]
    assert leads is not None
    return sorted(leads["id"].to_pylist())


def test_each_stream_reconciles_by_its_own_cursor_and_unreadable_ones_never(
    tmp_path: Path,
) -> None:
    crm = toy_crm()
    crm.activity["leads"] = [_lead("l1"), _lead("l2")]
    crm.activity["calls"] = []  # the object exists and holds nothing
    toy = ListingToy(crm)
    with LocalStore.open(tmp_path / "toy.duckdb", holder="pytest") as store:

        def run(at: datetime) -> ExtractCounts:
            return extract_into_store(toy, store, deleted_visible_days=WINDOW, clock=lambda: at)

        first = run(START)  # no cursor: every read lists its records, at no call
        assert {s: (r.reason, r.marked, r.calls) for s, r in first.reconciliations.items()} == {
            stream: (NO_CURSOR, (), 0) for stream in READABLE
        }
        assert toy.listed == []

        crm.activity["leads"] = [_lead("l1")]  # l2 deleted and purged in the CRM
        within = START + timedelta(days=WINDOW)
        assert run(within).reconciliations == {}  # within the window: no listing
        assert toy.listed == []
        assert _live_leads(store) == ["l1", "l2"]  # unseen, as the window allows

        beyond = within + timedelta(days=WINDOW, seconds=1)
        third = run(beyond)  # past the window since each stream's last complete read
        assert sorted(toy.listed) == sorted(READABLE)  # never quotes, cases, line items
        assert set(third.reconciliations) == READABLE
        reason = reason_to_reconcile(within, beyond, WINDOW)
        assert {s: (r.reason, r.marked) for s, r in third.reconciliations.items()} == {
            OPPORTUNITIES: (reason, ()), "leads": (reason, ("l2",)), "calls": (reason, ())
        }  # fmt: skip
        assert third.reconciled_deleted == 1
        assert _live_leads(store) == ["l1"]
        assert store.read_through("leads") == beyond

        # leads in the middle of a full read a quota stopped: its rest is no listing, and
        # the read is complete as of when that full read began
        began = beyond + timedelta(days=1)
        store.set_cursor("leads", Cursor(began, full_read_after="l1"))
        toy.listed.clear()
        later = began + timedelta(days=WINDOW + 1)
        fourth = run(later)
        assert set(fourth.reconciliations) == {OPPORTUNITIES, "calls"}
        assert sorted(toy.listed) == sorted({OPPORTUNITIES, "calls"})
        assert store.read_through("leads") == began
        assert store.read_through("calls") == later


@dataclass
class StoppedToy(ListingToy):
    """The toy whose leads are read in modification order two pages long (as Salesforce
    reads every stream), the quota running out after the first page while ``stop`` holds."""

    stop: bool = True

    def fetch_activity(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        if stream != "leads":
            yield from super().fetch_activity(stream, since)
            return
        first, second = self.crm_data.activity["leads"]
        if since is None:
            yield Page([first], cursor=Cursor(CHANGED_AT, first.id))
            if self.stop:
                raise RateLimitExhausted("the daily quota is spent")
        yield Page([second], cursor=Cursor(CHANGED_AT + timedelta(hours=1), second.id))


def test_the_rest_of_a_full_read_in_modification_order_lists_no_ids(tmp_path: Path) -> None:
    """Its rest is an incremental read from the last page's cursor: without the store's
    note that a full read is under way, it would list every live id (no complete read on
    record), and a quota that stops a run there would stop every run there."""
    crm = toy_crm()
    crm.activity["leads"] = [_lead("l1"), _lead("l2")]
    toy = StoppedToy(crm)
    with LocalStore.open(tmp_path / "toy.duckdb", holder="pytest") as store:
        with pytest.raises(RateLimitExhausted):
            extract_into_store(toy, store, deleted_visible_days=WINDOW, clock=lambda: START)
        assert store.full_read_began("leads") == START
        assert store.read_through("leads") is None

        toy.stop = False
        later = START + timedelta(days=1)
        rest = extract_into_store(toy, store, deleted_visible_days=WINDOW, clock=lambda: later)

        assert "leads" not in toy.listed and "leads" not in rest.reconciliations
        assert rest.activity["leads"] == {"records": 1, "deleted": 0}
        assert _live_leads(store) == ["l1", "l2"]
        # complete as of when the full read began, and no longer under way
        assert store.read_through("leads") == START
        assert store.full_read_began("leads") is None

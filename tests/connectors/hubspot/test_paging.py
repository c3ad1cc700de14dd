"""The search paginator alone, against an in-memory search with HubSpot's rules.

The fake search filters (GTE/GT/EQ/NOT_IN), sorts (one property, ascending, ties in
an order of its choosing), pages by offset and refuses, as HubSpot does, any
page that reaches past the 10,000th result. A read must return every record at
least once, whatever the ties, the size, or the changes made while it pages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.hubspot.paging import (
    ModifiedSinceSearch,
    SearchPage,
    id_keyset_pages,
    list_pages,
)
from connectors.hubspot.queries import ID, MODIFIED, SEARCH_MAX_BODY_CHARS, SEARCH_RESULT_CAP


@dataclass
class Rec:
    id: int
    modified: int
    kind: str = "deal"

    @property
    def key(self) -> tuple[int, str]:
        return self.modified, str(self.id)


class CapExceeded(Exception):
    """HubSpot's HTTP 400 for a page past the 10,000th result."""


@dataclass
class FakeSearch:
    """HubSpot's search semantics over a list of records."""

    records: list[Rec]
    shuffle_ties: bool = False
    on_call: Callable[[FakeSearch], None] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __call__(self, body: dict[str, Any]) -> SearchPage[Rec]:
        self.calls.append(body)
        if self.on_call is not None:
            self.on_call(self)
        limit, after = int(body["limit"]), int(body["after"])
        assert limit <= 200
        if after + limit > SEARCH_RESULT_CAP:
            raise CapExceeded(after)
        groups = body["filterGroups"]
        assert len(groups) <= 1 and all(len(g["filters"]) <= 6 for g in groups)
        matched = [
            r for r in self.records if all(self._test(r, f) for g in groups for f in g["filters"])
        ]
        (sort,) = body["sorts"]
        column = sort["propertyName"]
        assert sort["direction"] == "ASCENDING"
        if self.shuffle_ties:
            self.rng.shuffle(matched)
            matched.sort(key=lambda r: self._value(r, column))
        else:
            matched.sort(key=lambda r: (self._value(r, column), r.id))
        return SearchPage(matched[after : after + limit], len(matched))

    @staticmethod
    def _value(record: Rec, name: str) -> int | str:
        values: dict[str, int | str] = {
            MODIFIED: record.modified,
            ID: record.id,
            "kind": record.kind,
        }
        return values[name]

    def _test(self, record: Rec, item: dict[str, Any]) -> bool:
        value = self._value(record, item["propertyName"])
        if item["operator"] == "NOT_IN":
            return str(value) not in item["values"]
        wanted: int | str = item["value"] if isinstance(value, str) else int(item["value"])
        return {
            "EQ": value == wanted,
            "GT": value > wanted,  # type: ignore[operator]
            "GTE": value >= wanted,  # type: ignore[operator]
        }[item["operator"]]


def read_all(
    fake: FakeSearch, start: int = 0, page_size: int = 200, properties: list[str] | None = None
) -> list[Rec]:
    search = ModifiedSinceSearch(
        fake, key=lambda r: r.key, properties=properties or [MODIFIED], page_size=page_size
    )
    return [record for page in search.pages(start) for record in page]


def offset_read(fake: FakeSearch, start: int = 0) -> list[Rec]:
    """What paging one window by offset reads (the approach the paginator avoids)."""
    records: list[Rec] = []
    after = 0
    while True:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": MODIFIED, "operator": "GTE", "value": str(start)}]}
            ],
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "limit": 200,
            "after": str(after),
        }
        page = fake(body)
        records += page.results
        after += len(page.results)
        if len(page.results) < 200:
            return records


def spread(count: int, ties: int = 3, seed: int = 1) -> list[Rec]:
    """``count`` records, about ``ties`` sharing each modification time, ids shuffled."""
    rng = random.Random(seed)
    ids = list(range(1, count + 1))
    rng.shuffle(ids)
    return [Rec(id=i, modified=1_000_000 + n // ties) for n, i in enumerate(ids)]


@pytest.mark.parametrize("shuffle_ties", [False, True], ids=["ties-by-id", "ties-any-order"])
def test_more_than_ten_thousand_records_all_come_once(shuffle_ties: bool) -> None:
    fake = FakeSearch(spread(12_000), shuffle_ties=shuffle_ties)
    with pytest.raises(CapExceeded):
        offset_read(FakeSearch(spread(12_000)))  # one window cannot page past 10,000
    got = read_all(fake)
    assert sorted(r.id for r in got) == list(range(1, 12_001))
    assert len(fake.calls) <= 12_000 // 198 + 2  # a few boundary ties re-asked, no more


def test_a_window_starts_at_the_cursor() -> None:
    records = spread(1_000)
    got = read_all(FakeSearch(records), start=1_000_100)
    assert sorted(r.id for r in got) == sorted(r.id for r in records if r.modified >= 1_000_100)


def test_records_changed_while_paging_are_not_lost() -> None:
    """A record modified mid-read moves to the end: offset paging then skips the record
    that shifts across the page boundary; keyset windows cannot."""

    def touch_an_early_record(fake: FakeSearch) -> None:
        if len(fake.calls) == 2:
            earliest = min(fake.records, key=lambda r: (r.modified, r.id))
            earliest.modified = 9_999_999

    records = spread(1_000, ties=1)
    lost = offset_read(
        FakeSearch([Rec(r.id, r.modified) for r in records], on_call=touch_an_early_record)
    )
    assert len({r.id for r in lost}) == 999  # the offset read lost one
    got = read_all(
        FakeSearch([Rec(r.id, r.modified) for r in records], on_call=touch_an_early_record)
    )
    assert {r.id for r in got} == {r.id for r in records}


@pytest.mark.parametrize("shuffle_ties", [False, True], ids=["ties-by-id", "ties-any-order"])
def test_more_ties_than_a_page_are_read_by_id(shuffle_ties: bool) -> None:
    same = [Rec(id=i, modified=5_000) for i in range(1, 1_001)]
    before = [Rec(id=2_000 + i, modified=4_000 + i) for i in range(300)]
    after = [Rec(id=5_000 + i, modified=6_000 + i) for i in range(300)]
    fake = FakeSearch([*after, *same, *before], shuffle_ties=shuffle_ties)
    got = read_all(fake)
    assert sorted(r.id for r in got) == sorted(r.id for r in [*same, *before, *after])
    assert len(got) == len({r.id for r in got})
    by_id = [c for c in fake.calls if c["sorts"][0]["propertyName"] == ID]
    assert 5 <= len(by_id) <= 6  # 1,000 ties, 200 a page


def test_small_pages_and_exact_multiples() -> None:
    records = spread(400, ties=1)
    got = read_all(FakeSearch(records), page_size=100)
    assert sorted(r.id for r in got) == sorted(r.id for r in records)


def test_id_keyset_pages_filter_and_order() -> None:
    records = [
        Rec(id=i, modified=0, kind="partner" if i % 3 == 0 else "other") for i in range(1, 1_501)
    ]
    fake = FakeSearch(records)
    pages = list(
        id_keyset_pages(
            fake,
            id_of=lambda r: str(r.id),
            properties=["kind"],
            filters=[{"propertyName": "kind", "operator": "EQ", "value": "partner"}],
        )
    )
    got = [r.id for page in pages for r in page]
    assert got == [i for i in range(1, 1_501) if i % 3 == 0]
    assert len(fake.calls) == 3  # 500 records: 200, 200, 100


def test_list_pages_follow_after() -> None:
    data = {None: ([1, 2], "a"), "a": ([3], "b"), "b": ([], None)}
    assert list(list_pages(lambda after: data[after])) == [[1, 2], [3]]


def test_too_many_filters_are_refused() -> None:
    filters = [{"propertyName": "kind", "operator": "EQ", "value": "x"}] * 5
    with pytest.raises(ValueError, match="at most 6 filters"):
        ModifiedSinceSearch(FakeSearch([]), key=lambda r: r.key, properties=[], filters=filters)


def batches(count: int, size: int) -> list[Rec]:
    """``count`` records updated ``size`` at a time: each batch shares one timestamp."""
    rng = random.Random(3)
    ids = list(range(1, count + 1))
    rng.shuffle(ids)
    return [Rec(id=i, modified=2_000_000 + n // size) for n, i in enumerate(ids)]


@pytest.mark.parametrize("shuffle_ties", [False, True], ids=["ties-by-id", "ties-any-order"])
def test_batch_updates_sharing_a_timestamp_are_not_read_twice(shuffle_ties: bool) -> None:
    """1,000 records in batches of 150 sharing a moment: every window starts inside a
    batch, and the records of it already read are left out by the server."""
    fake = FakeSearch(batches(1_000, 150), shuffle_ties=shuffle_ties)
    got = read_all(fake)
    assert sorted(r.id for r in got) == list(range(1, 1_001))
    assert len(got) == 1_000  # none twice
    # five full pages of new records and the short page that ends the read
    assert len(fake.calls) == 1_000 // 200 + 1
    not_in = [f for c in fake.calls for g in c["filterGroups"] for f in g["filters"]]
    assert any(f["operator"] == "NOT_IN" for f in not_in)


def test_the_exclusion_shrinks_to_fit_the_body_limit() -> None:
    """With a long property list, fewer seen ids fit: the rest are dropped client-side."""
    wide = [f"hs_v2_date_entered_stage_{n:04d}" for n in range(70)]  # ~2,400 characters
    fake = FakeSearch(batches(1_000, 150))
    got = read_all(fake, properties=wide)
    assert sorted(r.id for r in got) == list(range(1, 1_001))
    assert len(got) == 1_000
    assert all(len(json.dumps(c)) <= SEARCH_MAX_BODY_CHARS for c in fake.calls)
    sizes = [
        len(f["values"])
        for c in fake.calls
        for g in c["filterGroups"]
        for f in g["filters"]
        if f["operator"] == "NOT_IN"
    ]
    assert sizes and max(sizes) < 100  # some ids excluded, not all 150 of a batch

"""Cursors, runs and score history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.connector import Cursor
from store import SCORE_TREND_SCHEMA, LocalStore, RunStatus, ScoreRow
from tests.store.conftest import NOW, fixed_clock


class Ticking:
    """A clock that moves a minute each time it is read, so runs get distinct times."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def test_a_cursor_round_trips_with_its_time_zone_and_tie_breaker(store: LocalStore) -> None:
    assert store.get_cursor("opportunities") is None
    paris = timezone(timedelta(hours=1))
    cursor = Cursor(datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=paris), "006000000000001AAA")
    store.set_cursor("opportunities", cursor)
    store.set_cursor("stage_changes", Cursor(datetime(2026, 1, 1, tzinfo=UTC)))
    assert store.get_cursor("opportunities") == cursor
    assert store.get_cursor("stage_changes") == Cursor(datetime(2026, 1, 1, tzinfo=UTC), "")
    later = Cursor(datetime(2026, 3, 5, tzinfo=UTC), "x")
    store.set_cursor("opportunities", later)
    assert store.get_cursor("opportunities") == later
    assert store.counts().cursors == 2


def test_a_full_read_in_progress_round_trips_and_its_end_replaces_it(store_path: Path) -> None:
    began = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    under_way = Cursor(began, full_read_after="4101")
    with LocalStore.open(store_path, holder="first") as store:
        store.set_cursor("opportunities", under_way)
    with LocalStore.open(store_path, holder="second") as store:
        held = store.get_cursor("opportunities")
        assert held == under_way and held is not None and held.in_full_read
        store.set_cursor("opportunities", Cursor(began))  # the listing's end
        ended = store.get_cursor("opportunities")
        assert ended == Cursor(began, "") and ended is not None and not ended.in_full_read
    # a cursor without a full read in progress is stored as before (Salesforce's, say)
    assert Cursor(began, "a").as_json() == {"modified_at": began.isoformat(), "record_id": "a"}


def test_cursors_survive_reopening(store_path: Path) -> None:
    cursor = Cursor(datetime(2026, 3, 4, tzinfo=UTC), "a")
    with LocalStore.open(store_path, holder="first") as store:
        store.set_cursor("opportunities", cursor)
    with LocalStore.open(store_path, holder="second") as store:
        assert store.get_cursor("opportunities") == cursor


def test_a_run_is_started_then_finished_with_its_counts(store: LocalStore) -> None:
    run_id = store.start_run("sync", date(2026, 11, 25))
    assert run_id.startswith("20261126T010203Z-")
    running = store.get_run(run_id)
    assert running is not None
    assert running.status is RunStatus.RUNNING
    assert running.finished_at is None
    assert running.counts == {}

    counts: dict[str, Any] = {"opportunities": 2000, "api_calls": 3, "pages": {"partners": 1}}
    store.finish_run(run_id, "succeeded", counts)
    done = store.get_run(run_id)
    assert done is not None
    assert done.status is RunStatus.SUCCEEDED
    assert done.kind == "sync"
    assert done.as_of == date(2026, 11, 25)
    assert done.started_at == NOW
    assert done.finished_at == NOW
    assert done.counts == counts
    assert done.error is None


def test_a_failed_run_keeps_its_error(store: LocalStore) -> None:
    run_id = store.start_run("audit", date(2026, 11, 25))
    store.finish_run(run_id, RunStatus.FAILED, {"api_calls": 1}, error="salesforce 403: denied")
    run = store.get_run(run_id)
    assert run is not None
    assert (run.status, run.error) == (RunStatus.FAILED, "salesforce 403: denied")


def test_finish_run_refuses_bad_calls(store: LocalStore) -> None:
    run_id = store.start_run("sync", date(2026, 11, 25))
    with pytest.raises(ValueError, match="not running"):
        store.finish_run(run_id, "running", {})
    with pytest.raises(ValueError, match="no run 'nope'"):
        store.finish_run("nope", "succeeded", {})
    store.finish_run(run_id, "succeeded", {})
    with pytest.raises(ValueError, match="already finished"):
        store.finish_run(run_id, "failed", {})
    assert store.get_run("nope") is None


def test_runs_are_listed_newest_first(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest", clock=Ticking()) as store:
        ids = [store.start_run(kind, date(2026, 11, 25)) for kind in ("audit", "sync", "sync")]
        assert [r.run_id for r in store.list_runs()] == ids[::-1]
        assert [r.run_id for r in store.list_runs(limit=2)] == ids[:0:-1]
        assert store.counts().runs == 3


def test_a_run_left_running_by_a_dead_process_is_closed_as_failed(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest", clock=fixed_clock) as store:
        stale = store.start_run("sync", date(2026, 11, 25))
        assert store.interrupted_runs == ()
    # the lock was released without finish_run: the process that held it is gone
    with LocalStore.open(store_path, holder="pytest", clock=fixed_clock) as store:
        assert store.interrupted_runs == (stale,)
        run = store.get_run(stale)
        assert run is not None
        assert run.status is RunStatus.FAILED
        assert run.error is not None and run.error.startswith("interrupted")


def test_score_history_gives_each_partners_trend_oldest_first(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest", clock=Ticking()) as store:
        later = store.start_run("sync", date(2026, 11, 30))
        earlier = store.start_run("audit", date(2026, 10, 31))
        store.save_scores(
            earlier,
            [
                ScoreRow("P1", "Alpha", 40.0, "Silver", {"deal_count": 3}),
                ScoreRow("P2", "Beta", 80.0, "Platinum", {"deal_count": 9}),
            ],
        )
        store.save_scores(later, [ScoreRow("P1", "Alpha", 55.5, "Gold", {"deal_count": 4})])
        store.finish_run(earlier, "succeeded", {})

        trend = store.score_history("P1")
        assert [(r.run_id, r.as_of, r.score, r.tier) for r in trend] == [
            (earlier, date(2026, 10, 31), 40.0, "Silver"),
            (later, date(2026, 11, 30), 55.5, "Gold"),
        ]
        assert [r.run_status for r in trend] == [RunStatus.SUCCEEDED, RunStatus.RUNNING]
        assert trend[1].kpis == {"deal_count": 4}
        assert trend[0].run_kind == "audit"
        everyone = store.score_history()
        assert [(r.partner_id, r.run_id) for r in everyone] == [
            ("P1", earlier),
            ("P2", earlier),
            ("P1", later),
        ]
        assert store.counts().score_rows == 3


def test_score_trend_holds_the_scores_of_runs_that_stand_as_columns(store_path: Path) -> None:
    with LocalStore.open(store_path, holder="pytest", clock=Ticking()) as store:
        runs = {}
        for name, as_of, status in (
            ("failed", date(2026, 9, 30), "failed"),
            ("later", date(2026, 11, 30), "partial"),
            ("earlier", date(2026, 10, 31), "succeeded"),
            ("running", date(2026, 12, 1), None),
        ):
            runs[name] = store.start_run("sync", as_of)
            store.save_scores(
                runs[name],
                [
                    ScoreRow("P2", "Beta", 80.0, "Platinum", {"deal_count": 9}),
                    ScoreRow("P1", "Alpha", 40.0 + len(name), "Silver"),
                ],
            )
            if status is not None:
                store.finish_run(runs[name], status, {})

        trend = store.score_trend()

        assert trend.schema == SCORE_TREND_SCHEMA
        # the failed run and the one still running are left out; oldest as-of first
        assert trend.to_pylist() == [
            {"run_id": runs["earlier"], "as_of": date(2026, 10, 31), "partner_id": "P1",
             "score": 47.0, "tier": "Silver"},
            {"run_id": runs["earlier"], "as_of": date(2026, 10, 31), "partner_id": "P2",
             "score": 80.0, "tier": "Platinum"},
            {"run_id": runs["later"], "as_of": date(2026, 11, 30), "partner_id": "P1",
             "score": 45.0, "tier": "Silver"},
            {"run_id": runs["later"], "as_of": date(2026, 11, 30), "partner_id": "P2",
             "score": 80.0, "tier": "Platinum"},
        ]  # fmt: skip
        assert store.scored_partner_names() == {("P1", "Alpha"), ("P2", "Beta")}


def test_saving_scores_again_replaces_them(store: LocalStore) -> None:
    run_id = store.start_run("sync", date(2026, 11, 25))
    store.save_scores(run_id, [ScoreRow("P1", "Alpha", 40.0, "Silver")])
    store.save_scores(run_id, [ScoreRow("P1", "Alpha", 41.0, "Silver")])
    assert [r.score for r in store.score_history()] == [41.0]


def test_scores_need_a_stored_run(store: LocalStore) -> None:
    with pytest.raises(ValueError, match="start_run first"):
        store.save_scores("no-such-run", [ScoreRow("P1", "Alpha", 40.0, "Silver")])
    assert store.counts().score_rows == 0


def test_a_complete_read_is_recorded_on_its_cursor_and_kept_when_the_cursor_moves(
    store: LocalStore,
) -> None:
    began = datetime(2026, 12, 1, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    store.set_read_through("opportunities", began)  # no cursor yet: nothing to record it on
    assert store.read_through("opportunities") is None
    store.set_cursor("opportunities", Cursor(datetime(2026, 11, 30, tzinfo=UTC), "a"))
    assert store.read_through("opportunities") is None  # a cursor alone proves no complete read
    store.set_read_through("opportunities", began)
    assert store.read_through("opportunities") == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    store.set_cursor("opportunities", Cursor(datetime(2026, 12, 1, tzinfo=UTC), "b"))
    assert store.read_through("opportunities") == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert store.read_through("stage_changes") is None

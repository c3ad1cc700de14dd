"""Plan, guard, apply, journal and rollback against an in-memory CRM and a real store."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigError, UnknownRun
from store import JournalOutcome, LocalStore
from tests.writeback.fakes import DEFAULTS, FakeCrm
from writeback import (
    StoreJournal,
    Target,
    apply_plan,
    build_plan,
    check_tier_changes,
    field_map,
    plan_rollback,
    settle_pending,
    write_plan_file,
)
from writeback.settings import WritebackSettings
from writeback.spec import FieldMap

AS_OF = datetime(2017, 12, 31, tzinfo=UTC)
FIELDS: FieldMap = field_map(WritebackSettings(), DEFAULTS)
NAMES = {f.output: f.name for f in FIELDS}


def crm_with(count: int, **values: Any) -> FakeCrm:
    crm = FakeCrm(kinds={f.name: f.kind for f in FIELDS})
    for i in range(count):
        crm.records[f"R{i:03d}"] = {NAMES[k]: v for k, v in values.items()}
    return crm


def targets(count: int, score: float = 71.04, tier: str = "Gold") -> list[Target]:
    return [
        Target(
            f"R{i:03d}",
            f"Partner {i}",
            {"score": score, "tier": tier, "drivers": f"strong: p{i}", "scored_at": AS_OF},
        )
        for i in range(count)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore.open(tmp_path / "store.db", holder="pytest") as opened:
        yield opened


def test_a_plan_diffs_at_scale_and_leaves_matching_records_out() -> None:
    crm = crm_with(
        3, score=71.0, tier="Gold", drivers="strong: p0", scored_at="2017-12-30T00:00:00Z"
    )
    crm.records["R001"][NAMES["drivers"]] = "strong: p1"
    crm.records["R002"][NAMES["score"]] = 60.0
    plan = build_plan(crm, FIELDS, [*targets(3), Target("GONE", "Deleted", {"score": 1.0})])
    # 71.04 against 71.0 on a one-decimal field is no change: R000 and R001 hold every value
    assert plan.unchanged == ("R000", "R001")
    assert plan.missing == ("GONE",)
    (changed,) = plan.records
    assert [(c.field.output, str(c.old), str(c.new)) for c in changed.changes] == [
        ("score", "60.0", "71.0"),
        ("drivers", "strong: p0", "strong: p2"),
        ("scored_at", "2017-12-30 00:00:00+00:00", "2017-12-31 00:00:00+00:00"),
    ]
    assert changed.values() == {
        NAMES["score"]: 71.0, NAMES["drivers"]: "strong: p2", NAMES["scored_at"]: AS_OF,
    }  # fmt: skip
    assert crm.read_calls == 1 and crm.write_calls == 0


def test_a_stamp_alone_is_no_change() -> None:
    crm = crm_with(2, score=71.0, tier="Gold", scored_at=None)
    for i in range(2):
        crm.records[f"R{i:03d}"][NAMES["drivers"]] = f"strong: p{i}"
    plan = build_plan(crm, FIELDS, targets(2))
    assert plan.empty and plan.unchanged == ("R000", "R001")
    report = apply_plan(crm, plan, batch_size=DEFAULTS.batch_size)
    assert report.calls == 0 and crm.write_calls == 0


@pytest.mark.parametrize("count", [1, 3, 7, 9])
def test_apply_sends_changed_records_in_the_fewest_calls(count: int) -> None:
    crm = crm_with(count)
    plan = build_plan(crm, FIELDS, targets(count))
    report = apply_plan(crm, plan, batch_size=3)
    assert report.calls == crm.write_calls == math.ceil(count / 3)
    assert sorted(report.written) == sorted(crm.records)
    again = build_plan(crm, FIELDS, targets(count))
    assert again.empty
    assert apply_plan(crm, again, batch_size=3).calls == 0


def test_rejected_records_are_reported_never_journaled_as_written_and_retried(
    store: LocalStore,
) -> None:
    crm = crm_with(5)
    crm.reject = {"R001": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "R004": "RECORD_LOCKED"}
    run_id = store.start_run("sync", AS_OF.date())
    report = apply_plan(
        crm, build_plan(crm, FIELDS, targets(5)), batch_size=3, journal=StoreJournal(store, run_id)
    )
    assert [(r.record_id, r.error_code, r.label) for r in report.rejected] == [
        ("R001", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Partner 1"),
        ("R004", "RECORD_LOCKED", "Partner 4"),
    ]
    assert report.rejected[0].fields == tuple(
        NAMES[o] for o in ("score", "tier", "drivers", "scored_at")
    )
    assert sorted(report.written) == ["R000", "R002", "R003"]
    journal = store.journal(run_id=run_id)
    outcomes = {(e.record_id, e.outcome) for e in journal}
    assert outcomes == {
        ("R000", "written"), ("R002", "written"), ("R003", "written"),
        ("R001", "rejected"), ("R004", "rejected"),
    }  # fmt: skip
    rejected = [e for e in journal if e.outcome == JournalOutcome.REJECTED]
    assert {e.error_code for e in rejected} == {
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "RECORD_LOCKED",
    }
    assert crm.records["R001"] == {}  # untouched

    # the next run sends only the rejected records, once the CRM takes them
    crm.reject = {}
    written_before = len(crm.written)
    retry = build_plan(crm, FIELDS, targets(5))
    assert [r.record_id for r in retry.records] == ["R001", "R004"]
    assert apply_plan(crm, retry, batch_size=3).calls == 1
    assert [rid for rid, _ in crm.written[written_before:]] == ["R001", "R004"]


def test_only_mapped_fields_are_ever_sent() -> None:
    crm = crm_with(1)
    plan = build_plan(crm, FIELDS, targets(1))
    narrowed = type(plan)(FieldMap(FIELDS.fields[:1]), plan.records)
    with pytest.raises(ValueError, match="not a mapped field"):
        apply_plan(crm, narrowed, batch_size=3)
    assert crm.write_calls == 0


def test_the_tier_guard_counts_moves_between_tiers_not_first_fills() -> None:
    first = crm_with(10)
    assert check_tier_changes(build_plan(first, FIELDS, targets(10)), 0.2).ok
    crm = crm_with(10, tier="Silver")
    two = [*targets(2, tier="Gold"), *targets(10, tier="Silver")[2:]]
    verdict = check_tier_changes(build_plan(crm, FIELDS, two), 0.2)
    assert (verdict.changed, verdict.total, verdict.ok) == (2, 10, True)
    three = [*targets(3, tier="Gold"), *targets(10, tier="Silver")[3:]]
    refused = check_tier_changes(build_plan(crm, FIELDS, three), 0.2)
    assert (refused.changed, refused.ok) == (3, False)
    assert "3 of 10 partners (30%) would change tier" in refused.describe()
    assert "--force" in refused.describe()
    untiered = field_map(WritebackSettings.model_validate({"fields": {"tier": None}}), DEFAULTS)
    assert check_tier_changes(build_plan(crm, untiered, three), 0.2).ok


def test_rollback_restores_the_old_values_diffed_and_journaled(store: LocalStore) -> None:
    crm = crm_with(4, score=50.0, tier="Silver", drivers="old", scored_at="2017-11-30T00:00:00Z")
    before = {rid: dict(values) for rid, values in crm.records.items()}
    run_id = store.start_run("sync", AS_OF.date())
    apply_plan(crm, build_plan(crm, FIELDS, targets(4)), batch_size=3,
               journal=StoreJournal(store, run_id))  # fmt: skip
    store.finish_run(run_id, "succeeded", {})
    crm.records["R003"][NAMES["score"]] = 50.0  # someone put one back by hand
    crm.records["R002"][NAMES["tier"]] = "Platinum"  # and changed another

    rollback = plan_rollback(crm, store, run_id)
    assert rollback.changed_since == (("R002", NAMES["tier"]),)
    undo = store.start_run("rollback", AS_OF.date())
    report = apply_plan(crm, rollback.plan, batch_size=3, journal=StoreJournal(store, undo))
    assert report.ok and report.calls == 2
    restored = {rid: {k: v for k, v in values.items()} for rid, values in crm.records.items()}
    assert {
        rid: (values[NAMES["score"]], values[NAMES["tier"]], values[NAMES["drivers"]])
        for rid, values in restored.items()
    } == {rid: (50.0, "Silver", "old") for rid in before}
    assert {str(v[NAMES["scored_at"]]) for v in restored.values()} == {"2017-11-30 00:00:00+00:00"}
    undone = store.journal(run_id=undo)
    assert {(e.record_id, e.output) for e in undone if e.output == "score"} == {
        ("R000", "score"), ("R001", "score"), ("R002", "score"),
    }  # fmt: skip
    with pytest.raises(UnknownRun, match="no run 'nope'"):
        plan_rollback(crm, store, "nope")


def test_pending_writes_of_a_stopped_run_are_settled_by_reading_back(store: LocalStore) -> None:
    crm = crm_with(3)
    plan = build_plan(crm, FIELDS, targets(3))
    stopped = store.start_run("sync", AS_OF.date())
    journal = StoreJournal(store, stopped)
    journal.before(plan.records)  # the process died after sending R000 and R001 only
    crm.update_records({r.record_id: r.values() for r in plan.records[:2]})
    store.finish_run(stopped, "failed", {}, error="killed")
    current = store.start_run("sync", AS_OF.date())
    settled = settle_pending(store, crm, current_run=current)
    assert (settled.written, settled.not_written, settled.runs) == (8, 4, (stopped,))
    outcomes = {(e.record_id, e.outcome) for e in store.journal(run_id=stopped)}
    assert outcomes == {("R000", "written"), ("R001", "written"), ("R002", "not_written")}
    assert settle_pending(store, crm, current_run=current).runs == ()


def test_the_plan_goes_to_json_or_csv(tmp_path: Path) -> None:
    crm = crm_with(2, score=60.0)
    plan = build_plan(crm, FIELDS, targets(2))
    write_plan_file(plan, tmp_path / "plan.json", {"crm": "fake"})
    document = json.loads((tmp_path / "plan.json").read_text())
    assert document["crm"] == "fake"
    assert document["summary"] == {
        "records_to_update": 2, "field_changes": 8, "records_unchanged": 0, "records_missing": 0,
    }  # fmt: skip
    first = document["changes"][0]
    assert (first["record_id"], first["output"], first["old"], first["new"]) == (
        "R000", "score", 60.0, 71.0,
    )  # fmt: skip
    assert document["changes"][3]["new"] == "2017-12-31T00:00:00.000Z"
    write_plan_file(plan, tmp_path / "plan.csv")
    with (tmp_path / "plan.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8 and rows[1]["field"] == NAMES["tier"] and rows[1]["old"] == ""
    with pytest.raises(ConfigError, match=r"json or a \.csv"):
        write_plan_file(plan, tmp_path / "plan.txt")

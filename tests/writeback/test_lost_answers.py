"""A write whose answer was lost is read back, never repeated unseen: each record once.

The sandbox's ``lost_response`` applies a write and drops its answer; ``drop`` drops it
before applying. The client cannot tell them apart, so apply reads the records back:
those holding their values are written, only the others are sent again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot.connector import HubSpotConnector
from connectors.salesforce.connector import SalesforceConnector
from core.connector import WriteResult
from core.errors import AnswerLost
from sandbox.server import RunningSandbox
from store import JournalOutcome, LocalStore
from tests.reliability.harness import PARTNER_OBJECT
from tests.sandbox.conftest import control, set_faults
from tests.writeback.fakes import FakeCrm
from tests.writeback.test_plan_apply import AS_OF, FIELDS, crm_with, targets
from tests.writeback.test_sandbox import CRMS, PARTNERS, Crm
from writeback import StoreJournal, apply_plan, build_plan
from writeback.apply import LOST_ANSWER_RESENDS

CONNECTORS: dict[str, Any] = {"salesforce": SalesforceConnector, "hubspot": HubSpotConnector}


class LosingCrm(FakeCrm):
    """A CRM whose next writes lose their answer after applying their first ``lands[n]``
    records (one number a write; the writes after those are answered)."""

    def __init__(self, base: FakeCrm, *, lands: list[int]) -> None:
        super().__init__(records=base.records, kinds=base.kinds)
        self.lands = list(lands)

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        if not self.lands:
            return super().update_records(updates)
        applied = dict(list(updates.items())[: self.lands.pop(0)])
        if applied:
            super().update_records(applied)
        else:
            self.write_calls += 1
        raise AnswerLost("fake CONNECTION_LOST: the answer to the write was lost")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore.open(tmp_path / "store.db", holder="pytest") as opened:
        yield opened


def test_a_lost_answer_is_read_back_and_only_the_unwritten_are_sent_again(
    store: LocalStore,
) -> None:
    crm = LosingCrm(crm_with(5), lands=[2])
    plan = build_plan(crm, FIELDS, targets(5))
    run_id = store.start_run("sync", AS_OF.date())
    reads_before = crm.read_calls

    report = apply_plan(crm, plan, batch_size=3, journal=StoreJournal(store, run_id))

    # R000 and R001 landed with the lost answer; only R002 was sent again
    assert [rid for rid, _ in crm.written] == ["R000", "R001", "R002", "R003", "R004"]
    assert crm.write_calls == 3 and report.calls == 3  # lost, resend of one, second batch
    assert report.read_backs == 1 and crm.read_calls - reads_before == 1
    assert sorted(report.written) == ["R000", "R001", "R002", "R003", "R004"] and report.ok
    assert report.counts()["read_back_calls"] == 1
    journal = store.journal(run_id=run_id)
    assert {e.outcome for e in journal} == {JournalOutcome.WRITTEN}
    assert Counter(e.record_id for e in journal) == {
        f"R00{i}": len(plan.records[i].changes) for i in range(5)
    }
    assert build_plan(crm, FIELDS, targets(5)).empty


def test_answers_lost_past_the_resends_end_the_run_with_the_found_writes_journaled(
    store: LocalStore,
) -> None:
    crm = LosingCrm(crm_with(3), lands=[1] + [0] * LOST_ANSWER_RESENDS)
    plan = build_plan(crm, FIELDS, targets(3))
    run_id = store.start_run("sync", AS_OF.date())

    with pytest.raises(AnswerLost):
        apply_plan(crm, plan, batch_size=3, journal=StoreJournal(store, run_id))

    assert crm.write_calls == 1 + LOST_ANSWER_RESENDS
    # the first send applied R000; the read-back found it, so the resends left it out
    assert [rid for rid, _ in crm.written] == ["R000"]
    outcomes = {(e.record_id, e.outcome) for e in store.journal(run_id=run_id)}
    assert outcomes == {
        ("R000", JournalOutcome.WRITTEN), ("R001", JournalOutcome.PENDING),
        ("R002", JournalOutcome.PENDING),
    }  # fmt: skip


def fault_the_first_write(
    monkeypatch: pytest.MonkeyPatch, running: RunningSandbox, crm: str, spec: str
) -> list[int]:
    """Switch ``spec`` on for the connector's first ``update_records`` only (reads before
    and after it, the read-back among them, see a CRM without faults); the records of
    each call, listed."""
    cls = CONNECTORS[crm]
    original = cls.update_records
    sent: list[int] = []

    def update_records(self: Any, updates: Mapping[str, Mapping[str, Any]]) -> Any:
        first = not sent
        sent.append(len(updates))
        if first:
            set_faults(running, spec)
        try:
            return original(self, updates)
        finally:
            if first:
                set_faults(running, "")

    monkeypatch.setattr(cls, "update_records", update_records)
    return sent


def writes_per_partner(target: Crm) -> Counter[int]:
    logged: dict[str, dict[str, int]] = control(target.running, "writes")[target.crm]
    return Counter(logged.get(PARTNER_OBJECT[target.crm], {}).values())


@CRMS
@pytest.mark.parametrize(
    ("spec", "sends"),
    [("lost_response=every:1", [PARTNERS]), ("drop=every:1", [PARTNERS, PARTNERS])],
    ids=["lost-response", "drop"],
)
def test_a_sync_whose_write_answer_is_lost_writes_each_record_once(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    crm: str,
    spec: str,
    sends: list[int],
) -> None:
    running = fresh_sandbox()
    target = Crm(running, crm, tmp_path)
    synced_store(crm, target.store)  # a scheduled job's store: its runs read what changed
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    target.reset_stats()
    sent = fault_the_first_write(monkeypatch, running, crm, spec)

    done = target.sync()

    assert done.exit_code == 0, done.output
    # lost_response: the write landed and the read-back found it, so it is not sent
    # again; drop: it never landed, so it is sent again, once
    assert sent == sends
    assert target.write_calls() == len(sends)
    assert writes_per_partner(target) == {1: PARTNERS}  # every partner written once
    with LocalStore.open(target.folder / f"{crm}-store.db", holder="pytest") as store:
        (run,) = [r for r in store.list_runs() if r.kind == "sync"]
        assert run.counts["read_back_calls"] == 1
        assert run.counts["write_calls"] == len(sends)
        assert run.counts["records_written"] == PARTNERS
        journal = store.journal(run_id=run.run_id)
    assert {e.outcome for e in journal} == {JournalOutcome.WRITTEN}
    assert len({e.record_id for e in journal}) == PARTNERS
    again = target.sync()  # the CRM holds every value: nothing left to write
    assert again.exit_code == 0 and target.write_calls() == len(sends), again.output

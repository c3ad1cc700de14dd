"""The harness's checks catch what they are there to catch (hand-made states, no sandbox):
a wrong, missing or twice-written record, a journal that disagrees with the CRM, and an
exit code or run record that does not tell the truth."""

from __future__ import annotations

from typing import Any

from store import JournalEntry, JournalOutcome, RunStatus
from tests.reliability.harness import (
    CrmState,
    Outcome,
    RunResult,
    check_journal,
    check_truth,
    compare,
)
from tests.reliability.matrix import CRMS, FAULT_MATRIX, KILLED, FaultCase

A, B = "001A", "001B"
FIELDS = {"score": "Partner_Score__c", "tier": "Partner_Tier__c"}
CLEAN = CrmState(
    values={A: {"score": 71.0, "tier": "Gold"}, B: {"score": 48.9, "tier": "Silver"}},
    writes={("Account", A): 1, ("Account", B): 1},
    calls=24,
)
CASE = FaultCase("rejected records", "reject_records=0.1", 9)


def outcome_of(state: CrmState, *exit_codes: int, stdout: str = "", stderr: str = "") -> Outcome:
    runs = [RunResult(code, stdout, stderr, 1.0) for code in exit_codes]
    return Outcome("salesforce", CASE, runs, state, 1.0)


def state(values: dict[str, dict[str, Any]], writes: dict[tuple[str, str], int]) -> CrmState:
    return CrmState(values=values, writes=writes, calls=30)


def entry(record_id: str, output: str, new: Any, outcome: JournalOutcome, run: str) -> JournalEntry:
    kind = "number" if output == "score" else "text"
    return JournalEntry(run_id=run, record_id=record_id, field=FIELDS[output], output=output,
                        kind=kind, old_value=None, new_value=new, outcome=outcome,
                        scale=1)  # fmt: skip


def test_the_fault_free_state_passes_every_check() -> None:
    outage = FaultCase("429 outage", "rate_limit=1.0", 4)
    runs = [
        RunResult(4, "", "partner-kpi: error: … after 8 attempts; the next run resumes", 1.0),
        RunResult(0, "wrote 35 records in 1 write call; 0 rejected", "", 1.0),
    ]
    outcome = Outcome("salesforce", outage, runs, CLEAN, 2.0)
    compare(outcome, CLEAN)
    journal = [entry(rid, out, value, JournalOutcome.WRITTEN, "r1")
               for rid, held in CLEAN.values.items() for out, value in held.items()]  # fmt: skip
    check_journal(outcome, journal, FIELDS)
    check_truth(outcome, [RunStatus.FAILED, RunStatus.SUCCEEDED])
    assert outcome.problems() == []
    assert outcome.untruths == []


def test_wrong_missing_duplicated_and_stray_writes_are_found() -> None:
    after = state(
        {A: {"score": 70.9, "tier": "Gold"}, B: {"score": None, "tier": "Silver"}},
        {("Account", A): 2, ("Account", B): 1, ("Opportunity", "006X"): 1},
    )
    outcome = outcome_of(after, 0)
    compare(outcome, CLEAN)
    assert outcome.wrong == [
        "001A score: 70.9, expected 71.0",
        "Opportunity 006X: written 1×, never in a clean run",
    ]
    assert outcome.missing == ["001B score: empty, expected 48.9"]
    assert outcome.duplicated == ["Account 001A: written 2×, not once"]


def test_a_journal_that_disagrees_with_the_crm_is_found() -> None:
    outcome = outcome_of(CLEAN, 0)
    journal = [
        entry(A, "score", 71.0, JournalOutcome.WRITTEN, "r1"),
        entry(A, "score", 71.0, JournalOutcome.WRITTEN, "r2"),  # claimed twice
        entry(A, "tier", "Silver", JournalOutcome.WRITTEN, "r1"),  # the CRM holds Gold
        entry(B, "score", 48.9, JournalOutcome.PENDING, "r2"),  # never settled
    ]
    check_journal(outcome, journal, FIELDS)
    assert outcome.journal == [
        "001B score: still pending",
        "001A score: journaled as written by r1, r2",
        "001A tier: holds 'Gold', journal says 'Silver' (r1)",
        "001B score: holds 48.9, no write journaled",
        "001B tier: holds 'Silver', no write journaled",
    ]


def test_exit_codes_and_run_records_that_do_not_tell_the_truth_are_found() -> None:
    outcome = outcome_of(CLEAN, 5, 1, 0, stderr="Traceback (most recent call last)")
    check_truth(outcome, [RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.FAILED])
    assert outcome.untruths == [
        "the first run exited 5, not 9",
        "run 1 ended in a traceback (exit 5)",
        "run 1 exited 5 without an error line",
        "run 2 ended in a traceback (exit 1)",
        "run 2 exited 1 without an error line",
        "run 3 ended in a traceback (exit 0)",
        "run 2 exited 1 but is stored as succeeded",
        "run 3 exited 0 but is stored as failed",
    ]
    partial = outcome_of(CLEAN, 9, 0, stderr="partner-kpi: error: 1 of 2 records were rejected")
    check_truth(partial, [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED])
    assert partial.untruths == [
        "run 1 exited 9 and listed no rejected record",
        "run 1 exited 9 (partly written) but is stored as succeeded",
    ]
    killed = outcome_of(CLEAN, KILLED, 0)
    check_truth(killed, [RunStatus.FAILED])
    assert killed.untruths == ["the first run exited -9, not 9", "2 runs, 1 sync runs in the store"]


def test_the_matrix_covers_every_fault_of_the_sandbox_and_a_kill() -> None:
    from sandbox.faults import TRIGGERED_FAULTS

    specs = " ".join(case.spec_for(crm) for case in FAULT_MATRIX for crm in CRMS)
    for fault in (*TRIGGERED_FAULTS, "latency_ms", "token_expiry", "daily_limit"):
        assert f"{fault}=" in specs, fault
    assert {case.kill for case in FAULT_MATRIX} >= {"write", "extract"}
    # the CI subset takes each path once: retries and rejections, quota, a kill at the write,
    # and a write whose answer was lost (read back, the run completes: 0); HubSpot's
    # rejections and lost answers run in CI as tests of their own (tests/writeback), its
    # full read being the slowest
    paths = {"salesforce": {0, 4, 9, KILLED}, "hubspot": {4, KILLED}}
    for crm in CRMS:
        ci = [case for case in FAULT_MATRIX if case.in_ci(crm)]
        assert {case.first_exit_for(crm) for case in ci} == paths[crm]

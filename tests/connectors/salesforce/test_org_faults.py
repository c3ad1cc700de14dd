"""The connector survives what a real org does to it, with records identical to a fault-free
run: answers lost after the write landed, QUERY_TIMEOUT, QUERY_TOO_COMPLICATED,
UNABLE_TO_LOCK_ROW, the org's other users spending the quota mid-run, long id lists,
compound fields the Bulk API cannot export, and text longer than a field holds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce import writes as writes_module
from connectors.salesforce.connector import SalesforceConnector
from core.connector import Cursor, FieldSpec
from core.errors import AnswerLost, CrmApiError, RateLimitExhausted
from core.schema import Opportunity
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import RecordedSleep, make_connector, records_of
from tests.sandbox.conftest import control, salesforce_client, set_faults
from tests.writeback.test_sandbox import Crm, assert_holds_scores, read_scores

Start = Callable[..., RunningSandbox]
SCORE = FieldSpec(
    name="Partner_Score__c", label="Partner score", kind="number", precision=5, scale=1
)
TIER = FieldSpec(
    name="Partner_Tier__c", label="Partner tier", kind="picklist", options=("Gold", "Silver")
)
COLLECTIONS = "salesforce PATCH /services/data/v<version>/composite/sobjects"
QUERY_JOBS = "salesforce POST /services/data/v<version>/jobs/query"
UPLOAD = "salesforce PUT /services/data/v<version>/jobs/ingest/<job_id>/batches"
CLOSE = "salesforce PATCH /services/data/v<version>/jobs/ingest/<job_id>"


def _stats(running: RunningSandbox) -> dict[str, Any]:
    stats: dict[str, Any] = control(running, "stats")
    return stats


def _accounts(running: RunningSandbox) -> list[str]:
    id_map: dict[str, str] = control(running, "id-map")["salesforce"]
    return sorted(v for k, v in id_map.items() if k.startswith(("partner-", "customer-")))


def _scores(accounts: list[str]) -> dict[str, dict[str, object]]:
    return {
        record_id: {"Partner_Score__c": float(n % 100) + 0.5, "Partner_Tier__c": "Gold"}
        for n, record_id in enumerate(accounts)
    }


def _extract(connector: SalesforceConnector) -> dict[str, Any]:
    return {
        "partners": sorted(p.id for p in records_of(connector.fetch_partners())),
        "opportunities": sorted(
            records_of(connector.fetch_opportunities(None)), key=lambda o: o.id
        ),
        "changes": sorted(
            records_of(connector.fetch_stage_changes(None)), key=lambda c: (c.opportunity_id, c.id)
        ),
    }


# --- lost answers ------------------------------------------------------------------------


@pytest.mark.parametrize("every", [2, 3])
def test_a_collection_write_whose_answer_is_lost_is_not_sent_again(
    fresh_sandbox: Start, monkeypatch: pytest.MonkeyPatch, every: int
) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    connector.ensure_fields([SCORE, TIER], create=True)
    accounts = _accounts(running)
    updates = _scores(accounts)
    monkeypatch.setattr(writes_module, "COLLECTION_SIZE", 40)  # three calls
    before = _stats(running)["requests"].get(COLLECTIONS, 0)
    set_faults(running, f"lost_response=every:{every}")

    # the write may have landed: the caller reads back (writeback.apply), no blind repeat
    with pytest.raises(AnswerLost, match=r"CONNECTION_LOST.*update 40 Accounts") as lost:
        connector.update_records(updates)

    assert lost.value.exit_code == 4 and lost.value.attempts == 1
    assert _stats(running)["requests"][COLLECTIONS] - before == every  # none sent twice
    set_faults(running, "")
    landed = accounts[: every * 40]  # the calls up to the lost one, applied once each
    writes = control(running, "writes")["salesforce"]["Account"]
    assert writes == dict.fromkeys(landed, 1)
    held = connector.read_fields(accounts, [SCORE.name, TIER.name])
    assert {a: held[a] for a in landed} == {a: updates[a] for a in landed}


@pytest.mark.parametrize("every", [2, 3])
def test_a_bulk_update_whose_answers_are_lost_is_applied_once(
    fresh_sandbox: Start, every: int
) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    connector.settings = connector.settings.model_copy(update={"bulk_write_threshold": 10})
    connector.ensure_fields([SCORE, TIER], create=True)
    accounts = _accounts(running)
    updates = _scores(accounts)
    before = _stats(running)
    set_faults(running, f"lost_response=every:{every}")

    results = connector.update_records(updates)

    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    set_faults(running, "")
    after = _stats(running)
    repeated = {
        route: after["requests"].get(route, 0) - before["requests"].get(route, 0)
        for route in (UPLOAD, CLOSE)
    }
    assert repeated[UPLOAD] + repeated[CLOSE] >= 3  # an upload or a close was sent again
    sf = salesforce_client(running)
    jobs = sf.restful("jobs/ingest")["records"]
    assert [j["state"] for j in jobs].count("JobComplete") == 1  # the data went in once
    written = after["records_written"]["salesforce"] - before["records_written"]["salesforce"]
    assert written == len(accounts)
    assert connector.read_fields(accounts, [SCORE.name, TIER.name]) == updates


def test_lost_read_answers_still_give_the_exact_record_set(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    expected = _extract(make_connector(running))
    set_faults(running, "lost_response=every:3")
    assert _extract(make_connector(running, max_attempts=10)) == expected


# --- QUERY_TIMEOUT -----------------------------------------------------------------------


def test_a_query_that_times_out_is_read_through_bulk(
    fresh_sandbox: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = fresh_sandbox()
    expected = _extract(make_connector(running))
    jobs_before = _stats(running)["requests"].get(QUERY_JOBS, 0)
    set_faults(running, "query_timeout=every:1")
    caplog.set_level(logging.WARNING)

    assert _extract(make_connector(running)) == expected

    stats = _stats(running)
    assert stats["statuses"]["salesforce 400"] >= 2  # opportunities and history timed out
    assert stats["requests"][QUERY_JOBS] - jobs_before >= 2
    assert "QUERY_TIMEOUT" in caplog.text


# --- QUERY_TOO_COMPLICATED ---------------------------------------------------------------


def test_a_query_too_complicated_is_read_with_its_fields_split(
    fresh_sandbox: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = fresh_sandbox()
    expected = _extract(make_connector(running))
    since = Cursor(datetime(2017, 12, 31, 18, 30, tzinfo=UTC))
    expected_since = records_of(make_connector(running).fetch_opportunities(since))
    # more than the stage, partner and history reads select; fewer than the opportunity read
    before = _stats(running)["statuses"].get("salesforce 400", 0)
    set_faults(running, "query_fields_limit=8")
    caplog.set_level(logging.WARNING)

    assert _extract(make_connector(running)) == expected
    assert records_of(make_connector(running).fetch_opportunities(since)) == expected_since

    assert _stats(running)["statuses"]["salesforce 400"] - before >= 2  # once per read
    assert "QUERY_TOO_COMPLICATED" in caplog.text


def test_a_query_too_complicated_at_two_fields_ends_the_read(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    accounts = _accounts(running)[:3]
    before = _stats(running)["statuses"].get("salesforce 400", 0)
    set_faults(running, "query_fields_limit=1")

    with pytest.raises(CrmApiError) as refused:
        connector.read_fields(accounts, ["Name", "Region__c", "Type", "Industry"])

    assert refused.value.error_code == "QUERY_TOO_COMPLICATED"
    # five fields, then at most two (Id and one more): refused twice, not endlessly
    assert _stats(running)["statuses"]["salesforce 400"] - before == 2


# --- UNABLE_TO_LOCK_ROW ------------------------------------------------------------------


def test_locked_records_are_retried_alone_until_written(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    sleep = RecordedSleep()
    connector = make_connector(running, sleep)
    connector.ensure_fields([SCORE, TIER], create=True)
    accounts = _accounts(running)
    updates = _scores(accounts)
    before = _stats(running)["requests"].get(COLLECTIONS, 0)
    set_faults(running, "lock_row=every:10")

    results = connector.update_records(updates)

    assert all(r.ok for r in results)
    # one call of 120, then the 12 locked ones, then the one of those locked again
    assert _stats(running)["requests"][COLLECTIONS] - before == 3
    assert len(sleep.waits) == 2
    set_faults(running, "")
    assert connector.read_fields(accounts, [SCORE.name, TIER.name]) == updates


def test_records_locked_past_the_budget_are_rejected_by_id(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    connector.ensure_fields([SCORE], create=True)
    accounts = _accounts(running)[:5]
    set_faults(running, "lock_row=1.0")
    before = _stats(running)["requests"].get(COLLECTIONS, 0)

    results = connector.update_records({a: {SCORE.name: 50.5} for a in accounts})

    assert _stats(running)["requests"][COLLECTIONS] - before == 1 + writes_module.LOCK_RETRY_ROUNDS
    assert [r.record_id for r in results] == accounts
    for record_id, result in zip(accounts, results, strict=True):
        assert (result.ok, result.error_code) == (False, "UNABLE_TO_LOCK_ROW")
        assert record_id in (result.message or "") and "still locked after 3" in (
            result.message or ""
        )
    set_faults(running, "")
    assert connector.read_fields(accounts, [SCORE.name]) == {
        a: {SCORE.name: None} for a in accounts
    }


# --- REQUEST_LIMIT_EXCEEDED by the org's other users ----------------------------------------


def test_quota_spent_by_others_stops_the_run_and_the_next_resumes(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    all_ids = {o.id for o in records_of(make_connector(running).fetch_opportunities(None))}
    set_faults(running, "daily_limit=100,others_usage=19")  # our 5th call finds it gone
    connector = make_connector(running, max_quota_share=1.0)
    first: list[Opportunity] = []
    cursor: Cursor | None = None
    with pytest.raises(RateLimitExhausted, match=r"TotalRequests|max_quota_share") as stopped:
        for page in connector.fetch_opportunities(None):
            first.extend(page.records)
            cursor = page.cursor or cursor
    assert "next run resumes" in str(stopped.value)
    assert first and cursor is not None  # some pages were read before the stop
    assert len(first) < len(all_ids)

    set_faults(running, "")  # the next day
    rest = records_of(make_connector(running).fetch_opportunities(cursor))
    assert {o.id for o in first} | {o.id for o in rest} == all_ids


# --- long id lists -------------------------------------------------------------------------


def test_long_id_lists_are_chunked_under_the_uri_limit(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    accounts = _accounts(running)
    unknown = [f"001{n:012d}AAA" for n in range(2_880)]  # well-formed ids no record has
    names = connector.read_fields([*unknown, *accounts], ["Name"])
    assert sorted(names) == accounts
    stats = _stats(running)
    assert "salesforce 414" not in stats["statuses"]
    query = stats["requests"]["salesforce GET /services/data/v<version>/query"]
    assert query >= 5  # 3,000 ids do not fit one URI


# --- compound fields the Bulk API cannot export ------------------------------------------------


def test_a_field_bulk_cannot_export_is_read_over_rest(
    fresh_sandbox: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = fresh_sandbox()
    sf = salesforce_client(running)
    for start in range(0, 2_000, 200):
        made = sf.restful("composite/sobjects", method="POST", json={
            "allOrNone": True, "records": [
                {"attributes": {"type": "Account"}, "Name": f"Reseller {n}", "IsPartner": True}
                for n in range(start, start + 200)]})  # fmt: skip
        assert all(r["success"] for r in made)
    described = {f["name"]: f["type"] for f in sf.Account.describe()["fields"]}
    assert described["BillingAddress"] == "address"

    plain = make_connector(running, bulk_threshold=2_000)
    before = _stats(running)["requests"].get(QUERY_JOBS, 0)
    expected = sorted(p.id for p in records_of(plain.fetch_partners()))
    assert len(expected) == 2_035
    assert _stats(running)["requests"][QUERY_JOBS] == before + 1  # large: read through Bulk

    caplog.set_level(logging.WARNING)
    compound = make_connector(running, bulk_threshold=2_000, partner_region_field="BillingAddress")
    assert sorted(p.id for p in records_of(compound.fetch_partners())) == expected
    assert "Selecting compound data not supported in Bulk Query" in caplog.text
    assert _stats(running)["statuses"]["salesforce 400"] == 1  # refused once, then REST


# --- field lengths ------------------------------------------------------------------------------


def test_text_longer_than_the_field_is_a_rejected_record(fresh_sandbox: Start) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    account = _accounts(running)[0]
    length = {f["name"]: f["length"] for f in connector.describe("Account")["fields"]}["Name"]
    assert length == 255
    (result,) = connector.update_records({account: {"Name": "n" * (length + 1)}})
    assert (result.ok, result.record_id, result.error_code) == (False, account, "STRING_TOO_LONG")
    assert result.fields == ("Name",)


# --- a whole sync through the CLI ------------------------------------------------------------


def test_a_sync_through_lost_answers_and_locked_rows_ends_exact(
    fresh_sandbox: Start, tmp_path: Path
) -> None:
    target = Crm(fresh_sandbox(), "salesforce", tmp_path)
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    set_faults(target.running, "lost_response=every:5,lock_row=every:6")

    synced = target.sync("--out", tmp_path / "out")

    set_faults(target.running, "")
    assert synced.exit_code == 0, synced.output
    assert_holds_scores(target.read(), read_scores(tmp_path / "out" / "scores.csv"))
    target.reset_stats()
    again = target.sync()  # the journal and the org agree: nothing is left to write
    assert again.exit_code == 0, again.output
    assert target.write_calls() == 0 and target.records_written() == 0


def test_a_sync_whose_records_stay_locked_exits_9_and_the_next_writes_them(
    fresh_sandbox: Start, tmp_path: Path
) -> None:
    target = Crm(fresh_sandbox(), "salesforce", tmp_path)
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    set_faults(target.running, "lock_row=1.0")
    target.reset_stats()

    locked = target.sync("--out", tmp_path / "out")

    set_faults(target.running, "")
    assert locked.exit_code == 9, locked.output
    assert "UNABLE_TO_LOCK_ROW" in locked.output
    assert all(partner in locked.output for partner in target.partner_ids())
    assert target.records_written() == 0
    assert "35 of 35 records were rejected" in locked.output
    assert "nothing was written" in locked.output and "the others" not in locked.output
    retried = target.sync()
    assert retried.exit_code == 0, retried.output
    assert_holds_scores(target.read(), read_scores(tmp_path / "out" / "scores.csv"))

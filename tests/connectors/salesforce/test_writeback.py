"""Writeback primitives (issue 5) on a private sandbox: score fields made through the
Tooling API, values written through sObject Collections, outcomes record by record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from connectors.salesforce import writes as writes_module
from core.connector import FieldSpec
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import make_connector
from tests.sandbox.conftest import control, set_faults

SCORE = FieldSpec(
    name="Partner_Score__c", label="Partner score", kind="number", precision=5, scale=1
)
TIER = FieldSpec(
    name="Partner_Tier__c", label="Partner tier", kind="picklist", options=("Gold", "Silver")
)
COLLECTIONS = "salesforce PATCH /services/data/v<version>/composite/sobjects"


def test_fields_are_reported_then_created(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    specs = [
        SCORE,
        TIER,
        FieldSpec(name="Region__c", label="Region", kind="text"),
        FieldSpec(name="Name", label="Name", kind="number"),
        FieldSpec(name="score", label="Score", kind="number"),
    ]
    report = {item.name: item for item in connector.ensure_fields(specs, create=False)}
    assert [item.ok for item in report.values()] == [False, False, True, False, False]
    assert "missing" in report["field Account.Partner_Score__c"].detail
    assert "a number field is needed" in report["field Account.Name"].detail
    assert "__c" in report["field Account.score"].detail
    assert not running.app.salesforce.custom_fields  # reporting creates nothing

    created = connector.ensure_fields([SCORE, TIER], create=True)
    assert all(item.ok and "created" in item.detail for item in created)
    again = connector.ensure_fields([SCORE, TIER], create=False)
    assert all(item.ok and item.detail.startswith("exists") for item in again)
    described = {f["name"]: f for f in connector.describe("Account")["fields"]}
    assert described["Partner_Tier__c"]["type"] == "picklist"
    assert (described["Partner_Score__c"]["precision"], described["Partner_Score__c"]["scale"]) == (
        5,
        1,
    )


def test_updates_are_batched_and_reported_per_record(
    fresh_sandbox: Callable[..., RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    connector.ensure_fields([SCORE, TIER], create=True)
    id_map: dict[str, str] = control(running, "id-map")["salesforce"]
    accounts = sorted(v for k, v in id_map.items() if k.startswith(("partner-", "customer-")))
    assert len(accounts) == 120
    updates: dict[str, dict[str, object]] = {
        record_id: {"Partner_Score__c": float(n % 100), "Partner_Tier__c": "Gold"}
        for n, record_id in enumerate(accounts)
    }
    updates[accounts[7]] = {"Partner_Score__c": "high"}  # a wrong type: rejected alone
    updates["not-an-id"] = {"Partner_Score__c": 1.0}  # never sent
    monkeypatch.setattr(writes_module, "COLLECTION_SIZE", 50)
    set_faults(running, "reject_records=0.1")
    before = control(running, "stats")["requests"].get(COLLECTIONS, 0)

    results = connector.update_records(updates)

    assert control(running, "stats")["requests"][COLLECTIONS] - before == 3  # 121 sent / 50
    assert [r.record_id for r in results] == list(updates)
    by_id = {r.record_id: r for r in results}
    assert by_id["not-an-id"].error_code == "MALFORMED_ID"
    assert by_id[accounts[7]].error_code == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert by_id[accounts[7]].fields == ("Partner_Score__c",)
    rejected = {r.record_id for r in results if r.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert 0 < len(rejected) < 40
    written = [r.record_id for r in results if r.ok]
    assert len(written) == 120 - 1 - len(rejected)
    assert all(by_id[i].fields == ("Partner_Score__c", "Partner_Tier__c") for i in written)

    set_faults(running, "")
    values = connector.read_fields(accounts, ["Partner_Score__c", "Partner_Tier__c"])
    assert set(values) == set(accounts)
    for record_id in written:
        assert values[record_id] == updates[record_id]
    for record_id in rejected | {accounts[7]}:
        assert values[record_id] == {"Partner_Score__c": None, "Partner_Tier__c": None}


def test_datetimes_are_written_as_iso_text(fresh_sandbox: Callable[..., RunningSandbox]) -> None:
    running = fresh_sandbox()
    connector = make_connector(running)
    stamp = FieldSpec(name="Partner_Scored_At__c", label="Scored at", kind="datetime")
    assert all(item.ok for item in connector.ensure_fields([stamp], create=True))
    partner = control(running, "id-map")["salesforce"]["partner-anna-snelling"]
    moment = datetime(2017, 12, 31, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    (result,) = connector.update_records({partner: {stamp.name: moment}})
    assert result.ok, result
    held = connector.read_fields([partner], [stamp.name])[partner][stamp.name]
    assert datetime.fromisoformat(held.replace("+0000", "+00:00")) == moment


INGEST = "salesforce POST /services/data/v<version>/jobs/ingest"


def test_a_large_write_goes_through_bulk_update_jobs_with_the_same_outcomes(
    fresh_sandbox: Callable[..., RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past crm.bulk_write_threshold the records go as Bulk API 2.0 update jobs: each
    record's outcome is read from the job's result files, as a collection call reports it
    (a null as #N/A, a rejected record with its code, a bad id never sent)."""
    running = fresh_sandbox()
    connector = make_connector(running, bulk_poll_seconds=0.0)
    # 120 accounts stand in for a large write: a lower threshold and job size
    connector.settings = connector.settings.model_copy(update={"bulk_write_threshold": 100})
    monkeypatch.setattr(writes_module, "BULK_WRITE_JOB_SIZE", 50)
    connector.ensure_fields([SCORE, TIER], create=True)
    id_map: dict[str, str] = control(running, "id-map")["salesforce"]
    accounts = sorted(v for k, v in id_map.items() if k.startswith(("partner-", "customer-")))
    connector.update_records({a: {"Partner_Tier__c": "Silver"} for a in accounts[:3]})
    updates: dict[str, dict[str, object]] = {
        record_id: {"Partner_Score__c": float(n % 100), "Partner_Tier__c": "Gold"}
        for n, record_id in enumerate(accounts)
    }
    updates[accounts[0]] = {"Partner_Score__c": 12.5, "Partner_Tier__c": None}  # nulls a value
    updates[accounts[1]] = {"Partner_Score__c": 7.0}  # leaves the tier as it is
    updates["not-an-id"] = {"Partner_Score__c": 1.0}  # never sent
    set_faults(running, "reject_records=0.1")
    before = control(running, "stats")["requests"]

    results = connector.update_records(updates)

    after = control(running, "stats")["requests"]
    assert after.get(INGEST, 0) - before.get(INGEST, 0) == 3  # 121 records, 50 a job
    assert after.get(COLLECTIONS, 0) == before.get(COLLECTIONS, 0)
    assert [r.record_id for r in results] == list(updates)
    by_id = {r.record_id: r for r in results}
    assert by_id["not-an-id"].error_code == "MALFORMED_ID"
    rejected = {r.record_id for r in results if r.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert 0 < len(rejected) < 40
    assert all(by_id[i].fields for i in rejected)
    written = [r.record_id for r in results if r.ok]
    assert len(written) == 120 - len(rejected)

    set_faults(running, "")
    values = connector.read_fields(accounts, ["Partner_Score__c", "Partner_Tier__c"])
    for record_id in written:
        expected = {"Partner_Tier__c": "Silver", **updates[record_id]}
        assert values[record_id] == expected, record_id
    for record_id in rejected - set(accounts[:3]):
        assert values[record_id] == {"Partner_Score__c": None, "Partner_Tier__c": None}

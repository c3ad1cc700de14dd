"""The activity objects in the store: upserted and deleted by id like opportunities, and
read back as None when the CRM did not let the last sync read them (no data, not zero)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from core.connector import Cursor
from core.schema import ACTIVITY_ENTITIES, Call, CallOutcome, Case, Lead
from store import LocalStore
from store.schema import MIGRATIONS, migrate


def _lead(lead_id: str, **fields: object) -> Lead:
    return Lead.model_validate({"id": lead_id, "created_date": date(2017, 3, 1), **fields})


def test_a_stream_never_asked_about_is_no_data(store: LocalStore) -> None:
    assert store.activity_tables() == dict.fromkeys(ACTIVITY_ENTITIES)


def test_a_readable_stream_without_records_is_an_empty_table_not_none(store: LocalStore) -> None:
    store.record_activity_access(dict.fromkeys(ACTIVITY_ENTITIES))
    tables = store.activity_tables()
    assert all(table is not None and table.num_rows == 0 for table in tables.values())
    cases = tables["cases"]
    assert cases is not None
    assert cases.schema == ACTIVITY_ENTITIES["cases"].scored_layout


def test_a_stream_the_crm_refused_reads_as_no_data_even_with_records_stored(
    store: LocalStore,
) -> None:
    store.record_activity_access(dict.fromkeys(ACTIVITY_ENTITIES))
    store.upsert_activity("leads", [_lead("L1", partner_id="P1")])
    store.record_activity_access({"leads": "no read access to Lead: grant it"})
    assert store.activity_access()["leads"] == "no read access to Lead: grant it"
    assert store.activity_tables()["leads"] is None


def test_activity_records_are_upserted_by_id_and_deletions_leave_the_reads(
    store: LocalStore,
) -> None:
    store.record_activity_access(dict.fromkeys(ACTIVITY_ENTITIES))
    store.upsert_activity("leads", [_lead("L1"), _lead("L2", partner_id="P1")])
    store.upsert_activity(
        "leads", [_lead("L1", partner_id="P2", converted_date=date(2017, 4, 1))], ["L2"]
    )
    store.upsert_activity(
        "calls",
        [Call(id="K1", opportunity_id="O1", call_date=date(2017, 5, 2), duration_seconds=120,
              outcome=CallOutcome.CONNECTED)],
    )  # fmt: skip
    store.upsert_activity(
        "cases",
        [Case(id="C1", account_id="A1", created_date=date(2017, 5, 1), contact_count=2,
              reopened=True)],
    )  # fmt: skip
    tables = store.activity_tables()
    leads, calls, cases = tables["leads"], tables["calls"], tables["cases"]
    assert leads is not None and calls is not None and cases is not None
    assert leads.to_pylist() == [
        {"id": "L1", "partner_id": "P2", "created_date": date(2017, 3, 1),
         "converted_date": date(2017, 4, 1)},
    ]  # fmt: skip
    assert calls.to_pylist()[0]["outcome"] == "connected"
    assert cases.to_pylist()[0]["reopened"] is True


def test_activity_records_missing_from_the_live_ids_are_marked_deleted_per_stream(
    store: LocalStore,
) -> None:
    store.record_activity_access(dict.fromkeys(ACTIVITY_ENTITIES))
    store.upsert_activity("leads", [_lead("L1"), _lead("L2"), _lead("L3")], ["L3"])
    # a listing may hold ids the store does not keep (L9); L3 was deleted already
    assert store.mark_missing_deleted("leads", [["L1"], ["L9"]]) == ["L2"]
    leads = store.activity_tables()["leads"]
    assert leads is not None and leads.column("id").to_pylist() == ["L1"]
    assert store.mark_missing_deleted("cases", [[]]) == []  # nothing stored, nothing marked

    began = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    store.set_cursor("leads", Cursor(began))
    store.set_cursor("calls", Cursor(began))
    store.set_read_through("leads", began)
    assert store.read_through("leads") == began
    assert store.read_through("calls") is None  # its own, not the leads'


def test_an_unknown_stream_is_refused(store: LocalStore) -> None:
    with pytest.raises(ValueError, match="unknown activity stream"):
        store.record_activity_access({"invoices": None})


def test_a_version_4_store_gains_the_activity_tables_with_no_stream_asked_about(
    store_path: Path,
) -> None:
    conn = duckdb.connect(str(store_path))
    migrate(conn, store_path, MIGRATIONS[:4])
    conn.close()
    with LocalStore.open(store_path, holder="pytest") as store:
        assert store.activity_tables() == dict.fromkeys(ACTIVITY_ENTITIES)

"""Records deleted, then purged by their CRM, between two runs further apart than the CRM
keeps deletions listed (HubSpot 90 days, Salesforce's Recycle Bin 15): the later run
lists the live ids of every stream (opportunities and each activity object), stores the
records deleted and drops them from every KPI. A normal incremental run costs no such
listing. The real CLI, the real store file, the bundled data; the days pass on the CRM's
own clock (its ``Date`` header), never the process's."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.connector import OPPORTUNITIES, Cursor
from core.errors import ConfigError
from core.schema import ACTIVITY_ENTITIES, OpportunityStatus
from partner_kpi.config import parse_config
from partner_kpi.deletions import NO_COMPLETE_READ, NO_CURSOR, reason_to_reconcile, why_reconcile
from sandbox.clients import salesforce_client
from sandbox.server import RunningSandbox, ready_line, write_configs
from store.local import LocalStore
from tests.app.test_audit_crm import AS_OF, read_scores, run_cli
from tests.app.test_hubspot_archived import (
    WINDOW_START,
    Scores,
    assert_one_won_deal_less,
    won_in_window,
)
from tests.sandbox.conftest import control
from tests.writeback.test_sync_logs import JSON_INFO

#: every stream a sync reconciles, each with its own cursor
STREAMS = (OPPORTUNITIES, *ACTIVITY_ENTITIES)
#: stream → the CRM object holding it: HubSpot's (and its sandbox table), Salesforce's
#: (with the filter a call needs: a Task of subtype Call)
HUBSPOT_OBJECTS = {
    OPPORTUNITIES: "deals", "leads": "leads", "quotes": "quotes", "cases": "tickets",
    "calls": "calls", "line_items": "line_items",
}  # fmt: skip
SALESFORCE_OBJECTS = {
    OPPORTUNITIES: "Opportunity", "leads": "Lead", "quotes": "Quote", "cases": "Case",
    "calls": "Task", "line_items": "OpportunityLineItem",
}  # fmt: skip


def _archive(running: RunningSandbox, stream: str, record_id: str) -> None:
    body = {"object_type": HUBSPOT_OBJECTS[stream], "ids": [record_id]}
    assert control(running, "hubspot/archive", body)["archived"] == [record_id]


def _delete(running: RunningSandbox, stream: str, record_id: str) -> None:
    getattr(salesforce_client(running), SALESFORCE_OBJECTS[stream]).delete(record_id)


def _hubspot_live(running: RunningSandbox, stream: str) -> int:
    table = f"hs_{HUBSPOT_OBJECTS[stream]}"
    return int(
        running.app.hubspot.store.query(f'SELECT count(*) FROM "{table}" WHERE "__archived" = 0')[
            0
        ][0]
    )


def _salesforce_live(running: RunningSandbox, stream: str) -> int:
    calls = " AND TaskSubtype = 'Call'" if stream == "calls" else ""
    table = SALESFORCE_OBJECTS[stream]
    sql = f'SELECT count(*) FROM "{table}" WHERE IsDeleted = 0{calls}'
    return int(running.app.salesforce.store.query(sql)[0][0])


#: crm → (how another user deletes a record, the clock route, days past the window, ids a
#: listing call returns: HubSpot's list page, Salesforce's REST query page, and the
#: records of a stream the CRM holds live)
CASES: dict[
    str,
    tuple[
        Callable[[RunningSandbox, str, str], None],
        str,
        int,
        int,
        Callable[[RunningSandbox, str], int],
    ],
] = {
    "hubspot": (_archive, "hubspot/clock", 91, 100, _hubspot_live),
    "salesforce": (_delete, "salesforce/clock", 16, 2000, _salesforce_live),
}


class Runs:
    """Audits of one sandbox through one CRM, each into its own folder, one store."""

    def __init__(self, running: RunningSandbox, crm: str, tmp_path: Path) -> None:
        self.running, self.crm, self.tmp_path = running, crm, tmp_path
        self.ready: dict[str, Any] = json.loads(ready_line(running, write_configs(running)))
        self.config = self.ready["configs"][crm]
        self.store = Path(yaml.safe_load(Path(self.config).read_text())["store"]["path"])
        self.runs = 0
        #: the JSON log records of the last audit
        self.log: list[dict[str, Any]] = []

    def audit(self) -> tuple[dict[str, dict[str, str]], int]:
        """scores.csv of a new audit by partner id, and the CRM calls it made."""
        self.runs += 1
        out = self.tmp_path / f"run{self.runs}"
        before = self.calls()
        done = run_cli("audit", "--config", self.config, "--as-of", AS_OF, "--out", out, "-q",
                       env={**self.ready["env"], **JSON_INFO})  # fmt: skip
        assert done.returncode == 0, done.stderr
        self.log = [json.loads(line) for line in done.stderr.splitlines()]
        scores = {row["partner_id"]: row for row in read_scores(out / "scores.csv")}
        return scores, self.calls() - before

    def calls(self) -> int:
        """API calls the sandbox answered for this CRM (logins left out)."""
        requests: dict[str, int] = control(self.running, "stats")["requests"]
        return sum(
            count
            for route, count in requests.items()
            if route.startswith(f"{self.crm} ") and "oauth2/token" not in route
        )

    def counts(self) -> dict[str, Any]:
        """The counts the last run was stored with."""
        with LocalStore.open(self.store, holder="test") as store:
            return store.list_runs(limit=1)[0].counts

    def stored(self, record_id: str) -> tuple[bool, int, int]:
        """Whether the store holds the record live, how many it holds live and deleted."""
        with LocalStore.open(self.store, holder="test") as store:
            live = set(store.opportunities_table().column("id").to_pylist())
            counts = store.counts()
            return record_id in live, counts.opportunities, counts.opportunities_deleted

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The store's live opportunities and activity records, by stream."""
        with LocalStore.open(self.store, holder="test") as store:
            found = {OPPORTUNITIES: store.opportunities_table().to_pylist()}
            for stream, table in store.activity_tables().items():
                assert table is not None, f"{stream} was not read"
                found[stream] = table.to_pylist()
            return found


def _in_window(day: date | None) -> bool:
    return day is not None and WINDOW_START < day <= date.fromisoformat(AS_OF)


def customers_at_a(opportunities: list[dict[str, Any]]) -> dict[str, set[str]]:
    """KPIS.md: p's customers at A are the accounts of p's won opportunities closed by A."""
    customers: dict[str, set[str]] = {}
    for o in opportunities:
        closed = o["close_date"]
        if (o["status"] == OpportunityStatus.WON.value and o["partner_id"] and o["account_id"]
                and closed is not None and closed <= date.fromisoformat(AS_OF)):  # fmt: skip
            customers.setdefault(o["partner_id"], set()).add(o["account_id"])
    return customers


def pick_lead_and_case(
    tables: dict[str, list[dict[str, Any]]], deal_partner: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A lead of a partner created in the window, and a case created in the window on a
    customer at A of some partner but not of ``deal_partner`` (whose customers the deleted
    deal may change)."""
    lead = next(r for r in tables["leads"] if r["partner_id"] and _in_window(r["created_date"]))
    customers = customers_at_a(tables[OPPORTUNITIES])
    case = next(
        r for r in tables["cases"]
        if _in_window(r["created_date"])
        and r["account_id"] not in customers.get(deal_partner, set())
        and any(r["account_id"] in accounts for accounts in customers.values())
    )  # fmt: skip
    return lead, case


def assert_one_lead_and_case_less(
    before: Scores, after: Scores, lead: dict[str, Any], case: dict[str, Any],
    customers: dict[str, set[str]], deal_partner: str,
) -> None:  # fmt: skip
    """By hand: the lead's partner has one lead less, no other partner's lead count moved;
    each partner (but the deleted deal's) whose customers at A include the case's account
    has one ticket less over the same customers, the others' tickets per customer stand."""
    for p in before:
        dropped = 1 if p == lead["partner_id"] else 0
        assert int(after[p]["lead_count"]) == int(before[p]["lead_count"]) - dropped, p
    for p in set(before) - {deal_partner}:
        mine = customers.get(p, set())
        less = 1 / len(mine) if case["account_id"] in mine else 0.0
        assert float(after[p]["tickets_per_customer"] or "nan") == pytest.approx(
            float(before[p]["tickets_per_customer"] or "nan") - less, abs=2e-6, nan_ok=True
        ), p
    assert any(case["account_id"] in customers.get(p, set()) for p in set(before) - {deal_partner})


@pytest.mark.parametrize("crm", sorted(CASES))
def test_records_purged_between_runs_further_apart_than_the_window_leave_the_kpis(
    crm: str,
    fresh_sandbox: Callable[..., RunningSandbox],
    bundled_seed: Path,
    tmp_path: Path,
) -> None:
    """A deal, a lead and a case, each of its own stream; one run serves every stream."""
    delete, clock, days, page_size, live_in_crm = CASES[crm]
    running = fresh_sandbox()
    deal = won_in_window(bundled_seed)
    ids = control(running, "id-map")[crm]
    record_id, partner = ids[deal.id], ids[str(deal.partner_id)]
    runs = Runs(running, crm, tmp_path)

    before, _ = runs.audit()  # a full read is its own listing: reconciled at no call
    free = {"reason": NO_CURSOR, "marked_deleted": 0, "calls": 0}
    assert runs.counts()["reconciliations"] == {stream: free for stream in STREAMS}
    _, normal = runs.audit()  # a normal incremental run: no listing, no extra call
    assert runs.counts()["reconciliations"] == {}
    assert runs.counts()["reconciled_deleted"] == 0

    tables = runs.tables()
    lead, case = pick_lead_and_case(tables, partner)
    customers = customers_at_a(tables[OPPORTUNITIES])
    delete(running, OPPORTUNITIES, record_id)
    delete(running, "leads", lead["id"])
    delete(running, "cases", case["id"])
    assert control(running, clock, {"advance_days": days})["purged"] >= 3
    after, spent = runs.audit()  # the CRM no longer lists the deletions: only a listing finds them

    live, stored_live, stored_deleted = runs.stored(record_id)
    assert (live, stored_deleted) == (False, 1)
    left = runs.tables()
    assert lead["id"] not in {r["id"] for r in left["leads"]}
    assert case["id"] not in {r["id"] for r in left["cases"]}
    counts = runs.counts()
    reconciled = counts["reconciliations"]
    assert set(reconciled) == set(STREAMS)
    marked = {OPPORTUNITIES: 1, "leads": 1, "cases": 1}
    for stream in STREAMS:
        # every live id, one page a call: the API's minimum for a listing
        listing = math.ceil(live_in_crm(running, stream) / page_size)
        done = reconciled[stream]
        assert (done["marked_deleted"], done["calls"]) == (marked.get(stream, 0), listing), stream
        assert done["reason"].endswith(
            f"longer than the {days - 1} days the CRM lists deleted records"
        )
    assert reconciled[OPPORTUNITIES]["calls"] == math.ceil(stored_live / page_size)
    assert counts["reconciled_deleted"] == 3
    (finished,) = [r for r in runs.log if r["message"] == "audit finished"]
    assert finished["sync"]["reconciled_deleted"] == 3
    assert finished["sync"]["reconciliations"] == counts["reconciliations"]
    logged = [r for r in runs.log if r["message"].startswith("reconciled ")]
    assert sorted(next(iter(r["reconciliation"])) for r in logged) == sorted(STREAMS)  # one each
    # the same incremental read, plus the listings alone
    assert spent == normal + sum(done["calls"] for done in reconciled.values())
    assert_one_won_deal_less(before, after, partner, deal)
    assert_one_lead_and_case_less(before, after, lead, case, customers, partner)

    _, again = runs.audit()  # the listings are recorded as complete reads: the next is normal
    assert runs.counts()["reconciliations"] == {}
    assert again == normal


def test_a_longer_window_in_the_config_is_the_one_used(
    fresh_sandbox: Callable[..., RunningSandbox], bundled_seed: Path, tmp_path: Path
) -> None:
    running = fresh_sandbox()
    runs = Runs(running, "salesforce", tmp_path)
    config = yaml.safe_load(Path(runs.config).read_text())
    config["crm"]["deleted_visible_days"] = 30  # an org whose admin keeps the bin longer
    Path(runs.config).write_text(yaml.safe_dump(config))
    record_id = control(running, "id-map")["salesforce"][won_in_window(bundled_seed).id]
    runs.audit()
    _, normal = runs.audit()
    _delete(running, OPPORTUNITIES, record_id)
    control(running, "salesforce/clock", {"advance_days": 16})
    _, spent = runs.audit()  # 16 days < 30: no listing (so the purge goes unseen, as configured)
    assert runs.counts()["reconciliations"] == {}
    assert spent == normal
    assert runs.stored(record_id)[0]


@pytest.mark.parametrize("value", [0, -3, "yes", True, 1.5])
def test_deleted_visible_days_takes_whole_days_only(value: object) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"crm": {"type": "hubspot", "deleted_visible_days": value}})
    line = str(refused.value)
    assert line.startswith("crm.deleted_visible_days: ")
    assert "\n" not in line


def test_deleted_visible_days_defaults_to_the_crms_own_window() -> None:
    assert parse_config({"crm": {"type": "hubspot"}}).deleted_visible_days == 90
    assert parse_config({"crm": {"type": "salesforce"}}).deleted_visible_days == 15
    overridden = parse_config({"crm": {"type": "salesforce", "deleted_visible_days": 30}})
    assert overridden.deleted_visible_days == 30


def test_a_gap_of_exactly_the_window_needs_no_listing_and_one_second_more_does() -> None:
    read = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    window = timedelta(days=90)
    assert reason_to_reconcile(read, read + window, 90) is None
    late = reason_to_reconcile(read, read + window + timedelta(seconds=1), 90)
    assert late == (
        "90.0 days since the last complete read, longer than the 90 days the CRM lists "
        "deleted records"
    )
    assert reason_to_reconcile(None, read, 90) == NO_COMPLETE_READ  # a v3 store's cursor
    assert reason_to_reconcile(read, read + 10 * window, None) is None  # deletions stay listed


def test_each_stream_reconciles_by_its_own_cursor_and_last_complete_read() -> None:
    """No cursor: free (the read lists every record); within the window: none; beyond it,
    or no complete read on record: a listing; the rest of a full read: none."""
    read = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    incremental = Cursor(read)
    resuming = Cursor(read, full_read_after="4711")
    beyond = read + timedelta(days=16)
    assert why_reconcile(None, None, beyond, 15) == NO_CURSOR
    assert why_reconcile(None, read, beyond, 15) == NO_CURSOR
    assert why_reconcile(incremental, read, read + timedelta(days=15), 15) is None
    assert why_reconcile(incremental, read, beyond, 15) == reason_to_reconcile(read, beyond, 15)
    assert why_reconcile(incremental, None, read, 15) == NO_COMPLETE_READ
    assert why_reconcile(resuming, read, beyond, 15) is None
    assert why_reconcile(resuming, None, beyond, 15) is None

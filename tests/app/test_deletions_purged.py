"""A record deleted, then purged by its CRM, between two runs further apart than the CRM
keeps deletions listed (HubSpot 90 days, Salesforce's Recycle Bin 15): the later run
lists the live ids, stores the record deleted and drops it from every KPI. A normal
incremental run costs no such listing. The real CLI, the real store file, the bundled
data; the days pass on the CRM's own clock (its ``Date`` header), never the process's."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import ConfigError
from partner_kpi.config import parse_config
from partner_kpi.deletions import NO_COMPLETE_READ, NO_CURSOR, reason_to_reconcile
from sandbox.clients import salesforce_client
from sandbox.server import RunningSandbox, ready_line, write_configs
from store.local import LocalStore
from tests.app.test_audit_crm import AS_OF, read_scores, run_cli
from tests.app.test_hubspot_archived import assert_one_won_deal_less, won_in_window
from tests.sandbox.conftest import control
from tests.writeback.test_sync_logs import JSON_INFO


def _archive(running: RunningSandbox, record_id: str) -> None:
    assert control(running, "hubspot/archive", {"ids": [record_id]})["archived"] == [record_id]


def _delete(running: RunningSandbox, record_id: str) -> None:
    salesforce_client(running).Opportunity.delete(record_id)


#: crm → (how another user deletes a record, the clock route, days past the window, ids a
#: listing call returns: HubSpot's list page, Salesforce's REST query page)
CASES: dict[str, tuple[Callable[[RunningSandbox, str], None], str, int, int]] = {
    "hubspot": (_archive, "hubspot/clock", 91, 100),
    "salesforce": (_delete, "salesforce/clock", 16, 2000),
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


@pytest.mark.parametrize("crm", sorted(CASES))
def test_a_record_purged_between_runs_further_apart_than_the_window_leaves_the_kpis(
    crm: str,
    fresh_sandbox: Callable[..., RunningSandbox],
    bundled_seed: Path,
    tmp_path: Path,
) -> None:
    delete, clock, days, page_size = CASES[crm]
    running = fresh_sandbox()
    deal = won_in_window(bundled_seed)
    ids = control(running, "id-map")[crm]
    record_id, partner = ids[deal.id], ids[str(deal.partner_id)]
    runs = Runs(running, crm, tmp_path)

    before, _ = runs.audit()  # a full read is its own listing: reconciled at no call
    assert runs.counts()["reconciliations"] == {
        "opportunities": {"reason": NO_CURSOR, "marked_deleted": 0, "calls": 0}
    }
    _, normal = runs.audit()  # a normal incremental run: no listing, no extra call
    assert runs.counts()["reconciliations"] == {}
    assert runs.counts()["reconciled_deleted"] == 0

    delete(running, record_id)
    assert control(running, clock, {"advance_days": days})["purged"] >= 1
    after, spent = runs.audit()  # the CRM no longer lists the deletion: only a listing finds it

    live, stored_live, stored_deleted = runs.stored(record_id)
    assert (live, stored_deleted) == (False, 1)
    listing = math.ceil(stored_live / page_size)  # every live id, one page a call
    counts = runs.counts()
    reconciled = counts["reconciliations"]["opportunities"]
    assert (reconciled["marked_deleted"], reconciled["calls"]) == (1, listing)
    assert reconciled["reason"].endswith(
        f"longer than the {days - 1} days the CRM lists deleted records"
    )
    assert counts["reconciled_deleted"] == 1
    (finished,) = [r for r in runs.log if r["message"] == "audit finished"]
    assert finished["sync"]["reconciled_deleted"] == 1
    assert finished["sync"]["reconciliations"] == counts["reconciliations"]
    assert spent == normal + listing  # the same incremental read, plus the listing alone
    assert_one_won_deal_less(before, after, partner, deal)

    _, again = runs.audit()  # the listing is recorded as a complete read: the next is normal
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
    _delete(running, record_id)
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

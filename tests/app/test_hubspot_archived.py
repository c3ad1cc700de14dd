"""A HubSpot deal archived by another user between two audits: the next incremental run
stores it deleted and it leaves every KPI; restored, it comes back; once purged from the
recycling bin (90 days by the portal's clock) it stays deleted. The real CLI, the real
store file, the bundled data."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.seed import read_seed
from core.schema import Opportunity, OpportunityStatus
from sandbox.server import RunningSandbox, ready_line, write_configs
from store.local import LocalStore
from tests.app.test_audit_crm import AS_OF, read_scores, run_cli
from tests.sandbox.conftest import control

WINDOW_START = date(2016, 12, 31)  # the default window of 365 days ending at AS_OF


def won_in_window(seed: Path) -> Opportunity:
    """A won deal of a partner, closed in the audit's window, with an amount."""
    return next(
        o
        for o in read_seed(seed).opportunities
        if o.status is OpportunityStatus.WON
        and o.partner_id is not None
        and o.amount
        and o.close_date is not None
        and WINDOW_START < o.close_date <= date.fromisoformat(AS_OF)
    )


Scores = dict[str, dict[str, str]]


def assert_one_won_deal_less(
    before: Scores, after: Scores, partner: str, deal: Opportunity
) -> None:
    """By hand: ``partner`` has one won deal less and ``deal``'s amount less; no other
    partner's deal count or won amount changed."""
    assert int(after[partner]["deal_count"]) == int(before[partner]["deal_count"]) - 1
    assert float(after[partner]["won_amount"]) == pytest.approx(
        float(before[partner]["won_amount"]) - float(deal.amount or 0)
    )
    others = {p for p in before if p != partner}
    assert all(after[p]["deal_count"] == before[p]["deal_count"] for p in others)
    assert all(after[p]["won_amount"] == before[p]["won_amount"] for p in others)


class Audits:
    """Audits of one sandbox through HubSpot, each into its own folder, one store."""

    def __init__(self, running: RunningSandbox, tmp_path: Path) -> None:
        self.ready: dict[str, Any] = json.loads(ready_line(running, write_configs(running)))
        self.config = self.ready["configs"]["hubspot"]
        self.store = Path(yaml.safe_load(Path(self.config).read_text())["store"]["path"])
        self.tmp_path = tmp_path
        self.runs = 0

    def run(self) -> dict[str, dict[str, str]]:
        """scores.csv of a new audit, by partner id."""
        self.runs += 1
        out = self.tmp_path / f"run{self.runs}"
        done = run_cli("audit", "--config", self.config, "--as-of", AS_OF, "--out", out, "-q",
                       env=self.ready["env"])  # fmt: skip
        assert done.returncode == 0, done.stderr
        return {row["partner_id"]: row for row in read_scores(out / "scores.csv")}

    def stored(self, deal_id: str) -> tuple[bool, int]:
        """Whether the store holds the deal live, and how many deals it holds deleted."""
        with LocalStore.open(self.store, holder="test") as store:
            live = set(store.opportunities_table().column("id").to_pylist())
            return deal_id in live, store.counts().opportunities_deleted


def test_a_deal_archived_between_runs_leaves_the_kpis_and_comes_back_when_restored(
    fresh_sandbox: Callable[..., RunningSandbox], bundled_seed: Path, tmp_path: Path
) -> None:
    running = fresh_sandbox()
    deal = won_in_window(bundled_seed)
    ids = control(running, "id-map")["hubspot"]
    deal_id, partner = ids[deal.id], ids[str(deal.partner_id)]
    audits = Audits(running, tmp_path)
    before = audits.run()  # a full read
    assert audits.stored(deal_id) == (True, 0)

    archived = control(running, "hubspot/archive", {"object_type": "deals", "ids": [deal_id]})
    assert archived["archived"] == [deal_id]
    after = audits.run()  # incremental: the archived deal comes as a deletion
    assert audits.stored(deal_id) == (False, 1)
    assert_one_won_deal_less(before, after, partner, deal)

    assert control(running, "hubspot/restore", {"ids": [deal_id]})["restored"] == [deal_id]
    restored = audits.run()
    assert audits.stored(deal_id) == (True, 0)
    assert restored == before  # every partner's KPIs, score and tier as before


def test_a_deal_purged_after_90_days_stays_deleted(
    fresh_sandbox: Callable[..., RunningSandbox], bundled_seed: Path, tmp_path: Path
) -> None:
    running = fresh_sandbox()
    deal = won_in_window(bundled_seed)
    deal_id = control(running, "id-map")["hubspot"][deal.id]
    audits = Audits(running, tmp_path)
    audits.run()
    control(running, "hubspot/archive", {"ids": [deal_id]})
    deleted = audits.run()
    assert audits.stored(deal_id) == (False, 1)

    assert control(running, "hubspot/clock", {"advance_days": 91})["purged"] == 1
    assert audits.run() == deleted  # gone from HubSpot for good, and from every KPI
    assert audits.stored(deal_id) == (False, 1)
    assert control(running, "hubspot/restore", {"ids": [deal_id]}) == {
        "restored": [], "not_found": [deal_id]
    }  # fmt: skip

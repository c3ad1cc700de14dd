"""A third CRM is a plug-in: this module alone registers a toy adapter backed by an
in-memory fake, and the real CLI audits it and syncs it (dry run, then for real)
without a line of the app, writeback or config naming it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from click.testing import CliRunner, Result

from connectors.registry import adapters, registered
from core.adapter import CrmAdapter, CrmSettings, ScoringFields
from core.connector import (
    OPPORTUNITIES,
    ApiUsage,
    CheckItem,
    Connector,
    Cursor,
    FieldSpec,
    Page,
    WriteResult,
)
from core.schema import (
    ACTIVITY_ENTITIES,
    Lead,
    Opportunity,
    OpportunityStatus,
    Partner,
    StageChange,
    StageDef,
)
from partner_kpi.cli import main
from partner_kpi.extract import extract_into_store
from store import LocalStore

AS_OF = "2024-06-30"
CHANGED_AT = datetime(2024, 6, 1, tzinfo=UTC)


class ToySettings(CrmSettings):
    """The toy's ``crm:`` section: nothing but its type."""

    type: Literal["toy"]


@dataclass
class ToyCrm:
    """Partner records (field → value), the deals, and every call counted."""

    partners: dict[str, dict[str, Any]]
    opportunities: list[Opportunity]
    fields: dict[str, str] = field(default_factory=dict)  # name → kind
    write_calls: int = 0
    #: the activity objects the toy has, by stream (a stream absent: no such object)
    activity: dict[str, list[Any]] = field(default_factory=dict)


def _won(oid: str, partner: str, amount: float, closed: date) -> Opportunity:
    return Opportunity(
        id=oid, partner_id=partner, account_id=f"acct-{oid}", stage="Won",
        status=OpportunityStatus.WON, probability=1.0, amount=amount,
        created_date=date(2024, 1, 2), close_date=closed,
    )  # fmt: skip


def toy_crm() -> ToyCrm:
    """Alpha won 1,000 and 3,000 and lost one; Beta won 500 and has 2,000 open; Gamma none."""
    lost = Opportunity(
        id="o3", partner_id="alpha", stage="Lost", status=OpportunityStatus.LOST,
        probability=0.0, amount=700.0, created_date=date(2024, 1, 2), close_date=date(2024, 3, 1),
    )  # fmt: skip
    open_deal = Opportunity(
        id="o5", partner_id="beta", stage="Open", status=OpportunityStatus.OPEN,
        probability=0.5, amount=2000.0, created_date=date(2024, 5, 1),
    )  # fmt: skip
    return ToyCrm(
        partners={"alpha": {"name": "Alpha"}, "beta": {"name": "Beta"}, "gamma": {"name": "Gamma"}},
        opportunities=[
            _won("o1", "alpha", 1000.0, date(2024, 2, 1)),
            _won("o2", "alpha", 3000.0, date(2024, 4, 1)),
            lost,
            _won("o4", "beta", 500.0, date(2024, 3, 15)),
            open_deal,
        ],
    )


@dataclass
class ToyConnector:
    """The Connector protocol over a ToyCrm: one page per stream, everything changed once."""

    crm_data: ToyCrm
    crm: str = "toy"

    def check(self) -> list[CheckItem]:
        return [CheckItem("toy", True, "in memory")]

    def fetch_stage_defs(self) -> list[StageDef]:
        return [
            StageDef(name="Open", status=OpportunityStatus.OPEN, probability=0.5, sort_order=1),
            StageDef(name="Won", status=OpportunityStatus.WON, probability=1.0, sort_order=2),
            StageDef(name="Lost", status=OpportunityStatus.LOST, probability=0.0, sort_order=3),
        ]

    def fetch_partners(self) -> Iterator[Page[Partner]]:
        partners = [Partner(id=pid, name=r["name"]) for pid, r in self.crm_data.partners.items()]
        yield Page(partners)

    def fetch_opportunities(self, since: Cursor | None) -> Iterator[Page[Opportunity]]:
        if since is None:  # nothing changes after the first read
            yield Page(list(self.crm_data.opportunities), cursor=Cursor(CHANGED_AT, "o5"))

    def fetch_stage_changes(self, since: Cursor | None) -> Iterator[Page[StageChange]]:
        if since is None:
            changes = [
                StageChange(id=f"h-{o.id}", opportunity_id=o.id, stage=o.stage,
                            entered_at=datetime.combine(o.created_date, datetime.min.time(), UTC))
                for o in self.crm_data.opportunities
            ]  # fmt: skip
            yield Page(changes, cursor=Cursor(CHANGED_AT, "h-o5"))

    def fetch_live_ids(self, stream: str) -> Iterator[list[str]]:
        if stream == OPPORTUNITIES:
            yield [o.id for o in self.crm_data.opportunities]
        else:
            yield [record.id for record in self.crm_data.activity[stream]]

    def activity_access(self) -> dict[str, str | None]:
        return {
            stream: None if stream in self.crm_data.activity else "no such object in the toy"
            for stream in ACTIVITY_ENTITIES
        }

    def fetch_activity(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        if since is None:
            yield Page(list(self.crm_data.activity[stream]), cursor=Cursor(CHANGED_AT, "z"))

    def crm_time(self) -> datetime | None:
        return None  # the toy has no clock: the machine's stands in

    def usage(self) -> ApiUsage:
        return ApiUsage()

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        partners = self.crm_data.partners
        return {rid: {f: partners[rid].get(f) for f in fields} for rid in record_ids}

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        self.crm_data.write_calls += 1
        for rid, values in updates.items():
            self.crm_data.partners[rid].update(values)
        return [WriteResult(rid, True, fields=tuple(values)) for rid, values in updates.items()]

    def ensure_fields(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        items = []
        for spec in specs:
            if spec.name not in self.crm_data.fields and create:
                self.crm_data.fields[spec.name] = spec.kind
            present = spec.name in self.crm_data.fields
            items.append(CheckItem(spec.name, present, "exists" if present else "missing"))
        return items


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[tuple[ToyCrm, Path]]:
    """The toy adapter registered for one test, and a config that selects it."""
    crm_data = toy_crm()

    def connect(
        _settings: ToySettings, _environ: Mapping[str, str], _scoring: ScoringFields
    ) -> Connector:
        return ToyConnector(crm_data)

    adapter = CrmAdapter(
        name="toy",
        settings_model=ToySettings,
        connect=connect,
        field_name=lambda output: f"toy_{output}",
        write_batch_size=2,
    )
    config = tmp_path / "toy.yaml"
    config.write_text(
        yaml.safe_dump({"crm": {"type": "toy"}, "store": {"path": str(tmp_path / "toy.db")}})
    )
    with registered(adapter):
        yield crm_data, config


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_the_toy_is_known_only_while_registered(toy: tuple[ToyCrm, Path]) -> None:
    assert "toy" in adapters()
    assert {"salesforce", "hubspot"} <= set(adapters())


def test_audit_runs_through_the_toy(toy: tuple[ToyCrm, Path], tmp_path: Path) -> None:
    _, config = toy
    done = cli("audit", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "out")
    assert done.exit_code == 0, done.output
    assert "scored 3 partners" in done.output
    assert "synced 3 partners, 5 opportunities (0 deleted), 5 stage changes" in done.output
    with (tmp_path / "out" / "scores.csv").open(newline="") as handle:
        rows = {row["partner_id"]: row for row in csv.DictReader(handle)}
    # hand-computed from toy_crm(): won deals in the year to 2024-06-30
    assert {pid: row["deal_count"] for pid, row in rows.items()} == {
        "alpha": "2", "beta": "1", "gamma": "0",
    }  # fmt: skip
    assert float(rows["alpha"]["won_amount"]) == 4000.0
    assert float(rows["alpha"]["close_rate"]) == pytest.approx(2 / 3)
    assert float(rows["beta"]["pipeline_value"]) == 2000.0
    assert float(rows["beta"]["weighted_pipeline"]) == 1000.0


def test_sync_dry_run_then_sync_through_the_toy(toy: tuple[ToyCrm, Path], tmp_path: Path) -> None:
    crm_data, config = toy
    assert cli("fields", "create", "--config", config).exit_code == 0
    assert set(crm_data.fields) == {"toy_score", "toy_tier", "toy_drivers", "toy_scored_at"}

    dry = cli("sync", "--config", config, "--as-of", AS_OF, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "plan: 3 records to update (12 field changes), 0 already up to date" in dry.output
    assert crm_data.write_calls == 0
    assert all("toy_score" not in record for record in crm_data.partners.values())

    out = tmp_path / "out"
    done = cli("sync", "--config", config, "--as-of", AS_OF, "--out", out)
    assert done.exit_code == 0, done.output
    assert crm_data.write_calls == 2  # 3 records, 2 a call (the adapter's batch size)
    with (out / "scores.csv").open(newline="") as handle:
        scored = {row["partner_id"]: row for row in csv.DictReader(handle)}
    for pid, record in crm_data.partners.items():
        assert record["toy_score"] == pytest.approx(float(scored[pid]["score"]))
        assert record["toy_tier"] == scored[pid]["tier"]
        assert record["toy_scored_at"] is not None

    again = cli("sync", "--config", config, "--as-of", AS_OF)
    assert again.exit_code == 0, again.output
    assert "plan: 0 records to update (0 field changes), 3 already up to date" in again.output
    assert crm_data.write_calls == 2  # an unchanged run writes nothing


def test_sync_writes_then_exits_10_when_data_quality_left_records_out(
    toy: tuple[ToyCrm, Path], tmp_path: Path
) -> None:
    """A won deal of 1e15 (won amounts 500, 1,000, 3,000 and 1e15: median 2,000, bound
    2,000,000) is left out; every score is still written, the drivers say why, and only
    then exit 10."""
    crm_data, config = toy
    crm_data.opportunities.append(_won("o9", "beta", 1e15, date(2024, 5, 1)))
    assert cli("fields", "create", "--config", config).exit_code == 0
    done = cli("sync", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "out")
    assert done.exit_code == 10, done.output
    assert crm_data.write_calls == 2  # all 3 records written before the exit code
    assert crm_data.partners["beta"]["toy_drivers"].endswith(
        "; 1 record excluded by data-quality rules (amount_implausible)"
    )
    assert "toy_drivers" in crm_data.partners["alpha"]
    assert "excluded" not in crm_data.partners["alpha"]["toy_drivers"]
    with (tmp_path / "out" / "scores.csv").open(newline="") as handle:
        won = {row["partner_id"]: row["won_amount"] for row in csv.DictReader(handle)}
    assert won == {"alpha": "4000.0", "beta": "500.0", "gamma": "0.0"}
    with (tmp_path / "out" / "quality.csv").open(newline="") as handle:
        (row,) = csv.DictReader(handle)
    assert (row["record_id"], row["partner_name"], row["rule"], row["action"]) == (
        "o9", "Beta", "amount_implausible", "exclude",
    )  # fmt: skip


def test_a_partner_the_crm_no_longer_returns_leaves_the_scores(
    toy: tuple[ToyCrm, Path], tmp_path: Path
) -> None:
    """Partners are read whole: one gone from the CRM (purged, or no longer a partner) is
    marked deleted in the store and is not scored again."""
    crm_data, config = toy
    first = cli("audit", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "a")
    assert first.exit_code == 0 and "scored 3 partners" in first.output, first.output
    del crm_data.partners["gamma"]
    second = cli("audit", "--config", config, "--as-of", AS_OF, "--out", tmp_path / "b")
    assert second.exit_code == 0, second.output
    assert "scored 2 partners" in second.output
    with (tmp_path / "b" / "scores.csv").open(newline="") as handle:
        assert sorted(row["partner_id"] for row in csv.DictReader(handle)) == ["alpha", "beta"]
    with LocalStore.open(tmp_path / "toy.db", holder="test") as store:
        assert store.list_runs(limit=1)[0].counts["partners_gone"] == 1


def test_a_sync_reads_the_activity_objects_the_crm_has_and_records_those_it_lacks(
    tmp_path: Path,
) -> None:
    crm = toy_crm()
    crm.activity["leads"] = [
        Lead(id="l1", partner_id="alpha", created_date=date(2024, 3, 1)),
        Lead(id="l2", partner_id=None, created_date=date(2024, 4, 1)),
    ]
    crm.activity["calls"] = []  # the object exists and holds nothing
    with LocalStore.open(tmp_path / "toy.duckdb", holder="pytest") as store:
        first = extract_into_store(ToyConnector(crm), store)
        again = extract_into_store(ToyConnector(crm), store)
        tables = store.activity_tables()
    assert first.activity == {
        "leads": {"records": 2, "deleted": 0}, "calls": {"records": 0, "deleted": 0}
    }  # fmt: skip
    assert set(first.activity_unavailable) == {"quotes", "cases", "line_items"}
    assert again.activity == {
        "leads": {"records": 0, "deleted": 0}, "calls": {"records": 0, "deleted": 0}
    }  # fmt: skip
    leads, calls = tables["leads"], tables["calls"]
    assert leads is not None and sorted(leads["id"].to_pylist()) == ["l1", "l2"]
    assert calls is not None and calls.num_rows == 0
    assert tables["quotes"] is None and tables["cases"] is None and tables["line_items"] is None

"""`partner-kpi fields`, `sync`, `rollback` and `history` against the sandbox, for both CRMs.

The CLI runs in-process (click's runner, the secrets in its environment); the
CRM's values are read back with the unmodified client libraries, and write
calls are counted by the sandbox's own request statistics.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from partner_kpi.cli import main
from sandbox.server import RunningSandbox, ready_line, write_configs
from tests.sandbox.conftest import control, hubspot_client, salesforce_client, set_faults

AS_OF = "2017-12-31"
PARTNERS = 35
#: score outputs written in these tests: the defaults plus four KPI columns
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "close_rate": {}, "won_amount": {}, "deal_count": {}, "top_channel": {},
}  # fmt: skip
SCALES = {"score": 1, "close_rate": 4, "won_amount": 2, "deal_count": 0}
FIELDS = {
    "salesforce": {
        "score": "Partner_Score__c",
        "tier": "Partner_Tier__c",
        "drivers": "Partner_Score_Drivers__c",
        "scored_at": "Partner_Scored_At__c",
        "close_rate": "Partner_Close_Rate__c",
        "won_amount": "Partner_Won_Amount__c",
        "deal_count": "Partner_Deal_Count__c",
        "top_channel": "Partner_Top_Channel__c",
    },
    "hubspot": {
        "score": "partner_score",
        "tier": "partner_tier",
        "drivers": "partner_score_drivers",
        "scored_at": "partner_scored_at",
        "close_rate": "partner_close_rate",
        "won_amount": "partner_won_amount",
        "deal_count": "partner_deal_count",
        "top_channel": "partner_top_channel",
    },
}
WRITE_ROUTES = {
    "salesforce": "salesforce PATCH /services/data/v<version>/composite/sobjects",
    "hubspot": "hubspot POST /crm/v3/objects/<object_type>/batch/update",
}
BATCH = {"salesforce": 200, "hubspot": 100}
CRMS = pytest.mark.parametrize("crm", ["salesforce", "hubspot"])


class Crm:
    """One sandbox seen through one CRM: its config, the CLI, the client library, stats."""

    def __init__(self, running: RunningSandbox, crm: str, folder: Path, **sections: Any) -> None:
        self.running, self.crm, self.folder = running, crm, folder
        paths = write_configs(running)
        self.env: dict[str, str] = json.loads(ready_line(running, paths))["env"]
        document = yaml.safe_load(paths[crm].read_text())
        document["crm"] |= {"backoff_initial_seconds": 0, "backoff_max_seconds": 0}
        self.store = folder / f"{crm}-store.db"
        document["store"]["path"] = str(self.store)
        document["writeback"] = {"fields": EXTRA_FIELDS}
        for key, value in sections.items():
            document[key] = value
        self.config = folder / f"{crm}.yaml"
        self.config.write_text(yaml.safe_dump(document))
        self.fields = FIELDS[crm]

    def cli(self, *args: str | Path) -> Result:
        runner = CliRunner()
        return runner.invoke(main, [str(a) for a in args], env=self.env, catch_exceptions=False)

    def sync(self, *args: str | Path) -> Result:
        return self.cli("sync", "--config", self.config, "--as-of", AS_OF, *args)

    def write_calls(self) -> int:
        return int(control(self.running, "stats")["requests"].get(WRITE_ROUTES[self.crm], 0))

    def records_written(self) -> int:
        return int(control(self.running, "stats")["records_written"].get(self.crm, 0))

    def reset_stats(self) -> None:
        control(self.running, "reset-stats", {})

    def partner_ids(self) -> list[str]:
        ids = control(self.running, "id-map")[self.crm]
        return sorted(v for k, v in ids.items() if k.startswith("partner-"))

    def read(self) -> dict[str, dict[str, Any]]:
        """Every partner record's mapped fields, by output, read with the client library."""
        names = list(self.fields.values())
        outputs = {name: output for output, name in self.fields.items()}
        if self.crm == "salesforce":
            sf = salesforce_client(self.running)
            rows = sf.query_all_iter(
                f"SELECT Id, {', '.join(names)} FROM Account WHERE IsPartner = true"
            )
            return {r["Id"]: {outputs[n]: r[n] for n in names} for r in rows}
        hs = hubspot_client(self.running)
        found: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            page = hs.crm.companies.basic_api.get_page(limit=100, after=after, properties=names)
            for company in page.results:
                found[company.id] = {outputs[n]: company.properties.get(n) for n in names}
            if page.paging is None or page.paging.next is None:
                break
            after = page.paging.next.after
        partners = set(self.partner_ids())
        return {rid: values for rid, values in found.items() if rid in partners}

    def write(self, values: Mapping[str, Mapping[str, Any]]) -> None:
        """Put values into partner records by hand (output → value), as a user would."""
        if self.crm == "salesforce":
            sf = salesforce_client(self.running)
            for record_id, fields in values.items():
                sf.Account.update(record_id, {self.fields[o]: v for o, v in fields.items()})
            return
        hs = hubspot_client(self.running)
        for record_id, fields in values.items():
            properties = {self.fields[o]: str(v) for o, v in fields.items()}
            hs.crm.companies.basic_api.update(record_id, {"properties": properties})


def at_scale(value: Any, scale: int) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP) + 0


def moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("+0000", "+00:00"))


def assert_holds_scores(
    held: Mapping[str, Mapping[str, Any]], scores: Sequence[dict[str, str]]
) -> None:
    """Every partner record holds exactly its scores.csv row, numbers at the field's scale."""
    assert sorted(held) == sorted(row["partner_id"] for row in scores)
    for row in scores:
        values = held[row["partner_id"]]
        for output, scale in SCALES.items():
            assert at_scale(values[output], scale) == at_scale(row[output], scale), (row, output)
        for output in ("tier", "drivers", "top_channel"):
            assert (values[output] or "") == row[output], (row["partner_id"], output)
        assert moment(values["scored_at"]) == datetime(2017, 12, 31, tzinfo=UTC)


def read_scores(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@CRMS
def test_fields_then_sync_writes_the_scores_once_and_rollback_restores(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
    crm: str,
) -> None:
    target = Crm(fresh_sandbox(), crm, tmp_path)
    synced_store(crm, target.store)  # a scheduled job's store: its runs read what changed

    planned = target.cli("fields", "plan", "--config", target.config)
    assert planned.exit_code == 1, planned.output
    assert planned.output.count("MISSING") == 8
    created = target.cli("fields", "create", "--config", target.config)
    assert created.exit_code == 0, created.output
    assert created.output.count("created") >= 8
    again = target.cli("fields", "create", "--config", target.config)
    assert again.exit_code == 0, again.output
    field_lines = [ln for ln in again.output.splitlines() if ln.startswith(("ok ", "MISSING"))][:8]
    assert all("exists" in line for line in field_lines), again.output
    assert "created" not in again.output  # idempotent: a second run makes nothing
    if crm == "salesforce":  # read and edit through the permission set, assigned already
        assert "read and edit already granted on all 8 fields" in again.output
        assert "assigned to sandbox@partner-kpi.local already" in again.output

    # some partners already hold values (a hand-kept tier, an old score) before the first run
    ids = target.partner_ids()
    target.write({ids[0]: {"score": 12.3, "tier": "Silver"}, ids[1]: {"drivers": "hand-written"}})
    before = target.read()

    # a dry run prints the plan, writes the plan file and writes nothing to the CRM
    target.reset_stats()
    dry = target.sync("--dry-run", "--plan-out", tmp_path / "plan.json")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing is written" in dry.output
    assert f"plan: {PARTNERS} records to update" in dry.output
    assert target.write_calls() == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["summary"]["records_to_update"] == PARTNERS
    assert {c["record_id"] for c in plan["changes"]} == set(ids)
    held_tier = next(
        c for c in plan["changes"] if c["record_id"] == ids[0] and c["output"] == "tier"
    )
    assert held_tier["old"] == "Silver"
    assert target.read() == before

    # the first sync writes every partner in ⌈35 ÷ batch⌉ calls: exactly scores.csv
    target.reset_stats()
    first = target.sync("--out", tmp_path / "out")
    assert first.exit_code == 0, first.output
    assert target.write_calls() == math.ceil(PARTNERS / BATCH[crm]) == 1
    assert target.records_written() == PARTNERS
    scores = read_scores(tmp_path / "out" / "scores.csv")
    assert len(scores) == PARTNERS
    assert_holds_scores(target.read(), scores)
    first_run = first.output.split("run ", 1)[1].split(":", 1)[0]

    # a second sync finds nothing changed and makes no write call at all
    target.reset_stats()
    second = target.sync()
    assert second.exit_code == 0, second.output
    assert target.write_calls() == 0
    assert f"0 records to update (0 field changes), {PARTNERS} already up to date" in second.output

    # numbers compare at the field's scale: 71.04 in a one-decimal field is no change
    nudged = {rid: {"score": float(at_scale(row["score"], 1) or 0) + 0.04}
              for rid, row in ((r["partner_id"], r) for r in scores[:3])}  # fmt: skip
    target.write(nudged)
    target.reset_stats()
    assert target.sync().exit_code == 0
    assert target.write_calls() == 0

    # history lists the runs and a partner's score over time
    runs = target.cli("history", "--config", target.config)
    assert runs.exit_code == 0 and first_run in runs.output, runs.output
    partner = target.cli("history", "--config", target.config, ids[0])
    assert partner.exit_code == 0, partner.output
    assert "score over time" in partner.output and "written to the CRM" in partner.output

    # rollback of the first run restores what the records held before it, in one call, even
    # over a field someone edited since (it says so)
    target.write({ids[5]: {"drivers": "edited by hand"}})
    target.reset_stats()
    undone = target.cli("rollback", "--config", target.config, first_run)
    assert undone.exit_code == 0, undone.output
    assert target.write_calls() == 1
    assert "1 field(s) were changed since that run" in undone.output
    after = target.read()
    assert after == before
    assert after[ids[0]]["tier"] == "Silver"
    assert after[ids[1]]["drivers"] == "hand-written"

    unknown = target.cli("rollback", "--config", target.config, "20990101T000000Z-none")
    assert unknown.exit_code == 2
    assert "no run '20990101T000000Z-none'" in unknown.output


@CRMS
def test_rejected_records_fail_the_run_and_the_next_run_writes_the_rest(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
    crm: str,
) -> None:
    target = Crm(fresh_sandbox(), crm, tmp_path)
    synced_store(crm, target.store)  # a scheduled job's store: its runs read what changed
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    # 5 % of records rejected, 429s and 503s on the way (seed 4 rejects a few records of 35)
    set_faults(target.running, "reject_records=0.05,rate_limit=0.05,server_error=every:9,"
               "retry_after=0,seed=4")  # fmt: skip
    target.reset_stats()

    failed = target.sync("--out", tmp_path / "out")

    set_faults(target.running, "")
    assert failed.exit_code == 9, failed.output
    assert "rejected by the CRM (retried by the next sync)" in failed.output
    held = target.read()
    scores = {row["partner_id"]: row for row in read_scores(tmp_path / "out" / "scores.csv")}
    untouched = {rid for rid, values in held.items() if values["score"] is None}
    assert 0 < len(untouched) < PARTNERS
    for rid in untouched:  # each rejected record is listed with its error code
        assert rid in failed.output
    code = "FIELD_CUSTOM_VALIDATION_EXCEPTION" if crm == "salesforce" else "RECORD_LOCKED"
    assert code in failed.output or "CONFLICT" in failed.output
    accepted = set(held) - untouched
    assert target.records_written() == len(accepted)  # each accepted record written once
    assert_holds_scores(
        {rid: held[rid] for rid in accepted}, [scores[rid] for rid in sorted(accepted)]
    )

    target.reset_stats()
    retried = target.sync()
    assert retried.exit_code == 0, retried.output
    assert target.records_written() == len(untouched)
    assert target.write_calls() == 1
    assert_holds_scores(target.read(), list(scores.values()))


@CRMS
def test_the_tier_guard_refuses_a_mass_tier_change_unless_forced(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
    crm: str,
) -> None:
    target = Crm(fresh_sandbox(), crm, tmp_path)
    synced_store(crm, target.store)  # a scheduled job's store: its runs read what changed
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    assert target.sync().exit_code == 0  # first fill: no tier changes from one tier to another

    strict = Crm(target.running, crm, tmp_path, scoring={"tiers": {"gold": 70.0}})
    target.reset_stats()
    refused = strict.sync()
    assert refused.exit_code == 8, refused.output
    assert "would change tier; the limit is 20%" in refused.output
    assert "--force" in refused.output
    assert target.write_calls() == 0
    dry = strict.sync("--dry-run")
    assert dry.exit_code == 0 and "tier guard: refused" in dry.output

    forced = strict.sync("--force")
    assert forced.exit_code == 0, forced.output
    assert "written anyway (--force)" in forced.output
    assert "refused" not in forced.output and "run again with --force" not in forced.output
    assert target.write_calls() == 1
    held = target.read()
    assert {values["tier"] for values in held.values()} <= {"Platinum", "Gold", "Silver", "Bronze"}
    assert all(
        values["tier"] != "Gold" or float(values["score"]) >= 70.0 for values in held.values()
    )


@CRMS
def test_a_field_of_another_type_is_never_touched(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path, crm: str
) -> None:
    name = {"salesforce": "Name", "hubspot": "name"}[crm]
    target = Crm(fresh_sandbox(), crm, tmp_path, writeback={"fields": {"score": name}})
    before = target.cli("fields", "plan", "--config", target.config)
    assert before.exit_code == 1
    created = target.cli("fields", "create", "--config", target.config)
    assert created.exit_code == 1, created.output
    assert "but a number" in created.output
    made = re.findall(r"(?:field|property) \S+ +created \(", created.output)
    assert len(made) == 3  # tier, drivers, scored_at
    target.reset_stats()
    refused = target.sync()
    assert refused.exit_code == 2, refused.output
    assert "writeback.fields:" in refused.output and "fields create" in refused.output
    assert target.write_calls() == 0

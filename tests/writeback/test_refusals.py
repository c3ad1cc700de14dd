"""A sync that cannot write ends with one clear line and nothing half-written.

Issue 5: "a field of the wrong type, a missing permission, or an expired token each
ends with one clear line naming the field or the fix, and nothing half-written".
Each case runs the real CLI in its own process against the sandbox and checks:
a non-zero exit, exactly one line on stderr (no traceback) naming the field or the
fix, no record written in the CRM (read back with the client library and counted
by the sandbox), and no journal entry marked written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.server import RunningSandbox
from store import JournalOutcome, LocalStore
from tests.sandbox.conftest import control, hubspot_client, salesforce_client
from tests.writeback.test_sandbox import AS_OF, PARTNERS, Crm, read_scores

#: the default field map: score, tier, drivers, scored_at
DEFAULTS: dict[str, Any] = {"fields": {}}
USER = "0055g000000sAndbox"


def fields_of(crm: str) -> dict[str, str]:
    if crm == "salesforce":
        return {
            "score": "Partner_Score__c",
            "tier": "Partner_Tier__c",
            "drivers": "Partner_Score_Drivers__c",
            "scored_at": "Partner_Scored_At__c",
        }
    return {"score": "partner_score", "tier": "partner_tier",
            "drivers": "partner_score_drivers", "scored_at": "partner_scored_at"}  # fmt: skip


def target_for(running: RunningSandbox, crm: str, folder: Path, **crm_keys: Any) -> Crm:
    """The sandbox seen through ``crm`` with the default fields (and ``crm_keys`` set)."""
    target = Crm(running, crm, folder, writeback=DEFAULTS)
    target.fields = fields_of(crm)
    if crm_keys:
        document = yaml.safe_load(target.config.read_text())
        document["crm"] |= crm_keys
        target.config.write_text(yaml.safe_dump(document))
    return target


def sync_process(
    target: Crm, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``partner-kpi sync`` as a scheduler runs it: its own process, the secrets in its env."""
    return subprocess.run(
        [sys.executable, "-m", "partner_kpi", "sync", "--config", str(target.config),
         "--as-of", AS_OF, *args],
        env={**os.environ, **target.env, **(env or {})}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def held_values(target: Crm, outputs: Sequence[str]) -> set[Any]:
    """Every value the partner records hold in these outputs' fields, read back with the
    client library (an empty field is left out)."""
    names = [target.fields[o] for o in outputs]
    if not names:
        return set()
    if target.crm == "salesforce":
        sf = salesforce_client(target.running)
        rows = sf.query_all(f"SELECT {', '.join(names)} FROM Account WHERE IsPartner = true")
        assert len(rows["records"]) == PARTNERS
        return {r[n] for r in rows["records"] for n in names} - {None}
    partners = set(target.partner_ids())
    batch = hubspot_client(target.running).crm.companies.batch_api.read(
        {"inputs": [{"id": p} for p in partners], "properties": names}
    )
    assert len(batch.results) == PARTNERS
    return {c.properties.get(n) for c in batch.results for n in names} - {None, ""}


def assert_refused_cleanly(
    result: subprocess.CompletedProcess[str],
    target: Crm,
    *,
    exit_code: int,
    says: Sequence[str],
    readable: Sequence[str] = ("score", "tier", "drivers", "scored_at"),
) -> str:
    """Exit ``exit_code``, one line on stderr saying ``says``, nothing written anywhere."""
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("partner-kpi: error: ") and "Traceback" not in result.stderr
    for words in says:
        assert words in line, line
    assert target.records_written() == 0
    assert held_values(target, readable) == set()
    with LocalStore.open(target.folder / f"{target.crm}-store.db", holder="pytest") as store:
        assert store.journal(outcome=JournalOutcome.WRITTEN) == []
        (run,) = [run for run in store.list_runs() if run.kind == "sync"]
        assert run.status == "failed"
    return line


def _text_field(sf: Any, name: str, metadata: dict[str, Any]) -> None:
    sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": name, "Metadata": metadata}
    )


def _enumeration(running: RunningSandbox, name: str, options: Sequence[str]) -> None:
    hubspot_client(running).crm.properties.core_api.create(
        "companies",
        {"name": name, "label": name, "type": "enumeration", "fieldType": "select",
         "groupName": "companyinformation",
         "options": [{"label": o, "value": o, "displayOrder": i} for i, o in enumerate(options)]},
    )  # fmt: skip


def _string(running: RunningSandbox, name: str) -> None:
    hubspot_client(running).crm.properties.core_api.create(
        "companies",
        {"name": name, "label": name, "type": "string", "fieldType": "text",
         "groupName": "companyinformation"},
    )  # fmt: skip


#: (crm, what an admin made before partner-kpi came, what the one line must say)
SHAPES: dict[str, tuple[str, Callable[[RunningSandbox], None], tuple[str, ...]]] = {
    "salesforce-type": (
        "salesforce",
        lambda r: _text_field(salesforce_client(r), "Account.Partner_Score__c",
                              {"type": "Text", "length": 40, "label": "Score"}),
        ("field Account.Partner_Score__c: exists (string)", "a number field is needed",
         "map score to another field"),
    ),
    "hubspot-type": (
        "hubspot",
        lambda r: _string(r, "partner_score"),
        ("property companies.partner_score: exists (string)", "a number property is needed",
         "map score to another property"),
    ),
    "salesforce-scale": (
        "salesforce",
        lambda r: _text_field(salesforce_client(r), "Account.Partner_Score__c",
                              {"type": "Number", "precision": 3, "scale": 0, "label": "Score"}),
        ("field Account.Partner_Score__c: exists (double, scale 0), but scale 1 is configured: "
         "set writeback.fields.score.scale: 0 or widen the field",),
    ),
    "salesforce-picklist": (
        "salesforce",
        lambda r: _text_field(salesforce_client(r), "Account.Partner_Tier__c", {
            "type": "Picklist", "label": "Tier", "valueSet": {"valueSetDefinition": {
                "value": [{"fullName": "Gold"}, {"fullName": "Silver"}]}}}),
        ("field Account.Partner_Tier__c: exists (picklist), but has no active value Platinum, "
         "Bronze",),
    ),
    "hubspot-options": (
        "hubspot",
        lambda r: _enumeration(r, "partner_tier", ("Gold", "Silver")),
        ("property companies.partner_tier: exists (enumeration), but has no option Platinum, "
         "Bronze",),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SHAPES))
def test_a_field_of_another_type_or_shape_stops_the_sync_before_any_write(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path, case: str
) -> None:
    crm, made_by_hand, says = SHAPES[case]
    running = fresh_sandbox()
    made_by_hand(running)
    target = target_for(running, crm, tmp_path)
    created = target.cli("fields", "create", "--config", target.config)
    assert created.exit_code == 1, created.output  # the others made; that one left alone
    target.reset_stats()

    refused = sync_process(target)

    line = assert_refused_cleanly(refused, target, exit_code=2, says=("writeback.fields", *says))
    assert "Nothing was written" in line


@pytest.mark.parametrize(
    ("crm", "lack"),
    [("salesforce", "edit"), ("salesforce", "read"), ("hubspot", "write scope")],
)
def test_a_field_the_user_may_not_edit_ends_the_sync_with_nothing_written(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path, crm: str, lack: str
) -> None:
    """Salesforce: field-level security taken away again by an admin (edit, or the whole
    assignment) stops the sync before it reads anything. HubSpot has no field-level
    security; its permission is the private app's scope to write companies, which the
    token's scopes show before the sync reads anything, too."""
    running = fresh_sandbox()
    target = target_for(running, crm, tmp_path)
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    exit_code = 2
    readable: tuple[str, ...] = ("score", "tier", "drivers", "scored_at")
    if lack == "write scope":
        reading = ["crm.objects.companies.read", "crm.objects.deals.read",
                   "crm.schemas.companies.read", "crm.schemas.deals.read"]  # fmt: skip
        control(running, "hubspot/scopes", {"scopes": reading})
        says: tuple[str, ...] = (
            "writeback.fields", "token scopes: the private app lacks crm.objects.companies.write",
            "Private apps → Scopes",
        )  # fmt: skip
    elif lack == "edit":
        sf = salesforce_client(running)  # an admin takes edit access away again
        row = sf.query(
            "SELECT Id FROM FieldPermissions WHERE Parent.Name = 'Partner_KPI_Writeback' "
            "AND Field = 'Account.Partner_Score__c'"
        )["records"][0]["Id"]
        sf.FieldPermissions.update(row, {"PermissionsEdit": False})
        says = ("field Account.Partner_Score__c: exists (double, scale 1), but this user may "
                "not edit it", "permission set Partner_KPI_Writeback")  # fmt: skip
    else:
        sf = salesforce_client(running)  # an admin unassigns the permission set
        assignment = sf.query(
            "SELECT Id FROM PermissionSetAssignment "
            f"WHERE AssigneeId = '{USER}' AND PermissionSet.Name = 'Partner_KPI_Writeback'"
        )["records"][0]["Id"]
        sf.PermissionSetAssignment.delete(assignment)
        says = ("field Account.Partner_Score__c: exists, but is hidden from this user",
                "field Account.Partner_Scored_At__c: exists, but is hidden")  # fmt: skip
        readable = ()  # hidden from every client of this user
    target.reset_stats()

    refused = sync_process(target)

    assert_refused_cleanly(refused, target, exit_code=exit_code, says=says, readable=readable)
    with LocalStore.open(tmp_path / f"{crm}-store.db", holder="pytest") as store:
        pending = {e.record_id for e in store.journal(outcome=JournalOutcome.PENDING)}
    # refused before the extract: nothing was even planned, no write was tried
    assert pending == set()
    requests = control(running, "stats")["requests"]
    assert not any("composite" in r or "batch/update" in r for r in requests)


def _authorised_calls(running: RunningSandbox, crm: str) -> int:
    """API calls made so far that needed a token (logins and the version list do not)."""
    requests: dict[str, int] = control(running, "stats")["requests"]
    unauthenticated = (
        "/services/oauth2/token",
        " /services/data",
        "/oauth/v2/private-apps/get/access-token-info",  # the token goes in the body
    )
    return sum(
        n
        for route, n in requests.items()
        if route.startswith(crm) and not route.endswith(unauthenticated)
    )


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
@pytest.mark.parametrize("when", ["before the run", "at the write"])
def test_a_revoked_token_that_cannot_be_refreshed_ends_the_run_with_nothing_written(
    fresh_sandbox: Callable[..., RunningSandbox],
    synced_store: Callable[[str, Path], None],
    tmp_path: Path,
    crm: str,
    when: str,
) -> None:
    """Salesforce: the refresh token is revoked (the session with it), so the client's
    fresh login fails; HubSpot: the private app's token is revoked. Either at once, or
    right at the write call, after a run has read and planned everything."""
    running = fresh_sandbox()
    keys = {"auth_flow": "refresh_token"} if crm == "salesforce" else {}
    target = target_for(running, crm, tmp_path, **keys)
    synced_store(crm, target.store)  # a scheduled job's store: its runs read what changed
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    after_calls = 0
    if when == "at the write":
        # the calls a run makes before its write: those of a dry run over a filled store
        assert target.sync("--dry-run").exit_code == 0
        target.reset_stats()
        assert target.sync("--dry-run").exit_code == 0
        after_calls = _authorised_calls(running, crm)
    revoked = control(running, f"{crm}/revoke", {"after_calls": after_calls})
    target.reset_stats()

    refused = sync_process(target)
    calls = _authorised_calls(running, crm)

    if crm == "salesforce":
        says: tuple[str, ...] = (
            "Salesforce refused the refresh_token login",
            "invalid_grant: expired access/refresh token",
            "authorize the connected app again and put the new refresh token in "
            "PARTNER_KPI_SF_REFRESH_TOKEN",
        )
    else:
        says = ("HubSpot refused the access token read from PARTNER_KPI_HUBSPOT_TOKEN",
                "rotate the private app's token")  # fmt: skip
    # (a revoked HubSpot token cannot read the records back either: that comes below)
    readable = ("score", "tier", "drivers", "scored_at") if crm == "salesforce" else ()
    assert_refused_cleanly(refused, target, exit_code=3, says=says, readable=readable)
    store_path = tmp_path / f"{crm}-store.db"
    with LocalStore.open(store_path, holder="pytest") as store:
        pending = store.journal(outcome=JournalOutcome.PENDING)
    if when == "at the write":  # the write was refused: the run left its batch pending
        assert calls == after_calls + 1
        assert {e.record_id for e in pending} == set(target.partner_ids())
    else:
        assert pending == []

    # with a new token the next run settles the pending batch as not written, then writes
    if crm == "salesforce":
        renewed = {"PARTNER_KPI_SF_REFRESH_TOKEN": revoked["refresh_token"]}
    else:
        control(running, "hubspot/revoke", {"restore": True})
        assert held_values(target, ("score", "tier", "drivers", "scored_at")) == set()
        renewed = {}
    done = sync_process(target, "--out", str(tmp_path / "out"), env=renewed)
    assert done.returncode == 0, done.stderr
    assert target.records_written() == PARTNERS
    assert_holds_scores_of(target, read_scores(tmp_path / "out" / "scores.csv"))
    with LocalStore.open(store_path, holder="pytest") as store:
        assert store.journal(outcome=JournalOutcome.PENDING) == []
        if when == "at the write":
            assert "settled the pending writes of stopped run(s)" in done.stdout


def assert_holds_scores_of(target: Crm, scores: list[dict[str, str]]) -> None:
    """The four default outputs of every partner hold their scores.csv values."""
    held = target.read()
    assert sorted(held) == sorted(row["partner_id"] for row in scores)
    by_id = {row["partner_id"]: row for row in scores}
    for record_id, values in held.items():
        row = by_id[record_id]
        assert (values["tier"], values["drivers"]) == (row["tier"], row["drivers"])
        assert float(values["score"]) == pytest.approx(float(row["score"]), abs=0.05)

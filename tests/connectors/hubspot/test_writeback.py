"""Writeback (issue 5) against a private sandbox: score properties, batch updates, reads.

Each record's outcome is reported on its own: a 207's errors fail only their
records, with HubSpot's error code; the rest are written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.hubspot.connector import HubSpotConnector
from core.connector import CheckItem, FieldSpec
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import (
    connector_for,
    drain,
    hubspot_calls,
    reset_stats,
)
from tests.sandbox.conftest import control, set_faults
from tests.sandbox.test_hubspot_portal import write_seed

SPECS = [
    FieldSpec(name="partner_score", label="Partner score", kind="number", precision=5, scale=1),
    FieldSpec(
        name="partner_tier_kpi",
        label="Partner tier",
        kind="picklist",
        options=("Platinum", "Gold", "Silver", "Bronze"),
    ),
    FieldSpec(name="partner_score_note", label="Score drivers", kind="text"),
    FieldSpec(name="partner_scored_at", label="Scored at", kind="datetime"),
]


@pytest.fixture
def running(fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path) -> RunningSandbox:
    return fresh_sandbox(write_seed(tmp_path / "seed", 30))  # own: a 30-deal seed


@pytest.fixture
def connector(running: RunningSandbox) -> HubSpotConnector:
    return connector_for(running)


def partner_ids(connector: HubSpotConnector) -> list[str]:
    partners, _, _ = drain(connector.fetch_partners())
    return sorted(p.id for p in partners)


def _properties(items: list[CheckItem]) -> list[CheckItem]:
    return [i for i in items if i.name.startswith("property ")]


def test_ensure_fields_reports_then_creates(connector: HubSpotConnector) -> None:
    before = connector.ensure_fields(SPECS, create=False)
    assert [i.ok for i in _properties(before)] == [False] * 4
    assert all("partner-kpi fields create adds it" in i.detail for i in _properties(before))
    made = connector.ensure_fields(SPECS, create=True)
    assert [i.ok for i in _properties(made)] == [True] * 4, made
    assert all("group partner_kpis" in i.detail for i in _properties(made))
    again = connector.ensure_fields(SPECS, create=False)
    assert [i.ok for i in again] == [True] * 5  # the four properties and the token's scopes
    assert again[-1].name == "token scopes"


@pytest.mark.parametrize(
    ("create", "missing"),
    [
        (False, ["crm.objects.companies.write"]),
        (True, ["crm.objects.companies.write", "crm.schemas.companies.write"]),
    ],
)
def test_a_token_that_may_not_write_is_reported_before_any_write(
    running: RunningSandbox, connector: HubSpotConnector, create: bool, missing: list[str]
) -> None:
    """Writing values needs crm.objects.companies.write; making properties also the
    schemas scope. The token's own scopes say so before anything is tried."""
    reading = [s for s in control(running, "hubspot/scopes")["scopes"] if s.endswith(".read")]
    control(running, "hubspot/scopes", {"scopes": reading})
    scopes = connector.ensure_fields(SPECS, create=create)[-1]
    assert scopes.name == "token scopes" and not scopes.ok
    assert f"the private app lacks {', '.join(missing)}" in scopes.detail
    check = {i.name: i for i in connector.check()}["token scopes"]
    assert not check.ok and "crm.objects.companies.write" in check.detail
    # the token's scopes are asked once per connector, however many checks use them
    info = "hubspot POST /oauth/v2/private-apps/get/access-token-info"
    assert control(running, "stats")["requests"][info] == 1


def test_ensure_fields_refuses_what_cannot_hold_a_score(connector: HubSpotConnector) -> None:
    items = connector.ensure_fields(
        [
            FieldSpec(name="name", label="Name", kind="number"),  # exists, a string
            FieldSpec(name="hs_object_id", label="Id", kind="number"),  # read-only
            FieldSpec(name="Partner Score", label="x", kind="number"),
            FieldSpec(name="score_x", label="x", kind="currency"),
        ],
        create=True,
    )
    items = _properties(items)
    assert [i.ok for i in items] == [False] * 4
    assert "string" in items[0].detail and "read-only" in items[1].detail
    assert "lowercase" in items[2].detail and "unknown field kind" in items[3].detail


def test_update_records_reports_each_record(
    running: RunningSandbox, connector: HubSpotConnector
) -> None:
    connector.ensure_fields(SPECS, create=True)
    first, second, third = partner_ids(connector)
    scored_at = datetime(2017, 12, 31, 18, 0, tzinfo=UTC)
    results = connector.update_records(
        {
            first: {
                "partner_score": 87.5,
                "partner_tier_kpi": "Gold",
                "partner_scored_at": scored_at,
            },
            second: {"partner_score": "high"},
            third: {"partner_tier_kpi": "Diamond"},
            "99999999999": {"partner_score": 1.0},
            "not-an-id": {"partner_score": 1.0},
            "12": {"Partner Score": 1.0},
        }
    )
    outcome = {r.record_id: (r.ok, r.error_code) for r in results}
    assert outcome == {
        first: (True, None),
        second: (False, "INVALID_FLOAT"),
        third: (False, "INVALID_OPTION"),
        "99999999999": (False, "OBJECT_NOT_FOUND"),
        "not-an-id": (False, "INVALID_ID"),
        "12": (False, "INVALID_PROPERTY_NAME"),
    }
    assert [r.record_id for r in results][:3] == [first, second, third]  # input order
    assert next(r for r in results if r.record_id == second).fields == ("partner_score",)

    values = connector.read_fields([first, second, "99999999999"], [s.name for s in SPECS])
    assert values.keys() == {first, second}
    assert values[first] == {
        "partner_score": 87.5,
        "partner_tier_kpi": "Gold",
        "partner_score_note": None,
        "partner_scored_at": scored_at,
    }
    assert values[second]["partner_score"] is None


def test_updates_go_in_batches_of_one_hundred(
    running: RunningSandbox, connector: HubSpotConnector
) -> None:
    connector.ensure_fields(SPECS[:1], create=True)
    ids = partner_ids(connector)
    updates = {f"{int(ids[0]) + n}": {"partner_score": float(n)} for n in range(250)}
    reset_stats(running)
    results = connector.update_records(updates)
    assert len(results) == 250
    assert hubspot_calls(running) == {"hubspot POST /crm/v3/objects/<object_type>/batch/update": 3}
    written = {r.record_id for r in results if r.ok}
    assert set(ids) <= written  # existing companies written, the made-up ids refused


def test_rejected_records_fail_alone(running: RunningSandbox, connector: HubSpotConnector) -> None:
    connector.ensure_fields(SPECS[:1], create=True)
    ids = partner_ids(connector)
    set_faults(running, "reject_records=1.0")
    results = connector.update_records({i: {"partner_score": 50.0} for i in ids})
    assert {(r.ok, r.error_code) for r in results} == {(False, "RECORD_LOCKED")}
    set_faults(running, "seed=0")
    assert all(r.ok for r in connector.update_records({i: {"partner_score": 50.0} for i in ids}))


def test_writes_do_not_disturb_reads(running: RunningSandbox, connector: HubSpotConnector) -> None:
    connector.ensure_fields(SPECS[:1], create=True)
    before, _, _ = drain(connector.fetch_partners())
    connector.update_records({p.id: {"partner_score": 10.0} for p in before})
    after, _, _ = drain(connector_for(running).fetch_partners())
    assert after == before

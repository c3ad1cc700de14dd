"""The bundled data seen through the sandbox's Salesforce API matches the seed reader,
record for record and field for field (ids translated through the sandbox's id map)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors.seed import SeedDataset, read_seed
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control, salesforce_client


@pytest.fixture(scope="module")
def seed(bundled_seed: Path) -> SeedDataset:
    return read_seed(bundled_seed)


@pytest.fixture(scope="module")
def sf(sandbox: RunningSandbox) -> Any:
    return salesforce_client(sandbox)


@pytest.fixture(scope="module")
def id_map(sandbox: RunningSandbox) -> dict[str, str]:
    mapping: dict[str, str] = control(sandbox, "id-map")["salesforce"]
    return mapping


def test_opportunities_match_field_for_field(
    seed: SeedDataset, sf: Any, id_map: dict[str, str]
) -> None:
    served = {
        r["Id"]: r
        for r in sf.query_all_iter(
            "SELECT Id, StageName, IsClosed, IsWon, Probability, Amount, CloseDate, CreatedDate, "
            "LeadSource, AccountId, PartnerAccountId FROM Opportunity"
        )
    }
    assert len(served) == len(seed.opportunities)
    for expected in seed.opportunities:
        record = served[id_map[expected.id]]
        assert record["StageName"] == expected.stage
        assert (record["IsClosed"], record["IsWon"]) == (
            expected.status != "open",
            expected.status == "won",
        )
        assert record["Probability"] == round(expected.probability * 100)
        assert record["Amount"] == expected.amount_original
        assert record["CloseDate"] == (
            expected.close_date.isoformat() if expected.close_date else None
        )
        assert date.fromisoformat(record["CreatedDate"][:10]) == expected.created_date
        assert record["LeadSource"] == expected.lead_source
        assert record["AccountId"] == (id_map[expected.account_id] if expected.account_id else None)
        assert record["PartnerAccountId"] == id_map[expected.partner_id or ""]


def test_partner_accounts_match(seed: SeedDataset, sf: Any, id_map: dict[str, str]) -> None:
    served = {
        r["Id"]: r
        for r in sf.query_all_iter(
            "SELECT Id, Name, Region__c, Owner.Name FROM Account WHERE IsPartner = true"
        )
    }
    assert len(served) == len(seed.partners)
    for partner in seed.partners:
        record = served[id_map[partner.id]]
        assert (record["Name"], record["Region__c"]) == (partner.name, partner.region)
        assert record["Owner"]["Name"] == partner.channel_manager


def test_stage_history_matches_events(seed: SeedDataset, sf: Any, id_map: dict[str, str]) -> None:
    served: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in sf.query_all_iter(
        "SELECT OpportunityId, StageName, CreatedDate FROM OpportunityHistory "
        "ORDER BY OpportunityId, CreatedDate"
    ):
        served[row["OpportunityId"]].append((row["StageName"], row["CreatedDate"][:10]))
    expected: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event in sorted(seed.stage_events, key=lambda e: (e.opportunity_id, e.sequence)):
        expected[id_map[event.opportunity_id]].append((event.stage, event.entered_date.isoformat()))
    assert served == expected


def test_primary_opportunity_partner_is_the_reseller(
    seed: SeedDataset, sf: Any, id_map: dict[str, str]
) -> None:
    partner_of: dict[str, Any] = {
        r["OpportunityId"]: r
        for r in sf.query_all_iter(
            "SELECT OpportunityId, AccountToId, Role, IsPrimary FROM OpportunityPartner"
        )
    }
    for opportunity in seed.opportunities:
        row = partner_of[id_map[opportunity.id]]
        assert (row["AccountToId"], row["Role"], row["IsPrimary"]) == (
            id_map[opportunity.partner_id or ""],
            "Reseller",
            True,
        )

"""HubSpot values → the common schema, without a network: small hand-made records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.hubspot.associations import attribution
from connectors.hubspot.mapping import (
    AssociatedCompany,
    DealRules,
    HsRecord,
    LabelDef,
    PipelineInfo,
    StageInfo,
    local_date,
    opportunity_from_deal,
    parse_ms,
    partner_from_company,
)
from connectors.hubspot.stages import (
    stage_catalog,
    stage_change_id,
    stage_changes,
    visits_from_history,
    visits_from_stage_dates,
)
from core.errors import ConfigError, SchemaError
from core.schema import OpportunityStatus

T0 = 1_483_261_200_000  # 2017-01-01T09:00:00Z


def stage(stage_id: str, label: str, closed: bool, probability: str, order: int) -> StageInfo:
    metadata = {"isClosed": "true" if closed else "false", "probability": probability}
    return StageInfo(stage_id, label, order, metadata)


#: Labels that lie about what the stages mean: only the metadata may decide.
PIPELINE = PipelineInfo(
    id="111",
    label="Partner deals",
    display_order=0,
    stages=(
        stage("1001", "New", False, "0.1", 0),
        stage("1002", "Closed Won (legacy)", False, "0.6", 1),  # open, whatever it says
        stage("1003", "Signed", True, "1.0", 2),
        stage("1004", "Won?", True, "0.0", 3),  # closed lost
    ),
)
OTHER = PipelineInfo(
    id="222",
    label="Renewals",
    display_order=1,
    stages=(stage("2001", "New", False, "0.1", 0), stage("2002", "Renewed", True, "1", 1)),
)


def catalog(wanted: str | None = None) -> Any:
    return stage_catalog([PIPELINE, OTHER], wanted)


def ts(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def deal(deal_id: str = "9001", /, **properties: str | None) -> HsRecord:
    base: dict[str, str | None] = {
        "createdate": ts(T0),
        "hs_lastmodifieddate": ts(T0 + 5_000),
        "dealstage": "1003",
        "pipeline": "111",
        "dealname": "A deal",
        "amount": "100",
        "amount_in_home_currency": "125.5",
        "deal_currency_code": "EUR",
        "closedate": ts(T0 + 86_400_000),
        "lead_source": "Partner Referral",
    }
    base.update(properties)
    return HsRecord(id=deal_id, properties=base)


RULES = DealRules(
    catalog=catalog(),
    lead_source_property="lead_source",
    company_currency="USD",
    zone=ZoneInfo("UTC"),
)


def test_status_comes_from_metadata_never_from_labels() -> None:
    found = {d.name: (d.status, d.probability, d.sort_order) for d in catalog("111").defs}
    assert found == {
        "New": (OpportunityStatus.OPEN, 0.1, 1),
        "Closed Won (legacy)": (OpportunityStatus.OPEN, 0.6, 2),
        "Signed": (OpportunityStatus.WON, 1.0, 3),
        "Won?": (OpportunityStatus.LOST, 0.0, 4),
    }


def test_every_pipeline_by_default_and_shared_labels() -> None:
    both = catalog()
    assert both.pipeline_ids == {"111", "222"}
    assert [d.name for d in both.defs] == [
        "New",
        "Closed Won (legacy)",
        "Signed",
        "Won?",
        "Renewed",
    ]
    assert both.by_id["2001"] == both.by_id["1001"]  # "New" means the same in both
    assert catalog("Renewals").pipeline_ids == {"222"}


def test_one_label_two_meanings_is_refused() -> None:
    clash = PipelineInfo("333", "Odd", 2, (stage("3001", "New", True, "1.0", 0),))
    with pytest.raises(SchemaError, match=r"crm\.pipeline"):
        stage_catalog([PIPELINE, clash], None)


def test_unknown_pipeline_and_bad_metadata() -> None:
    with pytest.raises(ConfigError) as excinfo:
        catalog("Nope")
    assert excinfo.value.key == "crm.pipeline" and "Partner deals (111)" in str(excinfo.value)
    broken = PipelineInfo("444", "Broken", 0, (stage("4001", "X", True, "high", 0),))
    with pytest.raises(SchemaError, match="probability"):
        stage_catalog([broken], None)


def test_partner_is_found_by_type_id_from_the_definitions() -> None:
    labels = [
        LabelDef("HUBSPOT_DEFINED", 341, None),
        LabelDef("HUBSPOT_DEFINED", 5, "Primary"),
        LabelDef("USER_DEFINED", 300, "Reseller"),
        LabelDef("USER_DEFINED", 301, "Referrer"),
    ]
    found = attribution(labels, "Reseller")
    assert found.partner == ("USER_DEFINED", 300) and found.customer == ("HUBSPOT_DEFINED", 5)
    companies = [
        AssociatedCompany("77", frozenset({("USER_DEFINED", 301), ("HUBSPOT_DEFINED", 341)})),
        AssociatedCompany("66", frozenset({("USER_DEFINED", 300), ("HUBSPOT_DEFINED", 341)})),
        AssociatedCompany("12", frozenset({("USER_DEFINED", 300)})),
        AssociatedCompany("55", frozenset({("HUBSPOT_DEFINED", 5)})),
    ]
    assert found.pick(companies) == ("12", "55")  # the lowest of two resellers
    assert found.pick(companies[:1]) == (None, None)
    assert attribution(labels, "reseller").partner == ("USER_DEFINED", 300)


def test_missing_label_names_the_ones_that_exist() -> None:
    with pytest.raises(ConfigError) as excinfo:
        attribution([LabelDef("USER_DEFINED", 9, "Referrer")], "Reseller")
    assert excinfo.value.key == "crm.partner_label" and "Referrer" in str(excinfo.value)


def test_opportunity_from_a_deal() -> None:
    opp = opportunity_from_deal(deal(), RULES, "12", "55")
    assert opp.model_dump() == {
        "id": "9001",
        "name": "A deal",
        "partner_id": "12",
        "account_id": "55",
        "stage": "Signed",
        "status": OpportunityStatus.WON,
        "probability": 1.0,
        "amount": 125.5,
        "amount_original": 100.0,
        "currency": "EUR",
        "created_date": date(2017, 1, 1),
        "close_date": date(2017, 1, 2),
        "lead_source": "Partner Referral",
    }


def test_single_currency_deals_and_missing_values() -> None:
    opp = opportunity_from_deal(
        deal(
            deal_currency_code=None,
            amount_in_home_currency=None,
            lead_source="",
            dealstage="1001",
            closedate=None,
        ),
        RULES,
        None,
        None,
    )
    assert (opp.currency, opp.amount, opp.amount_original) == ("USD", 100.0, 100.0)
    assert opp.lead_source is None and opp.close_date is None and opp.status.value == "open"


def test_dates_are_the_accounts_calendar_dates() -> None:
    late = ts(T0 - 9 * 3_600_000 + 2 * 3_600_000)  # 2017-01-01T02:00Z
    rules = DealRules(RULES.catalog, "lead_source", "USD", ZoneInfo("America/New_York"))
    opp = opportunity_from_deal(deal(createdate=late, closedate=late), rules, None, None)
    assert opp.created_date == opp.close_date == date(2016, 12, 31)
    assert local_date(T0, ZoneInfo("Asia/Tokyo")) == date(2017, 1, 1)


def test_unmappable_deals_name_the_record() -> None:
    with pytest.raises(SchemaError) as excinfo:
        opportunity_from_deal(deal(dealstage="5555"), RULES, None, None)
    assert excinfo.value.record_id == "9001"
    # a closed deal with no close date is mapped as it is: data quality judges it
    undated = opportunity_from_deal(deal(closedate=None), RULES, None, None)
    assert (undated.status, undated.close_date) == (OpportunityStatus.WON, None)
    with pytest.raises(SchemaError, match="not a number"):
        opportunity_from_deal(deal(amount="12,5"), RULES, None, None)


def dated(**moments: int | None) -> dict[str, str | None]:
    """hs_v2 entered/exited properties from {e1001: ms, x1001: ms, ...}."""
    out: dict[str, str | None] = {}
    for key, ms in moments.items():
        prefix = "hs_v2_date_entered_" if key[0] == "e" else "hs_v2_date_exited_"
        out[prefix + key[1:]] = None if ms is None else ts(ms)
    return out


STAGES = ["1001", "1002", "1003", "1004"]


def test_stage_dates_give_the_visits_when_they_are_complete() -> None:
    record = deal(**dated(e1001=T0, x1001=T0 + 10, e1002=T0 + 10, x1002=T0 + 20, e1003=T0 + 20))
    assert visits_from_stage_dates(record, STAGES) == [
        ("1001", T0),
        ("1002", T0 + 10),
        ("1003", T0 + 20),
    ]


@pytest.mark.parametrize(
    "moments",
    [
        # 1001 → 1002 → 1001 → 1003: the first visit of 1001 was overwritten
        {"e1001": T0 + 20, "x1001": T0 + 30, "e1002": T0 + 10, "x1002": T0 + 20, "e1003": T0 + 30},
        # 1001 → 1003 → 1002 → 1003: a gap between 1001's exit and the next entry
        {"e1001": T0, "x1001": T0 + 10, "e1002": T0 + 20, "x1002": T0 + 30, "e1003": T0 + 30},
        # the current stage has an exit date: something came after it
        {"e1001": T0, "x1001": T0 + 10, "e1003": T0 + 10, "x1003": T0 + 20},
        # no stage dates at all (an old deal, or a portal without them)
        {},
    ],
    ids=["revisited-first", "revisited-later", "current-exited", "none"],
)
def test_incomplete_stage_dates_ask_for_the_history(moments: dict[str, int]) -> None:
    assert visits_from_stage_dates(deal(**dated(**moments)), STAGES) is None


def test_history_gives_every_visit_in_time_order() -> None:
    record = HsRecord(
        id="9001",
        properties={},
        history={
            "dealstage": (
                ("1003", T0 + 40),
                ("1001", T0 + 30),
                ("1001", T0 + 25),  # the same value set again: no change of stage
                ("", T0 + 15),  # cleared
                ("1002", T0 + 10),
                ("1001", T0),
            )
        },
    )
    visits = visits_from_history(record)
    assert visits == [("1001", T0), ("1002", T0 + 10), ("1001", T0 + 25), ("1003", T0 + 40)]
    changes = stage_changes("9001", visits, RULES.catalog)
    assert [c.stage for c in changes] == ["New", "Closed Won (legacy)", "New", "Signed"]
    assert changes[2].id == stage_change_id("9001", T0 + 25, "1001") == f"9001:{T0 + 25}:1001"
    assert changes[0].entered_at == datetime(2017, 1, 1, 9, tzinfo=UTC)


def test_a_stage_no_pipeline_has_is_kept_under_its_id() -> None:
    (change,) = stage_changes("9001", [("7777", T0)], RULES.catalog)
    assert change.stage == "7777"


def test_partner_from_a_company() -> None:
    company = HsRecord(
        "12", {"name": "Acme", "region": "East", "channel_manager": "", "tier": "Gold"}
    )
    partner = partner_from_company(company, "region", "channel_manager", "tier")
    assert (partner.id, partner.name, partner.region, partner.channel_manager, partner.tier) == (
        "12", "Acme", "East", None, "Gold",
    )  # fmt: skip
    assert partner_from_company(company, None, None, None).region is None


def test_parse_ms() -> None:
    assert parse_ms("2017-01-01T09:00:00.000Z") == T0
    assert parse_ms("2017-01-01T09:00:00.123+00:00") == T0 + 123
    assert parse_ms(str(T0)) == T0
    assert parse_ms("") is None and parse_ms(None) is None and parse_ms("soon") is None

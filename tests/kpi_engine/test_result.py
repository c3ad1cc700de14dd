"""The texts made from a scoring result (drivers, stage days, floats), tiers and PartnerKpis."""

from __future__ import annotations

import pytest

from kpi_engine import TIERS, TierThresholds, float_text, stage_days_text
from tests.kpi_engine.builders import hand_made_kpis, hand_made_score


def test_drivers_text_names_each_driver_with_its_percentile() -> None:
    assert hand_made_score().drivers_text() == (
        "strong: deal_count (p97), pipeline_value (p90); "
        "weak: close_rate_adj (p0), sales_cycle_days (p12)"
    )


def test_percentiles_text_can_name_components_in_other_words() -> None:
    words = {"deal_count": "deals won", "pipeline_value": "pipeline value"}
    text = hand_made_score().percentiles_text(("deal_count", "pipeline_value"), words.__getitem__)
    assert text == "deals won (p97), pipeline value (p90)"


def test_stage_days_text_follows_the_pipeline_then_names() -> None:
    days = {"Zeta": 1.5, "Engaging": 45.8125, "Alpha": 2.0, "Prospecting": 0.0}
    assert stage_days_text(days, ("Prospecting", "Engaging")) == (
        "Prospecting=0.0; Engaging=45.8125; Alpha=2.0; Zeta=1.5"
    )
    assert stage_days_text(days) == "Alpha=2.0; Engaging=45.8125; Prospecting=0.0; Zeta=1.5"
    assert stage_days_text({}) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (45.8, "45.8"),
        (1 / 3, "0.333333"),
        (2.0, "2.0"),
        (-0.0000001, "0.0"),  # rounds to zero: never "-0.0"
        (1234567.1234567, "1234567.123457"),
    ],
)
def test_float_text_keeps_six_decimals_at_most(value: float, text: str) -> None:
    assert float_text(value) == text


def test_tiers_best_first_and_their_floors() -> None:
    assert TIERS == ("Platinum", "Gold", "Silver", "Bronze")
    tiers = TierThresholds(platinum=80, gold=60, silver=30)
    assert tiers.floors() == (("Platinum", 80), ("Gold", 60), ("Silver", 30))
    got = [tiers.tier_of(s) for s in (100.0, 80.0, 79.9, 60.0, 30.0, 29.9, 0.0)]
    assert got == ["Platinum", "Platinum", "Gold", "Gold", "Silver", "Bronze", "Bronze"]


def test_partner_kpis_dump_flat_kpis_then_channels() -> None:
    dumped = hand_made_kpis().model_dump(mode="json")
    assert list(dumped) == [
        "deal_count", "close_rate", "top_channel", "stage_days", "avg_deal_size", "channels"
    ]  # fmt: skip
    assert dumped["stage_days"] == {"Engaging": 45.75, "Prospecting": 0.0}
    assert dumped["channels"] == {"paid": {"won_count": 1, "won_amount": 2000.0, "close_rate": 1.0}}
    assert isinstance(dumped["deal_count"], int)


def test_partner_kpis_read_by_name_and_by_kind() -> None:
    kpis = hand_made_kpis()
    assert kpis.deal_count == 3
    assert kpis.number("deal_count") == 3.0
    assert kpis.number("avg_deal_size") is None
    assert kpis.text("top_channel") == "owned"
    assert kpis.per_stage("stage_days") == {"Engaging": 45.75, "Prospecting": 0.0}
    with pytest.raises(TypeError, match="top_channel is not a number"):
        kpis.number("top_channel")
    with pytest.raises(TypeError, match="deal_count is not a per-stage KPI"):
        kpis.per_stage("deal_count")
    with pytest.raises(AttributeError):
        _ = kpis.no_such_kpi

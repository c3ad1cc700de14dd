"""Bad scoring settings fail with a message that names the problem."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from core.errors import ConfigError
from kpi_engine import COMPONENTS, ScoringSettings, TierThresholds
from partner_kpi.config import parse_config


def _error(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        ScoringSettings(**values)
    return str(caught.value)


def test_defaults_follow_kpis_md() -> None:
    s = ScoringSettings()
    assert s.window_days == 365
    assert s.prior_strength == 10.0
    assert s.weights == dict.fromkeys(COMPONENTS, 1.0)
    assert (s.tiers.platinum, s.tiers.gold, s.tiers.silver) == (75.0, 50.0, 25.0)
    assert s.channel_of(None) == "unknown"
    assert s.channel_of("Carrier pigeon") == "other"
    assert s.channel_of("Paid Social") == "paid"
    assert s.channel_of("Webinar") == "owned"
    assert s.channel_of("Public Relations") == "earned"


def test_unknown_kpi_in_weights() -> None:
    message = _error(weights={"deal_count": 1.0, "happiness_index": 2.0})
    assert "weights" in message
    assert "happiness_index" in message


def test_a_weight_on_any_numeric_kpi_makes_it_a_component() -> None:
    """KPIS.md "The partner's funnel …": any KPI can be given a weight. close_rate is a KPI
    column besides the component close_rate_adj, so it is a component of its own."""
    s = ScoringSettings(weights={"tickets_per_customer": 2, "close_rate": 0.5, "deal_count": 3})
    assert s.weights == {
        **dict.fromkeys(COMPONENTS, 1.0),
        "deal_count": 3.0,
        "close_rate": 0.5,  # catalogue order: close_rate before tickets_per_customer
        "tickets_per_customer": 2.0,
    }
    assert list(s.weights)[: len(COMPONENTS)] == list(COMPONENTS)


@pytest.mark.parametrize("name", ["top_channel", "stage_days"])
def test_a_kpi_that_is_not_a_number_cannot_weigh(name: str) -> None:
    message = _error(weights={name: 1.0})
    assert "weights" in message
    assert f"{name!r} is not a number" in message
    assert "use one of avg_deal_size, deal_count" in message
    assert "value_added_calls" in message  # the choices name the new KPIs too
    assert "close_rate_adj" in message


def test_unknown_kpi_lists_every_choice() -> None:
    message = _error(weights={"happiness_index": 2.0})
    choices = message.split("use one of ", 1)[1].split(" [type=")[0]
    names = choices.split(", ")
    assert names[:8] == list(COMPONENTS)
    assert {"lead_count", "won_amount", "onboarding_days", "missing_amount_count"} <= set(names)
    assert not {"top_channel", "stage_days"} & set(names)
    assert len(names) == len(set(names))  # deal_count is a component and a KPI: listed once


def test_kpi_weight_errors_are_one_config_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"scoring": {"weights": {"top_channel": 1}}})
    message = str(caught.value)
    assert message.startswith("scoring.weights: KPI 'top_channel' is not a number")
    assert "\n" not in message


def test_negative_weight() -> None:
    message = _error(weights={"pipeline_value": -0.5})
    assert "weights" in message
    assert "pipeline_value" in message
    assert "-0.5" in message


def test_all_weights_zero() -> None:
    message = _error(weights=dict.fromkeys(COMPONENTS, 0.0))
    assert "weights" in message
    assert "0" in message


@pytest.mark.parametrize(
    ("tiers", "named"),
    [
        ({"platinum": 50.0, "gold": 75.0}, ("platinum", "gold")),  # platinum below gold
        ({"gold": 20.0}, ("gold", "silver")),  # gold below silver 25
        ({"silver": 50.0}, ("silver", "gold")),  # silver equal to gold
        ({"silver": -1.0}, ("silver",)),  # below 0
        ({"platinum": 101.0}, ("platinum",)),  # above 100
    ],
)
def test_tier_thresholds_out_of_order(tiers: dict[str, float], named: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        TierThresholds(**tiers)
    direct = str(caught.value)
    nested = _error(tiers=tiers)
    for message in (direct, nested):
        for name in named:
            assert name in message
    assert "tiers" in nested


@pytest.mark.parametrize("days", [0, -1, -365])
def test_window_days_not_positive(days: int) -> None:
    message = _error(window_days=days)
    assert "window_days" in message
    assert str(days) in message


def test_negative_prior_strength() -> None:
    message = _error(prior_strength=-3.0)
    assert "prior_strength" in message
    assert "-3" in message


def test_prior_strength_zero_is_allowed() -> None:
    assert ScoringSettings(prior_strength=0).prior_strength == 0.0


def test_channel_map_to_unknown_group() -> None:
    message = _error(channel_map={"Web": "owned", "Billboard": "outdoor"})
    assert "channel_map" in message
    assert "Billboard" in message
    assert "outdoor" in message


def test_unknown_setting_key() -> None:
    message = _error(window=365)
    assert "window" in message


def test_valid_custom_settings_are_kept() -> None:
    s = ScoringSettings(
        window_days=90,
        weights={**dict.fromkeys(COMPONENTS, 1.0), "deal_count": 2.0, "quality_score": 0.0},
        tiers=TierThresholds(platinum=80, gold=60, silver=40),
        prior_strength=5,
        channel_map={"Billboard": "paid"},
    )
    assert s.window_days == 90
    assert s.weights["deal_count"] == 2.0
    assert s.weights["quality_score"] == 0.0
    assert s.tiers.tier_of(80.0) == "Platinum"
    assert s.tiers.tier_of(79.9) == "Gold"
    assert s.tiers.tier_of(39.9) == "Bronze"
    assert s.channel_of("Billboard") == "paid"


def test_funnel_settings_default_to_kpis_md() -> None:
    s = ScoringSettings()
    assert s.referral_sources == ("Referral", "Partner Referral", "Customer Referral",
                                  "Word of mouth")  # fmt: skip
    assert s.onboarding_case_types == ("Onboarding",)
    assert s.value_call_seconds == 120
    assert s.first_contact_field is None


def test_funnel_settings_are_kept() -> None:
    s = ScoringSettings(
        referral_sources=["Referral", "Reseller"],
        onboarding_case_types=["Onboarding", "Implementation"],
        value_call_seconds=0,
        first_contact_field="First_Contact_Resolved__c",
    )
    assert s.referral_sources == ("Referral", "Reseller")
    assert s.onboarding_case_types == ("Onboarding", "Implementation")
    assert s.value_call_seconds == 0
    assert s.first_contact_field == "First_Contact_Resolved__c"
    assert ScoringSettings(first_contact_field="hs_resolved_first_contact").first_contact_field
    assert ScoringSettings(referral_sources=[]).referral_sources == ()


@pytest.mark.parametrize(
    ("yaml_text", "key", "fix"),
    [
        ("referral_sources: Referral", "scoring.referral_sources", "a list of lead-source"),
        ("referral_sources: [Referral, 7]", "scoring.referral_sources", "non-empty text"),
        ("referral_sources: [Referral, '  ']", "scoring.referral_sources", "non-empty text"),
        ("referral_sources: [Web, Web]", "scoring.referral_sources", "'Web' twice"),
        ("onboarding_case_types: Onboarding", "scoring.onboarding_case_types", "[Onboarding]"),
        ("onboarding_case_types: {a: 1}", "scoring.onboarding_case_types", "list of case"),
        ("value_call_seconds: -1", "scoring.value_call_seconds", ">= 0, got -1"),
        ("value_call_seconds: '120'", "scoring.value_call_seconds", "without quotes"),
        ("value_call_seconds: 1.5", "scoring.value_call_seconds", "whole number of seconds"),
        ("value_call_seconds: yes", "scoring.value_call_seconds", "not yes/no"),
        ("first_contact_field: 'First contact'", "scoring.first_contact_field",
         "API name of a checkbox"),
        ("first_contact_field: 12", "scoring.first_contact_field", "or null"),
    ],
)  # fmt: skip
def test_funnel_settings_errors_are_one_line_naming_the_key_and_the_fix(
    yaml_text: str, key: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml.safe_load(f"scoring:\n  {yaml_text}\n"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(key), message
    assert fix in message, message

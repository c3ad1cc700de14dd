"""Canonical values, the writeback: config section and the field map."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.errors import ConfigError
from kpi_engine import KPIS
from partner_kpi.config import parse_config
from partner_kpi.fields import configured_fields
from tests.kpi_engine.builders import hand_made_score
from tests.writeback.fakes import DEFAULTS
from writeback.settings import WritebackSettings
from writeback.spec import field_map
from writeback.values import OUTPUTS, ScoreContext, canonical, json_value, output_value, wire_value


@pytest.mark.parametrize(
    ("a", "b", "scale", "same"),
    [
        (71.04, 71.0, 1, True),
        (71.04, "71.0", 1, True),
        (71.05, 71.1, 1, True),  # half up, decided on the decimal 71.05
        (71.06, 71.0, 1, False),
        (0.12345, 0.1235, 4, True),
        (3, 3.0, 0, True),
        (2.5, 3, 0, True),
        (-0.04, 0, 1, True),  # no negative zero
        (None, "", 1, True),
        (None, 0, 1, False),
    ],
)
def test_numbers_compare_at_the_fields_scale(a: object, b: object, scale: int, same: bool) -> None:
    assert (canonical("number", a, scale=scale) == canonical("number", b, scale=scale)) is same


def test_datetimes_compare_whatever_the_crm_spells_them() -> None:
    midnight = datetime(2017, 12, 31, tzinfo=UTC)
    spellings = [
        midnight,
        date(2017, 12, 31),
        "2017-12-31T00:00:00.000+0000",  # Salesforce
        "2017-12-31T00:00:00Z",
        "2017-12-31T01:00:00+01:00",
        int(midnight.timestamp() * 1000),  # HubSpot's epoch ms
        str(int(midnight.timestamp() * 1000)),
    ]
    assert {canonical("datetime", s) for s in spellings} == {midnight}
    assert canonical("datetime", "yesterday") == "yesterday"  # kept, so it differs
    assert json_value(midnight) == "2017-12-31T00:00:00.000Z"


def test_text_is_cut_to_the_field_and_numbers_in_text_fields_keep_the_scale() -> None:
    assert canonical("text", "x" * 300, length=255) == "x" * 254 + "…"
    assert canonical("text", 71.04, scale=1) == "71.0"
    assert canonical("picklist", "") is None
    assert wire_value("number", canonical("number", 71.04, scale=1), scale=1) == 71.0
    assert wire_value("number", canonical("number", 12.0), scale=0) == 12
    assert canonical("number", 12.0) == Decimal(12)


def test_each_output_s_value_for_a_partner() -> None:
    score = hand_made_score()
    context = ScoreContext(date(2017, 12, 31), ("Prospecting", "Engaging"))
    assert output_value("score", score, context) == 71.3
    assert output_value("tier", score, context) == "Gold"
    assert output_value("drivers", score, context) == (
        "strong: deal_count (p97), pipeline_value (p90); "
        "weak: close_rate_adj (p0), sales_cycle_days (p12)"
    )
    assert output_value("scored_at", score, context) == datetime(2017, 12, 31, tzinfo=UTC)
    assert output_value("stage_days", score, context) == "Prospecting=0.0; Engaging=45.75"
    assert output_value("top_channel", score, context) == "owned"
    assert output_value("deal_count", score, context) == 3
    assert output_value("avg_deal_size", score, context) is None


def test_each_kpi_is_an_output_typed_by_its_kind() -> None:
    kinds = {name: (OUTPUTS[name].kind, OUTPUTS[name].scale) for name in KPIS.names}
    assert kinds == {
        "deal_count": ("number", 0),
        "won_amount": ("number", 2),
        "missing_amount_count": ("number", 0),
        "avg_deal_size": ("number", 2),
        "pipeline_count": ("number", 0),
        "pipeline_value": ("number", 2),
        "weighted_pipeline": ("number", 2),
        "close_rate": ("number", 4),
        "sales_cycle_days": ("number", 2),
        "deal_velocity": ("number", 2),
        "deal_success": ("number", 4),
        "quality_score": ("number", 2),
        "new_revenue": ("number", 2),
        "won_amount_growth": ("number", 4),
        "top_channel": ("text", 0),
        "stage_days": ("text", 0),
        "lead_count": ("number", 0),
        "lead_conversion_rate": ("number", 4),
        "referral_count": ("number", 0),
        "customer_count": ("number", 0),
        "customer_growth": ("number", 4),
        "account_retention": ("number", 4),
        "revenue_retention": ("number", 4),
        "products_per_customer": ("number", 2),
        "tickets_per_customer": ("number", 2),
        "first_contact_resolution": ("number", 4),
        "onboarding_days": ("number", 2),
        "quote_turnaround_days": ("number", 2),
        "value_added_calls": ("number", 2),
    }
    assert list(OUTPUTS) == ["score", "tier", "drivers", "scored_at", *KPIS.names]
    assert OUTPUTS["stage_days"].kinds == ("text",)
    assert OUTPUTS["close_rate"].label == "Partner close rate"


def test_the_writeback_section_defaults_and_overrides() -> None:
    defaults = field_map(WritebackSettings(), DEFAULTS)
    assert [(f.output, f.name, f.kind, f.scale) for f in defaults] == [
        ("score", "Partner_Score__c", "number", 1),
        ("tier", "Partner_Tier__c", "picklist", 0),
        ("drivers", "Partner_Drivers__c", "text", 0),
        ("scored_at", "Partner_Scored_At__c", "datetime", 0),
    ]
    assert defaults.by_output("tier") is not None
    assert defaults.by_output("tier").spec.options == ("Platinum", "Gold", "Silver", "Bronze")  # type: ignore[union-attr]
    assert [f.stamp for f in defaults] == [False, False, False, True]

    config = parse_config(
        {
            "writeback": {
                "fields": {
                    "score": {"scale": 2, "precision": 5},
                    "drivers": None,
                    "close_rate": {},
                    "won_amount": "Won__c",
                    "tier": {"kind": "text"},
                },
                "max_tier_change_share": 0.5,
            }
        }
    )
    mapped = field_map(config.writeback, DEFAULTS)
    assert [(f.output, f.name, f.kind, f.scale) for f in mapped] == [
        ("score", "Partner_Score__c", "number", 2),
        ("tier", "Partner_Tier__c", "text", 0),
        ("scored_at", "Partner_Scored_At__c", "datetime", 0),
        ("close_rate", "Partner_Close_Rate__c", "number", 4),
        ("won_amount", "Won__c", "number", 2),
    ]
    assert config.writeback.max_tier_change_share == 0.5
    assert OUTPUTS["deal_count"].scale == 0


def test_each_field_names_its_config_key_and_the_permission_set_that_grants_it() -> None:
    defaults = configured_fields(parse_config({"crm": {"type": "salesforce"}}))
    assert {(f.spec.config_key, f.spec.access_grant) for f in defaults} == {
        (f"writeback.fields.{f.output}", "Partner_KPI_Writeback") for f in defaults
    }
    config = parse_config(
        {"crm": {"type": "salesforce"}, "writeback": {"permission_set": "Sales_Ops_Scores"}}
    )
    mapped = configured_fields(config)
    assert {f.spec.access_grant for f in mapped} == {"Sales_Ops_Scores"}
    hubspot = configured_fields(parse_config({"crm": {"type": "hubspot"}}))
    assert {f.spec.access_grant for f in hubspot} == {None}  # no field-level security
    with pytest.raises(ConfigError) as refused:  # a key of another CRM's writeback settings
        parse_config({"crm": {"type": "hubspot"}, "writeback": {"permission_set": "X"}})
    assert refused.value.key == "writeback.permission_set"


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ({"fields": {"scorez": {}}}, "writeback.fields", "unknown score output 'scorez'"),
        ({"fields": {"drivers": {"kind": "number"}}}, "writeback.fields", "use text"),
        ({"fields": {"score": {"scale": 3, "precision": 2}}}, "writeback.fields.score", "scale"),
        ({"max_tier_change_share": 0}, "writeback.max_tier_change_share", "greater than 0"),
        ({"fieldz": {}}, "writeback.fieldz", "unknown key"),
        ({"permission_set": "Partner KPI"}, "writeback.permission_set", "not a permission set"),
        ({"permission_set": "Partner__KPI"}, "writeback.permission_set", "single underscores"),
        ({"permission_set": "9Partner"}, "writeback.permission_set", "starting with a letter"),
    ],
)
def test_a_bad_writeback_section_names_the_key(
    section: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"crm": {"type": "salesforce"}, "writeback": section})
    assert refused.value.key == key
    assert words in refused.value.problem


def test_two_outputs_in_one_field_or_nothing_to_write_are_refused() -> None:
    clash = WritebackSettings.model_validate({"fields": {"close_rate": "Partner_Score__c"}})
    with pytest.raises(ConfigError, match="already holds score"):
        field_map(clash, DEFAULTS)
    only_stamp = WritebackSettings.model_validate(
        {"fields": {"score": None, "tier": None, "drivers": None}}
    )
    with pytest.raises(ConfigError, match="nothing to write"):
        field_map(only_stamp, DEFAULTS)


def test_a_plan_past_the_bulk_threshold_is_sent_in_bulk_job_batches() -> None:
    defaults = replace(DEFAULTS, bulk_threshold=10, bulk_batch_size=1_000)
    assert defaults.batch_size_for(10) == 3  # at the threshold: the ordinary calls
    assert defaults.batch_size_for(11) == 1_000
    assert DEFAULTS.batch_size_for(10**6) == 3  # a CRM without bulk writes

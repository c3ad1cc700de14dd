"""The quality: section is validated like the rest of the config: one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ConfigError
from partner_kpi.config import parse_config
from quality import RULES, QualitySettings


def _error(section: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config({"quality": section})
    message = str(error.value)
    assert "\n" not in message
    return message


def test_every_rule_excludes_by_default() -> None:
    settings = parse_config({}).quality
    assert {rule.name: settings.policy(rule.name) for rule in RULES} == dict.fromkeys(
        (
            "unknown_stage", "amount_not_finite", "amount_negative", "amount_implausible",
            "currency_without_rate", "closed_without_date", "close_before_created",
            "created_in_future",
        ),
        "exclude",
    )  # fmt: skip
    assert (settings.median_won_factor, settings.amount_cap) == (1000.0, None)


def test_policies_and_bounds_are_read() -> None:
    settings = parse_config(
        {"quality": {"rules": {"amount_implausible": "fail", "amount_negative": "keep"},
                     "median_won_factor": 50, "amount_cap": 1e7}}
    ).quality  # fmt: skip
    assert settings.policy("amount_implausible") == "fail"
    assert settings.policy("amount_negative") == "keep"
    assert settings.policy("closed_without_date") == "exclude"
    assert settings.amount_bound(1000.0) == 50_000.0


def test_an_unknown_rule_is_named_with_the_known_ones() -> None:
    message = _error({"rules": {"amount_huge": "exclude"}})
    assert message.startswith("quality.rules: unknown rule 'amount_huge'; use one of unknown_stage")


def test_a_bad_policy_is_refused() -> None:
    message = _error({"rules": {"amount_negative": "drop"}})
    assert message == (
        "quality.rules: amount_negative: policy must be one of exclude, keep, fail (got 'drop')"
    )


def test_a_yaml_boolean_is_not_a_policy() -> None:
    message = _error({"rules": {"amount_negative": True}})
    assert "policy must be one of exclude, keep, fail (got yes/no or true/false)" in message


def test_keep_is_refused_where_the_record_cannot_be_scored() -> None:
    for rule in ("amount_not_finite", "closed_without_date", "unknown_stage"):
        message = _error({"rules": {rule: "keep"}})
        assert message.startswith(f"quality.rules: {rule}: cannot be kept")
        assert message.endswith("use exclude or fail")


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("median_won_factor", True, "must be a number, not yes/no or true/false"),
        ("amount_cap", "1e7", "must be a number, written without quotes"),
        ("median_won_factor", 0, "greater than 0"),
        ("amount_cap", -1, "greater than 0"),
    ],
)
def test_bounds_take_positive_numbers_only(key: str, value: object, problem: str) -> None:
    message = _error({key: value})
    assert message.startswith(f"quality.{key}: ")
    assert problem in message


def test_an_unknown_key_is_refused() -> None:
    assert _error({"factor": 10}).startswith("quality.factor: unknown key")


def test_rules_must_be_a_mapping() -> None:
    assert _error({"rules": ["amount_negative"]}).startswith("quality.rules: must be a mapping")


def test_amount_bound_without_a_positive_median_is_the_cap_alone() -> None:
    assert QualitySettings().amount_bound(None) is None
    assert QualitySettings().amount_bound(0.0) is None
    assert QualitySettings(amount_cap=10).amount_bound(None) == 10.0

"""A config is strict about numbers, and never prints what may be a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config_values import may_be_secret, shown
from core.errors import ConfigError
from partner_kpi.config import load_config, parse_config


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ("writeback:\n  max_tier_change_share: yes\n", "writeback.max_tier_change_share"),
        ("crm:\n  type: salesforce\n  max_quota_share: on\n", "crm.max_quota_share"),
        ("crm:\n  type: hubspot\n  max_attempts: true\n", "crm.max_attempts"),
        ("scoring:\n  prior_strength: '10'\n", "scoring.prior_strength"),
        ("scoring:\n  tiers:\n    gold: yes\n", "scoring.tiers.gold"),
        ("scoring:\n  window_days: no\n", "scoring.window_days"),
        ("writeback:\n  fields:\n    score: {scale: yes}\n", "writeback.fields.score.scale"),
    ],
)
def test_a_yes_or_a_quoted_number_is_not_a_number(document: str, key: str) -> None:
    # YAML reads yes/on/true as a boolean, which pydantic alone would take for 1
    with pytest.raises(ConfigError) as refused:
        parse_config(yaml.safe_load(document))
    assert refused.value.key == key
    assert "must be a number" in refused.value.problem


def test_numbers_are_still_numbers() -> None:
    config = parse_config(
        yaml.safe_load(
            "crm:\n  type: salesforce\n  max_quota_share: 0.3\n  overlap_seconds: 60\n"
            "scoring:\n  prior_strength: 5\n  window_days: 180\n"
            "writeback:\n  max_tier_change_share: 1\n"
        )
    )
    assert config.writeback.max_tier_change_share == 1.0
    assert config.scoring.prior_strength == 5.0 and config.scoring.window_days == 180


@pytest.mark.parametrize(
    ("section", "key", "secret"),
    [
        (
            {"type": "salesforce", "password_env": "hunter2-Pass"},
            "crm.password_env",
            "hunter2-Pass",
        ),
        (
            {"type": "hubspot", "access_token_env": "pat-na1-00000000-1111"},
            "crm.access_token_env",
            "pat-na1-00000000-1111",
        ),
        ({"type": "salesforce", "client_id_env": "3MVG9lKcPoNINVBI"}, "crm.client_id_env", "3MVG9"),
        (  # a consumer secret: capital hex, the shape of a variable name
            {"type": "salesforce", "client_secret_env": "FAEA7F89F8E678DE37E74C39B87892D1" * 2},
            "crm.client_secret_env",
            "FAEA7F89F8E678DE",
        ),
    ],
)
def test_a_secret_in_an_env_key_is_refused_unprinted(
    section: dict[str, Any], key: str, secret: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"crm": section})
    assert refused.value.key == key
    assert "environment variable" in refused.value.problem
    assert secret not in str(refused.value)


def test_a_name_that_is_a_variables_value_is_refused_unprinted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARTNER_KPI_SF_SECURITY_TOKEN", "TOKEN_4_ORG")  # the name's shape
    with pytest.raises(ConfigError) as refused:
        parse_config({"crm": {"type": "salesforce", "security_token_env": "TOKEN_4_ORG"}})
    assert refused.value.key == "crm.security_token_env"
    assert "TOKEN_4_ORG" not in str(refused.value)
    named = parse_config({"crm": {"type": "salesforce", "security_token_env": "SF_TOKEN_2"}})
    assert getattr(named.crm, "security_token_env") == "SF_TOKEN_2"  # noqa: B009


def test_a_secret_inside_a_mapping_or_list_is_not_echoed() -> None:
    token = "pat-na1-c7e84443-14b1-4f28-a9ff-733d9650f079"
    for value in ({"x": token}, [token], {token: 1}):
        with pytest.raises(ConfigError) as refused:
            parse_config({"crm": {"type": "hubspot", "partner_value": value}})
        assert refused.value.key == "crm.partner_value"
        assert token not in str(refused.value)
    with pytest.raises(ConfigError) as plain:  # an ordinary mistake is still shown
        parse_config({"crm": {"type": "hubspot", "partner_value": ["PARTNER"]}})
    assert "['PARTNER']" in str(plain.value)


def test_a_value_that_may_be_a_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNER_KPI_SF_PASSWORD", "correct-horse")
    with pytest.raises(ConfigError) as refused:  # the password put where a version goes
        parse_config({"crm": {"type": "salesforce", "api_version": "correct-horse"}})
    assert refused.value.key == "crm.api_version"
    assert "correct-horse" not in str(refused.value)
    assert "not shown" in str(refused.value)
    with pytest.raises(ConfigError) as plain:  # an ordinary mistake is still shown
        parse_config({"crm": {"type": "salesforce", "api_version": "sixty"}})
    assert "'sixty'" in str(plain.value)


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("pat-na1-c7e84443-14b1-4f28-a9ff-733d9650f079", True),  # a HubSpot private app token
        ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln", True),  # a JWT
        ("00D5g000001sAndbox!AQ4AQFuWy7nHZQ4M", True),  # a Salesforce session id
        ("-----BEGIN PRIVATE KEY-----\nMIIE", True),
        ("60.0", False),
        ("https://login.salesforce.com", False),
        ("https://acme2024.my.salesforce.com", False),
        ("/etc/partner-kpi/ca-2024-bundle.pem", False),
        ("Partner_KPI_Writeback", False),
        ("password", False),
    ],
)
def test_the_shapes_of_secrets(value: str, secret: bool) -> None:
    assert may_be_secret(value, environ={}) is secret
    assert (value in shown(value, environ={})) is not secret


def test_relative_paths_are_read_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config_file = folder / "prod.yaml"
    config_file.write_text(
        "crm:\n  type: hubspot\n  ca_bundle: certs/ca.pem\nstore:\n  path: state/kpi.db\n"
    )
    monkeypatch.chdir(tmp_path)  # a cron job starts elsewhere
    config = load_config(Path("etc/prod.yaml"))
    assert config.crm is not None
    assert getattr(config.crm, "ca_bundle") == folder / "certs" / "ca.pem"  # noqa: B009
    assert config.store.path == folder / "state" / "kpi.db"
    absolute = tmp_path / "abs.pem"
    config_file.write_text(f"crm:\n  type: hubspot\n  ca_bundle: {absolute}\n")
    assert getattr(load_config(config_file).crm, "ca_bundle") == absolute  # noqa: B009

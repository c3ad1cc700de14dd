"""SOQL builders and the settings that feed them: escaping, cursors, URL limits, filter safety."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote_plus

import pytest
from pydantic import ValidationError

from connectors.salesforce.queries import (
    MAX_QUERY_URL_BYTES,
    Select,
    fields,
    history_select,
    id_chunks,
    incremental,
    opportunity_partner_select,
    opportunity_select,
    partner_select,
    query_url_length,
    soql_datetime,
    soql_string,
    split_fields,
    stage_select,
)
from connectors.salesforce.settings import SalesforceSettings, check_soql_condition
from core.errors import ConfigError
from partner_kpi.config import parse_config

BASE = "https://example.my.salesforce.com/services/data/v60.0/"


def test_string_literals_escape_quotes_and_backslashes() -> None:
    assert soql_string("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    assert soql_string("a\nb") == "'a\\nb'"


def test_datetime_literal_is_utc_to_the_second() -> None:
    moment = datetime(2017, 3, 1, 10, 30, 15, 999_000, tzinfo=timezone(timedelta(hours=2)))
    assert soql_datetime(moment) == "2017-03-01T08:30:15Z"
    assert soql_datetime(datetime(2017, 3, 1)) == "2017-03-01T00:00:00Z"


def test_incremental_reads_use_greater_or_equal_ordered_with_ties_by_id() -> None:
    since = datetime(2017, 12, 31, 18, 0, tzinfo=UTC)
    read = incremental(opportunity_select(False, True), since)
    soql = read.soql()
    assert "WHERE SystemModstamp >= 2017-12-31T18:00:00Z" in soql
    assert soql.endswith("ORDER BY SystemModstamp ASC, Id ASC")
    assert read.include_deleted  # queryAll: deletions reach the store
    assert read.field_names[:3] == ("Id", "IsDeleted", "SystemModstamp")
    assert "PartnerAccountId" in read.field_names and "CurrencyIsoCode" not in read.field_names
    assert "WHERE" not in incremental(history_select(), None).soql()


def test_currency_and_partner_fields_only_when_they_exist() -> None:
    names = opportunity_select(True, False).field_names
    assert "CurrencyIsoCode" in names and "PartnerAccountId" not in names


def test_conditions_are_parenthesised_when_combined() -> None:
    since = datetime(2017, 1, 1, tzinfo=UTC)
    soql = incremental(Select("Account", fields("Id"), where="a = 1 OR b = 2"), since).soql()
    assert "WHERE (a = 1 OR b = 2) AND (SystemModstamp >= 2017-01-01T00:00:00Z)" in soql


def test_partner_select_embeds_the_filter_and_optional_fields() -> None:
    soql = partner_select("IsPartner = true", "Region__c", "Tier__c").soql()
    assert soql == (
        "SELECT Id, Name, Owner.Name, Region__c, Tier__c FROM Account "
        "WHERE (IsPartner = true) ORDER BY Id ASC"
    )
    assert "Region__c" not in partner_select("IsPartner = true", None, None).soql()


def test_role_is_escaped() -> None:
    assert "Role = 'Value\\'d Reseller'" in opportunity_partner_select("Value'd Reseller").soql()


def test_stage_select_uses_api_name_from_api_36() -> None:
    assert "ApiName" in stage_select("60.0").field_names
    assert "ApiName" not in stage_select("35.0").field_names


def test_id_lists_are_split_to_fit_the_uri_limit() -> None:
    ids = [f"0065g{n:010d}AAA" for n in range(3000)]
    select = Select("Opportunity", fields("Id", "Name"))
    chunks = list(id_chunks(BASE, select, ids))
    assert len(chunks) > 1
    assert all(query_url_length(BASE, c.soql()) <= MAX_QUERY_URL_BYTES for c in chunks)
    listed = [i for c in chunks for i in ids if f"'{i}'" in (c.where or "")]
    assert listed == ids  # each id once, in order
    # a chunk is as full as the limit allows: one more id would not fit
    first = chunks[0].soql()
    assert len(BASE) + len("queryAll/?q=") + len(quote_plus(first)) + 30 > MAX_QUERY_URL_BYTES


def test_ids_are_checked_before_they_are_embedded() -> None:
    with pytest.raises(ValueError, match="not a Salesforce record id"):
        list(id_chunks(BASE, Select("Account", fields("Id")), ["001' OR Name != '"]))


def test_long_field_lists_are_split_into_groups_joined_by_id() -> None:
    many = fields("Id", "IsDeleted", "SystemModstamp", *(f"Score_{n:04d}__c" for n in range(1500)))
    select = Select("Account", many, where="IsPartner = true", order_by=("Id ASC",))
    groups = split_fields(BASE, select, keep=3)
    assert len(groups) > 1
    assert [f.name for f in groups[0][:3]] == ["Id", "IsDeleted", "SystemModstamp"]
    assert all(g[0].name == "Id" for g in groups[1:])
    assert all(
        query_url_length(BASE, select.with_fields(g).soql()) <= MAX_QUERY_URL_BYTES for g in groups
    )
    regrouped = [f for g in groups for f in (g if g is groups[0] else g[1:])]
    assert regrouped == list(many)
    assert split_fields(BASE, select.with_fields(many[:10]), keep=3) == [many[:10]]


@pytest.mark.parametrize(
    "condition",
    [
        "IsPartner = true",
        "Type = 'Partner' AND (Region__c = 'East' OR Region__c = 'It\\'s (West)')",
        "Name LIKE '%select%'",  # keywords inside strings are data
        "Order_Type__c = 'x'",
    ],
)
def test_safe_filters_pass(condition: str) -> None:
    assert check_soql_condition(condition) == condition


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ("", "empty"),
        ("IsPartner = true) OR (Id != null", "no matching"),
        ("(IsPartner = true", "not closed"),
        ("Name = 'x", "not closed"),
        ("IsPartner = true LIMIT 1", "LIMIT"),
        ("IsPartner = true ORDER BY Name", "ORDER"),
        ("Id IN (SELECT AccountId FROM Contact)", "FROM, SELECT"),
        ("IsPartner = true; DELETE", "';'"),
    ],
)
def test_unsafe_filters_are_refused(condition: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_soql_condition(condition)


def test_a_bad_filter_in_the_config_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"crm": {"type": "salesforce", "partner_filter": "IsPartner = true LIMIT 5"}})
    # the key as the file spells it (pydantic's location also holds the union's tag)
    assert caught.value.key == "crm.partner_filter"
    assert "LIMIT" in caught.value.problem


def test_settings_defaults() -> None:
    settings = SalesforceSettings(type="salesforce")
    assert settings.partner_filter == "IsPartner = true"
    assert settings.partner_attribution == "partner_account_id"
    assert settings.partner_role == "Reseller"
    assert settings.overlap_seconds == 300
    assert settings.bulk_threshold == 50_000
    assert settings.max_quota_share == 0.5
    with pytest.raises(ValidationError):
        SalesforceSettings(type="salesforce", partner_region_field="Region__c; x")
    with pytest.raises(ValidationError):
        SalesforceSettings(type="salesforce", login_url="http://login.salesforce.com")

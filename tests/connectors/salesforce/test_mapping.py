"""Salesforce records into the schema: REST and Bulk give one row; status from metadata only."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.salesforce.mapping import (
    CurrencyTable,
    currency_table,
    opportunity_from_row,
    partner_from_row,
    row_from_json,
    rows_from_csv,
    single_currency,
    stage_def_from_row,
)
from connectors.salesforce.queries import PARTNER_FIELDS, Kind, fields, opportunity_select
from core.errors import SchemaError
from core.schema import OpportunityStatus, StageDef

SELECTED = opportunity_select(True, True).fields
STAGES = {
    "Negotiation": StageDef(name="Negotiation", status=OpportunityStatus.OPEN, probability=0.6),
    "Closed Won": StageDef(name="Closed Won", status=OpportunityStatus.WON, probability=1.0),
}


def _json_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Opportunity", "url": "/services/data/v60.0/sobjects/Opportunity/x"},
        "Id": "0065g0000000001AAA",
        "IsDeleted": False,
        "SystemModstamp": "2017-03-01T18:00:05.000+0000",
        "Name": "Acme – GTX Pro",
        "AccountId": "0015g0000000040AAA",
        "StageName": "Negotiation",
        "Amount": 1000.0,
        "Probability": 55.0,
        "CloseDate": "2017-04-01",
        "CreatedDate": "2017-02-01T09:00:00.000+0000",
        "LeadSource": "Web",
        "PartnerAccountId": "0015g0000000001AAA",
        "CurrencyIsoCode": "EUR",
    }
    record.update(overrides)
    return record


CSV = (
    "Id,IsDeleted,SystemModstamp,Name,AccountId,StageName,Amount,Probability,CloseDate,"
    "CreatedDate,LeadSource,PartnerAccountId,CurrencyIsoCode\n"
    '0065g0000000001AAA,false,2017-03-01T18:00:05.000Z,"Acme – GTX Pro",0015g0000000040AAA,'
    "Negotiation,1000,55,2017-04-01,2017-02-01T09:00:00.000Z,Web,0015g0000000001AAA,EUR\n"
)


def test_rest_and_bulk_give_the_same_row() -> None:
    from_json = row_from_json(_json_record(), SELECTED)
    (from_csv,) = list(rows_from_csv(CSV, SELECTED))
    assert from_json == from_csv
    assert from_json["SystemModstamp"] == datetime(2017, 3, 1, 18, 0, 5, tzinfo=UTC)
    assert from_json["CloseDate"] == date(2017, 4, 1)
    assert from_json["IsDeleted"] is False and from_json["Amount"] == 1000.0


def test_parent_paths_and_empty_references() -> None:
    selected = PARTNER_FIELDS + fields("Region__c")
    row = row_from_json(
        {"Id": "001", "Name": "A", "Owner": {"attributes": {}, "Name": "Cara"}, "Region__c": None},
        selected,
    )
    assert row == {"Id": "001", "Name": "A", "Owner.Name": "Cara", "Region__c": None}
    assert row_from_json({"Id": "001", "Name": "A", "Owner": None}, selected)["Owner.Name"] is None
    partner = partner_from_row(row, "Region__c", None)
    assert (partner.channel_manager, partner.region, partner.tier) == ("Cara", None, None)


def test_csv_empty_cells_are_null_and_false() -> None:
    selected = fields("Id", ("IsDeleted", Kind.BOOLEAN), ("Amount", Kind.NUMBER), "Name")
    (row,) = list(rows_from_csv("Id,IsDeleted,Amount,Name\n006x,,,\n", selected))
    assert row == {"Id": "006x", "IsDeleted": False, "Amount": None, "Name": None}


def test_csv_cells_are_typed_by_their_column_whatever_the_header_order() -> None:
    selected = fields(
        "Id", ("IsDeleted", Kind.BOOLEAN), ("Amount", Kind.NUMBER), ("Count__c", Kind.INTEGER)
    )
    text = "Count__c,Extra__c,IsDeleted,Id,Amount\n3.0,x,TRUE,006a,12.5\n,y,false\n"
    first, short = rows_from_csv(text, selected)
    assert first == {"Id": "006a", "IsDeleted": True, "Amount": 12.5, "Count__c": 3}
    # a row shorter than the header leaves the columns it lacks empty
    assert short == {"Id": None, "IsDeleted": False, "Amount": None, "Count__c": None}


def test_a_bulk_result_page_is_parsed_without_a_copy_of_it() -> None:
    """A 50,000-row result page is parsed from its own text (``io.StringIO`` would hold a
    copy four times its size while the rows are read); quoted line breaks and CRLF stay."""
    selected = fields("Id", "Name", ("Amount", Kind.NUMBER))
    head = 'Id,Name,Amount\r\n"006a","two\nlines",1\r\n'
    text = head + "".join(f'"006{n:012d}","Partner {n}",{n}\n' for n in range(50_000))
    rows = rows_from_csv(text, selected)
    tracemalloc.start()
    try:
        first = next(rows)
        count = 1 + sum(1 for _ in rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first == {"Id": "006a", "Name": "two\nlines", "Amount": 1.0}
    assert count == 50_001
    assert peak < len(text) / 10, f"{peak:,} bytes held parsing {len(text):,} characters"


def test_a_csv_cell_its_kind_cannot_read_names_the_field() -> None:
    selected = fields("Id", ("Amount", Kind.NUMBER))
    with pytest.raises(SchemaError, match=r"field Amount: 'lots' is not a number"):
        list(rows_from_csv("Id,Amount\n006a,lots\n", selected))


def test_opportunity_amount_converted_probability_scaled() -> None:
    currencies = CurrencyTable(corporate="USD", rates={"USD": 1.0, "EUR": 0.8})
    row = row_from_json(_json_record(), SELECTED)
    opportunity = opportunity_from_row(row, STAGES, currencies, row["PartnerAccountId"])
    assert opportunity.amount == pytest.approx(1250.0)
    assert (opportunity.amount_original, opportunity.currency) == (1000.0, "EUR")
    assert opportunity.probability == pytest.approx(0.55)
    assert opportunity.status is OpportunityStatus.OPEN
    assert opportunity.created_date == date(2017, 2, 1)
    assert opportunity.partner_id == "0015g0000000001AAA"


def test_probability_falls_back_to_the_stage_default() -> None:
    row = row_from_json(_json_record(Probability=None, CurrencyIsoCode=None), SELECTED)
    opportunity = opportunity_from_row(row, STAGES, single_currency("USD"), None)
    assert opportunity.probability == 0.6 and opportunity.currency == "USD"
    assert opportunity.amount == 1000.0


def test_status_never_comes_from_the_stage_name() -> None:
    # a stage called "Closed Won" that the org's metadata says is still open
    misleading = stage_def_from_row(
        {"Id": "01J1", "ApiName": "Closed Won", "MasterLabel": "Closed Won", "IsWon": False,
         "IsClosed": False, "DefaultProbability": 90.0, "SortOrder": 5}
    )  # fmt: skip
    assert misleading.status is OpportunityStatus.OPEN
    # and one called "Signed" that it says is won
    signed = stage_def_from_row(
        {"Id": "01J2", "ApiName": "Signed", "MasterLabel": "Signed", "IsWon": True,
         "IsClosed": True, "DefaultProbability": 100.0, "SortOrder": 6}
    )  # fmt: skip
    assert (signed.status, signed.probability) == (OpportunityStatus.WON, 1.0)
    lost = stage_def_from_row(
        {"Id": "01J3", "ApiName": "Gone", "MasterLabel": "Gone", "IsWon": False,
         "IsClosed": True, "DefaultProbability": None, "SortOrder": None}
    )  # fmt: skip
    assert (lost.status, lost.probability, lost.sort_order) == (OpportunityStatus.LOST, 0.0, 0)


def test_stage_is_named_by_api_name_not_label() -> None:
    stage = stage_def_from_row(
        {"Id": "01J1", "ApiName": "Closed_Won", "MasterLabel": "Gewonnen", "IsWon": True,
         "IsClosed": True, "DefaultProbability": 100.0, "SortOrder": 5}
    )  # fmt: skip
    assert stage.name == "Closed_Won"
    before_36 = stage_def_from_row(
        {"Id": "01J1", "MasterLabel": "Closed Won", "IsWon": True, "IsClosed": True,
         "DefaultProbability": 100.0, "SortOrder": 5}
    )  # fmt: skip
    assert before_36.name == "Closed Won"


def test_unknown_stage_names_the_record() -> None:
    row = row_from_json(_json_record(StageName="Mystery"), SELECTED)
    with pytest.raises(SchemaError, match="0065g0000000001AAA") as caught:
        opportunity_from_row(row, STAGES, single_currency("USD"), None)
    assert caught.value.record_id == "0065g0000000001AAA"


def test_implausible_records_are_mapped_for_data_quality_to_judge() -> None:
    """No rate for JPY: the original amount is kept and the corporate amount left empty
    (the rule currency_without_rate); a won deal with no close date is mapped as it is."""
    row = row_from_json(_json_record(CurrencyIsoCode="JPY", Amount=5000.0), SELECTED)
    opportunity = opportunity_from_row(row, STAGES, CurrencyTable("USD", {"USD": 1.0}), None)
    assert (opportunity.amount, opportunity.amount_original, opportunity.currency) == (
        None, 5000.0, "JPY",
    )  # fmt: skip
    won = {"Closed Won": STAGES["Closed Won"]}
    row = row_from_json(_json_record(StageName="Closed Won", CloseDate=None), SELECTED)
    undated = opportunity_from_row(row, won, CurrencyTable("USD", {"USD": 1.0, "EUR": 1.0}), None)
    assert (undated.status, undated.close_date) == (OpportunityStatus.WON, None)


def test_currency_table_needs_one_corporate_currency() -> None:
    rows = [
        {"IsoCode": "EUR", "ConversionRate": 1.0, "IsCorporate": True},
        {"IsoCode": "USD", "ConversionRate": 1.1, "IsCorporate": False},
    ]
    table = currency_table(rows)
    assert (table.corporate, table.multi_currency) == ("EUR", True)
    with pytest.raises(SchemaError, match="corporate"):
        currency_table([{**r, "IsCorporate": False} for r in rows])

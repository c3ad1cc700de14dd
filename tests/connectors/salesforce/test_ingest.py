"""The Bulk API 2.0 update job's CSV and the reading of its results (no network)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from connectors.salesforce.ingest import (
    NULL_CELL,
    IngestResults,
    ingest_csv,
    ingest_outcomes,
    parse_error,
)

A, B, C = "001000000000001AAA", "001000000000002AAA", "001000000000003AAA"


def test_the_csv_has_every_written_field_and_leaves_unwritten_cells_empty() -> None:
    text = ingest_csv(
        {
            A: {"Partner_Score__c": 71.5, "Partner_Tier__c": "Gold"},
            B: {
                "Partner_Score__c": None,
                "Partner_Scored_At__c": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            },
            C: {"Partner_Tier__c": 'Say "hi", then'},
        }
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Id", "Partner_Score__c", "Partner_Scored_At__c", "Partner_Tier__c"]
    assert rows[1] == [A, "71.5", "", "Gold"]
    # null is #N/A (an empty cell would leave the old value in place)
    assert rows[2] == [B, NULL_CELL, "2026-01-02T03:04:05.000Z", ""]
    assert rows[3] == [C, "", "", 'Say "hi", then']  # quoted by the csv module


def test_error_text_splits_into_code_message_and_fields() -> None:
    assert parse_error(
        "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Partner_Score__c. "
        "Please check the security settings of this field:Partner_Score__c --"
    ) == (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "Unable to create/update fields: Partner_Score__c. Please check the security settings "
        "of this field",
        ("Partner_Score__c",),
    )
    assert parse_error("REQUIRED_FIELD_MISSING:Required fields are missing:Name StageName --") == (
        "REQUIRED_FIELD_MISSING", "Required fields are missing", ("Name", "StageName")
    )  # fmt: skip
    assert parse_error("ENTITY_IS_DELETED:entity is deleted:--") == (
        "ENTITY_IS_DELETED", "entity is deleted", ()
    )  # fmt: skip
    assert parse_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access") == (
        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access", ()
    )  # fmt: skip


def test_each_record_gets_the_outcome_its_result_file_gives() -> None:
    sent = {
        A: {"Partner_Score__c": 1.0},
        B: {"Partner_Score__c": 2.0},
        C: {"Partner_Score__c": 3.0},
    }
    results = IngestResults(
        job_id="7505g000000001AAA",
        successful=f'"sf__Id","sf__Created",Id,Partner_Score__c\n"{A}","false",{A},1.0\n',
        failed=(
            '"sf__Id","sf__Error",Id,Partner_Score__c\n'
            f'"{B}","FIELD_CUSTOM_VALIDATION_EXCEPTION:Score must be below 100:'
            f'Partner_Score__c --",{B},2.0\n'
        ),
        unprocessed=f"Id,Partner_Score__c\n{C},3.0\n",
    )
    outcomes = ingest_outcomes(results, sent)
    assert outcomes[A].ok and outcomes[A].fields == ("Partner_Score__c",)
    assert not outcomes[B].ok and outcomes[B].error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert outcomes[B].message == "Score must be below 100"
    assert not outcomes[C].ok and outcomes[C].error_code == "UNPROCESSED"


def test_a_record_no_result_names_is_left_out_not_written() -> None:
    sent = {A: {"Partner_Score__c": 1.0}, B: {"Partner_Score__c": 2.0}}
    results = IngestResults("750x", f"sf__Id,sf__Created,Id\n{A},false,{A}\n", "", "")
    assert set(ingest_outcomes(results, sent)) == {A}


def test_a_result_row_without_an_id_is_given_to_no_record() -> None:
    sent = {A: {"Partner_Score__c": 1.0}}
    failed = 'sf__Id,sf__Error,Id\n"","MISSING_ARGUMENT:Id not specified in an update call:--",\n'
    assert ingest_outcomes(IngestResults("750x", "", failed, ""), sent) == {}

"""The common schema keeps what can be scored and rejects, by record, what cannot."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from core.errors import SchemaError
from core.schema import (
    Opportunity,
    OpportunityStatus,
    StageDef,
    opportunities_to_arrow,
    status_of_stage,
)


def _opportunity(**changes: object) -> Opportunity:
    fields: dict[str, object] = {
        "id": "006A",
        "stage": "Won",
        "status": "won",
        "probability": 1.0,
        "amount": 10.0,
        "created_date": date(2017, 3, 1),
        "close_date": date(2017, 4, 1),
    }
    fields.update(changes)
    return Opportunity.model_validate(fields)


def test_close_before_created_is_kept_but_flagged() -> None:
    kept = _opportunity(close_date=date(2017, 2, 1))
    assert kept.close_before_created is True
    assert _opportunity().close_before_created is False


def test_unknown_status_names_the_record() -> None:
    with pytest.raises(ValidationError, match=r"opportunity '006A': unknown status 'pending'"):
        _opportunity(status="pending")


def test_closed_opportunity_needs_a_close_date() -> None:
    with pytest.raises(ValidationError, match=r"'006A'.*needs a close date"):
        _opportunity(close_date=None)
    assert _opportunity(status="open", close_date=None).close_date is None


def test_probability_must_lie_in_0_1() -> None:
    with pytest.raises(ValidationError):
        _opportunity(probability=50)


def test_unknown_stage_names_the_record() -> None:
    stages = {"Won": StageDef(name="Won", status=OpportunityStatus.WON, probability=1.0)}
    assert status_of_stage("Won", stages, "006A").status is OpportunityStatus.WON
    with pytest.raises(SchemaError, match=r"'006B'.*'Closed Won'") as error:
        status_of_stage("Closed Won", stages, "006B")
    assert error.value.record_id == "006B"


def test_arrow_layout_holds_status_as_text() -> None:
    table = opportunities_to_arrow([_opportunity(), _opportunity(id="006C", amount=None)])
    assert table.column("status").to_pylist() == ["won", "won"]
    assert table.column("amount").to_pylist() == [10.0, None]

"""The common schema keeps what can be scored and rejects, by record, what cannot."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated

import pyarrow as pa
import pytest
from pydantic import BaseModel, ValidationError

from core.entity import KEY, SCORED, Entity
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


def test_implausible_records_can_exist_to_be_judged() -> None:
    """The quality rules judge these (tests/quality); the schema must not refuse them."""
    assert _opportunity(close_date=date(2017, 2, 1)).close_date == date(2017, 2, 1)
    assert _opportunity(close_date=None).close_date is None
    for amount in (float("nan"), float("inf"), float("1e400"), -5.0, 1e15):
        assert _opportunity(amount=amount).amount == pytest.approx(amount, nan_ok=True)


def test_unknown_status_names_the_record() -> None:
    with pytest.raises(ValidationError, match=r"opportunity '006A': unknown status 'pending'"):
        _opportunity(status="pending")


def test_open_opportunity_may_lack_a_close_date() -> None:
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


class SiteVisit(BaseModel):
    """A record type made up for these tests, declared as the schema's are."""

    id: Annotated[str, KEY, SCORED]
    note: str | None = None
    outcome: Annotated[OpportunityStatus, SCORED]
    at: datetime
    minutes: Annotated[int | None, SCORED] = None
    day: Annotated[date, SCORED]


VISIT = Entity.of(SiteVisit)


def _visit(vid: str, **changes: object) -> SiteVisit:
    fields: dict[str, object] = {
        "id": vid,
        "outcome": "open",
        "at": datetime(2026, 2, 3, 22, 0, tzinfo=timezone(timedelta(hours=-5))),
        "day": date(2026, 2, 3),
    }
    fields.update(changes)
    return SiteVisit.model_validate(fields)


def test_an_entity_is_read_off_its_model() -> None:
    assert VISIT.label == "site visit"
    assert VISIT.key == ("id",)
    assert VISIT.layout == pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("note", pa.string()),
            pa.field("outcome", pa.string(), nullable=False),
            pa.field("at", pa.timestamp("us"), nullable=False),
            pa.field("minutes", pa.int32()),
            pa.field("day", pa.date32(), nullable=False),
        ]
    )
    assert VISIT.scored_layout.names == ["id", "outcome", "minutes", "day"]
    assert [c.choices for c in VISIT.columns if c.choices] == [("open", "won", "lost")]


def test_records_become_columns_with_enums_as_text_and_times_in_utc() -> None:
    plain = SiteVisit.model_construct(**dict(_visit("V2"), outcome="won"))
    table = VISIT.to_arrow([_visit("V1", minutes=30), plain], VISIT.layout)
    assert table.schema == VISIT.layout
    assert table.column("outcome").to_pylist() == ["open", "won"]
    # 22:00 in New York on the 3rd is 03:00 UTC on the 4th
    assert table.column("at").to_pylist() == [datetime(2026, 2, 4, 3, 0)] * 2
    assert table.column("minutes").to_pylist() == [30, None]
    assert VISIT.to_arrow([_visit("V1")], VISIT.scored_layout).column_names == [
        "id", "outcome", "minutes", "day"
    ]  # fmt: skip


def test_the_last_record_of_a_key_wins_in_first_seen_order() -> None:
    kept = VISIT.last_per_key([_visit("V2", note="a"), _visit("V1"), _visit("V2", note="b")])
    assert [(v.id, v.note) for v in kept] == [("V2", "b"), ("V1", None)]


def test_a_field_without_one_arrow_type_is_refused_naming_it() -> None:
    class Tagged(BaseModel):
        tags: list[str]

    class EitherOr(BaseModel):
        size: int | str

    with pytest.raises(TypeError, match=r"field 'tags': no Arrow type for list\[str\]"):
        Entity.of(Tagged)
    with pytest.raises(TypeError, match=r"field 'size': int \| str is not one type"):
        Entity.of(EitherOr)

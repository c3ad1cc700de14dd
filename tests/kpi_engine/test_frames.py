"""The engine's input checks: an Arrow table meets the rules of the records it stands for."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
import pytest
from pydantic import ValidationError

from core.errors import SchemaError
from core.schema import Partner, opportunities_to_arrow
from kpi_engine.frames import (
    Activity,
    opportunities_frame,
    partners_frame,
    stage_events_frame,
)
from tests.kpi_engine.builders import call, event, lead, opp, partner


def test_partners_come_sorted_by_id_with_only_the_columns_the_engine_reads() -> None:
    given = pa.table({"region": ["EMEA", "APAC"], "name": ["Beta", "Alpha"], "id": ["P2", "P1"]})
    assert partners_frame(given).rows() == [("P1", "Alpha"), ("P2", "Beta")]
    assert partners_frame([partner("P2"), partner("P1")])["id"].to_list() == ["P1", "P2"]


def test_a_partner_twice_is_refused_naming_it() -> None:
    given = pa.table({"id": ["P3", "P2", "P3", "P2"], "name": ["c", "b", "c", "b"]})
    with pytest.raises(SchemaError, match=r"partner 'P2' appears more than once") as refused:
        partners_frame(given)
    assert refused.value.record_id == "P2"


def test_a_partner_table_without_names_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"partner table lacks column\(s\) name"):
        partners_frame(pa.table({"id": ["P1"]}))


def test_a_partner_without_a_name_is_refused_as_a_row_as_it_is_as_a_record() -> None:
    with pytest.raises(ValidationError):
        Partner.model_validate({"id": "P1", "name": None})
    nameless = pa.table({"id": ["P1"], "name": pa.array([None], pa.string())})
    with pytest.raises(SchemaError, match=r"partner table does not fit the schema"):
        partners_frame(nameless)


def test_a_polars_frame_meets_the_same_checks() -> None:
    with pytest.raises(SchemaError, match=r"partner table has nulls in column\(s\) name"):
        partners_frame(
            pl.DataFrame({"id": ["P1"], "name": [None]}, schema_overrides={"name": pl.String})
        )
    with pytest.raises(SchemaError, match=r"partner table lacks column\(s\) name"):
        partners_frame(pl.DataFrame({"id": ["P1"]}))
    events = pl.DataFrame(
        {"opportunity_id": ["O1"], "stage": ["Won"], "entered_date": ["someday"], "sequence": [0]}
    )
    with pytest.raises(SchemaError, match=r"stage event table does not fit the schema"):
        stage_events_frame(events)
    given = pl.DataFrame({"id": ["P3", "P2", "P3"], "name": ["c", "b", "c"]})
    with pytest.raises(SchemaError, match=r"partner 'P3' appears more than once"):
        partners_frame(given)


def test_an_unknown_status_is_named_before_a_repeated_id() -> None:
    won = opp("O1", "P1", "won", 10.0, created=date(2017, 1, 1), closed=date(2017, 2, 1))
    table = opportunities_to_arrow([won, won, won.model_copy(update={"id": "O2"})])
    table = table.set_column(
        table.schema.get_field_index("status"), "status", pa.array(["won", "won", "pending"])
    )
    with pytest.raises(SchemaError, match=r"opportunity 'O2': unknown status 'pending'"):
        opportunities_frame(table)


def test_stage_events_keep_the_order_they_came_in() -> None:
    events = [
        event("O2", "Won", date(2017, 3, 1), 1),
        event("O1", "Prospecting", date(2017, 1, 1), 0),
        event("O2", "Prospecting", date(2017, 2, 1), 0),
    ]
    assert stage_events_frame(events)["opportunity_id"].to_list() == ["O2", "O1", "O2"]


def test_activity_records_keep_the_order_they_came_in() -> None:
    # whole-number sums need no canonical order: a million calls are not sorted (a copy)
    calls = [call("K3", "O1", date(2017, 1, 1), 60), call("K1", "O1", date(2017, 1, 2), 60)]
    frames = Activity(calls=calls).frames()
    assert frames["calls"] is not None
    assert frames["calls"]["id"].to_list() == ["K3", "K1"]


def test_an_activity_record_twice_is_refused_naming_the_smallest_repeated_id() -> None:
    day = date(2017, 1, 1)
    leads = [lead(lead_id, "P1", created=day) for lead_id in ("L9", "L2", "L5", "L9", "L2")]
    with pytest.raises(SchemaError, match=r"lead 'L2' appears more than once") as refused:
        Activity(leads=leads).frames()
    assert refused.value.record_id == "L2"
    rows = pl.DataFrame({"id": ["K7", "K7"], "opportunity_id": ["O1", "O1"]})
    rows = rows.with_columns(
        call_date=pl.lit(day), duration_seconds=pl.lit(60), outcome=pl.lit("connected")
    )
    with pytest.raises(SchemaError, match=r"call 'K7' appears more than once"):
        Activity(calls=rows).frames()
    increasing_then_repeated = [lead(lead_id, "P1", created=day) for lead_id in ("L1", "L2", "L2")]
    with pytest.raises(SchemaError, match=r"lead 'L2' appears more than once"):
        Activity(leads=increasing_then_repeated).frames()

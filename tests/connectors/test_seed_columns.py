"""The columnar seed mapping gives what the row-by-row reference gives, row for row.

``seed_row_reference`` is the README's mapping as plain Python over csv.DictReader rows
(the mapping partner-kpi ran before); here both read the same files: the bundled Maven
data, a hand-written seed of edge cases, and seeds hypothesis generates.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.seed import SeedDataset, read_seed
from connectors.seed.mapping import Currencies
from connectors.seed.reader import PIPELINE_FILE
from core.errors import SeedFormatError
from core.schema import Opportunity, StageEvent
from tests.connectors.seed_row_reference import RowMapped, map_rows

USD_AND_EUR = Currencies(corporate="USD", rates={"USD": 1.0, "EUR": 0.9})
PIPELINE_HEADER = [
    "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
    "close_date", "close_value", "created_date", "amount", "currency", "lead_source", "deal_type",
]  # fmt: skip


def _reference(folder: Path, dataset: SeedDataset) -> RowMapped:
    return map_rows(folder / PIPELINE_FILE, prices=dataset.prices, currencies=dataset.currencies)


def _comparable(opportunities: list[Opportunity]) -> list[dict[str, object]]:
    """The records as dicts, a NaN amount as the text "nan" (NaN equals nothing)."""
    return [
        {
            k: "nan" if isinstance(v, float) and math.isnan(v) else v
            for k, v in o.model_dump().items()
        }
        for o in opportunities
    ]


def _event_key(event: StageEvent) -> tuple[str, int]:
    return event.opportunity_id, event.sequence


def _assert_same(folder: Path) -> SeedDataset:
    dataset = read_seed(folder)
    reference = _reference(folder, dataset)
    assert _comparable(dataset.opportunities) == _comparable(reference.opportunities)
    assert sorted(dataset.stage_events, key=_event_key) == sorted(
        reference.stage_events, key=_event_key
    )
    assert [
        (r.line, r.record_id, r.partner_id, r.stage) for r in dataset.unknown_stages
    ] == reference.unknown
    return dataset


def _write_seed(folder: Path, rows: list[list[str]], *, rates: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales_teams.csv").write_text(
        "sales_agent,manager,regional_office\nAnna Snelling,Dustin Brinkmann,Central\n"
    )
    (folder / "accounts.csv").write_text("account,sector\nAcme,retail\n")
    (folder / "products.csv").write_text(
        "product,series,sales_price\nGTX Pro,GTX,4821\nMG Special,MG,55\n"
    )
    if rates:
        (folder / "currencies.csv").write_text("iso_code,conversion_rate\nUSD,1\nEUR,0.9\n")
    with (folder / PIPELINE_FILE).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PIPELINE_HEADER)
        writer.writerows(rows)
    return folder


def test_the_bundled_data_maps_the_same(bundled_seed: Path) -> None:
    dataset = _assert_same(bundled_seed)
    assert len(dataset.opportunities) == 8800
    assert len(dataset.stage_events) == 23811  # 8,800 created + 6,711 closed + 8,300 engaged


def _row(record_id: str, stage: str, **cells: str) -> list[str]:
    """A pipeline row: Anna Snelling's GTX Pro deal for Acme unless ``cells`` say otherwise."""
    values = {"sales_agent": "Anna Snelling", "product": "GTX Pro", "account": "Acme", **cells}
    values.update(opportunity_id=record_id, deal_stage=stage)
    return [values.get(column, "") for column in PIPELINE_HEADER]


JAN, FEB, MAR = "2017-01-02", "2017-02-01", "2017-03-01"
EDGE_ROWS = [
    # won with no close_value and no amount: no amount
    _row("E1", "Won", engage_date=JAN, close_date=FEB),
    # lost: the product's price, found with spaces and case ignored
    _row("E2", "Lost", product="gtxpro", account="", engage_date=JAN, close_date=FEB,
         close_value="0"),
    # open with a close date: 90 days after created instead; an unknown product: no amount
    _row("E3", "Engaging", sales_agent=" Anna Snelling ", product="Nope", account="",
         engage_date="2017-01-05", close_date="2017-01-06"),
    # EUR converted; a currency with no rate stays unconverted
    _row("E4", "Won", product="MG Special", engage_date=JAN, close_date=MAR, amount="90",
         currency="EUR", lead_source="Web", deal_type="New"),
    _row("E5", "Won", product="MG Special", engage_date=JAN, close_date=MAR, amount="90",
         currency="XXX"),
    # close before created; created_date given
    _row("E6", "Lost", engage_date="2017-05-02", close_date="2017-04-01",
         created_date="2017-05-01"),
    # an unknown stage (listed, never a record), then a NaN and an overflowing amount
    _row("E7", "Negotiating", engage_date=JAN),
    _row("E8", "Won", sales_agent="", engage_date=JAN, close_date=MAR, close_value="nan"),
    _row("E9", "Won", account='A, "quoted"\nname', close_date=MAR, close_value="1e400"),
    # prospecting with no dates: created on the file's latest date
    _row("E10", "Prospecting", product="", account=""),
    _row("E11", "won", engage_date=JAN, close_date=MAR, close_value="5"),
]  # fmt: skip


def test_an_edge_case_seed_maps_the_same(tmp_path: Path) -> None:
    dataset = _assert_same(_write_seed(tmp_path, EDGE_ROWS))
    # hand-checked against the README's rules
    by_id = {o.id: o for o in dataset.opportunities}
    assert by_id["E1"].amount is None
    assert by_id["E2"].amount == 4821.0
    assert by_id["E3"].close_date == date(2017, 4, 5) and by_id["E3"].amount is None
    assert by_id["E4"].amount == pytest.approx(100.0)
    assert (by_id["E5"].amount, by_id["E5"].amount_original) == (None, 90.0)
    assert by_id["E10"].created_date == date(2017, 5, 2)
    # the quoted account spans two lines: E10 is on line 12 of the file, and the
    # unknown stages (E7, and "won" in lower case) on lines 8 and 13
    assert [(r.line, r.record_id) for r in dataset.unknown_stages] == [(8, "E7"), (13, "E11")]
    assert dataset.lines_of(["E10", "E1"]) == {"E10": 12, "E1": 2}


def test_a_blank_line_is_skipped_and_counted(tmp_path: Path) -> None:
    folder = _write_seed(tmp_path, EDGE_ROWS[:2])
    path = folder / PIPELINE_FILE
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    dataset = _assert_same(folder)
    assert dataset.lines_of(["E2"]) == {"E2": 4}


@pytest.mark.parametrize(
    ("column", "value"),
    [("engage_date", "2016-02-30"), ("close_date", "soon"), ("amount", "12 USD"),
     ("created_date", "01/02/2017"), ("close_value", "n/a")],
)  # fmt: skip
def test_a_bad_value_is_named_by_file_line_and_column(
    tmp_path: Path, column: str, value: str
) -> None:
    rows = [list(row) for row in EDGE_ROWS[:3]]
    rows[1][PIPELINE_HEADER.index(column)] = value
    if column == "close_value":
        rows[1][4] = "Won"  # close_value is read for a won deal with no amount only
    folder = _write_seed(tmp_path, rows)
    with pytest.raises(SeedFormatError) as columnar:
        read_seed(folder)
    with pytest.raises(SeedFormatError) as reference:
        map_rows(folder / PIPELINE_FILE, prices={}, currencies=USD_AND_EUR)
    for error in (columnar.value, reference.value):
        assert f"line 3: opportunity 'E2': {column} {value!r} is not" in str(error)
    assert str(folder / PIPELINE_FILE) in str(columnar.value)


def test_many_bad_values_name_five_and_count_the_rest(tmp_path: Path) -> None:
    rows = [[f"B{i}", "Anna Snelling", "", "", "Won", "2017-13-01", "2017-02-01", "1", *[""] * 5]
            for i in range(8)]  # fmt: skip
    with pytest.raises(SeedFormatError) as error:
        read_seed(_write_seed(tmp_path, rows))
    message = str(error.value)
    assert re.findall(r"line (\d+):", message) == ["2", "3", "4", "5", "6"]
    assert message.endswith("(and 3 more)")


_DAYS = st.sampled_from(["", "2017-01-01", "2017-02-15", "2017-06-30", " 2017-03-03 "])
_ROW = st.tuples(
    st.sampled_from(["Anna Snelling", "", "Ånna Snélling"]),
    st.sampled_from(["", "GTX Pro", "GTXPro", "mg special", "Unknown"]),
    st.sampled_from(["", "Acme", "Other Co."]),
    st.sampled_from(["Won", "Lost", "Engaging", "Prospecting", "Stalled"]),
    _DAYS,
    _DAYS,
    st.sampled_from(["", "0", "1054", "12.5", "-3"]),
    _DAYS,
    st.sampled_from(["", "7", "nan", "inf", "1e3"]),
    st.sampled_from(["", "USD", "EUR", "JPY"]),
    st.sampled_from(["", "Web", "Trade Show"]),
    st.sampled_from(["", "New Business"]),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=12))
def test_generated_seeds_map_the_same(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]]
) -> None:
    folder = tmp_path_factory.mktemp("seed")
    lines = [[f"G{i:02d}", *row] for i, row in enumerate(rows)]
    if all(not (row[5].strip() or row[6].strip()) for row in lines):
        lines[0][5] = "2017-01-01"  # a seed needs one date (else both refuse it alike)
    _assert_same(_write_seed(folder, lines))

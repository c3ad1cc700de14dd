"""The seed's activity files (README "More objects") read into the common schema.

Each expected value is read off the hand-written rows quoted beside it; the layouts are
core.schema's Lead, Quote, Case, Call and LineItem.
"""

from __future__ import annotations

import shutil
import weakref
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pydantic import BaseModel

from connectors.seed import read_seed
from connectors.seed.table import ROW
from core.errors import SeedFormatError
from core.schema import ACTIVITY_ENTITIES, Call, CallOutcome, Case, Lead, LineItem, Quote
from kpi_engine import ScoringSettings, score_partners
from kpi_engine.frames import Activity
from partner_kpi.run import run_seed_audit

PIPELINE = (
    "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value,"
    "currency\n"
    "O1,Al Agent,GTXPro,Acme,Won,2017-02-01,2017-03-01,900,\n"
    "O2,Al Agent,Widget,,Engaging,2017-02-10,,,EUR\n"
    "O3,Bo Agent,,Acme,Lost,2017-02-01,2017-03-05,0,\n"
    "X1,Bo Agent,Widget,Acme,Negotiating,2017-02-01,,,\n"
)
LEADS = (
    "lead_id,sales_agent,created_date,status,converted_date,opportunity_id,lead_source\n"
    "L1,Al Agent,2017-01-15,Converted,2017-02-01,O1,Web\n"
    "L2,,2017-01-20,Open,,,\n"
    "L3,Bo Agent,2017-01-21,Disqualified,,,Trade Show\n"
)
QUOTES = (
    "quote_id,opportunity_id,created_date,status,sent_date\n"
    "Q1,O1,2017-02-05,Presented,2017-02-05\n"
    "Q2,O2,2017-02-12,Draft,\n"
)
CASES = (
    "case_id,account,created_date,closed_date,type,contacts,reopened\n"
    "C1,Acme,2017-03-02,2017-03-04,Onboarding,1,0\n"
    "C2,Acme,2017-03-10,,Problem,3,1\n"
    "C3,,2017-03-11,2017-03-11,,0,0\n"
)
CALLS = (
    "call_id,opportunity_id,date,duration_seconds,outcome\n"
    "K1,O1,2017-02-03,120,connected\n"
    "K2,O2,2017-02-11,,no_answer\n"
    "K3,,2017-02-12,30,\n"
)
LINE_ITEMS = (
    "opportunity_id,product,quantity,amount\nO1,gtx pro,2,600\nO1,Widget,1,300\nO2,Widget,,90\n"
)


def _seed(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales_teams.csv").write_text(
        "sales_agent,manager,regional_office\nAl Agent,Mo,West\nBo Agent,Mo,East\n"
    )
    (folder / "accounts.csv").write_text("account,sector\nAcme,tech\nBeta,retail\n")
    (folder / "products.csv").write_text(
        "product,series,sales_price\nGTX Pro,GTX,500\nWidget,W,200\n"
    )
    (folder / "sales_pipeline.csv").write_text(PIPELINE)
    (folder / "currencies.csv").write_text("iso_code,conversion_rate\nUSD,1\nEUR,0.9\n")
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


def _models(frame: object, model: type[BaseModel]) -> list[BaseModel]:
    assert isinstance(frame, pl.DataFrame)
    return [model.model_validate(row) for row in frame.to_dicts()]


@pytest.fixture
def full(tmp_path: Path) -> Path:
    return _seed(
        tmp_path / "seed",
        leads=LEADS, quotes=QUOTES, cases=CASES, calls=CALLS, line_items=LINE_ITEMS,
    )  # fmt: skip


def test_each_file_is_read_into_its_entity(full: Path) -> None:
    activity = read_seed(full).activity
    assert isinstance(activity, Activity)
    assert _models(activity.leads, Lead) == [
        Lead(id="L1", partner_id="partner-al-agent", created_date=date(2017, 1, 15),
             status="Converted", converted_date=date(2017, 2, 1), converted_opportunity_id="O1",
             lead_source="Web"),
        Lead(id="L2", partner_id=None, created_date=date(2017, 1, 20), status="Open"),
        Lead(id="L3", partner_id="partner-bo-agent", created_date=date(2017, 1, 21),
             status="Disqualified", lead_source="Trade Show"),
    ]  # fmt: skip
    assert _models(activity.quotes, Quote) == [
        Quote(id="Q1", opportunity_id="O1", created_date=date(2017, 2, 5), status="Presented",
              sent_date=date(2017, 2, 5)),
        Quote(id="Q2", opportunity_id="O2", created_date=date(2017, 2, 12), status="Draft"),
    ]  # fmt: skip
    assert _models(activity.cases, Case) == [
        Case(id="C1", account_id="customer-acme", created_date=date(2017, 3, 2),
             closed_date=date(2017, 3, 4), type="Onboarding", contact_count=1, reopened=False),
        Case(id="C2", account_id="customer-acme", created_date=date(2017, 3, 10), type="Problem",
             contact_count=3, reopened=True),
        Case(id="C3", created_date=date(2017, 3, 11), closed_date=date(2017, 3, 11)),
    ]  # fmt: skip
    assert _models(activity.calls, Call) == [
        Call(id="K1", opportunity_id="O1", call_date=date(2017, 2, 3), duration_seconds=120,
             outcome=CallOutcome.CONNECTED),
        Call(id="K2", opportunity_id="O2", call_date=date(2017, 2, 11),
             outcome=CallOutcome.NO_ANSWER),
        Call(id="K3", call_date=date(2017, 2, 12), duration_seconds=30),
    ]  # fmt: skip
    # line items are numbered per opportunity in file order; "gtx pro" is products.csv's
    # "GTX Pro"; O2 is in EUR at 0.9 EUR per USD: 90 EUR = 100 USD
    assert _models(activity.line_items, LineItem) == [
        LineItem(id="O1-1", opportunity_id="O1", product="GTX Pro", quantity=2, amount=600),
        LineItem(id="O1-2", opportunity_id="O1", product="Widget", quantity=1, amount=300),
        LineItem(id="O2-1", opportunity_id="O2", product="Widget", quantity=None, amount=100),
    ]


def test_frames_are_in_the_whole_layout_and_engine_ready(full: Path) -> None:
    dataset = read_seed(full)
    for stream, entity in ACTIVITY_ENTITIES.items():
        frame = getattr(dataset.activity, stream)
        assert isinstance(frame, pl.DataFrame)
        assert frame.columns == entity.layout.names
        assert dataset.activity_rows[stream] is not None
    frames = dataset.activity.frames()  # the engine's own checks accept them
    assert frames["cases"] is not None and frames["cases"].height == 3


def test_source_rows_keep_the_seed_names_and_rows(full: Path) -> None:
    rows = read_seed(full).activity_rows
    leads, cases, items = rows["leads"], rows["cases"], rows["line_items"]
    assert leads is not None and cases is not None and items is not None
    assert leads.select("id", "partner_name", ROW).rows() == [
        ("L1", "Al Agent", 0), ("L2", None, 1), ("L3", "Bo Agent", 2),
    ]  # fmt: skip
    assert cases["customer_name"].to_list() == ["Acme", "Acme", None]
    assert items.select("amount_original", "currency").rows() == [
        (600.0, "USD"), (300.0, "USD"), (90.0, "EUR"),
    ]  # fmt: skip


def test_absent_files_are_none_and_the_product_column_makes_line_items(tmp_path: Path) -> None:
    dataset = read_seed(_seed(tmp_path / "seed"))
    activity = dataset.activity
    assert (activity.leads, activity.quotes, activity.cases, activity.calls) == (None,) * 4
    # O1 GTXPro won at 900; O2 Widget open, EUR: priced 200 EUR = 222.2… USD; O3 has no
    # product (no line item); X1's stage is unknown, so it is no record and has none
    assert _models(activity.line_items, LineItem) == [
        LineItem(id="O1-1", opportunity_id="O1", product="GTX Pro", quantity=1, amount=900),
        LineItem(id="O2-1", opportunity_id="O2", product="Widget", quantity=1, amount=200 / 0.9),
    ]
    items = dataset.activity_rows["line_items"]
    assert items is not None
    assert items.select("amount_original", "currency", ROW).rows() == [
        (900.0, "USD", 0), (200.0, "EUR", 1),
    ]  # fmt: skip


def test_a_header_only_file_is_an_empty_table_not_none(tmp_path: Path) -> None:
    headers = {
        "leads": LEADS.splitlines()[0] + "\n",
        "quotes": QUOTES.splitlines()[0] + "\n",
        "cases": CASES.splitlines()[0] + "\n",
        "calls": CALLS.splitlines()[0] + "\n",
        "line_items": LINE_ITEMS.splitlines()[0] + "\n",
    }
    activity = read_seed(_seed(tmp_path / "seed", **headers)).activity
    for stream, entity in ACTIVITY_ENTITIES.items():
        frame = getattr(activity, stream)
        assert frame is not None and frame.height == 0
        assert frame.columns == entity.layout.names


def test_activity_on_a_row_of_unknown_stage_is_read(tmp_path: Path) -> None:
    """X1 is in the pipeline (data quality judges its stage): a quote on it is no error."""
    quotes = "quote_id,opportunity_id,created_date,status,sent_date\nQ1,X1,2017-02-05,Draft,\n"
    activity = read_seed(_seed(tmp_path / "seed", quotes=quotes)).activity
    assert isinstance(activity.quotes, pl.DataFrame)
    assert activity.quotes["opportunity_id"].to_list() == ["X1"]


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("leads", LEADS + "L4,Al Agent,2017-13-01,Open,,,\n",
         r"leads\.csv: line 5: lead 'L4': created_date '2017-13-01' is not a YYYY-MM-DD date"),
        ("leads", LEADS + "L4,Al Agent,,Open,,,\n", r"line 5: lead 'L4': created_date ''"),
        ("leads", LEADS + "L4,Al Agent,2017-01-01,Won,,,\n",
         r"line 5: lead 'L4': status 'Won' is not one of Open, Converted, Disqualified"),
        ("leads", LEADS + "L4,Al Agent,2017-01-01,Converted,,O1,\n",
         r"line 5: lead 'L4': converted_date '' is not a date: the lead's status is Converted"),
        ("leads", LEADS + "L4,Al Agent,2017-01-01,Open,2017-02-01,,\n",
         r"line 5: lead 'L4': converted_date '2017-02-01' is not empty"),
        ("leads", LEADS + "L4,Al Agent,2017-01-01,Converted,2017-02-01,NOPE,\n",
         r"line 5: lead 'L4': opportunity_id 'NOPE' is not an opportunity_id of "
         r"sales_pipeline\.csv"),
        ("leads", LEADS + "L1,Al Agent,2017-01-01,Open,,,\n",
         r"line 5: lead 'L1': lead_id 'L1' is not a non-empty id no earlier row has"),
        ("quotes", QUOTES + "Q3,NOPE,2017-02-05,Draft,\n",
         r"quotes\.csv: line 4: quote 'Q3': opportunity_id 'NOPE' is not an opportunity_id"),
        ("quotes", QUOTES + "Q3,O1,2017-02-05,Sent,\n",
         r"line 4: quote 'Q3': status 'Sent' is not one of Draft, Presented, Accepted, Denied"),
        ("quotes", QUOTES + "Q3,O1,2017-02-05,Draft,5 Feb\n",
         r"line 4: quote 'Q3': sent_date '5 Feb' is not a YYYY-MM-DD date or empty"),
        ("cases", CASES + "C4,Nobody Inc,2017-03-11,,Problem,0,0\n",
         r"cases\.csv: line 5: case 'C4': account 'Nobody Inc' is not an account of "
         r"accounts\.csv"),
        ("cases", CASES + "C4,Acme,2017-03-11,,Complaint,0,0\n",
         r"line 5: case 'C4': type 'Complaint' is not one of Question, Problem, Onboarding"),
        ("cases", CASES + "C4,Acme,2017-03-11,,Problem,-1,0\n",
         r"line 5: case 'C4': contacts '-1' is not a whole number of 0 or more"),
        ("cases", CASES + "C4,Acme,2017-03-11,,Problem,2,yes\n",
         r"line 5: case 'C4': reopened 'yes' is not 0 or 1"),
        ("cases", CASES + "C4,Acme,2017-03-11,11/03/2017,Problem,2,0\n",
         r"line 5: case 'C4': closed_date '11/03/2017' is not a YYYY-MM-DD date or empty"),
        ("calls", CALLS + "K4,NOPE,2017-02-12,30,connected\n",
         r"calls\.csv: line 5: call 'K4': opportunity_id 'NOPE' is not an opportunity_id"),
        ("calls", CALLS + "K4,O1,2017-02-12,2.5,connected\n",
         r"line 5: call 'K4': duration_seconds '2\.5' is not a whole number"),
        ("calls", CALLS + "K4,O1,2017-02-12,30,busy\n",
         r"line 5: call 'K4': outcome 'busy' is not one of connected, no_answer, voicemail"),
        ("calls", CALLS + "K4,O1,,30,connected\n", r"line 5: call 'K4': date ''"),
        ("line_items", LINE_ITEMS + "NOPE,Widget,1,5\n",
         r"line_items\.csv: line 5: line item of opportunity 'NOPE': opportunity_id 'NOPE'"),
        ("line_items", LINE_ITEMS + "O1,Widget,one,5\n",
         r"line 5: line item of opportunity 'O1': quantity 'one' is not a number or empty"),
        ("line_items", LINE_ITEMS + "O1,Widget,1,5 USD\n",
         r"line 5: line item of opportunity 'O1': amount '5 USD' is not a number or empty"),
        ("line_items", LINE_ITEMS + "O1,,1,5\n",
         r"line 5: line item of opportunity 'O1': product '' is not a product name"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("scored_only", [False, True], ids=["whole", "scored-only"])
def test_each_bad_value_is_named_by_file_line_record_and_column(
    tmp_path: Path, name: str, text: str, named: str, scored_only: bool
) -> None:
    # an audit keeps only the columns the KPIs read, and still checks every one of the file
    folder = _seed(tmp_path / "seed", **{name: text})
    with pytest.raises(SeedFormatError, match=named):
        read_seed(folder, scored_only=scored_only)


def test_an_empty_or_repeated_id_is_named_whether_or_not_the_ids_increase(
    tmp_path: Path,
) -> None:
    header = "call_id,opportunity_id,date,duration_seconds,outcome\n"
    # increasing but for the empty first id ("" sorts first)
    calls = header + ",O1,2017-02-03,120,connected\nK1,O1,2017-02-04,120,connected\n"
    with pytest.raises(SeedFormatError, match=r"line 2: call '': call_id '' is not a non-emp"):
        read_seed(_seed(tmp_path / "a", calls=calls))
    # a repeat in a file whose ids otherwise increase
    calls = header + "K1,O1,2017-02-03,120,\nK2,O1,2017-02-03,5,\nK2,O2,2017-02-04,7,\n"
    with pytest.raises(SeedFormatError, match=r"line 4: call 'K2': call_id 'K2' is not"):
        read_seed(_seed(tmp_path / "b", calls=calls))


@pytest.mark.parametrize("scored_only", [False, True], ids=["whole", "scored-only"])
def test_a_missing_column_names_the_file(tmp_path: Path, scored_only: bool) -> None:
    folder = _seed(tmp_path / "seed", calls="call_id,opportunity_id,date,outcome\n")
    with pytest.raises(SeedFormatError, match=r"calls\.csv: missing column 'duration_seconds'"):
        read_seed(folder, scored_only=scored_only)


def test_scored_only_keeps_the_columns_the_kpis_read_and_their_values(full: Path) -> None:
    whole, scored = read_seed(full), read_seed(full, scored_only=True)
    for stream, entity in ACTIVITY_ENTITIES.items():
        kept, rows = getattr(scored.activity, stream), scored.activity_rows[stream]
        every = whole.activity_rows[stream]
        assert isinstance(kept, pl.DataFrame) and rows is not None and every is not None
        # leads: no status, converted_opportunity_id, lead_source, partner_name nor ROW
        assert rows.columns == kept.columns == entity.scored_layout.names
        assert kept.equals(every.select(entity.scored_layout.names))


def test_bad_values_after_a_multiline_value_are_named_by_their_line(tmp_path: Path) -> None:
    leads = (
        "lead_id,sales_agent,created_date,status,converted_date,opportunity_id,lead_source\n"
        'L1,Al Agent,2017-01-15,Open,,,"Web,\nform"\n'
        "L2,Al Agent,someday,Open,,,\n"
    )
    with pytest.raises(SeedFormatError, match=r"line 4: lead 'L2': created_date 'someday'"):
        read_seed(_seed(tmp_path / "seed", leads=leads))


def test_the_bundled_maven_line_items_follow_the_product_column(bundled_seed: Path) -> None:
    """README: one line item per opportunity (quantity 1, its amount). Row 2 of the
    publisher's file: Z063OYW0,Darcel Schlecht,GTXPro,Isdom,Won,2016-10-25,2017-03-11,4514."""
    items = read_seed(bundled_seed).activity.line_items
    assert isinstance(items, pl.DataFrame)
    assert items.height == 8800
    z = items.filter(pl.col("opportunity_id") == "Z063OYW0").row(0, named=True)
    assert z == {"id": "Z063OYW0-1", "opportunity_id": "Z063OYW0", "product": "GTX Pro",
                 "quantity": 1.0, "amount": 4514.0}  # fmt: skip
    assert "GTXPro" not in set(items["product"])


def test_unreadable_activity_in_a_copy_of_the_bundled_seed(
    tmp_path: Path, bundled_seed: Path
) -> None:
    folder = tmp_path / "seed"
    shutil.copytree(bundled_seed, folder)
    (folder / "quotes.csv").write_text(
        "quote_id,opportunity_id,created_date,status,sent_date\nQ1,1C1I7A6R,2016-10-20,Oops,\n"
    )
    with pytest.raises(SeedFormatError, match=r"line 2: quote 'Q1': status 'Oops'"):
        read_seed(folder)


def test_taken_activity_is_held_by_the_dataset_no_more(full: Path) -> None:
    dataset = read_seed(full, scored_only=True)
    rows = dataset.activity_rows["calls"]
    assert rows is not None
    held = weakref.ref(rows)
    del rows
    activity = dataset.take_activity()
    assert isinstance(activity.calls, pl.DataFrame)
    assert activity.calls["id"].to_list() == ["K1", "K2", "K3"]
    assert held() is None  # the engine's reference is the only one left
    with pytest.raises(RuntimeError, match=r"activity was taken"):
        _ = dataset.activity


def test_audit_of_a_seed_hands_its_activity_to_the_engine(
    full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`audit --seed` scores with the seed's leads, quotes, cases, calls and line items
    (without them every funnel and service KPI would be null on a seed)."""
    received: list[object] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        received.append(kwargs.get("activity"))
        return score_partners(*args, **kwargs)

    monkeypatch.setattr("partner_kpi.run.score_partners", recording)
    run_seed_audit(full, as_of=date(2017, 12, 31), settings=ScoringSettings(), out=tmp_path)
    (activity,) = received
    assert isinstance(activity, Activity)
    assert isinstance(activity.leads, pl.DataFrame)
    assert activity.leads["id"].to_list() == ["L1", "L2", "L3"]
    assert isinstance(activity.calls, pl.DataFrame) and activity.calls.height == 3
    # only what the KPIs read is held while scoring (a million leads' texts are not)
    assert activity.leads.columns == ["id", "partner_id", "created_date", "converted_date"]

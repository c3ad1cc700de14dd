"""bench/e2e.py's pieces that decide its verdicts: the seed generator, the DuckDB figures
it times against, and the check that an audit's figures equal them."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from bench import seed_folder
from bench.e2e import duckdb_sql, figure_differences, parse_size, selected
from bench.seed_folder import write_seed_folder


def pipeline_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "sales_pipeline.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_generator_repeats_itself_and_writes_exactly_the_rows_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seed_folder, "CHUNK", 1_000)  # three chunks, the last one short
    first = write_seed_folder(tmp_path / "a", 2_500, 20, seed=3)
    again = write_seed_folder(tmp_path / "b", 2_500, 20, seed=3)
    other = write_seed_folder(tmp_path / "c", 2_500, 20, seed=4)
    for name in ("sales_pipeline.csv", "sales_teams.csv", "accounts.csv", "products.csv"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    pipeline = "sales_pipeline.csv"
    assert (first / pipeline).read_bytes() != (other / pipeline).read_bytes()

    rows = pipeline_rows(first)
    assert [row["opportunity_id"] for row in rows] == [f"B{i:09d}" for i in range(2_500)]
    with (first / "sales_teams.csv").open(newline="") as handle:
        agents = {row["sales_agent"] for row in csv.DictReader(handle)}
    assert len(agents) == 20
    assert {row["sales_agent"] for row in rows} <= agents
    assert (first / "sales_pipeline.csv").read_bytes().count(b"\r\n") == 2_501


def test_generated_rows_have_the_bundled_datasets_shape(tmp_path: Path) -> None:
    rows = pipeline_rows(write_seed_folder(tmp_path, 3_000, 30))
    for row in rows:
        stage, engage, close, value = (
            row["deal_stage"], row["engage_date"], row["close_date"], row["close_value"]
        )  # fmt: skip
        if stage == "Prospecting":
            assert (engage, close, value) == ("", "", "")
        elif stage == "Engaging":
            assert engage and (close, value) == ("", "")
        else:
            assert row["account"] and engage < close <= "2017-12-31"
            assert (int(value) > 0) if stage == "Won" else value == "0"
    stages = [row["deal_stage"] for row in rows]
    assert 0.40 < stages.count("Won") / len(rows) < 0.56  # 48 % drawn
    open_rows = [row for row in rows if row["deal_stage"] in ("Engaging", "Prospecting")]
    assert 0.5 < sum(not row["account"] for row in open_rows) / len(open_rows) < 0.7  # 60 %


SEED_ROWS = [
    # opportunity_id, sales_agent, product, account, deal_stage, engage, close, close_value
    ("1", "Ann", "GTX Pro", "C", "Won", "2017-03-01", "2017-03-11", "1000"),
    ("2", "Ann", "GTX Pro", "C", "Won", "2017-05-01", "2017-05-31", "3000"),
    ("3", "Ann", "GTX Pro", "C", "Won", "2016-06-01", "2016-12-31", "500"),  # A − 365: out
    ("4", "Ann", "GTX Pro", "C", "Lost", "2017-02-01", "2017-02-20", "0"),
    ("5", "Ann", "GTXPro", "", "Engaging", "2017-06-01", "", ""),  # price of "GTX Pro"
    ("6", "Ann", "MG Special", "", "Prospecting", "", "", ""),  # created 2018-01-05: later
    ("7", "Bo", "GTX Pro", "C", "Lost", "2017-04-01", "2017-04-10", "0"),
    ("8", "Bo", "GTX Pro", "C", "Won", "2017-07-01", "2017-07-08", ""),  # no amount
    ("9", "Bo", "GTX Pro", "C", "Won", "2017-12-01", "2018-01-05", "2000"),  # won after A
    ("10", "", "GTX Pro", "C", "Won", "2017-08-01", "2017-08-02", "9999"),  # no partner
]


def test_the_duckdb_figures_follow_the_seed_mapping_and_kpis_md(tmp_path: Path) -> None:
    with (tmp_path / "sales_pipeline.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(seed_folder.PIPELINE_COLUMNS)
        writer.writerows(SEED_ROWS)
    (tmp_path / "products.csv").write_text(
        "product,series,sales_price\nGTX Pro,GTX,4821\nMG Special,MG,55\n"
    )
    rows = duckdb.connect().execute(duckdb_sql(tmp_path)).fetchall()
    # Ann: won 1 and 2 (3 closed on A − 365, outside the window), lost 4; 5 open Engaging
    # at 4,821 × 0.5; 6 created on the file's latest date, after A, so not there at all.
    # Bo: won 8 (no amount) and lost 7; 9 closed after A, so open in Engaging: 2,000 × 0.5.
    assert rows == [
        ("Ann", 2, 4000.0, 2410.5, pytest.approx(2 / 3), 20.0),
        ("Bo", 1, 0.0, 1000.0, 0.5, 7.0),
    ]


def test_an_audit_that_differs_from_duckdb_is_reported_figure_by_figure() -> None:
    ann = {
        "deal_count": "2",
        "won_amount": "4000.0",
        "weighted_pipeline": "2410.5",
        "close_rate": "0.6666666666666666",
        "sales_cycle_days": "20.0",
    }
    # Cy had no opportunity, so DuckDB does not list Cy: counts 0, rates null
    cy = {"deal_count": "0", "won_amount": "0.0", "weighted_pipeline": "0.0"}
    cy |= {"close_rate": "", "sales_cycle_days": ""}
    duck = {"Ann": ann}
    agreeing = {"Ann": {**ann, "close_rate": "0.666667"}, "Cy": cy}  # scores.csv's 6 decimals
    assert figure_differences(agreeing, duck) == []
    wrong = {**agreeing, "Ann": {**agreeing["Ann"], "deal_count": "3"}}
    assert figure_differences(wrong, duck) == ["Ann deal_count: scored 3.0, DuckDB 2.0"]
    assert figure_differences({}, duck) == ["Ann: in DuckDB's figures, not scored"]


def test_sizes_read_as_people_write_them() -> None:
    assert [parse_size(text) for text in ("100k", "1m", "5M", "2.5m", "8800")] == [
        100_000, 1_000_000, 5_000_000, 2_500_000, 8_800
    ]  # fmt: skip


def test_a_command_asked_for_alone_brings_what_it_needs() -> None:
    assert selected({"first-render"}) == {"first-render", "audit-seed", "duckdb"}
    assert selected({"audit-offline"}) == {
        "audit-offline", "audit-config", "sandbox-serve", "duckdb"
    }  # fmt: skip
    assert selected({"help"}) == {"help"}

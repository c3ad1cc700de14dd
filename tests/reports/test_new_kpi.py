"""Adding a KPI is one catalogue entry plus its expression: a toy KPI reaches every output.

The toy ``won_count_x2`` (2 × deal_count) is added to the catalogue the production
code reads; nothing else is changed, and the real audit writes the files.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from kpi_engine import KPIS, ScoringSettings
from kpi_engine.catalogue import COUNT, NEVER_ZERO, Kpi
from partner_kpi.config import parse_config
from partner_kpi.run import run_seed_audit
from tests.reports.page_tree import parse
from tests.reports.report_data import kpi_texts
from tests.writeback.fakes import DEFAULTS
from writeback.spec import field_map
from writeback.values import OUTPUTS

TOY = Kpi(
    "won_count_x2",
    COUNT,
    "higher",
    NEVER_ZERO,
    label="Deals won twice over",
    meaning="Twice the deals won in the window: a toy KPI.",
    expression=2 * pl.col("deal_count"),
)


@pytest.fixture
def toy_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KPIS, "kpis", (*KPIS.kpis, TOY))


@pytest.fixture
def audit_out(toy_catalogue: None, bundled_seed: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    run_seed_audit(bundled_seed, as_of=date(2017, 12, 31), settings=ScoringSettings(), out=out)
    return out


def test_the_new_kpi_is_a_scores_csv_column(audit_out: Path) -> None:
    with (audit_out / "scores.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames is not None
    assert reader.fieldnames[-5:] == [
        "value_added_calls", "won_count_x2", "score", "tier", "drivers",
    ]  # fmt: skip
    assert len(rows) == 35
    assert all(int(row["won_count_x2"]) == 2 * int(row["deal_count"]) for row in rows)
    assert any(int(row["won_count_x2"]) > 0 for row in rows)


def test_the_new_kpi_is_in_scores_json_for_partners_and_the_no_partner_bucket(
    audit_out: Path,
) -> None:
    document = json.loads((audit_out / "scores.json").read_text())
    for partner in document["partners"]:
        assert partner["won_count_x2"] == 2 * partner["deal_count"]
        keys = list(partner)
        last = keys.index("value_added_calls")  # the catalogue's last KPI before the toy
        assert keys[last + 1 : last + 3] == ["won_count_x2", "channels"]
    no_partner = document["portfolio"]["no_partner"]
    assert no_partner["won_count_x2"] == 2 * no_partner["deal_count"]


def test_the_new_kpi_is_on_every_scorecard_and_in_the_glossary(audit_out: Path) -> None:
    page = parse((audit_out / "report.html").read_text())
    # every scorecard lists the data block's KPIs, each with its text for every partner
    data = json.loads(page.one("script", id="report-data").raw())
    names = [k["name"] for k in data["kpis"]]
    toy = data["kpis"][names.index("won_count_x2")]
    assert (toy["label"], toy["meaning"]) == (TOY.label, TOY.meaning)
    deal_counts = kpi_texts(data, names.index("deal_count"))
    assert len(deal_counts) == 35
    assert kpi_texts(data, names.index("won_count_x2")) == [f"{2 * int(n):,}" for n in deal_counts]
    glossary = page.one("section", id="how-to-read").text()
    assert "Deals won twice over won_count_x2" in glossary
    assert "Twice the deals won in the window: a toy KPI." in glossary


def test_the_new_kpi_can_be_written_to_a_whole_number_field(toy_catalogue: None) -> None:
    assert OUTPUTS["won_count_x2"].kinds == ("number", "text")
    config = parse_config({"writeback": {"fields": {"won_count_x2": {}}}})
    mapped = field_map(config.writeback, DEFAULTS).by_output("won_count_x2")
    assert mapped is not None
    assert (mapped.name, mapped.kind, mapped.scale) == ("Partner_Won_Count_X2__c", "number", 0)
    assert mapped.spec.label == "Partner won count x2"

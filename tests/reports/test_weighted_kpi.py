"""A weight on a KPI beyond the eight default components (KPIS.md: any KPI can be given
one) reaches the report: its component is charted, and a partner it drives is shown."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from kpi_engine import COMPONENTS, ScoringSettings
from partner_kpi.run import run_seed_audit
from tests.reports.page_tree import parse


def test_a_weighted_kpi_is_a_component_of_the_report(bundled_seed: Path, tmp_path: Path) -> None:
    # referral_count reads opportunities alone, so the seed folder has it; weighted 50 it
    # is a strong driver of every partner with a referral
    settings = ScoringSettings(weights={"referral_count": 50})
    out = tmp_path / "out"
    run_seed_audit(bundled_seed, as_of=date(2017, 12, 31), settings=settings, out=out)
    page = parse((out / "report.html").read_text())
    data = json.loads(page.one("script", id="report-data").raw())
    names = [component[0] for component in data["components"]]
    assert names == [*COMPONENTS, "referral_count"]
    strong = {names[i] for row in data["partners"]["strong"] for i in row}
    assert "referral_count" in strong
    assert all(len(row) == len(names) for row in data["partners"]["pct"])

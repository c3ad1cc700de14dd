"""bench/store_file.py: the store it builds is a store the pipeline scores, and its DuckDB
yardstick computes the engine's figures (or the benchmark would compare unlike work)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from bench.store_file import build_store, duckdb_core_figures
from kpi_engine import ScoringSettings
from partner_kpi.run import score
from quality import QualitySettings
from store import LocalStore

AS_OF = date(2017, 12, 31)
FIGURES = ("deal_count", "won_amount", "pipeline_value", "close_rate", "sales_cycle_days")


def test_the_built_store_scores_as_duckdb_counts_it(tmp_path: Path) -> None:
    path = build_store(tmp_path / "bench.db", opportunities=3_000, partners=40)

    with LocalStore.open(path, holder="pytest") as store:
        counts = store.counts()
        result, check = score(
            store, as_of=AS_OF, settings=ScoringSettings(), quality=QualitySettings()
        )

    assert (counts.opportunities, counts.partners, counts.stage_defs) == (3_000, 40, 4)
    assert counts.stage_changes > counts.opportunities
    assert check.excluded_count == 0
    engine = {p.partner_id: {f: p.kpis.number(f) for f in FIGURES} for p in result.partners}
    duck = {row["partner_id"]: row for row in duckdb_core_figures(path, AS_OF).to_pylist()}
    assert engine.keys() == duck.keys()
    for partner, figures in engine.items():
        for name, value in figures.items():
            expected = duck[partner][name]
            if expected is None:
                assert value is None or math.isnan(value), (partner, name)
            else:
                assert value == pytest.approx(float(expected)), (partner, name)

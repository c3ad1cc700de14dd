"""The catalogue is KPIS.md's table: the same names, in its order, with its null rules."""

from __future__ import annotations

import re

import polars as pl
import pytest

from kpi_engine import KPIS
from kpi_engine.engine import derive_kpis
from tests.conftest import REPO_ROOT

KPIS_MD = REPO_ROOT / "docs" / "KPIS.md"  # the design's KPI dictionary, shipped with the code


def kpis_md_table() -> list[tuple[str, str]]:
    """(column, null when) of each row of KPIS.md's "Per-partner KPIs" table."""
    text = KPIS_MD.read_text(encoding="utf-8")
    section = text.split("## Per-partner KPIs", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|.*\| ([^|]+) \|$", section, flags=re.MULTILINE)
    return [(name, null_when.strip()) for name, null_when in rows]


def test_names_and_order_are_kpis_md_s() -> None:
    assert KPIS.names == tuple(name for name, _ in kpis_md_table())
    assert KPIS.names[:3] == ("deal_count", "won_amount", "missing_amount_count")


def test_null_rules_are_kpis_md_s_words() -> None:
    assert [(kpi.name, kpi.null_when) for kpi in KPIS] == kpis_md_table()


def test_a_kpi_that_may_be_null_says_why_in_the_report() -> None:
    assert all(bool(kpi.null_note) == kpi.nullable for kpi in KPIS)
    assert [kpi.name for kpi in KPIS if not kpi.nullable] == [
        "deal_count", "won_amount", "missing_amount_count", "pipeline_count", "pipeline_value",
        "weighted_pipeline", "quality_score", "new_revenue",
    ]  # fmt: skip


def test_lookup_by_name() -> None:
    assert KPIS["close_rate"].kind.name == "rate"
    assert KPIS["sales_cycle_days"].direction == "lower"
    assert "stage_days" in KPIS
    assert "close_rate_adj" not in KPIS  # a score component, not a KPI
    with pytest.raises(KeyError):
        KPIS["close_rate_adj"]


def test_the_expressions_derive_kpis_from_hand_made_sums() -> None:
    sums = pl.DataFrame(
        {
            "partner_id": ["a", "b"],
            "opportunity_count": [6, 1],
            "won_count": [3, 0],
            "won_total": [600.0, 0.0],
            "won_with_amount": [2, 0],
            "won_without_amount": [1, 0],
            "won_cycle_days": [90, 0],
            "lost_count": [1, 1],
            "open_count": [2, 0],
            "open_total": [1000.0, 0.0],
            "open_weighted_total": [250.0, 0.0],
            "created_w_count": [4, 0],
            "created_w_won": [1, 0],
            "first_win_total": [200.0, 0.0],
            "prior_won_total": [400.0, 0.0],
        }
    )
    a, b = derive_kpis(sums, KPIS).to_dicts()
    assert {name: a[name] for name in KPIS.names if name in a} == {
        "deal_count": 3,
        "won_amount": 600.0,
        "missing_amount_count": 1,
        "avg_deal_size": 300.0,  # 600 / 2 with an amount
        "pipeline_count": 2,
        "pipeline_value": 1000.0,
        "weighted_pipeline": 250.0,
        "close_rate": 0.75,
        "sales_cycle_days": 30.0,
        "deal_velocity": 2 * 0.75 * 300.0 / 30.0,
        "deal_success": 0.25,
        "new_revenue": 200.0,
        "won_amount_growth": 0.5,
    }
    assert [b[n] for n in ("avg_deal_size", "close_rate", "sales_cycle_days")] == [None, 0.0, None]
    assert [b[n] for n in ("deal_velocity", "deal_success", "won_amount_growth")] == [None] * 3

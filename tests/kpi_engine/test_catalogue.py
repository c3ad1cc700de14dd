"""The catalogue is KPIS.md's table: the same names, in its order, with its null rules."""

from __future__ import annotations

import re

import polars as pl
import pytest

from core.schema import ACTIVITY_ENTITIES
from kpi_engine import KPIS
from kpi_engine.engine import derive_kpis
from tests.conftest import REPO_ROOT

KPIS_MD = REPO_ROOT / "docs" / "KPIS.md"  # the design's KPI dictionary, shipped with the code


def kpis_md_table(heading: str = "Per-partner KPIs") -> list[tuple[str, str]]:
    """(column, null when) of each row of the table under a KPIS.md heading."""
    text = KPIS_MD.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|.*\| ([^|]+) \|$", section, flags=re.MULTILINE)
    return [(name, null_when.strip()) for name, null_when in rows]


def kpis_md_tables() -> list[tuple[str, str]]:
    """Both KPI tables of KPIS.md, in its order: per partner, then the funnel, customers
    and service."""
    return kpis_md_table() + kpis_md_table("The partner's funnel, customers and service")


def test_names_and_order_are_kpis_md_s() -> None:
    assert KPIS.names == tuple(name for name, _ in kpis_md_tables())
    assert KPIS.names[:3] == ("deal_count", "won_amount", "missing_amount_count")
    assert len(kpis_md_table("The partner's funnel, customers and service")) == 13
    assert KPIS.names[-1] == "value_added_calls"


def test_null_rules_are_kpis_md_s_words() -> None:
    assert [(kpi.name, kpi.null_when) for kpi in KPIS] == kpis_md_tables()


def test_a_kpi_that_may_be_null_says_why_in_the_report() -> None:
    assert all(bool(kpi.null_note) == kpi.nullable for kpi in KPIS)
    assert [kpi.name for kpi in KPIS if not kpi.nullable] == [
        "deal_count", "won_amount", "missing_amount_count", "pipeline_count", "pipeline_value",
        "weighted_pipeline", "quality_score", "new_revenue", "referral_count", "customer_count",
    ]  # fmt: skip


def test_each_kpi_names_the_objects_it_reads() -> None:
    """From KPIS.md's definitions: the object each funnel, customer or service KPI reads
    besides opportunities (customers and referrals come from opportunities alone)."""
    assert {stream: KPIS.needing(stream) for stream in ACTIVITY_ENTITIES} == {
        "leads": ("lead_count", "lead_conversion_rate"),
        "quotes": ("quote_turnaround_days",),
        "cases": ("tickets_per_customer", "first_contact_resolution", "onboarding_days"),
        "calls": ("value_added_calls",),
        "line_items": ("products_per_customer",),
    }


def test_lower_is_better_where_kpis_md_says_so() -> None:
    assert [kpi.name for kpi in KPIS if kpi.direction == "lower"] == [
        "missing_amount_count", "sales_cycle_days", "tickets_per_customer", "onboarding_days",
        "quote_turnaround_days",
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
            "referral_w_count": [2, 0],
            "customers_w": [4, 0],
            "customers_p": [2, 3],
            "customers_at_a": [5, 0],
            "customers_retained": [1, 0],
            "retained_won_total": [300.0, 0.0],
            "open_in_w_count": [8, 0],
            "leads_created_w": [10, 0],
            "leads_converted": [3, 0],
            "quoted_w_count": [4, 0],
            "quote_days_total": [10, 0],
            "customer_cases_w": [15, 0],
            "customer_cases_closed_w": [8, 0],
            "customer_cases_first_contact": [6, 0],
            "onboarded_count": [2, 0],
            "onboarding_days_total": [9, 0],
            "value_calls_w": [12, 0],
            "customer_products": [6, 0],
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
        "lead_count": 10,
        "lead_conversion_rate": 0.3,  # 3 / 10
        "referral_count": 2,
        "customer_count": 4,
        "customer_growth": 1.0,  # (4 − 2) / 2
        "account_retention": 0.5,  # 1 / 2
        "revenue_retention": 0.75,  # 300 / 400
        "products_per_customer": 1.5,  # 6 / 4
        "tickets_per_customer": 3.0,  # 15 / 5
        "first_contact_resolution": 0.75,  # 6 / 8
        "onboarding_days": 4.5,  # 9 / 2
        "quote_turnaround_days": 2.5,  # 10 / 4
        "value_added_calls": 1.5,  # 12 / 8
    }
    assert [b[n] for n in ("avg_deal_size", "close_rate", "sales_cycle_days")] == [None, 0.0, None]
    assert [b[n] for n in ("deal_velocity", "deal_success", "won_amount_growth")] == [None] * 3
    # b lost all 3 customers of P and has nothing to divide by elsewhere
    assert [b[n] for n in ("customer_growth", "account_retention", "lead_count")] == [-1.0, 0.0, 0]
    assert {n for n in KPIS.names[-13:] if b[n] is None} == {
        "lead_conversion_rate", "revenue_retention", "products_per_customer",
        "tickets_per_customer", "first_contact_resolution", "onboarding_days",
        "quote_turnaround_days", "value_added_calls",
    }  # fmt: skip

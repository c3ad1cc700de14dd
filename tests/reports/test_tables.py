"""scores.csv rows: every KPI by its KPIS.md name, floats, nulls, stage days and drivers;
scores.json compact and complete."""

from __future__ import annotations

import json
from pathlib import Path

from kpi_engine import PartnerKpis
from partner_kpi.reports.tables import csv_columns, csv_row, scores_document, write_scores_json
from tests.kpi_engine.builders import hand_made_score
from tests.reports.report_data import hostile_input


def every_kpi() -> PartnerKpis:
    return PartnerKpis(
        values={
            "deal_count": 3,
            "won_amount": 6000.0,
            "missing_amount_count": 0,
            "avg_deal_size": 2000.0,
            "pipeline_count": 1,
            "pipeline_value": 5000.0,
            "weighted_pipeline": 2500.0,
            "close_rate": 0.75,
            "sales_cycle_days": 110 / 3,
            "deal_velocity": 1 * 0.75 * 2000.0 / (110 / 3),
            "deal_success": 0.6,
            "quality_score": 100.0,
            "new_revenue": 3000.0,
            "won_amount_growth": None,
            "top_channel": "owned",
            "stage_days": {"Engaging": 30.0, "Prospecting": 10.0, "Hand-off": 2.5},
            "lead_count": 12,
            "lead_conversion_rate": 0.25,
            "referral_count": 2,
            "customer_count": 3,
            "customer_growth": 0.5,
            "account_retention": None,
            "revenue_retention": 1.25,
            "products_per_customer": 4 / 3,
            "tickets_per_customer": 1.5,
            "first_contact_resolution": 0.5,
            "onboarding_days": 29.5,
            "quote_turnaround_days": 0.0,
            "value_added_calls": 4 / 7,
        },
        channels={},
    )


def test_a_partner_as_a_scores_csv_row() -> None:
    row = csv_row(hand_made_score(every_kpi()), ("Prospecting", "Engaging"))
    assert row == {
        "partner_id": "p1",
        "partner_name": "Acme",
        "deal_count": "3",
        "won_amount": "6000.0",
        "missing_amount_count": "0",
        "avg_deal_size": "2000.0",
        "pipeline_count": "1",
        "pipeline_value": "5000.0",
        "weighted_pipeline": "2500.0",
        "close_rate": "0.75",
        "sales_cycle_days": "36.666667",
        "deal_velocity": "40.909091",
        "deal_success": "0.6",
        "quality_score": "100.0",
        "new_revenue": "3000.0",
        "won_amount_growth": "",
        "top_channel": "owned",
        "stage_days": "Prospecting=10.0; Engaging=30.0; Hand-off=2.5",
        "lead_count": "12",
        "lead_conversion_rate": "0.25",
        "referral_count": "2",
        "customer_count": "3",
        "customer_growth": "0.5",
        "account_retention": "",
        "revenue_retention": "1.25",
        "products_per_customer": "1.333333",
        "tickets_per_customer": "1.5",
        "first_contact_resolution": "0.5",
        "onboarding_days": "29.5",
        "quote_turnaround_days": "0.0",
        "value_added_calls": "0.571429",
        "score": "71.3",
        "tier": "Gold",
        "drivers": "strong: deal_count (p97), pipeline_value (p90); "
        "weak: close_rate_adj (p0), sales_cycle_days (p12)",
    }
    assert list(row) == list(csv_columns())


def test_scores_json_is_compact_and_complete(tmp_path: Path) -> None:
    data = hostile_input()
    path = tmp_path / "scores.json"
    write_scores_json(data.result, path, data.settings, data.source)
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    # one line, no spaces between tokens (indented, 5,000 partners took 11.7 MB)
    assert text == json.dumps(document, separators=(",", ":")) + "\n"
    assert text.count("\n") == 1
    # and every field: the document as the writer built it, partners in rank order
    assert document == json.loads(json.dumps(scores_document(data.result, data.settings,
                                                             data.source)))  # fmt: skip
    assert [p["partner_id"] for p in document["partners"]] == [
        p.partner_id for p in data.result.partners
    ]
    assert set(document) == {"as_of", "window_days", "source", "settings", "portfolio",
                             "partners"}  # fmt: skip
    assert set(document["partners"][0]) >= {"partner_id", "partner_name", "deal_count",
        "stage_days", "channels", "components", "percentiles", "score", "tier", "drivers",
        "notes"}  # fmt: skip

"""scores.csv and scores.json: one row (or object) per partner, every KPI by its KPIS.md name;
quality.csv: the records data-quality rules caught."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from kpi_engine import (
    KPIS,
    PER_STAGE,
    PartnerScore,
    ScoringResult,
    ScoringSettings,
    float_text,
    stage_days_text,
)
from quality import QualityCheck


def csv_columns() -> tuple[str, ...]:
    """scores.csv's header: partner_id, partner_name, every KPI of the catalogue, score, tier,
    drivers."""
    return ("partner_id", "partner_name", *KPIS.names, "score", "tier", "drivers")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return float_text(value)
    return str(value)


def csv_row(score: PartnerScore, stage_order: Sequence[str] = ()) -> dict[str, str]:
    """One partner as a scores.csv row (empty cell for null)."""
    kpis = score.kpis
    row = {"partner_id": score.partner_id, "partner_name": score.partner_name}
    for kpi in KPIS:
        if kpi.kind is PER_STAGE:
            row[kpi.name] = stage_days_text(kpis.per_stage(kpi.name), stage_order)
        else:
            row[kpi.name] = _cell(kpis.values[kpi.name])
    row.update(score=_cell(score.score), tier=score.tier, drivers=score.drivers_text())
    return row


def write_scores_csv(result: ScoringResult, path: Path, stage_order: Sequence[str] = ()) -> None:
    """scores.csv: partner_id, partner_name, every KPI column, score, tier, drivers."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_columns(), lineterminator="\n")
        writer.writeheader()
        for score in result.partners:
            writer.writerow(csv_row(score, stage_order))


def scores_document(
    result: ScoringResult, settings: ScoringSettings, source: dict[str, Any]
) -> dict[str, Any]:
    """scores.json's content: the run, the settings, the portfolio and every partner."""
    partners = []
    for score in result.partners:
        kpis = score.kpis.model_dump(mode="json")
        partners.append(
            {
                "partner_id": score.partner_id,
                "partner_name": score.partner_name,
                **kpis,
                "components": score.components,
                "percentiles": score.percentiles,
                "score": score.score,
                "tier": score.tier,
                "drivers": score.drivers.model_dump(mode="json"),
                "notes": list(score.notes),
            }
        )
    return {
        "as_of": result.as_of.isoformat(),
        "window_days": result.window_days,
        "source": source,
        "settings": settings.model_dump(mode="json"),
        "portfolio": result.portfolio.model_dump(mode="json"),
        "partners": partners,
    }


def write_scores_json(
    result: ScoringResult, path: Path, settings: ScoringSettings, source: dict[str, Any]
) -> None:
    """scores.json: the same as scores.csv plus channel figures, stage days and components;
    compact (one line, no spaces between tokens: thousands of partners stay a small file)."""
    document = scores_document(result, settings, source)
    text = json.dumps(document, separators=(",", ":"), allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


#: quality.csv's header; file and line are filled for a seed folder's rows.
QUALITY_COLUMNS = ("record_id", "partner_id", "partner_name", "rule", "value", "action",
                   "file", "line")  # fmt: skip


def write_quality_csv(check: QualityCheck, path: Path, partner_names: Mapping[str, str]) -> None:
    """quality.csv: one row per record and rule it breaks (header only when none did);
    written from the findings' frame, which a large back-dated audit makes long."""
    names = pl.DataFrame(
        {"partner_id": list(partner_names), "partner_name": list(partner_names.values())},
        schema={"partner_id": pl.String(), "partner_name": pl.String()},
    )
    rows = check.table.join(names, on="partner_id", how="left", maintain_order="left")
    rows.select(QUALITY_COLUMNS).write_csv(path, line_terminator="\n")

"""scores.csv and scores.json: one row (or object) per partner, every KPI by its KPIS.md name."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kpi_engine import KPI_COLUMNS, PartnerScore, ScoringResult, ScoringSettings

CSV_COLUMNS: tuple[str, ...] = (
    "partner_id",
    "partner_name",
    *KPI_COLUMNS,
    "score",
    "tier",
    "drivers",
)
FLOAT_DIGITS = 6


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        rounded = round(value, FLOAT_DIGITS)
        return repr(0.0 if rounded == 0 else rounded)
    return str(value)


def format_stage_days(stage_days: dict[str, float], stage_order: Sequence[str] = ()) -> str:
    """'Prospecting=0.0; Engaging=45.8': stages in pipeline order, then any others by name."""
    rank = {stage: i for i, stage in enumerate(stage_order)}
    ordered = sorted(stage_days, key=lambda s: (rank.get(s, len(rank)), s))
    return "; ".join(f"{stage}={_cell(stage_days[stage])}" for stage in ordered)


def format_drivers(score: PartnerScore) -> str:
    """'strong: deal_count (p97), …; weak: …' so a rep sees why without opening the JSON."""

    def named(names: Sequence[str]) -> str:
        return ", ".join(f"{n} (p{round(100 * score.percentiles[n])})" for n in names)

    return f"strong: {named(score.drivers.strong)}; weak: {named(score.drivers.weak)}"


def csv_row(score: PartnerScore, stage_order: Sequence[str] = ()) -> dict[str, str]:
    """One partner as a scores.csv row (empty cell for null)."""
    kpis = score.kpis
    row = {"partner_id": score.partner_id, "partner_name": score.partner_name}
    for column in KPI_COLUMNS:
        if column == "stage_days":
            row[column] = format_stage_days(kpis.stage_days, stage_order)
        else:
            row[column] = _cell(getattr(kpis, column))
    row.update(score=_cell(score.score), tier=score.tier, drivers=format_drivers(score))
    return row


def write_scores_csv(result: ScoringResult, path: Path, stage_order: Sequence[str] = ()) -> None:
    """scores.csv: partner_id, partner_name, every KPI column, score, tier, drivers."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, lineterminator="\n")
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
    """scores.json: the same as scores.csv plus channel figures, stage days and components."""
    document = scores_document(result, settings, source)
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")

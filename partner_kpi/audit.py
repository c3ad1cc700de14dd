"""The audit: score a dataset and leave reports behind, writing nothing to any CRM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from connectors.seed import read_seed
from kpi_engine import ScoringResult, ScoringSettings, score_partners
from partner_kpi.reports import write_scores_csv, write_scores_json


@dataclass(frozen=True)
class AuditOutput:
    """What an audit produced: the result and the files it wrote."""

    result: ScoringResult
    files: tuple[Path, ...]


def audit_seed(seed_dir: Path, *, as_of: date, settings: ScoringSettings, out: Path) -> AuditOutput:
    """Score a seed folder with no CRM at all and write scores.csv and scores.json to ``out``."""
    dataset = read_seed(seed_dir)
    result = score_partners(
        dataset.partners,
        dataset.opportunities,
        dataset.stage_events,
        as_of=as_of,
        settings=settings,
    )
    out.mkdir(parents=True, exist_ok=True)
    stage_order = [stage.name for stage in sorted(dataset.stage_defs, key=lambda s: s.sort_order)]
    csv_path, json_path = out / "scores.csv", out / "scores.json"
    write_scores_csv(result, csv_path, stage_order)
    write_scores_json(result, json_path, settings, source={"kind": "seed", "path": str(seed_dir)})
    return AuditOutput(result=result, files=(csv_path, json_path))

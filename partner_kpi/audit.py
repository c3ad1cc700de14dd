"""The audit: score a dataset and leave reports behind, writing nothing to any CRM.

From a seed folder (no CRM at all) or from a CRM through the local store: the
store is synced incrementally (or not at all with ``offline``), scored, and the
scores kept as history for the report's trend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from connectors.seed import read_seed
from kpi_engine import ScoringResult, ScoringSettings, score_partners
from partner_kpi.config import AppConfig
from partner_kpi.crm import connector_for
from partner_kpi.reports import write_scores_csv, write_scores_json
from partner_kpi.reports.html import ScorePoint, write_report_html
from partner_kpi.sync import SyncCounts, sync_store
from store import LocalStore


@dataclass(frozen=True)
class AuditOutput:
    """What an audit produced: the result, the files it wrote, and what it synced."""

    result: ScoringResult
    files: tuple[Path, ...]
    sync: SyncCounts | None = None
    run_id: str | None = None


def write_reports(
    result: ScoringResult,
    out: Path,
    *,
    settings: ScoringSettings,
    source: dict[str, Any],
    stage_order: Sequence[str],
    history: Sequence[ScorePoint] = (),
    run_id: str | None = None,
) -> tuple[Path, ...]:
    """scores.csv, scores.json and report.html in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path, html_path = out / "scores.csv", out / "scores.json", out / "report.html"
    write_scores_csv(result, csv_path, stage_order)
    write_scores_json(result, json_path, settings, source)
    write_report_html(
        result, html_path, settings=settings, source=source, history=history,
        stage_order=stage_order, run_id=run_id,
    )  # fmt: skip
    return csv_path, json_path, html_path


def audit_seed(seed_dir: Path, *, as_of: date, settings: ScoringSettings, out: Path) -> AuditOutput:
    """Score a seed folder with no CRM at all and write the reports to ``out``."""
    dataset = read_seed(seed_dir)
    result = score_partners(
        dataset.partners,
        dataset.opportunities,
        dataset.stage_events,
        as_of=as_of,
        settings=settings,
    )
    stage_order = [stage.name for stage in sorted(dataset.stage_defs, key=lambda s: s.sort_order)]
    files = write_reports(
        result, out, settings=settings, source={"kind": "seed", "path": str(seed_dir)},
        stage_order=stage_order,
    )  # fmt: skip
    return AuditOutput(result=result, files=files)


def audit_crm(
    config: AppConfig,
    *,
    as_of: date,
    settings: ScoringSettings,
    out: Path,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
) -> AuditOutput:
    """Sync the store from the configured CRM (unless offline), score, and write the reports."""
    crm = config.crm.type if config.crm else "none"
    with LocalStore.open(config.store.path, holder=f"partner-kpi audit ({crm})") as store:
        run_id = store.start_run("audit", as_of)
        try:
            counts = None
            if not offline:
                connector = connector_for(config.crm, os.environ if environ is None else environ)
                counts = sync_store(connector, store)
            result = score_partners(
                store.partners_table(),
                store.opportunities_table(),
                store.stage_events_table(),
                as_of=as_of,
                settings=settings,
            )
            store.save_scores(run_id, result.partners)
            stage_order = [s.name for s in sorted(store.stage_defs(), key=lambda s: s.sort_order)]
            source = {"kind": crm, "store": str(config.store.path), "offline": offline,
                      "run_id": run_id}  # fmt: skip
            history = [
                ScorePoint(run_id=row.run_id, as_of=row.as_of, partner_id=row.partner_id,
                           score=row.score, tier=row.tier)
                for row in store.score_history()
                if row.run_status == "succeeded"
            ]  # fmt: skip
            files = write_reports(
                result, out, settings=settings, source=source, stage_order=stage_order,
                history=history, run_id=run_id,
            )  # fmt: skip
        except BaseException as exc:
            store.finish_run(run_id, "failed", counts={}, error=f"{type(exc).__name__}: {exc}")
            raise
        store.finish_run(run_id, "succeeded", counts=counts.as_json() if counts else {})
    return AuditOutput(result=result, files=files, sync=counts, run_id=run_id)

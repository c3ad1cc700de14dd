"""The data-quality step of a run, between extract and score: judge the opportunities,
name the file and line of a seed row, stop the run on a ``fail`` policy, leave out what a
rule excludes (with its stage events), and say so in the drivers of the partners concerned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl
import pyarrow as pa

from connectors.seed import SeedDataset
from kpi_engine import ScoringResult
from quality import QualityCheck, QualitySettings, Suspect, check_opportunities
from quality.check import ColumnsT

UNKNOWN_STAGE = "unknown_stage"


@dataclass(frozen=True)
class CheckedInputs:
    """The engine's inputs with the excluded records left out, and the check that did it."""

    opportunities: pa.Table | pl.DataFrame
    stage_events: pa.Table | pl.DataFrame
    check: QualityCheck


def checked_inputs(
    opportunities: ColumnsT,
    stage_events: ColumnsT,
    *,
    as_of: date,
    settings: QualitySettings,
    suspects: Iterable[Suspect] = (),
    seed: SeedDataset | None = None,
) -> CheckedInputs:
    """Judge ``opportunities`` (the whole Opportunity layout) as of ``as_of`` on the day of
    the run; DataQualityFailed before anything is scored when a ``fail`` rule caught records."""
    check = check_opportunities(
        opportunities, as_of=as_of, today=date.today(), settings=settings, suspects=suspects
    )
    if seed is not None and not check.table.is_empty():
        lines = seed.lines_of(check.table["record_id"].to_list())
        check = check.located(lines, str(seed.pipeline_file))
    check.raise_if_failed()
    return CheckedInputs(
        check.kept_opportunities(opportunities), check.kept_stage_events(stage_events), check
    )


def checked_seed(seed: SeedDataset, *, as_of: date, settings: QualitySettings) -> CheckedInputs:
    """A seed folder's records judged, each finding with its file and line; rows of an
    unknown stage (never records) are judged by ``unknown_stage``."""
    suspects = [
        Suspect(row.record_id, row.partner_id, UNKNOWN_STAGE, f"stage {row.stage}")
        for row in seed.unknown_stages
    ]
    return checked_inputs(
        seed.records,
        seed.stage_events_frame,
        as_of=as_of,
        settings=settings,
        suspects=suspects,
        seed=seed,
    )


def with_quality_notes(result: ScoringResult, check: QualityCheck) -> ScoringResult:
    """``result`` with a note in the drivers of each partner that owned excluded records."""
    notes = check.partner_notes()
    if not notes:
        return result
    partners = tuple(
        p.model_copy(update={"notes": (*p.notes, notes[p.partner_id])})
        if p.partner_id in notes
        else p
        for p in result.partners
    )
    return result.model_copy(update={"partners": partners})

"""HubSpot's deal stages: what each means (from its metadata), and each deal's visits.

A stage's status and probability come from its metadata, never its label; a
deal's stage history comes from its ``hs_v2_date_entered/exited_<stage>`` dates
when they prove no visit is missing, else from its dealstage history.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence

from connectors.hubspot.mapping import (
    HsRecord,
    PipelineInfo,
    StageCatalog,
    StageInfo,
    moment_of,
    parse_ms,
)
from connectors.hubspot.queries import (
    CREATED,
    DEAL_STAGE,
    STAGE_ENTERED_PREFIX,
    STAGE_EXITED_PREFIX,
)
from core.errors import ConfigError, SchemaError
from core.schema import OpportunityStatus, StageChange, StageDef

logger = logging.getLogger(__name__)


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return {"true": True, "false": False}.get(text)


def stage_def_from_info(stage: StageInfo, sort_order: int, pipeline: str) -> StageDef:
    """What HubSpot's stage metadata says: closed or not, and the win probability."""
    closed = _flag(stage.metadata.get("isClosed"))
    raw_probability = stage.metadata.get("probability")
    where = f"stage {stage.label!r} ({stage.id}) of pipeline {pipeline!r}"
    if closed is None:
        raise SchemaError(f"{where} has no isClosed metadata; a deal stage always carries it")
    try:
        probability = float(raw_probability) if raw_probability not in (None, "") else None
    except (TypeError, ValueError):
        probability = None
    if probability is None or not 0.0 <= probability <= 1.0:
        raise SchemaError(
            f"{where}: probability metadata {raw_probability!r} is not a number between 0 and 1"
        )
    if not closed:
        status = OpportunityStatus.OPEN
    elif probability >= 1.0:
        status = OpportunityStatus.WON
    else:
        status = OpportunityStatus.LOST
    return StageDef(name=stage.label, status=status, probability=probability, sort_order=sort_order)


def stage_catalog(pipelines: Sequence[PipelineInfo], wanted: str | None) -> StageCatalog:
    """The stages of the configured pipeline (by id or label), or of every deal pipeline.

    Stages are named by their labels; two pipelines may share a label only if
    their metadata agree (the KPIs key stages by name).
    """
    live = [p for p in pipelines if not p.archived]
    if wanted is not None:
        chosen = [p for p in live if wanted in (p.id, p.label)]
        if not chosen:
            known = ", ".join(f"{p.label} ({p.id})" for p in live) or "none"
            raise ConfigError(
                "crm.pipeline",
                f"no deal pipeline has the id or label {wanted!r} (pipelines: {known})",
            )
        live = chosen[:1]
    by_id: dict[str, StageDef] = {}
    by_name: dict[str, StageDef] = {}
    order = 0
    for pipeline in sorted(live, key=lambda p: (p.display_order, p.id)):
        for stage in sorted(pipeline.stages, key=lambda s: (s.display_order, s.id)):
            order += 1
            stage_def = stage_def_from_info(stage, order, pipeline.label)
            same = by_name.get(stage_def.name)
            if same is not None and (same.status, same.probability) != (
                stage_def.status,
                stage_def.probability,
            ):
                raise SchemaError(
                    f"stage label {stage_def.name!r} means {same.status.value} "
                    f"({same.probability}) in one pipeline and {stage_def.status.value} "
                    f"({stage_def.probability}) in pipeline {pipeline.label!r}; set crm.pipeline "
                    "to read one pipeline"
                )
            by_name.setdefault(stage_def.name, stage_def)
            by_id[stage.id] = by_name[stage_def.name]
    return StageCatalog(
        by_id=by_id,
        pipeline_ids=frozenset(p.id for p in live),
        defs=tuple(by_name.values()),
    )


# --- stage history -----------------------------------------------------------------------------


def visits_from_stage_dates(
    deal: HsRecord, stage_ids: Iterable[str]
) -> list[tuple[str, int]] | None:
    """The deal's stage visits (stage id, entered ms) from hs_v2_date_entered/exited, or None.

    Those properties keep only the latest visit of each stage, so they are used
    only when they prove that no visit is missing: sorted by entry, each visit's
    exit is the next one's entry, the last is the current stage and not exited,
    and the first began when the deal was created. Any repeat visit breaks one
    of these (a visit overwritten by a later one leaves a gap), and the caller
    then reads the full dealstage history instead.
    """
    entered: list[tuple[int, str]] = []
    exited: dict[str, int | None] = {}
    for stage_id in stage_ids:
        ms = parse_ms(deal.get(f"{STAGE_ENTERED_PREFIX}{stage_id}"))
        if ms is not None:
            entered.append((ms, stage_id))
            exited[stage_id] = parse_ms(deal.get(f"{STAGE_EXITED_PREFIX}{stage_id}"))
    if not entered:
        return None
    entered.sort()
    created = parse_ms(deal.get(CREATED))
    if created is None or entered[0][0] != created:
        return None
    if len({ms for ms, _ in entered}) != len(entered):
        return None
    last_stage = entered[-1][1]
    if last_stage != deal.get(DEAL_STAGE) or exited[last_stage] is not None:
        return None
    for (_, stage_id), (next_ms, _) in itertools.pairwise(entered):
        if exited[stage_id] != next_ms:
            return None
    return [(stage_id, ms) for ms, stage_id in entered]


def visits_from_history(deal: HsRecord) -> list[tuple[str, int]]:
    """The deal's stage visits from its dealstage history (every change, repeats included).

    An entry that repeats the stage before it (HubSpot records a value set again)
    is not a change of stage; an empty entry (the stage cleared) is skipped.
    """
    entries = sorted(deal.history.get(DEAL_STAGE, ()), key=lambda entry: entry[1])
    visits: list[tuple[str, int]] = []
    for value, ms in entries:
        if not value or (visits and visits[-1][0] == value):
            continue
        visits.append((value, ms))
    return visits


def stage_change_id(deal_id: str, entered_ms: int, stage_id: str) -> str:
    """A stage change's id: the same visit always gets the same id, so re-reads upsert."""
    return f"{deal_id}:{entered_ms}:{stage_id}"


def stage_changes(
    deal_id: str, visits: Iterable[tuple[str, int]], catalog: StageCatalog
) -> list[StageChange]:
    """Stage visits as schema stage changes, named by the stage's label."""
    changes: list[StageChange] = []
    for stage_id, ms in visits:
        stage = catalog.by_id.get(stage_id)
        if stage is None:
            # a stage since deleted from the pipeline: kept under its id, not dropped
            logger.warning(
                "hubspot: deal %s entered stage %s, which no pipeline has", deal_id, stage_id
            )
        changes.append(
            StageChange(
                id=stage_change_id(deal_id, ms, stage_id),
                opportunity_id=deal_id,
                stage=stage.name if stage is not None else stage_id,
                entered_at=moment_of(ms),
            )
        )
    return changes


def changes_of_rows(
    rows: Iterable[tuple[str, int, str]], catalog: StageCatalog
) -> list[StageChange]:
    """Stage changes of (deal id, entered ms, stage id) rows, as a carry keeps visits."""
    return [
        change
        for deal_id, ms, stage_id in rows
        for change in stage_changes(deal_id, [(stage_id, ms)], catalog)
    ]

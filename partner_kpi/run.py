"""The one run pipeline: extract → check → score → save → report → plan → guard → apply → journal.

``audit`` runs the first half (through the report), ``sync --dry-run`` stops before
apply and keeps nothing but the store's copy of the CRM, ``sync`` runs it whole. The
run owns what every run shares: the store's lock, the run record (started, then
finished as succeeded or failed, an interrupt included) and the counts.

A run killed at any point is completed by the next: the extract resumes from the
stored cursors, the plan is diffed against the CRM again (so nothing already written
is sent twice), and pending journal entries are settled by reading the fields back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from connectors.seed import read_seed
from core.connector import Connector
from core.errors import StoreError, TierGuardRefused
from core.schema import OPPORTUNITY_ENTITY, StageDef
from kpi_engine import Activity, ScoringResult, ScoringSettings, score_partners
from partner_kpi.config import AppConfig
from partner_kpi.data_quality import checked_inputs, checked_seed, with_quality_notes
from partner_kpi.extract import ExtractCounts, extract_into_store
from partner_kpi.fields import configured_fields, field_defaults
from partner_kpi.reports import write_quality_csv, write_scores_csv, write_scores_json
from partner_kpi.reports.html import ScorePoint, write_report_html
from quality import QualityCheck, QualitySettings
from store import SCORE_TREND_SCHEMA, LocalStore, RunStatus
from writeback import (
    ApplyReport,
    FieldMap,
    GuardVerdict,
    ScoreContext,
    Settled,
    StoreJournal,
    WritePlan,
    apply_plan,
    check_tier_changes,
    plan_scores,
    require_fields,
    settle_pending,
    write_plan_file,
)

Command = Literal["audit", "sync"]


@dataclass
class RunOutput:
    """What a run did: the scores and files, and for a sync the plan, guard and writes."""

    command: Command
    result: ScoringResult
    extract: ExtractCounts | None = None
    run_id: str | None = None
    files: tuple[Path, ...] = ()
    dry_run: bool = False
    plan: WritePlan | None = None
    verdict: GuardVerdict | None = None
    report: ApplyReport | None = None
    settled: Settled = field(default_factory=Settled)
    #: the data-quality step's findings (None when the run stopped before it)
    quality: QualityCheck | None = None

    @property
    def excluded(self) -> int:
        """Records data-quality rules left out of every KPI."""
        return self.quality.excluded_count if self.quality is not None else 0

    def counts(self) -> dict[str, Any]:
        """The run record's counts: what was read, scored, planned and written."""
        counts: dict[str, Any] = self.extract.as_json() if self.extract else {}
        if self.command == "sync":
            counts["scored"] = len(self.result.partners)
        if self.quality is not None:
            counts["quality"] = self.quality.summary()
        if self.plan is not None and self.verdict is not None:
            counts["plan"] = self.plan.summary()
            counts["tier_changes"] = self.verdict.changed
            counts["settled"] = {
                "written": self.settled.written,
                "not_written": self.settled.not_written,
            }
        if self.report is not None:
            counts.update(self.report.counts())
        return counts


@dataclass
class OpenRun:
    """The run being recorded in the store: its id, and the counts and note it ends with."""

    run_id: str
    counts: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    #: partial once the CRM rejected some of the run's writes
    status: RunStatus = RunStatus.SUCCEEDED

    def rejected(self, report: ApplyReport, retried_by: str) -> None:
        """Record that the CRM rejected some writes: the run ends partial, with a note."""
        if rejected := len(report.rejected):
            self.status = RunStatus.PARTIAL
            self.note = f"{rejected} records rejected; {retried_by}"


@contextmanager
def recorded_run(store: LocalStore, kind: str, as_of: date) -> Iterator[OpenRun]:
    """A run record for the ``with`` block: succeeded (or partial) when it ends, failed
    when anything (Ctrl-C included) stops it, with the counts gathered so far and the error."""
    record = OpenRun(store.start_run(kind, as_of))
    try:
        yield record
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        store.finish_run(record.run_id, RunStatus.FAILED, counts=record.counts, error=error)
        raise
    store.finish_run(record.run_id, record.status, counts=record.counts, error=record.note)


def open_store(config: AppConfig, command: str) -> AbstractContextManager[LocalStore]:
    """The config's store, locked for ``command`` (the lock names it to a second run)."""
    return LocalStore.open(config.store.path, holder=f"partner-kpi {command} ({config.crm_name})")


def require_store(config: AppConfig) -> None:
    """StoreError unless the config's store file exists: a command that only reads what
    runs stored (``history``, ``rollback``) must not leave an empty store behind."""
    path = Path(config.store.path)
    if not path.exists():
        raise StoreError(
            f"no store at {path} (store.path); `partner-kpi audit --config` or `sync` creates it"
        )


# --- the steps -----------------------------------------------------------------------------


def score(
    store: LocalStore, *, as_of: date, settings: ScoringSettings, quality: QualitySettings
) -> tuple[ScoringResult, QualityCheck]:
    """Score what the store holds as of ``as_of``, once the data-quality rules have left
    out what they exclude (DataQualityFailed, before scoring, on a ``fail`` policy)."""
    inputs = checked_inputs(
        store.opportunities_table(OPPORTUNITY_ENTITY.layout),
        store.stage_events_table(),
        as_of=as_of,
        settings=quality,
    )
    result = score_partners(
        store.partners_table(), inputs.opportunities, inputs.stage_events,
        as_of=as_of, settings=settings, stage_defs=store.stage_defs(),
        activity=Activity(**store.activity_tables()),
    )  # fmt: skip
    return with_quality_notes(result, inputs.check), inputs.check


def stage_order(stage_defs: Iterable[StageDef]) -> tuple[str, ...]:
    """The stage names in pipeline order: how reports and the stage-days text list them."""
    return tuple(s.name for s in sorted(stage_defs, key=lambda s: s.sort_order))


def write_reports(
    result: ScoringResult,
    out: Path,
    *,
    settings: ScoringSettings,
    source: dict[str, Any],
    stage_order: Sequence[str],
    history: Sequence[ScorePoint] = (),
    run_id: str | None = None,
    quality: QualityCheck | None = None,
) -> tuple[Path, ...]:
    """scores.csv, scores.json and report.html in ``out``, and quality.csv (the records
    data-quality rules caught) when the run checked them."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path, html_path = out / "scores.csv", out / "scores.json", out / "report.html"
    write_scores_csv(result, csv_path, stage_order)
    write_scores_json(result, json_path, settings, source)
    write_report_html(
        result, html_path, settings=settings, source=source, history=history,
        stage_order=stage_order, run_id=run_id, quality=quality,
    )  # fmt: skip
    if quality is None:
        return csv_path, json_path, html_path
    quality_path = out / "quality.csv"
    write_quality_csv(
        quality, quality_path, {p.partner_id: p.partner_name for p in result.partners}
    )
    return csv_path, json_path, html_path, quality_path


def _store_reports(
    store: LocalStore,
    config: AppConfig,
    output: RunOutput,
    settings: ScoringSettings,
    out: Path,
    *,
    offline: bool,
    stages: Sequence[str],
) -> tuple[Path, ...]:
    trend = store.score_trend()
    history = [
        ScorePoint(run_id=run, as_of=as_of, partner_id=partner, score=score, tier=tier)
        for run, as_of, partner, score, tier in zip(
            *(trend[name].to_pylist() for name in SCORE_TREND_SCHEMA.names), strict=True
        )
    ]
    source = {"kind": config.crm_name, "store": str(config.store.path), "offline": offline,
              "run_id": output.run_id}  # fmt: skip
    return write_reports(
        output.result, out, settings=settings, source=source,
        stage_order=stages, history=history, run_id=output.run_id, quality=output.quality,
    )  # fmt: skip


# --- the pipeline --------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """What one run is asked to do; ``command`` decides how far it goes."""

    command: Command
    as_of: date
    settings: ScoringSettings | None = None
    out: Path | None = None
    offline: bool = False
    dry_run: bool = False
    force: bool = False
    plan_out: Path | None = None


def execute(
    config: AppConfig, request: RunRequest, environ: Mapping[str, str] | None = None
) -> RunOutput:
    """Run the pipeline as far as ``request`` asks; see the module's docstring.

    The guard refuses a real sync with ``TierGuardRefused`` (unless ``force``);
    rejected records come back in the output's report (the CLI turns them into exit 9).
    """
    settings = request.settings or config.scoring
    writes = request.command == "sync"
    fields = configured_fields(config) if writes else None
    # the connector reads its secrets and CA now (it connects lazily): a config error must
    # not leave a new, empty store behind
    connector = None if request.offline else config.connector(environ)
    with open_store(config, request.command) as store:
        if request.dry_run:
            return _pipeline(store, connector, config, request, settings, fields, None)
        with recorded_run(store, request.command, request.as_of) as record:
            return _pipeline(store, connector, config, request, settings, fields, record)


def _pipeline(
    store: LocalStore,
    connector: Connector | None,
    config: AppConfig,
    request: RunRequest,
    settings: ScoringSettings,
    fields: FieldMap | None,
    record: OpenRun | None,
) -> RunOutput:
    run_id = record.run_id if record else None
    settled = Settled()
    if connector is not None and fields is not None:
        require_fields(connector, fields)  # before anything is read: a bad field costs nothing
        if record is not None:
            settled = settle_pending(store, connector, current_run=record.run_id)
    extract = (
        extract_into_store(connector, store, deleted_visible_days=config.deleted_visible_days)
        if connector is not None
        else None
    )
    result, quality = score(store, as_of=request.as_of, settings=settings, quality=config.quality)
    output = RunOutput(
        command=request.command,
        result=result,
        extract=extract,
        run_id=run_id,
        dry_run=request.dry_run,
        settled=settled,
        quality=quality,
    )
    if record is not None:
        store.save_scores(record.run_id, output.result.partners)
        record.counts = output.counts()
        if output.excluded:
            record.note = f"{output.excluded} records excluded by data-quality rules"
    stages = stage_order(store.stage_defs())
    if request.out is not None:
        output.files = _store_reports(
            store, config, output, settings, request.out, offline=request.offline, stages=stages
        )
    if fields is None or connector is None:
        return output

    output.plan = plan_scores(connector, fields, output.result, ScoreContext(request.as_of, stages))
    if request.plan_out is not None:
        about = {"crm": config.crm_name, "as_of": request.as_of.isoformat(),
                 "dry_run": request.dry_run, **({"run_id": run_id} if run_id else {})}  # fmt: skip
        write_plan_file(output.plan, request.plan_out, about)
    output.verdict = check_tier_changes(output.plan, config.writeback.max_tier_change_share)
    if record is None:
        return output  # a dry run stops before apply
    record.counts = output.counts()
    if not output.verdict.ok and not request.force:
        raise TierGuardRefused(f"{output.verdict.describe()} (run {run_id} wrote nothing)")

    batches = field_defaults(config)
    output.report = apply_plan(
        connector, output.plan, batch_size=batches.batch_size_for(len(output.plan.records)),
        journal=StoreJournal(store, record.run_id),
    )  # fmt: skip
    record.counts = output.counts()
    record.rejected(output.report, "the next sync retries them")
    return output


def run_audit(
    config: AppConfig,
    *,
    as_of: date,
    settings: ScoringSettings,
    out: Path,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
) -> RunOutput:
    """Extract from the configured CRM (unless offline), score, save and report."""
    request = RunRequest("audit", as_of, settings=settings, out=out, offline=offline)
    return execute(config, request, environ)


def run_sync(
    config: AppConfig,
    *,
    as_of: date,
    settings: ScoringSettings | None = None,
    dry_run: bool = False,
    force: bool = False,
    plan_out: Path | None = None,
    out: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunOutput:
    """The whole pipeline; with ``dry_run`` it stops before apply and records nothing."""
    request = RunRequest(
        "sync", as_of, settings=settings, out=out, dry_run=dry_run, force=force, plan_out=plan_out
    )
    return execute(config, request, environ)


def run_seed_audit(
    seed_dir: Path,
    *,
    as_of: date,
    settings: ScoringSettings,
    out: Path,
    quality: QualitySettings | None = None,
) -> RunOutput:
    """Score a seed folder with no CRM and no store, and write the reports to ``out``;
    the data-quality rules judge its rows first, naming each one's file and line."""
    dataset = read_seed(seed_dir, scored_only=True)
    inputs = checked_seed(dataset, as_of=as_of, settings=quality or QualitySettings())
    result = score_partners(
        dataset.partners,
        inputs.opportunities,
        inputs.stage_events,
        as_of=as_of,
        settings=settings,
        stage_defs=dataset.stage_defs,
        activity=dataset.take_activity(),  # the engine's alone: let go once summed
    )
    result = with_quality_notes(result, inputs.check)
    files = write_reports(
        result, out, settings=settings, source={"kind": "seed", "path": str(seed_dir)},
        stage_order=stage_order(dataset.stage_defs), quality=inputs.check,
    )  # fmt: skip
    return RunOutput(command="audit", result=result, files=files, quality=inputs.check)

"""The write half of the app: ``sync``, ``fields``, ``rollback`` and ``history``.

``sync`` is the whole pipeline for cron and orchestrators: settle what a stopped
run left pending, extract incrementally into the store, score, plan against
what the CRM holds, check the tier guard, apply in the connector's batches and
journal every field. A run killed at any point is completed by the next: the
store's cursors resume the extract, the plan is diffed against the CRM again
(so nothing already written is sent twice), and pending journal entries are
settled by reading the fields back.

This module is the one place that knows each CRM's default field names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from connectors.hubspot.settings import HubSpotSettings
from connectors.salesforce.settings import SalesforceSettings
from core.connector import Connector
from core.errors import ConfigError, TierGuardRefused, UnknownRun
from kpi_engine import ScoringResult, ScoringSettings, score_partners
from partner_kpi.audit import write_reports
from partner_kpi.config import AppConfig
from partner_kpi.crm import connector_for
from partner_kpi.reports.html import ScorePoint
from partner_kpi.sync import SyncCounts, sync_store
from store import JournalEntry, LocalStore, RunRecord, ScoreHistoryRow
from writeback import (
    ApplyReport,
    CrmFieldDefaults,
    FieldMap,
    GuardVerdict,
    Provisioning,
    RollbackPlan,
    ScoreContext,
    Settled,
    StoreJournal,
    WritePlan,
    apply_plan,
    check_tier_changes,
    field_map,
    plan_rollback,
    plan_scores,
    provision,
    require_fields,
    settle_pending,
    write_plan_file,
)

# --- each CRM's defaults ------------------------------------------------------------------------

#: Outputs whose default field name is not just "partner" + the output's name.
_NAMED = {"drivers": "score_drivers"}


def salesforce_field_name(output: str) -> str:
    """Partner_Score__c, Partner_Tier__c, Partner_Score_Drivers__c, Partner_Close_Rate__c …"""
    words = ["partner", *_NAMED.get(output, output).split("_")]
    return "_".join(word.capitalize() for word in words) + "__c"


def hubspot_property_name(output: str) -> str:
    """partner_score, partner_tier, partner_score_drivers, partner_close_rate …"""
    return f"partner_{_NAMED.get(output, output)}"


def _salesforce_extra(kind: str, length: int) -> dict[str, object]:
    return {"length": length} if kind == "text" else {}


def crm_field_defaults(settings: SalesforceSettings | HubSpotSettings | None) -> CrmFieldDefaults:
    """The configured CRM's default field names and write batch size."""
    if isinstance(settings, SalesforceSettings):
        from connectors.salesforce.queries import BULK_WRITE_JOB_SIZE, COLLECTION_SIZE

        return CrmFieldDefaults(
            crm="salesforce",
            name_for=salesforce_field_name,
            batch_size=COLLECTION_SIZE,
            extra=_salesforce_extra,
            bulk_threshold=settings.bulk_write_threshold,
            bulk_batch_size=BULK_WRITE_JOB_SIZE,
        )
    if isinstance(settings, HubSpotSettings):
        from connectors.hubspot.queries import BATCH_SIZE

        return CrmFieldDefaults(
            crm="hubspot", name_for=hubspot_property_name, batch_size=BATCH_SIZE
        )
    raise ConfigError(
        "crm", "no CRM configured; add a crm: section (see config.example.yaml) to write scores"
    )


def configured_fields(config: AppConfig) -> FieldMap:
    """The field map of a config: its writeback: section over the CRM's defaults."""
    return field_map(config.writeback, crm_field_defaults(config.crm))


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _holder(config: AppConfig, command: str) -> str:
    crm = config.crm.type if config.crm else "none"
    return f"partner-kpi {command} ({crm})"


# --- fields plan / create ------------------------------------------------------------------------


def fields_plan(
    config: AppConfig, *, create: bool, environ: Mapping[str, str] | None = None
) -> tuple[FieldMap, Provisioning]:
    """What the field map needs in the CRM, and with ``create`` the missing fields made."""
    fields = configured_fields(config)
    connector = connector_for(config.crm, _environ(environ))
    return fields, provision(connector, fields, create=create)


# --- sync ----------------------------------------------------------------------------------------


@dataclass
class SyncOutput:
    """What a sync did: the scores, the plan and its guard, and what was written."""

    result: ScoringResult
    plan: WritePlan
    verdict: GuardVerdict
    sync: SyncCounts
    dry_run: bool
    run_id: str | None = None
    report: ApplyReport | None = None
    settled: Settled = field(default_factory=Settled)
    files: tuple[Path, ...] = ()

    def counts(self) -> dict[str, Any]:
        return {
            **self.sync.as_json(),
            "scored": len(self.result.partners),
            "plan": self.plan.summary(),
            "tier_changes": self.verdict.changed,
            "settled": {"written": self.settled.written, "not_written": self.settled.not_written},
            **(self.report.counts() if self.report else {}),
        }


def _score(store: LocalStore, *, as_of: date, settings: ScoringSettings) -> ScoringResult:
    return score_partners(
        store.partners_table(),
        store.opportunities_table(),
        store.stage_events_table(),
        as_of=as_of,
        settings=settings,
    )


def _stage_order(store: LocalStore) -> tuple[str, ...]:
    return tuple(s.name for s in sorted(store.stage_defs(), key=lambda s: s.sort_order))


def _reports(
    store: LocalStore,
    config: AppConfig,
    result: ScoringResult,
    settings: ScoringSettings,
    out: Path,
    run_id: str | None,
) -> tuple[Path, ...]:
    crm = config.crm.type if config.crm else "none"
    history = [
        ScorePoint(run_id=row.run_id, as_of=row.as_of, partner_id=row.partner_id,
                   score=row.score, tier=row.tier)
        for row in store.score_history()
        if row.run_status == "succeeded"
    ]  # fmt: skip
    source = {"kind": crm, "store": str(config.store.path), "run_id": run_id}
    return write_reports(
        result, out, settings=settings, source=source, stage_order=_stage_order(store),
        history=history, run_id=run_id,
    )  # fmt: skip


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
) -> SyncOutput:
    """Extract → score → plan → guard → apply → journal; with ``dry_run``, no CRM write.

    A dry run still brings the local store's copy of the CRM up to date, but records
    no run, saves no scores and journals nothing. The guard refuses a real run with
    ``TierGuardRefused`` (unless ``force``); rejected records come back in the report
    (the CLI turns them into a non-zero exit).
    """
    fields = configured_fields(config)
    defaults = crm_field_defaults(config.crm)
    settings = settings or config.scoring
    max_share = config.writeback.max_tier_change_share
    about: dict[str, Any] = {"crm": defaults.crm, "as_of": as_of.isoformat(), "dry_run": dry_run}
    with LocalStore.open(config.store.path, holder=_holder(config, "sync")) as store:
        connector = connector_for(config.crm, _environ(environ))
        if dry_run:
            require_fields(connector, fields)
            counts = sync_store(connector, store)
            result = _score(store, as_of=as_of, settings=settings)
            context = ScoreContext(as_of, _stage_order(store))
            plan = plan_scores(connector, fields, result, context)
            if plan_out is not None:
                write_plan_file(plan, plan_out, about)
            files = _reports(store, config, result, settings, out, None) if out else ()
            verdict = check_tier_changes(plan, max_share)
            return SyncOutput(result, plan, verdict, counts, dry_run=True, files=files)

        run_id = store.start_run("sync", as_of)
        about["run_id"] = run_id
        output: SyncOutput | None = None
        try:
            require_fields(connector, fields)
            settled = settle_pending(store, connector, current_run=run_id)
            counts = sync_store(connector, store)
            result = _score(store, as_of=as_of, settings=settings)
            store.save_scores(run_id, result.partners)
            plan = plan_scores(connector, fields, result, ScoreContext(as_of, _stage_order(store)))
            if plan_out is not None:
                write_plan_file(plan, plan_out, about)
            verdict = check_tier_changes(plan, max_share)
            output = SyncOutput(result, plan, verdict, counts, False, run_id, settled=settled)
            if not verdict.ok and not force:
                raise TierGuardRefused(f"{verdict.describe()} (run {run_id} wrote nothing)")
            output.report = apply_plan(
                connector, plan, batch_size=defaults.batch_size_for(len(plan.records)),
                journal=StoreJournal(store, run_id),
            )  # fmt: skip
            if out is not None:
                output.files = _reports(store, config, result, settings, out, run_id)
        except BaseException as exc:
            partial = output.counts() if output is not None else {}
            store.finish_run(run_id, "failed", counts=partial, error=f"{type(exc).__name__}: {exc}")
            raise
        rejected = len(output.report.rejected) if output.report else 0
        note = f"{rejected} records rejected; the next sync retries them" if rejected else None
        store.finish_run(run_id, "succeeded", counts=output.counts(), error=note)
    return output


# --- rollback ------------------------------------------------------------------------------------


@dataclass
class RollbackOutput:
    """What a rollback did: its plan (and the fields changed since) and what was written."""

    rollback: RollbackPlan
    dry_run: bool
    run_id: str | None = None
    report: ApplyReport | None = None


def run_rollback(
    config: AppConfig,
    run_id: str,
    *,
    dry_run: bool = False,
    today: date | None = None,
    environ: Mapping[str, str] | None = None,
) -> RollbackOutput:
    """Put back the old values of ``run_id``'s written fields: diffed, batched, journaled."""
    defaults = crm_field_defaults(config.crm)
    with LocalStore.open(config.store.path, holder=_holder(config, "rollback")) as store:
        if store.get_run(run_id) is None:
            raise UnknownRun(
                f"no run {run_id!r} in the store {config.store.path}; see partner-kpi history"
            )
        connector: Connector = connector_for(config.crm, _environ(environ))
        if dry_run:
            return RollbackOutput(plan_rollback(connector, store, run_id), dry_run=True)
        undo = store.start_run("rollback", today or date.today())
        output: RollbackOutput | None = None
        try:
            settle_pending(store, connector, current_run=undo)
            output = RollbackOutput(plan_rollback(connector, store, run_id), False, undo)
            output.report = apply_plan(
                connector, output.rollback.plan,
                batch_size=defaults.batch_size_for(len(output.rollback.plan.records)),
                journal=StoreJournal(store, undo),
            )  # fmt: skip
        except BaseException as exc:
            store.finish_run(
                undo, "failed", counts={"rollback_of": run_id}, error=f"{type(exc).__name__}: {exc}"
            )
            raise
        counts = {
            "rollback_of": run_id,
            "plan": output.rollback.plan.summary(),
            "changed_since": len(output.rollback.changed_since),
            **output.report.counts(),
        }
        store.finish_run(undo, "succeeded", counts=counts)
    return output


# --- history -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerHistory:
    """A partner's scores over runs and the journal of what was written to its record."""

    partner_id: str
    partner_name: str
    scores: tuple[ScoreHistoryRow, ...]
    journal: tuple[JournalEntry, ...]


def run_history(
    config: AppConfig, partner: str | None = None, *, limit: int | None = 20
) -> list[RunRecord] | PartnerHistory:
    """The runs, newest first; or with ``partner`` (an id or a name) its score over time."""
    with LocalStore.open(config.store.path, holder=_holder(config, "history")) as store:
        if partner is None:
            return store.list_runs(limit=limit)
        rows = store.score_history(partner)
        if not rows:
            wanted = partner.casefold()
            named = {
                r.partner_id for r in store.score_history() if r.partner_name.casefold() == wanted
            }
            if len(named) > 1:
                raise ConfigError(
                    "PARTNER", f"{len(named)} partners are named {partner!r}; give the record id"
                )
            rows = store.score_history(next(iter(named))) if named else []
        if not rows:
            raise ConfigError(
                "PARTNER", f"no scores of {partner!r} in the store {config.store.path}; give a "
                "partner record id or name as scored by a sync or an audit",
            )  # fmt: skip
        partner_id = rows[-1].partner_id
        return PartnerHistory(
            partner_id=partner_id,
            partner_name=rows[-1].partner_name,
            scores=tuple(r for r in rows if r.run_status == "succeeded"),
            journal=tuple(store.journal(record_id=partner_id)),
        )

"""``rollback``: put back the old values a run wrote over, diffed, batched and journaled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from core.errors import UnknownRun
from partner_kpi.config import AppConfig
from partner_kpi.fields import field_defaults
from partner_kpi.run import open_store, recorded_run, require_store
from writeback import (
    ApplyReport,
    RollbackPlan,
    StoreJournal,
    apply_plan,
    plan_rollback,
    settle_pending,
)


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
    """Put back the old values of ``run_id``'s written fields, as a run of its own."""
    batches = field_defaults(config)
    connector = config.connector(environ)  # secrets and CA first; it connects lazily
    require_store(config)  # a config error is said first, as by every command
    with open_store(config, "rollback") as store:
        if store.get_run(run_id) is None:
            raise UnknownRun(
                f"no run {run_id!r} in the store {config.store.path}; see partner-kpi history"
            )
        if dry_run:
            return RollbackOutput(plan_rollback(connector, store, run_id), dry_run=True)
        with recorded_run(store, "rollback", today or date.today()) as record:
            record.counts = {"rollback_of": run_id}
            settle_pending(store, connector, current_run=record.run_id)
            output = RollbackOutput(plan_rollback(connector, store, run_id), False, record.run_id)
            plan = output.rollback.plan
            output.report = apply_plan(
                connector, plan, batch_size=batches.batch_size_for(len(plan.records)),
                journal=StoreJournal(store, record.run_id),
            )  # fmt: skip
            record.counts = {
                "rollback_of": run_id,
                "plan": plan.summary(),
                "changed_since": len(output.rollback.changed_since),
                **output.report.counts(),
            }
            record.rejected(output.report, "run the rollback again to retry them")
    return output

"""How the write commands print: plan tables, rejection reports, runs and a partner's history."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from core.connector import CheckItem
from partner_kpi.history import PartnerHistory
from partner_kpi.rollback import RollbackOutput
from partner_kpi.run import RunOutput
from store import RunRecord
from writeback import ApplyReport, FieldMap, WritePlan
from writeback.plan import table_rows
from writeback.values import canonical, shown

#: Rows of a plan table printed before the rest is summarised (--plan-out has them all).
PLAN_ROWS = 400


def console() -> Console:
    """A console on stdout: wide enough for a table when piped into a file or a log."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def print_checks(out: Console, items: Sequence[CheckItem]) -> None:
    """One line per field, as ``partner-kpi check`` prints its items."""
    width = max((len(item.name) for item in items), default=0)
    for item in items:
        mark = "ok " if item.ok else "MISSING"
        out.print(f"{mark:7} {item.name:<{width}}  {item.detail}", markup=False)


def print_field_map(out: Console, fields: FieldMap) -> None:
    table = Table(title="score outputs → CRM fields", title_justify="left")
    for column in ("output", "field", "kind", "scale"):
        table.add_column(column)
    for mapped in fields:
        scale = str(mapped.scale) if mapped.kind == "number" else ""
        table.add_row(mapped.output, mapped.name, mapped.kind, scale)
    out.print(table)


def print_plan(out: Console, plan: WritePlan, *, title: str) -> None:
    """The plan as a table: partner, record, field, old → new; then its summary."""
    rows = table_rows(plan)
    if rows:
        table = Table(title=title, title_justify="left")
        for column in ("partner", "record", "field", "old", "new"):
            table.add_column(column, overflow="fold")
        for row in rows[:PLAN_ROWS]:
            table.add_row(*row)
        out.print(table)
        if len(rows) > PLAN_ROWS:
            out.print(f"… and {len(rows) - PLAN_ROWS} more field changes (--plan-out has all)")
    out.print(plan_line(plan), markup=False)


def plan_line(plan: WritePlan) -> str:
    """'plan: 2 records to update (14 field changes), 33 already up to date'."""
    summary = plan.summary()
    line = (
        f"plan: {summary['records_to_update']} records to update "
        f"({summary['field_changes']} field changes), "
        f"{summary['records_unchanged']} already up to date"
    )
    if plan.missing:
        line += f", {len(plan.missing)} not found in the CRM ({', '.join(plan.missing[:5])})"
    return line


def print_rejections(out: Console, report: ApplyReport) -> None:
    """The per-record rejection report: record, partner, fields, the CRM's code and message."""
    table = Table(title="rejected by the CRM (retried by the next sync)", title_justify="left")
    for column in ("record", "partner", "fields", "error code", "message"):
        table.add_column(column, overflow="fold")
    for rejection in report.rejected:
        table.add_row(
            rejection.record_id, rejection.label, ", ".join(rejection.fields),
            rejection.error_code, rejection.message,
        )  # fmt: skip
    out.print(table)


def _written_line(report: ApplyReport) -> str:
    return (
        f"wrote {len(report.written)} records in {report.calls} write "
        f"call{'' if report.calls == 1 else 's'}; "
        f"{len(report.rejected)} rejected"
    )


def print_sync(out: Console, output: RunOutput, *, quiet: bool) -> None:
    result, plan, verdict = output.result, output.plan, output.verdict
    if plan is None or verdict is None:
        raise ValueError("print_sync prints a sync's output: it has a plan and a verdict")
    if output.dry_run:
        print_plan(out, plan, title="dry run: nothing is written")
        out.print(verdict.describe(), markup=False)
        return
    if not quiet:
        tiers = ", ".join(f"{n} {t}" for t, n in result.portfolio.tier_counts.items())
        out.print(
            f"run {output.run_id}: scored {len(result.partners)} partners as of "
            f"{result.as_of}: {tiers}",
            markup=False,
        )
        if output.settled.runs:
            out.print(
                f"settled the pending writes of stopped run(s) {', '.join(output.settled.runs)}: "
                f"{output.settled.written} landed, {output.settled.not_written} did not",
                markup=False,
            )
        forced = output.report is not None and not verdict.ok
        out.print(f"{plan_line(plan)}; {verdict.describe(forced=forced)}", markup=False)
        if output.report is not None:
            out.print(_written_line(output.report), markup=False)
        for path in output.files:
            out.print(f"wrote {path}", markup=False)
    if output.report is not None and output.report.rejected:
        print_rejections(out, output.report)


def print_rollback(out: Console, output: RollbackOutput) -> None:
    rollback = output.rollback
    title = f"rollback of run {rollback.run_id}" + (
        ": dry run, nothing is written" if output.dry_run else ""
    )
    print_plan(out, rollback.plan, title=title)
    if rollback.changed_since:
        out.print(
            f"note: {len(rollback.changed_since)} field(s) were changed since that run by someone "
            "else; the rollback puts the run's old values back over them",
            markup=False,
        )
    if output.report is not None:
        out.print(f"run {output.run_id}: " + _written_line(output.report), markup=False)
        if output.report.rejected:
            print_rejections(out, output.report)


def _count(counts: dict[str, Any], key: str) -> str:
    value = counts.get(key)
    return "" if value is None else str(value)


def print_runs(out: Console, runs: Sequence[RunRecord]) -> None:
    table = Table(title="runs, newest first", title_justify="left")
    for column in ("run", "kind", "status", "as of", "started (UTC)", "written", "rejected",
                   "write calls", "note"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for run in runs:
        note = run.error or ""
        if run.counts.get("rollback_of"):
            note = f"rollback of {run.counts['rollback_of']}" + (f"; {note}" if note else "")
        table.add_row(
            run.run_id, run.kind, str(run.status), run.as_of.isoformat(),
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"), _count(run.counts, "records_written"),
            _count(run.counts, "records_rejected"), _count(run.counts, "write_calls"), note,
        )  # fmt: skip
    out.print(table)


def print_partner(out: Console, history: PartnerHistory) -> None:
    table = Table(
        title=f"{history.partner_name} ({history.partner_id}): score over time",
        title_justify="left",
    )
    for column in ("as of", "run", "kind", "score", "tier"):
        table.add_column(column)
    for row in history.scores:
        table.add_row(row.as_of.isoformat(), row.run_id, row.run_kind, f"{row.score:.1f}", row.tier)
    out.print(table)
    if history.journal:
        written = Table(title="written to the CRM", title_justify="left")
        for column in ("run", "field", "old", "new", "outcome", "error code"):
            written.add_column(column, overflow="fold")
        for entry in history.journal:
            old = shown(canonical(entry.kind, entry.old_value, scale=entry.scale))
            new = shown(canonical(entry.kind, entry.new_value, scale=entry.scale))
            written.add_row(
                entry.run_id, entry.field, old, new, str(entry.outcome), entry.error_code or ""
            )
        out.print(written)

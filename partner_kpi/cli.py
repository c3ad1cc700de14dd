"""The partner-kpi command line. Each error class maps to one exit code and one line."""

from __future__ import annotations

import logging
import signal
import sys
import textwrap
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connectors.registry import sandbox_crms
from core.connector import CheckItem
from core.errors import ENDS_A_CHECK, EXIT_CODES, ConfigError, NotReadyForSync, PartnerKpiError
from kpi_engine import ScoringSettings
from partner_kpi import __version__, logs
from partner_kpi.config import load_config, with_window
from quality import QualitySettings

if TYPE_CHECKING:
    from partner_kpi.run import RunOutput

# A command imports what it runs on (Polars, PyArrow, DuckDB, the CRM clients, the reports)
# once its config is loaded, so that --help, --version and a config error answer at once.

log = logging.getLogger("partner_kpi")


class _Cli(click.Group):
    """A group that turns our errors into one line on stderr and their exit code
    (a JSON object with ``--log-format json``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PartnerKpiError as exc:
            # one line, whatever the CRM's message holds (Salesforce's SOQL errors span four)
            line = " ".join(str(exc).split())
            level = logging.WARNING if exc.completed else logging.ERROR
            if logs.current_format() == "json":
                extra = {"error": type(exc).__name__, "exit_code": exc.exit_code}
                log.log(level, line, extra=extra)
            else:
                said = "warning" if exc.completed else "error"
                click.echo(f"partner-kpi: {said}: {line}", err=True)
            sys.exit(exc.exit_code)


def _parse_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _exit_codes_help() -> str:
    """The exit codes for ``--help``, one paragraph each (click leaves \\b blocks as they are)."""
    rows = [
        textwrap.fill(meaning, width=78, initial_indent=f"  {code:<3}", subsequent_indent=" " * 5)
        for code, meaning in EXIT_CODES.items()
    ]
    return "\b\nExit codes:\n" + "\n".join(rows)


@click.group(cls=_Cli, epilog=_exit_codes_help())
@click.version_option(__version__, prog_name="partner-kpi")
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="text",
    envvar=logs.FORMAT_ENV,
    show_default=True,
    help="Log records (and the final error) on stderr as text, or as one JSON object a "
    f"line for schedulers. Also ${logs.FORMAT_ENV}.",
)
@click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS),
    default="warning",
    envvar=logs.LEVEL_ENV,
    show_default=True,
    help=f"The least severe records logged (info adds each run's summary). Also ${logs.LEVEL_ENV}.",
)
def main(log_format: logs.LogFormat, log_level: str) -> None:
    """Score channel partners from CRM data and put the scores back in the CRM."""
    logs.configure(log_format, log_level)


@main.command()
@click.option(
    "--seed",
    "seed_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Score a seed folder (sales_pipeline.csv, accounts.csv, …) with no CRM at all.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A YAML config: its crm: section names the CRM, scoring: the weights and tiers.",
)
@click.option(
    "--as-of", callback=_parse_date, help="Score as of this date (YYYY-MM-DD); default today."
)
@click.option("--window-days", type=int, help="Length of the scoring window; overrides the config.")
@click.option("--offline", is_flag=True, help="Rescore what the store holds; no CRM call.")
@click.option(
    "--sandbox",
    "sandbox_crm",
    type=click.Choice(sandbox_crms()),
    help="Try it out: start the bundled sandbox CRM for this run and audit it through this CRM.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for scores.csv, scores.json and report.html (created if missing).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def audit(
    seed_dir: Path | None,
    config_path: Path | None,
    as_of: date | None,
    window_days: int | None,
    offline: bool,
    sandbox_crm: str | None,
    out: Path,
    quiet: bool,
) -> None:
    """Score every partner and write reports; nothing is written to any CRM.

    With --seed, a seed folder is scored directly; otherwise the config's CRM is
    read into the local store (incrementally) and the store is scored. Exits 10,
    with every file written, when data-quality rules left records out (quality.csv).
    """
    config = load_config(config_path)
    settings = with_window(config.scoring, window_days)
    from partner_kpi.run import run_audit, run_seed_audit

    day = as_of or date.today()
    if sandbox_crm is not None:
        output = _audit_sandbox(
            sandbox_crm, as_of=day, settings=settings, out=out, quality=config.quality
        )
    elif seed_dir is not None:
        output = run_seed_audit(
            seed_dir, as_of=day, settings=settings, out=out, quality=config.quality
        )
    elif config.crm is None:
        raise ConfigError(
            "--seed / crm",
            "nothing to score: give --seed DIR, or --config FILE with a crm: section",
        )
    else:
        output = run_audit(config, as_of=day, settings=settings, out=out, offline=offline)
    if not quiet:
        result = output.result
        tiers = ", ".join(f"{n} {t}" for t, n in result.portfolio.tier_counts.items())
        click.echo(
            f"scored {len(result.partners)} partners as of {result.as_of} "
            f"({result.window_days}-day window): {tiers}"
        )
        if output.extract is not None:
            counts = output.extract
            click.echo(
                f"synced {counts.partners} partners, {counts.opportunities} opportunities "
                f"({counts.opportunities_deleted} deleted), {counts.stage_changes} stage changes"
            )
        for path in output.files:
            click.echo(f"wrote {path}")
    result = output.result
    log.info(
        "audit finished",
        extra={
            "as_of": str(result.as_of),
            "scored": len(result.partners),
            "tiers": dict(result.portfolio.tier_counts),
            **({"sync": output.extract.as_json()} if output.extract is not None else {}),
            **({"quality": output.quality.summary()} if output.quality is not None else {}),
            "files": [str(path) for path in output.files],
        },
    )
    _exit_on_exclusions(output)


def _exit_on_exclusions(output: RunOutput) -> None:
    """Exit 10 once everything is written when data-quality rules left records out."""
    from core.errors import DataQualityExclusions

    if output.quality is None or not output.excluded:
        return
    rules = output.quality.summary()["by_rule"]
    counted = ", ".join(f"{rule} {n['exclude']}" for rule, n in rules.items() if "exclude" in n)
    listed = [str(path) for path in output.files if path.name == "quality.csv"]
    raise DataQualityExclusions(
        f"completed, with {output.excluded} record{'' if output.excluded == 1 else 's'} left "
        "out of every KPI by data-quality "
        f"rules ({counted}); "
        + (f"they are listed in {listed[0]}" if listed else "--out lists them in quality.csv")
    )


def _audit_sandbox(
    crm: str, *, as_of: date, settings: ScoringSettings, out: Path, quality: QualitySettings
) -> RunOutput:
    """Start the bundled sandbox, audit it through ``crm`` with its own config (and the
    user's ``quality:`` policies), stop it."""
    import json
    import tempfile

    from partner_kpi.run import run_audit
    from sandbox.server import ready_line, start_sandbox, write_configs

    # the state folder holds the connected app's private key and the store: gone at the end,
    # also when a scheduler stops the command with SIGTERM (it unwinds like Ctrl-C)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with tempfile.TemporaryDirectory(prefix="partner-kpi-sandbox-") as state:
            running = start_sandbox(state_dir=Path(state))
            try:
                ready = json.loads(ready_line(running, write_configs(running)))
                config = load_config(Path(ready["configs"][crm])).model_copy(
                    update={"quality": quality}
                )
                return run_audit(
                    config, as_of=as_of, settings=settings, out=out, environ=ready["env"]
                )
            finally:
                running.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="A YAML config with a crm: section.",
)
def check(config_path: Path) -> None:
    """Connect and report API version, quota, object and field access, and the score
    fields writeback needs (as fields plan does); write nothing.

    Exits 0 when everything a sync needs is in place, 1 when something is missing.
    """
    config = load_config(config_path)
    from partner_kpi.fields import configured_fields
    from writeback import provision

    connector = config.connector()
    items = connector.check()
    if items and items[0].ok:  # logged in: the score fields can be looked at too
        try:
            shown = {item.name for item in items}
            found = provision(connector, configured_fields(config), create=False).items
            items += [item for item in found if item.name not in shown]
        except ENDS_A_CHECK:
            raise
        except PartnerKpiError as exc:
            items.append(CheckItem("score fields", False, str(exc)))
        items += activity_items(connector.activity_access())
    width = max((len(item.name) for item in items), default=0)
    for item in items:
        mark = "WARN" if item.warning else "ok " if item.ok else "MISSING"
        click.echo(f"{mark:7} {item.name:<{width}}  {item.detail}")
    _ready_for_sync("check", items)


def activity_items(access: Mapping[str, str | None]) -> list[CheckItem]:
    """One line per activity object: readable, or a warning naming why not and the KPIs
    that will be null for want of it (a sync goes on without them)."""
    from partner_kpi.extract import unreadable

    return [
        CheckItem(stream, True, "readable")
        if reason is None
        else CheckItem(stream, True, unreadable(stream, reason), warning=True)
        for stream, reason in access.items()
    ]


def _ready_for_sync(command: str, items: Sequence[CheckItem]) -> None:
    """NotReadyForSync (exit 1) naming what is missing, when any line is not ok."""
    missing = [item.name for item in items if not item.ok]
    if missing:
        raise NotReadyForSync(
            f"{command}: {len(missing)} of {len(items)} things a sync needs are not ready "
            f"({', '.join(missing)}); the lines above say why and what fixes each"
        )


_CONFIG_REQUIRED = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="A YAML config: crm: names the CRM, writeback: the fields scores go into.",
)


@main.command()
@_CONFIG_REQUIRED
@click.option(
    "--as-of", callback=_parse_date, help="Score as of this date (YYYY-MM-DD); default today."
)
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing to the CRM.")
@click.option(
    "--plan-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the plan to this file: .json or .csv.",
)
@click.option("--force", is_flag=True, help="Write even if the tier guard refuses the run.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write scores.csv, scores.json and report.html to this folder.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only rejections (and errors).")
def sync(
    config_path: Path,
    as_of: date | None,
    dry_run: bool,
    plan_out: Path | None,
    force: bool,
    out: Path | None,
    quiet: bool,
) -> None:
    """Extract incrementally, score, and write the changed scores back into the CRM.

    Only records whose mapped fields differ are sent, in the fewest calls; every
    field is journaled old → new (see history, rollback). Exits 0 when all is
    written, 8 when the tier guard refuses the run, 9 when the CRM rejected
    records (listed; the next sync retries them), 10 when data-quality rules left
    records out (all else done).
    """
    config = load_config(config_path)
    from core.errors import RecordsRejected
    from partner_kpi.run import run_sync
    from partner_kpi.writeback_view import console, print_sync

    output = run_sync(
        config, as_of=as_of or date.today(), dry_run=dry_run, force=force, plan_out=plan_out,
        out=out,
    )  # fmt: skip
    print_sync(console(), output, quiet=quiet)
    if plan_out is not None and not quiet:
        click.echo(f"wrote {plan_out}")
    log.info(
        "sync finished" + (" (dry run)" if dry_run else ""),
        extra={"run_id": output.run_id, "as_of": str(output.result.as_of), **output.counts()},
    )
    if output.report is not None and output.report.rejected:
        planned = len(output.plan.records) if output.plan else len(output.report.rejected)
        rejected = len(output.report.rejected)
        written = "nothing was written" if rejected == planned else "the others are written"
        raise RecordsRejected(
            f"{rejected} of {planned} records were rejected by the CRM (run {output.run_id}); "
            f"{written}, and the next sync retries the rejected ones"
        )
    _exit_on_exclusions(output)


@main.group()
def fields() -> None:
    """The CRM fields scores are written into: what is missing, and creating it."""


def _fields(config_path: Path, create: bool) -> None:
    config = load_config(config_path)
    from partner_kpi.fields import fields_plan
    from partner_kpi.writeback_view import console, print_checks, print_field_map

    mapped, found = fields_plan(config, create=create)
    out = console()
    print_field_map(out, mapped)
    print_checks(out, found.items)
    _ready_for_sync(f"fields {'create' if create else 'plan'}", found.items)


@fields.command("plan")
@_CONFIG_REQUIRED
def fields_plan_command(config_path: Path) -> None:
    """Show each field the writeback: section maps and whether the CRM has it; change nothing.

    Exits 0 when every field is in place, 1 when any is missing or of another type.
    """
    _fields(config_path, create=False)


@fields.command("create")
@_CONFIG_REQUIRED
def fields_create_command(config_path: Path) -> None:
    """Create the missing fields (idempotent). A field that exists with another type is
    reported and left alone; the command then exits 1."""
    _fields(config_path, create=True)


@main.command()
@_CONFIG_REQUIRED
@click.argument("run_id")
@click.option("--dry-run", is_flag=True, help="Print what would be restored; write nothing.")
def rollback(config_path: Path, run_id: str, dry_run: bool) -> None:
    """Restore the values a run wrote over (see history for run ids).

    The old values are diffed against what the CRM holds now, written in batches
    and journaled as a run of its own. Exits 9 when the CRM rejected records.
    """
    config = load_config(config_path)
    from core.errors import RecordsRejected
    from partner_kpi.rollback import run_rollback
    from partner_kpi.writeback_view import console, print_rollback

    output = run_rollback(config, run_id, dry_run=dry_run)
    print_rollback(console(), output)
    if output.report is not None and output.report.rejected:
        raise RecordsRejected(
            f"{len(output.report.rejected)} records were rejected by the CRM (run "
            f"{output.run_id}); run the rollback again to retry them"
        )


@main.command()
@_CONFIG_REQUIRED
@click.argument("partner", required=False)
@click.option("--limit", type=click.IntRange(1), default=20, help="Runs to list (newest first).")
def history(config_path: Path, partner: str | None, limit: int) -> None:
    """List the runs; with PARTNER (a record id or name), its score over time and what
    was written to its record. Reads only the local store."""
    config = load_config(config_path)
    from partner_kpi.history import PartnerHistory, run_history
    from partner_kpi.writeback_view import console, print_partner, print_runs

    found = run_history(config, partner, limit=limit)
    if isinstance(found, PartnerHistory):
        print_partner(console(), found)
    else:
        print_runs(console(), found)


@main.group()
def sandbox() -> None:
    """The local sandbox CRM: Salesforce and HubSpot on 127.0.0.1, for trying partner-kpi."""


@sandbox.command("serve")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A seed folder to serve; default: the bundled Maven CRM dataset.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (0: any free port).")
@click.option("--faults", "fault_spec", help="Faults to inject, e.g. 'rate_limit=0.1,seed=7'.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the CA file and the ready configs go; default: a new temporary folder.",
)
@click.option(
    "--resettable",
    is_flag=True,
    help="Keep a copy of the seeded state so that POST /__sandbox/reset (with the ready "
    "line's control token) puts it back (costs about as much memory again as the data).",
)
def sandbox_serve(
    data_dir: Path | None,
    port: int,
    fault_spec: str | None,
    state_dir: Path | None,
    resettable: bool,
) -> None:
    """Serve both CRMs over HTTPS until interrupted; print one JSON line when ready."""
    from sandbox.faults import FaultSpec, FaultSpecError
    from sandbox.server import ready_line, start_sandbox, write_configs

    try:
        faults = FaultSpec.parse(fault_spec)
    except FaultSpecError as exc:
        raise ConfigError("--faults", str(exc)) from None
    # absolute: the configs it writes name files in it, and a config's relative paths
    # are read from the config's own folder
    state_dir = state_dir.resolve() if state_dir is not None else None
    running = start_sandbox(
        data_dir, port=port, faults=faults, state_dir=state_dir, resettable=resettable
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(ready_line(running, write_configs(running)))
    sys.stdout.flush()
    stop.wait()
    running.stop()

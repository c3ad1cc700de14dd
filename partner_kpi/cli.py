"""The partner-kpi command line. Each error class maps to one exit code and one line."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import click

from connectors.errors import ConfigError, PartnerKpiError
from kpi_engine import ScoringSettings
from partner_kpi import __version__
from partner_kpi.audit import AuditOutput, audit_crm, audit_seed
from partner_kpi.config import load_config, with_window


class _Cli(click.Group):
    """A group that turns our errors into one line on stderr and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PartnerKpiError as exc:
            click.echo(f"partner-kpi: error: {exc}", err=True)
            sys.exit(exc.exit_code)


def _parse_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


@click.group(cls=_Cli)
@click.version_option(__version__, prog_name="partner-kpi")
def main() -> None:
    """Score channel partners from CRM data and put the scores back in the CRM."""


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
    type=click.Choice(["salesforce", "hubspot"]),
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
    read into the local store (incrementally) and the store is scored.
    """
    config = load_config(config_path)
    settings = with_window(config.scoring, window_days)
    day = as_of or date.today()
    if sandbox_crm is not None:
        output = _audit_sandbox(sandbox_crm, as_of=day, settings=settings, out=out)
    elif seed_dir is not None:
        output = audit_seed(seed_dir, as_of=day, settings=settings, out=out)
    elif config.crm is None:
        raise ConfigError(
            "--seed / crm",
            "nothing to score: give --seed DIR, or --config FILE with a crm: section",
        )
    else:
        output = audit_crm(config, as_of=day, settings=settings, out=out, offline=offline)
    if not quiet:
        result = output.result
        tiers = ", ".join(f"{n} {t}" for t, n in result.portfolio.tier_counts.items())
        click.echo(
            f"scored {len(result.partners)} partners as of {result.as_of} "
            f"({result.window_days}-day window): {tiers}"
        )
        if output.sync is not None:
            counts = output.sync
            click.echo(
                f"synced {counts.partners} partners, {counts.opportunities} opportunities "
                f"({counts.opportunities_deleted} deleted), {counts.stage_changes} stage changes"
            )
        for path in output.files:
            click.echo(f"wrote {path}")


def _audit_sandbox(crm: str, *, as_of: date, settings: ScoringSettings, out: Path) -> AuditOutput:
    """Start the bundled sandbox, audit it through ``crm`` with its own config, stop it."""
    import json
    import tempfile

    from sandbox.server import ready_line, start_sandbox, write_configs

    running = start_sandbox(state_dir=Path(tempfile.mkdtemp(prefix="partner-kpi-sandbox-")))
    try:
        ready = json.loads(ready_line(running, write_configs(running)))
        config = load_config(Path(ready["configs"][crm]))
        return audit_crm(config, as_of=as_of, settings=settings, out=out, environ=ready["env"])
    finally:
        running.stop()


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="A YAML config with a crm: section.",
)
def check(config_path: Path) -> None:
    """Connect and report API version, quota, object and field access; write nothing.

    Exits 0 when everything a sync needs is in place, 1 when something is missing.
    """
    import os

    from partner_kpi.crm import connector_for

    config = load_config(config_path)
    connector = connector_for(config.crm, os.environ)
    items = connector.check()
    width = max((len(item.name) for item in items), default=0)
    for item in items:
        mark = "ok " if item.ok else "MISSING"
        click.echo(f"{mark:7} {item.name:<{width}}  {item.detail}")
    if not all(item.ok for item in items):
        sys.exit(1)


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
def sandbox_serve(
    data_dir: Path | None, port: int, fault_spec: str | None, state_dir: Path | None
) -> None:
    """Serve both CRMs over HTTPS until interrupted; print one JSON line when ready."""
    from sandbox.faults import FaultSpec, FaultSpecError
    from sandbox.server import ready_line, start_sandbox, write_configs

    try:
        faults = FaultSpec.parse(fault_spec)
    except FaultSpecError as exc:
        raise ConfigError("--faults", str(exc)) from None
    running = start_sandbox(data_dir, port=port, faults=faults, state_dir=state_dir)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(ready_line(running, write_configs(running)))
    sys.stdout.flush()
    stop.wait()
    running.stop()

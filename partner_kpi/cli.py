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
from partner_kpi import __version__
from partner_kpi.audit import audit_seed
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
    required=True,
    help="A seed folder (sales_pipeline.csv, accounts.csv, sales_teams.csv, products.csv).",
)
@click.option(
    "--as-of", callback=_parse_date, help="Score as of this date (YYYY-MM-DD); default today."
)
@click.option("--window-days", type=int, help="Length of the scoring window; overrides the config.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A YAML config; its scoring: section sets weights, tiers, window and channel map.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for scores.csv and scores.json (created if missing).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def audit(
    seed_dir: Path,
    as_of: date | None,
    window_days: int | None,
    config_path: Path | None,
    out: Path,
    quiet: bool,
) -> None:
    """Score every partner and write reports; nothing is written to any CRM."""
    config = load_config(config_path)
    settings = with_window(config.scoring, window_days)
    output = audit_seed(seed_dir, as_of=as_of or date.today(), settings=settings, out=out)
    if not quiet:
        result = output.result
        tiers = ", ".join(f"{n} {t}" for t, n in result.portfolio.tier_counts.items())
        click.echo(
            f"scored {len(result.partners)} partners as of {result.as_of} "
            f"({result.window_days}-day window): {tiers}"
        )
        for path in output.files:
            click.echo(f"wrote {path}")


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

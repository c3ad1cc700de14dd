"""Start-up of the command line: what a user waits for before a command does its work.

Each case runs ``partner-kpi`` as a user runs it, in a fresh process, ``--runs`` times
(5 by default), and prints the medians of its wall time, its CPU time (user + system:
what a loaded machine changes least) and its peak RSS (``ru_maxrss`` of that one child,
from ``os.wait4``):

* ``--help``, ``audit --help`` and ``--version``;
* a config error: an unknown key in a one-section config, the same in a full config
  (config.example.yaml with ``store:`` misspelt, so its ``writeback.fields`` are
  validated too), and a config file that is not there;
* ``audit --seed`` of the bundled dataset (8,800 opportunities), and how much of it is
  imports: the median ``-X importtime`` total of as many more runs (every top-level
  import the process made, the interpreter's own included), the libraries that cost
  most in the median run, and a process that makes the same imports and nothing else.

Targets (reported, never asserted): help and a config error ≤ 0.5 s; the bundled
audit ≤ 2 s.

Run from the repository root::

    python bench/startup.py
    other/.venv/bin/python bench/startup.py     # the same cases on another install
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / ".." / "shared" / "data" / "maven-crm"
PROJECT = {"core", "connectors", "kpi_engine", "quality", "writeback", "store", "partner_kpi"}


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    rss_mb: float


def _command() -> list[str]:
    script = Path(sys.executable).parent / "partner-kpi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "partner_kpi"]


def run_once(args: list[str]) -> Measured:
    """One fresh process: its wall time, CPU time and its own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median_of(runs: int, args: list[str]) -> Measured:
    found = [run_once(args) for _ in range(runs)]
    return Measured(
        statistics.median(m.wall_s for m in found),
        statistics.median(m.cpu_s for m in found),
        statistics.median(m.rss_mb for m in found),
    )


@dataclass(frozen=True)
class Imports:
    #: the ``-X importtime`` total: every import the program made, the interpreter's included
    total_s: float
    #: the modules the program itself imported (not another module), in order
    top_level: tuple[str, ...]
    #: each library's cumulative time, what it imports included, costliest first
    libraries: tuple[tuple[str, float], ...]


def import_times(args: list[str]) -> Imports:
    """What the imports of one ``partner-kpi args`` run cost, by ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "partner_kpi", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    total = 0.0
    top_level: list[str] = []
    libraries: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)$", line)
        if match is None:
            continue
        seconds, nested, name = int(match.group(1)) / 1e6, bool(match.group(2)), match.group(3)
        if not nested:
            total += seconds
            top_level.append(name)
        if "." not in name and not name.startswith("_") and name not in PROJECT:
            libraries[name] = seconds
    ranked = sorted(libraries.items(), key=lambda item: -item[1])
    return Imports(total, tuple(top_level), tuple(ranked))


def _row(name: str, measured: Measured) -> str:
    return (
        f"  {name:<28} {measured.wall_s:5.2f} s wall  {measured.cpu_s:5.2f} s CPU  "
        f"{measured.rss_mb:4.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=Path, default=BUNDLED, help="the bundled dataset")
    options = parser.parse_args()
    cli = _command()
    with tempfile.TemporaryDirectory(prefix="partner-kpi-startup-") as folder:
        work = Path(folder)
        small = work / "small.yaml"
        small.write_text("scoring:\n  window_dayz: 30\n", encoding="utf-8")
        full = work / "full.yaml"
        example = (REPO / "config.example.yaml").read_text(encoding="utf-8")
        full.write_text(example.replace("\nstore:", "\nstoer:"), encoding="utf-8")
        audit = ["audit", "--seed", str(options.seed), "--as-of", "2017-12-31"]
        cases = {
            "--help": ["--help"],
            "audit --help": ["audit", "--help"],
            "--version": ["--version"],
            "config error (unknown key)": ["check", "--config", str(small)],
            "config error (full config)": ["check", "--config", str(full)],
            "config file missing": ["check", "--config", str(work / "none.yaml")],
            "bundled audit --seed": [*audit, "--out", str(work / "out"), "-q"],
        }
        print(f"median of {options.runs} fresh processes ({' '.join(cli)})")
        for name, args in cases.items():
            print(_row(name, median_of(options.runs, [*cli, *args])))
        again = [*audit, "--out", str(work / "imported"), "-q"]
        found = sorted((import_times(again) for _ in range(options.runs)), key=lambda i: i.total_s)
        imports = found[len(found) // 2]
        costly = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in imports.libraries[:6])
        print(f"  bundled audit imports        {imports.total_s:5.2f} s (-X importtime): {costly}")
        # the same imports alone, in a process that does nothing else: start-up's share
        alone = "; ".join(f"import {name}" for name in imports.top_level)
        print(_row("its imports alone", median_of(options.runs, [sys.executable, "-c", alone])))
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

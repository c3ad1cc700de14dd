"""Benchmark of the local store: page upserts and the engine's Arrow reads.

Builds ``--opportunities`` synthetic opportunities (default 200,000) with
about ``--changes`` stage changes each as schema records, then times, in a
fresh store file:

* the first upsert of every opportunity, in pages of ``--page-size`` (2,000,
  a Salesforce query page), one transaction a page;
* the same pages upserted again (every row an update, as after a full re-read);
* the stage changes upserted the same way;
  (each upsert figure in wall and in CPU seconds of this process)
* ``opportunities_table()`` and ``stage_events_table()`` (best of ``--repeat``).

Building the records is not timed: it is the connector's work. It measures;
it asserts nothing.

Run from the repository root::

    python bench/store.py
    python bench/store.py --opportunities 1000000 --json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's folder comes first on sys.path, and this file's
# name would shadow the store package it measures: drop the folder, add the root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from typing import TypeVar  # noqa: E402

from core.schema import Opportunity, OpportunityStatus, StageChange  # noqa: E402
from store import LocalStore  # noqa: E402

T = TypeVar("T")
STAGES = ("Prospecting", "Engaging", "Won", "Lost")


def opportunities(count: int, partners: int, seed: int) -> list[Opportunity]:
    rng = random.Random(seed)
    start = date(2016, 1, 1)
    records = []
    for i in range(count):
        created = start + timedelta(days=rng.randrange(700))
        status = rng.choice((OpportunityStatus.OPEN, OpportunityStatus.WON, OpportunityStatus.LOST))
        closed = (
            None if status is OpportunityStatus.OPEN else created + timedelta(rng.randrange(90))
        )
        records.append(
            Opportunity.model_construct(
                id=f"006{i:012d}",
                name=f"Deal {i}",
                partner_id=f"001{rng.randrange(partners):012d}",
                account_id=f"001C{rng.randrange(partners * 10):011d}",
                stage={"open": "Engaging", "won": "Won", "lost": "Lost"}[status.value],
                status=status,
                probability={"open": 0.4, "won": 1.0, "lost": 0.0}[status.value],
                amount=round(rng.uniform(100, 50_000), 2),
                amount_original=None,
                currency="USD",
                created_date=created,
                close_date=closed,
                lead_source=rng.choice(("Web", "Partner Referral", None)),
            )
        )
    return records


def stage_changes(records: Sequence[Opportunity], per: float, seed: int) -> list[StageChange]:
    rng = random.Random(seed)
    changes = []
    for opportunity in records:
        moment = datetime.combine(opportunity.created_date, datetime.min.time(), UTC)
        for n in range(max(1, round(rng.uniform(0, 2 * per)))):
            moment += timedelta(hours=rng.randrange(1, 24 * 20))
            changes.append(
                StageChange.model_construct(
                    id=f"{opportunity.id}:{n}",
                    opportunity_id=opportunity.id,
                    stage=STAGES[min(n, len(STAGES) - 1)],
                    entered_at=moment,
                )
            )
    return changes


def pages(records: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(records), size):
        yield list(records[start : start + size])


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def timed_both(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds: on a busy machine, or a disk slow to fsync, they part ways."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return round(time.perf_counter() - wall, 3), round(time.process_time() - cpu, 3)


def best_of(repeat: int, action: Callable[[], object]) -> float:
    return min(timed(action) for _ in range(repeat))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--changes", type=float, default=2.5, help="stage changes per deal")
    parser.add_argument("--page-size", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)

    built = time.perf_counter()
    deals = opportunities(args.opportunities, args.partners, seed=7)
    changes = stage_changes(deals, args.changes, seed=8)
    built = time.perf_counter() - built

    figures: dict[str, float | int] = {
        "opportunities": len(deals),
        "stage_changes": len(changes),
        "page_size": args.page_size,
        "build_records_s": round(built, 3),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        with LocalStore.open(path, holder="bench/store.py") as store:

            def upsert_deals() -> None:
                for page in pages(deals, args.page_size):
                    store.upsert_opportunities(page)

            def upsert_changes() -> None:
                for page in pages(changes, args.page_size):
                    store.upsert_stage_changes(page)

            for name, action in (
                ("upsert_opportunities_insert", upsert_deals),
                ("upsert_opportunities_update", upsert_deals),
                ("upsert_stage_changes", upsert_changes),
            ):
                figures[f"{name}_s"], figures[f"{name}_cpu_s"] = timed_both(action)
            figures["read_opportunities_table_s"] = round(
                best_of(args.repeat, store.opportunities_table), 3
            )
            figures["read_stage_events_table_s"] = round(
                best_of(args.repeat, store.stage_events_table), 3
            )
            counts = store.counts()
            assert counts.opportunities == len(deals), counts
        figures["file_mb"] = round(path.stat().st_size / 2**20, 1)

    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:36} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Hand-made records and a store on a fixed clock, shared by the store's tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from core.schema import Opportunity, OpportunityStatus, Partner, StageChange
from store import LocalStore

NOW = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)
TABLES = (
    "partners", "opportunities", "stage_changes", "stage_defs", "cursors", "runs", "scores",
    "writeback_journal", "leads", "quotes", "cases", "calls", "line_items", "activity_access",
)  # fmt: skip


def fixed_clock() -> datetime:
    return NOW


def partner(pid: str, name: str | None = None, **fields: Any) -> Partner:
    return Partner(id=pid, name=name if name is not None else f"Partner {pid}", **fields)


def opportunity(oid: str, partner_id: str | None = "P1", **fields: Any) -> Opportunity:
    values: dict[str, Any] = {
        "id": oid,
        "name": f"Deal {oid}",
        "partner_id": partner_id,
        "stage": "Engaging",
        "status": OpportunityStatus.OPEN,
        "probability": 0.4,
        "amount": 1000.0,
        "created_date": date(2026, 1, 10),
    }
    values.update(fields)
    return Opportunity(**values)


def won(oid: str, partner_id: str | None = "P1", **fields: Any) -> Opportunity:
    values: dict[str, Any] = {
        "stage": "Won",
        "status": OpportunityStatus.WON,
        "probability": 1.0,
        "close_date": date(2026, 3, 1),
    }
    values.update(fields)
    return opportunity(oid, partner_id, **values)


def change(cid: str, oid: str, stage: str, entered_at: datetime) -> StageChange:
    return StageChange(id=cid, opportunity_id=oid, stage=stage, entered_at=entered_at)


def in_order(table: pa.Table) -> pa.Table:
    """A read of the store sorted by its key: the store returns rows in no particular order."""
    if "sequence" in table.column_names:
        return table.sort_by([("opportunity_id", "ascending"), ("sequence", "ascending")])
    return table.sort_by("id")


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a closed store file, in a fixed order."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    finally:
        conn.close()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "partner-kpi.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[LocalStore]:
    with LocalStore.open(store_path, holder="pytest", clock=fixed_clock) as opened:
        yield opened

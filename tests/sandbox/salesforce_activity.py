"""Hand-made activity (leads, quotes, cases, calls, line items) on the bundled dataset, and a
sandbox seeded with it: what the Salesforce org's and connector's activity tests read.

The tables are in each entity's whole layout with seed ids, as ``SeedDataset.activity``
holds them, and carry the quirks KPIS.md names: a lead with no partner, a case on an
account no partner sold to, a reopened case, a quote never sent and one sent the day it
was made, a call of no known outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
import pytest

import sandbox.server
from connectors.seed import SeedDataset
from core.schema import ACTIVITY_ENTITIES
from kpi_engine.frames import Activity
from sandbox.clients import control
from sandbox.server import RunningSandbox, start_sandbox

D = date


def _frame(stream: str, columns: dict[str, list[object]]) -> pl.DataFrame:
    layout = ACTIVITY_ENTITIES[stream].layout
    frame = pl.from_arrow(layout.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return pl.DataFrame(columns, schema=frame.schema)


def hand_made_activity(dataset: SeedDataset) -> Activity:
    """A few records of every activity object on the dataset's partners, customers and deals."""
    deals = dataset.records.filter(pl.col("account_id").is_not_null()).sort("id")
    opp = deals["id"].to_list()
    account = deals["account_id"].to_list()
    partner = [p.id for p in dataset.partners]
    served = set(dataset.records["account_id"].drop_nulls().to_list())
    unserved = (
        next(c.id for c in dataset.customers if c.id not in served)
        if any(c.id not in served for c in dataset.customers)
        else account[5]
    )
    leads = _frame("leads", {
        "id": ["LD-1", "LD-2", "LD-3"],
        "partner_id": [partner[0], None, partner[1]],
        "created_date": [D(2017, 1, 2), D(2017, 2, 3), D(2017, 3, 4)],
        "status": ["Converted", "Open", "Disqualified"],
        "converted_date": [D(2017, 1, 9), None, None],
        "converted_opportunity_id": [opp[0], None, None],
        "lead_source": ["Partner Referral", None, "Web"],
    })  # fmt: skip
    quotes = _frame("quotes", {
        "id": ["QT-1", "QT-2", "QT-3"],
        "opportunity_id": [opp[0], opp[1], opp[1]],
        "created_date": [D(2017, 2, 1), D(2017, 3, 1), D(2017, 3, 5)],
        "status": ["Presented", "Draft", "Accepted"],
        "sent_date": [D(2017, 2, 1), None, D(2017, 3, 8)],
    })  # fmt: skip
    cases = _frame("cases", {
        "id": ["CS-1", "CS-2", "CS-3", "CS-4"],
        "account_id": [account[0], account[1], unserved, account[2]],
        "created_date": [D(2017, 4, 1), D(2017, 4, 2), D(2017, 4, 3), D(2017, 4, 4)],
        "closed_date": [D(2017, 4, 1), D(2017, 4, 9), None, None],
        "type": ["Question", "Problem", "Onboarding", "Problem"],
        "contact_count": [1, 3, 0, 2],
        "reopened": [False, True, False, True],
        "first_contact_resolved": [None, None, None, None],
    })  # fmt: skip
    calls = _frame("calls", {
        "id": ["CL-1", "CL-2", "CL-3", "CL-4"],
        "opportunity_id": [opp[0], opp[0], opp[2], opp[3]],
        "call_date": [D(2017, 1, 5), D(2017, 1, 6), D(2017, 2, 7), D(2017, 2, 8)],
        "duration_seconds": [120, 30, 600, None],
        "outcome": ["connected", "no_answer", "voicemail", None],
    })  # fmt: skip
    line_items = _frame("line_items", {
        "id": ["LI-1", "LI-2", "LI-3"],
        "opportunity_id": [opp[0], opp[0], opp[4]],
        "product": ["GTX Basic", "MG Special", "GTX Pro"],
        "quantity": [1.0, 2.0, 1.0],
        "amount": [550.0, 110.0, 4821.0],
    })  # fmt: skip
    return Activity(leads=leads, quotes=quotes, cases=cases, calls=calls, line_items=line_items)


def with_activity(dataset: SeedDataset, activity: Activity) -> SeedDataset:
    """``dataset`` holding ``activity`` instead of its own files' rows."""
    rows = {stream: getattr(activity, stream) for stream in ACTIVITY_ENTITIES}
    return dataclasses.replace(dataset, activity_rows=rows)


@contextmanager
def sandbox_of(dataset: SeedDataset, state_dir: Path) -> Iterator[RunningSandbox]:
    """A sandbox serving ``dataset`` (not a folder's), stopped afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox.server, "read_seed", lambda folder: dataset)
        running = start_sandbox(state_dir=state_dir, resettable=True)
    try:
        yield running
    finally:
        running.stop()


def crm_ids(running: RunningSandbox) -> dict[str, str]:
    """Seed id → Salesforce id: the sandbox's id map (partners, customers, deals) and each
    activity record as ``<stream>:<seed id>``."""
    ids: dict[str, str] = control(running, "id-map")["salesforce"]
    for stream, frame in running.app.salesforce.activity_ids.items():
        ids.update(zip((f"{stream}:{key}" for key in frame["id"]), frame["Id"], strict=True))
    return ids

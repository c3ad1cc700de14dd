"""A hand-made activity (leads, quotes, cases, calls, line items) for a seed, and a sandbox
seeded with it: written here record by record, with the quirks KPIS.md names (leads
with no partner, quotes never sent, reopened cases, cases on a customer no partner sold
to is left to the bundled data), so that each test can say what it expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

import sandbox.server
from connectors.seed import SeedDataset, read_seed
from core.schema import Call, CallOutcome, Case, Lead, LineItem, Quote
from kpi_engine.frames import Activity


def activity_for(dataset: SeedDataset) -> Activity:
    """Records on the dataset's partners, customers and opportunities (every id the seed's)."""
    deals = dataset.records.sort("id").select("id", "partner_id", "account_id", "created_date")
    rows = deals.rows(named=True)
    partners = [p.id for p in dataset.partners]
    customers = [c.id for c in dataset.customers]
    leads = []
    for n in range(12):
        created = date(2017, 1, 2) + timedelta(days=n * 7)
        converted = n % 3 == 0
        leads.append(
            Lead(
                id=f"L{n:03d}",
                partner_id=None if n % 4 == 3 else partners[n % len(partners)],
                created_date=created,
                status="Converted" if converted else ("Disqualified" if n % 3 == 1 else "Open"),
                converted_date=created + timedelta(days=n + 1) if converted else None,
                converted_opportunity_id=rows[n]["id"] if converted else None,
                lead_source="Referral" if n % 2 else "Web",
            )
        )
    quotes = []
    for n, deal in enumerate(rows[:10]):
        opened: date = deal["created_date"]
        sent = None if n % 4 == 1 else opened + timedelta(days=n % 3)  # n % 3 == 0: same day
        status = "Draft" if sent is None else ("Accepted" if n % 2 else "Presented")
        quotes.append(
            Quote(id=f"Q{n:03d}", opportunity_id=deal["id"], created_date=opened, status=status,
                  sent_date=sent)
        )  # fmt: skip
    cases = []
    for n in range(10):
        created = date(2017, 3, 1) + timedelta(days=n * 5)
        closed = None if n % 5 == 4 else created + timedelta(days=n % 4)
        cases.append(
            Case(
                id=f"C{n:03d}",
                account_id=customers[n % len(customers)],
                created_date=created,
                closed_date=closed,
                type=("Question", "Problem", "Onboarding")[n % 3],
                contact_count=n % 4,
                reopened=n % 3 == 2,
            )
        )
    outcomes = [CallOutcome.CONNECTED, CallOutcome.NO_ANSWER, CallOutcome.VOICEMAIL]
    calls = [
        Call(
            id=f"K{n:03d}",
            opportunity_id=deal["id"],
            call_date=deal["created_date"] + timedelta(days=n % 5),
            duration_seconds=(0, 119, 120, 600)[n % 4],
            outcome=outcomes[n % 3],
        )
        for n, deal in enumerate(rows[:15])
    ]
    products = ["GTX Basic", "MG Special", "GTX Pro"]
    line_items = [
        LineItem(id=f"I{n:03d}", opportunity_id=deal["id"], product=products[n % 3],
                 quantity=float(1 + n % 2), amount=100.0 * (n + 1))
        for n, deal in enumerate(rows[:20])
    ]  # fmt: skip
    return Activity(leads=leads, quotes=quotes, cases=cases, calls=calls, line_items=line_items)


def with_activity(dataset: SeedDataset, activity: Activity) -> SeedDataset:
    """The dataset with ``activity`` as its own (what the seed reader gives a folder that
    holds the activity files)."""
    object.__setattr__(dataset, "activity", activity)
    return dataset


@pytest.fixture
def seeding_activity(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], SeedDataset]]:
    """Sandboxes started in the test read their seed with ``activity_for``'s records."""

    def read(folder: Path | str) -> SeedDataset:
        dataset = read_seed(folder)
        return with_activity(dataset, activity_for(dataset))

    monkeypatch.setattr(sandbox.server, "read_seed", read)
    yield read

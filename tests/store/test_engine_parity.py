"""The store's Arrow tables score exactly as the records they were built from.

The bundled maven-crm dataset is read with ``read_seed``; its stage events
become CRM-like stage changes (midnight UTC of the event's date plus
``sequence`` minutes, ids ``"<opportunity>:<sequence>"``), are upserted in
pages as a sync would, and read back as the engine's tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from connectors.seed import SeedDataset, read_seed
from core.schema import (
    StageChange,
    StageEvent,
    opportunities_to_arrow,
    partners_to_arrow,
    stage_events_to_arrow,
)
from kpi_engine import ScoringSettings, score_partners
from store import LocalStore
from tests.store.conftest import in_order

T = TypeVar("T")
PAGE = 2_000


def _pages(records: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(records), PAGE):
        yield records[start : start + PAGE]


def as_change(event: StageEvent) -> StageChange:
    midnight = datetime.combine(event.entered_date, time(), UTC)
    return StageChange(
        id=f"{event.opportunity_id}:{event.sequence}",
        opportunity_id=event.opportunity_id,
        stage=event.stage,
        entered_at=midnight + timedelta(minutes=event.sequence),
    )


@pytest.fixture(scope="module")
def bundled(bundled_seed: Path) -> SeedDataset:
    return read_seed(bundled_seed)


@pytest.fixture(scope="module")
def filled(bundled: SeedDataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStore]:
    path = tmp_path_factory.mktemp("parity") / "partner-kpi.db"
    with LocalStore.open(path, holder="pytest parity") as store:
        store.replace_stage_defs(bundled.stage_defs)
        store.upsert_partners(bundled.partners)
        for deals in _pages(bundled.opportunities):
            store.upsert_opportunities(deals)
        for changes in _pages([as_change(e) for e in bundled.stage_events]):
            store.upsert_stage_changes(changes)
        yield store


def test_the_tables_hold_the_records_exactly(bundled: SeedDataset, filled: LocalStore) -> None:
    assert in_order(filled.partners_table()).equals(in_order(partners_to_arrow(bundled.partners)))
    assert in_order(filled.opportunities_table()).equals(
        in_order(opportunities_to_arrow(bundled.opportunities))
    )
    # the sequence the store derives from times and ids is the seed's own
    assert in_order(filled.stage_events_table()).equals(
        in_order(stage_events_to_arrow(bundled.stage_events))
    )
    assert filled.stage_defs() == sorted(bundled.stage_defs, key=lambda d: (d.sort_order, d.name))


@pytest.mark.parametrize(
    ("as_of", "window_days"), [(date(2017, 12, 31), 365), (date(2017, 6, 30), 90)]
)
def test_scoring_the_tables_equals_scoring_the_records(
    bundled: SeedDataset, filled: LocalStore, as_of: date, window_days: int
) -> None:
    settings = ScoringSettings(window_days=window_days)
    from_records = score_partners(
        bundled.partners,
        bundled.opportunities,
        bundled.stage_events,
        as_of=as_of,
        settings=settings,
    )
    from_store = score_partners(
        filled.partners_table(),
        filled.opportunities_table(),
        filled.stage_events_table(),
        as_of=as_of,
        settings=settings,
    )
    assert from_store == from_records
    assert len(from_store.partners) == len(bundled.partners)


def test_engine_scores_go_into_the_history_and_come_back(
    bundled: SeedDataset, filled: LocalStore
) -> None:
    as_of = date(2017, 12, 31)
    result = score_partners(
        filled.partners_table(),
        filled.opportunities_table(),
        filled.stage_events_table(),
        as_of=as_of,
    )
    run_id = filled.start_run("audit", as_of)
    filled.save_scores(run_id, result.partners)
    filled.finish_run(run_id, "succeeded", {"partners": len(result.partners)})
    best = result.partners[0]
    [row] = filled.score_history(best.partner_id)
    assert (row.run_id, row.score, row.tier, row.partner_name) == (
        run_id,
        best.score,
        best.tier,
        best.partner_name,
    )
    assert row.kpis == best.kpis.model_dump(mode="json")

"""Properties of score_partners that hold for any small dataset (hypothesis)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.schema import (
    ACTIVITY_ENTITIES,
    Call,
    CallOutcome,
    Case,
    Lead,
    LineItem,
    Opportunity,
    OpportunityStatus,
    Partner,
    Quote,
    StageEvent,
    opportunities_to_arrow,
    partners_to_arrow,
    stage_events_to_arrow,
)
from kpi_engine import COMPONENTS, Activity, ScoringResult, ScoringSettings, score_partners
from tests.kpi_engine.builders import AS_OF, partner, won

Dataset = tuple[list[Partner], list[Opportunity], list[StageEvent]]

LEAD_SOURCES = (None, "Web", "Paid Search", "Referral", "Trade Show", "Carrier pigeon")
ACCOUNTS = (None, "c0", "c1", "c2", "c3")
STAGES = ("Qualify", "Propose", "Negotiate", "Closed")
PROBABILITIES = (0.0, 0.1, 0.25, 0.5, 0.9, 1.0)

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)

amounts = st.one_of(st.none(), st.integers(0, 5_000_000).map(lambda cents: cents / 100))
# days relative to AS_OF: about three years back (so W, P and before P) to a little after
offsets = st.integers(-3 * 365, 60)
scoring_settings = st.builds(
    ScoringSettings,
    window_days=st.sampled_from([30, 365, 400]),
    prior_strength=st.sampled_from([0.0, 10.0]),
)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    n_partners = draw(st.integers(1, 6))
    partners = [partner(f"p{i}") for i in range(n_partners)]
    partner_ids = [p.id for p in partners] + [None, "ghost"]
    opportunities: list[Opportunity] = []
    events: list[StageEvent] = []
    for i in range(draw(st.integers(0, 30))):
        opp_id = f"o{i:02d}"
        status = draw(st.sampled_from(list(OpportunityStatus)))
        created = AS_OF + timedelta(days=draw(offsets))
        close_date: date | None = None
        if status is not OpportunityStatus.OPEN or draw(st.booleans()):
            # mostly after created, sometimes a few days before (flagged, still scored)
            close_date = created + timedelta(days=draw(st.integers(-5, 400)))
        opportunities.append(
            Opportunity(
                id=opp_id,
                partner_id=draw(st.sampled_from(partner_ids)),
                account_id=draw(st.sampled_from(ACCOUNTS)),
                stage="Closed" if status is not OpportunityStatus.OPEN else "Propose",
                status=status,
                probability=draw(st.sampled_from(PROBABILITIES)),
                amount=draw(amounts),
                created_date=created,
                close_date=close_date,
                lead_source=draw(st.sampled_from(LEAD_SOURCES)),
            )
        )
        entered = created
        for sequence in range(draw(st.integers(0, 4))):
            entered += timedelta(days=draw(st.integers(0, 40)))
            events.append(
                StageEvent(
                    opportunity_id=opp_id,
                    stage=draw(st.sampled_from(STAGES)),
                    entered_date=entered,
                    sequence=sequence,
                )
            )
    return partners, opportunities, events


def _score(data: Dataset, scoring: ScoringSettings) -> ScoringResult:
    partners, opportunities, events = data
    return score_partners(partners, opportunities, events, as_of=AS_OF, settings=scoring)


def _dump(result: ScoringResult) -> dict[str, Any]:
    return result.model_dump()


@PROPERTY_SETTINGS
@given(data=datasets(), scoring=scoring_settings, shuffle=st.randoms(use_true_random=False))
def test_input_order_never_changes_the_result(
    data: Dataset, scoring: ScoringSettings, shuffle: random.Random
) -> None:
    partners, opportunities, events = list(data[0]), list(data[1]), list(data[2])
    expected = _dump(_score((partners, opportunities, events), scoring))
    shuffle.shuffle(partners)
    shuffle.shuffle(opportunities)
    shuffle.shuffle(events)
    assert _dump(_score((partners, opportunities, events), scoring)) == expected


@PROPERTY_SETTINGS
@given(data=datasets(), scoring=scoring_settings)
def test_scores_and_percentiles_are_in_range(data: Dataset, scoring: ScoringSettings) -> None:
    result = _score(data, scoring)
    assert len(result.partners) == len(data[0])  # every partner account is scored
    for scored in result.partners:
        assert 0.0 <= scored.score <= 100.0
        assert scored.score == round(scored.score, 1)
        assert set(scored.percentiles) == set(COMPONENTS)
        for value in scored.percentiles.values():
            assert 0.0 <= value <= 1.0
    scores = [p.score for p in result.partners]
    assert scores == sorted(scores, reverse=True)


@PROPERTY_SETTINGS
@given(
    data=datasets(),
    scoring=scoring_settings,
    pick=st.integers(0, 5),
    amount=st.integers(0, 5_000_000).map(lambda cents: cents / 100),
    days_back=st.integers(0, 10_000),
    cycle=st.integers(-5, 400),
    account=st.sampled_from(ACCOUNTS),
)
def test_adding_a_won_deal_in_w_never_lowers_won_amount(
    data: Dataset,
    scoring: ScoringSettings,
    pick: int,
    amount: float,
    days_back: int,
    cycle: int,
    account: str | None,
) -> None:
    partners, opportunities, events = data
    target = partners[pick % len(partners)].id
    # close date in W: A − L < close ≤ A
    closed = AS_OF - timedelta(days=days_back % scoring.window_days)
    extra = won("zz-added", target, amount, closed=closed, account=account)
    # created on or before A: one created later does not exist at A (KPIS.md "Status as
    # of A"), so it adds nothing; a negative cycle (created after its close) still may
    created = min(closed - timedelta(days=cycle), AS_OF)
    extra = extra.model_copy(update={"created_date": created})
    before = _score(data, scoring)
    after = _score((partners, [*opportunities, extra], events), scoring)
    old = next(p for p in before.partners if p.partner_id == target).kpis
    new = next(p for p in after.partners if p.partner_id == target).kpis
    assert new.won_amount >= old.won_amount
    assert new.deal_count == old.deal_count + 1


@PROPERTY_SETTINGS
@given(data=datasets(), scoring=scoring_settings)
def test_records_arrow_tables_and_polars_frames_give_the_same_result(
    data: Dataset, scoring: ScoringSettings
) -> None:
    partners, opportunities, events = data
    from_records = _score(data, scoring)
    tables = (
        partners_to_arrow(partners),
        opportunities_to_arrow(opportunities),
        stage_events_to_arrow(events),
    )
    from_arrow = score_partners(*tables, as_of=AS_OF, settings=scoring)
    assert _dump(from_arrow) == _dump(from_records)
    # a seed folder's frames: Polars' own string type, and columns the engine does not read
    frames = [_polars(table).with_columns(pl.lit("x").alias("extra")) for table in tables]
    from_polars = score_partners(*frames, as_of=AS_OF, settings=scoring)
    assert _dump(from_polars) == _dump(from_records)


def _polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


# --- the partner's funnel, customers and service ---------------------------------------------

CASE_TYPES = (None, "Onboarding", "Support")
OUTCOMES = (None, *CallOutcome)
PRODUCTS = ("GTX Basic", "GTX Pro", "MG Special")


@st.composite
def activities(draw: st.DrawFn, data: Dataset) -> dict[str, list[Any]]:
    """Leads, quotes, cases, calls and line items on the dataset's partners, opportunities
    and customers; each object sometimes absent (None), dates around A."""
    partners, opportunities, _ = data
    partner_ids = [p.id for p in partners] + [None, "ghost"]
    opp_ids = [o.id for o in opportunities] + ["o-unknown"]
    day = st.integers(-2 * 365, 30).map(lambda d: AS_OF + timedelta(days=d))
    maybe_day = st.one_of(st.none(), day)
    n = st.integers(0, 12)
    objects: dict[str, list[Any]] = {
        "leads": [
            Lead(id=f"l{i}", partner_id=draw(st.sampled_from(partner_ids)),
                 created_date=draw(day), converted_date=draw(maybe_day))
            for i in range(draw(n))
        ],
        "quotes": [
            Quote(id=f"q{i}", opportunity_id=draw(st.sampled_from(opp_ids)),
                  created_date=draw(day), sent_date=draw(maybe_day))
            for i in range(draw(n))
        ],
        "cases": [
            Case(id=f"k{i}", account_id=draw(st.sampled_from(ACCOUNTS)), created_date=draw(day),
                 closed_date=draw(maybe_day), type=draw(st.sampled_from(CASE_TYPES)),
                 contact_count=draw(st.integers(0, 3)), reopened=draw(st.booleans()),
                 first_contact_resolved=draw(st.sampled_from((None, True, False))))
            for i in range(draw(n))
        ],
        "calls": [
            Call(id=f"a{i}", opportunity_id=draw(st.sampled_from([*opp_ids, None])),
                 call_date=draw(day), duration_seconds=draw(st.sampled_from((None, 0, 119, 120,
                                                                              121, 600))),
                 outcome=draw(st.sampled_from(OUTCOMES)))
            for i in range(draw(n))
        ],
        "line_items": [
            LineItem(id=f"li{i}", opportunity_id=draw(st.sampled_from(opp_ids)),
                     product=draw(st.sampled_from(PRODUCTS)))
            for i in range(draw(n))
        ],
    }  # fmt: skip
    return objects


def _with_activity(data: Dataset, activity: Activity, scoring: ScoringSettings) -> ScoringResult:
    partners, opportunities, events = data
    return score_partners(
        partners, opportunities, events, as_of=AS_OF, settings=scoring, activity=activity
    )


@PROPERTY_SETTINGS
@given(
    dataset=st.shared(datasets(), key="funnel"),
    objects=st.shared(datasets(), key="funnel").flatmap(activities),
    absent=st.sets(st.sampled_from(tuple(ACTIVITY_ENTITIES))),
    scoring=scoring_settings,
    shuffle=st.randoms(use_true_random=False),
)
def test_the_order_of_activity_rows_never_changes_the_result(
    dataset: Dataset,
    objects: dict[str, list[Any]],
    absent: set[str],
    scoring: ScoringSettings,
    shuffle: random.Random,
) -> None:
    given = {stream: None if stream in absent else rows for stream, rows in objects.items()}
    expected = _dump(_with_activity(dataset, Activity(**given), scoring))
    shuffled = {}
    for stream, rows in given.items():
        if rows is not None:
            rows = list(rows)
            shuffle.shuffle(rows)
        shuffled[stream] = rows
    assert _dump(_with_activity(dataset, Activity(**shuffled), scoring)) == expected


@PROPERTY_SETTINGS
@given(
    dataset=st.shared(datasets(), key="forms"),
    objects=st.shared(datasets(), key="forms").flatmap(activities),
    scoring=scoring_settings,
)
def test_activity_as_records_arrow_tables_or_polars_frames_gives_the_same_result(
    dataset: Dataset, objects: dict[str, list[Any]], scoring: ScoringSettings
) -> None:
    from_records = _dump(_with_activity(dataset, Activity(**objects), scoring))
    tables = {
        stream: ACTIVITY_ENTITIES[stream].to_arrow(rows, ACTIVITY_ENTITIES[stream].scored_layout)
        for stream, rows in objects.items()
    }
    assert _dump(_with_activity(dataset, Activity(**tables), scoring)) == from_records
    frames = {stream: _polars(table) for stream, table in tables.items()}
    assert _dump(_with_activity(dataset, Activity(**frames), scoring)) == from_records


@PROPERTY_SETTINGS
@given(
    dataset=st.shared(datasets(), key="bounds"),
    objects=st.shared(datasets(), key="bounds").flatmap(activities),
    scoring=scoring_settings,
)
def test_funnel_rates_are_shares_and_counts_are_whole(
    dataset: Dataset, objects: dict[str, list[Any]], scoring: ScoringSettings
) -> None:
    result = _with_activity(dataset, Activity(**objects), scoring)
    for kpis in [p.kpis for p in result.partners] + [result.portfolio.no_partner]:
        for name in ("lead_conversion_rate", "account_retention", "first_contact_resolution"):
            value = kpis.number(name)
            assert value is None or 0.0 <= value <= 1.0, (name, value)
        for name in ("lead_count", "referral_count", "customer_count"):
            count = kpis.values[name]
            assert isinstance(count, int) and count >= 0, (name, count)
        for name in ("products_per_customer", "tickets_per_customer", "value_added_calls"):
            value = kpis.number(name)
            assert value is None or value >= 0.0, (name, value)

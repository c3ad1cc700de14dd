"""Every KPI column, the ranking and the composite score, against hand-computed values.

The expected values come from /work/shared/design/KPIS.md and the arithmetic in
the comments, not from the engine. Dates: A = 2017-12-31, L = 365, so W is the
calendar year 2017 and P is 2016-01-02 … 2016-12-31 (see conftest.py).
"""

from __future__ import annotations

from datetime import date

import pytest

from core.schema import Opportunity, OpportunityStatus, Partner, StageDef
from kpi_engine import (
    COMPONENTS,
    NO_PARTNER,
    ScoringResult,
    ScoringSettings,
    TierThresholds,
    score_partners,
)
from kpi_engine.settings import DEFAULT_CHANNEL_MAP
from tests.kpi_engine.builders import by_id, event, lost, open_opp, partner, run, won

ALL_GROUPS = {"paid", "owned", "earned", "other", "unknown"}
TIERS = ("Platinum", "Gold", "Silver", "Bronze")


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def weights(**overrides: float) -> dict[str, float]:
    """A full weight map: 1 for every component except the overrides."""
    full = dict.fromkeys(COMPONENTS, 1.0)
    full.update(overrides)
    return full


# ---------------------------------------------------------------------------
# Per-partner counts, sums, rates
# ---------------------------------------------------------------------------


def _basic_opportunities() -> list[Opportunity]:
    return [
        # won in W; cycle 2017-01-01 → 2017-03-01 = 31 (Jan) + 28 (Feb) = 59 days
        won("o1", "p1", 1000.0, created=date(2017, 1, 1), closed=date(2017, 3, 1)),
        # won in W; cycle 2017-02-01 → 2017-02-11 = 10 days
        won("o2", "p1", 3000.0, created=date(2017, 2, 1), closed=date(2017, 2, 11)),
        # won in W with a null amount; cycle 2017-05-01 → 2017-05-31 = 30 days
        won("o3", "p1", None, created=date(2017, 5, 1), closed=date(2017, 5, 31)),
        # lost in W
        lost("o4", "p1", amount=500.0, created=date(2017, 4, 1), closed=date(2017, 6, 1)),
        # open, created ≤ A: in the pipeline
        open_opp("o5", "p1", 2000.0, created=date(2017, 6, 1), probability=0.25),
        open_opp("o6", "p1", None, created=date(2017, 7, 1), probability=0.5),
        # open, created after A: not in the pipeline, not created in W
        open_opp("o7", "p1", 4000.0, created=date(2018, 1, 1), probability=0.5),
        # won on A − L = 2016-12-31: in P, not in W
        won("o8", "p1", 700.0, created=date(2016, 6, 1), closed=date(2016, 12, 31)),
    ]


def test_counts_sums_and_rates_of_one_partner() -> None:
    result = run([partner("p1"), partner("p2")], _basic_opportunities())
    k = by_id(result, "p1").kpis

    assert k.deal_count == 3  # o1, o2, o3 won in W (o8 closed on A − L is not)
    assert k.won_amount == approx(4000.0)  # 1000 + 3000; o3's null amount skipped
    assert k.missing_amount_count == 1  # o3
    assert k.avg_deal_size == approx(2000.0)  # 4000 / 2 non-null won amounts (o3 excluded)
    assert k.pipeline_count == 2  # o5, o6 (o7 created 2018-01-01 > A)
    assert k.pipeline_value == approx(2000.0)  # 2000 + null skipped
    assert k.weighted_pipeline == approx(500.0)  # 2000 × 0.25; o6 null amount skipped
    assert k.close_rate == approx(0.75)  # 3 won / (3 won + 1 lost)
    assert k.sales_cycle_days == approx(33.0)  # (59 + 10 + 30) / 3 = 99 / 3
    # pipeline_count × close_rate × avg_deal_size / sales_cycle_days = 2 × 0.75 × 2000 / 33
    assert k.deal_velocity == approx(3000.0 / 33.0)  # ≈ 90.909
    # created in W: o1 … o6 (o7 is 2018, o8 is 2016) = 6; of them won: o1, o2, o3 = 3
    assert k.deal_success == approx(0.5)  # 3 / 6
    # won_amount(P) = 700 (o8): (4000 − 700) / 700
    assert k.won_amount_growth == approx(3300.0 / 700.0)  # ≈ 4.714


def test_all_amounts_null() -> None:
    opportunities = [
        won("n1", "p1", None, created=date(2017, 3, 1), closed=date(2017, 3, 11)),
        won("n2", "p1", None, created=date(2017, 4, 1), closed=date(2017, 4, 21)),
        open_opp("n3", "p1", None, created=date(2017, 5, 1)),
    ]
    k = by_id(run([partner("p1")], opportunities), "p1").kpis
    assert k.deal_count == 2  # n1, n2
    assert k.won_amount == 0.0  # both amounts null, skipped
    assert k.missing_amount_count == 2
    assert k.avg_deal_size is None  # 0 won-in-W with a non-null amount
    assert k.pipeline_count == 1  # n3
    assert k.pipeline_value == 0.0
    assert k.weighted_pipeline == 0.0
    assert k.close_rate == approx(1.0)  # 2 / (2 + 0)
    assert k.sales_cycle_days == approx(15.0)  # (10 + 20) / 2
    assert k.deal_velocity is None  # avg_deal_size is null


def test_window_boundaries() -> None:
    opportunities = [
        # closed on A − L = 2016-12-31: not in W, in P
        won("b1", "p1", 100.0, created=date(2016, 6, 1), closed=date(2016, 12, 31)),
        # closed on A: in W; created on A − L: not created in W; cycle 365 days
        won("b2", "p1", 10.0, created=date(2016, 12, 31), closed=date(2017, 12, 31)),
        # closed on A − 2L = 2016-01-01: in neither W nor P
        won("b3", "p1", 1000.0, created=date(2015, 6, 1), closed=date(2016, 1, 1)),
        # closed on A − 2L + 1 day: in P
        won("b4", "p1", 1.0, created=date(2015, 6, 1), closed=date(2016, 1, 2)),
        # closed on A − L + 1 day (first day of W), created the same day: cycle 0
        won("b5", "p1", 20.0, created=date(2017, 1, 1), closed=date(2017, 1, 1)),
        # lost on A − L: not in W
        lost("b6", "p1", created=date(2016, 6, 1), closed=date(2016, 12, 31)),
        # lost on A, created on A: in W, created in W
        lost("b7", "p1", created=date(2017, 12, 31), closed=date(2017, 12, 31)),
        # open, created on A: in the pipeline and created in W
        open_opp("b8", "p1", 5.0, created=date(2017, 12, 31), probability=0.5),
        # open, created the day after A: neither
        open_opp("b9", "p1", 50.0, created=date(2018, 1, 1)),
    ]
    k = by_id(run([partner("p1")], opportunities), "p1").kpis
    assert k.deal_count == 2  # b2, b5
    assert k.won_amount == approx(30.0)  # 10 + 20
    assert k.close_rate == approx(2.0 / 3.0)  # 2 won / (2 won + b7 lost)
    assert k.sales_cycle_days == approx(182.5)  # (365 + 0) / 2
    assert k.pipeline_count == 1  # b8
    assert k.pipeline_value == approx(5.0)
    assert k.weighted_pipeline == approx(2.5)  # 5 × 0.5
    # created in W: b5 (2017-01-01), b7, b8 (2017-12-31); b2 created on A − L is not; won: b5
    assert k.deal_success == approx(1.0 / 3.0)
    # won_amount(P) = b1 100 + b4 1 = 101 (b3 on A − 2L is not in P): (30 − 101) / 101
    assert k.won_amount_growth == approx(-71.0 / 101.0)


def test_window_days_setting() -> None:
    # L = 30: A − L = 2017-12-01, A − 2L = 2017-11-01.
    opportunities = [
        won("w1", "p1", 1.0, closed=date(2017, 12, 2)),  # first day of W
        won("w2", "p1", 10.0, closed=date(2017, 12, 1)),  # A − L: in P
        won("w3", "p1", 100.0, closed=date(2017, 11, 2)),  # first day of P
        won("w4", "p1", 1000.0, closed=date(2017, 11, 1)),  # A − 2L: neither
        won("w5", "p1", 10000.0, closed=date(2017, 6, 1)),  # neither
    ]
    result = run([partner("p1")], opportunities, window_days=30)
    assert result.window_days == 30
    k = by_id(result, "p1").kpis
    assert k.deal_count == 1  # w1
    assert k.won_amount == approx(1.0)
    assert k.won_amount_growth == approx((1.0 - 110.0) / 110.0)  # P = 10 + 100


# ---------------------------------------------------------------------------
# deal_velocity, deal_success, won_amount_growth
# ---------------------------------------------------------------------------


def test_deal_velocity_null_when_cycle_not_positive_and_zero_without_pipeline() -> None:
    opportunities = [
        # zero: same-day win, cycle 0 → velocity null
        won("z1", "zero", 100.0, created=date(2017, 5, 1), closed=date(2017, 5, 1)),
        open_opp("z2", "zero", 100.0, created=date(2017, 6, 1)),
        # negative: closed 9 days before created → cycle −9 (kept and scored) → velocity null
        won("n1", "negative", 100.0, created=date(2017, 5, 10), closed=date(2017, 5, 1)),
        open_opp("n2", "negative", 100.0, created=date(2017, 6, 1)),
        # nopipe: cycle 10 days, no open deal → 0 × 1.0 × 100 / 10 = 0 (not null)
        won("q1", "nopipe", 100.0, created=date(2017, 5, 1), closed=date(2017, 5, 11)),
        # onlypipe: open deals, nothing closed → close_rate null → velocity null
        open_opp("r1", "onlypipe", 100.0, created=date(2017, 6, 1)),
    ]
    partners = [partner(p) for p in ("zero", "negative", "nopipe", "onlypipe")]
    result = run(partners, opportunities)

    zero = by_id(result, "zero").kpis
    assert zero.sales_cycle_days == approx(0.0)
    assert zero.deal_velocity is None

    negative = by_id(result, "negative").kpis
    assert negative.sales_cycle_days == approx(-9.0)  # 2017-05-01 − 2017-05-10
    assert negative.deal_velocity is None

    nopipe = by_id(result, "nopipe").kpis
    assert nopipe.pipeline_count == 0
    assert nopipe.deal_velocity == approx(0.0)

    onlypipe = by_id(result, "onlypipe").kpis
    assert onlypipe.close_rate is None  # no closed in W
    assert onlypipe.sales_cycle_days is None  # no won in W
    assert onlypipe.deal_velocity is None


def test_deal_success_counts_the_status_at_a() -> None:
    opportunities = [
        # created in W: 1 won after A (open at A: KPIS.md "Status as of A"), 1 won in W,
        # 1 lost, 2 open → 1 / 5
        won("d1", "p1", 10.0, created=date(2017, 3, 1), closed=date(2018, 2, 1)),
        won("d6", "p1", 10.0, created=date(2017, 5, 1), closed=date(2017, 6, 1)),
        lost("d2", "p1", created=date(2017, 3, 1), closed=date(2017, 4, 1)),
        open_opp("d3", "p1", 10.0, created=date(2017, 3, 1)),
        open_opp("d4", "p1", 10.0, created=date(2017, 9, 1)),
        # created in P, won in W: not in deal_success
        won("d5", "p1", 10.0, created=date(2016, 9, 1), closed=date(2017, 2, 1)),
        # p2: nothing created in W → null
        won("e1", "p2", 10.0, created=date(2016, 9, 1), closed=date(2017, 2, 1)),
    ]
    result = run([partner("p1"), partner("p2")], opportunities)
    assert by_id(result, "p1").kpis.deal_success == approx(0.2)  # d6 / {d1, d2, d3, d4, d6}
    assert by_id(result, "p1").kpis.deal_count == 2  # d5 and d6: d1 closed after A is not in W
    assert by_id(result, "p2").kpis.deal_success is None


def test_won_amount_growth_null_when_prior_won_amount_is_zero() -> None:
    opportunities = [
        # nothing won in P
        won("a1", "none_in_p", 100.0, closed=date(2017, 3, 1)),
        # won in P, but with a null amount → won_amount(P) = 0
        won("b1", "null_in_p", 100.0, closed=date(2017, 3, 1)),
        won("b2", "null_in_p", None, closed=date(2016, 3, 1)),
        # lost in P only
        won("c1", "lost_in_p", 100.0, closed=date(2017, 3, 1)),
        lost("c2", "lost_in_p", amount=50.0, closed=date(2016, 3, 1)),
        # 200 in P, nothing in W: (0 − 200) / 200
        won("d1", "fell", 200.0, closed=date(2016, 3, 1)),
    ]
    partners = [partner(p) for p in ("none_in_p", "null_in_p", "lost_in_p", "fell")]
    result = run(partners, opportunities)
    assert by_id(result, "none_in_p").kpis.won_amount_growth is None
    assert by_id(result, "null_in_p").kpis.won_amount_growth is None
    assert by_id(result, "lost_in_p").kpis.won_amount_growth is None
    assert by_id(result, "fell").kpis.won_amount_growth == approx(-1.0)


# ---------------------------------------------------------------------------
# new_revenue
# ---------------------------------------------------------------------------


def test_new_revenue() -> None:
    opportunities = [
        # C1: Y won before the window → X's win in W is not new
        won("y1", "Y", 50.0, closed=date(2016, 5, 1), account="C1"),
        won("x1", "X", 100.0, closed=date(2017, 3, 1), account="C1"),
        # C2: x2 is C2's first win (new, 200); x3 later (not new)
        won("x3", "X", 300.0, closed=date(2017, 6, 1), account="C2"),
        won("x2", "X", 200.0, closed=date(2017, 4, 1), account="C2"),
        # C3: two first wins on the same date, one per partner: both new (no id decides)
        won("n-b", "X", 400.0, closed=date(2017, 7, 1), account="C3"),
        won("n-a", "Y", 40.0, closed=date(2017, 7, 1), account="C3"),
        # C4: an earlier *lost* deal does not count → x6 new (500)
        lost("x5", "X", amount=999.0, closed=date(2016, 1, 1), account="C4"),
        won("x6", "X", 500.0, closed=date(2017, 8, 1), account="C4"),
        # no customer → skipped
        won("x7", "X", 700.0, closed=date(2017, 9, 1), account=None),
        # C5: earlier win with a null amount (new, adds nothing) makes x9 not new
        won("x8", "X", None, closed=date(2017, 10, 1), account="C5"),
        won("x9", "X", 800.0, closed=date(2017, 11, 1), account="C5"),
        # C7: same partner, same first date: n-c (60) and n-d (70) both new
        won("n-d", "X", 70.0, closed=date(2017, 9, 15), account="C7"),
        won("n-c", "X", 60.0, closed=date(2017, 9, 15), account="C7"),
    ]
    result = run([partner("X"), partner("Y")], opportunities)
    # KPIS.md: every win on the customer's first winning date counts
    # x2 200 + n-b 400 + x6 500 + n-c 60 + n-d 70
    assert by_id(result, "X").kpis.new_revenue == approx(1230.0)
    assert by_id(result, "Y").kpis.new_revenue == approx(40.0)  # n-a (y1 is not won in W)
    # won_amount is unaffected: 100+300+200+400+500+700+800+70+60 = 3130
    assert by_id(result, "X").kpis.won_amount == approx(3130.0)


# ---------------------------------------------------------------------------
# Channels and top_channel
# ---------------------------------------------------------------------------


def _channel_opportunities() -> list[Opportunity]:
    return [
        won("t1", "T", 100.0, closed=date(2017, 3, 1), lead_source="Paid Search"),  # paid
        won("t2", "T", 100.0, closed=date(2017, 3, 2), lead_source="Web"),  # owned
        lost("t3", "T", closed=date(2017, 3, 3), lead_source="Web"),  # owned
        won("t4", "T", 50.0, closed=date(2017, 3, 4), lead_source="Referral"),  # earned
        won("t5", "T", 30.0, closed=date(2017, 3, 5), lead_source=None),  # unknown
        won("t6", "T", 20.0, closed=date(2017, 3, 6), lead_source="Carrier pigeon"),  # other
        lost("t7", "T", closed=date(2017, 3, 7), lead_source="Carrier pigeon"),  # other
        # P, not W: ignored by the channel figures
        won("t8", "T", 9999.0, closed=date(2016, 3, 1), lead_source="Webinar"),
        # U: only a lost deal
        lost("u1", "U", closed=date(2017, 3, 1), lead_source="Email"),
        # V: one clear winner
        won("v1", "V", 100.0, closed=date(2017, 3, 1), lead_source="Advertisement"),
        won("v2", "V", 500.0, closed=date(2017, 3, 1), lead_source="Trade Show"),
    ]


def test_channel_map_and_figures() -> None:
    result = run([partner("T"), partner("U"), partner("V")], _channel_opportunities())
    t = by_id(result, "T").kpis
    assert set(t.channels) == ALL_GROUPS
    ch = {g: (f.won_count, f.won_amount, f.close_rate) for g, f in t.channels.items()}
    assert ch["paid"] == (1, approx(100.0), approx(1.0))  # t1: 1 / 1
    assert ch["owned"] == (1, approx(100.0), approx(0.5))  # t2 won, t3 lost: 1 / 2
    assert ch["earned"] == (1, approx(50.0), approx(1.0))  # t4
    assert ch["unknown"] == (1, approx(30.0), approx(1.0))  # t5: null lead source
    assert ch["other"] == (1, approx(20.0), approx(0.5))  # t6 won, t7 lost: unmapped value
    # paid 100 and owned 100 tie: alphabetical → "owned" < "paid"
    assert t.top_channel == "owned"

    u = by_id(result, "U").kpis
    assert set(u.channels) == ALL_GROUPS
    assert u.top_channel is None  # no won in W
    assert u.channels["owned"].won_count == 0
    assert u.channels["owned"].won_amount == 0.0
    assert u.channels["owned"].close_rate == approx(0.0)  # 0 won / 1 lost
    assert u.channels["paid"].close_rate is None  # nothing closed in paid

    v = by_id(result, "V").kpis
    assert v.top_channel == "earned"  # earned 500 > paid 100


def test_custom_channel_map() -> None:
    channel_map = {**DEFAULT_CHANNEL_MAP, "Carrier pigeon": "earned"}
    result = run([partner("T")], _channel_opportunities(), channel_map=channel_map)
    t = by_id(result, "T").kpis
    # earned: t4 won 50, t6 won 20, t7 lost → 2 won, 70, 2 / 3
    assert t.channels["earned"].won_count == 2
    assert t.channels["earned"].won_amount == approx(70.0)
    assert t.channels["earned"].close_rate == approx(2.0 / 3.0)
    assert t.channels["other"].won_count == 0
    assert t.channels["other"].close_rate is None


def test_top_channel_tie_between_earned_and_owned() -> None:
    opportunities = [
        won("a", "p1", 75.0, closed=date(2017, 3, 1), lead_source="Email"),  # owned
        won("b", "p1", 75.0, closed=date(2017, 3, 1), lead_source="Word of mouth"),  # earned
        won("c", "p1", 70.0, closed=date(2017, 3, 1), lead_source="Paid Social"),  # paid
    ]
    # earned 75 = owned 75 > paid 70: alphabetical → "earned"
    assert by_id(run([partner("p1")], opportunities), "p1").kpis.top_channel == "earned"


# ---------------------------------------------------------------------------
# stage_days
# ---------------------------------------------------------------------------


def test_stage_days() -> None:
    opportunities = [
        won("s1", "S", 10.0, created=date(2017, 6, 1), closed=date(2017, 6, 10)),
        lost("s2", "S", created=date(2017, 6, 20), closed=date(2017, 7, 1)),
        won("s3", "S", 10.0, created=date(2016, 5, 1), closed=date(2016, 6, 1)),  # not in W
        open_opp("s4", "S", 10.0, created=date(2017, 3, 1)),  # open
        won("s5", "S", 10.0, created=date(2017, 8, 1), closed=date(2017, 8, 2)),  # no events
    ]
    events = [
        # s1: A 06-01 → B 06-04 → A 06-06 → C 06-10: A = 3 + 4 = 7 (summed), B = 2, C never left
        event("s1", "C", date(2017, 6, 10)),
        event("s1", "A", date(2017, 6, 6)),
        event("s1", "B", date(2017, 6, 4)),
        event("s1", "A", date(2017, 6, 1)),
        # s2: same day, sequence decides: A (seq 0) → B (seq 1) on 06-20 → C 07-01
        #     A = 0, B = 11, C never left
        event("s2", "B", date(2017, 6, 20), 1),
        event("s2", "C", date(2017, 7, 1), 0),
        event("s2", "A", date(2017, 6, 20), 0),
        # s3 closed before W, s4 open: ignored
        event("s3", "A", date(2016, 5, 1)),
        event("s3", "B", date(2016, 5, 31)),
        event("s3", "D", date(2016, 6, 1)),
        event("s4", "A", date(2017, 3, 1)),
        event("s4", "D", date(2017, 4, 1)),
    ]
    stage_days = by_id(run([partner("S")], opportunities, events), "S").kpis.stage_days
    assert stage_days == {
        "A": approx(3.5),  # mean over s1, s2 of (7, 0) = 7 / 2
        "B": approx(6.5),  # mean of (2, 11) = 13 / 2
    }  # C never left; D only on opportunities not closed in W


def test_a_row_that_repeats_the_stage_before_it_is_not_an_entry() -> None:
    """KPIS.md "Inputs": entries ordered by when they happened, whatever order the rows
    come in; a history row that repeats the stage before it is not an entry."""
    opportunities = [
        won("r1", "R", 10.0, created=date(2017, 6, 1), closed=date(2017, 6, 12)),
        lost("r2", "R", created=date(2017, 6, 20), closed=date(2017, 7, 1)),
    ]
    events = [
        # r1 in time order: A 06-01, A 06-03 (repeat), B 06-05, C 06-10, C 06-12 (repeat)
        #     entries A → B → C: A = 4, B = 5, C never left (the repeat is no second entry)
        event("r1", "C", date(2017, 6, 12), 4),
        event("r1", "B", date(2017, 6, 5), 2),
        event("r1", "A", date(2017, 6, 3), 1),
        event("r1", "C", date(2017, 6, 10), 3),
        event("r1", "A", date(2017, 6, 1), 0),
        # r2, one day ordered by sequence: A (0), B (1), B (2, repeat); C 07-01
        #     entries A → B → C: A = 0, B = 11, C never left
        event("r2", "B", date(2017, 6, 20), 2),
        event("r2", "C", date(2017, 7, 1), 3),
        event("r2", "A", date(2017, 6, 20), 0),
        event("r2", "B", date(2017, 6, 20), 1),
    ]
    stage_days = by_id(run([partner("R")], opportunities, events), "R").kpis.stage_days
    assert stage_days == {"A": approx(2.0), "B": approx(8.0)}  # (4 + 0) / 2, (5 + 11) / 2


def test_the_stage_at_a_is_the_last_entry_in_time_order_whatever_the_row_order() -> None:
    opportunities = [
        # won after A; on A it stood in Engaging (entered twice the same day, the second
        # time after Prospecting: sequence orders the day)
        won("t1", "T", 1000.0, created=date(2017, 3, 1), closed=date(2017, 9, 1)),
    ]
    events = [
        event("t1", "Won", date(2017, 9, 1), 4),
        event("t1", "Engaging", date(2017, 4, 1), 2),
        event("t1", "Engaging", date(2017, 4, 2), 3),  # a repeat: not an entry
        event("t1", "Prospecting", date(2017, 4, 1), 1),
        event("t1", "Engaging", date(2017, 4, 1), 0),
    ]
    result = score_partners(
        [partner("T")], opportunities, events,
        as_of=PAST, settings=ScoringSettings(), stage_defs=STAGES,
    )  # fmt: skip
    assert by_id(result, "T").kpis.weighted_pipeline == approx(500.0)  # 1000 × Engaging 0.5


# ---------------------------------------------------------------------------
# (no partner), unlisted partners, partner without opportunities
# ---------------------------------------------------------------------------


def test_no_partner_bucket_is_reported_not_scored() -> None:
    opportunities = [
        won("np1", None, 100.0, created=date(2017, 2, 1), closed=date(2017, 2, 21)),
        won("np2", None, None, created=date(2017, 2, 1), closed=date(2017, 3, 3)),
        lost("np3", None, closed=date(2017, 4, 1)),
        open_opp("np4", None, 50.0, created=date(2017, 5, 1), probability=0.2),
        won("g1", "ghost", 100.0, closed=date(2017, 4, 1)),  # partner not listed
        won("p1", "P", 10.0, closed=date(2017, 4, 1)),
        lost("p2", "P", closed=date(2017, 4, 1)),
    ]
    result = run([partner("P", "Partner P")], opportunities)
    assert [p.partner_id for p in result.partners] == ["P"]
    assert all(p.partner_id != NO_PARTNER for p in result.partners)
    assert result.portfolio.partner_count == 1
    assert result.portfolio.unlisted_partner_opportunity_count == 1  # g1

    np = result.portfolio.no_partner
    assert np.deal_count == 2  # np1, np2
    assert np.won_amount == approx(100.0)  # np2 null skipped
    assert np.missing_amount_count == 1
    assert np.avg_deal_size == approx(100.0)  # 100 / 1
    assert np.close_rate == approx(2.0 / 3.0)  # 2 / (2 + 1)
    assert np.sales_cycle_days == approx(25.0)  # (20 + 30) / 2
    assert np.pipeline_count == 1
    assert np.pipeline_value == approx(50.0)
    assert np.weighted_pipeline == approx(10.0)  # 50 × 0.2
    assert set(np.channels) == ALL_GROUPS
    assert np.channels["unknown"].won_count == 2

    # m comes from listed partners only: P 1 won / 2 closed (not np*, not g1)
    assert result.portfolio.close_rate == approx(0.5)
    # a single partner: pct 0.5 everywhere → 100 × 0.5 = 50.0 → Gold
    assert by_id(result, "P").score == 50.0
    assert by_id(result, "P").partner_name == "Partner P"


def test_partner_without_opportunities_ranks_last_everywhere() -> None:
    partners, opportunities = _four_partners()
    d = by_id(run(partners, opportunities), "D")
    k = d.kpis
    assert k.deal_count == 0
    assert k.won_amount == 0.0
    assert k.missing_amount_count == 0
    assert k.avg_deal_size is None
    assert k.pipeline_count == 0
    assert k.pipeline_value == 0.0
    assert k.weighted_pipeline == 0.0
    assert k.close_rate is None
    assert k.sales_cycle_days is None
    assert k.deal_velocity is None
    assert k.deal_success is None
    # 100 × mean(pct(deal_count = 0), pct(won_amount = 0)); both lowest of 4 → 0
    assert k.quality_score == approx(0.0)
    assert k.new_revenue == 0.0
    assert k.won_amount_growth is None
    assert k.top_channel is None
    assert k.stage_days == {}
    assert set(k.channels) == ALL_GROUPS
    assert all(f.won_count == 0 and f.close_rate is None for f in k.channels.values())

    assert set(d.components) == set(COMPONENTS)
    assert all(v is None for v in d.components.values())
    assert d.percentiles == dict.fromkeys(COMPONENTS, 0.0)  # strictly lowest of 4 everywhere
    assert d.score == 0.0
    assert d.tier == "Bronze"


def test_a_partner_whose_opportunities_are_all_created_after_a_ranks_last_everywhere() -> None:
    """KPIS.md "Composite score": no opportunity that exists at A → every component null,
    last on each; its quality_score column is still computed, ties included."""
    opportunities = [
        won("x1", "X", 9000.0, created=date(2018, 1, 2), closed=date(2018, 1, 5)),  # after A
        lost("y1", "Y", created=date(2017, 3, 1), closed=date(2017, 4, 1)),
        won("z1", "Z", 100.0, created=date(2017, 3, 1), closed=date(2017, 5, 1)),
    ]
    result = run([partner("X"), partner("Y"), partner("Z")], opportunities)
    x, y, z = (by_id(result, pid) for pid in ("X", "Y", "Z"))
    assert all(value is None for value in x.components.values())
    for name in COMPONENTS:
        for other in (y, z):
            assert x.percentiles[name] <= other.percentiles[name], name
            if other.components[name] is not None:
                assert x.percentiles[name] < other.percentiles[name], (name, other.partner_id)
    # deal_count (0, 0, 1) and won_amount (0, 0, 100): X and Y tie below Z at
    # (0 + 0.5 × (2 − 1)) / 2 = 0.25 each → 100 × 0.25
    assert x.kpis.quality_score == approx(25.0)
    assert y.kpis.quality_score == approx(25.0)
    assert x.score < y.score < z.score


# ---------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------


def _tie_partners() -> tuple[list[Partner], list[Opportunity]]:
    partners = [partner(p) for p in "ABCDEF"]
    opportunities = [
        won("a1", "A", 10.0, closed=date(2017, 3, 1)),
        won("a2", "A", 10.0, closed=date(2017, 3, 2)),
        won("b1", "B", 50.0, closed=date(2017, 3, 1)),
        won("c1", "C", 5.0, closed=date(2017, 3, 1)),
        lost("d1", "D", closed=date(2017, 3, 1)),
        # E and F: no opportunities
    ]
    return partners, opportunities


def test_ranking_ties_are_averaged_and_nulls_rank_lowest() -> None:
    result = run(*_tie_partners())
    dc = {p.partner_id: p.components["deal_count"] for p in result.partners}
    assert dc == {"A": 2, "B": 1, "C": 1, "D": 0, "E": None, "F": None}
    pct = {p.partner_id: p.percentiles["deal_count"] for p in result.partners}
    # n = 6, n − 1 = 5; pct = (count(v < x) + 0.5 × (count(v = x) − 1)) / 5
    assert pct["A"] == approx(1.0)  # (5 + 0) / 5
    assert pct["B"] == approx(0.7)  # (3 + 0.5 × 1) / 5: below are D, E, F
    assert pct["C"] == approx(0.7)
    assert pct["D"] == approx(0.4)  # (2 + 0) / 5: the two nulls rank below 0
    assert pct["E"] == approx(0.1)  # (0 + 0.5 × 1) / 5: nulls tie with each other
    assert pct["F"] == approx(0.1)


def test_quality_score_kpi() -> None:
    result = run(*_tie_partners())
    q = {p.partner_id: p.kpis.quality_score for p in result.partners}
    # pct(deal_count) over 6 (values 2, 1, 1, 0, 0, 0): A 5/5 = 1.0, B = C = (3 + 0.5)/5 = 0.7,
    #   D = E = F = (0 + 0.5 × 2)/5 = 0.2
    # pct(won_amount) (values 20, 50, 5, 0, 0, 0): B 1.0, A 4/5 = 0.8, C 3/5 = 0.6,
    #   D = E = F = 0.2
    assert q["A"] == approx(90.0)  # 100 × (1.0 + 0.8) / 2
    assert q["B"] == approx(85.0)  # 100 × (0.7 + 1.0) / 2
    assert q["C"] == approx(65.0)  # 100 × (0.7 + 0.6) / 2
    # deal_count and won_amount are never null (0), so D, E and F tie at 0:
    assert q["D"] == approx(20.0)  # 100 × (0.2 + 0.2) / 2
    assert q["E"] == approx(20.0)
    # … but E and F (no opportunities) still rank last on the quality component
    assert by_id(result, "E").components["quality_score"] is None
    assert by_id(result, "F").components["quality_score"] is None
    pct = {p.partner_id: p.percentiles["quality_score"] for p in result.partners}
    # components A 90, B 85, C 65, D 20, E null, F null; n − 1 = 5
    assert pct == {
        "A": approx(1.0),  # 5 / 5
        "B": approx(0.8),  # 4 / 5
        "C": approx(0.6),  # 3 / 5
        "D": approx(0.4),  # 2 / 5: only the two nulls below
        "E": approx(0.1),  # (0 + 0.5 × 1) / 5
        "F": approx(0.1),
    }


def test_lower_is_better_is_negated() -> None:
    opportunities = [
        won("x", "X", 10.0, created=date(2017, 3, 1), closed=date(2017, 3, 11)),  # 10 days
        won("y", "Y", 10.0, created=date(2017, 3, 1), closed=date(2017, 3, 21)),  # 20 days
        lost("z", "Z", closed=date(2017, 3, 1)),  # no won → null
    ]
    result = run([partner(p) for p in "XYZ"], opportunities)
    comp = {p.partner_id: p.components["sales_cycle_days"] for p in result.partners}
    assert comp == {"X": approx(10.0), "Y": approx(20.0), "Z": None}
    pct = {p.partner_id: p.percentiles["sales_cycle_days"] for p in result.partners}
    # negated: −10 > −20 > null; n − 1 = 2
    assert pct == {"X": approx(1.0), "Y": approx(0.5), "Z": approx(0.0)}


def test_exactly_one_partner() -> None:
    result = run([partner("p1")], _basic_opportunities())
    (solo,) = result.partners
    # pct = 0.5 when n = 1, for every component
    assert solo.percentiles == dict.fromkeys(COMPONENTS, 0.5)
    assert solo.score == 50.0  # 100 × (8 × 0.5) / 8
    assert solo.tier == "Gold"  # ≥ 50
    assert result.portfolio.tier_counts.get("Gold", 0) == 1


# ---------------------------------------------------------------------------
# Shrinkage
# ---------------------------------------------------------------------------


def _shrinkage_data() -> tuple[list[Partner], list[Opportunity]]:
    feb, mar = date(2017, 2, 1), date(2017, 3, 1)
    opportunities = [
        # P1: 3 won, 1 lost, all created in W
        won("a1", "P1", 100.0, created=feb, closed=mar),
        won("a2", "P1", 100.0, created=feb, closed=mar),
        won("a3", "P1", 100.0, created=feb, closed=mar),
        lost("a4", "P1", created=feb, closed=mar),
        # P2: 2 lost, created in W
        lost("b1", "P2", created=feb, closed=mar),
        lost("b2", "P2", created=feb, closed=mar),
        # P3: 1 won in W, created in P
        won("c1", "P3", 100.0, created=date(2016, 6, 1), closed=feb),
        # P4: open only (one created in W, one in P)
        open_opp("d1", "P4", 100.0, created=date(2017, 5, 1)),
        open_opp("d2", "P4", 100.0, created=date(2016, 5, 1)),
        # not listed partners: do not change m
        *[won(f"n{i}", None, 100.0, created=feb, closed=mar) for i in range(5)],
        *[lost(f"g{i}", "ghost", created=feb, closed=mar) for i in range(3)],
    ]
    return [partner(p) for p in ("P1", "P2", "P3", "P4")], opportunities


def test_shrinkage_with_portfolio_prior() -> None:
    result = run(*_shrinkage_data())
    # m (close rate) = (3 + 0 + 1 + 0) won / (4 + 2 + 1 + 0) closed = 4/7; k·m = 40/7
    assert result.portfolio.close_rate == approx(4.0 / 7.0)
    # m (deal success): created in W P1 4, P2 2, P3 0, P4 1 = 7; won among them 3 → 3/7
    assert result.portfolio.deal_success == approx(3.0 / 7.0)
    assert result.portfolio.unlisted_partner_opportunity_count == 3

    cra = {p.partner_id: p.components["close_rate_adj"] for p in result.partners}
    assert cra["P1"] == approx(61.0 / 98.0)  # (3 + 40/7) / (4 + 10) = (61/7) / 14
    assert cra["P2"] == approx(10.0 / 21.0)  # (0 + 40/7) / (2 + 10) = 40/84
    assert cra["P3"] == approx(47.0 / 77.0)  # (1 + 40/7) / (1 + 10) = (47/7) / 11
    assert cra["P4"] == approx(4.0 / 7.0)  # (0 + 40/7) / (0 + 10): no closed → m
    assert by_id(result, "P4").kpis.close_rate is None  # the raw KPI stays null

    dsa = {p.partner_id: p.components["deal_success_adj"] for p in result.partners}
    # k·m = 10 × 3/7 = 30/7
    assert dsa["P1"] == approx(51.0 / 98.0)  # (3 + 30/7) / (4 + 10) = (51/7) / 14
    assert dsa["P2"] == approx(5.0 / 14.0)  # (0 + 30/7) / (2 + 10) = 30/84
    assert dsa["P3"] == approx(3.0 / 7.0)  # (0 + 30/7) / (0 + 10)
    assert dsa["P4"] == approx(30.0 / 77.0)  # (0 + 30/7) / (1 + 10)

    # P2 0.476 < P4 0.571 < P3 0.610 < P1 0.622 → 0, 1/3, 2/3, 1
    pct = {p.partner_id: p.percentiles["close_rate_adj"] for p in result.partners}
    assert pct == {"P1": approx(1.0), "P2": 0.0, "P3": approx(2 / 3), "P4": approx(1 / 3)}
    # P2 0.357 < P4 0.390 < P3 0.429 < P1 0.520
    pct = {p.partner_id: p.percentiles["deal_success_adj"] for p in result.partners}
    assert pct == {"P1": approx(1.0), "P2": 0.0, "P3": approx(2 / 3), "P4": approx(1 / 3)}


def test_prior_strength_zero_turns_shrinkage_off() -> None:
    result = run(*_shrinkage_data(), prior_strength=0)
    cra = {p.partner_id: p.components["close_rate_adj"] for p in result.partners}
    # (won + 0) / (closed + 0): the raw close rate; 0 / 0 → null
    assert cra == {"P1": approx(0.75), "P2": approx(0.0), "P3": approx(1.0), "P4": None}
    dsa = {p.partner_id: p.components["deal_success_adj"] for p in result.partners}
    assert dsa == {"P1": approx(0.75), "P2": approx(0.0), "P3": None, "P4": approx(0.0)}


# ---------------------------------------------------------------------------
# Composite score, tiers, drivers, weights
# ---------------------------------------------------------------------------


def _four_partners() -> tuple[list[Partner], list[Opportunity]]:
    """A, B, C with distinct profiles, D with no opportunities.

    KPIs (k = 10):
      A: won 2 × 1000 (cycle 10), 1 open 500 → avg 1000, pipeline 1 / 500, close_rate 1,
         velocity 1 × 1 × 1000 / 10 = 100, created in W 3 (2 won) → deal_success 2/3
      B: won 1 × 3000 (cycle 60), 1 lost, 2 open 2000 + 1000 → avg 3000, pipeline 2 / 3000,
         close_rate 1/2, velocity 2 × 0.5 × 3000 / 60 = 50, created in W 4 (1 won) → 1/4
      C: won 3 × 100 (cycle 5), 2 lost, no open → avg 100, pipeline 0 / 0, close_rate 3/5,
         velocity 0, created in W 5 (3 won) → 3/5
      D: nothing
    m = (2 + 1 + 3) / (2 + 2 + 5) = 2/3, k·m = 20/3
      close_rate_adj: A (2 + 20/3)/12 = 13/18 ≈ .722, B (1 + 20/3)/12 = 23/36 ≈ .639,
                      C (3 + 20/3)/15 = 29/45 ≈ .644
    m_ds = (2 + 1 + 3) / (3 + 4 + 5) = 1/2, k·m = 5
      deal_success_adj: A 7/13 ≈ .538, B 6/14 ≈ .429, C 8/15 ≈ .533
    quality: pct(deal_count) A 2/3, B 1/3, C 1, D 0; pct(won_amount) A 2/3, B 1, C 1/3, D 0
      → A = B = C = 100 × (2/3 + 2/3)/2 = 200/3, D 0

    pct (n − 1 = 3; in thirds)   avg  cnt  pipe  cra  vel  qual  dsa  cycle(↓)  Σ
      A                           2    2    2     3    3    2     3    2        19
      B                           3    1    3     1    2    2     1    1        14
      C                           1    3    1     2    1    2     2    3        15
      D                           0    0    0     0    0    0     0    0         0
    (quality: A, B, C tie → (1 + 0.5 × 2) / 3 = 2/3; cycle: C 5 < A 10 < B 60, D null)
    """
    opportunities = [
        won("a1", "A", 1000.0, created=date(2017, 3, 1), closed=date(2017, 3, 11)),
        won("a2", "A", 1000.0, created=date(2017, 3, 1), closed=date(2017, 3, 11)),
        open_opp("a3", "A", 500.0, created=date(2017, 6, 1)),
        # 2017-01-01 → 2017-03-02 = 31 + 28 + 1 = 60 days
        won("b1", "B", 3000.0, created=date(2017, 1, 1), closed=date(2017, 3, 2)),
        lost("b2", "B", created=date(2017, 2, 1), closed=date(2017, 4, 1)),
        open_opp("b3", "B", 2000.0, created=date(2017, 5, 1)),
        open_opp("b4", "B", 1000.0, created=date(2017, 5, 1)),
        won("c1", "C", 100.0, created=date(2017, 7, 1), closed=date(2017, 7, 6)),
        won("c2", "C", 100.0, created=date(2017, 7, 1), closed=date(2017, 7, 6)),
        won("c3", "C", 100.0, created=date(2017, 7, 1), closed=date(2017, 7, 6)),
        lost("c4", "C", created=date(2017, 7, 1), closed=date(2017, 8, 1)),
        lost("c5", "C", created=date(2017, 7, 1), closed=date(2017, 8, 1)),
    ]
    return [partner(p) for p in "ABCD"], opportunities


def _pcts(result: ScoringResult, partner_id: str) -> dict[str, float]:
    return by_id(result, partner_id).percentiles


def test_composite_components_and_percentiles() -> None:
    result = run(*_four_partners())
    a, b, c = by_id(result, "A"), by_id(result, "B"), by_id(result, "C")
    assert a.components == {
        "avg_deal_size": approx(1000.0),
        "deal_count": 2,
        "pipeline_value": approx(500.0),
        "close_rate_adj": approx(13.0 / 18.0),
        "deal_velocity": approx(100.0),
        "quality_score": approx(200.0 / 3.0),
        "deal_success_adj": approx(7.0 / 13.0),
        "sales_cycle_days": approx(10.0),
    }
    assert b.components == {
        "avg_deal_size": approx(3000.0),
        "deal_count": 1,
        "pipeline_value": approx(3000.0),
        "close_rate_adj": approx(23.0 / 36.0),
        "deal_velocity": approx(50.0),
        "quality_score": approx(200.0 / 3.0),
        "deal_success_adj": approx(6.0 / 14.0),
        "sales_cycle_days": approx(60.0),
    }
    assert c.components == {
        "avg_deal_size": approx(100.0),
        "deal_count": 3,
        "pipeline_value": 0.0,
        "close_rate_adj": approx(29.0 / 45.0),
        "deal_velocity": 0.0,
        "quality_score": approx(200.0 / 3.0),
        "deal_success_adj": approx(8.0 / 15.0),
        "sales_cycle_days": approx(5.0),
    }
    thirds = {
        "A": (2, 2, 2, 3, 3, 2, 3, 2),
        "B": (3, 1, 3, 1, 2, 2, 1, 1),
        "C": (1, 3, 1, 2, 1, 2, 2, 3),
    }
    for pid, row in thirds.items():
        expected = {name: approx(t / 3) for name, t in zip(COMPONENTS, row, strict=True)}
        assert _pcts(result, pid) == expected, pid


def test_composite_score_rounding_tier_and_order() -> None:
    result = run(*_four_partners())
    scores = {p.partner_id: p.score for p in result.partners}
    assert scores == {
        "A": 79.2,  # 100 × (19/3) / 8 = 79.166… → 79.2
        "B": 58.3,  # 100 × (14/3) / 8 = 58.333… → 58.3
        "C": 62.5,  # 100 × (15/3) / 8 = 62.5
        "D": 0.0,
    }
    tiers = {p.partner_id: p.tier for p in result.partners}
    assert tiers == {"A": "Platinum", "B": "Gold", "C": "Gold", "D": "Bronze"}
    assert [p.partner_id for p in result.partners] == ["A", "C", "B", "D"]  # score desc
    counts = result.portfolio.tier_counts
    assert {t: counts.get(t, 0) for t in TIERS} == {
        "Platinum": 1,
        "Gold": 2,
        "Silver": 0,
        "Bronze": 1,
    }
    assert result.portfolio.partner_count == 4


def _high_low() -> tuple[list[Partner], list[Opportunity]]:
    """Two partners; H beats L on six components, L beats H on two.

    H: won 2 × 1000 (cycle 30), open 50 + 50, all created in W
    L: won 1 × 500 (cycle 10), lost 1, open 5000, all created in W
      avg H 1000 > L 500; count 2 > 1; pipeline L 5000 > H 100;
      m = 3 / 4 → cra H (2 + 7.5)/12 = .792 > L (1 + 7.5)/12 = .708;
      velocity H 2 × 1 × 1000 / 30 = 66.7 > L 1 × 0.5 × 500 / 10 = 25;
      quality H 100 > L 0; m_ds = 3/7 → dsa H (2 + 30/7)/14 = .449 > L (1 + 30/7)/13 = .407;
      cycle L 10 < H 30 (better)
    """
    opportunities = [
        won("h1", "H", 1000.0, created=date(2017, 4, 1), closed=date(2017, 5, 1)),
        won("h2", "H", 1000.0, created=date(2017, 4, 1), closed=date(2017, 5, 1)),
        open_opp("h3", "H", 50.0, created=date(2017, 6, 1)),
        open_opp("h4", "H", 50.0, created=date(2017, 6, 1)),
        won("l1", "L", 500.0, created=date(2017, 4, 1), closed=date(2017, 4, 11)),
        lost("l2", "L", created=date(2017, 4, 1), closed=date(2017, 5, 1)),
        open_opp("l3", "L", 5000.0, created=date(2017, 6, 1)),
    ]
    return [partner("H"), partner("L")], opportunities


def test_default_tier_thresholds_are_inclusive() -> None:
    result = run(*_high_low())
    h, low = by_id(result, "H"), by_id(result, "L")
    assert h.score == 75.0  # 100 × 6 / 8
    assert h.tier == "Platinum"  # ≥ 75
    assert low.score == 25.0  # 100 × 2 / 8
    assert low.tier == "Silver"  # ≥ 25
    assert set(h.drivers.weak) == {"pipeline_value", "sales_cycle_days"}  # pct 0; others 1
    assert set(low.drivers.strong) == {"pipeline_value", "sales_cycle_days"}  # pct 1


def test_custom_tier_thresholds_apply_to_the_rounded_score() -> None:
    tiers = TierThresholds(platinum=79.2, gold=62.5, silver=58.33)
    result = run(*_four_partners(), tiers=tiers)
    got = {p.partner_id: p.tier for p in result.partners}
    # A 79.166… rounds to 79.2 ≥ 79.2 → Platinum; C 62.5 ≥ 62.5 → Gold;
    # B 58.333… rounds to 58.3 < 58.33 → Bronze; D 0 → Bronze
    assert got == {"A": "Platinum", "B": "Bronze", "C": "Gold", "D": "Bronze"}


def test_drivers_default_weights() -> None:
    result = run(*_four_partners())
    b, c = by_id(result, "B"), by_id(result, "C")
    assert len(b.drivers.strong) == 2 and len(b.drivers.weak) == 2
    # B in thirds: avg 3, pipe 3 highest (next 2)
    assert set(b.drivers.strong) == {"avg_deal_size", "pipeline_value"}
    # C in thirds: count 3, cycle 3 highest (next 2)
    assert set(c.drivers.strong) == {"deal_count", "sales_cycle_days"}


def test_drivers_and_score_with_custom_weights() -> None:
    w = {name: float(i) for i, name in enumerate(COMPONENTS, start=1)}  # 1 … 8, Σ = 36
    result = run(*_four_partners(), weights=w)
    a, b, c = by_id(result, "A"), by_id(result, "B"), by_id(result, "C")
    # wᵢ·pct in thirds (avg, cnt, pipe, cra, vel, qual, dsa, cycle):
    #   A: 2, 4, 6, 12, 15, 12, 21, 16 → Σ 88
    #   B: 3, 2, 9,  4, 10, 12,  7,  8 → Σ 55
    #   C: 1, 6, 3,  8,  5, 12, 14, 24 → Σ 73
    assert set(a.drivers.strong) == {"deal_success_adj", "sales_cycle_days"}  # 21, 16
    assert set(a.drivers.weak) == {"avg_deal_size", "deal_count"}  # 2, 4
    assert set(b.drivers.strong) == {"quality_score", "deal_velocity"}  # 12, 10
    assert set(b.drivers.weak) == {"deal_count", "avg_deal_size"}  # 2, 3
    assert set(c.drivers.strong) == {"sales_cycle_days", "deal_success_adj"}  # 24, 14
    assert set(c.drivers.weak) == {"avg_deal_size", "pipeline_value"}  # 1, 3
    assert a.score == 81.5  # 100 × (88/3) / 36 = 81.48…
    assert b.score == 50.9  # 100 × (55/3) / 36 = 50.925…
    assert c.score == 67.6  # 100 × (73/3) / 36 = 67.59…
    assert (a.tier, b.tier, c.tier) == ("Platinum", "Gold", "Gold")


def test_custom_weight_changes_score() -> None:
    result = run(*_four_partners(), weights=weights(sales_cycle_days=3.0))  # Σw = 10
    scores = {p.partner_id: p.score for p in result.partners}
    assert scores == {
        "A": 76.7,  # (19 + 2 × 2 extra cycle thirds) = 23 → 100 × (23/3) / 10 = 76.66…
        "B": 53.3,  # 14 + 2 × 1 = 16 → 100 × (16/3) / 10 = 53.33…
        "C": 70.0,  # 15 + 2 × 3 = 21 → 100 × (21/3) / 10 = 70.0
        "D": 0.0,
    }
    assert [p.partner_id for p in result.partners] == ["A", "C", "B", "D"]
    assert by_id(result, "A").tier == "Platinum"
    assert by_id(result, "C").tier == "Gold"


def test_zero_weight_removes_component() -> None:
    result = run(*_four_partners(), weights=weights(quality_score=0.0))  # Σw = 7
    scores = {p.partner_id: p.score for p in result.partners}
    assert scores == {
        "A": 81.0,  # (19 − 2) = 17 → 100 × (17/3) / 7 = 80.95…
        "B": 57.1,  # (14 − 2) = 12 → 100 × (12/3) / 7 = 57.14…
        "C": 61.9,  # (15 − 2) = 13 → 100 × (13/3) / 7 = 61.90…
        "D": 0.0,
    }


def test_zero_weight_component_data_does_not_move_score() -> None:
    # C gets a huge open deal created before W: C's pipeline_value becomes the largest
    # (pct 1/3 → 1, A 2/3 → 1/3, B 1 → 2/3); C's velocity 1 × 3/5 × 100 / 5 = 12 stays
    # between A 100, B 50 and D null. With pipeline_value (and velocity) weighted 0 no
    # score moves.
    partners, opportunities = _four_partners()
    zeroed = weights(pipeline_value=0.0, deal_velocity=0.0)
    before = run(partners, opportunities, weights=zeroed)
    more = [*opportunities, open_opp("c9", "C", 1e6, created=date(2016, 1, 1))]
    after = run(partners, more, weights=zeroed)
    assert _pcts(after, "C")["pipeline_value"] == approx(1.0)  # now the largest pipeline
    assert _pcts(before, "C")["pipeline_value"] == approx(1 / 3)
    for pid in "ABCD":
        assert by_id(after, pid).score == by_id(before, pid).score


def test_as_of_and_window_are_echoed() -> None:
    result = run(*_four_partners(), as_of=date(2017, 6, 30), window_days=90)
    assert result.as_of == date(2017, 6, 30)
    assert result.window_days == 90


# ---------------------------------------------------------------------------
# status as of A (KPIS.md "Status as of A")
# ---------------------------------------------------------------------------

PAST = date(2017, 6, 30)
STAGES = [
    StageDef(name="Prospecting", status=OpportunityStatus.OPEN, probability=0.1, sort_order=1),
    StageDef(name="Engaging", status=OpportunityStatus.OPEN, probability=0.5, sort_order=2),
    StageDef(name="Won", status=OpportunityStatus.WON, probability=1.0, sort_order=3),
    StageDef(name="Lost", status=OpportunityStatus.LOST, probability=0.0, sort_order=4),
]


def test_figures_as_of_a_past_date_are_those_the_crm_held_then() -> None:
    opportunities = [
        # won after A, engaging on A: open at A, probability 0.5 (its stage then)
        won("a1", "p1", 1000.0, created=date(2017, 3, 1), closed=date(2017, 9, 1)),
        # lost after A, prospecting on A (engaged after A): open at A, probability 0.1
        lost("a2", "p1", amount=200.0, created=date(2017, 5, 1), closed=date(2017, 8, 1)),
        # created after A: does not exist at A, anywhere
        won("a3", "p1", 5000.0, created=date(2017, 7, 1), closed=date(2017, 7, 15)),
        # won on or before A: won at A
        won("a4", "p1", 300.0, created=date(2017, 1, 1), closed=date(2017, 6, 30)),
        # still open, no history: its own probability
        open_opp("a5", "p1", 100.0, created=date(2017, 2, 1), probability=0.4),
        # closed after A with no history on or before A: open at A, no probability
        lost("a6", "p1", amount=50.0, created=date(2017, 6, 1), closed=date(2017, 7, 2)),
        # p2's only opportunity is created after A: p2 has none at A
        won("b1", "p2", 900.0, created=date(2017, 8, 1), closed=date(2017, 8, 2)),
    ]
    events = [
        event("a1", "Prospecting", date(2017, 3, 1), 0),
        event("a1", "Engaging", date(2017, 4, 1), 1),
        event("a1", "Won", date(2017, 9, 1), 2),
        event("a2", "Prospecting", date(2017, 5, 1), 0),
        event("a2", "Engaging", date(2017, 7, 10), 1),
        event("a2", "Lost", date(2017, 8, 1), 2),
        event("a4", "Prospecting", date(2017, 1, 1), 0),
        event("a4", "Won", date(2017, 6, 30), 1),
        event("a6", "Lost", date(2017, 7, 2), 0),
    ]
    result = score_partners(
        [partner("p1"), partner("p2")], opportunities, events,
        as_of=PAST, settings=ScoringSettings(), stage_defs=STAGES,
    )  # fmt: skip
    p1 = by_id(result, "p1").kpis
    assert p1.pipeline_count == 4  # a1, a2, a5, a6
    assert p1.pipeline_value == approx(1350.0)  # 1000 + 200 + 100 + 50
    assert p1.weighted_pipeline == approx(560.0)  # 1000×0.5 + 200×0.1 + 100×0.4 + 50×none
    assert p1.deal_count == 1  # a4; a3 does not exist at A
    assert p1.won_amount == approx(300.0)
    assert p1.close_rate == approx(1.0)  # nothing was lost by A
    # created in W (2016-06-30 < d ≤ A): a1, a2, a4, a5, a6; won at A: a4 → 1 / 5
    assert p1.deal_success == approx(0.2)
    p2 = by_id(result, "p2")
    assert all(value is None for value in p2.components.values())  # no opportunity at A
    assert result.portfolio.opportunity_count == 5  # a3 and b1 do not exist at A

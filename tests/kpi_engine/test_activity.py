"""The partner's funnel, customers and service (KPIS.md), against hand-computed values.

A = 2017-12-31, L = 365: W is the calendar year 2017, P is 2016-01-02 … 2016-12-31 and
A − L = 2016-12-31. Every expected value comes from KPIS.md and the arithmetic in the
comments, not from the engine.
"""

from __future__ import annotations

import weakref
from datetime import date
from typing import Any

import pytest

import kpi_engine.catalogue
import kpi_engine.engine
from core.schema import ACTIVITY_ENTITIES, CallOutcome, Opportunity
from kpi_engine import COMPONENTS, NO_PARTNER, Activity, ScoringResult, ScoringSettings
from kpi_engine.activity import aggregate_activity
from kpi_engine.kpis import stage_days
from partner_kpi.reports.tables import csv_columns, csv_row, scores_document
from tests.kpi_engine.builders import (
    by_id,
    call,
    case,
    lead,
    line_item,
    lost,
    open_opp,
    partner,
    quote,
    run,
    won,
)

D = date
FUNNEL_KPIS = (
    "lead_count", "lead_conversion_rate", "referral_count", "customer_count", "customer_growth",
    "account_retention", "revenue_retention", "products_per_customer", "tickets_per_customer",
    "first_contact_resolution", "onboarding_days", "quote_turnaround_days", "value_added_calls",
)  # fmt: skip
#: KPIS.md: the KPIs that read leads, quotes, cases, calls or line items
NEEDS_AN_OBJECT = (
    "lead_count", "lead_conversion_rate", "products_per_customer", "tickets_per_customer",
    "first_contact_resolution", "onboarding_days", "quote_turnaround_days", "value_added_calls",
)  # fmt: skip
PARTNERS = [partner("P1"), partner("P2"), partner("P3")]  # P3 has nothing at all


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def opportunities() -> list[Opportunity]:
    return [
        # P1 customers: W {c1, c3, c5}; P {c1, c2}; at A {c1, c2, c3, c5}
        won("o1", "P1", 1000.0, created=D(2017, 1, 10), closed=D(2017, 3, 1), account="c1",
            lead_source="Referral"),
        won("o2", "P1", 500.0, created=D(2016, 2, 1), closed=D(2016, 5, 1), account="c1"),
        won("o3", "P1", 300.0, created=D(2016, 3, 1), closed=D(2016, 6, 1), account="c2"),
        won("o4", "P1", 200.0, created=D(2017, 5, 1), closed=D(2017, 6, 1), account="c3",
            lead_source="Web"),
        open_opp("o5", "P1", 100.0, created=D(2017, 2, 1)).model_copy(
            update={"lead_source": "Partner Referral"}),
        lost("o6", "P1", created=D(2016, 6, 1), closed=D(2016, 11, 30)),  # closed before W
        lost("o7", "P1", created=D(2016, 10, 1), closed=D(2017, 1, 15)),
        # won after A: open at A, its customer c4 is none of P1's at A
        won("o11", "P1", 400.0, created=D(2017, 8, 1), closed=D(2018, 2, 1), account="c4"),
        won("o12", "P1", 100.0, created=D(2017, 8, 15), closed=D(2017, 9, 1), account="c5"),
        # a referral created on A − L: not created in W
        lost("o13", "P1", created=D(2016, 12, 31), closed=D(2017, 2, 1), lead_source="Referral"),
        # P2 shares the customer c1 with P1
        won("o8", "P2", 700.0, created=D(2017, 2, 1), closed=D(2017, 4, 1), account="c1"),
        won("o9", "P2", 900.0, created=D(2018, 1, 5), closed=D(2018, 1, 9), account="c1"),
        won("o10", None, 50.0, created=D(2017, 3, 1), closed=D(2017, 3, 10), account="c9"),
    ]  # fmt: skip


def activity(**replace: Any) -> Activity:
    objects: dict[str, Any] = {
        "leads": [
            lead("l1", "P1", created=D(2017, 2, 1), converted=D(2017, 3, 1)),
            lead("l2", "P1", created=D(2017, 3, 1), converted=D(2018, 1, 10)),  # after A
            lead("l3", "P1", created=D(2017, 4, 1)),
            lead("l4", "P1", created=D(2016, 6, 1), converted=D(2017, 1, 1)),  # created in P
            lead("l5", "P1", created=D(2018, 1, 2)),  # created after A: does not exist
            lead("l7", "P1", created=D(2016, 12, 31), converted=D(2017, 1, 2)),  # on A − L
            lead("l6", None, created=D(2017, 5, 1), converted=D(2017, 6, 1)),
        ],
        "quotes": [
            quote("q1", "o1", created=D(2017, 1, 10), sent=D(2017, 1, 10)),  # creation day: 0
            quote("q2", "o1", created=D(2017, 1, 12), sent=D(2017, 1, 20)),  # not the first
            quote("q3", "o4", created=D(2017, 5, 2)),  # never sent
            quote("q4", "o4", created=D(2017, 5, 3), sent=D(2017, 5, 11)),  # 10 days
            quote("q5", "o5", created=D(2017, 2, 2), sent=D(2018, 1, 3)),  # sent after A
            quote("q6", "o2", created=D(2016, 2, 5), sent=D(2016, 2, 11)),  # first sent in P
            quote("q7", "o2", created=D(2017, 1, 5), sent=D(2017, 2, 1)),  # o2's second
            quote("q8", "o8", created=D(2017, 2, 1), sent=D(2017, 2, 5)),  # P2: 4 days
        ],
        "cases": [
            case("k1", "c1", created=D(2017, 3, 5), closed=D(2017, 3, 20), type="Onboarding"),
            case("k2", "c1", created=D(2017, 4, 3), closed=D(2018, 1, 5), type="Onboarding",
                 contacts=0),  # closed after A
            case("k4", "c2", created=D(2017, 6, 1), closed=D(2017, 6, 3), type="Billing",
                 contacts=3),
            case("k5", "c3", created=D(2017, 7, 1), closed=D(2017, 7, 2), reopened=True),
            case("k6", "c3", created=D(2016, 11, 1), closed=D(2017, 1, 5), contacts=2,
                 first_contact=True),  # the CRM's checkbox says resolved at first contact
            case("k7", "c5", created=D(2017, 10, 1), closed=D(2017, 10, 11), type="Onboarding",
                 contacts=0, first_contact=False),  # the checkbox says not
            case("k8", "c4", created=D(2017, 5, 1), closed=D(2017, 5, 2)),  # c4: no one's at A
            case("k9", "c8", created=D(2017, 5, 1), closed=D(2017, 5, 2)),  # no partner sold
            case("k10", "c1", created=D(2018, 1, 2), closed=D(2018, 1, 3)),  # after A
            case("k11", "c9", created=D(2017, 4, 1), closed=D(2017, 4, 2)),
            case("k12", "c1", created=D(2017, 2, 1), closed=D(2017, 2, 5), type="Onboarding"),
            case("k13", None, created=D(2017, 2, 1), closed=D(2017, 2, 5)),
        ],
        "calls": [
            call("a1", "o1", D(2017, 2, 1), 120),  # exactly the threshold
            call("a2", "o1", D(2017, 2, 2), 119),
            call("a3", "o5", D(2017, 3, 1), 600, CallOutcome.VOICEMAIL),
            call("a4", "o5", D(2017, 3, 2), 300),
            call("a5", "o7", D(2017, 1, 10), 200),  # on a deal that closed later
            call("a6", "o2", D(2016, 3, 1), 500),  # before W
            call("a7", "o11", D(2017, 9, 1), 130),
            call("a8", "o9", D(2018, 1, 6), 500),  # after A
            call("a9", None, D(2017, 5, 1), 500),  # on no opportunity
            call("a10", "o1", D(2017, 4, 1), None),  # no duration
            call("a12", "o1", D(2017, 4, 2), 500, None),  # no outcome
            call("a11", "o8", D(2017, 3, 1), 121),
        ],
        "line_items": [
            line_item("li1", "o1", "GTX Basic"),
            line_item("li2", "o1", "GTX Pro"),
            line_item("li3", "o1", "GTX Basic"),  # the same product twice on one deal
            line_item("li8", "o1", "MG Special"),
            line_item("li4", "o4", "MG Special"),
            line_item("li6", "o2", "GTX Plus"),  # a deal of P
            line_item("li7", "o8", "GTX Basic"),
        ],
    }  # fmt: skip
    objects.update(replace)
    return Activity(**objects)


def score(**settings: Any) -> ScoringResult:
    return run(PARTNERS, opportunities(), activity=activity(), **settings)


def values(result: ScoringResult, partner_id: str | None) -> dict[str, Any]:
    kpis = result.portfolio.no_partner if partner_id is None else by_id(result, partner_id).kpis
    return {name: kpis.values[name] for name in FUNNEL_KPIS}


def test_every_funnel_customer_and_service_kpi_by_hand() -> None:
    result = score()
    assert values(result, "P1") == {
        "lead_count": 3,  # l1, l2, l3 (l4 in P, l7 on A − L, l5 after A)
        "lead_conversion_rate": approx(1 / 3),  # l1 (l2 converted after A)
        "referral_count": 2,  # o1 Referral, o5 Partner Referral (o13 created on A − L)
        "customer_count": 3,  # c1, c3, c5
        "customer_growth": approx(0.5),  # (3 − 2) / 2
        "account_retention": approx(0.5),  # c1 of {c1, c2}
        "revenue_retention": approx(1.25),  # o1 1000 from c1 / (500 + 300) in P
        # c1: GTX Basic, GTX Pro, MG Special; c3: MG Special; c5: none → 4 / 3
        "products_per_customer": approx(4 / 3),
        # created in W on c1, c2, c3, c5: k1, k2, k4, k5, k7, k12 → 6 / 4 customers
        "tickets_per_customer": approx(1.5),
        # closed in W: k1 ✓, k4 (3 contacts), k5 (reopened), k6 ✓ (checkbox), k7 (checkbox
        # says no), k12 ✓; k2 closed after A → 3 / 6
        "first_contact_resolution": approx(0.5),
        # o1: k1 created 03-05 ≥ 03-01, closed 03-20 → 19 (k12 was before the close);
        # o4: no onboarding case on c3 → left out; o12: k7 09-01 → 10-11 = 40 → 59 / 2
        "onboarding_days": approx(29.5),
        # o1: q1 sent on its creation day → 0; o4: q4 → 10; o5 sent after A; o2 first in P
        "quote_turnaround_days": approx(5.0),
        # a1 (120 s), a4, a5, a7 over o1, o4, o5, o7, o11, o12, o13 open at any time in W
        "value_added_calls": approx(4 / 7),
    }
    assert values(result, "P2") == {
        "lead_count": 0,  # the CRM has leads, P2 has none
        "lead_conversion_rate": None,
        "referral_count": 0,
        "customer_count": 1,  # c1, shared with P1: counts for each
        "customer_growth": None,  # no customer in P
        "account_retention": None,
        "revenue_retention": None,
        "products_per_customer": approx(1.0),  # c1: GTX Basic on o8
        "tickets_per_customer": approx(3.0),  # k1, k2, k12 on c1 (o9 does not exist at A)
        "first_contact_resolution": approx(1.0),  # k1, k12 (k2 closed after A)
        "onboarding_days": None,  # o8's first onboarding case k2 is not closed by A
        "quote_turnaround_days": approx(4.0),
        "value_added_calls": approx(1.0),  # a11 (121 s) on o8; o9 does not exist at A
    }
    assert values(result, "P3") == {
        "lead_count": 0,
        "lead_conversion_rate": None,
        "referral_count": 0,
        "customer_count": 0,
        "customer_growth": None,
        "account_retention": None,
        "revenue_retention": None,
        "products_per_customer": None,  # no customer in W
        "tickets_per_customer": None,  # no customer at A
        "first_contact_resolution": None,
        "onboarding_days": None,
        "quote_turnaround_days": None,
        "value_added_calls": None,  # no opportunity open in W
    }


def test_the_no_partner_bucket_gets_them_too() -> None:
    assert values(score(), None) == {
        "lead_count": 1,  # l6
        "lead_conversion_rate": approx(1.0),
        "referral_count": 0,
        "customer_count": 1,  # c9
        "customer_growth": None,
        "account_retention": None,
        "revenue_retention": None,
        "products_per_customer": approx(0.0),  # line items exist, none on o10
        "tickets_per_customer": approx(1.0),  # k11 (k9's c8 and k13 are nobody's)
        "first_contact_resolution": approx(1.0),
        "onboarding_days": None,
        "quote_turnaround_days": None,
        "value_added_calls": approx(0.0),  # o10 open in W, no call on it
    }
    assert NO_PARTNER not in [p.partner_id for p in score().partners]


def test_no_data_is_null_and_an_empty_object_is_zero_or_null_by_its_rule() -> None:
    absent = run(PARTNERS, opportunities(), activity=Activity())
    nothing: dict[str, Any] = {stream: [] for stream in ACTIVITY_ENTITIES}
    empty = run(PARTNERS, opportunities(), activity=Activity(**nothing))
    for key in ("P1", "P2", "P3", None):
        got, zero = values(absent, key), values(empty, key)
        assert [name for name in FUNNEL_KPIS if got[name] is None] == [
            name for name in FUNNEL_KPIS if name in NEEDS_AN_OBJECT or zero[name] is None
        ]
        assert zero["lead_count"] == 0
    # the customer and referral KPIs read opportunities alone: the same either way
    for name in ("referral_count", "customer_count", "customer_growth", "account_retention",
                 "revenue_retention"):  # fmt: skip
        assert values(absent, "P1")[name] == values(score(), "P1")[name]
    p1 = values(empty, "P1")
    assert p1["products_per_customer"] == 0.0  # 3 customers in W, no product on their deals
    assert p1["tickets_per_customer"] == 0.0  # 4 customers at A, no case
    assert p1["value_added_calls"] == 0.0  # 7 deals open in W, no call
    assert p1["first_contact_resolution"] is None  # none closed in W
    assert p1["onboarding_days"] is None and p1["quote_turnaround_days"] is None
    assert p1["lead_conversion_rate"] is None
    # only one object missing: only its KPIs are null
    without_calls = run(PARTNERS, opportunities(), activity=activity(calls=None))
    no_calls = values(without_calls, "P1")
    assert no_calls["value_added_calls"] is None
    assert no_calls["tickets_per_customer"] == approx(1.5)
    # and the result says which objects the CRM lacked, for the report to say so once
    assert without_calls.portfolio.objects_missing == ("calls",)
    assert absent.portfolio.objects_missing == tuple(ACTIVITY_ENTITIES)
    assert empty.portfolio.objects_missing == ()


def test_a_call_of_exactly_the_threshold_counts() -> None:
    # threshold 121: a1 (120) no longer counts, a11 (121) still does
    result = score(value_call_seconds=121)
    assert by_id(result, "P1").kpis.value_added_calls == approx(3 / 7)
    assert by_id(result, "P2").kpis.value_added_calls == approx(1.0)
    # threshold 0: every connected call with a duration in W on an opportunity (a2 too)
    assert by_id(score(value_call_seconds=0), "P1").kpis.value_added_calls == approx(5 / 7)


def test_referral_sources_and_onboarding_case_types_are_settings() -> None:
    result = score(referral_sources=["Web"], onboarding_case_types=["Support", "Billing"])
    p1 = by_id(result, "P1").kpis
    assert p1.referral_count == 1  # o4
    # o1 on c1: no Support/Billing case on c1 on or after 03-01 (k10 after A) → out;
    # o4 on c3, closed 06-01: k5 07-01 → 07-02 = 31; o12 on c5: none → 31 / 1
    assert p1.onboarding_days == approx(31.0)


def test_a_first_contact_checkbox_overrides_contacts_and_reopenings() -> None:
    cases = [
        case("f1", "c1", created=D(2017, 5, 1), closed=D(2017, 5, 2), contacts=5,
             reopened=True, first_contact=True),
        case("f2", "c1", created=D(2017, 5, 1), closed=D(2017, 5, 2), contacts=0,
             first_contact=False),
        case("f3", "c1", created=D(2017, 5, 1), closed=D(2017, 5, 2), contacts=1),
        case("f4", "c1", created=D(2017, 5, 1), closed=D(2017, 5, 2), contacts=2),
    ]  # fmt: skip
    result = run(PARTNERS, opportunities(), activity=activity(cases=cases))
    # f1 ✓ (checkbox), f2 ✗ (checkbox), f3 ✓ (one contact, never reopened), f4 ✗ → 2 / 4
    assert by_id(result, "P1").kpis.first_contact_resolution == approx(0.5)


def test_onboarding_reads_the_first_case_created_after_the_close_and_ties_closed_first() -> None:
    cases = [
        # o1 closed 2017-03-01 on c1: two onboarding cases created 03-04, the first one
        # closed is the one that counts (03-09 → 8 days), whatever their ids
        case("z", "c1", created=D(2017, 3, 4), closed=D(2017, 3, 9), type="Onboarding"),
        case("a", "c1", created=D(2017, 3, 4), closed=D(2017, 3, 30), type="Onboarding"),
        case("b", "c1", created=D(2017, 3, 6), closed=D(2017, 3, 7), type="Onboarding"),
        # o12 closed 2017-09-01 on c5: created on the close date counts (→ 2 days)
        case("c", "c5", created=D(2017, 9, 1), closed=D(2017, 9, 3), type="Onboarding"),
        # o4 closed 2017-06-01 on c3: its first onboarding case is still open at A → out,
        # even if a later one is closed
        case("d", "c3", created=D(2017, 6, 2), type="Onboarding"),
        case("e", "c3", created=D(2017, 6, 3), closed=D(2017, 6, 4), type="Onboarding"),
    ]
    result = run(PARTNERS, opportunities(), activity=activity(cases=cases))
    assert by_id(result, "P1").kpis.onboarding_days == approx(5.0)  # (8 + 2) / 2


def test_quote_sent_on_the_creation_day_and_the_first_sent_quote_decides() -> None:
    quotes = [
        quote("q1", "o4", created=D(2017, 5, 1), sent=D(2017, 5, 1)),  # 0 days
        quote("q2", "o12", created=D(2017, 8, 15), sent=D(2017, 8, 20)),  # 5 days
        quote("q0", "o12", created=D(2017, 8, 15), sent=D(2017, 8, 18)),  # o12's first: 3
    ]
    result = run(PARTNERS, opportunities(), activity=activity(quotes=quotes))
    assert by_id(result, "P1").kpis.quote_turnaround_days == approx(1.5)  # (0 + 3) / 2


def test_as_of_a_past_date_later_records_do_not_exist_and_later_events_did_not_happen() -> None:
    # A = 2017-03-15, L = 365: W = 2016-03-15 < d ≤ 2017-03-15
    result = run(PARTNERS, opportunities(), activity=activity(), as_of=D(2017, 3, 15))
    p1 = by_id(result, "P1").kpis
    # leads created in W: l4 (2016-06-01, converted 2017-01-01 ✓), l7 (✓ 2017-01-02),
    # l1 (2017-02-01, converted 03-01 ✓), l2 (2017-03-01, converted after A); l3 later
    assert (p1.lead_count, p1.lead_conversion_rate) == (4, approx(0.75))
    # customers at A: c1 (o1, o2), c2 (o3); cases created in W on them: k12 (02-01), k1
    # (03-05); k4 comes later → 2 / 2; closed in W: k12 (02-05, one contact) ✓; k1 is
    # closed after A → 1 / 1
    assert p1.tickets_per_customer == approx(1.0)
    assert p1.first_contact_resolution == approx(1.0)
    # won in this W: o1 (closed 03-01): its first onboarding case k1 is closed after A →
    # left out; o2 (closed 2016-05-01) on c1: k12 created 2017-02-01, closed 02-05 → 280
    # days; o3 on c2: no onboarding case → 280 / 1
    assert p1.onboarding_days == approx(280.0)
    # first sent quotes in W: o1 q1 (0 days), o2 q6 (2016-02-11: before W) → 0 / 1
    assert p1.quote_turnaround_days == approx(0.0)
    # open at any time in W (not closed by 2016-03-15): o1, o2, o3, o5, o6, o7, o13 (o4,
    # o11, o12 do not exist yet); calls a1, a4, a5 in W (a7 later) → 3 / 7
    assert p1.value_added_calls == approx(3 / 7)


def test_scores_csv_and_scores_json_carry_them() -> None:
    result = score()
    settings = ScoringSettings()
    document = scores_document(result, settings, {"kind": "test"})
    p1 = next(p for p in document["partners"] if p["partner_id"] == "P1")
    assert p1["lead_count"] == 3
    assert p1["value_added_calls"] == approx(4 / 7)
    assert p1["onboarding_days"] == approx(29.5)
    p3 = next(p for p in document["partners"] if p["partner_id"] == "P3")
    assert p3["tickets_per_customer"] is None
    assert document["portfolio"]["no_partner"]["lead_count"] == 1
    assert document["settings"]["value_call_seconds"] == 120
    assert document["settings"]["referral_sources"][0] == "Referral"
    row = csv_row(by_id(result, "P1"))
    assert set(FUNNEL_KPIS) <= set(csv_columns())
    assert (row["lead_conversion_rate"], row["value_added_calls"]) == ("0.333333", "0.571429")
    assert (row["customer_growth"], row["quote_turnaround_days"]) == ("0.5", "5.0")
    assert csv_row(by_id(result, "P3"))["products_per_customer"] == ""


def _only(**weights: float) -> dict[str, float]:
    """Weights: 0 for the eight default components, the given ones for the rest."""
    return {**dict.fromkeys(COMPONENTS, 0.0), **weights}


def test_a_weight_makes_a_funnel_kpi_a_score_component() -> None:
    # lead_count: P1 3, P2 0, P3 none (no opportunity at A: every component null, last)
    # pct = (below + 0.5 (equal − 1)) / 2 → P1 1.0, P2 0.5, P3 0.0
    result = score(weights=_only(lead_count=1))
    assert [(p.partner_id, p.score) for p in result.partners] == [
        ("P1", 100.0), ("P2", 50.0), ("P3", 0.0),
    ]  # fmt: skip
    p1 = by_id(result, "P1")
    assert p1.components["lead_count"] == 3
    assert p1.percentiles["lead_count"] == 1.0
    assert by_id(result, "P3").components["lead_count"] is None
    assert p1.drivers.strong[0] == "lead_count"


def test_a_lower_is_better_kpi_is_negated_and_nulls_tie_last() -> None:
    # tickets_per_customer (lower is better): P1 1.5 beats P2 3.0; P3 null
    result = score(weights=_only(tickets_per_customer=1))
    assert [(p.partner_id, p.score) for p in result.partners] == [
        ("P1", 100.0), ("P2", 50.0), ("P3", 0.0),
    ]  # fmt: skip
    # onboarding_days: P1 29.5; P2 and P3 null tie at (0 + 0.5 × 1) / 2 = 0.25
    # with lead_count: P1 (1 + 1) / 2, P2 (0.5 + 0.25) / 2, P3 (0 + 0.25) / 2
    result = score(weights=_only(lead_count=1, onboarding_days=1))
    assert [(p.partner_id, p.score) for p in result.partners] == [
        ("P1", 100.0), ("P2", 37.5), ("P3", 12.5),
    ]  # fmt: skip
    assert by_id(result, "P2").percentiles["onboarding_days"] == 0.25


def test_the_default_score_reads_no_funnel_kpi() -> None:
    """KPIS.md: the funnel, customer and service KPIs are not in the default score."""
    with_activity = score()
    without = run(PARTNERS, opportunities())
    for got, base in zip(with_activity.partners, without.partners, strict=True):
        assert (got.partner_id, got.score, got.tier) == (base.partner_id, base.score, base.tier)
        assert got.components == base.components
        assert got.percentiles == base.percentiles
        assert list(got.components) == list(COMPONENTS)
    # a funnel KPI at weight 0 is a component that moves nothing
    zero = score(weights={"lead_count": 0})
    assert [p.score for p in zero.partners] == [p.score for p in without.partners]
    assert "lead_count" in zero.partners[0].components


def test_the_engine_lets_the_activity_go_before_the_per_record_kpis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller that hands over its only reference (audit --seed: ~220 MB of rows at 1 M
    deals) has the rows freed once summed, before stage_days and the other per-record KPIs
    take their own memory."""
    summed: list[weakref.ref[Any]] = []
    alive_later: list[int] = []

    def summing(flagged: Any, frames: Any, *args: Any) -> Any:
        summed.extend(weakref.ref(frame) for frame in frames.values() if frame is not None)
        return aggregate_activity(flagged, frames, *args)

    def per_record(*args: Any) -> Any:
        alive_later.append(sum(ref() is not None for ref in summed))
        return stage_days(*args)

    monkeypatch.setattr(kpi_engine.engine, "aggregate_activity", summing)
    monkeypatch.setattr(kpi_engine.catalogue, "stage_days", per_record)
    result = run(PARTNERS, opportunities(), activity=activity())
    assert len(summed) == 5 and alive_later == [0]
    # and the figures are the hand-computed ones of the first test
    assert values(result, "P1")["lead_count"] == 3
    assert values(result, "P1")["value_added_calls"] == approx(4 / 7)

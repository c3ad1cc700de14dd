"""Small builders for KPI-engine tests: records by hand, scoring with settings.

The reference date of every hand-made fixture is AS_OF = 2017-12-31 with the
default window L = 365 days, so (KPIS.md "Windows"):

* A − L  = 2016-12-31, A − 2L = 2016-01-01 (2016 is a leap year)
* W = 2016-12-31 < date ≤ 2017-12-31, i.e. the calendar year 2017
* P = 2016-01-01 < date ≤ 2016-12-31, i.e. 2016-01-02 … 2016-12-31
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from core.schema import (
    Call,
    CallOutcome,
    Case,
    Lead,
    LineItem,
    Opportunity,
    OpportunityStatus,
    Partner,
    Quote,
    StageDef,
    StageEvent,
)
from kpi_engine import (
    Activity,
    ChannelFigures,
    Drivers,
    PartnerKpis,
    PartnerScore,
    ScoringResult,
    ScoringSettings,
    score_partners,
)

AS_OF = date(2017, 12, 31)

_STAGE_OF = {
    OpportunityStatus.OPEN: "Proposal",
    OpportunityStatus.WON: "Closed Won",
    OpportunityStatus.LOST: "Closed Lost",
}
_PROBABILITY_OF = {
    OpportunityStatus.OPEN: 0.5,
    OpportunityStatus.WON: 1.0,
    OpportunityStatus.LOST: 0.0,
}


def partner(partner_id: str, name: str | None = None) -> Partner:
    """A partner account; its name defaults to "Partner <id>"."""
    return Partner(id=partner_id, name=name if name is not None else f"Partner {partner_id}")


def opp(
    opp_id: str,
    partner_id: str | None,
    status: str,
    amount: float | None = None,
    *,
    created: date,
    closed: date | None = None,
    account: str | None = None,
    lead_source: str | None = None,
    probability: float | None = None,
) -> Opportunity:
    """An opportunity; stage name and probability follow from the status unless given."""
    st = OpportunityStatus(status)
    return Opportunity(
        id=opp_id,
        partner_id=partner_id,
        account_id=account,
        stage=_STAGE_OF[st],
        status=st,
        probability=_PROBABILITY_OF[st] if probability is None else probability,
        amount=amount,
        created_date=created,
        close_date=closed,
        lead_source=lead_source,
    )


def won(
    opp_id: str,
    partner_id: str | None,
    amount: float | None,
    *,
    closed: date,
    created: date | None = None,
    account: str | None = None,
    lead_source: str | None = None,
) -> Opportunity:
    """A won opportunity; created on its close date unless given."""
    return opp(
        opp_id,
        partner_id,
        "won",
        amount,
        created=created if created is not None else closed,
        closed=closed,
        account=account,
        lead_source=lead_source,
    )


def lost(
    opp_id: str,
    partner_id: str | None,
    *,
    closed: date,
    created: date | None = None,
    amount: float | None = None,
    account: str | None = None,
    lead_source: str | None = None,
) -> Opportunity:
    """A lost opportunity; created on its close date unless given."""
    return opp(
        opp_id,
        partner_id,
        "lost",
        amount,
        created=created if created is not None else closed,
        closed=closed,
        account=account,
        lead_source=lead_source,
    )


def open_opp(
    opp_id: str,
    partner_id: str | None,
    amount: float | None,
    *,
    created: date,
    probability: float = 0.5,
) -> Opportunity:
    """An open opportunity."""
    return opp(opp_id, partner_id, "open", amount, created=created, probability=probability)


def event(opp_id: str, stage: str, entered: date, sequence: int = 0) -> StageEvent:
    """An opportunity entering a stage."""
    return StageEvent(opportunity_id=opp_id, stage=stage, entered_date=entered, sequence=sequence)


def lead(
    lead_id: str, partner_id: str | None, *, created: date, converted: date | None = None
) -> Lead:
    """A lead, converted on ``converted`` (None: never)."""
    return Lead(id=lead_id, partner_id=partner_id, created_date=created, converted_date=converted)


def quote(quote_id: str, opp_id: str, *, created: date, sent: date | None = None) -> Quote:
    """A quote on an opportunity, sent on ``sent`` (None: never)."""
    return Quote(id=quote_id, opportunity_id=opp_id, created_date=created, sent_date=sent)


def case(
    case_id: str,
    account: str | None,
    *,
    created: date,
    closed: date | None = None,
    type: str | None = "Support",
    contacts: int = 1,
    reopened: bool = False,
    first_contact: bool | None = None,
) -> Case:
    """A case on a customer account; one contact, never reopened unless given."""
    return Case(
        id=case_id,
        account_id=account,
        created_date=created,
        closed_date=closed,
        type=type,
        contact_count=contacts,
        reopened=reopened,
        first_contact_resolved=first_contact,
    )


def call(
    call_id: str,
    opp_id: str | None,
    on: date,
    seconds: int | None,
    outcome: CallOutcome | None = CallOutcome.CONNECTED,
) -> Call:
    """A logged call on an opportunity; connected unless given."""
    return Call(
        id=call_id, opportunity_id=opp_id, call_date=on, duration_seconds=seconds, outcome=outcome
    )


def line_item(item_id: str, opp_id: str, product: str) -> LineItem:
    """A product line of an opportunity."""
    return LineItem(id=item_id, opportunity_id=opp_id, product=product)


def run(
    partners: Sequence[Partner],
    opportunities: Sequence[Opportunity],
    events: Sequence[StageEvent] = (),
    *,
    as_of: date = AS_OF,
    activity: Activity | None = None,
    stage_defs: Sequence[StageDef] | None = None,
    **settings: Any,
) -> ScoringResult:
    """score_partners with ScoringSettings(**settings) (KPIS.md defaults when none given)."""
    return score_partners(
        list(partners),
        list(opportunities),
        list(events),
        as_of=as_of,
        settings=ScoringSettings(**settings),
        stage_defs=stage_defs,
        activity=activity,
    )


def by_id(result: ScoringResult, partner_id: str) -> PartnerScore:
    """The scored partner with that id (exactly one)."""
    found = [p for p in result.partners if p.partner_id == partner_id]
    assert len(found) == 1, f"expected one partner {partner_id!r}, got {len(found)}"
    return found[0]


def hand_made_score(kpis: PartnerKpis | None = None) -> PartnerScore:
    """A scored partner made by hand: Gold at 71.3, two strong and two weak drivers."""
    return PartnerScore(
        partner_id="p1",
        partner_name="Acme",
        kpis=kpis or hand_made_kpis(),
        components={},
        percentiles={
            "deal_count": 0.9667,
            "pipeline_value": 0.9,
            "close_rate_adj": 0.004,
            "sales_cycle_days": 0.125,
        },
        score=71.3,
        tier="Gold",
        drivers=Drivers(
            strong=("deal_count", "pipeline_value"), weak=("close_rate_adj", "sales_cycle_days")
        ),
    )


def hand_made_kpis() -> PartnerKpis:
    """A few KPI values of each kind, and one channel group's figures."""
    return PartnerKpis(
        values={
            "deal_count": 3,
            "close_rate": 0.75,
            "top_channel": "owned",
            "stage_days": {"Engaging": 45.75, "Prospecting": 0.0},
            "avg_deal_size": None,
        },
        channels={"paid": ChannelFigures(won_count=1, won_amount=2000.0, close_rate=1.0)},
    )

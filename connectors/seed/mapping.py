"""How a seed row becomes CRM records: the rules of ../shared/data/README.md, once.

Both the seed reader (``partner-kpi audit --seed``) and the sandbox CRM build
their records through these functions, so the two can never disagree.
Everything here is pure: rows (dicts of strings) in, schema records out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from core.errors import SeedFormatError
from core.schema import (
    Opportunity,
    OpportunityStatus,
    Partner,
    StageDef,
    StageEvent,
    status_of_stage,
)

#: The seed's stages and what the CRM's stage metadata says about them.
SEED_STAGES: tuple[StageDef, ...] = (
    StageDef(name="Prospecting", status=OpportunityStatus.OPEN, probability=0.1, sort_order=1),
    StageDef(name="Engaging", status=OpportunityStatus.OPEN, probability=0.5, sort_order=2),
    StageDef(name="Won", status=OpportunityStatus.WON, probability=1.0, sort_order=3),
    StageDef(name="Lost", status=OpportunityStatus.LOST, probability=0.0, sort_order=4),
)
STAGES_BY_NAME: dict[str, StageDef] = {stage.name: stage for stage in SEED_STAGES}

#: Stand-in lead sources for seeds without a lead_source column (README's fixed rule).
LEAD_SOURCE_CHOICES = ("Web", "Paid Search", "Partner Referral", "Trade Show", "Email")
OPEN_DEAL_CLOSE_DAYS = 90
DEFAULT_CORPORATE_CURRENCY = "USD"
PARTNER_ROLE = "Reseller"


def slug(name: str) -> str:
    """A stable, readable id for a named seed row: 'Anna Snelling' → 'anna-snelling'."""
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def partner_id(agent: str) -> str:
    """The id of the partner account made from a sales agent."""
    return f"partner-{slug(agent)}"


def customer_id(account: str) -> str:
    """The id of the customer account made from an accounts.csv row."""
    return f"customer-{slug(account)}"


def product_key(product: str) -> str:
    """Product names compared with spaces and case ignored (GTXPro matches GTX Pro)."""
    return re.sub(r"\s+", "", product).lower()


def stand_in_lead_source(opportunity_id: str) -> str:
    """The README's fixed rule for seeds that carry no lead source."""
    digest = int(hashlib.sha256(opportunity_id.encode()).hexdigest(), 16)
    return LEAD_SOURCE_CHOICES[digest % len(LEAD_SOURCE_CHOICES)]


@dataclass(frozen=True)
class Currencies:
    """The corporate currency and the rates (units of it per one unit of each currency)."""

    corporate: str
    rates: Mapping[str, float]

    def to_corporate(self, amount: float, currency: str) -> float | None:
        """``amount`` in the corporate currency; None when ``currency`` has no rate (the
        record keeps its original amount, and the rule currency_without_rate judges it)."""
        rate = self.rates.get(currency)
        return None if rate is None else amount / rate


SINGLE_CURRENCY = Currencies(
    corporate=DEFAULT_CORPORATE_CURRENCY, rates={DEFAULT_CORPORATE_CURRENCY: 1.0}
)


def partner_from_row(row: Mapping[str, str]) -> Partner:
    """A sales_teams.csv row as a partner account."""
    agent = row["sales_agent"].strip()
    return Partner(
        id=partner_id(agent),
        name=agent,
        region=row.get("regional_office") or None,
        channel_manager=row.get("manager") or None,
    )


def _date(value: str | None, column: str, record_id: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise SeedFormatError(
            f"opportunity {record_id!r}: {column} {value!r} is not a YYYY-MM-DD date",
            record_id=record_id,
        ) from None


def _number(value: str | None, column: str, record_id: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise SeedFormatError(
            f"opportunity {record_id!r}: {column} {value!r} is not a number",
            record_id=record_id,
        ) from None


def latest_date(rows: Iterable[Mapping[str, str]]) -> tuple[date, int]:
    """The dataset's latest date (the largest engage_date or close_date), and the row count."""
    latest: str = ""
    count = 0
    for row in rows:
        count += 1
        for column in ("engage_date", "close_date"):
            value = row.get(column) or ""
            if value > latest:
                # text order is date order for well-formed dates; a bad one fails below
                latest = value
    if not latest:
        raise SeedFormatError("sales_pipeline.csv has no engage_date or close_date at all")
    parsed = _date(latest, "engage_date or close_date", "?")
    assert parsed is not None
    return parsed, count


@dataclass(frozen=True)
class SeedOpportunity:
    """An opportunity with the seed facts the CRM records need besides the schema."""

    opportunity: Opportunity
    product: str | None
    customer_name: str | None
    partner_name: str
    engage_date: date | None
    deal_type: str | None


def opportunity_from_row(
    row: Mapping[str, str],
    *,
    prices: Mapping[str, float],
    currencies: Currencies,
    fallback_created: date,
) -> SeedOpportunity:
    """A sales_pipeline.csv row as an opportunity, by the README's rules.

    The row's stage must be a seed stage (``status_of_stage`` names the record otherwise);
    implausible values (a NaN amount, a won deal with no close date) are kept for the
    data-quality rules to judge.
    """
    record_id = row["opportunity_id"].strip()
    stage_name = row["deal_stage"].strip()
    stage = status_of_stage(stage_name, STAGES_BY_NAME, record_id)
    engage = _date(row.get("engage_date"), "engage_date", record_id)
    created = (
        _date(row.get("created_date"), "created_date", record_id) or engage or fallback_created
    )
    closed = _date(row.get("close_date"), "close_date", record_id)
    if stage.status is OpportunityStatus.OPEN:
        closed = created + timedelta(days=OPEN_DEAL_CLOSE_DAYS)

    amount = _number(row.get("amount"), "amount", record_id)
    product = (row.get("product") or "").strip() or None
    if amount is None:
        if stage.status is OpportunityStatus.WON:
            amount = _number(row.get("close_value"), "close_value", record_id)
        elif product is not None:
            amount = prices.get(product_key(product))
    currency = (row.get("currency") or "").strip() or currencies.corporate
    converted = None if amount is None else currencies.to_corporate(amount, currency)
    customer = (row.get("account") or "").strip() or None
    agent = row["sales_agent"].strip()
    opportunity = Opportunity(
        id=record_id,
        name=f"{customer or 'No account'} – {product or 'no product'}",
        partner_id=partner_id(agent) if agent else None,
        account_id=customer_id(customer) if customer else None,
        stage=stage.name,
        status=stage.status,
        probability=stage.probability,
        amount=converted,
        amount_original=amount,
        currency=currency,
        created_date=created,
        close_date=closed,
        lead_source=(row.get("lead_source") or "").strip() or stand_in_lead_source(record_id),
    )
    return SeedOpportunity(
        opportunity=opportunity,
        product=product,
        customer_name=customer,
        partner_name=agent,
        engage_date=engage,
        deal_type=(row.get("deal_type") or "").strip() or None,
    )


def stage_visits(seed: SeedOpportunity) -> list[tuple[str, date]]:
    """Prospecting on the created date, Engaging on engage_date, Won/Lost on close_date."""
    opportunity = seed.opportunity
    visits = [("Prospecting", opportunity.created_date)]
    if seed.engage_date is not None:
        visits.append(("Engaging", seed.engage_date))
    if opportunity.status is not OpportunityStatus.OPEN and opportunity.close_date:
        visits.append((opportunity.stage, opportunity.close_date))
    return visits


def stage_history(seed: SeedOpportunity) -> list[StageEvent]:
    """The stage visits as schema events; ``sequence`` is the visit's place in the history."""
    # built without revalidation: every value comes from the validated opportunity
    return [
        StageEvent.model_construct(
            opportunity_id=seed.opportunity.id, stage=stage, entered_date=day, sequence=i
        )
        for i, (stage, day) in enumerate(stage_visits(seed))
    ]

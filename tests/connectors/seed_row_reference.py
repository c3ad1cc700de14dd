"""The README's seed mapping written row by row, as an independent reference.

This is the mapping partner-kpi used before the columnar one (``connectors.seed.mapping``):
plain Python over ``csv.DictReader`` rows, one pydantic model per row. The product no
longer runs it; ``test_seed_columns`` checks the columnar mapping gives the same records,
stage events, unknown-stage lines and bad-value lines on real and edge-case seeds.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from connectors.seed.mapping import (
    LEAD_SOURCE_CHOICES,
    OPEN_DEAL_CLOSE_DAYS,
    STAGES_BY_NAME,
    Currencies,
    customer_id,
    partner_id,
    product_key,
)
from core.errors import SeedFormatError
from core.schema import Opportunity, OpportunityStatus, StageEvent, status_of_stage


@dataclass(frozen=True)
class RowMapped:
    """A pipeline file mapped row by row."""

    opportunities: list[Opportunity]
    stage_events: list[StageEvent]
    #: (line, record id, partner id, stage) of each row whose stage is unknown
    unknown: list[tuple[int, str, str | None, str]]


def map_rows(path: Path, *, prices: Mapping[str, float], currencies: Currencies) -> RowMapped:
    """Every row of ``path`` (a sales_pipeline.csv) mapped by the README's rules; a
    SeedFormatError naming the line of the first value that cannot be read."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = [
            (reader.line_num, {k.strip(): (v or "") for k, v in row.items() if k}) for row in reader
        ]
    fallback = _latest_date(row for _line, row in rows)
    opportunities: list[Opportunity] = []
    events: list[StageEvent] = []
    unknown: list[tuple[int, str, str | None, str]] = []
    for line, row in rows:
        stage = row["deal_stage"].strip()
        if stage not in STAGES_BY_NAME:
            agent = row["sales_agent"].strip()
            unknown.append(
                (line, row["opportunity_id"].strip(), partner_id(agent) if agent else None, stage)
            )
            continue
        try:
            opportunity, engage = _opportunity(
                row, prices=prices, currencies=currencies, fallback_created=fallback
            )
        except SeedFormatError as error:
            raise SeedFormatError(f"{path}: line {line}: {error}") from None
        opportunities.append(opportunity)
        events.extend(_stage_history(opportunity, engage))
    return RowMapped(opportunities, events, unknown)


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


def _latest_date(rows: Iterable[Mapping[str, str]]) -> date:
    """The largest readable engage_date or close_date (a bad one is named by its row)."""
    latest: date | None = None
    for row in rows:
        for column in ("engage_date", "close_date"):
            try:
                day = date.fromisoformat((row.get(column) or "").strip())
            except ValueError:
                continue
            latest = day if latest is None else max(latest, day)
    if latest is None:
        raise SeedFormatError("sales_pipeline.csv has no engage_date or close_date at all")
    return latest


def _opportunity(
    row: Mapping[str, str],
    *,
    prices: Mapping[str, float],
    currencies: Currencies,
    fallback_created: date,
) -> tuple[Opportunity, date | None]:
    record_id = row["opportunity_id"].strip()
    if not record_id:
        raise SeedFormatError("opportunity_id '' is not a non-empty opportunity_id")
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
    rate = currencies.rates.get(currency)
    converted = None if amount is None or rate is None else amount / rate
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
        lead_source=(row.get("lead_source") or "").strip() or _stand_in(record_id),
    )
    return opportunity, engage


def _stand_in(record_id: str) -> str:
    """The seed README's words: the choice at index sha256(id) mod 5."""
    digest = int(hashlib.sha256(record_id.encode()).hexdigest(), 16)
    return LEAD_SOURCE_CHOICES[digest % len(LEAD_SOURCE_CHOICES)]


def _stage_history(opportunity: Opportunity, engage: date | None) -> list[StageEvent]:
    visits = [("Prospecting", opportunity.created_date)]
    if engage is not None:
        visits.append(("Engaging", engage))
    if opportunity.status is not OpportunityStatus.OPEN and opportunity.close_date:
        visits.append((opportunity.stage, opportunity.close_date))
    return [
        StageEvent(opportunity_id=opportunity.id, stage=stage, entered_date=day, sequence=i)
        for i, (stage, day) in enumerate(visits)
    ]

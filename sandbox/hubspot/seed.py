"""Seed the portal from a seed dataset (../shared/data/README.md), as rows.

Partners become companies with type PARTNER (region and channel manager as
custom properties), customers companies with type OTHER (their other columns as
properties), pipeline rows deals with a Primary association to their customer
and a Reseller association to their partner. Each deal's stage history becomes
dealstage history entries and hs_v2_date_entered/exited_<stageId> values.

Rows are tuples in the order of ``columns``. Deals stream from the seed file in
chunks (``DealSeeder.chunks``), so memory stays flat in their number; the
values the deal enumerations must offer and the earliest creation time are
noted on the way, for the portal to finish its configuration after the pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.seed import SeedDataset
from core.schema import OpportunityStatus
from sandbox.hubspot.associations import (
    PRIMARY,
    RESELLER,
    UNLABELED,
    encode,
)
from sandbox.hubspot.pipelines import Pipeline
from sandbox.hubspot.schema import extra_account_columns
from sandbox.hubspot.values import day_ms
from sandbox.ids import HubSpotIds

#: The source recorded for seeded stage changes: a sales user moving the deal in the UI.
SEED_SOURCE_TYPE = "CRM_UI"
FIRST_USER_ID = 45_000_001

COMPANY_COLUMNS = (
    "hs_object_id", "createdate", "hs_lastmodifieddate", "name", "type", "industry",
    "annualrevenue", "numberofemployees", "founded_year", "country", "hs_parent_company_id",
    "region", "channel_manager",
)  # fmt: skip


DEAL_ID_START = 20_000_000_001


@dataclass
class SeedIds:
    """Id series per object type (deal ids live in their own range, as in HubSpot)."""

    companies: HubSpotIds = field(default_factory=lambda: HubSpotIds(10_000_000_001))
    deals: HubSpotIds = field(default_factory=lambda: HubSpotIds(DEAL_ID_START))


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def allocate_company_ids(dataset: SeedDataset, ids: SeedIds, id_map: dict[str, str]) -> None:
    """Ids for partners, then customers, in seed order (deals refer to them)."""
    for partner in dataset.partners:
        id_map[partner.id] = ids.companies.next()
    for customer in dataset.customers:
        id_map[customer.id] = ids.companies.next()


def company_rows(
    dataset: SeedDataset, id_map: dict[str, str], created: int
) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
    """Partner and customer companies: the columns and one tuple per company."""
    extra = extra_account_columns(dataset)
    columns = (*COMPANY_COLUMNS, *extra.values())
    rows: list[tuple[object, ...]] = []
    blank_extra = (None,) * len(extra)
    for partner in dataset.partners:
        rows.append(
            (int(id_map[partner.id]), created, created, partner.name, "PARTNER", None, None,
             None, None, None, None, partner.region, partner.channel_manager, *blank_extra)
        )  # fmt: skip
    by_name = {c.name: int(id_map[c.id]) for c in dataset.customers}
    for customer in dataset.customers:
        fields = customer.fields
        revenue = _float(fields.get("revenue"))
        employees = _float(fields.get("employees"))
        rows.append(
            (
                int(id_map[customer.id]), created, created, customer.name, "OTHER",
                fields.get("sector") or None,
                None if revenue is None else round(revenue * 1_000_000),
                None if employees is None else float(int(employees)),
                fields.get("year_established") or None,
                fields.get("office_location") or None,
                by_name.get(fields.get("subsidiary_of") or ""),
                None, None,
                *(fields.get(column) or None for column in extra),
            )
        )  # fmt: skip
    return columns, rows


@dataclass
class DealChunk:
    """A chunk of seeded deals with their associations and stage history rows."""

    deals: list[tuple[object, ...]] = field(default_factory=list)
    associations: list[tuple[int, int, str]] = field(default_factory=list)
    history: list[tuple[int, str, str, int, str, str]] = field(default_factory=list)


class DealSeeder:
    """Deals streamed from the seed in chunks; notes the values enumerations must offer."""

    def __init__(
        self, dataset: SeedDataset, pipeline: Pipeline, ids: SeedIds, id_map: dict[str, str]
    ) -> None:
        self.dataset = dataset
        self.pipeline = pipeline
        self.ids = ids
        self.id_map = id_map
        self.stage_ids = {stage.label: stage.id for stage in pipeline.stages}
        self.stage_index = {stage.id: i for i, stage in enumerate(pipeline.stages)}
        self.columns: tuple[str, ...] = (
            "hs_object_id", "createdate", "hs_lastmodifieddate", "dealname", "amount",
            "deal_currency_code", "amount_in_home_currency", "pipeline", "dealstage",
            "closedate", "dealtype", "hs_is_closed", "hs_is_closed_won", "hs_is_closed_lost",
            "hs_deal_stage_probability", "lead_source",
            *(f"hs_v2_date_entered_{s.id}" for s in pipeline.stages),
            *(f"hs_v2_date_exited_{s.id}" for s in pipeline.stages),
        )  # fmt: skip
        managers = sorted({p.channel_manager for p in dataset.partners if p.channel_manager})
        user_ids = {name: FIRST_USER_ID + n for n, name in enumerate(managers)}
        #: per partner seed key: its company id and the history source of its deals' changes
        self.partners = {
            p.id: (
                int(id_map[p.id]),
                f"userId:{user_ids.get(p.channel_manager or '', FIRST_USER_ID - 1)}",
            )
            for p in dataset.partners
        }
        self.customers = {c.id: int(id_map[c.id]) for c in dataset.customers}
        self.customer_types = encode([PRIMARY, UNLABELED])
        self.partner_types = encode([RESELLER, UNLABELED])
        self.both_types = encode([PRIMARY, RESELLER, UNLABELED])
        self.unknown_source = f"userId:{FIRST_USER_ID - 1}"
        self.deal_types: set[str] = set()
        self.lead_sources: set[str] = set()
        self.earliest: int | None = None
        self._days: dict[date, int] = {}

    def _ms(self, day: date, minute: int = 0, hour: int = 9) -> int:
        base = self._days.get(day)
        if base is None:
            base = self._days[day] = day_ms(day)
        return base + (hour * 60 + minute) * 60_000

    def chunks(self, size: int = 20_000) -> Iterator[DealChunk]:
        """The deals in chunks of ``size``, in seed order."""
        serial = 0
        for records in self.dataset.pipeline_chunks(size):
            chunk = DealChunk()
            for record in records:
                self._deal(serial, record, chunk)
                serial += 1
            yield chunk

    def _deal(self, serial: int, record: dict[str, Any], chunk: DealChunk) -> None:
        # numbered in seed-key order, so "smaller id" means the same here as in the seed
        deal_id = DEAL_ID_START + record["rank"]
        self.id_map[record["id"]] = str(deal_id)
        created = self._ms(record["created_date"])
        if self.earliest is None or created < self.earliest:
            self.earliest = created
        stages = [
            (self.stage_ids[visit["stage"]], self._ms(visit["entered_date"], minute=sequence))
            for sequence, visit in enumerate(record["visits"])
        ] or [(self.stage_ids[record["stage"]], created)]
        stages.sort(key=lambda stage: stage[1])
        last_day = datetime.fromtimestamp(stages[-1][1] / 1000, UTC).date()
        modified = self._ms(last_day, hour=18) + (serial % 3600) * 1000
        count = len(self.pipeline.stages)
        entered: list[object] = [None] * count
        exited: list[object] = [None] * count
        partner = self.partners.get(record["partner_id"] or "")
        source = self.unknown_source if partner is None else partner[1]
        for position, (stage_id, moment) in enumerate(stages):
            index = self.stage_index[stage_id]
            entered[index] = moment
            if position + 1 < len(stages):
                exited[index] = stages[position + 1][1]
            chunk.history.append((deal_id, "dealstage", stage_id, moment, SEED_SOURCE_TYPE, source))
        customer = self.customers.get(record["account_id"] or "")
        if partner is not None and partner[0] == customer:
            chunk.associations.append((deal_id, customer, self.both_types))
        else:
            if customer is not None:
                chunk.associations.append((deal_id, customer, self.customer_types))
            if partner is not None:
                chunk.associations.append((deal_id, partner[0], self.partner_types))
        if record["deal_type"]:
            self.deal_types.add(record["deal_type"])
        if record["lead_source"]:
            self.lead_sources.add(record["lead_source"])
        status = record["status"]
        close = record["close_date"]
        chunk.deals.append(
            (
                deal_id, created, modified, record["name"],
                record["amount_original"], record["currency"], record["amount"],
                self.pipeline.id, self.stage_ids[record["stage"]],
                None if close is None else self._ms(close),
                record["deal_type"],
                _bool(status != OpportunityStatus.OPEN),
                _bool(status == OpportunityStatus.WON),
                _bool(status == OpportunityStatus.LOST),
                record["probability"], record["lead_source"],
                *entered, *exited,
            )
        )  # fmt: skip


def _bool(value: bool) -> str:
    return "true" if value else "false"

"""The sandbox's opportunity seeding written row by row, as an independent reference.

This is how both CRMs laid out their deals before seeding became columnar
(``sandbox.seed_frames``): one dict or tuple per row, built in Python from each record's
stage visits. The product no longer runs it; ``test_seed_layout`` checks that the
columnar seeding stores exactly these rows, in this order, and hands out the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from connectors.seed import SeedDataset
from connectors.seed.mapping import PARTNER_ROLE
from core.schema import OpportunityStatus
from sandbox.hubspot.associations import PRIMARY, RESELLER, UNLABELED, encode
from sandbox.hubspot.pipelines import Pipeline
from sandbox.hubspot.values import day_ms
from sandbox.ids import SalesforceIds
from sandbox.salesforce.objects import KEY_PREFIXES
from sandbox.store import at_time, sf_datetime

Row = dict[str, object]
OPPORTUNITY_NAME_LENGTH = 120
SEED_SOURCE_TYPE = "CRM_UI"
FIRST_USER_ID = 45_000_001
DEAL_ID_START = 20_000_000_001
SOBJECTS = ("Opportunity", "OpportunityHistory", "OpportunityPartner")


def records_with_visits(dataset: SeedDataset) -> Iterator[dict[str, Any]]:
    """The records in file order, each with ``rank`` (its place in id order) and ``visits``
    (its stage history, ``stage`` and ``entered_date`` in order)."""
    dataset.require_known_stages()
    visits = (
        dataset.stage_events_frame.sort("opportunity_id", "sequence", maintain_order=True)
        .group_by("opportunity_id", maintain_order=True)
        .agg(pl.struct("stage", "entered_date").alias("visits"))
    )
    frame = dataset.records.with_columns((pl.col("id").rank("ordinal") - 1).alias("rank")).join(
        visits, left_on="id", right_on="opportunity_id", how="left", maintain_order="left"
    )
    yield from frame.iter_rows(named=True)


@dataclass
class SalesforceRows:
    """The opportunity rows of an org per sObject, and the ids they were given."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {name: [] for name in SOBJECTS})
    id_map: dict[str, str] = field(default_factory=dict)


def salesforce_rows(
    dataset: SeedDataset,
    ids: SalesforceIds,
    *,
    customer_ids: dict[str, str],
    partner_ids: dict[str, str],
    owners: dict[str, str | None],
    org_created: datetime,
) -> SalesforceRows:
    """Opportunities, OpportunityHistory and OpportunityPartner rows, one record at a time;
    ``ids`` hands out the history and partner rows' ids as the org's did."""
    multi_currency = len(dataset.currencies.rates) > 1
    out = SalesforceRows()
    for serial, record in enumerate(records_with_visits(dataset)):
        record_id = SalesforceIds.at(KEY_PREFIXES["Opportunity"], record["rank"] + 1)
        out.id_map[record["id"]] = record_id
        stages = [
            (visit["stage"], at_time(visit["entered_date"], minute=sequence))
            for sequence, visit in enumerate(record["visits"])
        ]
        created = at_time(record["created_date"])
        last_activity = max((moment for _, moment in stages), default=created)
        modstamp = sf_datetime(
            at_time(last_activity.date(), hour=18) + timedelta(seconds=serial % 3600)
        )
        partner_account = partner_ids.get(record["partner_id"] or "")
        probability = round(record["probability"] * 100)
        close_date = record["close_date"].isoformat() if record["close_date"] else None
        status = record["status"]
        amount = record["amount_original"]
        row: Row = {
            "IsDeleted": 0, "CreatedDate": sf_datetime(created), "LastModifiedDate": modstamp,
            "SystemModstamp": modstamp, "Id": record_id,
            "Name": record["name"][:OPPORTUNITY_NAME_LENGTH],
            "AccountId": customer_ids.get(record["customer_name"] or ""),
            "PartnerAccountId": partner_account, "StageName": record["stage"],
            "Amount": amount, "Probability": probability, "CloseDate": close_date,
            "LeadSource": record["lead_source"], "Type": record["deal_type"],
            "IsClosed": int(status != OpportunityStatus.OPEN),
            "IsWon": int(status == OpportunityStatus.WON),
            "OwnerId": owners.get(record["partner_id"] or ""),
        }  # fmt: skip
        if multi_currency:
            row["CurrencyIsoCode"] = record["currency"]
        out.tables["Opportunity"].append(row)
        for stage, moment in stages:
            stamp = sf_datetime(moment)
            out.tables["OpportunityHistory"].append({
                "IsDeleted": 0, "CreatedDate": stamp, "SystemModstamp": stamp,
                "Id": ids.next(KEY_PREFIXES["OpportunityHistory"]), "OpportunityId": record_id,
                "StageName": stage, "Amount": amount, "Probability": probability,
                "CloseDate": close_date,
            })  # fmt: skip
        if partner_account is not None:
            system = sf_datetime(org_created)
            out.tables["OpportunityPartner"].append({
                "IsDeleted": 0, "CreatedDate": sf_datetime(created), "LastModifiedDate": system,
                "SystemModstamp": system, "Id": ids.next(KEY_PREFIXES["OpportunityPartner"]),
                "OpportunityId": record_id, "AccountToId": partner_account,
                "Role": PARTNER_ROLE, "IsPrimary": 1,
            })  # fmt: skip
    return out


@dataclass
class HubSpotRows:
    """A portal's deal, association and history rows, and what its configuration needs."""

    deals: list[tuple[object, ...]] = field(default_factory=list)
    associations: list[tuple[int, int, str]] = field(default_factory=list)
    history: list[tuple[int, str, str, int, str, str]] = field(default_factory=list)
    id_map: dict[str, str] = field(default_factory=dict)
    deal_types: set[str] = field(default_factory=set)
    lead_sources: set[str] = field(default_factory=set)
    earliest: int | None = None


def hubspot_rows(
    dataset: SeedDataset, pipeline: Pipeline, company_ids: dict[str, str]
) -> HubSpotRows:
    """Deals (tuples in the columns of ``deal_columns``), associations and dealstage history,
    one record at a time; ``company_ids`` are the partner and customer companies' ids."""
    stage_ids = {stage.label: stage.id for stage in pipeline.stages}
    stage_index = {stage.id: i for i, stage in enumerate(pipeline.stages)}
    managers = sorted({p.channel_manager for p in dataset.partners if p.channel_manager})
    user_ids = {name: FIRST_USER_ID + n for n, name in enumerate(managers)}
    partners = {
        p.id: (int(company_ids[p.id]),
               f"userId:{user_ids.get(p.channel_manager or '', FIRST_USER_ID - 1)}")
        for p in dataset.partners
    }  # fmt: skip
    customers = {c.id: int(company_ids[c.id]) for c in dataset.customers}

    def ms(day: date, minute: int = 0, hour: int = 9) -> int:
        return day_ms(day) + (hour * 60 + minute) * 60_000

    out = HubSpotRows()
    for serial, record in enumerate(records_with_visits(dataset)):
        deal_id = DEAL_ID_START + record["rank"]
        out.id_map[record["id"]] = str(deal_id)
        created = ms(record["created_date"])
        if out.earliest is None or created < out.earliest:
            out.earliest = created
        stages = [
            (stage_ids[visit["stage"]], ms(visit["entered_date"], minute=sequence))
            for sequence, visit in enumerate(record["visits"])
        ] or [(stage_ids[record["stage"]], created)]
        stages.sort(key=lambda stage: stage[1])
        last_day = datetime.fromtimestamp(stages[-1][1] / 1000, UTC).date()
        modified = ms(last_day, hour=18) + (serial % 3600) * 1000
        entered: list[object] = [None] * len(pipeline.stages)
        exited: list[object] = [None] * len(pipeline.stages)
        partner = partners.get(record["partner_id"] or "")
        source = f"userId:{FIRST_USER_ID - 1}" if partner is None else partner[1]
        for position, (stage_id, moment) in enumerate(stages):
            entered[stage_index[stage_id]] = moment
            if position + 1 < len(stages):
                exited[stage_index[stage_id]] = stages[position + 1][1]
            out.history.append((deal_id, "dealstage", stage_id, moment, SEED_SOURCE_TYPE, source))
        customer = customers.get(record["account_id"] or "")
        if partner is not None and partner[0] == customer:
            out.associations.append((deal_id, customer, encode([PRIMARY, RESELLER, UNLABELED])))
        else:
            if customer is not None:
                out.associations.append((deal_id, customer, encode([PRIMARY, UNLABELED])))
            if partner is not None:
                out.associations.append((deal_id, partner[0], encode([RESELLER, UNLABELED])))
        if record["deal_type"]:
            out.deal_types.add(record["deal_type"])
        if record["lead_source"]:
            out.lead_sources.add(record["lead_source"])
        status = record["status"]
        close = record["close_date"]
        flags = ("true" if flag else "false" for flag in (
            status != OpportunityStatus.OPEN, status == OpportunityStatus.WON,
            status == OpportunityStatus.LOST))  # fmt: skip
        out.deals.append((
            deal_id, created, modified, record["name"], record["amount_original"],
            record["currency"], record["amount"], pipeline.id, stage_ids[record["stage"]],
            None if close is None else ms(close), record["deal_type"], *flags,
            record["probability"], record["lead_source"], *entered, *exited,
        ))  # fmt: skip
    return out


def deal_columns(pipeline: Pipeline) -> tuple[str, ...]:
    """The columns of the tuples in ``HubSpotRows.deals``."""
    return (
        "hs_object_id", "createdate", "hs_lastmodifieddate", "dealname", "amount",
        "deal_currency_code", "amount_in_home_currency", "pipeline", "dealstage",
        "closedate", "dealtype", "hs_is_closed", "hs_is_closed_won", "hs_is_closed_lost",
        "hs_deal_stage_probability", "lead_source",
        *(f"hs_v2_date_entered_{s.id}" for s in pipeline.stages),
        *(f"hs_v2_date_exited_{s.id}" for s in pipeline.stages),
    )  # fmt: skip

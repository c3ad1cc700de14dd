"""Seed the sandbox's Salesforce org from a seed dataset (../shared/data/README.md).

The records come from ``connectors.seed`` (the one mapping of the README); this
module only lays them out as Salesforce rows: partners and customers as
Accounts, managers as Users, deals as Opportunities with PartnerAccountId and a
primary OpportunityPartner, stage history as OpportunityHistory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.schema import OpportunityStatus
from connectors.seed import SeedDataset
from connectors.seed.mapping import PARTNER_ROLE
from sandbox.ids import SalesforceIds
from sandbox.salesforce.objects import KEY_PREFIXES
from sandbox.store import at_time, sf_datetime

Row = dict[str, object]


@dataclass
class SalesforceSeed:
    """Rows per object, and the seed key → Salesforce id of every seeded record."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    id_map: dict[str, str] = field(default_factory=dict)
    multi_currency: bool = False


def _modstamp(moment: datetime, serial: int) -> str:
    # spread seeded records over the last hour of their last activity day, so an
    # incremental cursor meets both distinct and tied timestamps
    return sf_datetime(moment + timedelta(seconds=serial % 3600))


def salesforce_rows(dataset: SeedDataset, ids: SalesforceIds) -> SalesforceSeed:
    """Every Salesforce row the seed dataset becomes."""
    seed = SalesforceSeed(multi_currency=len(dataset.currencies.rates) > 1)
    rows = seed.rows

    def new_id(sobject: str, key: str | None = None) -> str:
        record_id = ids.next(KEY_PREFIXES[sobject])
        if key is not None:
            seed.id_map[key] = record_id
        return record_id

    created_at = at_time(min((o.created_date for o in dataset.opportunities), default=None)
                         or datetime(2016, 1, 1).date(), hour=8)  # fmt: skip
    system = {
        "IsDeleted": 0,
        "CreatedDate": sf_datetime(created_at),
        "LastModifiedDate": sf_datetime(created_at),
        "SystemModstamp": sf_datetime(created_at),
    }

    managers = sorted({p.channel_manager for p in dataset.partners if p.channel_manager})
    user_ids = {name: new_id("User", f"user:{name}") for name in managers}
    rows["User"] = [
        {
            **system,
            "Id": user_ids[name],
            "Name": name,
            "Username": name.lower().replace(" ", ".") + "@partner-kpi.local",
            "Email": name.lower().replace(" ", ".") + "@example.com",
            "IsActive": 1,
        }
        for name in managers
    ]

    accounts: list[Row] = []
    for partner in dataset.partners:
        accounts.append(
            {
                **system,
                "Id": new_id("Account", partner.id),
                "Name": partner.name,
                "Type": "Partner",
                "IsPartner": 1,
                "Region__c": partner.region,
                "OwnerId": user_ids.get(partner.channel_manager or ""),
            }
        )
    customer_ids = {c.name: new_id("Account", c.id) for c in dataset.customers}
    for customer in dataset.customers:
        fields = customer.fields
        revenue = _float(fields.get("revenue"))
        accounts.append(
            {
                **system,
                "Id": customer_ids[customer.name],
                "Name": customer.name,
                "Type": "Customer",
                "IsPartner": 0,
                "Industry": fields.get("sector") or None,
                "AnnualRevenue": None if revenue is None else round(revenue * 1_000_000),
                "NumberOfEmployees": _int(fields.get("employees")),
                "YearStarted": fields.get("year_established") or None,
                "BillingCountry": fields.get("office_location") or None,
                "ParentId": customer_ids.get(fields.get("subsidiary_of") or ""),
            }
        )
    rows["Account"] = accounts

    rows["OpportunityStage"] = [
        {
            **system,
            "Id": new_id("OpportunityStage"),
            "MasterLabel": stage.name,
            "ApiName": stage.name,
            "IsActive": 1,
            "IsClosed": int(stage.status is not OpportunityStatus.OPEN),
            "IsWon": int(stage.status is OpportunityStatus.WON),
            "DefaultProbability": round(stage.probability * 100),
            "SortOrder": stage.sort_order,
            "ForecastCategoryName": _forecast_category(stage.status, stage.probability),
        }
        for stage in dataset.stage_defs
    ]
    if seed.multi_currency:
        rows["CurrencyType"] = [
            {
                **system,
                "Id": new_id("CurrencyType"),
                "IsoCode": code,
                "ConversionRate": rate,
                "DecimalPlaces": 2,
                "IsActive": 1,
                "IsCorporate": int(code == dataset.currencies.corporate),
            }
            for code, rate in dataset.currencies.rates.items()
        ]

    partner_ids = {p.id: seed.id_map[p.id] for p in dataset.partners}
    owners = {p.id: user_ids.get(p.channel_manager or "") for p in dataset.partners}
    events_by_opportunity: dict[str, list[tuple[str, datetime]]] = {}
    for event in dataset.stage_events:
        events_by_opportunity.setdefault(event.opportunity_id, []).append(
            (event.stage, at_time(event.entered_date, minute=event.sequence))
        )
    opportunities: list[Row] = []
    history: list[Row] = []
    opportunity_partners: list[Row] = []
    for serial, seeded in enumerate(dataset.seed_opportunities):
        opportunity = seeded.opportunity
        record_id = new_id("Opportunity", opportunity.id)
        stages = events_by_opportunity.get(opportunity.id, [])
        created = at_time(opportunity.created_date)
        last_activity = max((moment for _, moment in stages), default=created)
        modstamp = _modstamp(at_time(last_activity.date(), hour=18), serial)
        partner_account = partner_ids.get(opportunity.partner_id or "")
        row: Row = {
            "IsDeleted": 0,
            "CreatedDate": sf_datetime(created),
            "LastModifiedDate": modstamp,
            "SystemModstamp": modstamp,
            "Id": record_id,
            "Name": opportunity.name or opportunity.id,
            "AccountId": customer_ids.get(seeded.customer_name or ""),
            "PartnerAccountId": partner_account,
            "StageName": opportunity.stage,
            "Amount": opportunity.amount_original,
            "Probability": round(opportunity.probability * 100),
            "CloseDate": opportunity.close_date.isoformat() if opportunity.close_date else None,
            "LeadSource": opportunity.lead_source,
            "Type": seeded.deal_type,
            "IsClosed": int(opportunity.status is not OpportunityStatus.OPEN),
            "IsWon": int(opportunity.status is OpportunityStatus.WON),
            "OwnerId": owners.get(opportunity.partner_id or ""),
        }
        if seed.multi_currency:
            row["CurrencyIsoCode"] = opportunity.currency
        opportunities.append(row)
        for stage, moment in stages:
            stamp = sf_datetime(moment)
            history.append(
                {
                    "IsDeleted": 0,
                    "CreatedDate": stamp,
                    "LastModifiedDate": stamp,
                    "SystemModstamp": stamp,
                    "Id": new_id("OpportunityHistory"),
                    "OpportunityId": record_id,
                    "StageName": stage,
                    "Amount": opportunity.amount_original,
                    "Probability": row["Probability"],
                    "CloseDate": row["CloseDate"],
                }
            )
        if partner_account is not None:
            opportunity_partners.append(
                {
                    **system,
                    "CreatedDate": sf_datetime(created),
                    "Id": new_id("OpportunityPartner"),
                    "OpportunityId": record_id,
                    "AccountToId": partner_account,
                    "Role": PARTNER_ROLE,
                    "IsPrimary": 1,
                }
            )
    rows["Opportunity"] = opportunities
    rows["OpportunityHistory"] = history
    rows["OpportunityPartner"] = opportunity_partners
    return seed


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return None if value is None else int(value)


def _forecast_category(status: OpportunityStatus, probability: float) -> str:
    if status is OpportunityStatus.WON:
        return "Closed"
    if status is OpportunityStatus.LOST:
        return "Omitted"
    return "BestCase" if probability >= 0.5 else "Pipeline"


def iter_rows(seed: SalesforceSeed) -> Iterator[tuple[str, list[Row]]]:
    """Objects in an order that respects references (parents first)."""
    for sobject in (
        "User",
        "Account",
        "OpportunityStage",
        "CurrencyType",
        "Opportunity",
        "OpportunityHistory",
        "OpportunityPartner",
    ):
        if sobject in seed.rows:
            yield sobject, seed.rows[sobject]

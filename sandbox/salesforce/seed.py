"""Seed the sandbox's Salesforce org from a seed dataset (../shared/data/README.md).

The records come from ``connectors.seed`` (the one mapping of the README); this
module only lays them out as Salesforce rows: partners and customers as
Accounts, managers as Users, deals as Opportunities with PartnerAccountId and a
primary OpportunityPartner, stage history as OpportunityHistory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.seed import SeedDataset
from connectors.seed.mapping import PARTNER_ROLE
from connectors.seed.reader import iter_rows
from core.errors import SeedFormatError
from core.schema import OpportunityStatus
from sandbox.ids import SalesforceIds
from sandbox.salesforce.objects import KEY_PREFIXES
from sandbox.store import at_time, sf_datetime

Row = dict[str, object]


Insert = Callable[[str, list[Row]], None]
CHUNK = 5000
#: the describe ``length`` of Account.Name and Opportunity.Name (sandbox/salesforce/objects.py)
ACCOUNT_NAME_LENGTH = 255
OPPORTUNITY_NAME_LENGTH = 120
#: the seed columns that become Account names
ACCOUNT_NAME_COLUMNS = (("sales_teams.csv", "sales_agent"), ("accounts.csv", "account"))


@dataclass
class SalesforceSeed:
    """The seed key → Salesforce id of every seeded record, and the org's currency mode."""

    id_map: dict[str, str] = field(default_factory=dict)
    multi_currency: bool = False


def _modstamp(moment: datetime, serial: int) -> str:
    # spread seeded records over the hour after their last activity, so an
    # incremental cursor meets both distinct and tied timestamps
    return sf_datetime(moment + timedelta(seconds=serial % 3600))


def seed_salesforce(dataset: SeedDataset, ids: SalesforceIds, insert: Insert) -> SalesforceSeed:
    """Lay the seed dataset out as Salesforce rows, handing them to ``insert`` in chunks.

    Opportunities stream from the seed file, so memory stays flat in their number.
    """
    _refuse_long_account_names(dataset)
    seed = SalesforceSeed(multi_currency=len(dataset.currencies.rates) > 1)

    def new_id(sobject: str, key: str | None = None) -> str:
        record_id = ids.next(KEY_PREFIXES[sobject])
        if key is not None:
            seed.id_map[key] = record_id
        return record_id

    org_created = at_time(dataset.fallback_created.replace(month=1, day=1), hour=8)
    system = {
        "IsDeleted": 0,
        "CreatedDate": sf_datetime(org_created),
        "LastModifiedDate": sf_datetime(org_created),
        "SystemModstamp": sf_datetime(org_created),
    }

    managers = sorted({p.channel_manager for p in dataset.partners if p.channel_manager})
    user_ids = {name: new_id("User", f"user:{name}") for name in managers}
    insert(
        "User",
        [
            {
                **system,
                "Id": user_ids[name],
                "Name": name,
                "Username": name.lower().replace(" ", ".") + "@partner-kpi.local",
                "Email": name.lower().replace(" ", ".") + "@example.com",
                "IsActive": 1,
            }
            for name in managers
        ],
    )

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
    insert("Account", accounts)

    insert(
        "OpportunityStage",
        [
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
        ],
    )
    if seed.multi_currency:
        insert(
            "CurrencyType",
            [
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
            ],
        )

    partner_ids = {p.id: seed.id_map[p.id] for p in dataset.partners}
    owners = {p.id: user_ids.get(p.channel_manager or "") for p in dataset.partners}
    chunk: dict[str, list[Row]] = {"Opportunity": [], "OpportunityHistory": [],
                                   "OpportunityPartner": []}  # fmt: skip

    def flush() -> None:
        for sobject, rows in chunk.items():
            insert(sobject, rows)
            rows.clear()

    for serial, record in enumerate(
        record for chunk_rows in dataset.pipeline_chunks(CHUNK) for record in chunk_rows
    ):
        # numbered in seed-key order, so "smaller id" means the same here as in the seed
        record_id = ids.at(KEY_PREFIXES["Opportunity"], record["rank"] + 1)
        seed.id_map[record["id"]] = record_id
        stages = [
            (visit["stage"], at_time(visit["entered_date"], minute=sequence))
            for sequence, visit in enumerate(record["visits"])
        ]
        created = at_time(record["created_date"])
        last_activity = max((moment for _, moment in stages), default=created)
        modstamp = _modstamp(at_time(last_activity.date(), hour=18), serial)
        partner_account = partner_ids.get(record["partner_id"] or "")
        probability = round(record["probability"] * 100)
        close_date = record["close_date"].isoformat() if record["close_date"] else None
        status = record["status"]
        amount = record["amount_original"]
        row: Row = {
            "IsDeleted": 0,
            "CreatedDate": sf_datetime(created),
            "LastModifiedDate": modstamp,
            "SystemModstamp": modstamp,
            "Id": record_id,
            # the seed mapping makes this name ("customer – product"): cut as an org's
            # user would have to, so that a long but valid customer name is seeded
            "Name": record["name"][:OPPORTUNITY_NAME_LENGTH],
            "AccountId": customer_ids.get(record["customer_name"] or ""),
            "PartnerAccountId": partner_account,
            "StageName": record["stage"],
            "Amount": amount,
            "Probability": probability,
            "CloseDate": close_date,
            "LeadSource": record["lead_source"],
            "Type": record["deal_type"],
            "IsClosed": int(status != OpportunityStatus.OPEN),
            "IsWon": int(status == OpportunityStatus.WON),
            "OwnerId": owners.get(record["partner_id"] or ""),
        }
        if seed.multi_currency:
            row["CurrencyIsoCode"] = record["currency"]
        chunk["Opportunity"].append(row)
        for stage, moment in stages:
            stamp = sf_datetime(moment)
            chunk["OpportunityHistory"].append(
                {
                    "IsDeleted": 0,
                    "CreatedDate": stamp,
                    "SystemModstamp": stamp,
                    "Id": new_id("OpportunityHistory"),
                    "OpportunityId": record_id,
                    "StageName": stage,
                    "Amount": amount,
                    "Probability": probability,
                    "CloseDate": close_date,
                }
            )
        if partner_account is not None:
            chunk["OpportunityPartner"].append(
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
        if len(chunk["Opportunity"]) >= CHUNK:
            flush()
    flush()
    return seed


def _refuse_long_account_names(dataset: SeedDataset) -> None:
    """A name no org can hold refuses the seed, naming its file, line and column."""
    for file, column in ACCOUNT_NAME_COLUMNS:
        path = dataset.folder / file
        for line, row in iter_rows(path, (column,)):
            name = row[column].strip()
            if len(name) > ACCOUNT_NAME_LENGTH:
                raise SeedFormatError(
                    f"{path}, line {line}: {column} becomes an Account Name no org holds: "
                    f"{name[:40]!r}… is {len(name)} characters; Salesforce holds at most "
                    f"{ACCOUNT_NAME_LENGTH} (STRING_TOO_LONG)"
                )


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

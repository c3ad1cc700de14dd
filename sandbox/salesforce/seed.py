"""Seed the sandbox's Salesforce org from a seed dataset (../shared/data/README.md).

The records come from ``connectors.seed`` (the one mapping of the README); this
module only lays them out as Salesforce rows: partners and customers as
Accounts, managers as Users, deals as Opportunities with PartnerAccountId and a
primary OpportunityPartner, stage history as OpportunityHistory; leads, quotes, cases,
calls and line items through ``seed_activity``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from connectors.seed import SeedDataset
from connectors.seed.mapping import PARTNER_ROLE
from connectors.seed.reader import iter_rows
from core.errors import SeedFormatError
from core.schema import OpportunityStatus
from sandbox.ids import SalesforceIds, salesforce_ids
from sandbox.salesforce.objects import KEY_PREFIXES
from sandbox.salesforce.seed_activity import ActivityLookups, seed_activity
from sandbox.seed_frames import (
    POSITION,
    RANK,
    SERIAL,
    VISIT_HOUR,
    at_hour,
    lookup,
    numbered,
    sf_datetimes,
)
from sandbox.store import at_time, sf_datetime

Row = dict[str, object]

#: rows of a few records (users, accounts, stages, currencies), one dict per row
Insert = Callable[[str, list[Row]], None]
#: a table of many rows (opportunities and their children), its columns named by field
InsertFrame = Callable[[str, pl.DataFrame], None]
#: the describe ``length`` of Account.Name and Opportunity.Name (sandbox/salesforce/objects.py)
ACCOUNT_NAME_LENGTH = 255
OPPORTUNITY_NAME_LENGTH = 120
#: the seed columns that become Account names
ACCOUNT_NAME_COLUMNS = (("sales_teams.csv", "sales_agent"), ("accounts.csv", "account"))


@dataclass
class SalesforceSeed:
    """The seed key → Salesforce id of every seeded partner, customer, user and deal, the
    org's currency mode, and the activity records' ids as columns."""

    id_map: dict[str, str] = field(default_factory=dict)
    multi_currency: bool = False
    #: per activity stream, each seed id (``id``) and its record's Salesforce ``Id``
    activity_ids: dict[str, pl.DataFrame] = field(default_factory=dict)


def seed_salesforce(
    dataset: SeedDataset,
    ids: SalesforceIds,
    insert: Insert,
    insert_frame: InsertFrame,
    activity: dict[str, pl.DataFrame | None] | None = None,
) -> SalesforceSeed:
    """Lay the seed dataset out as Salesforce rows: the few as dicts to ``insert``, the
    opportunities, their children and the ``activity`` tables (``seed_activity``) as
    columns to ``insert_frame``."""
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
    deals = _seed_opportunities(dataset, seed, ids, insert_frame, OpportunityLookups(
        customers=customer_ids, partners=partner_ids, owners=owners,
        system_stamp=sf_datetime(org_created),
    ))  # fmt: skip
    if activity is not None:
        seed.activity_ids = seed_activity(activity, ActivityLookups(
            partners=partner_ids,
            customers={c.id: customer_ids[c.name] for c in dataset.customers},
            opportunities=deals, rates=dict(dataset.currencies.rates),
            multi_currency=seed.multi_currency, prices=dict(dataset.prices),
            system_stamp=sf_datetime(org_created),
        ), ids, insert_frame)  # fmt: skip
    return seed


@dataclass(frozen=True)
class OpportunityLookups:
    """Seed key → Salesforce id of what an opportunity refers to, and the org's stamp."""

    customers: dict[str, str]
    partners: dict[str, str]
    owners: dict[str, str | None]
    system_stamp: str


def _seed_opportunities(
    dataset: SeedDataset,
    seed: SalesforceSeed,
    ids: SalesforceIds,
    insert_frame: InsertFrame,
    lookups: OpportunityLookups,
) -> pl.DataFrame:
    """Opportunities, their OpportunityHistory and primary OpportunityPartner rows, built as
    columns: a record's row in file order, its id numbered in seed-key order, so "smaller
    id" means the same here as in the seed. Returns, per seed id, the deal's
    ``OpportunityId``, ``__currency`` and ``__created`` (``ActivityLookups.opportunities``)."""
    records, visits = numbered(dataset)
    moments = visits.select(
        SERIAL, "stage", at_hour(pl.col("entered_date"), hour=VISIT_HOUR, minutes=pl.col(POSITION))
        .alias("moment"),
    )  # fmt: skip
    last_day = moments.group_by(SERIAL).agg(pl.col("moment").max().dt.date().alias("last_day"))
    record_id = salesforce_ids(KEY_PREFIXES["Opportunity"], pl.col(RANK) + 1)
    probability = {p: round(p * 100) for p in records["probability"].unique().drop_nulls()}
    opportunities = (
        records.join(last_day, on=SERIAL, how="left", maintain_order="left")
        .with_columns(
            record_id.alias("Id"),
            pl.col("probability").replace_strict(probability, return_dtype=pl.Int64)
            .alias("Probability"),
            pl.col("close_date").cast(pl.String).alias("CloseDate"),
            lookup("partner_id", dict(lookups.partners)).alias("PartnerAccountId"),
            sf_datetimes(at_hour(pl.col("created_date"), hour=VISIT_HOUR)).alias("CreatedDate"),
        )
    )  # fmt: skip
    seed.id_map.update(zip(opportunities["id"], opportunities["Id"], strict=True))
    # spread seeded records over the hour after their last activity, so an incremental
    # cursor meets both distinct and tied timestamps
    modstamp = sf_datetimes(
        at_hour(pl.coalesce("last_day", "created_date"), hour=18, minutes=0)
        + pl.duration(seconds=pl.col(SERIAL) % 3600)
    )
    status = pl.col("status")
    opportunity_columns = [
        pl.lit(0).alias("IsDeleted"),
        "CreatedDate",
        modstamp.alias("LastModifiedDate"),
        modstamp.alias("SystemModstamp"),
        "Id",
        # the seed mapping makes this name ("customer – product"): cut as an org's
        # user would have to, so that a long but valid customer name is seeded
        pl.col("name").str.slice(0, OPPORTUNITY_NAME_LENGTH).alias("Name"),
        lookup("customer_name", dict(lookups.customers)).alias("AccountId"),
        "PartnerAccountId",
        pl.col("stage").alias("StageName"),
        pl.col("amount_original").alias("Amount"),
        "Probability",
        "CloseDate",
        pl.col("lead_source").alias("LeadSource"),
        pl.col("deal_type").alias("Type"),
        (status != OpportunityStatus.OPEN.value).cast(pl.Int64).alias("IsClosed"),
        (status == OpportunityStatus.WON.value).cast(pl.Int64).alias("IsWon"),
        lookup("partner_id", dict(lookups.owners)).alias("OwnerId"),
    ]
    if seed.multi_currency:
        opportunity_columns.append(pl.col("currency").alias("CurrencyIsoCode"))
    # lazily, so that a column computed twice (a stamp) is computed, and held, once
    insert_frame("Opportunity", opportunities.lazy().select(opportunity_columns).collect())
    deals = opportunities.select(
        pl.col("id").alias("__seed_id"),
        pl.col("Id").alias("OpportunityId"),
        pl.col("currency").alias("__currency"),
        at_hour(pl.col("created_date"), hour=VISIT_HOUR).alias("__created"),
    ).unique("__seed_id", keep="last", maintain_order=True)
    opportunities = opportunities.select(
        SERIAL, "Id", "amount_original", "Probability", "CloseDate", "PartnerAccountId",
        "CreatedDate",
    )  # fmt: skip
    del visits, last_day

    history = moments.join(
        opportunities.select(SERIAL, "Id", "amount_original", "Probability", "CloseDate"),
        on=SERIAL, how="left", maintain_order="left",
    )  # fmt: skip
    stamp = sf_datetimes(pl.col("moment"))
    first = ids.take(KEY_PREFIXES["OpportunityHistory"], history.height)
    del moments
    insert_frame("OpportunityHistory", history.lazy().select(
        pl.lit(0).alias("IsDeleted"),
        stamp.alias("CreatedDate"),
        stamp.alias("SystemModstamp"),
        salesforce_ids(KEY_PREFIXES["OpportunityHistory"], pl.int_range(first, first + pl.len()))
        .alias("Id"),
        pl.col("Id").alias("OpportunityId"),
        pl.col("stage").alias("StageName"),
        pl.col("amount_original").alias("Amount"),
        "Probability",
        "CloseDate",
    ).collect())  # fmt: skip

    del history
    partnered = opportunities.filter(pl.col("PartnerAccountId").is_not_null())
    first = ids.take(KEY_PREFIXES["OpportunityPartner"], partnered.height)
    insert_frame("OpportunityPartner", partnered.lazy().select(
        pl.lit(0).alias("IsDeleted"),
        "CreatedDate",
        pl.lit(lookups.system_stamp).alias("LastModifiedDate"),
        pl.lit(lookups.system_stamp).alias("SystemModstamp"),
        salesforce_ids(KEY_PREFIXES["OpportunityPartner"], pl.int_range(first, first + pl.len()))
        .alias("Id"),
        pl.col("Id").alias("OpportunityId"),
        pl.col("PartnerAccountId").alias("AccountToId"),
        pl.lit(PARTNER_ROLE).alias("Role"),
        pl.lit(1).alias("IsPrimary"),
    ).collect())  # fmt: skip
    return deals


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

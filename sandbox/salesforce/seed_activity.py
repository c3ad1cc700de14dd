"""Seed the org's leads, quotes, cases, calls and line items from a dataset's activity.

Each activity table (``kpi_engine.frames.Activity``, seed ids) is laid out as the
Salesforce objects that hold it, as columns:

- a lead: a Lead (PartnerAccountId, Status, IsConverted, ConvertedDate,
  ConvertedOpportunityId, LeadSource);
- a quote: a Quote on its opportunity, and when it was sent a QuoteDocument (the PDF
  that "Email Quote" sends) created that day;
- a case: a Case (ClosedDate, IsClosed, the First_Contact_Resolved__c checkbox), one
  Task (TaskSubtype Email, WhatId the case) per logged contact, and CaseHistory rows of
  Field ``Status``: New → Closed → Working for a reopened case, then → Closed when it
  closed again (or New → Closed);
- a call: a Task with TaskSubtype Call on its opportunity (ActivityDate,
  CallDurationInSeconds, CallDisposition from ``DISPOSITIONS``);
- a line item: an OpportunityLineItem on a PricebookEntry of the standard price book for
  its Product2, its TotalPrice in the opportunity's currency.

A table the dataset lacks (None) means the org has no such object: ``drop_absent``
removes the objects before the org makes its tables, so a connector finds them missing.
A record whose opportunity or account the seed does not hold cannot exist in an org
(a required lookup) and is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from connectors.seed import SeedDataset
from sandbox.ids import SalesforceIds, salesforce_ids
from sandbox.salesforce.objects import KEY_PREFIXES, SfSchema
from sandbox.seed_frames import at_hour, lookup, sf_datetimes

InsertFrame = Callable[[str, pl.DataFrame], None]

#: the objects that hold each activity stream (absent stream: these go; Task stays while
#: cases or calls need it)
OBJECTS_OF_STREAM: dict[str, tuple[str, ...]] = {
    "leads": ("Lead",),
    "quotes": ("Quote", "QuoteDocument"),
    "cases": ("Case", "CaseHistory", "CaseStatus"),
    "calls": (),
    "line_items": ("OpportunityLineItem", "PricebookEntry", "Pricebook2", "Product2"),
}
#: a call's outcome as the CallDisposition a CTI adapter writes
DISPOSITIONS = {"connected": "Connected", "no_answer": "No Answer", "voicemail": "Left Voicemail"}
#: Case statuses: the org's CaseStatus rows (value, closed)
CASE_STATUSES = (("New", False), ("Working", False), ("Escalated", False), ("Closed", True))
_SERIAL = "__serial"


def activity_tables(dataset: SeedDataset) -> dict[str, pl.DataFrame | None]:
    """The dataset's activity rows per stream (None: no such file): each entity's whole
    layout, and for line items the seed's ``amount_original`` in the deal's currency."""
    return dict(dataset.activity_rows)


def drop_absent(schema: SfSchema, tables: dict[str, pl.DataFrame | None]) -> None:
    """Remove the objects of every stream the dataset lacks, before any table is made."""
    for stream, objects in OBJECTS_OF_STREAM.items():
        if tables[stream] is None:
            for name in objects:
                schema.objects.pop(name.lower(), None)
    if tables["cases"] is None and tables["calls"] is None:
        schema.objects.pop("task", None)


@dataclass(frozen=True)
class ActivityLookups:
    """Seed id → Salesforce id of what activity refers to, and the org's currency mode."""

    partners: dict[str, str]
    customers: dict[str, str]
    #: per seed opportunity (``__seed_id``): its ``OpportunityId``, ``__currency`` and the
    #: moment it was created (``__created``, when its products were added)
    opportunities: pl.DataFrame
    rates: dict[str, float]
    multi_currency: bool
    prices: dict[str, float]
    system_stamp: str


def seed_activity(
    tables: dict[str, pl.DataFrame | None],
    lookups: ActivityLookups,
    ids: SalesforceIds,
    insert_frame: InsertFrame,
) -> dict[str, pl.DataFrame]:
    """Lay every present activity table out as its Salesforce rows; per stream, each seed
    id (``id``) with its record's Salesforce ``Id`` (columns, not a dict of millions)."""
    builders: dict[str, Callable[..., None]] = {
        "leads": _leads,
        "quotes": _quotes,
        "cases": _cases,
        "calls": _calls,
        "line_items": _line_items,
    }
    if tables["cases"] is not None:
        _case_statuses(ids, insert_frame, lookups.system_stamp)
    crm_ids: dict[str, pl.DataFrame] = {}
    for stream, build in builders.items():
        table = tables[stream]
        if table is None:
            continue
        numbered = _numbered(table, ids, KEY_PREFIXES[_MAIN_OBJECT[stream]])
        crm_ids[stream] = numbered.select("id", "Id")
        build(numbered, lookups, ids, insert_frame)
    return crm_ids


_MAIN_OBJECT = {
    "leads": "Lead",
    "quotes": "Quote",
    "cases": "Case",
    "calls": "Task",
    "line_items": "OpportunityLineItem",
}


def _numbered(table: pl.DataFrame, ids: SalesforceIds, prefix: str) -> pl.DataFrame:
    """The table with ``_SERIAL`` (file order) and ``Id`` numbered in seed-id order."""
    first = ids.take(prefix, table.height)
    return table.with_row_index(_SERIAL).with_columns(
        salesforce_ids(prefix, pl.col("id").rank("ordinal") - 1 + first).alias("Id")
    )


def _system(created: pl.Expr, modified: pl.Expr) -> list[pl.Expr]:
    """IsDeleted, CreatedDate, LastModifiedDate and SystemModstamp; the stamps are spread
    over an hour by file order, so an incremental cursor meets distinct and tied ones."""
    stamp = sf_datetimes(modified + pl.duration(seconds=pl.col(_SERIAL) % 3600))
    return [
        pl.lit(0).alias("IsDeleted"),
        sf_datetimes(created).alias("CreatedDate"),
        stamp.alias("LastModifiedDate"),
        stamp.alias("SystemModstamp"),
    ]


def _opportunity(table: pl.DataFrame, lookups: ActivityLookups) -> pl.DataFrame:
    """The table with the Salesforce ``OpportunityId`` and ``__currency`` of its deal."""
    return table.join(
        lookups.opportunities, left_on="opportunity_id", right_on="__seed_id", how="left",
        maintain_order="left",
    )  # fmt: skip


def _leads(
    table: pl.DataFrame, lookups: ActivityLookups, ids: SalesforceIds, insert: InsertFrame
) -> None:
    converted = table.join(
        lookups.opportunities.select(
            pl.col("__seed_id").alias("converted_opportunity_id"),
            pl.col("OpportunityId").alias("ConvertedOpportunityId"),
        ),
        on="converted_opportunity_id", how="left", maintain_order="left",
    )  # fmt: skip
    insert("Lead", converted.lazy().select(
        *_system(at_hour(pl.col("created_date"), hour=10),
                 at_hour(pl.coalesce("converted_date", "created_date"), hour=18)),
        "Id",
        pl.concat_str(pl.lit("Lead "), pl.col("id")).alias("LastName"),
        pl.concat_str(pl.lit("Prospect of lead "), pl.col("id")).alias("Company"),
        pl.col("status").fill_null("Open").alias("Status"),
        pl.col("lead_source").alias("LeadSource"),
        pl.col("converted_date").is_not_null().cast(pl.Int64).alias("IsConverted"),
        pl.col("converted_date").cast(pl.String).alias("ConvertedDate"),
        "ConvertedOpportunityId",
        lookup("partner_id", lookups.partners).alias("PartnerAccountId"),
    ).collect())  # fmt: skip


def _quotes(
    table: pl.DataFrame, lookups: ActivityLookups, ids: SalesforceIds, insert: InsertFrame
) -> None:
    quotes = _opportunity(table, lookups).filter(pl.col("OpportunityId").is_not_null())
    columns = [
        *_system(at_hour(pl.col("created_date"), hour=11),
                 at_hour(pl.coalesce("sent_date", "created_date"), hour=18)),
        "Id",
        pl.concat_str(pl.lit("Quote "), pl.col("id")).alias("Name"),
        "OpportunityId",
        pl.col("status").alias("Status"),
    ]  # fmt: skip
    if lookups.multi_currency:
        columns.append(pl.col("__currency").alias("CurrencyIsoCode"))
    insert("Quote", quotes.lazy().select(columns).collect())
    sent = quotes.filter(pl.col("sent_date").is_not_null())
    first = ids.take(KEY_PREFIXES["QuoteDocument"], sent.height)
    moment = at_hour(pl.col("sent_date"), hour=14)
    insert("QuoteDocument", sent.lazy().select(
        pl.lit(0).alias("IsDeleted"),
        sf_datetimes(moment).alias("CreatedDate"),
        sf_datetimes(moment).alias("LastModifiedDate"),
        sf_datetimes(moment).alias("SystemModstamp"),
        salesforce_ids(KEY_PREFIXES["QuoteDocument"], pl.int_range(first, first + pl.len()))
        .alias("Id"),
        pl.concat_str(pl.lit("Quote "), pl.col("id"), pl.lit(" v1.pdf")).alias("Name"),
        pl.col("Id").alias("QuoteId"),
    ).collect())  # fmt: skip


def _case_statuses(ids: SalesforceIds, insert: InsertFrame, stamp: str) -> None:
    first = ids.take(KEY_PREFIXES["CaseStatus"], len(CASE_STATUSES))
    insert("CaseStatus", pl.DataFrame({
        "IsDeleted": [0] * len(CASE_STATUSES),
        "CreatedDate": [stamp] * len(CASE_STATUSES),
        "LastModifiedDate": [stamp] * len(CASE_STATUSES),
        "SystemModstamp": [stamp] * len(CASE_STATUSES),
        "Id": [ids.at(KEY_PREFIXES["CaseStatus"], first + n) for n in range(len(CASE_STATUSES))],
        "MasterLabel": [name for name, _ in CASE_STATUSES],
        "ApiName": [name for name, _ in CASE_STATUSES],
        "IsClosed": [int(closed) for _, closed in CASE_STATUSES],
        "SortOrder": list(range(1, len(CASE_STATUSES) + 1)),
    }))  # fmt: skip


def _cases(
    table: pl.DataFrame, lookups: ActivityLookups, ids: SalesforceIds, insert: InsertFrame
) -> None:
    cases = table.with_columns(
        lookup("account_id", lookups.customers).alias("AccountId"),
        pl.col("contact_count").fill_null(0).cast(pl.Int64).alias("__contacts"),
        pl.col("reopened").fill_null(False).alias("__reopened"),
    )
    closed = pl.col("closed_date").is_not_null()
    worked = (pl.col("__contacts") > 0) | pl.col("__reopened")
    insert("Case", cases.lazy().select(
        *_system(at_hour(pl.col("created_date"), hour=9, minutes=30),
                 at_hour(pl.coalesce("closed_date", "created_date"), hour=18)),
        "Id",
        pl.format("{}", (pl.col("Id").rank("ordinal")).cast(pl.String).str.zfill(8))
        .alias("CaseNumber"),
        pl.concat_str(pl.lit("Case "), pl.col("id")).alias("Subject"),
        "AccountId",
        pl.col("type").alias("Type"),
        pl.when(closed).then(pl.lit("Closed")).when(worked).then(pl.lit("Working"))
        .otherwise(pl.lit("New")).alias("Status"),
        closed.cast(pl.Int64).alias("IsClosed"),
        sf_datetimes(at_hour(pl.col("closed_date"), hour=16)).alias("ClosedDate"),
        pl.col("first_contact_resolved").fill_null(False).cast(pl.Int64)
        .alias("First_Contact_Resolved__c"),
    ).collect())  # fmt: skip

    # one logged email per contact, on the day the case was opened, a minute apart
    contacts = (
        cases.filter(pl.col("__contacts") > 0)
        .select(_SERIAL, "Id", "created_date", pl.int_ranges(0, "__contacts").alias("__n"))
        .explode("__n")
    )
    first = ids.take(KEY_PREFIXES["Task"], contacts.height)
    moment = at_hour(pl.col("created_date"), hour=12, minutes=pl.col("__n"))
    insert("Task", contacts.lazy().select(
        pl.lit(0).alias("IsDeleted"),
        sf_datetimes(moment).alias("CreatedDate"),
        sf_datetimes(moment).alias("LastModifiedDate"),
        sf_datetimes(moment).alias("SystemModstamp"),
        salesforce_ids(KEY_PREFIXES["Task"], pl.int_range(first, first + pl.len())).alias("Id"),
        pl.lit("Email: about your case").alias("Subject"),
        pl.col("Id").alias("WhatId"),
        pl.lit("Email").alias("TaskSubtype"),
        pl.lit("Completed").alias("Status"),
        pl.col("created_date").cast(pl.String).alias("ActivityDate"),
        pl.lit(1).alias("IsClosed"),
    ).collect())  # fmt: skip

    # Status history: (old, new, moment) rows per case
    created = at_hour(pl.col("created_date"), hour=9, minutes=30)
    steps = [
        (pl.lit(True), pl.lit(None, pl.String), pl.lit(None, pl.String), created, "created"),
        (pl.col("__reopened"), pl.lit("New"), pl.lit("Closed"),
         at_hour(pl.col("created_date"), hour=13), "Status"),
        (pl.col("__reopened"), pl.lit("Closed"), pl.lit("Working"),
         at_hour(pl.col("created_date"), hour=14), "Status"),
        (closed, pl.when(pl.col("__reopened")).then(pl.lit("Working")).otherwise(pl.lit("New")),
         pl.lit("Closed"), at_hour(pl.col("closed_date"), hour=16), "Status"),
    ]  # fmt: skip
    history = pl.concat(
        [
            cases.filter(when).select(
                _SERIAL,
                pl.lit(step).alias("__step"),
                pl.col("Id").alias("CaseId"),
                pl.lit(name).alias("Field"),
                old.alias("OldValue"),
                new.alias("NewValue"),
                moment.alias("__moment"),
            )
            for step, (when, old, new, moment, name) in enumerate(steps)
        ]
    ).sort(_SERIAL, "__step")
    first = ids.take(KEY_PREFIXES["CaseHistory"], history.height)
    insert("CaseHistory", history.lazy().select(
        pl.lit(0).alias("IsDeleted"),
        sf_datetimes(pl.col("__moment")).alias("CreatedDate"),
        sf_datetimes(pl.col("__moment")).alias("LastModifiedDate"),
        sf_datetimes(pl.col("__moment")).alias("SystemModstamp"),
        salesforce_ids(KEY_PREFIXES["CaseHistory"], pl.int_range(first, first + pl.len()))
        .alias("Id"),
        "CaseId", "Field", "OldValue", "NewValue",
    ).collect())  # fmt: skip


def _calls(
    table: pl.DataFrame, lookups: ActivityLookups, ids: SalesforceIds, insert: InsertFrame
) -> None:
    calls = _opportunity(table, lookups)
    moment = at_hour(pl.col("call_date"), hour=10, minutes=pl.col(_SERIAL) % 480)
    insert("Task", calls.lazy().select(
        *_system(moment, moment),
        "Id",
        pl.lit("Call").alias("Subject"),
        pl.col("OpportunityId").alias("WhatId"),
        pl.lit("Call").alias("TaskSubtype"),
        pl.lit("Completed").alias("Status"),
        pl.col("call_date").cast(pl.String).alias("ActivityDate"),
        pl.col("duration_seconds").cast(pl.Int64).alias("CallDurationInSeconds"),
        pl.col("outcome").cast(pl.String)
        .replace_strict(DISPOSITIONS, default=pl.col("outcome").cast(pl.String))
        .alias("CallDisposition"),
        pl.lit("Outbound").alias("CallType"),
        pl.lit(1).alias("IsClosed"),
    ).collect())  # fmt: skip


def _line_items(
    table: pl.DataFrame, lookups: ActivityLookups, ids: SalesforceIds, insert: InsertFrame
) -> None:
    items = _opportunity(table, lookups).filter(pl.col("OpportunityId").is_not_null())
    stamp = pl.lit(lookups.system_stamp)
    system = [pl.lit(0).alias("IsDeleted"), stamp.alias("CreatedDate"),
              stamp.alias("LastModifiedDate"), stamp.alias("SystemModstamp")]  # fmt: skip
    products = sorted(set(items["product"].drop_nulls().to_list()))
    first = ids.take(KEY_PREFIXES["Product2"], len(products))
    product_ids = {name: ids.at(KEY_PREFIXES["Product2"], first + n)
                   for n, name in enumerate(products)}  # fmt: skip
    insert("Product2", pl.DataFrame({"Name": products}).select(
        *system,
        pl.col("Name").replace_strict(product_ids).alias("Id"),
        "Name",
        pl.lit(1).alias("IsActive"),
    ))  # fmt: skip
    book = ids.next(KEY_PREFIXES["Pricebook2"])
    insert("Pricebook2", pl.DataFrame({"Id": [book]}).select(
        *system, "Id", pl.lit("Standard Price Book").alias("Name"),
        pl.lit(1).alias("IsActive"), pl.lit(1).alias("IsStandard"),
    ))  # fmt: skip
    # a standard price per product and currency, as an org with multi-currency keeps them
    currencies = sorted(lookups.rates) if lookups.multi_currency else [None]
    entries = pl.DataFrame(
        {"product": [p for p in products for _ in currencies],
         "__currency": [c for _ in products for c in currencies]},
        schema={"product": pl.String, "__currency": pl.String},
    )  # fmt: skip
    first = ids.take(KEY_PREFIXES["PricebookEntry"], entries.height)
    entries = entries.with_columns(
        salesforce_ids(KEY_PREFIXES["PricebookEntry"], pl.int_range(first, first + pl.len())).alias(
            "PricebookEntryId"
        )
    )
    rate = pl.col("__currency").replace_strict(lookups.rates, default=1.0, return_dtype=pl.Float64)
    entry_columns = [
        *system,
        pl.col("PricebookEntryId").alias("Id"),
        pl.lit(book).alias("Pricebook2Id"),
        pl.col("product").replace_strict(product_ids).alias("Product2Id"),
        (pl.col("product").replace_strict(lookups.prices, default=0.0, return_dtype=pl.Float64)
         * rate).alias("UnitPrice"),
        pl.lit(1).alias("IsActive"),
    ]  # fmt: skip
    if lookups.multi_currency:
        entry_columns.append(pl.col("__currency").alias("CurrencyIsoCode"))
    insert("PricebookEntry", entries.select(entry_columns))

    # TotalPrice is in the opportunity's currency: the seed's own amount in it, else the
    # corporate amount times its rate
    total = (
        pl.col("amount_original")
        if "amount_original" in items.columns
        else pl.col("amount") * (rate if lookups.multi_currency else pl.lit(1.0))
    )
    quantity = pl.col("quantity")
    if not lookups.multi_currency:
        items = items.with_columns(pl.lit(None, pl.String).alias("__currency"))
    items = items.join(entries.select("product", "__currency", "PricebookEntryId"),
                       on=["product", "__currency"], how="left", maintain_order="left",
                       nulls_equal=True)  # fmt: skip
    line_columns = [
        *_system(pl.col("__created"), pl.col("__created")),
        "Id",
        "OpportunityId",
        "PricebookEntryId",
        pl.col("product").replace_strict(product_ids, default=None).alias("Product2Id"),
        quantity.alias("Quantity"),
        (total / pl.when(quantity > 0).then(quantity).otherwise(None)).alias("UnitPrice"),
        total.alias("TotalPrice"),
    ]  # fmt: skip
    if lookups.multi_currency:
        line_columns.append(pl.col("__currency").alias("CurrencyIsoCode"))
    insert("OpportunityLineItem", items.lazy().select(line_columns).collect())

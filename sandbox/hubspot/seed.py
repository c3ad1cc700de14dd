"""Seed the portal from a seed dataset (../shared/data/README.md), as rows.

Partners become companies with type PARTNER (region and channel manager as
custom properties), customers companies with type OTHER (their other columns as
properties), pipeline rows deals with a Primary association to their customer
and a Reseller association to their partner. Each deal's stage history becomes
dealstage history entries and hs_v2_date_entered/exited_<stageId> values.

Companies are tuples in the order of their ``columns``. Deals, their associations
and history are built as columns (``seed_deals``), with the values the deal
enumerations must offer and the earliest creation time, for the portal to finish
its configuration after the load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

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
from sandbox.ids import HubSpotIds
from sandbox.seed_frames import (
    POSITION,
    RANK,
    SERIAL,
    VISIT_HOUR,
    epoch_ms,
    lookup,
    numbered,
)

#: The source recorded for seeded stage changes: a sales user moving the deal in the UI.
SEED_SOURCE_TYPE = "CRM_UI"
FIRST_USER_ID = 45_000_001

COMPANY_COLUMNS = (
    "hs_object_id", "createdate", "hs_lastmodifieddate", "name", "type", "industry",
    "annualrevenue", "numberofemployees", "founded_year", "country", "hs_parent_company_id",
    "region", "channel_manager",
)  # fmt: skip


DEAL_ID_START = 20_000_000_001
_MS_PER_HOUR = 3_600_000
_MS_PER_DAY = 86_400_000


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

    def modified(seed_id: str) -> int:
        # stamped to the millisecond, as a portal does: the id's milliseconds under a
        # minute after creation, so that thousands of companies do not share one stamp
        return created + int(id_map[seed_id]) % 60_000

    rows: list[tuple[object, ...]] = []
    blank_extra = (None,) * len(extra)
    for partner in dataset.partners:
        rows.append(
            (int(id_map[partner.id]), created, modified(partner.id), partner.name, "PARTNER",
             None, None, None, None, None, None, partner.region, partner.channel_manager,
             *blank_extra)
        )  # fmt: skip
    by_name = {c.name: int(id_map[c.id]) for c in dataset.customers}
    for customer in dataset.customers:
        fields = customer.fields
        revenue = _float(fields.get("revenue"))
        employees = _float(fields.get("employees"))
        rows.append(
            (
                int(id_map[customer.id]), created, modified(customer.id), customer.name, "OTHER",
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


@dataclass(frozen=True)
class SeededDeals:
    """The deals as tables (columns named as the portal's; lazy, so that one at a time is
    in memory), and what the portal's configuration needs from them: the deal types and
    lead sources they hold and the earliest creation time (None without deals)."""

    deals: pl.LazyFrame
    associations: pl.LazyFrame
    history: pl.LazyFrame
    deal_types: list[str]
    lead_sources: list[str]
    earliest: int | None


def seed_deals(dataset: SeedDataset, pipeline: Pipeline, id_map: dict[str, str]) -> SeededDeals:
    """The records as deals, built as columns: a deal per record, its id numbered in
    seed-key order (so "smaller id" means the same here as in the seed), its stage visits
    in time order as dealstage history and hs_v2_date_entered/exited values, and its
    Primary (customer) and Reseller (partner) associations. Notes each deal in ``id_map``."""
    records, visits = numbered(dataset)
    stage_ids = {stage.label: stage.id for stage in pipeline.stages}
    managers = sorted({p.channel_manager for p in dataset.partners if p.channel_manager})
    user_ids = {name: FIRST_USER_ID + n for n, name in enumerate(managers)}
    unknown_source = f"userId:{FIRST_USER_ID - 1}"
    partner_companies = {p.id: id_map[p.id] for p in dataset.partners}
    # the history source of a partner's deals' changes: its channel manager
    sources = {
        p.id: f"userId:{user_ids.get(p.channel_manager or '', FIRST_USER_ID - 1)}"
        for p in dataset.partners
    }
    frame = records.select(
        SERIAL,
        "id",
        (pl.lit(DEAL_ID_START) + pl.col(RANK)).cast(pl.Int64).alias("deal_id"),
        (epoch_ms(pl.col("created_date")) + VISIT_HOUR * _MS_PER_HOUR).alias("created"),
        lookup("partner_id", partner_companies).cast(pl.Int64).alias("partner"),
        lookup("account_id", {c.id: id_map[c.id] for c in dataset.customers})
        .cast(pl.Int64).alias("customer"),
        lookup("partner_id", dict(sources)).fill_null(unknown_source).alias("source"),
    )  # fmt: skip
    id_map.update(zip(frame["id"], frame["deal_id"].cast(pl.String), strict=True))
    # time order: the README's history puts a close before a creation where the seed does
    visits = (
        visits.select(
            SERIAL,
            pl.col("stage").replace_strict(stage_ids, return_dtype=pl.String).alias("stage_id"),
            (
                epoch_ms(pl.col("entered_date"))
                + VISIT_HOUR * _MS_PER_HOUR
                + pl.col(POSITION).cast(pl.Int64) * 60_000
            ).alias("moment"),
        )
        .sort(SERIAL, "moment", maintain_order=True)
        .with_columns(pl.col("moment").shift(-1).over(SERIAL).alias("left"))
    )
    deal_sources = frame.lazy().select(SERIAL, "deal_id", "source")
    history = visits.lazy().join(deal_sources, on=SERIAL, how="left", maintain_order="left").select(
        pl.col("deal_id").alias("object_id"),
        pl.lit("dealstage").alias("property"),
        pl.col("stage_id").alias("value"),
        pl.col("moment").alias("timestamp"),
        pl.lit(SEED_SOURCE_TYPE).alias("source_type"),
        pl.col("source").alias("source_id"),
    )  # fmt: skip
    # a stage visited twice (a repeated seed id) keeps its last entry, and its last exit
    dates = visits.lazy().group_by(SERIAL).agg(
        pl.col("moment").max().alias("last_moment"),
        *(pl.col("moment").filter(pl.col("stage_id") == stage.id).last()
          .alias(f"hs_v2_date_entered_{stage.id}") for stage in pipeline.stages),
        *(pl.col("left").filter((pl.col("stage_id") == stage.id) & pl.col("left").is_not_null())
          .last().alias(f"hs_v2_date_exited_{stage.id}") for stage in pipeline.stages),
    )  # fmt: skip
    status = pl.col("status")
    last_day = pl.col("last_moment") // _MS_PER_DAY * _MS_PER_DAY
    deals = (
        records.lazy()
        .join(frame.lazy().drop("id"), on=SERIAL, how="left", maintain_order="left")
        .join(dates, on=SERIAL, how="left", maintain_order="left")
        .select(
            pl.col("deal_id").alias("hs_object_id"),
            pl.col("created").alias("createdate"),
            (last_day + 18 * _MS_PER_HOUR + (pl.col(SERIAL).cast(pl.Int64) % 3600) * 1000)
            .alias("hs_lastmodifieddate"),
            pl.col("name").alias("dealname"),
            pl.col("amount_original").alias("amount"),
            pl.col("currency").alias("deal_currency_code"),
            pl.col("amount").alias("amount_in_home_currency"),
            pl.lit(pipeline.id).alias("pipeline"),
            pl.col("stage").replace_strict(stage_ids, return_dtype=pl.String).alias("dealstage"),
            (epoch_ms(pl.col("close_date")) + VISIT_HOUR * _MS_PER_HOUR).alias("closedate"),
            pl.col("deal_type").alias("dealtype"),
            _bools(status != OpportunityStatus.OPEN.value).alias("hs_is_closed"),
            _bools(status == OpportunityStatus.WON.value).alias("hs_is_closed_won"),
            _bools(status == OpportunityStatus.LOST.value).alias("hs_is_closed_lost"),
            pl.col("probability").alias("hs_deal_stage_probability"),
            "lead_source",
            *(f"hs_v2_date_entered_{s.id}" for s in pipeline.stages),
            *(f"hs_v2_date_exited_{s.id}" for s in pipeline.stages),
        )
    )  # fmt: skip
    return SeededDeals(
        deals=deals,
        associations=_associations(frame.lazy()),
        history=history,
        deal_types=_values(records["deal_type"]),
        lead_sources=_values(records["lead_source"]),
        earliest=frame["created"].min(),  # type: ignore[arg-type]
    )


def _associations(frame: pl.LazyFrame) -> pl.LazyFrame:
    """A deal's Primary association to its customer and Reseller one to its partner (one
    row holding both labels when the two are the same company)."""
    both = pl.col("partner") == pl.col("customer")
    pairs = [
        frame.filter(both).select(SERIAL, "deal_id", pl.col("customer").alias("company_id"),
                                  pl.lit(encode([PRIMARY, RESELLER, UNLABELED])).alias("types"),
                                  pl.lit(0).alias("__kind")),
        frame.filter(pl.col("customer").is_not_null() & ~both.fill_null(False)).select(
            SERIAL, "deal_id", pl.col("customer").alias("company_id"),
            pl.lit(encode([PRIMARY, UNLABELED])).alias("types"), pl.lit(1).alias("__kind")),
        frame.filter(pl.col("partner").is_not_null() & ~both.fill_null(False)).select(
            SERIAL, "deal_id", pl.col("partner").alias("company_id"),
            pl.lit(encode([RESELLER, UNLABELED])).alias("types"), pl.lit(2).alias("__kind")),
    ]  # fmt: skip
    return pl.concat(pairs).sort(SERIAL, "__kind").select("deal_id", "company_id", "types")


def _values(column: pl.Series) -> list[str]:
    """The distinct non-empty values of a text column."""
    return [value for value in column.unique().to_list() if value]


def _bools(flag: pl.Expr) -> pl.Expr:
    return pl.when(flag).then(pl.lit("true")).otherwise(pl.lit("false"))

"""Seed the portal's activity objects from a dataset's activity (KPIS.md's funnel, customers
and service), as columns, the way a portal holds them:

- a lead (0-136) per lead, in the lead pipeline: New at creation; Qualified at its
  ``converted_date`` (10:00), associated with the deal it became; Disqualified an hour
  after creation. Its partner is a lead→company association labelled ``Reseller``. A lead
  is associated with its contact (Primary), which holds the lead as portals without the
  Leads object keep one: ``lifecyclestage`` lead (opportunity once converted, with
  ``hs_lifecyclestage_opportunity_date``), ``hs_lead_status`` NEW, UNQUALIFIED or
  OPEN_DEAL, the same ``Reseller`` label to the partner and an association to the deal.
- a quote (0-14) per quote on its deal: ``hs_status`` DRAFT at creation, published
  (APPROVAL_NOT_NEEDED) on its ``sent_date`` (10:00), then ACCEPTED or DECLINED an hour
  later; a Presented quote with no sent date stays PENDING_APPROVAL (never published).
- a ticket (0-5) per case on its customer company (Primary): stage New at creation, Closed
  on its ``closed_date`` (``closed_date`` 12:00); a reopened case is closed 20 minutes after
  creation and opened again ("Waiting on us") 20 minutes later. Its ``contacts`` are that
  many engagements associated with it, emails and calls by turns, five minutes apart.
- a call (0-48) per call on its deal, at 14:00 of its day, ``hs_call_duration`` in
  milliseconds and the outcome's disposition GUID.
- a line item (0-8) per line item on its deal (``name`` the product, ``price`` amount ÷
  quantity), stamped a second apart from the portal's creation.

Ids are numbered in seed-key order, each object type in a range of its own. A record's
last modification (``hs_lastmodifieddate``, a contact's ``lastmodifieddate``) is a minute
after its last event (an email or a ticket's call: at its moment) plus its id's
milliseconds under a minute: a portal stamps to the millisecond, so the hundreds of
records generated at one hour of a day do not all share one stamp. No KPI reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core.schema import ACTIVITY_ENTITIES
from kpi_engine.frames import Activity
from sandbox.hubspot.activity_schema import DISPOSITION_OF_OUTCOME, category_value
from sandbox.hubspot.links import PAIRS, PRIMARY_LABEL, RESELLER_LABEL, Pair
from sandbox.hubspot.objects import (
    CALLS,
    COMPANIES,
    CONTACTS,
    DEALS,
    EMAILS,
    LEADS,
    LINE_ITEMS,
    QUOTES,
    TICKETS,
    ObjectType,
)
from sandbox.hubspot.pipelines import (
    LEAD_DISQUALIFIED,
    LEAD_NEW,
    LEAD_QUALIFIED,
    TICKET_CLOSED,
    TICKET_NEW,
    TICKET_REOPENED,
    opaque_id,
)
from sandbox.seed_frames import epoch_ms, lookup

_HOUR = 3_600_000
_MINUTE = 60_000
ID_STARTS = {
    LEADS: 30_000_000_001,
    QUOTES: 40_000_000_001,
    TICKETS: 50_000_000_001,
    CALLS: 60_000_000_001,
    EMAILS: 70_000_000_001,
    LINE_ITEMS: 80_000_000_001,
    CONTACTS: 90_000_000_001,
}
#: who made the seeded changes (a user in HubSpot's UI)
SOURCE = ("CRM_UI", "userId:45000000")
QUOTE_STATUS = {"Draft": "DRAFT", "Presented": "APPROVAL_NOT_NEEDED", "Accepted": "ACCEPTED",
                "Denied": "DECLINED"}  # fmt: skip
HISTORY_SCHEMA = {
    "object_id": pl.Int64,
    "property": pl.String,
    "value": pl.String,
    "timestamp": pl.Int64,
    "source_type": pl.String,
    "source_id": pl.String,
}
LINK_SCHEMA = {
    "a_type": pl.String,
    "a_id": pl.Int64,
    "b_type": pl.String,
    "b_id": pl.Int64,
    "types": pl.String,
}


@dataclass(frozen=True)
class NumberedIds:
    """Seed ids numbered in key order from ``start``, as their records' HubSpot ids: a
    sorted column, not a dict (at a million records a dict of strings costs gigabytes)."""

    keys: pl.Series
    start: int

    @classmethod
    def of(cls, ids: pl.Series, start: int) -> NumberedIds:
        return cls(ids.sort(), start)

    def get(self, key: str) -> str | None:
        at = int(self.keys.search_sorted(key))
        if at < len(self.keys) and self.keys[at] == key:
            return str(self.start + at)
        return None

    def __getitem__(self, key: str) -> str:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self.keys)

    def items(self) -> Iterator[tuple[str, str]]:
        for at, key in enumerate(self.keys):
            yield key, str(self.start + at)


@dataclass
class SeededActivity:
    """The activity objects as tables (columns named as the portal's), their links and
    property history, the seed's id of every record, and the values enumerations offer."""

    tables: dict[ObjectType, pl.DataFrame] = field(default_factory=dict)
    links: list[pl.DataFrame] = field(default_factory=list)
    history: list[pl.DataFrame] = field(default_factory=list)
    #: per stream, seed id → HubSpot id
    ids: dict[str, NumberedIds] = field(default_factory=dict)
    lead_sources: list[str] = field(default_factory=list)
    case_types: list[str] = field(default_factory=list)

    def links_frame(self) -> pl.DataFrame:
        return pl.concat([pl.DataFrame(schema=LINK_SCHEMA), *self.links])

    def history_frame(self) -> pl.DataFrame:
        return pl.concat([pl.DataFrame(schema=HISTORY_SCHEMA), *self.history])


def activity_frame(stream: str, rows: Any) -> pl.DataFrame:
    """One stream's records (a frame, an Arrow table or records) in its entity's whole layout."""
    entity = ACTIVITY_ENTITIES[stream]
    if isinstance(rows, pl.DataFrame):
        return rows.select(entity.layout.names)
    table = (
        rows if not isinstance(rows, list | tuple) else entity.to_arrow(list(rows), entity.layout)
    )
    frame = pl.from_arrow(table.select(entity.layout.names))
    assert isinstance(frame, pl.DataFrame)
    return frame


def seed_activity(activity: Activity, id_map: dict[str, str], created_at: int) -> SeededActivity:
    """Every stream of ``activity`` present, as the portal's objects (see the module)."""
    seeded = SeededActivity()
    frames = {
        stream: None
        if (rows := getattr(activity, stream)) is None
        else activity_frame(stream, rows)
        for stream in ACTIVITY_ENTITIES
    }
    calls = frames["calls"]
    deal_calls = 0 if calls is None else calls.height
    if (leads := frames["leads"]) is not None:
        _leads(seeded, leads, id_map)
    if (quotes := frames["quotes"]) is not None:
        _quotes(seeded, quotes, id_map)
    if calls is not None:
        _calls(seeded, calls, id_map)
    if (cases := frames["cases"]) is not None:
        _tickets(seeded, cases, id_map, first_call=deal_calls)
    if (lines := frames["line_items"]) is not None:
        _line_items(seeded, lines, id_map, created_at)
    return seeded


def _numbered(
    seeded: SeededActivity, stream: str, kind: ObjectType, frame: pl.DataFrame
) -> pl.DataFrame:
    """The frame with ``hs_object_id`` numbered in seed-key order; notes the ids."""
    frame = frame.with_columns(
        (pl.lit(ID_STARTS[kind]) + pl.col("id").rank("ordinal") - 1)
        .cast(pl.Int64)
        .alias("hs_object_id")
    )
    seeded.ids[stream] = NumberedIds.of(frame["id"], ID_STARTS[kind])
    return frame


def _pair(a: ObjectType, b: ObjectType) -> Pair:
    return next(pair for pair in PAIRS if (pair.a, pair.b) == (a, b))


def _link(
    frame: pl.DataFrame, a: ObjectType, b: ObjectType, to: pl.Expr, *labels: str
) -> pl.DataFrame:
    """Link rows from each record to the ``to`` id (rows whose ``to`` is null are left out)."""
    pair = _pair(a, b)
    types = pair.encode([pair.unlabeled, *(pair.label(name) for name in labels)])
    return (
        frame.select(
            pl.lit(a.name).alias("a_type"),
            pl.col("hs_object_id").alias("a_id"),
            pl.lit(b.name).alias("b_type"),
            to.cast(pl.Int64).alias("b_id"),
            pl.lit(types).alias("types"),
        )
        .filter(pl.col("b_id").is_not_null())
        .unique(["a_id", "b_id"], keep="first", maintain_order=True)
    )


def _history(frame: pl.DataFrame, prop: str, value: pl.Expr, moment: pl.Expr) -> pl.DataFrame:
    """History rows of ``prop``: one per record where ``value`` and ``moment`` are set."""
    return frame.select(
        pl.col("hs_object_id").alias("object_id"),
        pl.lit(prop).alias("property"),
        value.cast(pl.String).alias("value"),
        moment.cast(pl.Int64).alias("timestamp"),
        pl.lit(SOURCE[0]).alias("source_type"),
        pl.lit(SOURCE[1]).alias("source_id"),
    ).filter(pl.col("value").is_not_null() & pl.col("timestamp").is_not_null())


def _modified(stamp: pl.Expr, record_id: pl.Expr) -> pl.Expr:
    """A record's last modification: ``stamp`` plus the milliseconds its id gives (under a
    minute). A portal stamps changes to the millisecond; without the spread every record
    generated at one time of a day would share one stamp, which keyset searches pay for."""
    return stamp + record_id % _MINUTE


def _ids(id_map: dict[str, str], column: str) -> pl.Expr:
    return lookup(column, id_map).cast(pl.Int64)


def _leads(seeded: SeededActivity, frame: pl.DataFrame, id_map: dict[str, str]) -> None:
    frame = _numbered(seeded, "leads", LEADS, frame).with_columns(
        (epoch_ms(pl.col("created_date")) + 9 * _HOUR).alias("__created"),
        (epoch_ms(pl.col("converted_date")) + 10 * _HOUR).alias("__converted"),
    )
    disqualified = pl.col("status") == "Disqualified"
    frame = frame.with_columns(
        pl.when(pl.col("__converted").is_not_null()).then(pl.lit(LEAD_QUALIFIED))
        .when(disqualified).then(pl.lit(LEAD_DISQUALIFIED))
        .otherwise(pl.lit(LEAD_NEW)).alias("__stage"),
        pl.when(pl.col("__converted").is_not_null()).then(pl.col("__converted"))
        .when(disqualified).then(pl.col("__created") + _HOUR).alias("__moved"),
    )  # fmt: skip
    seeded.tables[LEADS] = frame.select(
        "hs_object_id",
        pl.col("__created").alias("createdate"),
        _modified(
            pl.max_horizontal("__created", "__moved") + _MINUTE, pl.col("hs_object_id")
        ).alias("hs_lastmodifieddate"),
        (pl.lit("Lead ") + pl.col("id")).alias("hs_lead_name"),
        pl.lit("lead-pipeline-id").alias("hs_pipeline"),
        pl.col("__stage").alias("hs_pipeline_stage"),
        pl.col("lead_source"),
    )
    seeded.history += [
        _history(frame, "hs_pipeline_stage", pl.lit(LEAD_NEW), pl.col("__created")),
        _history(frame, "hs_pipeline_stage", pl.col("__stage"), pl.col("__moved")),
    ]
    seeded.links += [
        _link(frame, LEADS, COMPANIES, _ids(id_map, "partner_id"), RESELLER_LABEL),
        _link(frame, LEADS, DEALS, _ids(id_map, "converted_opportunity_id")),
    ]
    seeded.lead_sources = sorted(set(frame["lead_source"].drop_nulls().to_list()))
    _lead_contacts(seeded, frame, id_map)


def _lead_contacts(seeded: SeededActivity, leads: pl.DataFrame, id_map: dict[str, str]) -> None:
    """Each lead's contact, holding the lead as lifecycle stage and lead status."""
    contact_id = (pl.col("hs_object_id") - ID_STARTS[LEADS] + ID_STARTS[CONTACTS]).cast(pl.Int64)
    frame = leads.with_columns(contact_id.alias("__contact"))
    seeded.ids["contacts"] = NumberedIds.of(frame["id"], ID_STARTS[CONTACTS])
    converted = pl.col("__converted").is_not_null()
    seeded.tables[CONTACTS] = frame.select(
        pl.col("__contact").alias("hs_object_id"),
        pl.col("__created").alias("createdate"),
        _modified(pl.max_horizontal("__created", "__moved") + _MINUTE, pl.col("__contact"))
        .alias("lastmodifieddate"),
        (pl.lit("lead-") + pl.col("id").str.to_lowercase() + pl.lit("@example.com")).alias("email"),
        pl.lit("Lead").alias("firstname"),
        pl.col("id").alias("lastname"),
        pl.when(converted).then(pl.lit("opportunity")).otherwise(pl.lit("lead"))
        .alias("lifecyclestage"),
        pl.when(converted).then(pl.lit("OPEN_DEAL"))
        .when(pl.col("__stage") == LEAD_DISQUALIFIED).then(pl.lit("UNQUALIFIED"))
        .otherwise(pl.lit("NEW")).alias("hs_lead_status"),
        pl.col("__created").alias("hs_lifecyclestage_lead_date"),
        pl.col("__converted").alias("hs_lifecyclestage_opportunity_date"),
        "lead_source",
    )  # fmt: skip
    contacts = frame.with_columns(pl.col("__contact").alias("hs_object_id"))
    seeded.links += [
        _link(frame, LEADS, CONTACTS, pl.col("__contact"), PRIMARY_LABEL),
        _link(contacts, CONTACTS, COMPANIES, _ids(id_map, "partner_id"), RESELLER_LABEL),
        _link(contacts, CONTACTS, DEALS, _ids(id_map, "converted_opportunity_id")),
    ]


def _quotes(seeded: SeededActivity, frame: pl.DataFrame, id_map: dict[str, str]) -> None:
    frame = _numbered(seeded, "quotes", QUOTES, frame)
    sent = epoch_ms(pl.col("sent_date")) + 10 * _HOUR
    status = pl.col("status").replace_strict(QUOTE_STATUS, default=pl.lit("DRAFT"))
    frame = frame.with_columns(
        (epoch_ms(pl.col("created_date")) + 9 * _HOUR).alias("__created"),
        sent.alias("__sent"),
        pl.when((status == "APPROVAL_NOT_NEEDED") & sent.is_null())
        .then(pl.lit("PENDING_APPROVAL")).otherwise(status).alias("__status"),
    )  # fmt: skip
    final_at = pl.coalesce("__sent", "__created") + _HOUR
    final = pl.when(~pl.col("__status").is_in(["DRAFT", "APPROVAL_NOT_NEEDED"])).then(
        pl.col("__status")
    )
    seeded.tables[QUOTES] = frame.select(
        "hs_object_id",
        pl.col("__created").alias("createdate"),
        _modified(
            pl.max_horizontal("__created", "__sent", final_at) + _MINUTE, pl.col("hs_object_id")
        ).alias("hs_lastmodifieddate"),
        (pl.lit("Quote ") + pl.col("id")).alias("hs_title"),
        pl.col("__status").alias("hs_status"),
        (pl.col("__created") + 30 * 24 * _HOUR).alias("hs_expiration_date"),
    )
    seeded.history += [
        _history(frame, "hs_status", pl.lit("DRAFT"), pl.col("__created")),
        _history(frame, "hs_status", pl.lit("APPROVAL_NOT_NEEDED"), pl.col("__sent")),
        _history(frame, "hs_status", final, final_at),
    ]
    seeded.links.append(_link(frame, QUOTES, DEALS, _ids(id_map, "opportunity_id")))


def _calls(seeded: SeededActivity, frame: pl.DataFrame, id_map: dict[str, str]) -> None:
    frame = _numbered(seeded, "calls", CALLS, frame)
    moment = epoch_ms(pl.col("call_date")) + 14 * _HOUR
    seeded.tables[CALLS] = frame.select(
        "hs_object_id",
        moment.alias("createdate"),
        _modified(moment + _MINUTE, pl.col("hs_object_id")).alias("hs_lastmodifieddate"),
        moment.alias("hs_timestamp"),
        pl.lit("Call").alias("hs_call_title"),
        pl.lit("OUTBOUND").alias("hs_call_direction"),
        pl.lit("COMPLETED").alias("hs_call_status"),
        (pl.col("duration_seconds").cast(pl.Float64) * 1000).alias("hs_call_duration"),
        pl.col("outcome").cast(pl.String).replace_strict(DISPOSITION_OF_OUTCOME, default=None)
        .alias("hs_call_disposition"),
    )  # fmt: skip
    seeded.links.append(_link(frame, CALLS, DEALS, _ids(id_map, "opportunity_id")))


def _tickets(
    seeded: SeededActivity, frame: pl.DataFrame, id_map: dict[str, str], *, first_call: int
) -> None:
    frame = _numbered(seeded, "cases", TICKETS, frame)
    created = epoch_ms(pl.col("created_date")) + 9 * _HOUR
    closed = epoch_ms(pl.col("closed_date")) + 12 * _HOUR
    reopened = pl.col("reopened").fill_null(False)
    frame = frame.with_columns(
        created.alias("__created"),
        closed.alias("__closed"),
        pl.when(closed.is_not_null()).then(pl.lit(TICKET_CLOSED))
        .when(reopened).then(pl.lit(TICKET_REOPENED))
        .otherwise(pl.lit(TICKET_NEW)).alias("__stage"),
    )  # fmt: skip
    # the logged contacts: emails and calls by turns, five minutes apart after creation
    contacts = (
        frame.select("hs_object_id", "__created",
                     pl.int_ranges(0, pl.col("contact_count").fill_null(0)).alias("__n"))
        .explode("__n")
        .filter(pl.col("__n").is_not_null())
        .with_columns((pl.col("__created") + (pl.col("__n") + 1) * 5 * _MINUTE).alias("__at"))
    )  # fmt: skip
    emails = contacts.filter(pl.col("__n") % 2 == 0).with_row_index("__e")
    calls = contacts.filter(pl.col("__n") % 2 == 1).with_row_index("__c")
    emails = emails.with_columns(
        (pl.lit(ID_STARTS[EMAILS]) + pl.col("__e")).cast(pl.Int64).alias("__id")
    )
    calls = calls.with_columns(
        (pl.lit(ID_STARTS[CALLS] + first_call) + pl.col("__c")).cast(pl.Int64).alias("__id")
    )
    last_contact = contacts.group_by("hs_object_id").agg(pl.col("__at").max().alias("__last"))
    frame = frame.join(last_contact, on="hs_object_id", how="left", maintain_order="left")
    reopen_at = pl.when(reopened).then(pl.col("__created") + 40 * _MINUTE)
    categories = {kind: category_value(kind) for kind in frame["type"].drop_nulls().unique()}
    seeded.tables[TICKETS] = frame.select(
        "hs_object_id",
        pl.col("__created").alias("createdate"),
        _modified(pl.max_horizontal("__created", "__closed", "__last", reopen_at) + _MINUTE,
                  pl.col("hs_object_id")).alias("hs_lastmodifieddate"),
        (pl.lit("Case ") + pl.col("id")).alias("subject"),
        pl.lit("0").alias("hs_pipeline"),
        pl.col("__stage").alias("hs_pipeline_stage"),
        pl.col("type").replace_strict(categories, default=None, return_dtype=pl.String)
        .alias("hs_ticket_category"),
        pl.col("__closed").alias("closed_date"),
        pl.when(pl.col("first_contact_resolved")).then(pl.lit("true"))
        .when(pl.col("first_contact_resolved").not_()).then(pl.lit("false"))
        .alias("first_contact_resolution"),
    )  # fmt: skip
    seeded.history += [
        _history(frame, "hs_pipeline_stage", pl.lit(TICKET_NEW), pl.col("__created")),
        _history(frame, "hs_pipeline_stage", pl.when(reopened).then(pl.lit(TICKET_CLOSED)),
                 pl.col("__created") + 20 * _MINUTE),
        _history(frame, "hs_pipeline_stage", pl.when(reopened).then(pl.lit(TICKET_REOPENED)),
                 reopen_at),
        _history(frame, "hs_pipeline_stage", pl.lit(TICKET_CLOSED), pl.col("__closed")),
    ]  # fmt: skip
    seeded.tables[EMAILS] = emails.select(
        pl.col("__id").alias("hs_object_id"),
        pl.col("__at").alias("createdate"),
        _modified(pl.col("__at"), pl.col("__id")).alias("hs_lastmodifieddate"),
        pl.col("__at").alias("hs_timestamp"),
        pl.lit("Re: your case").alias("hs_email_subject"),
        pl.lit("EMAIL").alias("hs_email_direction"),
    )
    ticket_calls = calls.select(
        pl.col("__id").alias("hs_object_id"),
        pl.col("__at").alias("createdate"),
        _modified(pl.col("__at"), pl.col("__id")).alias("hs_lastmodifieddate"),
        pl.col("__at").alias("hs_timestamp"),
        pl.lit("Support call").alias("hs_call_title"),
        pl.lit("INBOUND").alias("hs_call_direction"),
        pl.lit("COMPLETED").alias("hs_call_status"),
        pl.lit(300_000.0).alias("hs_call_duration"),
        pl.lit(DISPOSITION_OF_OUTCOME["connected"]).alias("hs_call_disposition"),
    )
    seeded.tables[CALLS] = pl.concat(
        [t for t in (seeded.tables.get(CALLS), ticket_calls) if t is not None]
    )
    contact_links = [
        found.select(pl.lit(TICKETS.name).alias("a_type"), pl.col("hs_object_id").alias("a_id"),
                     pl.lit(kind.name).alias("b_type"), pl.col("__id").alias("b_id"),
                     pl.lit(_pair(TICKETS, kind).encode([_pair(TICKETS, kind).unlabeled]))
                     .alias("types"))
        for found, kind in ((emails, EMAILS), (calls, CALLS))
    ]  # fmt: skip
    seeded.links += [
        _link(frame, TICKETS, COMPANIES, _ids(id_map, "account_id"), PRIMARY_LABEL),
        *contact_links,
    ]
    seeded.case_types = sorted(set(frame["type"].drop_nulls().to_list()))


def _line_items(
    seeded: SeededActivity, frame: pl.DataFrame, id_map: dict[str, str], created_at: int
) -> None:
    frame = _numbered(seeded, "line_items", LINE_ITEMS, frame)
    products = {name: opaque_id(f"product:{name}") for name in frame["product"].unique().to_list()}
    quantity = pl.col("quantity")
    # a second apart, in id order, from the portal's creation
    stamp = pl.lit(created_at) + (pl.col("hs_object_id") - ID_STARTS[LINE_ITEMS]) * 1000
    seeded.tables[LINE_ITEMS] = frame.select(
        "hs_object_id",
        stamp.alias("createdate"),
        stamp.alias("hs_lastmodifieddate"),
        pl.col("product").alias("name"),
        lookup("product", products).cast(pl.Float64).alias("hs_product_id"),
        quantity,
        pl.when(quantity > 0).then(pl.col("amount") / quantity).alias("price"),
        "amount",
    )
    seeded.links.append(_link(frame, LINE_ITEMS, DEALS, _ids(id_map, "opportunity_id")))

"""How the connector reads the activity streams (leads, quotes, cases, calls, line items).

Each stream is one HubSpot object read the way deals are (``DealReader`` with the
object's type): a full read lists it in id order with resumable positions, an
incremental read searches ``hs_lastmodifieddate`` windows behind the cursor minus the
overlap; archived records (archivedAt in the window) come first as deleted ids. The
records of each batch then get their associations in v4 batch reads of 1,000, one per
associated object type. Where a field comes from property history (a lead's conversion,
a quote's sending, a ticket's reopening), a full read lists the records with that
property's history (50 a page) and an incremental read batch-reads it for the records it
found (50 a call): the API's maximum either way. What each object, property and
association means is ``activity_mapping``'s docstring.

Leads come from the Leads object, or with ``crm.leads_from: contacts`` from the contacts
that became leads (searched by their ``lastmodifieddate``: HubSpot's search finds no
contact by ``hs_lastmodifieddate``).

Deletions HubSpot purged (90 days after archiving) are found by a listing of the
object's live ids (``live_ids``: the list, 100 a page, no property), which the extract
asks for only when a run comes later than that after the stream's last complete read.

Known limits: a change of associations alone (a call logged on a ticket, a lead
re-attributed) does not reliably move a record's ``hs_lastmodifieddate``, so it is seen
at the next full read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from connectors.hubspot.activity_mapping import (
    QUOTE_STATUS,
    STAGE,
    StageSet,
    call_from,
    case_from,
    lead_from,
    lead_from_contact,
    line_item_from,
    quote_from,
)
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.deals import DealReader
from connectors.hubspot.mapping import AssociatedCompany, HsRecord, StageCatalog
from connectors.hubspot.paging import list_pages
from connectors.hubspot.queries import (
    ACTIVITY_READ_SCOPES,
    ASSOCIATION_BATCH_SIZE,
    COMPANIES,
    CONTACT_MODIFIED,
    CREATED,
    DEALS,
    HISTORY_PAGE_SIZE,
    LIST_PAGE_SIZE,
    MODIFIED,
    PRIMARY_LABEL,
)
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.wire import raise_unexpected
from core.connector import Cursor, Page
from core.errors import ConfigError

CALLS, EMAILS, CONTACTS = "calls", "emails", "contacts"


@dataclass(frozen=True)
class StreamPlan:
    """What one activity stream reads: its object, the read scope, properties, the property
    read with history (if any) and the object types whose associations it reads."""

    object_type: str
    scope: str
    properties: tuple[str, ...]
    history: str | None
    associated: tuple[str, ...]
    #: the property each change stamps (what incremental reads search by)
    modified: str = MODIFIED


def stream_plans(
    settings: HubSpotSettings, first_contact_property: str | None = None
) -> dict[str, StreamPlan]:
    """Every activity stream's plan (with the ticket checkbox ``scoring.first_contact_field``
    names, if any)."""
    first_contact = (first_contact_property,) if first_contact_property else ()
    # a portal that stamps a sent date in a property needs no status history
    sent = (settings.quote_sent_property,) if settings.quote_sent_property else ()
    leads = StreamPlan(
        "leads",
        ACTIVITY_READ_SCOPES["leads"],
        (CREATED, MODIFIED, STAGE, "hs_pipeline", settings.lead_source_property),
        STAGE,
        (COMPANIES, DEALS),
    )
    if settings.leads_from == "contacts":
        leads = StreamPlan(
            CONTACTS,
            ACTIVITY_READ_SCOPES[CONTACTS],
            (
                CREATED,
                CONTACT_MODIFIED,
                "hs_lead_status",
                "hs_lifecyclestage_lead_date",
                "hs_lifecyclestage_opportunity_date",
                settings.lead_source_property,
            ),
            None,
            (COMPANIES, DEALS),
            modified=CONTACT_MODIFIED,
        )
    return {
        "leads": leads,
        "quotes": StreamPlan(
            "quotes", ACTIVITY_READ_SCOPES["quotes"],
            (CREATED, MODIFIED, QUOTE_STATUS, *sent),
            None if sent else QUOTE_STATUS, (DEALS,),
        ),
        "cases": StreamPlan(
            "tickets", ACTIVITY_READ_SCOPES["tickets"],
            (CREATED, MODIFIED, STAGE, "hs_pipeline", "closed_date",
             settings.ticket_type_property, *first_contact),
            STAGE, (COMPANIES, CALLS, EMAILS),
        ),
        "calls": StreamPlan(
            "calls", ACTIVITY_READ_SCOPES["calls"],
            (CREATED, MODIFIED, "hs_timestamp", "hs_call_duration", "hs_call_disposition"),
            None, (DEALS,),
        ),
        "line_items": StreamPlan(
            "line_items", ACTIVITY_READ_SCOPES["line_items"],
            (CREATED, MODIFIED, settings.line_item_product_property, "quantity", "amount"),
            None, (DEALS,),
        ),
    }  # fmt: skip


Linked = Mapping[str, Mapping[str, list[AssociatedCompany]]]


class ActivityReader:
    """The activity reads of one connector: its client, settings, and the metadata they need
    (pipelines, labels, options), read once."""

    def __init__(
        self,
        client: HubSpotClient,
        settings: HubSpotSettings,
        catalog: Callable[[], StageCatalog],
        *,
        first_contact_property: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self._catalog = catalog
        self.first_contact_property = first_contact_property
        self.plans = stream_plans(settings, first_contact_property)
        self._stages: dict[str, StageSet] = {}
        self._labels: dict[tuple[str, str, str], tuple[str, int] | None] = {}
        self._type_labels: dict[str, str] | None = None

    def fetch(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        """The stream's records changed at or after ``since`` minus the overlap (all when
        None, the rest of a full read in progress), archived ones first as deleted ids."""
        plan = self.plans[stream]
        # the metadata a mapping needs is read with the first records: none for an empty object
        mappers: list[Callable[[HsRecord, Linked], Any]] = []
        reader = DealReader(
            self.client,
            self.settings,
            self._catalog,
            object_type=plan.object_type,
            history_property=plan.history or STAGE,
            modified_property=plan.modified,
        )
        window = reader.window(since)
        deleted = reader.archived(window.start_ms)
        if deleted:
            yield Page(records=[], deleted_ids=deleted)
        full = window.start_ms is None
        batches = reader.batches(
            window,
            plan.properties,
            self.client.server_time,
            with_history=plan.history is not None and full,
            calls_per_batch=len(plan.associated),
        )
        for batch in batches:
            records = batch.deals
            if records and not mappers:
                mappers.append(self._mapper(stream))
            if plan.history is not None and not full:
                records = self._with_history(plan, records)
            ids = [record.id for record in records]
            linked = {to: self.associated(plan.object_type, to, ids) for to in plan.associated}
            mapped = [(record, mappers[0](record, linked)) for record in records]
            yield Page(
                records=[found for _, found in mapped if found is not None],
                # a record that is no record of the schema (a call on no deal) is not kept
                deleted_ids=[record.id for record, found in mapped if found is None],
                cursor=batch.cursor,
            )

    def live_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the ids of the stream's object the portal holds now (archived ones are
        not listed): its list at the API's maximum of 100 a page, asking for no property."""
        fetch = partial(
            self.client.list_page, self.plans[stream].object_type, limit=LIST_PAGE_SIZE,
            properties=[],
        )  # fmt: skip
        for records in list_pages(fetch):
            yield [record.id for record in records]

    # --- reads -----------------------------------------------------------------------------

    def _with_history(self, plan: StreamPlan, records: Sequence[HsRecord]) -> list[HsRecord]:
        """The records again with their property history, in batch reads of 50 (a record
        archived meanwhile is left out: the next read reports it deleted)."""
        assert plan.history is not None
        found: dict[str, HsRecord] = {}
        ids = [record.id for record in records]
        for begin in range(0, len(ids), HISTORY_PAGE_SIZE):
            chunk = ids[begin : begin + HISTORY_PAGE_SIZE]
            read, errors = self.client.batch_read(
                plan.object_type,
                chunk,
                properties=plan.properties,
                properties_with_history=[plan.history],
            )
            found.update((record.id, record) for record in read)
            raise_unexpected(errors, expected="OBJECT_NOT_FOUND")
        return [found[record_id] for record_id in ids if record_id in found]

    def associated(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, list[AssociatedCompany]]:
        """Each record's associated records of ``to_type``, in v4 batch reads of 1,000."""
        found: dict[str, list[AssociatedCompany]] = {}
        pending: list[tuple[str, str | None]] = [(record_id, None) for record_id in ids]
        while pending:
            batch, pending = pending[:ASSOCIATION_BATCH_SIZE], pending[ASSOCIATION_BATCH_SIZE:]
            pages, errors = self.client.associated(from_type, to_type, batch)
            for page in pages:
                found.setdefault(page.from_id, []).extend(page.companies)
                if page.next_after:
                    pending.append((page.from_id, page.next_after))
            raise_unexpected(errors, expected="OBJECT_NOT_FOUND")  # none associated
        return found

    # --- metadata, read once -----------------------------------------------------------------

    def stages(self, object_type: str) -> StageSet:
        if object_type not in self._stages:
            self._stages[object_type] = StageSet.of(self.client.pipelines(object_type))
        return self._stages[object_type]

    def label(self, from_type: str, to_type: str, name: str, key: str) -> tuple[str, int] | None:
        """The (category, typeId) of a from→to association label (None when it is missing;
        a configured label that is missing is a ConfigError naming ``key``)."""
        wanted = (from_type, to_type, name)
        if wanted not in self._labels:
            labels = self.client.association_labels(from_type, to_type)
            match = [d for d in labels if d.label and d.label.casefold() == name.casefold()]
            if not match and key:
                known = ", ".join(sorted({d.label for d in labels if d.label})) or "none"
                raise ConfigError(
                    key,
                    f"no {from_type}→{to_type} association label {name!r} in this account "
                    f"(labels: {known}); create it or name an existing one",
                )
            self._labels[wanted] = (match[0].category, match[0].type_id) if match else None
        return self._labels[wanted]

    def type_labels(self) -> dict[str, str]:
        """Option value → label of the ticket type property."""
        if self._type_labels is None:
            name = self.settings.ticket_type_property
            found = next((p for p in self.client.properties("tickets") if p.name == name), None)
            if found is None:
                raise ConfigError("crm.ticket_type_property", f"tickets have no property {name!r}")
            self._type_labels = dict(found.option_labels)
        return self._type_labels

    # --- records -------------------------------------------------------------------------------

    def _mapper(self, stream: str) -> Callable[[HsRecord, Linked], Any]:
        """The function that maps one record of the stream (None: not a record of the schema)."""
        s = self.settings
        zone = s.zone
        if stream == "leads" and s.leads_from == "contacts":
            label = self.label(CONTACTS, COMPANIES, s.lead_partner_label, "crm.lead_partner_label")

            def contact(record: HsRecord, linked: Linked) -> Any:
                return lead_from_contact(
                    record,
                    partner_id=_first(linked[COMPANIES].get(record.id, []), label),
                    deal_id=_first(linked[DEALS].get(record.id, []), None),
                    lead_source_property=s.lead_source_property,
                    zone=zone,
                )

            return contact
        if stream == "leads":
            stages = self.stages("leads")
            converted = frozenset(
                stage_id
                for stage_id, label in stages.labels.items()
                if label in s.lead_converted_stages
            )
            partner = self.label("leads", COMPANIES, s.lead_partner_label, "crm.lead_partner_label")

            def lead(record: HsRecord, linked: Linked) -> Any:
                return lead_from(
                    record,
                    partner_id=_first(linked[COMPANIES].get(record.id, []), partner),
                    deal_id=_first(linked[DEALS].get(record.id, []), None),
                    stages=stages,
                    converted_stages=converted,
                    lead_source_property=s.lead_source_property,
                    zone=zone,
                )

            return lead
        if stream == "cases":
            ticket_stages = self.stages("tickets")
            primary = self.label("tickets", COMPANIES, PRIMARY_LABEL, "")
            labels = self.type_labels()

            def case(record: HsRecord, linked: Linked) -> Any:
                contacts = {
                    (kind, other.company_id)
                    for kind in (CALLS, EMAILS)
                    for other in linked[kind].get(record.id, [])
                }
                return case_from(
                    record,
                    account_id=_first(linked[COMPANIES].get(record.id, []), primary),
                    contacts=len(contacts),
                    stages=ticket_stages,
                    type_property=s.ticket_type_property,
                    type_labels=labels,
                    first_contact_property=self.first_contact_property,
                    zone=zone,
                )

            return case

        def on_deal(record: HsRecord, linked: Linked) -> Any:
            deal = _first(linked[DEALS].get(record.id, []), None)
            if deal is None:
                return None
            if stream == "quotes":
                return quote_from(
                    record, deal_id=deal, sent_property=s.quote_sent_property, zone=zone
                )
            if stream == "calls":
                return call_from(record, deal_id=deal, dispositions=s.call_dispositions, zone=zone)
            return line_item_from(
                record, deal_id=deal, product_property=s.line_item_product_property
            )

        return on_deal


def _first(associated: Sequence[AssociatedCompany], kind: tuple[str, int] | None) -> str | None:
    """The lowest id associated with the association type ``kind`` (any type when None)."""
    ids = [other.company_id for other in associated if kind is None or kind in other.types]
    return min(ids, key=lambda i: (len(i), i)) if ids else None

"""How the connector reads Salesforce objects incrementally: pages of changed rows,
deletions and cursors, wide field lists, and partners from OpportunityPartner.

Every read is on ``SystemModstamp`` (``>=`` the cursor minus an overlap, oldest
first, ties by Id, deleted rows included through queryAll), so a page's cursor is
always safe to resume from and the store's upsert by id makes the overlap harmless.

A query the org refuses as ``QUERY_TOO_COMPLICATED`` ("Query is either selecting too many
fields or the filter conditions are too complicated", for too many formula fields;
https://github.com/simple-salesforce/simple-salesforce/issues/179) is read again with its
fields split as a field list too long for one URL is, halving while refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import chain, islice

from connectors.salesforce import paging
from connectors.salesforce.mapping import CurrencyTable, Row, opportunity_from_row
from connectors.salesforce.queries import (
    MODSTAMP,
    SYSTEM_FIELDS,
    Select,
    SoqlField,
    incremental,
    opportunity_partner_changes,
    opportunity_partner_select,
    split_fields,
)
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.wire import SalesforceClient
from core.connector import Cursor, Page
from core.errors import CrmApiError
from core.schema import Opportunity, StageDef

logger = logging.getLogger(__name__)

QUERY_TOO_COMPLICATED = "QUERY_TOO_COMPLICATED"
#: A query by Id of this many fields (Id and one more) is not split further: refused, the
#: read ends with the org's error.
MIN_FIELDS_PER_QUERY = 2


@dataclass(frozen=True)
class Changes:
    """One page of an incremental read: live rows, deleted ids, the cursor after it."""

    rows: list[Row]
    deleted_ids: list[str]
    cursor: Cursor | None


class ChangeReader:
    """Incremental reads of one connector, through its client and settings."""

    def __init__(self, client: SalesforceClient, settings: SalesforceSettings) -> None:
        self.client = client
        self.settings = settings
        #: sObject → the most fields one query selects, once the org refused more
        #: (QUERY_TOO_COMPLICATED); later reads start there instead of being refused again
        self.field_caps: dict[str, int] = {}

    def start(self, since: Cursor | None) -> datetime | None:
        """Where a read from ``since`` begins: the overlap before it (None: everything)."""
        if since is None:
            return None
        return since.modified_at - timedelta(seconds=self.settings.overlap_seconds)

    def changes(
        self, select: Select, since: Cursor | None, *, bulk: bool = True
    ) -> Iterator[Changes]:
        """The incremental read of ``select``: pages of live rows, deleted ids and cursors
        (REST only when not ``bulk``: a read with subqueries, which the Bulk API refuses).

        A field list too long for one URL, or refused as QUERY_TOO_COMPLICATED, is
        split: the first query carries the key, cursor and deletion fields, the rest
        are fetched by Id per page.
        """
        read = incremental(select, self.start(since))
        keep = len(SYSTEM_FIELDS)
        while True:
            groups = self.split(read, keep)
            driver = read.with_fields(groups[0])
            threshold = self.settings.bulk_threshold if bulk else None
            driven = paging.pages(self.client, driver, bulk_threshold=threshold)
            try:
                # the org refuses a query when it starts, so only its first page can be refused
                first = list(islice(driven, 1))
            except CrmApiError as refused:
                self.narrow(refused, read.sobject, len(groups[0]), floor=keep)
                continue
            break
        for page in chain(first, driven):
            rows = page.rows
            if len(groups) > 1:
                live_ids = [str(r["Id"]) for r in rows if not r["IsDeleted"]]
                extra = self.wide_rows(
                    Select(read.sobject, tuple(f for g in groups[1:] for f in g)), live_ids
                )
                for row in rows:
                    row.update(extra.get(str(row["Id"]), {}))
            last = max(((r[MODSTAMP], str(r["Id"])) for r in rows if r[MODSTAMP]), default=None)
            yield Changes(
                rows=[r for r in rows if not r["IsDeleted"]],
                deleted_ids=[str(r["Id"]) for r in rows if r["IsDeleted"]],
                cursor=None if last is None else Cursor(modified_at=last[0], record_id=last[1]),
            )

    def wide_rows(self, select: Select, ids: Sequence[str]) -> dict[str, Row]:
        """Rows by Id for any number of fields: the list is split to keep each URL short and
        each query simple enough for the org."""
        out: dict[str, Row] = {}
        wanted = select.with_fields(
            (SoqlField("Id"), *(f for f in select.fields if f.name != "Id"))
        )
        groups = self.split(wanted, keep=1)
        while groups:
            group = groups.pop(0)
            try:
                rows = list(paging.rows_by_ids(self.client, wanted.with_fields(group), ids))
            except CrmApiError as refused:
                self.narrow(refused, wanted.sobject, len(group), floor=MIN_FIELDS_PER_QUERY)
                groups[:0] = self.split(wanted.with_fields(group), keep=1)
                continue
            for row in rows:
                out.setdefault(str(row["Id"]), {}).update(row)
        return out

    def split(self, select: Select, keep: int) -> list[tuple[SoqlField, ...]]:
        """``select``'s fields in groups short enough for a URL and for the org."""
        cap = self.field_caps.get(select.sobject)
        return split_fields(self.client.base_url, select, keep, cap)

    def narrow(self, refused: CrmApiError, sobject: str, tried: int, floor: int) -> None:
        """After QUERY_TOO_COMPLICATED on a query of ``tried`` fields, select at most half
        as many per query; any other error, or a query of ``floor`` fields, is raised."""
        if refused.error_code != QUERY_TOO_COMPLICATED or tried <= floor:
            raise refused
        self.field_caps[sobject] = max(floor, tried // 2)
        logger.warning(
            "salesforce: a query of %d %s fields was refused (QUERY_TOO_COMPLICATED); "
            "reading at most %d fields a query, joined by Id",
            tried,
            sobject,
            self.field_caps[sobject],
        )

    def opportunities_by_opportunity_partner(
        self,
        select: Select,
        since: Cursor | None,
        stages: Mapping[str, StageDef],
        currencies: CurrencyTable,
    ) -> Iterator[Page[Opportunity]]:
        """Opportunities attributed to the primary OpportunityPartner of the configured role.

        A full read loads the (role, primary) rows once, a page of 2,000 a call;
        an incremental read looks up only its opportunities' rows, and re-reads
        opportunities whose OpportunityPartner rows changed since the cursor even
        when the opportunity itself did not (a partner change does not touch it).
        """
        role_select = opportunity_partner_select(self.settings.partner_role)
        start = self.start(since)
        preloaded: dict[str, str] | None = None
        touched: set[str] = set()
        if start is None:
            preloaded = {}
            for page in paging.pages(
                self.client, role_select, bulk_threshold=self.settings.bulk_threshold
            ):
                for row in page.rows:
                    if row["OpportunityId"]:
                        preloaded.setdefault(str(row["OpportunityId"]), str(row["AccountToId"]))
        else:
            for page in paging.pages(self.client, opportunity_partner_changes(start)):
                touched.update(str(r["OpportunityId"]) for r in page.rows if r["OpportunityId"])

        def page_of(changes: Changes, cursor: Cursor | None) -> Page[Opportunity]:
            ids = [str(r["Id"]) for r in changes.rows]
            partners = preloaded if preloaded is not None else self.primary_partners(ids)
            return Page(
                records=[
                    opportunity_from_row(row, stages, currencies, partners.get(str(row["Id"])))
                    for row in changes.rows
                ],
                deleted_ids=changes.deleted_ids,
                cursor=cursor,
            )

        emitted: set[str] = set()
        last_cursor: Cursor | None = None
        for changes in self.changes(select, since):
            if touched:
                emitted.update(str(r["Id"]) for r in changes.rows)
                emitted.update(changes.deleted_ids)
            last_cursor = changes.cursor or last_cursor
            yield page_of(changes, changes.cursor)
        remaining = sorted(touched - emitted)
        if remaining:
            found = self.wide_rows(replace(select, include_deleted=True), remaining)
            rows = [found[i] for i in remaining if i in found]
            changes = Changes(
                rows=[r for r in rows if not r["IsDeleted"]],
                deleted_ids=[str(r["Id"]) for r in rows if r["IsDeleted"]],
                cursor=last_cursor,
            )
            yield page_of(changes, last_cursor)

    def primary_partners(self, opportunity_ids: Sequence[str]) -> dict[str, str]:
        """Opportunity id → AccountToId of its primary OpportunityPartner of the role."""
        select = opportunity_partner_select(self.settings.partner_role)
        partners: dict[str, str] = {}
        for row in paging.rows_by_ids(self.client, select, opportunity_ids, key="OpportunityId"):
            partners.setdefault(str(row["OpportunityId"]), str(row["AccountToId"]))
        return partners

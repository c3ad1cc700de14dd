"""Leads, quotes, cases, calls and line items read from an org (``activity_queries``).

``access`` tells per stream whether the integration user can read it, from the
describes of the objects behind it, asked for together in one Composite call (a
missing object, or one without Read, is not found; a field hidden by field-level
security is missing from the describe).

``read`` is the incremental read of ``ChangeReader`` (SystemModstamp cursor, overlap,
ties by Id, deletions through queryAll, Bulk API past the threshold where the query
allows it). A child added to a parent without touching it (a Task logged on a case, a
QuoteDocument made for a quote) is found by one more query of the children changed
since the cursor; their parents not already read are read again by Id, as
OpportunityPartner changes send their opportunities (``changes``).

``live_ids`` lists the ids of a stream's live records (``SELECT Id`` with the read's own
filter, over query: the Recycle Bin left out), for the extract's reconciliation of what
the org purged after its 15 days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from connectors.salesforce import paging
from connectors.salesforce.activity_mapping import (
    call_from_row,
    case_from_row,
    children,
    first_created,
    lead_from_row,
    line_item_from_row,
    quote_from_row,
    reopened,
)
from connectors.salesforce.activity_queries import (
    CASE_STATUS_SELECT,
    HISTORIES,
    QUOTE_DOCUMENTS,
    TASKS,
    StreamRead,
    live_ids_select,
    stream_read,
    touched_select,
    with_deleted,
)
from connectors.salesforce.changes import ChangeReader, Changes
from connectors.salesforce.mapping import CurrencyTable, Row
from connectors.salesforce.queries import PARTNER_ACCOUNT_FIELD
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.wire import SalesforceClient
from core.connector import Cursor, Page
from core.errors import CrmApiError, SchemaError
from core.schema import ACTIVITY_ENTITIES

#: what each missing object needs, in words naming the fix
_ENABLE = {
    "Quote": "turn Quotes on (Setup → Quote Settings) and ",
    "QuoteDocument": "turn Quotes on (Setup → Quote Settings) and ",
    "Lead": "",
}


class ActivityReader:
    """The activity streams of one connector, through its client, settings and describes."""

    def __init__(
        self,
        client: SalesforceClient,
        settings: SalesforceSettings,
        reads: ChangeReader,
        describe: Callable[[str], dict[str, Any]],
        currencies: Callable[[], CurrencyTable],
        describe_all: Callable[[Sequence[str]], None],
        *,
        first_contact_field: str | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        #: the Case checkbox scoring.first_contact_field names, read into the cases
        self.first_contact_field = first_contact_field
        self.reads = reads
        self.describe = describe
        self.currencies = currencies
        self.describe_all = describe_all
        self._closed: frozenset[str] | None = None

    def _read(self, stream: str) -> StreamRead:
        return stream_read(
            stream, self.settings, self.currencies().multi_currency, self.first_contact_field
        )

    # --- access ------------------------------------------------------------------------

    def access(self) -> dict[str, str | None]:
        """Per stream: None when readable, else why not and the fix (every object's
        describe asked for in one Composite call)."""
        try:
            reads = [self._read(stream) for stream in ACTIVITY_ENTITIES]
        except SchemaError:
            reads = []  # each stream says why below
        self.describe_all([sobject for read in reads for sobject in read.needs])
        return {stream: self.why_not(stream) for stream in ACTIVITY_ENTITIES}

    def why_not(self, stream: str) -> str | None:
        try:
            needs = self._read(stream).needs
        except SchemaError as exc:
            return str(exc)
        for sobject, wanted in needs.items():
            try:
                described = self.describe(sobject)
            except CrmApiError as exc:
                return (
                    f"{sobject} is missing from the org or the integration user has no Read "
                    f"on it ({exc.error_code}): {_ENABLE.get(sobject, '')}grant Read on "
                    f"{sobject} in the integration user's profile or a permission set"
                )
            if not described.get("queryable", True):
                return f"{sobject} is not queryable by the integration user: grant it Read"
            present = {str(f["name"]).lower() for f in described.get("fields", [])}
            missing = [name for name in wanted if name.lower() not in present]
            if missing:
                prm = (
                    "; PartnerAccountId needs partner relationship management (Digital "
                    "Experiences with partner accounts)"
                    if PARTNER_ACCOUNT_FIELD in missing
                    else ""
                )
                return (
                    f"{sobject} lacks the field(s) {', '.join(missing)} (missing, or hidden "
                    "by field-level security): grant the integration user Read on them "
                    f"through its permission set{prm}"
                )
        return None

    # --- reads ---------------------------------------------------------------------------

    def fetch(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        """The records of ``stream`` modified at or after ``since`` (minus the overlap)."""
        reason = self.why_not(stream)
        if reason is not None:
            raise SchemaError(f"cannot read {stream} from Salesforce: {reason}")
        read = self._read(stream)
        to_record = self._mapper(stream)
        start = self.reads.start(since)
        touched: list[str] = []
        if read.touched_by is not None and start is not None:
            touched = self._touched(read, start)
        emitted: set[str] = set()
        last: Cursor | None = None
        for changes in self.reads.changes(read.select, since, bulk=read.bulk):
            if touched:
                emitted.update(str(r["Id"]) for r in changes.rows)
                emitted.update(changes.deleted_ids)
            last = changes.cursor or last
            yield self._page(changes, to_record, changes.cursor)
        remaining = sorted(set(touched) - emitted)
        if remaining:
            found = self.reads.wide_rows(with_deleted(read.select), remaining)
            rows = [found[i] for i in remaining if i in found]
            changes = Changes(
                rows=[r for r in rows if not r["IsDeleted"]],
                deleted_ids=[str(r["Id"]) for r in rows if r["IsDeleted"]],
                cursor=last,
            )
            yield self._page(changes, to_record, last)

    def live_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the ids of ``stream``'s records the org holds now (query, not queryAll)."""
        reason = self.why_not(stream)
        if reason is not None:
            raise SchemaError(f"cannot list {stream} from Salesforce: {reason}")
        select = live_ids_select(stream, self.settings)
        yield from paging.ids(self.client, select, bulk_threshold=self.settings.bulk_threshold)

    @staticmethod
    def _page(
        changes: Changes, to_record: Callable[[Row], Any], cursor: Cursor | None
    ) -> Page[Any]:
        return Page(
            records=[to_record(row) for row in changes.rows],
            deleted_ids=changes.deleted_ids,
            cursor=cursor,
        )

    def _touched(self, read: StreamRead, start: Any) -> list[str]:
        """The parents of the children changed since ``start`` (one query, any size)."""
        assert read.touched_by is not None
        _, parent_field, prefix = read.touched_by
        parents: dict[str, None] = {}
        for page in paging.pages(self.client, touched_select(read, start)):
            for row in page.rows:
                parent = str(row[parent_field] or "")
                if parent and (prefix is None or parent.startswith(prefix)):
                    parents[parent] = None
        return list(parents)

    def _mapper(self, stream: str) -> Callable[[Row], Any]:
        settings = self.settings
        if stream == "leads":
            return lead_from_row
        if stream == "quotes":
            if settings.quote_sent_source == "field":
                assert settings.quote_sent_field is not None
                name = settings.quote_sent_field
                return lambda row: quote_from_row(row, row[name])
            return lambda row: quote_from_row(
                row, first_created(children(row[QUOTE_DOCUMENTS], self._more))
            )
        if stream == "cases":
            closed = self._closed_statuses()
            field = self.first_contact_field
            return lambda row: case_from_row(
                row,
                len(children(row[TASKS], self._more)),
                reopened(children(row[HISTORIES], self._more), closed),
                field,
            )
        if stream == "calls":
            dispositions: Mapping[str, str] = settings.call_dispositions
            return partial(call_from_row, dispositions=dispositions)
        currencies = self.currencies()
        return partial(line_item_from_row, currencies=currencies)

    def _closed_statuses(self) -> frozenset[str]:
        """The org's closed case statuses (CaseStatus.IsClosed), once per connector."""
        if self._closed is None:
            self._closed = frozenset(
                str(row["ApiName"]).lower()
                for page in paging.pages(self.client, CASE_STATUS_SELECT)
                for row in page.rows
                if row["IsClosed"]
            )
        return self._closed

    def _more(self, next_url: str) -> Mapping[str, Any]:
        """The next page of a long child list (Salesforce pages a subquery's children)."""
        result: Mapping[str, Any] = self.client.call(
            "query (child records, next page)",
            lambda sf: sf.query_more(next_url, identifier_is_url=True),
        )
        return result

"""The sandbox's Salesforce org: records, queries with cursors, writes, custom fields
and their field-level security (``permissions``).

HTTP lives in ``routes``; this module is the org's behaviour, so it can be
tested and benchmarked without a socket.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from connectors.seed import SeedDataset
from core.errors import SeedFormatError
from sandbox.ids import SalesforceIds, salesforce_id18
from sandbox.salesforce.objects import (
    BOOLEAN_TYPES,
    KEY_PREFIXES,
    NUMBER_TYPES,
    TEXT_LENGTH_TYPES,
    FieldAccess,
    SfField,
    SfObject,
    SfSchema,
    standard_schema,
    tooling_schema,
)
from sandbox.salesforce.permissions import (
    PERMISSION_OBJECTS,
    USER_ID,
    USER_NAME,
    FieldSecurity,
    Refusal,
)
from sandbox.salesforce.recycle_bin import OrgClock, expired_before, purge
from sandbox.salesforce.seed import Row, seed_salesforce
from sandbox.salesforce.seed_activity import activity_tables, drop_absent
from sandbox.salesforce.soql import parse_soql
from sandbox.salesforce.soql_sql import (
    ChildQuery,
    CompiledQuery,
    compile_query,
    record_from_row,
)
from sandbox.store import SqlStore, quote, sf_datetime

API_VERSION = "60.0"
DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
COLLECTION_LIMIT = 200
#: "MALFORMED_QUERY: SOQL statements can not be longer than 100000 characters"
#: (https://github.com/django-salesforce/django-salesforce/issues/164; the limits cheatsheet)
MAX_SOQL_CHARACTERS = 100_000
#: "A user can have up to 10 query cursors open at a time"; opening one more releases the
#: oldest. A cursor stays open after its last page, so a page whose answer was lost can be
#: asked for again.
OPEN_CURSORS = 10
#: The objects whose large queries time out under the ``query_timeout`` fault.
TIMEOUT_OBJECTS = frozenset({"Opportunity", "OpportunityHistory"})
#: Describe types the Bulk API cannot export: compound fields.
BULK_REFUSED_TYPES = frozenset({"address", "location"})
HISTORY_TRACKED = frozenset({"StageName", "Amount", "Probability", "CloseDate"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class QueryTimeout:
    """The ``query_timeout`` fault as a query sees it: how many rows make a query large,
    and whether it fires on this one."""

    rows: int
    fires: Callable[[], bool]


def _check_fields_limit(compiled: CompiledQuery, limit: int) -> None:
    """The ``query_fields_limit`` fault: a query selecting more than ``limit`` fields (0: no
    limit) is refused as an org refuses one whose compiled SQL grows too large
    (https://github.com/simple-salesforce/simple-salesforce/issues/179)."""
    if limit and len(compiled.selected) > limit:
        raise SalesforceApiError(
            400,
            "QUERY_TOO_COMPLICATED",
            "Query is either selecting too many fields or the filter conditions are too "
            "complicated.",
        )


class SalesforceApiError(Exception):
    """An error the org answers in Salesforce's shape: [{message, errorCode, fields}]."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


@dataclass
class QueryCursor:
    """A query's matching rows, fixed when it ran; pages are read from it by offset."""

    compiled: CompiledQuery
    rowids: list[int]
    batch_size: int
    #: a Tooling API query: its records live under /tooling/sobjects/
    tooling: bool = False


@dataclass
class FieldError:
    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """As a SaveResult of sObject Collections carries it."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_error_json(self) -> dict[str, Any]:
        """As a single-record REST call answers it."""
        return {"message": self.message, "errorCode": self.status_code, "fields": self.fields}


def now_stamp() -> str:
    """Now by the process clock (job infos); records are stamped by the org's clock."""
    return sf_datetime(datetime.now(UTC))


class SalesforceOrg:
    """One org's data and behaviour, stored in the sandbox's SQLite database."""

    def __init__(self, store: SqlStore, dataset: SeedDataset, *, today: date | None = None) -> None:
        self.store = store
        self.ids = SalesforceIds()
        self.today = today
        self.multi_currency = len(dataset.currencies.rates) > 1
        self.schema: SfSchema = standard_schema(tuple(s.name for s in dataset.stage_defs))
        if not self.multi_currency:
            # a single-currency org has neither CurrencyType nor CurrencyIsoCode
            del self.schema.objects["currencytype"]
            for sf_object in self.schema.objects.values():
                sf_object.fields.pop("currencyisocode", None)
        activity = activity_tables(dataset)
        drop_absent(self.schema, activity)
        self.tooling: SfSchema = tooling_schema()
        for sf_object in (*self.schema.objects.values(), *self.tooling.objects.values()):
            store.create_table(
                sf_object.table,
                [(f.name, f.sql_type) for f in sf_object.fields.values()],
                key="Id",
            )
        seeded = seed_salesforce(dataset, self.ids, self._insert, self._insert_frame, activity)
        self.id_map = seeded.id_map
        #: per activity stream, seed id (``id``) → Salesforce ``Id``, for tests to translate
        self.activity_ids = seeded.activity_ids
        self._seed_integration_user(dataset)
        self.security = FieldSecurity(store, self.schema)
        for sf_object in self.schema.objects.values():
            # after the load: one sort beats a million index updates
            store.create_index(sf_object.table, ["SystemModstamp", "Id"])
            # child rows are looked up by parent, as Salesforce's own indexes allow
            if sf_object.field("OpportunityId") is not None:
                store.create_index(sf_object.table, ["OpportunityId", "SystemModstamp"])
            # and subqueries read children by the parent's id
            for child in sf_object.children.values():
                if child.field != "OpportunityId":
                    store.create_index(child.child, [child.field])
        self._cursors: dict[str, QueryCursor] = {}
        self._cursor_lock = threading.Lock()
        self.custom_fields: dict[str, dict[str, Any]] = {}
        #: the org's clock: its stamps, its ``Date`` header and its Recycle Bin's 15 days
        self.clock = OrgClock()

    def _stamp(self) -> str:
        return sf_datetime(self.clock.now())

    def _bin_tables(self) -> list[str]:
        return [sf_object.table for sf_object in self.schema.objects.values()]

    def advance_clock(self, ms: int) -> int:
        """Let ``ms`` pass on the org's clock; the records then gone from the Recycle Bin."""
        self.clock.advance(ms)
        return self._purged(purge(self.store, self._bin_tables(), expired_before(self.clock.now())))

    def empty_recycle_bin(self) -> int:
        """Delete for good every record in the Recycle Bin, as an admin may; how many went."""
        return self._purged(purge(self.store, self._bin_tables(), None))

    def _purged(self, gone: int) -> int:
        if gone:
            self.security.refresh()
        return gone

    # a sandbox's reset deep-copies the seeded org: everything but the lock, made anew
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_cursor_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _cursor_lock=threading.Lock())

    def _seed_integration_user(self, dataset: SeedDataset) -> None:
        """The API user every session is, with its profile's permission set, as in an org."""
        stamp = sf_datetime(datetime.combine(dataset.fallback_created.replace(month=1, day=1),
                                             datetime.min.time(), tzinfo=UTC))  # fmt: skip
        system = {"IsDeleted": 0, "CreatedDate": stamp, "LastModifiedDate": stamp,
                  "SystemModstamp": stamp}  # fmt: skip
        self._insert("User", [{**system, "Id": USER_ID, "Name": USER_NAME,
                               "Username": "sandbox@partner-kpi.local",
                               "Email": "sandbox@partner-kpi.local", "IsActive": 1}])  # fmt: skip
        profile_set = self.ids.next(KEY_PREFIXES["PermissionSet"])
        self._insert("PermissionSet", [{**system, "Id": profile_set, "Name": "X00e5g000000sAndbox",
                                        "Label": "00e5g000000sAndbox", "IsOwnedByProfile": 1,
                                        "IsCustom": 0}])  # fmt: skip
        self._insert("PermissionSetAssignment", [{**system, "Id": self.ids.next(
            KEY_PREFIXES["PermissionSetAssignment"]), "AssigneeId": USER_ID,
            "PermissionSetId": profile_set}])  # fmt: skip

    def _insert(self, sobject: str, rows: list[Row]) -> None:
        """Seed rows, refused as Salesforce would refuse them when text exceeds a field's
        ``length`` (a seed folder holding what no org can hold: SeedFormatError)."""
        target = self.schema.any_object(sobject)
        assert target is not None
        capped = _capped_fields(target)
        for row in rows:
            for sf_field in capped:
                value = row.get(sf_field.name)
                if isinstance(value, str) and len(value) > sf_field.length:
                    raise _too_long_to_seed(sobject, sf_field, value)
        columns = [f.name for f in target.fields.values()]
        self.store.insert_many(
            target.table, columns, ([row.get(c) for c in columns] for row in rows)
        )

    def _insert_frame(self, sobject: str, frame: pl.DataFrame) -> None:
        """Seed a table of rows given as columns (fields the frame lacks stay null), refused
        as ``_insert`` refuses them: the first row, in order, holding text too long."""
        target = self.schema.any_object(sobject)
        assert target is not None
        capped = [f for f in _capped_fields(target) if f.name in frame.columns]
        if capped:
            too_long = frame.select(
                pl.int_range(pl.len()).alias("__at"),
                *(pl.col(f.name).str.len_chars().gt(f.length).fill_null(False).alias(f.name)
                  for f in capped),
            ).filter(pl.any_horizontal(f.name for f in capped))  # fmt: skip
            if too_long.height:
                at, *flags = too_long.row(0)
                sf_field = next(f for f, flag in zip(capped, flags, strict=True) if flag)
                raise _too_long_to_seed(sobject, sf_field, frame[sf_field.name][at])
        self.store.insert_frame(target.table, frame)

    # --- objects and describe -------------------------------------------------

    def sobject(self, name: str) -> SfObject:
        sf_object = self.schema.get(name)
        if sf_object is None:
            raise SalesforceApiError(
                404,
                "NOT_FOUND",
                f"The requested resource does not exist",  # noqa: F541
            )
        return sf_object

    def set_object_read(self, name: str, readable: bool) -> None:
        """Give or take the integration user's Read on an object (its profile's object
        permission): without it the object is gone from describe and SOQL."""
        sf_object = self.schema.any_object(name)
        if sf_object is None:
            raise SalesforceApiError(404, "NOT_FOUND", f"no object {name} in the org")
        if readable:
            self.schema.unreadable.discard(sf_object.name.lower())
        else:
            self.schema.unreadable.add(sf_object.name.lower())

    def set_field_read(self, path: str, readable: bool) -> None:
        """Give or take field-level security Read on ``Object.Field`` (hidden: missing from
        describe, INVALID_FIELD in a query), as a profile without that FLS has it."""
        object_name, _, field_name = path.partition(".")
        sf_object = self.schema.any_object(object_name)
        if sf_object is None or sf_object.any_field(field_name) is None:
            raise SalesforceApiError(404, "NOT_FOUND", f"no field {path} in the org")
        if readable:
            sf_object.secured.pop(field_name.lower(), None)
        else:
            # a secured field is read only as a permission set grants it (``FieldSecurity``)
            sf_object.secured[field_name.lower()] = FieldAccess()
            self.security.refresh()

    # --- queries ----------------------------------------------------------------

    def start_query(
        self,
        soql: str,
        *,
        include_deleted: bool,
        batch_size: int,
        tooling: bool = False,
        timeout: QueryTimeout | None = None,
        fields_limit: int = 0,
    ) -> dict[str, Any]:
        """Run a query (of the Tooling API's objects with ``tooling``); its first page,
        with nextRecordsUrl when more remain.

        ``timeout``: the ``query_timeout`` fault, asked only of a large Opportunity or
        OpportunityHistory query (400 QUERY_TIMEOUT when it fires); ``fields_limit``: the
        ``query_fields_limit`` fault (``_check_fields_limit``).
        """
        compiled = self._compile(soql, self.tooling if tooling else self.schema,
                                 include_deleted=include_deleted)  # fmt: skip
        _check_fields_limit(compiled, fields_limit)
        if compiled.is_count:
            (count,) = self.store.query(compiled.count_sql, compiled.count_params)[0]
            return {"totalSize": count, "done": True, "records": []}
        rowids = [r[0] for r in self.store.query(compiled.ids_sql, compiled.ids_params)]
        if (
            timeout is not None
            and compiled.object_name in TIMEOUT_OBJECTS
            and len(rowids) > timeout.rows
            and timeout.fires()
        ):
            raise SalesforceApiError(
                400, "QUERY_TIMEOUT", "Your query request was running for too long."
            )
        cursor = QueryCursor(
            compiled=compiled, rowids=rowids, batch_size=batch_size, tooling=tooling
        )
        locator = self.ids.next(KEY_PREFIXES["QueryLocator"])
        if len(rowids) > batch_size:
            with self._cursor_lock:
                self._cursors[locator] = cursor
                while len(self._cursors) > OPEN_CURSORS:
                    del self._cursors[next(iter(self._cursors))]
        return self.page(cursor, locator, 0)

    def _compile(self, soql: str, schema: SfSchema, *, include_deleted: bool) -> CompiledQuery:
        if len(soql) > MAX_SOQL_CHARACTERS:
            raise SalesforceApiError(
                400,
                "MALFORMED_QUERY",
                f"SOQL statements can not be longer than {MAX_SOQL_CHARACTERS} characters",
            )
        parsed = parse_soql(soql, today=self.today or datetime.now(UTC).date())
        return compile_query(parsed, schema, include_deleted=include_deleted)

    def next_page(self, locator_and_offset: str) -> dict[str, Any]:
        """A later page: ``<locator>-<offset>`` as in nextRecordsUrl."""
        locator, _, offset_text = locator_and_offset.rpartition("-")
        with self._cursor_lock:
            cursor = self._cursors.get(locator)
        if cursor is None or not offset_text.isdigit():
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self.page(cursor, locator, int(offset_text))

    def page(self, cursor: QueryCursor, locator: str, offset: int) -> dict[str, Any]:
        chosen = cursor.rowids[offset : offset + cursor.batch_size]
        records = self.fetch_records(cursor.compiled, chosen)
        if cursor.tooling:
            for record in records:
                attributes = record["attributes"]
                assert isinstance(attributes, dict)
                attributes["url"] = str(attributes["url"]).replace(
                    "/sobjects/", "/tooling/sobjects/", 1
                )
        end = offset + len(chosen)
        result: dict[str, Any] = {
            "totalSize": len(cursor.rowids),
            "done": end >= len(cursor.rowids),
        }
        if end < len(cursor.rowids):
            result["nextRecordsUrl"] = f"/services/data/v{API_VERSION}/query/{locator}-{end}"
        result["records"] = records
        return result

    def fetch_records(self, compiled: CompiledQuery, rowids: Sequence[int]) -> list[dict[str, Any]]:
        """The records of the given rowids, in that order, as Salesforce JSON."""
        if not rowids:
            return []
        found: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(rowids), 900):  # SQLite's bound-parameter limit
            chunk = rowids[start : start + 900]
            for row in self.store.query(compiled.rows_sql(len(chunk)), chunk):
                found[row[0]] = row
        records = [
            record_from_row(compiled, found[rowid], API_VERSION)
            for rowid in rowids
            if rowid in found
        ]
        if compiled.children:
            parent_ids = [str(found[rowid][compiled.base_id_index]) for rowid in rowids
                          if rowid in found]  # fmt: skip
            for child in compiled.children:
                nested = self._child_records(child, parent_ids)
                for parent_id, record in zip(parent_ids, records, strict=True):
                    record[child.name] = nested.get(parent_id)
        return records

    def _child_records(self, child: ChildQuery, parent_ids: list[str]) -> dict[str, Any]:
        """A subquery's result per parent id, as Salesforce nests it in the parent's record
        (parents with no child row are left out: their value is null)."""
        by_parent: dict[str, list[int]] = {}
        compiled = child.compiled
        for start in range(0, len(parent_ids), 900):  # SQLite's bound-parameter limit
            chunk = parent_ids[start : start + 900]
            sql = compiled.child_rows_sql(child.key, len(chunk))
            for rowid, parent_id in self.store.query(sql, [*compiled.filter_params, *chunk]):
                by_parent.setdefault(str(parent_id), []).append(rowid)
        kept = {
            parent_id: rowids if compiled.limit is None else rowids[: compiled.limit]
            for parent_id, rowids in by_parent.items()
        }
        # one fetch for the page's children, dealt out to their parents in query order
        rows = iter(self.fetch_records(compiled, [r for rowids in kept.values() for r in rowids]))
        nested: dict[str, Any] = {}
        for parent_id, rowids in kept.items():
            records = [next(rows) for _ in rowids]
            if records:
                nested[parent_id] = {"totalSize": len(records), "done": True, "records": records}
        return nested

    def query_rows(
        self, soql: str, *, include_deleted: bool = False, fields_limit: int = 0
    ) -> tuple[CompiledQuery, list[dict[str, Any]]]:
        """Every record of a query at once (Bulk API results; queryAll jobs see deletions).

        A compound field (an address or a location) is refused as the Bulk API refuses it:
        400 API_ERROR "Selecting compound data not supported in Bulk Query"
        (https://github.com/airbytehq/airbyte/pull/8206,
        https://github.com/simple-salesforce/simple-salesforce/issues/182).
        """
        compiled = self._compile(soql, self.schema, include_deleted=include_deleted)
        _check_fields_limit(compiled, fields_limit)
        if any(selected.field_type in BULK_REFUSED_TYPES for selected in compiled.selected):
            raise SalesforceApiError(
                400, "API_ERROR", "Selecting compound data not supported in Bulk Query"
            )
        if compiled.is_count:
            raise SalesforceApiError(400, "INVALIDJOB", "COUNT() is not supported by the Bulk API")
        if compiled.children:
            # https://github.com/jsforce/jsforce/issues/732, OpenFn/adaptors#395
            raise SalesforceApiError(
                400,
                "FeatureNotEnabled",
                "Aggregate Relationships not supported in Bulk V2 Query with CSV content type",
            )
        rowids = [r[0] for r in self.store.query(compiled.ids_sql, compiled.ids_params)]
        return compiled, self.fetch_records(compiled, rowids)

    # --- single records ----------------------------------------------------------

    def get_record(
        self, sobject: str, record_id: str, fields: Sequence[str] | None
    ) -> dict[str, Any]:
        sf_object = self.sobject(sobject)
        names = list(fields) if fields else [f.name for f in sf_object.visible_fields()]
        soql = f"SELECT {', '.join(names)} FROM {sf_object.name} WHERE Id = '{_escape(record_id)}'"
        result = self.start_query(soql, include_deleted=False, batch_size=DEFAULT_BATCH_SIZE)
        if not result["records"]:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        record: dict[str, Any] = result["records"][0]
        return record

    # --- writes --------------------------------------------------------------------

    def check_value(
        self, sf_object: SfObject, name: str, value: Any, *, creating: bool = False
    ) -> tuple[SfField, Any] | FieldError:
        """A field's new value, type-checked and converted to storage, or the error."""
        sf_field = sf_object.field(name)
        if sf_field is None:
            return FieldError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {sf_object.name}",
                [name],
            )
        if not (sf_field.createable if creating else sf_field.updateable):
            return FieldError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {sf_field.name}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                [sf_field.name],
            )
        if value is None:
            if not sf_field.nillable:
                return FieldError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{sf_field.name}]",
                    [sf_field.name],
                )
            return sf_field, None
        too_long = _too_long(sf_field, value)
        if too_long is not None:
            return too_long
        problem = _type_problem(sf_field, value)
        if problem is not None:
            return FieldError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD" if sf_field.type not in ("picklist",)
                else "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{sf_field.label}: {problem}",
                [sf_field.name],
            )  # fmt: skip
        if sf_field.type in BOOLEAN_TYPES:
            return sf_field, int(bool(value))
        if sf_field.type == "datetime":
            # stored as Salesforce answers it (UTC, +0000), so text order stays time order
            return sf_field, sf_datetime(datetime.fromisoformat(value))
        return sf_field, value

    def update_record(
        self,
        sobject: str,
        record_id: str,
        values: Mapping[str, Any],
        reject: Callable[[], bool] = lambda: False,
        lock: Callable[[], bool] = lambda: False,
    ) -> FieldError | None:
        """Update one record; the first problem, or None when it was written.

        A 15-character id names the same record as its 18-character form, as in Salesforce.
        ``lock``: the ``lock_row`` fault (another transaction holds the row:
        UNABLE_TO_LOCK_ROW, nothing written).
        """
        sf_object = self.sobject(sobject)
        record_id = full_id(record_id)
        if not sf_object.updateable:
            return FieldError(
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                f"entity type {sf_object.name} does not support update",
            )
        if not record_id or not record_id.startswith(sf_object.key_prefix):
            return FieldError(
                "MALFORMED_ID",
                f"{sf_object.label} ID: id value of incorrect type: {record_id}",
                ["Id"],
            )
        existing = self.store.query(
            f"SELECT IsDeleted FROM {quote(sf_object.table)} WHERE Id = ?", [record_id]
        )
        if not existing:
            return FieldError(
                "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {record_id}", ["Id"]
            )
        if existing[0][0]:
            return FieldError("ENTITY_IS_DELETED", "entity is deleted", [])
        assignments: dict[str, Any] = {}
        for name, value in values.items():
            if name in ("attributes", "Id", "id"):
                continue
            checked = self.check_value(sf_object, name, value)
            if isinstance(checked, FieldError):
                return checked
            sf_field, stored = checked
            assignments[sf_field.name] = stored
        if reject():
            return FieldError(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "Partner fields are locked while the account is under review (sandbox fault)",
                [],
            )
        try:
            self.security.check_update(sf_object, record_id, assignments)
        except Refusal as refusal:
            return FieldError(refusal.status_code, refusal.message, refusal.fields)
        if lock():
            return FieldError(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {record_id}",
                [],
            )
        stamp = self._stamp()
        assignments.update(LastModifiedDate=stamp, SystemModstamp=stamp)
        status_change = (
            self._case_status_change(record_id, assignments, stamp)
            if sf_object.name == "Case" and "Status" in assignments
            else None
        )
        sets = ", ".join(f"{quote(column)} = ?" for column in assignments)
        with self.store.transaction():
            self.store.execute(
                f"UPDATE {quote(sf_object.table)} SET {sets} WHERE Id = ?",
                [*assignments.values(), record_id],
            )
            if sf_object.name == "Opportunity" and HISTORY_TRACKED & assignments.keys():
                self._record_history(record_id, stamp)
            if status_change is not None:
                self.store.execute(
                    'INSERT INTO CaseHistory (Id, IsDeleted, CreatedDate, LastModifiedDate, '
                    'SystemModstamp, CaseId, Field, OldValue, NewValue) '
                    "VALUES (?, 0, ?, ?, ?, ?, 'Status', ?, ?)",
                    [self.ids.next(KEY_PREFIXES["CaseHistory"]), stamp, stamp, stamp,
                     record_id, *status_change],
                )  # fmt: skip
            self.security.after_update(sf_object, record_id)
        if sf_object.name in PERMISSION_OBJECTS:
            self.security.refresh()
        return None

    def create_record(self, sobject: str, values: Mapping[str, Any]) -> str | FieldError:
        """POST /sobjects/<type>: the new record's id, or the first problem."""
        sf_object = self.sobject(sobject)
        if not sf_object.createable:
            return FieldError(
                "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                f"entity type {sf_object.name} does not support insert",
            )
        assignments: dict[str, Any] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            checked = self.check_value(sf_object, name, value, creating=True)
            if isinstance(checked, FieldError):
                return checked
            sf_field, stored = checked
            assignments[sf_field.name] = stored
        for sf_field in sf_object.visible_fields():
            if sf_field.type in BOOLEAN_TYPES and not sf_field.nillable:
                assignments.setdefault(sf_field.name, 0)
        missing = [
            f.name
            for f in sf_object.visible_fields()
            if f.createable and not f.nillable and assignments.get(f.name) is None
        ]
        if missing:
            return FieldError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )  # fmt: skip
        try:
            self.security.check_insert(sf_object, assignments)
        except Refusal as refusal:
            return FieldError(refusal.status_code, refusal.message, refusal.fields)
        record_id = self.ids.next(sf_object.key_prefix)
        stamp = self._stamp()
        row = {"Id": record_id, "IsDeleted": 0, "CreatedDate": stamp, "LastModifiedDate": stamp,
               "SystemModstamp": stamp, **assignments}  # fmt: skip
        self.store.insert_many(sf_object.table, list(row), [list(row.values())])
        if sf_object.name in PERMISSION_OBJECTS:
            self.security.refresh()
        return record_id

    def _case_status_change(
        self, case_id: str, assignments: dict[str, Any], stamp: str
    ) -> tuple[str, str] | None:
        """A Case's new Status sets IsClosed and ClosedDate as its CaseStatus says, and is
        tracked in CaseHistory (old, new) when it changes, as in Salesforce."""
        ((old,),) = self.store.query('SELECT Status FROM "Case" WHERE Id = ?', [case_id])
        closed = {
            str(value).lower()
            for (value,) in self.store.query(
                "SELECT ApiName FROM CaseStatus WHERE IsClosed = 1 AND IFNULL(IsDeleted, 0) = 0"
            )
        }
        new = str(assignments["Status"])
        assignments["IsClosed"] = int(new.lower() in closed)
        if new.lower() not in closed:
            assignments["ClosedDate"] = None
        elif str(old).lower() not in closed:
            assignments["ClosedDate"] = stamp
        return None if old == new else (str(old), new)

    def _record_history(self, opportunity_id: str, stamp: str) -> None:
        """Salesforce adds an OpportunityHistory row when stage, amount, probability
        or close date change; so does the sandbox."""
        (row,) = self.store.query(
            "SELECT StageName, Amount, Probability, CloseDate FROM Opportunity WHERE Id = ?",
            [opportunity_id],
        )
        self.store.execute(
            "INSERT INTO OpportunityHistory (Id, IsDeleted, CreatedDate, SystemModstamp, "
            "OpportunityId, StageName, Amount, Probability, CloseDate) "
            "VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?)",
            [self.ids.next(KEY_PREFIXES["OpportunityHistory"]), stamp, stamp, opportunity_id, *row],
        )

    def delete_record(self, sobject: str, record_id: str) -> None:
        """DELETE /sobjects/…/{id}: to the recycle bin (IsDeleted), seen by queryAll.

        An opportunity's history and partner rows go with it, as in Salesforce.
        """
        sf_object = self.sobject(sobject)
        rows = self.store.query(
            f"SELECT IsDeleted FROM {quote(sf_object.table)} WHERE Id = ?", [record_id]
        )
        if not rows:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if rows[0][0]:
            raise SalesforceApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        try:
            self.security.check_delete(sf_object)
        except Refusal as refusal:
            raise SalesforceApiError(400, refusal.status_code, refusal.message) from None
        stamp = self._stamp()
        with self.store.transaction():
            self.store.execute(
                f"UPDATE {quote(sf_object.table)} SET IsDeleted = 1, SystemModstamp = ? "
                "WHERE Id = ?",
                [stamp, record_id],
            )
            if sf_object.name == "Opportunity":
                for child in ("OpportunityHistory", "OpportunityPartner"):
                    self.store.execute(
                        f"UPDATE {child} SET IsDeleted = 1, SystemModstamp = ? "
                        "WHERE OpportunityId = ?",
                        [stamp, record_id],
                    )
        if sf_object.name in PERMISSION_OBJECTS:
            self.security.refresh()

    def update_collection(
        self,
        records: Sequence[Mapping[str, Any]],
        all_or_none: bool,
        reject: Callable[[], bool],
        lock: Callable[[], bool] = lambda: False,
    ) -> list[dict[str, Any]]:
        """PATCH /composite/sobjects: one SaveResult per record, in order."""

        def update(sobject: str, record: Mapping[str, Any]) -> tuple[str, FieldError | None]:
            record_id = full_id(str(record.get("id") or record.get("Id") or ""))
            return record_id, self.update_record(sobject, record_id, record, reject, lock)

        return self._collection(records, all_or_none, update)

    def create_collection(
        self, records: Sequence[Mapping[str, Any]], all_or_none: bool
    ) -> list[dict[str, Any]]:
        """POST /composite/sobjects: one SaveResult per new record, in order."""

        def create(sobject: str, record: Mapping[str, Any]) -> tuple[str, FieldError | None]:
            if record.get("id") or record.get("Id"):
                return "", FieldError(
                    "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                )
            made = self.create_record(sobject, record)
            return ("", made) if isinstance(made, FieldError) else (made, None)

        return self._collection(records, all_or_none, create)

    def _collection(
        self,
        records: Sequence[Mapping[str, Any]],
        all_or_none: bool,
        save: Callable[[str, Mapping[str, Any]], tuple[str, FieldError | None]],
    ) -> list[dict[str, Any]]:
        if len(records) > COLLECTION_LIMIT:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records "
                "into this call",
            )
        try:
            with self.store.transaction():
                results: list[dict[str, Any]] = []
                for record in records:
                    attributes = record.get("attributes") or {}
                    sobject = attributes.get("type") if isinstance(attributes, dict) else None
                    record_id = str(record.get("id") or record.get("Id") or "")
                    error: FieldError | None
                    if not sobject:
                        error = FieldError("INVALID_TYPE", "Must send a concrete entity type.", [])
                    else:
                        try:
                            record_id, error = save(str(sobject), record)
                        except SalesforceApiError:
                            error = FieldError(
                                "INVALID_TYPE", f"sObject type '{sobject}' is not supported.", []
                            )
                    if error is None:
                        results.append({"id": record_id, "success": True, "errors": []})
                    else:
                        results.append({"success": False, "errors": [error.as_json()]} | (
                            {"id": record_id} if record_id else {}))  # fmt: skip
                if all_or_none and any(not r["success"] for r in results):
                    raise _RollBack(results)
        finally:
            # what the user may see follows the permission rows that stayed
            self.security.refresh()
        return results

    # --- Tooling API ------------------------------------------------------------------

    def create_custom_field(self, full_name: str, metadata: Mapping[str, Any]) -> str:
        """Tooling API CustomField: a new field, hidden from the API user until a permission
        set assigned to it grants read (describe, queries) and edit (writes) access."""
        sobject, _, name = full_name.partition(".")
        sf_object = self.schema.get(sobject)
        if sf_object is None or not name:
            raise SalesforceApiError(
                400, "INVALID_INPUT", f"FullName must be Object.Field__c, got {full_name!r}"
            )
        if not name.endswith("__c") or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", name):
            raise SalesforceApiError(
                400,
                "INVALID_INPUT",
                f"The API name {name!r} is not valid: use letters, digits and underscores "
                "and end with __c",
            )
        if sf_object.any_field(name) is not None:
            raise SalesforceApiError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {name} on {sobject}.",
            )
        sf_field = _field_from_metadata(name, metadata)
        sf_object.add(sf_field)
        self.store.add_column(sf_object.table, sf_field.name, sf_field.sql_type)
        field_id = self.ids.next(KEY_PREFIXES["CustomField"])
        self.custom_fields[field_id] = {
            "FullName": f"{sf_object.name}.{name}",
            "Metadata": dict(metadata),
        }
        stamp = self._stamp()
        row = {"Id": field_id, "IsDeleted": 0, "CreatedDate": stamp, "LastModifiedDate": stamp,
               "SystemModstamp": stamp, "DeveloperName": name.removesuffix("__c"),
               "TableEnumOrId": sf_object.name, "NamespacePrefix": None,
               "ManageableState": "unmanaged"}  # fmt: skip
        self.store.insert_many("CustomField", list(row), [list(row.values())])
        self.security.secure(sf_object, name)
        return field_id

    # --- limits -----------------------------------------------------------------------

    @staticmethod
    def new_job_id() -> str:
        return "750" + secrets.token_hex(6)


def _capped_fields(target: SfObject) -> list[SfField]:
    return [f for f in target.fields.values() if f.type in TEXT_LENGTH_TYPES and f.length]


def _too_long_to_seed(sobject: str, sf_field: SfField, value: str) -> SeedFormatError:
    return SeedFormatError(
        f"{sobject} {sf_field.label} {value[:40]!r}… is {len(value)} characters; "
        f"Salesforce holds at most {sf_field.length} (STRING_TOO_LONG)"
    )


class _RollBack(Exception):
    """Raised inside a transaction to undo an allOrNone batch; carries the results."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("allOrNone rollback")
        self.results = results


def all_or_none_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results of a rolled-back allOrNone batch: the failures stay, the rest halt."""
    halted = {
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request "
        "was using AllOrNone header",
        "fields": [],
    }
    return [
        r if not r["success"] else {"id": r["id"], "success": False, "errors": [halted]}
        for r in results
    ]


RollBack = _RollBack


def full_id(record_id: str) -> str:
    """The 18-character form of a record id (a 15-character one gains its suffix)."""
    if len(record_id) == 15 and record_id.isalnum() and record_id.isascii():
        return salesforce_id18(record_id)
    return record_id


def parses(parse: Callable[[str], Any], value: str) -> bool:
    """Whether ``parse(value)`` accepts the value."""
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _too_long(sf_field: SfField, value: Any) -> FieldError | None:
    """STRING_TOO_LONG for text longer than the field's describe ``length``, as Salesforce
    answers it: "Account Name: data value too large: … (max length=255)"
    (https://github.com/CoderDojo/community-platform/issues/762,
    https://github.com/SalesforceLabs/Milestones-PM/issues/32)."""
    if sf_field.type not in TEXT_LENGTH_TYPES or not isinstance(value, str):
        return None
    if not sf_field.length or len(value) <= sf_field.length:
        return None
    return FieldError(
        "STRING_TOO_LONG",
        f"{sf_field.label}: data value too large: {value} (max length={sf_field.length})",
        [sf_field.name],
    )


def _type_problem(sf_field: SfField, value: Any) -> str | None:
    kind = sf_field.type
    if kind in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"value not of required type: {value}"
        if kind == "int" and not float(value).is_integer():
            return f"value not of required type: {value}"
        if sf_field.precision:
            digits = sf_field.precision - sf_field.scale
            if abs(value) >= 10**digits:
                return f"number too large: {value}"
        return None
    if kind in BOOLEAN_TYPES:
        return None if isinstance(value, bool) else f"value not of required type: {value}"
    if not isinstance(value, str):
        return f"value not of required type: {value}"
    if kind == "date" and not (_DATE.match(value) and parses(date.fromisoformat, value)):
        return f"value not of required type: {value}"
    if kind == "datetime" and not (
        _DATETIME.match(value) and parses(datetime.fromisoformat, value)
    ):
        return f"value not of required type: {value}"
    restricted = kind == "picklist" and sf_field.custom and sf_field.picklist_values
    active = set(sf_field.picklist_values) - set(sf_field.inactive_values)
    if restricted and value not in active:
        return f"bad value for restricted picklist field: {value}"
    return None


_METADATA_TYPES = {
    "Number": "double",
    "Percent": "percent",
    "Currency": "currency",
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Picklist": "picklist",
}


def _field_from_metadata(name: str, metadata: Mapping[str, Any]) -> SfField:
    kind = str(metadata.get("type", ""))
    if kind not in _METADATA_TYPES:
        raise SalesforceApiError(
            400,
            "INVALID_INPUT",
            f"Unsupported field type {kind!r}; the sandbox supports {', '.join(_METADATA_TYPES)}",
        )
    picklist: tuple[str, ...] = ()
    inactive: tuple[str, ...] = ()
    if kind == "Picklist":
        value_set = metadata.get("valueSet") or {}
        definition = (
            value_set.get("valueSetDefinition") or {} if isinstance(value_set, dict) else {}
        )
        values = [v for v in definition.get("value", []) if isinstance(v, dict)]
        picklist = tuple(str(v.get("fullName") or v.get("label")) for v in values)
        # Metadata API CustomValue: isActive false keeps a value but retires it
        inactive = tuple(
            str(v.get("fullName") or v.get("label")) for v in values if v.get("isActive") is False
        )
    precision = int(
        metadata.get("precision") or (18 if kind in ("Number", "Currency", "Percent") else 0)
    )
    scale = int(metadata.get("scale") or 0)
    length = int(metadata.get("length") or (255 if kind in ("Text", "Picklist") else 0))
    if kind in ("TextArea", "LongTextArea"):
        length = int(metadata.get("length") or 32768)
    return SfField(
        name=name,
        type=_METADATA_TYPES[kind],
        label=str(metadata.get("label") or name),
        custom=True,
        nillable=not metadata.get("required", False),
        updateable=True,
        length=length,
        precision=precision,
        scale=scale,
        picklist_values=picklist,
        inactive_values=inactive,
    )

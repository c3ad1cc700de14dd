"""The sandbox's Salesforce org: records, queries with cursors, writes, custom fields.

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

from connectors.seed import SeedDataset
from sandbox.ids import SalesforceIds
from sandbox.salesforce.objects import (
    BOOLEAN_TYPES,
    KEY_PREFIXES,
    NUMBER_TYPES,
    SfField,
    SfObject,
    SfSchema,
    standard_schema,
)
from sandbox.salesforce.seed import Row, seed_salesforce
from sandbox.salesforce.soql import parse_soql
from sandbox.salesforce.soql_sql import CompiledQuery, compile_query, record_from_row
from sandbox.store import SqlStore, quote, sf_datetime

API_VERSION = "60.0"
DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
COLLECTION_LIMIT = 200
HISTORY_TRACKED = frozenset({"StageName", "Amount", "Probability", "CloseDate"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")


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


@dataclass
class FieldError:
    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}


def now_stamp() -> str:
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
            opportunity = self.schema.get("Opportunity")
            assert opportunity is not None
            del opportunity.fields["currencyisocode"]
        for sf_object in self.schema.objects.values():
            store.create_table(
                sf_object.table,
                [(f.name, f.sql_type) for f in sf_object.fields.values()],
                key="Id",
            )
        self.id_map = seed_salesforce(dataset, self.ids, self._insert).id_map
        for sf_object in self.schema.objects.values():
            # after the load: one sort beats a million index updates
            store.create_index(sf_object.table, ["SystemModstamp", "Id"])
            # child rows are looked up by parent, as Salesforce's own indexes allow
            if sf_object.field("OpportunityId") is not None:
                store.create_index(sf_object.table, ["OpportunityId", "SystemModstamp"])
        self._cursors: dict[str, QueryCursor] = {}
        self._cursor_lock = threading.Lock()
        self.custom_fields: dict[str, dict[str, Any]] = {}

    def _insert(self, sobject: str, rows: list[Row]) -> None:
        target = self.schema.get(sobject)
        assert target is not None
        columns = [f.name for f in target.fields.values()]
        self.store.insert_many(
            target.table, columns, ([row.get(c) for c in columns] for row in rows)
        )

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

    # --- queries ----------------------------------------------------------------

    def start_query(self, soql: str, *, include_deleted: bool, batch_size: int) -> dict[str, Any]:
        """Run a query; its first page, with nextRecordsUrl when more remain."""
        parsed = parse_soql(soql, today=self.today or datetime.now(UTC).date())
        compiled = compile_query(parsed, self.schema, include_deleted=include_deleted)
        if compiled.is_count:
            (count,) = self.store.query(compiled.count_sql, compiled.count_params)[0]
            return {"totalSize": count, "done": True, "records": []}
        rowids = [r[0] for r in self.store.query(compiled.ids_sql, compiled.ids_params)]
        cursor = QueryCursor(compiled=compiled, rowids=rowids, batch_size=batch_size)
        locator = self.ids.next(KEY_PREFIXES["QueryLocator"])
        if len(rowids) > batch_size:
            with self._cursor_lock:
                self._cursors[locator] = cursor
        return self.page(cursor, locator, 0)

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
        end = offset + len(chosen)
        result: dict[str, Any] = {
            "totalSize": len(cursor.rowids),
            "done": end >= len(cursor.rowids),
        }
        if end < len(cursor.rowids):
            result["nextRecordsUrl"] = f"/services/data/v{API_VERSION}/query/{locator}-{end}"
        else:
            with self._cursor_lock:
                self._cursors.pop(locator, None)
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
        return [
            record_from_row(compiled, found[rowid], API_VERSION)
            for rowid in rowids
            if rowid in found
        ]

    def query_rows(
        self, soql: str, *, include_deleted: bool = False
    ) -> tuple[CompiledQuery, list[dict[str, Any]]]:
        """Every record of a query at once (Bulk API results; queryAll jobs see deletions)."""
        parsed = parse_soql(soql, today=self.today or datetime.now(UTC).date())
        compiled = compile_query(parsed, self.schema, include_deleted=include_deleted)
        if compiled.is_count:
            raise SalesforceApiError(400, "INVALIDJOB", "COUNT() is not supported by the Bulk API")
        rowids = [r[0] for r in self.store.query(compiled.ids_sql, compiled.ids_params)]
        return compiled, self.fetch_records(compiled, rowids)

    # --- single records ----------------------------------------------------------

    def get_record(
        self, sobject: str, record_id: str, fields: Sequence[str] | None
    ) -> dict[str, Any]:
        sf_object = self.sobject(sobject)
        names = list(fields) if fields else [f.name for f in sf_object.fields.values()]
        soql = f"SELECT {', '.join(names)} FROM {sf_object.name} WHERE Id = '{_escape(record_id)}'"
        result = self.start_query(soql, include_deleted=False, batch_size=DEFAULT_BATCH_SIZE)
        if not result["records"]:
            raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        record: dict[str, Any] = result["records"][0]
        return record

    # --- writes --------------------------------------------------------------------

    def check_value(
        self, sf_object: SfObject, name: str, value: Any
    ) -> tuple[SfField, Any] | FieldError:
        """A field's new value, type-checked and converted to storage, or the error."""
        sf_field = sf_object.field(name)
        if sf_field is None:
            return FieldError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {sf_object.name}",
                [name],
            )
        if not sf_field.updateable:
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
        return sf_field, value

    def update_record(
        self,
        sobject: str,
        record_id: str,
        values: Mapping[str, Any],
        reject: Callable[[], bool] = lambda: False,
    ) -> FieldError | None:
        """Update one record; the first problem, or None when it was written."""
        sf_object = self.sobject(sobject)
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
        stamp = now_stamp()
        assignments.update(LastModifiedDate=stamp, SystemModstamp=stamp)
        sets = ", ".join(f"{quote(column)} = ?" for column in assignments)
        with self.store.transaction():
            self.store.execute(
                f"UPDATE {quote(sf_object.table)} SET {sets} WHERE Id = ?",
                [*assignments.values(), record_id],
            )
            if sf_object.name == "Opportunity" and HISTORY_TRACKED & assignments.keys():
                self._record_history(record_id, stamp)
        return None

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
        stamp = now_stamp()
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

    def update_collection(
        self, records: Sequence[Mapping[str, Any]], all_or_none: bool, reject: Callable[[], bool]
    ) -> list[dict[str, Any]]:
        """PATCH /composite/sobjects: one SaveResult per record, in order."""
        if len(records) > COLLECTION_LIMIT:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records "
                "into this call",
            )
        with self.store.transaction():
            results: list[dict[str, Any]] = []
            for record in records:
                attributes = record.get("attributes") or {}
                sobject = attributes.get("type") if isinstance(attributes, dict) else None
                record_id = str(record.get("id") or record.get("Id") or "")
                if not sobject:
                    error: FieldError | None = FieldError(
                        "INVALID_TYPE", "Must send a concrete entity type.", []
                    )
                else:
                    try:
                        error = self.update_record(str(sobject), record_id, record, reject)
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
        return results

    # --- Tooling API ------------------------------------------------------------------

    def create_custom_field(self, full_name: str, metadata: Mapping[str, Any]) -> str:
        """Tooling API CustomField: a new field, at once describable, queryable, writable."""
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
        if sf_object.field(name) is not None:
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
        return field_id

    # --- limits -----------------------------------------------------------------------

    @staticmethod
    def new_job_id() -> str:
        return "750" + secrets.token_hex(6)


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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


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
    if kind == "date" and not _DATE.match(value):
        return f"value not of required type: {value}"
    if kind == "datetime" and not _DATETIME.match(value):
        return f"value not of required type: {value}"
    text_kind = kind in ("string", "textarea", "email", "url", "phone")
    if text_kind and sf_field.length and len(value) > sf_field.length:
        return f"data value too large: {value} (max length={sf_field.length})"
    restricted = kind == "picklist" and sf_field.custom and sf_field.picklist_values
    if restricted and value not in sf_field.picklist_values:
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
    if kind == "Picklist":
        value_set = metadata.get("valueSet") or {}
        definition = (
            value_set.get("valueSetDefinition") or {} if isinstance(value_set, dict) else {}
        )
        picklist = tuple(
            str(v.get("fullName") or v.get("label"))
            for v in definition.get("value", [])
            if isinstance(v, dict)
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
    )

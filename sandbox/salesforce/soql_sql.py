"""Compile a parsed SOQL query (``soql.SoqlQuery``) to SQLite SQL over the sandbox store.

The store keeps one table per sObject, named like the object, with one column per
field API name (dates 'YYYY-MM-DD', datetimes '2017-03-01T00:00:00.000+0000' in UTC,
booleans 0/1). The compiler resolves every field path against the ``SfSchema``,
case-insensitively, joins parent relationships (``Account.Owner.Name``) with LEFT JOINs
on the parent's Id, and reproduces the Salesforce semantics a connector can observe:

- text comparisons and LIKE are case-insensitive; ``= ''`` matches blank (null) text,
  which Salesforce stores as null;
- SOQL logic is two-valued: ``!=``, ``NOT IN`` and ``NOT`` match records whose field is
  null, and a filter on a missing parent's field is false (``= null`` is true);
- ``= null`` on a boolean is ``= false`` and ``!= null`` is ``= true`` (documented);
- values must have the field's type — strings for text, numbers for numbers, date
  literals for dates, datetime literals for datetimes, true/false for booleans — else
  INVALID_FIELD "value of filter criterion for field 'X' must be of type … "; relative
  date literals (TODAY, LAST_N_DAYS:n, …) work on date and datetime fields (UTC days);
- ORDER BY sorts nulls first unless NULLS LAST, text case-insensitively, and always ends
  on the base table's rowid so that paging over a result is stable;
- rows with IsDeleted = 1 are left out unless ``include_deleted`` (queryAll);
- COUNT() counts the matching rows within LIMIT and OFFSET;
- a parent-to-child subquery (``(SELECT Id FROM Tasks)``) is compiled against the child
  object of the base object's relationship and run per page of parents
  (``CompiledQuery.child_rows_sql``); its LIMIT applies per parent.

The server runs ``ids_sql`` once to fix the result (the rowids, in order) and then
``rows_sql(n)`` per page; ``record_from_row`` turns a row into Salesforce's JSON
record with its ``attributes`` and nested parent objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sandbox.salesforce.objects import SfField, SfObject, SfSchema
from sandbox.salesforce.soql import (
    And,
    BooleanValue,
    Comparison,
    Condition,
    DateRangeValue,
    DateTimeValue,
    DateValue,
    FieldRef,
    InList,
    Not,
    NullValue,
    NumberValue,
    Or,
    Position,
    SoqlError,
    SoqlQuery,
    StringValue,
    Value,
    day_start_storage_text,
)

__all__ = ["ChildQuery", "CompiledQuery", "SqlParam", "compile_query", "record_from_row"]

SqlParam = str | int | float | None

_TEXT_TYPES = frozenset({"string", "textarea", "picklist", "email", "url", "phone"})
_NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")

_NO_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
_NO_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_NO_CHILD = (
    "Didn't understand relationship '{name}' in FROM part of query call. If you are "
    "attempting to use a custom relationship, be sure to append the '__r' after the custom "
    "relationship name. Please reference your WSDL or the describe call for the appropriate "
    "names."
)
_NO_OBJECT = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, "
    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


def _kind(sf_field: SfField) -> str:
    """How a field compares: text, id, number, date, datetime or boolean."""
    if sf_field.type in ("id", "reference"):
        return "id"
    if sf_field.type in _NUMBER_TYPES:
        return "number"
    if sf_field.type in ("date", "datetime", "boolean"):
        return sf_field.type
    return "text"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# ---------------------------------------------------------------------------
# The compiled query
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parent:
    """One parent object on a selected path: its key in the record and its Id column."""

    name: str
    object_name: str
    id_index: int


@dataclass(frozen=True)
class _Selected:
    """One SELECT entry: the parents to walk, the leaf key, its column and type."""

    parents: tuple[_Parent, ...]
    name: str
    index: int
    field_type: str


@dataclass(frozen=True)
class CompiledQuery:
    """SQL for one SOQL query.

    ``ids_sql`` returns the base table's rowids (``t0.rowid``) of the result in order,
    LIMIT and OFFSET applied; ``count_sql`` the size of that result (COUNT()).
    ``rows_sql(n)`` selects ``t0.rowid`` and the columns for ``n`` of those rowids, in no
    particular order; ``record_from_row`` reads such a row.
    """

    object_name: str
    is_count: bool
    select_paths: list[tuple[str, ...]]
    ids_sql: str
    ids_params: list[SqlParam]
    count_sql: str
    count_params: list[SqlParam]
    from_sql: str
    columns_sql: tuple[str, ...] = ()
    base_id_index: int = 1
    selected: tuple[_Selected, ...] = field(default=(), repr=False)
    #: the subqueries: what their rows are keyed on, compiled against the child object
    children: tuple[ChildQuery, ...] = ()
    #: the WHERE filters (deleted rows, the condition) and ORDER BY, for a subquery's rows
    filters_sql: tuple[str, ...] = ()
    filter_params: tuple[SqlParam, ...] = ()
    order_sql: str = "t0.rowid ASC"
    limit: int | None = None

    def child_rows_sql(self, key: str, n: int) -> str:
        """``SELECT t0.rowid, t0.<key> …`` of the rows whose ``key`` is one of ``n`` parent
        ids, in the query's order (parameters: ``filter_params`` then the ids)."""
        placeholders = ", ".join("?" * n)
        where = " AND ".join((*self.filters_sql, f"t0.{_quote(key)} IN ({placeholders})"))
        return (
            f"SELECT t0.rowid, t0.{_quote(key)} FROM {self.from_sql} WHERE {where} "
            f"ORDER BY {self.order_sql}"
        )

    def rows_sql(self, n: int) -> str:
        """``SELECT t0.rowid, <columns> … WHERE t0.rowid IN (?, …)`` with ``n`` placeholders."""
        if n < 0:
            raise ValueError(f"rows_sql needs a count of rowids, not {n}")
        placeholders = ", ".join("?" * n)
        columns = ", ".join(("t0.rowid", *self.columns_sql))
        return f"SELECT {columns} FROM {self.from_sql} WHERE t0.rowid IN ({placeholders})"


@dataclass(frozen=True)
class ChildQuery:
    """A parent-to-child subquery: the relationship's name (the key in each parent's
    record), the child's field that holds the parent id, and the compiled child query."""

    name: str
    key: str
    compiled: CompiledQuery


def _attributes(object_name: str, record_id: object, api_version: str) -> dict[str, object]:
    version = api_version.removeprefix("v")
    return {
        "type": object_name,
        "url": f"/services/data/v{version}/sobjects/{object_name}/{record_id}",
    }


def _json_value(value: object, field_type: str) -> object:
    """A stored SQLite value as Salesforce's JSON shows it."""
    if field_type == "boolean":
        return bool(value)
    if value is None:
        return None
    if field_type in ("address", "location") and isinstance(value, str):
        return json.loads(value)  # a compound field: REST answers an object
    if field_type == "int" and isinstance(value, int | float):
        return int(value)
    if field_type in _NUMBER_TYPES and isinstance(value, int | float):
        return float(value)
    return value


def record_from_row(
    compiled: CompiledQuery, row: Sequence[object], api_version: str
) -> dict[str, object]:
    """The Salesforce JSON record of one row of ``compiled.rows_sql(n)``.

    Keys come in the order of the SELECT list and the schema's casing; a parent
    relationship is a nested record with its own ``attributes``, or None when the
    reference is empty. ``api_version`` reads "60.0" or "v60.0".
    """
    record: dict[str, object] = {
        "attributes": _attributes(compiled.object_name, row[compiled.base_id_index], api_version)
    }
    for entry in compiled.selected:
        target: dict[str, object] | None = record
        for parent in entry.parents:
            assert target is not None
            if parent.name not in target:
                parent_id = row[parent.id_index]
                target[parent.name] = (
                    None
                    if parent_id is None
                    else {"attributes": _attributes(parent.object_name, parent_id, api_version)}
                )
            nested = target[parent.name]
            target = nested if isinstance(nested, dict) else None
            if target is None:
                break
        if target is not None:
            target[entry.name] = _json_value(row[entry.index], entry.field_type)
    return record


# ---------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    """A field path resolved: the field, the alias of its table, the canonical path."""

    field: SfField
    alias: str
    path: tuple[str, ...]
    parents: tuple[tuple[str, str, str], ...]  # (relationship name, object name, alias)

    @property
    def sql(self) -> str:
        return f"{self.alias}.{_quote(self.field.name)}"


def _plain(value: Value) -> SqlParam:
    """The SQL parameter for a string, number, date or datetime literal."""
    if isinstance(value, StringValue | NumberValue):
        return value.value
    if isinstance(value, DateValue | DateTimeValue):
        return value.storage_text
    raise AssertionError(f"no plain SQL value for {value!r}")  # pragma: no cover


def compile_query(query: SoqlQuery, schema: SfSchema, *, include_deleted: bool) -> CompiledQuery:
    """Resolve ``query`` against ``schema`` and build its SQL; ``SoqlError`` where Salesforce
    would refuse it (unknown object or field, value of the wrong type, …)."""
    return _Compiler(query, schema).compile(include_deleted=include_deleted)


class _Compiler:
    def __init__(self, query: SoqlQuery, schema: SfSchema) -> None:
        self.query = query
        self.schema = schema
        base = schema.get(query.object_name)
        if base is None:
            raise self.error(
                "INVALID_TYPE", _NO_OBJECT.format(name=query.object_name), query.object_position
            )
        if not base.queryable:
            raise self.error(
                "INVALID_TYPE",
                f"entity type {base.name} does not support query",
                query.object_position,
            )
        self.base = base
        self.joins: list[str] = []
        self.aliases: dict[tuple[str, ...], str] = {}
        self.params: list[SqlParam] = []

    def error(self, code: str, detail: str, position: Position) -> SoqlError:
        return SoqlError.at(code, detail, self.query.source, position)

    # -- names ---------------------------------------------------------------

    def resolve(self, ref: FieldRef) -> _Resolved:
        current: SfObject = self.base
        alias = "t0"
        path: list[str] = []
        parents: list[tuple[str, str, str]] = []
        for part in ref.path[:-1]:
            reference = current.relationship(part)
            target = (
                self.schema.get(reference.reference_to)
                if reference is not None and reference.reference_to
                else None
            )
            if reference is None or reference.relationship_name is None or target is None:
                raise self.error("INVALID_FIELD", _NO_RELATIONSHIP.format(name=part), ref.position)
            path.append(reference.relationship_name)
            key = tuple(name.lower() for name in path)
            if key not in self.aliases:
                child_alias = f"t{len(self.aliases) + 1}"
                self.aliases[key] = child_alias
                self.joins.append(
                    f"LEFT JOIN {_quote(target.table)} AS {child_alias} "
                    f'ON {child_alias}."Id" = {alias}.{_quote(reference.name)}'
                )
            alias = self.aliases[key]
            parents.append((reference.relationship_name, target.name, alias))
            current = target
        leaf = current.field(ref.path[-1])
        if leaf is None:
            raise self.error(
                "INVALID_FIELD",
                _NO_COLUMN.format(name=ref.path[-1], entity=current.name),
                ref.position,
            )
        return _Resolved(leaf, alias, (*path, leaf.name), tuple(parents))

    # -- the whole query -----------------------------------------------------

    def compile(self, *, include_deleted: bool) -> CompiledQuery:
        query = self.query
        columns: list[str] = ['t0."Id"']
        parent_id_index: dict[tuple[str, ...], int] = {}
        selected: list[_Selected] = []
        seen: set[tuple[str, ...]] = set()
        for ref in query.fields:
            resolved = self.resolve(ref)
            key = tuple(name.lower() for name in resolved.path)
            if key in seen:
                raise self.error(
                    "INVALID_FIELD", f"duplicate field selected: {ref.text}", ref.position
                )
            seen.add(key)
            parents: list[_Parent] = []
            for depth, (name, object_name, alias) in enumerate(resolved.parents):
                prefix = tuple(part.lower() for part in resolved.path[: depth + 1])
                if prefix not in parent_id_index:
                    columns.append(f'{alias}."Id"')
                    parent_id_index[prefix] = len(columns)
                parents.append(_Parent(name, object_name, parent_id_index[prefix]))
            columns.append(resolved.sql)
            selected.append(
                _Selected(tuple(parents), resolved.field.name, len(columns), resolved.field.type)
            )

        children = tuple(self.child_query(sub, include_deleted) for sub in query.subqueries)
        filters: list[str] = []
        if not include_deleted and self.base.field("IsDeleted") is not None:
            filters.append('IFNULL(t0."IsDeleted", 0) = 0')
        if query.where is not None:
            filters.append(self.condition(query.where))
        where_params = list(self.params)
        order_sql = self.order_by()

        from_sql = " ".join((f"{_quote(self.base.table)} AS t0", *self.joins))
        where_sql = f" WHERE {' AND '.join(filters)}" if filters else ""
        page_sql = ""
        page_params: list[SqlParam] = []
        if query.limit is not None or query.offset is not None:
            page_sql = " LIMIT ? OFFSET ?"
            page_params = [
                query.limit if query.limit is not None else -1,
                query.offset if query.offset is not None else 0,
            ]
        ids_sql = f"SELECT t0.rowid FROM {from_sql}{where_sql} ORDER BY {order_sql}{page_sql}"
        if page_sql:
            count_sql = (
                f"SELECT COUNT(*) FROM (SELECT t0.rowid FROM {from_sql}{where_sql}{page_sql})"
            )
        else:
            count_sql = f"SELECT COUNT(*) FROM {from_sql}{where_sql}"
        return CompiledQuery(
            object_name=self.base.name,
            is_count=query.is_count,
            select_paths=self._paths(selected),
            ids_sql=ids_sql,
            ids_params=where_params + page_params,
            count_sql=count_sql,
            count_params=where_params + page_params,
            from_sql=from_sql,
            columns_sql=tuple(columns),
            base_id_index=1,
            selected=tuple(selected),
            children=children,
            filters_sql=tuple(filters),
            filter_params=tuple(where_params),
            order_sql=order_sql,
            limit=query.limit,
        )

    def child_query(self, sub: SoqlQuery, include_deleted: bool) -> ChildQuery:
        """A subquery compiled against the child object its FROM names."""
        relationship = self.base.children.get(sub.object_name.lower())
        child = None if relationship is None else self.schema.get(relationship.child)
        if relationship is None or child is None:
            raise self.error(
                "INVALID_TYPE", _NO_CHILD.format(name=sub.object_name), sub.object_position
            )
        if sub.offset is not None:
            raise self.error(
                "MALFORMED_QUERY", "OFFSET is not supported in a subquery", sub.object_position
            )
        compiled = _Compiler(replace(sub, object_name=child.name), self.schema).compile(
            include_deleted=include_deleted
        )
        return ChildQuery(relationship.name, relationship.field, compiled)

    @staticmethod
    def _paths(selected: list[_Selected]) -> list[tuple[str, ...]]:
        return [(*(parent.name for parent in entry.parents), entry.name) for entry in selected]

    def order_by(self) -> str:
        keys: list[str] = []
        for item in self.query.order_by:
            resolved = self.resolve(item.field)
            if not resolved.field.sortable:
                raise self.error(
                    "INVALID_FIELD",
                    f"field '{item.field.path[-1]}' can not be sorted in a query call",
                    item.field.position,
                )
            column = resolved.sql
            kind = _kind(resolved.field)
            direction = "DESC" if item.descending else "ASC"
            if kind == "boolean":
                keys.append(f"IFNULL({column}, 0) {direction}")
                continue
            keys.append(f"{column} IS NULL {'DESC' if item.nulls_first else 'ASC'}")
            collate = " COLLATE NOCASE" if kind == "text" else ""
            keys.append(f"{column}{collate} {direction}")
        keys.append("t0.rowid ASC")
        return ", ".join(keys)

    # -- WHERE ---------------------------------------------------------------

    def condition(self, condition: Condition) -> str:
        if isinstance(condition, And):
            return "(" + " AND ".join(self.condition(c) for c in condition.operands) + ")"
        if isinstance(condition, Or):
            return "(" + " OR ".join(self.condition(c) for c in condition.operands) + ")"
        if isinstance(condition, Not):
            # SOQL is two-valued: NOT of a comparison against null is true.
            return f"(NOT IFNULL({self.condition(condition.operand)}, 0))"
        if isinstance(condition, InList):
            return self.in_list(condition)
        return self.comparison(condition)

    def filterable(self, ref: FieldRef) -> _Resolved:
        resolved = self.resolve(ref)
        if not resolved.field.filterable:
            raise self.error(
                "INVALID_FIELD",
                f"field '{ref.path[-1]}' can not be filtered in a query call",
                ref.position,
            )
        return resolved

    def param(self, value: SqlParam) -> str:
        self.params.append(value)
        return "?"

    def type_error(self, ref: FieldRef, sf_field: SfField, value: Value) -> SoqlError:
        kind = _kind(sf_field)
        soap_type = {
            "text": "string",
            "id": "id",
            "number": "int" if sf_field.type == "int" else "double",
            "date": "date",
            "datetime": "dateTime",
            "boolean": "boolean",
        }[kind]
        quotes = "be enclosed in quotes" if kind in ("text", "id") else "not be enclosed in quotes"
        return self.error(
            "INVALID_FIELD",
            f"value of filter criterion for field '{ref.path[-1]}' must be of type {soap_type} "
            f"and should {quotes}",
            value.position,
        )

    def operator_error(self, sf_field: SfField, position: Position) -> SoqlError:
        """Salesforce's refusal of e.g. LIKE on an id ("invalid operator on id field")."""
        kind = "id" if _kind(sf_field) == "id" else sf_field.type
        return self.error(
            "INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on {kind} field", position
        )

    def check_value(self, ref: FieldRef, resolved: _Resolved, value: Value) -> None:
        """Refuse a value whose type does not suit the field, as Salesforce does."""
        if isinstance(value, NullValue):
            return
        kind = _kind(resolved.field)
        allowed: tuple[type, ...] = {
            "text": (StringValue,),
            "id": (StringValue,),
            "number": (NumberValue,),
            "date": (DateValue, DateRangeValue),
            "datetime": (DateTimeValue, DateRangeValue),
            "boolean": (BooleanValue,),
        }[kind]
        if not isinstance(value, allowed):
            raise self.type_error(ref, resolved.field, value)
        if kind == "id" and isinstance(value, StringValue) and not _ID_RE.fullmatch(value.value):
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.value}", value.position
            )

    def comparison(self, comparison: Comparison) -> str:
        ref, operator, value = comparison.field, comparison.operator, comparison.value
        resolved = self.filterable(ref)
        kind = _kind(resolved.field)
        column = resolved.sql
        if operator == "LIKE":
            if kind != "text":
                raise self.operator_error(resolved.field, comparison.position)
            if not isinstance(value, StringValue):
                raise self.type_error(ref, resolved.field, value)
            return f"LOWER({column}) LIKE LOWER({self.param(value.like_pattern)}) ESCAPE '\\'"
        self.check_value(ref, resolved, value)
        if kind == "boolean":
            if operator not in ("=", "!="):
                raise self.operator_error(resolved.field, comparison.position)
            wanted = isinstance(value, BooleanValue) and value.value
            if operator == "!=":
                wanted = not wanted
            return f"{column} = 1" if wanted else f"IFNULL({column}, 0) = 0"
        if isinstance(value, NullValue):
            if operator == "=":
                return f"{column} IS NULL"
            if operator == "!=":
                return f"{column} IS NOT NULL"
            return "0"
        if isinstance(value, DateRangeValue):
            return self.date_range(column, kind, operator, value)
        if kind == "text" and isinstance(value, StringValue) and value.value == "":
            # Salesforce stores blank text as null, so '' and null are the same filter.
            if operator == "=":
                return f"({column} IS NULL OR {column} = '')"
            if operator == "!=":
                return f"({column} IS NOT NULL AND {column} <> '')"
        left, right = self.operands(column, kind, value)
        if operator == "!=":
            return f"({column} IS NULL OR {left} <> {right})"
        return f"{left} {operator} {right}"

    def operands(self, column: str, kind: str, value: Value) -> tuple[str, str]:
        """The two sides of a comparison of ``column`` with a plain (non-null) value."""
        if isinstance(value, StringValue) and kind == "id" and len(value.value) == 15:
            return f"substr({column}, 1, 15)", self.param(value.value)
        collate = " COLLATE NOCASE" if kind == "text" else ""
        return column, self.param(_plain(value)) + collate

    def date_range(self, column: str, kind: str, operator: str, value: DateRangeValue) -> str:
        """A relative date literal: a range of whole days, compared as Salesforce documents
        (``=`` within it, ``<`` before its start, ``>`` after its end)."""
        if kind == "datetime":
            low = day_start_storage_text(value.start)
            high = day_start_storage_text(value.end + timedelta(days=1))
            below_high, above_high = "<", ">="
        else:
            low, high = value.start.isoformat(), value.end.isoformat()
            below_high, above_high = "<=", ">"
        # Each branch writes its placeholders left to right as it adds their parameters.
        if operator in ("=", "!="):
            within = f"({column} >= {self.param(low)} AND {column} {below_high} {self.param(high)})"
            return within if operator == "=" else f"({column} IS NULL OR NOT {within})"
        if operator == "<":
            return f"{column} < {self.param(low)}"
        if operator == "<=":
            return f"{column} {below_high} {self.param(high)}"
        if operator == ">":
            return f"{column} {above_high} {self.param(high)}"
        return f"{column} >= {self.param(low)}"

    def in_list(self, condition: InList) -> str:
        ref = condition.field
        resolved = self.filterable(ref)
        kind = _kind(resolved.field)
        column = resolved.sql
        for value in condition.values:
            self.check_value(ref, resolved, value)
        alternatives: list[str] = []
        if kind == "boolean":
            wanted = {isinstance(v, BooleanValue) and v.value for v in condition.values}
            alternatives.extend(
                f"{column} = 1" if flag else f"IFNULL({column}, 0) = 0" for flag in sorted(wanted)
            )
        else:
            # Sort the values first, then write the SQL left to right, so that the
            # parameters come in the order of their placeholders.
            plain: list[SqlParam] = []
            short_ids: list[str] = []
            ranges: list[DateRangeValue] = []
            matches_null = False
            for value in condition.values:
                if isinstance(value, NullValue):
                    matches_null = True
                elif isinstance(value, DateRangeValue):
                    ranges.append(value)
                elif isinstance(value, StringValue) and kind == "id" and len(value.value) == 15:
                    short_ids.append(value.value)
                else:
                    plain.append(_plain(value))
                    matches_null = matches_null or (kind == "text" and _plain(value) == "")
            if plain:
                collate = " COLLATE NOCASE" if kind == "text" else ""
                placeholders = ", ".join(self.param(v) for v in plain)
                alternatives.append(f"{column}{collate} IN ({placeholders})")
            if short_ids:
                placeholders = ", ".join(self.param(v) for v in short_ids)
                alternatives.append(f"substr({column}, 1, 15) IN ({placeholders})")
            alternatives.extend(self.date_range(column, kind, "=", v) for v in ranges)
            if matches_null:
                alternatives.append(f"{column} IS NULL")
        member = "(" + " OR ".join(alternatives) + ")"
        if condition.negated:
            return f"(NOT IFNULL({member}, 0))"
        return member

"""CRM search: a search request body compiled into one SQL WHERE and ORDER BY.

Semantics follow HubSpot's search guide: filterGroups are ORed, the filters of a
group ANDed (at most 5 groups, 6 filters in a group, 18 in all); string values
compare case-insensitively except for enumerations and for IN/NOT_IN, whose
values must be lowercase; date and datetime values may be epoch milliseconds or
ISO 8601; one sort rule, ties broken by id so paging is stable; without a sort,
records come oldest first (id order). ``after`` is an offset: pages of at most
200, and no page may reach past the 10,000th result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from sandbox.hubspot.associations import TABLE as ASSOCIATIONS_TABLE
from sandbox.hubspot.errors import validation_error
from sandbox.hubspot.objects import (
    ARCHIVED_COLUMN,
    COMPANIES,
    DEALS,
    ID_COLUMN,
    SYSTEM_PROPERTIES,
    ObjectType,
)
from sandbox.hubspot.properties import HsProperty, PropertyRegistry
from sandbox.hubspot.values import TIME_TYPES, parse_number, parse_time
from sandbox.store import quote

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_RESULTS = 10_000
MAX_BODY_CHARS = 3_000
OPERATORS = frozenset(
    {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
     "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
)  # fmt: skip
_COMPARE = {"EQ": "=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
#: token separators of CONTAINS_TOKEN (whitespace and the punctuation that splits words)
SEPARATORS = (" ", "\t", "\n", ",", ";", "(", ")", "/", "|", '"', "–", "—")
_TOKEN_SPLIT = re.compile("[" + re.escape("".join(SEPARATORS)) + "]+")
#: the association pseudo-properties: associations.company on deals, associations.deal on companies
_ASSOCIATION_COLUMNS = {
    (DEALS, "company"): ("deal_id", "company_id"),
    (COMPANIES, "deal"): ("company_id", "deal_id"),
}


def contains_token(text: object, pattern: object) -> int:
    """CONTAINS_TOKEN: every token of the pattern matches a token of the text (``*`` wildcards)."""
    if text is None or pattern is None:
        return 0
    tokens = [t for t in _TOKEN_SPLIT.split(str(text).lower()) if t]
    wanted = [t for t in _TOKEN_SPLIT.split(str(pattern).lower()) if t]
    return int(bool(wanted) and all(any(fnmatchcase(t, w) for t in tokens) for w in wanted))


@dataclass
class CompiledSearch:
    """A search as SQL: WHERE (with params), ORDER BY, and the page asked for."""

    where: str
    params: list[Any] = field(default_factory=list)
    order_by: str = ""
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    properties: list[str] | None = None


class SearchCompiler:
    """Compiles one object type's search requests against its property registry."""

    def __init__(self, object_type: ObjectType, registry: PropertyRegistry) -> None:
        self.object_type = object_type
        self.registry = registry

    def compile(self, body: Any, body_chars: int) -> CompiledSearch:
        if body_chars > MAX_BODY_CHARS:
            raise validation_error(
                f"The search request is {body_chars} characters long; the maximum is "
                f"{MAX_BODY_CHARS}."
            )
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: a search request object is required")
        limit = _integer(body.get("limit", DEFAULT_LIMIT), "limit")
        if not 1 <= limit <= MAX_LIMIT:
            raise validation_error(f"limit must be between 1 and {MAX_LIMIT} (got {limit})")
        offset = _integer(body.get("after") or 0, "after")
        if offset < 0:
            raise validation_error("after must be a non-negative integer")
        if offset + limit > MAX_RESULTS:
            raise validation_error(
                f"The search endpoints return at most {MAX_RESULTS} results for a query; "
                f"this page (after={offset}, limit={limit}) reaches past result {MAX_RESULTS}. "
                "Narrow the query to page further."
            )
        clauses = [f"{quote(ARCHIVED_COLUMN)} = 0"]
        params: list[Any] = []
        groups = self._groups(body)
        if groups:
            rendered: list[str] = []
            for group in groups:
                parts = [self._filter(f, params) for f in group]
                rendered.append("(" + " AND ".join(parts) + ")")
            clauses.append("(" + " OR ".join(rendered) + ")")
        query = body.get("query")
        if query:
            clauses.append(self._query(str(query), params))
        properties = body.get("properties")
        if properties is not None and not (
            isinstance(properties, list) and all(isinstance(p, str) for p in properties)
        ):
            raise validation_error("properties must be a list of property names")
        return CompiledSearch(
            where=" AND ".join(clauses),
            params=params,
            order_by=self._order(body.get("sorts")),
            limit=limit,
            offset=offset,
            properties=properties or None,
        )

    # --- filters ------------------------------------------------------------------------

    def _groups(self, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
        raw_groups = body.get("filterGroups") or []
        if body.get("filters"):
            raw_groups = [*raw_groups, {"filters": body["filters"]}]
        if not isinstance(raw_groups, list):
            raise validation_error("filterGroups must be a list")
        if len(raw_groups) > MAX_GROUPS:
            raise validation_error(
                f"Too many filter groups ({len(raw_groups)}); the maximum is {MAX_GROUPS}."
            )
        groups: list[list[dict[str, Any]]] = []
        total = 0
        for raw in raw_groups:
            filters = raw.get("filters") if isinstance(raw, dict) else None
            if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
                raise validation_error("each filter group needs a list of filters")
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise validation_error(
                    f"Too many filters in a group ({len(filters)}); the maximum is "
                    f"{MAX_FILTERS_PER_GROUP}."
                )
            total += len(filters)
            if filters:
                groups.append(filters)
        if total > MAX_FILTERS:
            raise validation_error(f"Too many filters ({total}); the maximum is {MAX_FILTERS}.")
        return groups

    def _property(self, name: Any) -> HsProperty:
        if not isinstance(name, str) or not name:
            raise validation_error("Some required fields were not set: [propertyName]")
        prop = self.registry.get(self.object_type.name, name)
        if prop is None:
            raise validation_error(
                f"There was a problem with the request: property {name!r} does not exist on "
                f"{self.object_type.name}",
                propertyName=[name],
            )
        return prop

    def _filter(self, item: dict[str, Any], params: list[Any]) -> str:
        operator = item.get("operator")
        if operator not in OPERATORS:
            raise validation_error(
                f"Invalid filter operator {operator!r}; one of {', '.join(sorted(OPERATORS))}"
            )
        name = item.get("propertyName")
        if isinstance(name, str) and name.startswith("associations."):
            return self._association_filter(name, operator, item, params)
        prop = self._property(name)
        column = quote(prop.name)
        text_like = prop.type == "string"
        compared = f"lower({column})" if text_like else column
        if operator == "HAS_PROPERTY":
            return f"{column} IS NOT NULL"
        if operator == "NOT_HAS_PROPERTY":
            return f"{column} IS NULL"
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            matches = _token_sql(column, str(self._required(item, "value")), params)
            if operator == "CONTAINS_TOKEN":
                return matches
            return f"({column} IS NULL OR NOT {matches})"
        if operator in ("IN", "NOT_IN"):
            values = item.get("values")
            if not isinstance(values, list) or not values:
                raise validation_error(f"{operator} needs a non-empty values list")
            # string values must already be lowercase (HubSpot's rule), so they are not lowered
            converted = [self._value(prop, v, lower=False) for v in values]
            params.extend(converted)
            marks = ", ".join("?" for _ in converted)
            if operator == "IN":
                return f"{compared} IN ({marks})"
            return f"({column} IS NULL OR {compared} NOT IN ({marks}))"
        if operator == "BETWEEN":
            params.append(self._value(prop, self._required(item, "value"), lower=text_like))
            params.append(self._value(prop, self._required(item, "highValue"), lower=text_like))
            return f"{compared} BETWEEN ? AND ?"
        params.append(self._value(prop, self._required(item, "value"), lower=text_like))
        if operator == "NEQ":
            return f"({column} IS NULL OR {compared} != ?)"
        return f"{compared} {_COMPARE[operator]} ?"

    def _association_filter(
        self, name: str, operator: str, item: dict[str, Any], params: list[Any]
    ) -> str:
        columns = _ASSOCIATION_COLUMNS.get((self.object_type, name.split(".", 1)[1]))
        if columns is None or operator not in ("EQ", "IN"):
            raise validation_error(f"{name} supports EQ and IN on {self.object_type.name}")
        mine, theirs = columns
        raw = item.get("values") if operator == "IN" else [self._required(item, "value")]
        if not isinstance(raw, list) or not raw:
            raise validation_error(f"{operator} needs a non-empty values list")
        ids = [_integer(v, name) for v in raw]
        params.extend(ids)
        marks = ", ".join("?" for _ in ids)
        return (
            f"{quote(ID_COLUMN)} IN (SELECT {mine} FROM {ASSOCIATIONS_TABLE} "
            f"WHERE {theirs} IN ({marks}))"
        )

    @staticmethod
    def _required(item: dict[str, Any], key: str) -> Any:
        value = item.get(key)
        if value is None or value == "":
            raise validation_error(
                f"Some required fields were not set: [{key}] (operator {item.get('operator')})"
            )
        return value

    @staticmethod
    def _value(prop: HsProperty, raw: Any, *, lower: bool) -> Any:
        text = "true" if raw is True else "false" if raw is False else str(raw)
        if prop.type == "number":
            number = parse_number(text)
            if number is None:
                raise validation_error(f"{text!r} is not a valid number for {prop.name}")
            return number
        if prop.type in TIME_TYPES:
            ms = parse_time(text)
            if ms is None:
                raise validation_error(
                    f"{text!r} is not a valid {prop.type} for {prop.name}: use epoch "
                    "milliseconds or ISO 8601"
                )
            return ms
        if prop.type == "bool":
            return text.strip().lower()
        return text.lower() if lower else text

    def _query(self, query: str, params: list[Any]) -> str:
        columns = [
            quote(name)
            for name in self.object_type.query_properties
            if self.registry.get(self.object_type.name, name) is not None
        ]
        pattern = (
            "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        params.extend(pattern for _ in columns)
        return "(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")"

    # --- sorting ---------------------------------------------------------------------------

    def _order(self, sorts: Any) -> str:
        tie = f"{quote(ID_COLUMN)} ASC"
        if not sorts:
            return tie
        if not isinstance(sorts, list):
            raise validation_error("sorts must be a list")
        if len(sorts) > 1:
            raise validation_error("Only one sort rule can be applied to a search.")
        name, direction = _sort_rule(sorts[0])
        prop = self._property(name)
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"Invalid sort direction {direction!r}; ASCENDING or DESCENDING")
        column = quote(prop.name)
        order = "ASC" if direction == "ASCENDING" else "DESC"
        if prop.name == ID_COLUMN:
            return f"{column} {order}"
        # ties follow the sort's direction, so an index on the column serves the whole order
        tie = f"{quote(ID_COLUMN)} {order}"
        if prop.name in (*SYSTEM_PROPERTIES, self.object_type.modified_column):
            return f"{column} {order}, {tie}"
        # missing values last either way, as HubSpot's search index sorts them
        return f"{column} IS NULL, {column} {order}, {tie}"


def _token_sql(column: str, value: str, params: list[Any]) -> str:
    """CONTAINS_TOKEN in SQL: the text, its separators turned to spaces and padded with
    spaces, LIKE ' token ' for each token of the value (``*`` → ``%``). A ``*`` inside a
    token could let LIKE span a separator, so then the exact check runs on the LIKE's
    matches only."""
    normalised = f"lower({column})"
    for separator in SEPARATORS:
        if separator != " ":
            normalised = f"replace({normalised}, '{separator}', ' ')"
    padded = f"(' ' || {normalised} || ' ')"
    tokens = [t for t in _TOKEN_SPLIT.split(value.lower()) if t]
    if not tokens:
        raise validation_error("CONTAINS_TOKEN needs a value with at least one token")
    parts: list[str] = []
    for token in tokens:
        escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = escaped.replace("*", "%")
        # a cheap prefilter first: most rows fail it before the separators are normalised
        parts.append(f"{column} LIKE ? ESCAPE '\\'")
        params.append(f"%{like}%")
        parts.append(f"{padded} LIKE ? ESCAPE '\\'")
        params.append(f"% {like} %")
    if any("*" in token.strip("*") for token in tokens):
        parts.append("hs_contains_token(" + column + ", ?)")
        params.append(value)
    return "(" + " AND ".join(parts) + ")"


def _sort_rule(raw: Any) -> tuple[str, str]:
    """A sort as (property, direction) from {propertyName, direction}, its JSON text, or
    the short form "property" / "-property" (descending)."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError:
                raise validation_error(f"Invalid sort {raw!r}") from None
        elif text.startswith("-"):
            return text[1:], "DESCENDING"
        else:
            return text, "ASCENDING"
    if not isinstance(raw, dict):
        raise validation_error(f"Invalid sort {raw!r}")
    return str(raw.get("propertyName") or ""), str(raw.get("direction") or "ASCENDING").upper()


def _integer(raw: Any, name: str) -> int:
    if isinstance(raw, bool):
        raise validation_error(f"{name} must be an integer")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise validation_error(f"{name} must be an integer (got {raw!r})") from None

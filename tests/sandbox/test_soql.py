"""The sandbox's SOQL parser and its SQLite compiler, against hand-written expectations.

Parser tests check the AST of each construct and the position of each syntax error.
Compiler tests build an in-memory SQLite database from ``standard_schema()`` with a
handful of rows (below), run the compiled SQL as the server does and compare the
records with ones written out by hand. TODAY is 2017-03-15 throughout.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from sandbox.salesforce.objects import SfField, SfObject, SfSchema, standard_schema
from sandbox.salesforce.soql import (
    And,
    BooleanValue,
    Comparison,
    DateRangeValue,
    DateTimeValue,
    DateValue,
    FieldRef,
    InList,
    Not,
    NullValue,
    NumberValue,
    Or,
    OrderItem,
    Position,
    SoqlError,
    SoqlQuery,
    StringValue,
    parse_soql,
)
from sandbox.salesforce.soql_sql import compile_query, record_from_row

TODAY = date(2017, 3, 15)
API = "60.0"


def parse(text: str, *, allow_mixed_logic: bool = False) -> SoqlQuery:
    return parse_soql(text, today=TODAY, allow_mixed_logic=allow_mixed_logic)


def where(condition: str, **kwargs: bool) -> object:
    query = parse(f"SELECT Id FROM Account WHERE {condition}", **kwargs)
    return query.where


def field(*path: str) -> FieldRef:
    """A FieldRef for AST comparisons; positions are compared separately."""
    return FieldRef(path, Position(0, 0))


def strip_positions(node: object) -> object:
    """The AST with every position zeroed, to compare shapes with hand-written values."""
    if isinstance(node, tuple):
        return tuple(strip_positions(item) for item in node)
    if isinstance(node, Position):
        return Position(0, 0)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: strip_positions(getattr(node, f.name)) for f in dataclasses.fields(node)}
        return dataclasses.replace(node, **changes)
    return node


def s(text: str) -> StringValue:
    return StringValue(text, text, False, Position(0, 0))


def n(value: int | float) -> NumberValue:
    return NumberValue(value, Position(0, 0))


def eq(name: str, value: int | float | str) -> Comparison:
    literal = s(value) if isinstance(value, str) else n(value)
    return Comparison(field(name), "=", literal, Position(0, 0))


def parse_error(text: str, **kwargs: bool) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        parse(text, **kwargs)
    return caught.value


# ===========================================================================
# Parser
# ===========================================================================


def test_select_fields_from_object_with_positions() -> None:
    query = parse("SELECT Id, Name,  BillingCountry FROM Account")
    assert query.object_name == "Account"
    assert query.object_position == Position(1, 39)
    assert query.fields == (
        FieldRef(("Id",), Position(1, 8)),
        FieldRef(("Name",), Position(1, 12)),
        FieldRef(("BillingCountry",), Position(1, 19)),
    )
    assert not query.is_count
    assert query.where is None
    assert query.order_by == ()
    assert query.limit is None
    assert query.offset is None
    assert query.source == "SELECT Id, Name,  BillingCountry FROM Account"


def test_relationship_paths_of_one_and_two_levels() -> None:
    query = parse("SELECT Account.Name, Account.Owner.Name FROM Opportunity")
    assert query.fields == (
        FieldRef(("Account", "Name"), Position(1, 8)),
        FieldRef(("Account", "Owner", "Name"), Position(1, 22)),
    )
    assert query.fields[1].text == "Account.Owner.Name"


def test_count_alone() -> None:
    query = parse("select count ( ) from Account where Name = 'x'")
    assert query.is_count
    assert query.fields == ()
    assert query.object_name == "Account"


def test_keywords_and_names_are_case_insensitive() -> None:
    query = parse(
        "sElEcT id FrOm account wHeRe name = 'x' AnD isPartner = TRUE "
        "order BY name desc nulls LAST limit 5 OFFSET 2"
    )
    assert query.object_name == "account"
    assert strip_positions(query.where) == And(
        (
            eq("name", "x"),
            Comparison(field("isPartner"), "=", BooleanValue(True, Position(0, 0)),
                       Position(0, 0)),
        )
    )  # fmt: skip
    assert strip_positions(query.order_by[0].field) == field("name")
    assert query.order_by[0].descending
    assert query.order_by[0].nulls == "LAST"
    assert (query.limit, query.offset) == (5, 2)


@pytest.mark.parametrize(
    ("symbol", "operator"),
    [("=", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")],
)
def test_comparison_operators(symbol: str, operator: str) -> None:
    condition = where(f"AnnualRevenue {symbol} 10")
    assert strip_positions(condition) == Comparison(
        field("AnnualRevenue"), operator, n(10), Position(0, 0)
    )


def test_comparison_positions_point_at_operator_and_value() -> None:
    condition = where("Name  >=  'b'")
    assert isinstance(condition, Comparison)
    assert condition.field.position == Position(1, 30)
    assert condition.position == Position(1, 36)
    assert condition.value.position == Position(1, 40)


def test_in_and_not_in() -> None:
    assert strip_positions(where("Type IN ('Partner', 'Customer')")) == InList(
        field("Type"), (s("Partner"), s("Customer")), False, Position(0, 0)
    )
    assert strip_positions(where("NumberOfEmployees not in (1, 2.5, null)")) == InList(
        field("NumberOfEmployees"), (n(1), n(2.5), NullValue(Position(0, 0))), True, Position(0, 0)
    )


def test_like_keeps_wildcards_and_escapes_them_for_sql() -> None:
    condition = where(r"Name LIKE 'Ter\%_x%\\'")
    assert isinstance(condition, Comparison)
    assert condition.operator == "LIKE"
    assert condition.value == StringValue("Ter%_x%\\", "Ter\\%_x%\\\\", True, Position(1, 40))


def test_precedence_and_or_mixing_is_refused_like_salesforce() -> None:
    error = parse_error("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Id = null")
    assert error.error_code == "MALFORMED_QUERY"
    assert (error.row, error.column) == (1, 56)
    assert error.detail == "unexpected token: 'OR'"


def test_precedence_with_mixed_logic_allowed() -> None:
    a, b, c = eq("A", 1), eq("B", 2), eq("C", 3)
    assert strip_positions(where("A = 1 AND B = 2 OR C = 3", allow_mixed_logic=True)) == Or(
        (And((a, b)), c)
    )
    assert strip_positions(where("A = 1 OR B = 2 AND C = 3", allow_mixed_logic=True)) == Or(
        (a, And((b, c)))
    )
    assert strip_positions(where("NOT A = 1 AND B = 2", allow_mixed_logic=True)) == And(
        (Not(a, Position(0, 0)), b)
    )
    assert strip_positions(where("NOT (A = 1 OR B = 2) OR C = 3", allow_mixed_logic=True)) == Or(
        (Not(Or((a, b)), Position(0, 0)), c)
    )


def test_parentheses_group_and_or() -> None:
    a, b, c = eq("A", 1), eq("B", 2), eq("C", 3)
    assert strip_positions(where("A = 1 AND (B = 2 OR C = 3)")) == And((a, Or((b, c))))
    assert strip_positions(where("(A = 1 AND B = 2) OR C = 3")) == Or((And((a, b)), c))
    assert strip_positions(where("A = 1 AND B = 2 AND C = 3")) == And((a, b, c))
    assert strip_positions(where("((A = 1))")) == a
    assert strip_positions(where("NOT A = 1 AND B = 2")) == And((Not(a, Position(0, 0)), b))


def value_of(literal: str) -> object:
    condition = where(f"Name = {literal}")
    assert isinstance(condition, Comparison)
    return strip_positions(condition.value)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"'it\'s'", "it's"),
        (r"'back\\slash'", "back\\slash"),
        (r"'a\nb\tc\rd\fe\bf'", "a\nb\tc\rd\fe\bf"),
        (r"'A\NB\TC'", "A\nB\tC"),
        (r"'say \"hi\"'", 'say "hi"'),
        (r"'caf\u00e9'", "café"),
        ("''", ""),
        ("'50% off'", "50% off"),
    ],
)
def test_string_literals_and_escapes(literal: str, expected: str) -> None:
    value = value_of(literal)
    assert isinstance(value, StringValue)
    assert value.value == expected
    assert not value.like_escapes


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("42", 42), ("-7", -7), ("0", 0), ("3.25", 3.25), ("-0.5", -0.5), ("1000000.00", 1e6)],
)
def test_number_literals(literal: str, expected: int | float) -> None:
    value = value_of(literal)
    assert value == n(expected)
    assert isinstance(value, NumberValue)
    assert type(value.value) is type(expected)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("true", True), ("FALSE", False), ("True", True), ("fAlSe", False)],
)
def test_boolean_literals_in_any_case(literal: str, expected: bool) -> None:
    assert value_of(literal) == BooleanValue(expected, Position(0, 0))


def test_null_literal() -> None:
    assert value_of("NULL") == NullValue(Position(0, 0))
    assert value_of("null") == NullValue(Position(0, 0))


def test_date_literal() -> None:
    value = value_of("2017-03-01")
    assert value == DateValue(date(2017, 3, 1), Position(0, 0))
    assert isinstance(value, DateValue)
    assert value.storage_text == "2017-03-01"


@pytest.mark.parametrize(
    ("literal", "utc", "stored"),
    [
        ("2017-03-01T10:00:00Z", datetime(2017, 3, 1, 10, tzinfo=UTC),
         "2017-03-01T10:00:00.000+0000"),
        ("2017-03-01T10:00:00.000Z", datetime(2017, 3, 1, 10, tzinfo=UTC),
         "2017-03-01T10:00:00.000+0000"),
        ("2017-03-01T10:00:00.25Z", datetime(2017, 3, 1, 10, 0, 0, 250000, tzinfo=UTC),
         "2017-03-01T10:00:00.250+0000"),
        ("2017-03-01T10:00:00+02:00", datetime(2017, 3, 1, 8, tzinfo=UTC),
         "2017-03-01T08:00:00.000+0000"),
        ("2017-03-01T01:00:00+02:00", datetime(2017, 2, 28, 23, tzinfo=UTC),
         "2017-02-28T23:00:00.000+0000"),
        ("2017-03-01T20:00:00-0530", datetime(2017, 3, 2, 1, 30, tzinfo=UTC),
         "2017-03-02T01:30:00.000+0000"),
        ("2016-12-31T23:30:00.123-01:00", datetime(2017, 1, 1, 0, 30, 0, 123000, tzinfo=UTC),
         "2017-01-01T00:30:00.123+0000"),
    ],
)  # fmt: skip
def test_datetime_literals_are_normalised_to_utc(literal: str, utc: datetime, stored: str) -> None:
    value = value_of(literal)
    assert isinstance(value, DateTimeValue)
    assert value.value == utc
    assert value.value.utcoffset() is not None
    assert value.value.utcoffset() == UTC.utcoffset(None)
    assert value.storage_text == stored


@pytest.mark.parametrize(
    ("literal", "start", "end"),
    [
        ("TODAY", date(2017, 3, 15), date(2017, 3, 15)),
        ("yesterday", date(2017, 3, 14), date(2017, 3, 14)),
        ("Tomorrow", date(2017, 3, 16), date(2017, 3, 16)),
        ("LAST_N_DAYS:3", date(2017, 3, 12), date(2017, 3, 15)),
        ("last_n_days:0", date(2017, 3, 15), date(2017, 3, 15)),
        ("NEXT_N_DAYS:2", date(2017, 3, 16), date(2017, 3, 17)),
        ("LAST_N_DAYS:15", date(2017, 2, 28), date(2017, 3, 15)),
    ],
)
def test_date_literals_resolve_against_today(literal: str, start: date, end: date) -> None:
    value = value_of(literal)
    assert isinstance(value, DateRangeValue)
    assert (value.start, value.end) == (start, end)
    assert value.literal == literal.upper()


def test_order_by_several_fields_with_directions_and_nulls() -> None:
    query = parse(
        "SELECT Id FROM Opportunity ORDER BY CloseDate DESC, Account.Name NULLS LAST, "
        "Amount ASC NULLS FIRST, Name"
    )
    assert strip_positions(tuple(item.field for item in query.order_by)) == (
        field("CloseDate"),
        field("Account", "Name"),
        field("Amount"),
        field("Name"),
    )
    assert [(i.descending, i.nulls, i.nulls_first) for i in query.order_by] == [
        (True, None, True),
        (False, "LAST", False),
        (False, "FIRST", True),
        (False, None, True),
    ]
    assert query.order_by[0] == OrderItem(FieldRef(("CloseDate",), Position(1, 37)), True, None)


def test_limit_and_offset() -> None:
    query = parse("SELECT Id FROM Account ORDER BY Id LIMIT 200 OFFSET 2000")
    assert (query.limit, query.offset) == (200, 2000)
    assert parse("SELECT Id FROM Account OFFSET 10").offset == 10
    assert parse("SELECT Id FROM Account LIMIT 0").limit == 0


def test_offset_above_2000_is_out_of_range() -> None:
    error = parse_error("SELECT Id FROM Account LIMIT 10 OFFSET 2001")
    assert error.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert (error.row, error.column) == (1, 40)
    assert error.detail == "Maximum SOQL offset allowed is 2000"


def test_syntax_error_message_has_salesforce_framing() -> None:
    error = parse_error("SELECT Id FORM Account")
    assert error.error_code == "MALFORMED_QUERY"
    assert (error.row, error.column) == (1, 11)
    assert error.message == (
        "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'"
    )
    assert str(error).startswith("MALFORMED_QUERY: \nSELECT Id FORM Account")


@pytest.mark.parametrize(
    ("text", "row", "column", "detail"),
    [
        ("SELECT Id FROM", 1, 15, "unexpected token: '<EOF>'"),
        ("SELECT FROM Account", 1, 8, "unexpected token: 'FROM'"),
        ("SELECT Id, FROM Account", 1, 12, "unexpected token: 'FROM'"),
        ("SELECT Id Name FROM Account", 1, 11, "unexpected token: 'Name'"),
        ("SELECT Id FROM Account a", 1, 24, "unexpected token: 'a'"),
        ("SELECT Id FROM Account WHERE", 1, 29, "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name", 1, 34, "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name = ", 1, 37, "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name == 'x'", 1, 36, "unexpected token: '='"),
        ("SELECT Id FROM Account WHERE Name NOT LIKE 'x'", 1, 39, "unexpected token: 'LIKE'"),
        ("SELECT Id FROM Account WHERE Name IN ()", 1, 39, "unexpected token: ')'"),
        ("SELECT Id FROM Account WHERE Name IN 'x'", 1, 38, "unexpected token: ''x''"),
        ("SELECT Id FROM Account WHERE (Name = 'x'", 1, 41, "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name = 'x')", 1, 40, "unexpected token: ')'"),
        ("SELECT Id FROM Account WHERE Name = Other", 1, 37, "unexpected token: 'Other'"),
        ("SELECT Id FROM Account WHERE CloseDate = THIS_MONTH", 1, 42,
         "unexpected token: 'THIS_MONTH'"),
        ("SELECT Id FROM Account WHERE CloseDate = LAST_N_DAYS", 1, 53,
         "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE CloseDate = LAST_N_DAYS:x", 1, 54,
         "unexpected token: 'x'"),
        ("SELECT Id FROM Account ORDER Name", 1, 30, "unexpected token: 'Name'"),
        ("SELECT Id FROM Account ORDER BY Name NULLS", 1, 43, "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account LIMIT -1", 1, 30, "unexpected token: '-1'"),
        ("SELECT Id FROM Account LIMIT 1.5", 1, 30, "unexpected token: '1.5'"),
        ("SELECT Id FROM Account OFFSET 5 LIMIT 1", 1, 33, "unexpected token: 'LIMIT'"),
        ("SELECT Id FROM Account LIMIT 5 ORDER BY Name", 1, 32, "unexpected token: 'ORDER'"),
        ("SELECT Id FROM Account WHERE Name = \"x\"", 1, 37,
         "line 1:37 no viable alternative at character '\"'"),
        ("SELECT Id FROM Account;", 1, 23, "line 1:23 no viable alternative at character ';'"),
        ("SELECT Id FROM Account WHERE Name = 'x", 1, 37,
         "line 1:39 mismatched character '<EOF>' expecting '''"),
        (r"SELECT Id FROM Account WHERE Name = 'a\qb'", 1, 39,
         "Invalid string literal: illegal escape sequence '\\q'"),
        (r"SELECT Id FROM Account WHERE Name = '50\%'", 1, 37,
         "Invalid string literal: the escapes \\% and \\_ are allowed in LIKE only"),
        (r"SELECT Id FROM Account WHERE Name IN ('a\_b')", 1, 39,
         "Invalid string literal: the escapes \\% and \\_ are allowed in LIKE only"),
        ("SELECT Id FROM Account WHERE CloseDate = 2017-02-30", 1, 42,
         "Invalid date: 2017-02-30"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2017-03-01T10:00:00", 1, 44,
         "Invalid datetime: 2017-03-01T10:00:00"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2017-03-01T25:00:00Z", 1, 44,
         "Invalid datetime: 2017-03-01T25:00:00Z"),
        ("SELECT Id, COUNT() FROM Account", 1, 12,
         "unexpected token: 'COUNT' (COUNT() must be the only element in the SELECT list)"),
        ("SELECT COUNT(), Id FROM Account", 1, 15,
         "unexpected token: ',' (COUNT() must be the only element in the SELECT list)"),
        ("SELECT COUNT(Id) FROM Account", 1, 14,
         "unexpected token: 'Id' (COUNT(fieldName) is not supported by the sandbox CRM; use "
         "COUNT())"),
        ("SELECT COUNT() FROM Account ORDER BY Name", 1, 29,
         "COUNT() cannot be used with an ORDER BY clause"),
        ("SELECT SUM(Amount) FROM Opportunity", 1, 8,
         "unexpected token: 'SUM' (functions and aggregates other than COUNT() are not "
         "supported by the sandbox CRM)"),
        ("SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Cases) FROM Account", 1, 24,
         "unexpected token: '(' (a subquery nests at most one level in the sandbox CRM)"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)", 1, 37,
         "unexpected token: 'SELECT' (semi-joins are not supported by the sandbox CRM)"),
        ("SELECT Type, Id FROM Account GROUP BY Type", 1, 30,
         "unexpected token: 'GROUP' (GROUP BY is not supported by the sandbox CRM)"),
        ("SELECT Id FROM Account FOR UPDATE", 1, 24,
         "unexpected token: 'FOR' (FOR VIEW/REFERENCE/UPDATE is not supported by the sandbox "
         "CRM)"),
        ("SELECT Id FROM Account WITH SECURITY_ENFORCED", 1, 24,
         "unexpected token: 'WITH' (WITH is not supported by the sandbox CRM)"),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Event", 1, 8,
         "unexpected token: 'TYPEOF' (TYPEOF is not supported by the sandbox CRM)"),
        ("SELECT Id FROM Account WHERE Tags__c INCLUDES ('a')", 1, 38,
         "unexpected token: 'INCLUDES' (INCLUDES is not supported by the sandbox CRM)"),
        ("UPDATE Account", 1, 1, "unexpected token: 'UPDATE'"),
    ],
)  # fmt: skip
def test_syntax_errors_point_at_the_bad_token(
    text: str, row: int, column: int, detail: str
) -> None:
    error = parse_error(text)
    assert error.error_code == "MALFORMED_QUERY"
    assert (error.row, error.column, error.detail) == (row, column, detail)
    line = text.split("\n")[row - 1]
    caret = " " * (column - 1) + "^"
    assert error.message == f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{detail}"


def test_error_rows_and_columns_on_a_multi_line_query() -> None:
    error = parse_error(
        "SELECT Id,\n       Name\nFROM Account\nWHERE Name = 'a' AND\n  ORDER BY Name"
    )
    assert (error.row, error.column) == (5, 3)
    assert error.message == (
        "\n  ORDER BY Name\n  ^\nERROR at Row:5:Column:3\nunexpected token: 'ORDER'"
    )
    query = parse("SELECT Id\nFROM Account\nWHERE\n\tName = 'a'")
    assert query.where is not None
    assert isinstance(query.where, Comparison)
    assert query.where.field.position == Position(4, 2)


# ===========================================================================
# Compiler, against an in-memory store
# ===========================================================================

U1, U2 = "005000000000001AAA", "005000000000002AAA"
A1, A2, A3, A4, A5 = (f"00100000000000{i}AAA" for i in range(1, 6))
O1, O2, O3, O4, O5 = (f"00600000000000{i}AAA" for i in range(1, 6))

USERS = [
    {"Id": U1, "Name": "Ann Owner", "Username": "ann@example.com", "IsActive": 1},
    {"Id": U2, "Name": "Bob Seller", "Username": "bob@example.com", "IsActive": 0},
]
ACCOUNTS = [
    {"Id": A1, "Name": "Acme Corp", "Type": "Partner", "IsPartner": 1, "Industry": "Tech",
     "AnnualRevenue": 1000000.0, "NumberOfEmployees": 50, "BillingCountry": "US",
     "Region__c": "North", "OwnerId": U1, "CreatedDate": "2017-01-10T09:00:00.000+0000"},
    {"Id": A2, "Name": "Globex", "Type": "Customer", "IsPartner": 0, "Industry": None,
     "AnnualRevenue": 250000.0, "NumberOfEmployees": 10, "BillingCountry": "DE",
     "ParentId": A1, "OwnerId": U2, "CreatedDate": "2017-03-14T23:30:00.000+0000"},
    {"Id": A3, "Name": "acme labs", "Type": "Partner", "IsPartner": 1, "Industry": "tech",
     "BillingCountry": "us", "CreatedDate": "2017-03-15T08:00:00.000+0000"},
    {"Id": A4, "Name": "Initech 50%_off", "Type": "Prospect", "IsPartner": 0,
     "Industry": "Retail", "AnnualRevenue": 75000.0, "NumberOfEmployees": 5, "OwnerId": U1,
     "IsDeleted": 1, "CreatedDate": "2016-12-31T23:59:59.000+0000"},
    {"Id": A5, "Name": "O'Brien & Co", "IsPartner": 0, "Industry": "Retail",
     "AnnualRevenue": 500000.0, "NumberOfEmployees": 120, "Region__c": "", "OwnerId": U1,
     "CreatedDate": "2017-02-28T12:00:00.000+0000"},
]  # fmt: skip
OPPORTUNITIES = [
    {"Id": O1, "Name": "Big deal", "AccountId": A1, "PartnerAccountId": A3,
     "StageName": "Closed Won", "Amount": 5000.0, "Probability": 100.0,
     "CloseDate": "2017-03-10", "IsClosed": 1, "IsWon": 1, "OwnerId": U1,
     "CreatedDate": "2017-02-01T10:00:00.000+0000"},
    {"Id": O2, "Name": "Small deal", "AccountId": A2, "StageName": "Prospecting",
     "Probability": 10.0, "CloseDate": "2017-03-15", "OwnerId": U2,
     "CreatedDate": "2017-03-01T00:00:00.000+0000"},
    {"Id": O3, "Name": "Orphan", "PartnerAccountId": A1, "StageName": "Closed Lost",
     "Amount": 120.5, "Probability": 0.0, "CloseDate": "2017-02-01", "IsClosed": 1,
     "CreatedDate": "2017-01-15T00:00:00.000+0000"},
    {"Id": O4, "Name": "Deleted deal", "AccountId": A1, "StageName": "Prospecting",
     "Amount": 10.0, "CloseDate": "2017-03-16", "OwnerId": U1, "IsDeleted": 1},
    {"Id": O5, "Name": "Future deal", "AccountId": A3, "StageName": "Negotiation",
     "Amount": 900.0, "Probability": 60.0, "CloseDate": "2017-03-17", "OwnerId": U2,
     "CreatedDate": "2017-03-15T12:00:00.000+0000"},
]  # fmt: skip


def build_store(schema: SfSchema) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    for sf_object in schema.objects.values():
        columns = ", ".join(f'"{f.name}" {f.sql_type}' for f in sf_object.fields.values())
        connection.execute(f'CREATE TABLE "{sf_object.table}" ({columns})')
    for table, rows in (("User", USERS), ("Account", ACCOUNTS), ("Opportunity", OPPORTUNITIES)):
        target = schema.get(table)
        assert target is not None
        for row in rows:
            values: dict[str, object] = {
                f.name: (0 if f.type == "boolean" else None) for f in target.fields.values()
            }
            values.update(row)
            names = ", ".join(f'"{name}"' for name in values)
            marks = ", ".join("?" for _ in values)
            insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
            connection.execute(insert, list(values.values()))
    return connection


@pytest.fixture(scope="module")
def schema() -> SfSchema:
    return standard_schema()


@pytest.fixture(scope="module")
def store(schema: SfSchema) -> Iterator[sqlite3.Connection]:
    connection = build_store(schema)
    yield connection
    connection.close()


def run(
    store: sqlite3.Connection,
    schema: SfSchema,
    soql: str,
    *,
    include_deleted: bool = False,
    api_version: str = API,
) -> list[dict[str, object]]:
    """The records of a query as the server builds them: rowids first, then rows."""
    compiled = compile_query(parse(soql), schema, include_deleted=include_deleted)
    rowids = [r[0] for r in store.execute(compiled.ids_sql, compiled.ids_params)]
    rows = {r[0]: r for r in store.execute(compiled.rows_sql(len(rowids)), rowids)}
    return [record_from_row(compiled, rows[rowid], api_version) for rowid in rowids]


def names(
    store: sqlite3.Connection, schema: SfSchema, soql: str, *, include_deleted: bool = False
) -> list[object]:
    records = run(store, schema, soql, include_deleted=include_deleted)
    return [record["Name"] for record in records]


def count(
    store: sqlite3.Connection, schema: SfSchema, soql: str, *, include_deleted: bool = False
) -> int:
    compiled = compile_query(parse(soql), schema, include_deleted=include_deleted)
    assert compiled.is_count
    (value,) = store.execute(compiled.count_sql, compiled.count_params).fetchone()
    assert isinstance(value, int)
    return value


def attributes(object_name: str, record_id: str) -> dict[str, str]:
    return {"type": object_name, "url": f"/services/data/v60.0/sobjects/{object_name}/{record_id}"}


def compile_error(schema: SfSchema, soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        compile_query(parse(soql), schema, include_deleted=False)
    return caught.value


def test_plain_fields_as_salesforce_json(store: sqlite3.Connection, schema: SfSchema) -> None:
    records = run(
        store,
        schema,
        "SELECT Id, Name, IsPartner, AnnualRevenue, NumberOfEmployees, CreatedDate "
        "FROM Account ORDER BY Name",
    )
    assert records == [
        {"attributes": attributes("Account", A1), "Id": A1, "Name": "Acme Corp",
         "IsPartner": True, "AnnualRevenue": 1000000.0, "NumberOfEmployees": 50,
         "CreatedDate": "2017-01-10T09:00:00.000+0000"},
        {"attributes": attributes("Account", A3), "Id": A3, "Name": "acme labs",
         "IsPartner": True, "AnnualRevenue": None, "NumberOfEmployees": None,
         "CreatedDate": "2017-03-15T08:00:00.000+0000"},
        {"attributes": attributes("Account", A2), "Id": A2, "Name": "Globex",
         "IsPartner": False, "AnnualRevenue": 250000.0, "NumberOfEmployees": 10,
         "CreatedDate": "2017-03-14T23:30:00.000+0000"},
        {"attributes": attributes("Account", A5), "Id": A5, "Name": "O'Brien & Co",
         "IsPartner": False, "AnnualRevenue": 500000.0, "NumberOfEmployees": 120,
         "CreatedDate": "2017-02-28T12:00:00.000+0000"},
    ]  # fmt: skip
    assert list(records[0]) == [
        "attributes", "Id", "Name", "IsPartner", "AnnualRevenue", "NumberOfEmployees",
        "CreatedDate",
    ]  # fmt: skip
    assert type(records[0]["NumberOfEmployees"]) is int
    assert type(records[0]["AnnualRevenue"]) is float
    assert records[0]["IsPartner"] is True
    assert records[2]["IsPartner"] is False


def test_dates_percent_and_booleans_of_an_opportunity(
    store: sqlite3.Connection, schema: SfSchema
) -> None:
    records = run(
        store,
        schema,
        "SELECT CloseDate, Probability, Amount, IsWon, IsClosed FROM Opportunity "
        "WHERE Id = '006000000000002AAA'",
    )
    assert records == [
        {"attributes": attributes("Opportunity", O2), "CloseDate": "2017-03-15",
         "Probability": 10.0, "Amount": None, "IsWon": False, "IsClosed": False},
    ]  # fmt: skip
    assert type(records[0]["Probability"]) is float


def test_relationship_fields_nest_with_attributes_and_null_parents(
    store: sqlite3.Connection, schema: SfSchema
) -> None:
    records = run(
        store,
        schema,
        "SELECT Name, Account.Name, Account.Owner.Name, PartnerAccount.Name "
        "FROM Opportunity ORDER BY Name",
    )
    assert records == [
        {"attributes": attributes("Opportunity", O1), "Name": "Big deal",
         "Account": {"attributes": attributes("Account", A1), "Name": "Acme Corp",
                     "Owner": {"attributes": attributes("User", U1), "Name": "Ann Owner"}},
         "PartnerAccount": {"attributes": attributes("Account", A3), "Name": "acme labs"}},
        {"attributes": attributes("Opportunity", O5), "Name": "Future deal",
         "Account": {"attributes": attributes("Account", A3), "Name": "acme labs",
                     "Owner": None},
         "PartnerAccount": None},
        {"attributes": attributes("Opportunity", O3), "Name": "Orphan",
         "Account": None,
         "PartnerAccount": {"attributes": attributes("Account", A1), "Name": "Acme Corp"}},
        {"attributes": attributes("Opportunity", O2), "Name": "Small deal",
         "Account": {"attributes": attributes("Account", A2), "Name": "Globex",
                     "Owner": {"attributes": attributes("User", U2), "Name": "Bob Seller"}},
         "PartnerAccount": None},
    ]  # fmt: skip
    first = records[0]
    assert list(first) == ["attributes", "Name", "Account", "PartnerAccount"]
    account = first["Account"]
    assert isinstance(account, dict)
    assert list(account) == ["attributes", "Name", "Owner"]


def test_keys_follow_the_select_order_across_parents(
    store: sqlite3.Connection, schema: SfSchema
) -> None:
    records = run(
        store,
        schema,
        "SELECT Account.Type, Id, Owner.Name, Account.Name FROM Opportunity "
        "WHERE Id = '006000000000001AAA'",
    )
    assert records == [
        {"attributes": attributes("Opportunity", O1),
         "Account": {"attributes": attributes("Account", A1), "Type": "Partner",
                     "Name": "Acme Corp"},
         "Id": O1,
         "Owner": {"attributes": attributes("User", U1), "Name": "Ann Owner"}},
    ]  # fmt: skip
    assert list(records[0]) == ["attributes", "Account", "Id", "Owner"]
    account = records[0]["Account"]
    assert isinstance(account, dict)
    assert list(account) == ["attributes", "Type", "Name"]


def test_canonical_casing_of_names(store: sqlite3.Connection, schema: SfSchema) -> None:
    compiled = compile_query(
        parse("select id, NAME, account.NAME, OWNER.name from OPPORTUNITY where NAME = 'big deal'"),
        schema,
        include_deleted=False,
    )
    assert compiled.object_name == "Opportunity"
    assert compiled.select_paths == [("Id",), ("Name",), ("Account", "Name"), ("Owner", "Name")]
    assert run(
        store,
        schema,
        "select id, NAME, account.NAME, OWNER.name from OPPORTUNITY where NAME = 'big deal'",
    ) == [
        {"attributes": attributes("Opportunity", O1), "Id": O1, "Name": "Big deal",
         "Account": {"attributes": attributes("Account", A1), "Name": "Acme Corp"},
         "Owner": {"attributes": attributes("User", U1), "Name": "Ann Owner"}},
    ]  # fmt: skip


def test_self_relationship_parent(store: sqlite3.Connection, schema: SfSchema) -> None:
    records = run(
        store,
        schema,
        "SELECT Parent.Name, Name, Parent.Owner.Username FROM Account WHERE Parent.Id != null",
    )
    assert records == [
        {"attributes": attributes("Account", A2),
         "Parent": {"attributes": attributes("Account", A1), "Name": "Acme Corp",
                    "Owner": {"attributes": attributes("User", U1),
                              "Username": "ann@example.com"}},
         "Name": "Globex"},
    ]  # fmt: skip
    assert list(records[0]) == ["attributes", "Parent", "Name"]


def test_api_version_with_or_without_v(store: sqlite3.Connection, schema: SfSchema) -> None:
    soql = "SELECT Id FROM User WHERE Name = 'ann owner'"
    expected = [{"attributes": attributes("User", U1), "Id": U1}]
    assert run(store, schema, soql, api_version="60.0") == expected
    assert run(store, schema, soql, api_version="v60.0") == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Name = 'ACME CORP'", ["Acme Corp"]),
        ("Name = 'acme'", []),
        ("Name LIKE 'acme%'", ["Acme Corp", "acme labs"]),
        ("Name LIKE '%CO%'", ["Acme Corp", "O'Brien & Co"]),
        ("Name LIKE 'Glob_x'", ["Globex"]),
        (r"Name LIKE 'Glob\_x'", []),
        ("Name LIKE 'Globex'", ["Globex"]),
        (r"Name = 'O\'Brien & Co'", ["O'Brien & Co"]),
        ("NOT Name LIKE 'acme%'", ["Globex", "O'Brien & Co"]),
        ("Industry = 'TECH'", ["Acme Corp", "acme labs"]),
        ("Industry != 'Tech'", ["Globex", "O'Brien & Co"]),
        ("Industry <> 'Tech'", ["Globex", "O'Brien & Co"]),
        ("Industry IN ('retail', 'Finance')", ["O'Brien & Co"]),
        ("Industry NOT IN ('tech', 'Finance')", ["Globex", "O'Brien & Co"]),
        ("Industry IN ('Retail', null)", ["Globex", "O'Brien & Co"]),
        ("Industry NOT IN ('Retail', null)", ["Acme Corp", "acme labs"]),
        ("NOT Industry = 'Tech'", ["Globex", "O'Brien & Co"]),
        ("NOT (Industry = 'Tech' OR Industry = 'Retail')", ["Globex"]),
        ("Industry = null", ["Globex"]),
        ("Industry != null", ["Acme Corp", "acme labs", "O'Brien & Co"]),
        ("Region__c = ''", ["acme labs", "Globex", "O'Brien & Co"]),
        ("Region__c != ''", ["Acme Corp"]),
        ("Region__c IN ('', 'South')", ["acme labs", "Globex", "O'Brien & Co"]),
        ("BillingCountry = 'US'", ["Acme Corp", "acme labs"]),
        ("BillingCountry < 'E'", ["Globex"]),
        ("IsPartner = true", ["Acme Corp", "acme labs"]),
        ("IsPartner = FALSE", ["Globex", "O'Brien & Co"]),
        ("IsPartner != true", ["Globex", "O'Brien & Co"]),
        ("IsPartner = null", ["Globex", "O'Brien & Co"]),
        ("IsPartner != null", ["Acme Corp", "acme labs"]),
        ("IsPartner IN (true, false)", ["Acme Corp", "acme labs", "Globex", "O'Brien & Co"]),
        ("IsPartner NOT IN (true)", ["Globex", "O'Brien & Co"]),
        ("AnnualRevenue >= 250000", ["Acme Corp", "Globex", "O'Brien & Co"]),
        ("AnnualRevenue < 300000", ["Globex"]),
        ("AnnualRevenue <= 250000.0", ["Globex"]),
        ("AnnualRevenue > -1", ["Acme Corp", "Globex", "O'Brien & Co"]),
        ("AnnualRevenue != 250000", ["Acme Corp", "acme labs", "O'Brien & Co"]),
        ("AnnualRevenue = null", ["acme labs"]),
        ("NumberOfEmployees = 50", ["Acme Corp"]),
        ("NumberOfEmployees IN (10, 120)", ["Globex", "O'Brien & Co"]),
        ("AnnualRevenue > 100000 AND (Type = 'Customer' OR IsPartner = true)",
         ["Acme Corp", "Globex"]),
        ("(AnnualRevenue > 300000 OR AnnualRevenue = null) AND NOT IsPartner = false",
         ["Acme Corp", "acme labs"]),
        ("CreatedDate = YESTERDAY", ["Globex"]),
        ("CreatedDate = TODAY", ["acme labs"]),
        ("CreatedDate < TODAY", ["Acme Corp", "Globex", "O'Brien & Co"]),
        ("CreatedDate <= YESTERDAY", ["Acme Corp", "Globex", "O'Brien & Co"]),
        ("CreatedDate > YESTERDAY", ["acme labs"]),
        ("CreatedDate >= TODAY", ["acme labs"]),
        ("CreatedDate != TODAY", ["Acme Corp", "Globex", "O'Brien & Co"]),
        ("CreatedDate = LAST_N_DAYS:1", ["acme labs", "Globex"]),
        ("CreatedDate = LAST_N_DAYS:15", ["acme labs", "Globex", "O'Brien & Co"]),
        ("CreatedDate IN (TODAY, 2017-01-10T09:00:00Z)", ["Acme Corp", "acme labs"]),
        ("CreatedDate < 2017-02-01T00:00:00Z", ["Acme Corp"]),
        ("CreatedDate > 2017-03-15T09:00:00+02:00", ["acme labs"]),
        ("CreatedDate >= 2017-03-15T08:00:00.000Z", ["acme labs"]),
        ("CreatedDate > 2017-03-15T08:00:00Z", []),
        ("CreatedDate = 2017-03-14T18:30:00-0500", ["Globex"]),
        ("Id = '001000000000003AAA'", ["acme labs"]),
        ("Id IN ('001000000000001AAA', '001000000000003')", ["Acme Corp", "acme labs"]),
        ("OwnerId = '005000000000001AAA'", ["Acme Corp", "O'Brien & Co"]),
        ("OwnerId = '005000000000001'", ["Acme Corp", "O'Brien & Co"]),
        ("OwnerId != '005000000000001AAA'", ["acme labs", "Globex"]),
        ("OwnerId = null", ["acme labs"]),
        ("Owner.Name = 'ann owner'", ["Acme Corp", "O'Brien & Co"]),
        ("Owner.Name = null", ["acme labs"]),
        ("Owner.Name != 'Ann Owner'", ["acme labs", "Globex"]),
        ("Parent.Name LIKE 'acme%'", ["Globex"]),
        ("Parent.Owner.Name = 'Ann Owner'", ["Globex"]),
    ],
)  # fmt: skip
def test_account_filters(
    store: sqlite3.Connection, schema: SfSchema, condition: str, expected: list[str]
) -> None:
    soql = f"SELECT Name FROM Account WHERE {condition} ORDER BY Name"
    assert names(store, schema, soql) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("CloseDate = TODAY", ["Small deal"]),
        ("CloseDate = LAST_N_DAYS:5", ["Big deal", "Small deal"]),
        ("CloseDate = LAST_N_DAYS:4", ["Small deal"]),
        ("CloseDate = NEXT_N_DAYS:2", ["Future deal"]),
        ("CloseDate = NEXT_N_DAYS:1", []),
        ("CloseDate > TODAY", ["Future deal"]),
        ("CloseDate >= TOMORROW", ["Future deal"]),
        ("CloseDate < YESTERDAY", ["Big deal", "Orphan"]),
        ("CloseDate <= TODAY", ["Big deal", "Orphan", "Small deal"]),
        ("CloseDate != TODAY", ["Big deal", "Future deal", "Orphan"]),
        ("CloseDate = 2017-02-01", ["Orphan"]),
        ("CloseDate > 2017-03-10", ["Future deal", "Small deal"]),
        ("CloseDate IN (2017-02-01, TODAY)", ["Orphan", "Small deal"]),
        ("CloseDate NOT IN (YESTERDAY, NEXT_N_DAYS:5)", ["Big deal", "Orphan", "Small deal"]),
        ("IsWon = null", ["Future deal", "Orphan", "Small deal"]),
        ("IsWon != null", ["Big deal"]),
        ("IsClosed = true AND IsWon = false", ["Orphan"]),
        ("Amount = null", ["Small deal"]),
        ("Amount != 5000", ["Future deal", "Orphan", "Small deal"]),
        ("Amount > 100.25", ["Big deal", "Future deal", "Orphan"]),
        ("Probability >= 60", ["Big deal", "Future deal"]),
        ("StageName IN ('closed won', 'CLOSED LOST')", ["Big deal", "Orphan"]),
        ("Account.Name = 'acme corp'", ["Big deal"]),
        ("Account.Name = null", ["Orphan"]),
        ("Account.Name != 'Acme Corp'", ["Future deal", "Orphan", "Small deal"]),
        ("Account.Name LIKE 'acme%' OR PartnerAccount.Name LIKE 'acme%'",
         ["Big deal", "Future deal", "Orphan"]),
        ("Account.Owner.Name LIKE 'bob%'", ["Small deal"]),
        ("Account.IsPartner = true", ["Big deal", "Future deal"]),
        ("Account.AnnualRevenue > 500000", ["Big deal"]),
        ("Owner.IsActive = true", ["Big deal"]),
    ],
)  # fmt: skip
def test_opportunity_filters(
    store: sqlite3.Connection, schema: SfSchema, condition: str, expected: list[str]
) -> None:
    soql = f"SELECT Name FROM Opportunity WHERE {condition} ORDER BY Name"
    assert names(store, schema, soql) == expected


def test_mixed_logic_when_allowed(store: sqlite3.Connection, schema: SfSchema) -> None:
    compiled = compile_query(
        parse_soql(
            "SELECT Name FROM Account WHERE IsPartner = true AND Industry = 'x' OR Name = 'Globex' "
            "ORDER BY Name",
            today=TODAY,
            allow_mixed_logic=True,
        ),
        schema,
        include_deleted=False,
    )
    rowids = [r[0] for r in store.execute(compiled.ids_sql, compiled.ids_params)]
    rows = {r[0]: r for r in store.execute(compiled.rows_sql(len(rowids)), rowids)}
    assert [record_from_row(compiled, rows[i], API)["Name"] for i in rowids] == ["Globex"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("AnnualRevenue", ["acme labs", "Globex", "O'Brien & Co", "Acme Corp"]),
        ("AnnualRevenue ASC", ["acme labs", "Globex", "O'Brien & Co", "Acme Corp"]),
        ("AnnualRevenue DESC", ["acme labs", "Acme Corp", "O'Brien & Co", "Globex"]),
        ("AnnualRevenue DESC NULLS LAST", ["Acme Corp", "O'Brien & Co", "Globex", "acme labs"]),
        ("AnnualRevenue NULLS LAST", ["Globex", "O'Brien & Co", "Acme Corp", "acme labs"]),
        ("AnnualRevenue DESC NULLS FIRST", ["acme labs", "Acme Corp", "O'Brien & Co", "Globex"]),
        ("Name", ["Acme Corp", "acme labs", "Globex", "O'Brien & Co"]),
        ("Name DESC", ["O'Brien & Co", "Globex", "acme labs", "Acme Corp"]),
        ("Industry NULLS LAST, Name DESC", ["O'Brien & Co", "acme labs", "Acme Corp", "Globex"]),
        ("Industry, Name", ["Globex", "O'Brien & Co", "Acme Corp", "acme labs"]),
        ("Owner.Name", ["acme labs", "Acme Corp", "O'Brien & Co", "Globex"]),
        ("Owner.Name DESC NULLS LAST, Name", ["Globex", "Acme Corp", "O'Brien & Co", "acme labs"]),
        ("IsPartner DESC, Name", ["Acme Corp", "acme labs", "Globex", "O'Brien & Co"]),
        ("CreatedDate DESC", ["acme labs", "Globex", "O'Brien & Co", "Acme Corp"]),
        ("Type", ["O'Brien & Co", "Globex", "Acme Corp", "acme labs"]),
        ("Type DESC", ["O'Brien & Co", "Acme Corp", "acme labs", "Globex"]),
    ],
)  # fmt: skip
def test_order_by_with_nulls_first_by_default(
    store: sqlite3.Connection, schema: SfSchema, order_by: str, expected: list[str]
) -> None:
    assert names(store, schema, f"SELECT Name FROM Account ORDER BY {order_by}") == expected


def test_unordered_results_come_in_insertion_order(
    store: sqlite3.Connection, schema: SfSchema
) -> None:
    assert names(store, schema, "SELECT Name FROM Account") == [
        "Acme Corp", "Globex", "acme labs", "O'Brien & Co",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("LIMIT 2", ["O'Brien & Co", "Globex"]),
        ("LIMIT 2 OFFSET 2", ["Acme Corp", "acme labs"]),
        ("OFFSET 3", ["acme labs"]),
        ("LIMIT 10 OFFSET 1", ["Globex", "Acme Corp", "acme labs"]),
        ("OFFSET 4", []),
        ("LIMIT 0", []),
    ],
)
def test_limit_and_offset_page_a_stable_order(
    store: sqlite3.Connection, schema: SfSchema, page: str, expected: list[str]
) -> None:
    # Type ties between the two partners; the rowid breaks the tie the same way each time.
    assert names(store, schema, f"SELECT Name FROM Account ORDER BY Type {page}") == expected


def test_count(store: sqlite3.Connection, schema: SfSchema) -> None:
    assert count(store, schema, "SELECT COUNT() FROM Account") == 4
    assert count(store, schema, "SELECT COUNT() FROM Account", include_deleted=True) == 5
    assert count(store, schema, "SELECT COUNT() FROM Account LIMIT 2") == 2
    assert count(store, schema, "SELECT COUNT() FROM Account LIMIT 10") == 4
    assert count(store, schema, "SELECT COUNT() FROM Account OFFSET 3") == 1
    assert count(store, schema, "SELECT COUNT() FROM Account LIMIT 2 OFFSET 3") == 1
    assert count(store, schema, "SELECT COUNT() FROM Account OFFSET 9") == 0
    assert count(store, schema, "SELECT COUNT() FROM Account WHERE IsPartner = true") == 2
    acme = "SELECT COUNT() FROM Opportunity WHERE Account.Name LIKE 'acme%'"
    assert count(store, schema, acme) == 2
    compiled = compile_query(parse("SELECT COUNT() FROM Account"), schema, include_deleted=False)
    assert compiled.select_paths == []


def test_count_sql_also_sizes_a_record_query(store: sqlite3.Connection, schema: SfSchema) -> None:
    compiled = compile_query(
        parse("SELECT Id FROM Opportunity WHERE Amount > 100 LIMIT 2"),
        schema,
        include_deleted=False,
    )
    assert not compiled.is_count
    assert store.execute(compiled.count_sql, compiled.count_params).fetchone() == (2,)


def test_deleted_rows_only_with_include_deleted(
    store: sqlite3.Connection, schema: SfSchema
) -> None:
    soql = "SELECT Name, IsDeleted FROM Opportunity WHERE StageName = 'Prospecting' ORDER BY Name"
    assert run(store, schema, soql) == [
        {"attributes": attributes("Opportunity", O2), "Name": "Small deal", "IsDeleted": False},
    ]
    assert run(store, schema, soql, include_deleted=True) == [
        {"attributes": attributes("Opportunity", O4), "Name": "Deleted deal", "IsDeleted": True},
        {"attributes": attributes("Opportunity", O2), "Name": "Small deal", "IsDeleted": False},
    ]
    like = r"SELECT Name FROM Account WHERE Name LIKE '%50\%\_off'"
    assert names(store, schema, like) == []
    assert names(store, schema, like, include_deleted=True) == ["Initech 50%_off"]


def test_rows_sql_of_no_rowids(store: sqlite3.Connection, schema: SfSchema) -> None:
    compiled = compile_query(parse("SELECT Name FROM Account"), schema, include_deleted=False)
    assert store.execute(compiled.rows_sql(0), []).fetchall() == []
    with pytest.raises(ValueError):
        compiled.rows_sql(-1)


# -- compiler errors ---------------------------------------------------------

NO_COLUMN = (
    "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure "
    "to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
NO_RELATIONSHIP = (
    "Didn't understand relationship '{}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please "
    "reference your WSDL or the describe call for the appropriate names."
)


def test_unknown_field_message_is_salesforce_s(schema: SfSchema) -> None:
    error = compile_error(schema, "SELECT Nme FROM Account")
    assert error.error_code == "INVALID_FIELD"
    assert (error.row, error.column) == (1, 8)
    assert error.message == (
        "\nSELECT Nme FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nme' on "
        "entity 'Account'. If you are attempting to use a custom field, be sure to append the "
        "'__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names."
    )


@pytest.mark.parametrize(
    ("soql", "column", "detail"),
    [
        ("SELECT Id, Nme FROM Account", 12, NO_COLUMN.format("Nme", "Account")),
        ("SELECT Id FROM Account WHERE Nme = 'x'", 30, NO_COLUMN.format("Nme", "Account")),
        ("SELECT Id FROM Account ORDER BY Id, Nme DESC", 37, NO_COLUMN.format("Nme", "Account")),
        ("SELECT Account FROM Opportunity", 8, NO_COLUMN.format("Account", "Opportunity")),
        ("SELECT Account.Nme FROM Opportunity", 8, NO_COLUMN.format("Nme", "Account")),
        ("SELECT Id, Account.Owner.Nme FROM Opportunity", 12, NO_COLUMN.format("Nme", "User")),
        ("SELECT Region FROM Account", 8, NO_COLUMN.format("Region", "Account")),
        ("SELECT Id, Acount.Name FROM Opportunity", 12, NO_RELATIONSHIP.format("Acount")),
        ("SELECT Id FROM Opportunity WHERE Account.Ownr.Name = 'x'", 34,
         NO_RELATIONSHIP.format("Ownr")),
        ("SELECT Name.First FROM Account", 8, NO_RELATIONSHIP.format("Name")),
        ("SELECT AccountId.Name FROM Opportunity", 8, NO_RELATIONSHIP.format("AccountId")),
        ("SELECT Id FROM Opportunity ORDER BY Partner.Name", 37,
         NO_RELATIONSHIP.format("Partner")),
        ("SELECT Id, ID FROM Account", 12, "duplicate field selected: ID"),
        ("SELECT Account.Name, account.name FROM Opportunity", 22,
         "duplicate field selected: account.name"),
    ],
)  # fmt: skip
def test_unknown_fields_and_relationships(
    schema: SfSchema, soql: str, column: int, detail: str
) -> None:
    error = compile_error(schema, soql)
    assert error.error_code == "INVALID_FIELD"
    assert (error.row, error.column, error.detail) == (1, column, detail)


def test_unknown_object(schema: SfSchema) -> None:
    error = compile_error(schema, "SELECT Id FROM Acount")
    assert error.error_code == "INVALID_TYPE"
    assert (error.row, error.column) == (1, 16)
    assert error.message == (
        "\nSELECT Id FROM Acount\n               ^\nERROR at Row:1:Column:16\nsObject type "
        "'Acount' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe "
        "call for the appropriate names."
    )


@pytest.mark.parametrize(
    ("condition", "column", "detail"),
    [
        ("Amount = '100'", 43, "value of filter criterion for field 'Amount' must be of type "
         "double and should not be enclosed in quotes"),
        ("Amount IN (1, '2')", 48, "value of filter criterion for field 'Amount' must be of "
         "type double and should not be enclosed in quotes"),
        ("Account.NumberOfEmployees > 1.5 AND Account.NumberOfEmployees > 'x'", 98,
         "value of filter criterion for field 'NumberOfEmployees' must be of type int and "
         "should not be enclosed in quotes"),
        ("CloseDate = '2017-03-01'", 46, "value of filter criterion for field 'CloseDate' "
         "must be of type date and should not be enclosed in quotes"),
        ("CloseDate = 2017-03-01T00:00:00Z", 46, "value of filter criterion for field "
         "'CloseDate' must be of type date and should not be enclosed in quotes"),
        ("CreatedDate > 2017-03-01", 48, "value of filter criterion for field 'CreatedDate' "
         "must be of type dateTime and should not be enclosed in quotes"),
        ("IsWon = 'true'", 42, "value of filter criterion for field 'IsWon' must be of type "
         "boolean and should not be enclosed in quotes"),
        ("IsWon = 1", 42, "value of filter criterion for field 'IsWon' must be of type "
         "boolean and should not be enclosed in quotes"),
        ("Name = 5", 41, "value of filter criterion for field 'Name' must be of type string "
         "and should be enclosed in quotes"),
        ("Name = TODAY", 41, "value of filter criterion for field 'Name' must be of type "
         "string and should be enclosed in quotes"),
        ("StageName LIKE 5", 49, "value of filter criterion for field 'StageName' must be of "
         "type string and should be enclosed in quotes"),
        ("AccountId = true", 46, "value of filter criterion for field 'AccountId' must be of "
         "type id and should be enclosed in quotes"),
    ],
)  # fmt: skip
def test_values_of_the_wrong_type(
    schema: SfSchema, condition: str, column: int, detail: str
) -> None:
    error = compile_error(schema, f"SELECT Id FROM Opportunity WHERE {condition}")
    assert error.error_code == "INVALID_FIELD"
    assert (error.row, error.column, error.detail) == (1, column, detail)


@pytest.mark.parametrize(
    ("condition", "column", "detail"),
    [
        ("AccountId LIKE '001%'", 44, "invalid operator on id field"),
        ("Id LIKE '006%'", 37, "invalid operator on id field"),
        ("Amount LIKE '1%'", 41, "invalid operator on currency field"),
        ("CloseDate LIKE '2017%'", 44, "invalid operator on date field"),
        ("IsWon > false", 40, "invalid operator on boolean field"),
        ("AccountId = '001'", 46, "invalid ID field: 001"),
        ("Id IN ('006000000000001AAA', 'nope')", 63, "invalid ID field: nope"),
    ],
)
def test_operators_and_ids_salesforce_refuses(
    schema: SfSchema, condition: str, column: int, detail: str
) -> None:
    error = compile_error(schema, f"SELECT Id FROM Opportunity WHERE {condition}")
    assert error.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert (error.row, error.column, error.detail) == (1, column, detail)


def test_unqueryable_objects_and_unsortable_or_unfilterable_fields() -> None:
    schema = standard_schema()
    hidden = SfObject(name="Hidden__c", label="Hidden", queryable=False)
    schema.add(hidden)
    notes = SfObject(name="Note__c", label="Note")
    notes.add(SfField(name="Id", type="id"))
    notes.add(SfField(name="Body__c", type="textarea", sortable=False, filterable=False))
    schema.add(notes)

    error = compile_error(schema, "SELECT Id FROM Hidden__c")
    assert (error.error_code, error.column, error.detail) == (
        "INVALID_TYPE", 16, "entity type Hidden__c does not support query",
    )  # fmt: skip
    error = compile_error(schema, "SELECT Id FROM Note__c ORDER BY body__c")
    assert (error.error_code, error.column, error.detail) == (
        "INVALID_FIELD", 33, "field 'body__c' can not be sorted in a query call",
    )  # fmt: skip
    error = compile_error(schema, "SELECT Id FROM Note__c WHERE Body__c = 'x'")
    assert (error.error_code, error.column, error.detail) == (
        "INVALID_FIELD", 30, "field 'Body__c' can not be filtered in a query call",
    )  # fmt: skip
    # An object without IsDeleted is queried without the deleted-row filter.
    compiled = compile_query(parse("SELECT Body__c FROM Note__c"), schema, include_deleted=False)
    assert "IsDeleted" not in compiled.ids_sql


def test_ids_sql_ends_on_rowid_and_params_follow_placeholders(schema: SfSchema) -> None:
    compiled = compile_query(
        parse(
            "SELECT Id FROM Opportunity WHERE CloseDate IN (TODAY, 2017-01-01) "
            "AND Name IN ('a', 'b') ORDER BY Name LIMIT 5 OFFSET 1"
        ),
        schema,
        include_deleted=False,
    )
    assert compiled.ids_sql.startswith('SELECT t0.rowid FROM "Opportunity" AS t0')
    assert "ORDER BY" in compiled.ids_sql
    assert compiled.ids_sql.endswith("t0.rowid ASC LIMIT ? OFFSET ?")
    assert compiled.ids_sql.count("?") == len(compiled.ids_params)
    assert compiled.ids_params == ["2017-01-01", "2017-03-15", "2017-03-15", "a", "b", 5, 1]

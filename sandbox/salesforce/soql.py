"""SOQL for the sandbox CRM: a tokenizer and a recursive-descent parser into a small typed AST.

The sandbox emulates Salesforce's REST ``query`` resource so that the real
simple-salesforce client, and the connectors built on it, run unchanged against a
local SQLite store. This module parses the subset of SOQL those connectors send:

- ``SELECT`` plain fields, parent relationship paths of one or more levels
  (``Account.Name``, ``Account.Owner.Name``), parent-to-child subqueries of one level
  (``(SELECT Id FROM Tasks WHERE … ORDER BY … LIMIT n)``, FROM naming a child
  relationship), or ``COUNT()`` alone; ``FROM`` one object;
- ``WHERE`` with ``AND``, ``OR``, ``NOT`` and parentheses; the comparisons
  ``= != <> < <= > >=``, ``LIKE`` (``%`` and ``_`` wildcards), ``IN (…)`` and ``NOT IN (…)``;
- literals: single-quoted strings with SOQL's backslash escapes, integers, decimals,
  negative numbers, ``true``/``false``, ``null``, dates (``2017-03-01``), datetimes with a
  zone (``Z``, ``+02:00``, ``-0530``; normalised to UTC), and the date literals TODAY,
  YESTERDAY, TOMORROW, LAST_N_DAYS:n and NEXT_N_DAYS:n, resolved against the ``today``
  the caller passes (there is no clock in here);
- ``ORDER BY`` several fields, each with ``ASC|DESC`` and ``NULLS FIRST|LAST``;
  ``LIMIT n``; ``OFFSET n`` (at most 2,000, as in Salesforce).

Keywords and names are case-insensitive. Anything else — GROUP BY, subqueries nested twice,
aggregates other than ``COUNT()``, functions, TYPEOF, WITH, USING SCOPE, FOR UPDATE,
INCLUDES — is a MALFORMED_QUERY: a connector must not come to rely on SOQL that the
sandbox would silently answer differently from Salesforce.

As in Salesforce, AND and OR cannot be mixed at one level without parentheses
(``a AND b OR c`` fails with "unexpected token: 'OR'"); pass ``allow_mixed_logic=True``
to parse such a condition with the usual precedence NOT > AND > OR instead.

Errors are ``SoqlError``s carrying Salesforce's error code and its message framing:
the query line, a caret under the offending token and ``ERROR at Row:r:Column:c``.
Salesforce elides a long line to a window around the error; we always show the whole
line. Field and object names are resolved against the schema in ``soql_sql``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum

__all__ = [
    "MAX_OFFSET",
    "And",
    "BooleanValue",
    "Comparison",
    "Condition",
    "DateRangeValue",
    "DateTimeValue",
    "DateValue",
    "FieldRef",
    "InList",
    "Not",
    "NullValue",
    "NumberValue",
    "Or",
    "OrderItem",
    "Position",
    "SoqlError",
    "SoqlQuery",
    "StringValue",
    "Value",
    "day_start_storage_text",
    "format_error_message",
    "parse_soql",
]

#: Salesforce refuses an OFFSET above this (NUMBER_OUTSIDE_VALID_RANGE).
MAX_OFFSET = 2000


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def format_error_message(source: str, row: int, column: int, detail: str) -> str:
    """Salesforce's framing of a query error: the line, a caret under the column, the place."""
    lines = source.split("\n")
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    caret = " " * (column - 1) + "^"
    return f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{detail}"


class SoqlError(Exception):
    """A query Salesforce would refuse: its error code, full message and 1-based position.

    ``error_code`` is Salesforce's: MALFORMED_QUERY (syntax), INVALID_FIELD (unknown
    field or relationship, wrong value type), INVALID_TYPE (unknown object),
    INVALID_QUERY_FILTER_OPERATOR (operator not allowed on the field's type) or
    NUMBER_OUTSIDE_VALID_RANGE (OFFSET above 2,000).
    """

    def __init__(self, error_code: str, message: str, row: int, column: int) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.row = row
        self.column = column

    @classmethod
    def at(cls, error_code: str, detail: str, source: str, position: Position) -> SoqlError:
        """An error framed the Salesforce way, the caret at ``position``."""
        message = format_error_message(source, position.row, position.column, detail)
        return cls(error_code, message, position.row, position.column)

    @property
    def detail(self) -> str:
        """The last line of the message: what is wrong, without the framing."""
        return self.message.rsplit("\n", 1)[-1]

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


# ---------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a token starts: 1-based row (line) and column, as Salesforce counts them."""

    row: int
    column: int


@dataclass(frozen=True)
class FieldRef:
    """A field as written: ``("Name",)`` or a relationship path ``("Account", "Owner", "Name")``."""

    path: tuple[str, ...]
    position: Position

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class StringValue:
    """A quoted string. ``like_pattern`` is the text for SQL ``LIKE … ESCAPE '\\'``: wildcards
    kept, escaped ``\\%``/``\\_`` and backslashes escaped; ``like_escapes`` tells whether
    the literal used ``\\%`` or ``\\_``, which SOQL allows in LIKE only."""

    value: str
    like_pattern: str
    like_escapes: bool
    position: Position


@dataclass(frozen=True)
class NumberValue:
    value: int | float
    position: Position


@dataclass(frozen=True)
class BooleanValue:
    value: bool
    position: Position


@dataclass(frozen=True)
class NullValue:
    position: Position


@dataclass(frozen=True)
class DateValue:
    value: date
    position: Position

    @property
    def storage_text(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True)
class DateTimeValue:
    """A datetime literal, normalised to UTC."""

    value: datetime
    position: Position

    @property
    def storage_text(self) -> str:
        """The store's datetime text, ``2017-03-01T08:00:00.000+0000``."""
        return _datetime_storage_text(self.value)


@dataclass(frozen=True)
class DateRangeValue:
    """A relative date literal (TODAY, LAST_N_DAYS:7, …) resolved to whole days, both ends
    included: TODAY is [today, today], LAST_N_DAYS:n is [today - n, today] and
    NEXT_N_DAYS:n is [today + 1, today + n], as Salesforce documents them."""

    literal: str
    start: date
    end: date
    position: Position


Value = (
    StringValue
    | NumberValue
    | BooleanValue
    | NullValue
    | DateValue
    | DateTimeValue
    | DateRangeValue
)


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``op`` is one of ``= != < <= > >= LIKE`` (``<>`` reads as ``!=``)."""

    field: FieldRef
    operator: str
    value: Value
    position: Position


@dataclass(frozen=True)
class InList:
    """``field IN (…)``, or ``field NOT IN (…)`` when ``negated``."""

    field: FieldRef
    values: tuple[Value, ...]
    negated: bool
    position: Position


@dataclass(frozen=True)
class Not:
    operand: Condition
    position: Position


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]


Condition = Comparison | InList | Not | And | Or


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key. ``nulls`` is ``"FIRST"``, ``"LAST"`` or None when not written
    (Salesforce then sorts nulls first, ascending or descending)."""

    field: FieldRef
    descending: bool
    nulls: str | None

    @property
    def nulls_first(self) -> bool:
        return self.nulls != "LAST"


@dataclass(frozen=True)
class SoqlQuery:
    """A parsed query. ``source`` is kept so later errors can be framed on it."""

    source: str
    object_name: str
    object_position: Position
    fields: tuple[FieldRef, ...]
    is_count: bool
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    #: parent-to-child subqueries of the SELECT list: ``object_name`` is the relationship
    subqueries: tuple[SoqlQuery, ...] = ()


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------


class _Kind(Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    SYMBOL = "symbol"
    EOF = "end of query"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    position: Position
    #: for IDENT: the start column of each dotted part (same row)
    part_columns: tuple[int, ...] = ()
    #: for STRING: the decoded value, the LIKE pattern and whether \% or \_ occurred
    string: tuple[str, str, bool] | None = None


_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DATETIME_START_RE = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.+\-Zz]*")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?![0-9A-Za-z_])")
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))"
)
_TWO_CHAR_SYMBOLS = ("!=", "<>", "<=", ">=")
_ONE_CHAR_SYMBOLS = "(),=<>:"
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t",
    "b": "\b", "B": "\b", "f": "\f", "F": "\f", '"': '"', "'": "'",
}  # fmt: skip


class _Lexer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.index = 0
        self.row = 1
        self.line_start = 0

    def position_of(self, index: int) -> Position:
        return Position(self.row, index - self.line_start + 1)

    def error(self, index: int, detail: str) -> SoqlError:
        return SoqlError.at("MALFORMED_QUERY", detail, self.source, self.position_of(index))

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        source = self.source
        while True:
            self._skip_whitespace()
            start = self.index
            if start >= len(source):
                out.append(_Token(_Kind.EOF, "<EOF>", self.position_of(start)))
                return out
            char = source[start]
            if char == "'":
                out.append(self._string())
                continue
            if char.isdigit() or (char == "-" and source[start + 1 : start + 2].isdigit()):
                out.append(self._number_or_date())
                continue
            match = _IDENT_RE.match(source, start)
            if match:
                text = match.group()
                columns: list[int] = []
                offset = 0
                for part in text.split("."):
                    columns.append(start - self.line_start + 1 + offset)
                    offset += len(part) + 1
                self.index = match.end()
                out.append(_Token(_Kind.IDENT, text, self.position_of(start), tuple(columns)))
                continue
            two = source[start : start + 2]
            if two in _TWO_CHAR_SYMBOLS:
                self.index += 2
                out.append(_Token(_Kind.SYMBOL, two, self.position_of(start)))
                continue
            if char in _ONE_CHAR_SYMBOLS:
                self.index += 1
                out.append(_Token(_Kind.SYMBOL, char, self.position_of(start)))
                continue
            position = self.position_of(start)
            raise self.error(
                start, f"line {position.row}:{position.column} no viable alternative at "
                f"character '{char}'"
            )  # fmt: skip

    def _skip_whitespace(self) -> None:
        source = self.source
        while self.index < len(source) and source[self.index] in " \t\r\n\f":
            if source[self.index] == "\n":
                self.row += 1
                self.line_start = self.index + 1
            self.index += 1

    def _number_or_date(self) -> _Token:
        start = self.index
        position = self.position_of(start)
        for kind, pattern in (
            (_Kind.DATETIME, _DATETIME_START_RE),
            (_Kind.DATE, _DATE_RE),
            (_Kind.NUMBER, _NUMBER_RE),
        ):
            match = pattern.match(self.source, start)
            if match:
                self.index = match.end()
                return _Token(kind, match.group(), position)
        raise self.error(start, f"unexpected token: '{self.source[start]}'")  # pragma: no cover

    def _string(self) -> _Token:
        source = self.source
        start = self.index
        position = self.position_of(start)
        value: list[str] = []
        pattern: list[str] = []
        like_escapes = False
        index = start + 1
        while True:
            if index >= len(source):
                self.index = index
                end = self.position_of(index)
                raise SoqlError.at(
                    "MALFORMED_QUERY",
                    f"line {end.row}:{end.column} mismatched character '<EOF>' expecting '''",
                    source,
                    position,
                )
            char = source[index]
            if char == "'":
                index += 1
                break
            if char == "\n":
                self.row += 1
                self.line_start = index + 1
            if char != "\\":
                value.append(char)
                pattern.append(char)
                index += 1
                continue
            escaped = source[index + 1 : index + 2]
            if escaped in _ESCAPES:
                value.append(_ESCAPES[escaped])
                pattern.append(_ESCAPES[escaped])
                index += 2
            elif escaped == "\\":
                value.append("\\")
                pattern.append("\\\\")
                index += 2
            elif escaped in ("%", "_"):
                value.append(escaped)
                pattern.append("\\" + escaped)
                like_escapes = True
                index += 2
            elif escaped in ("u", "U") and re.fullmatch(
                r"[0-9A-Fa-f]{4}", source[index + 2 : index + 6]
            ):
                decoded = chr(int(source[index + 2 : index + 6], 16))
                value.append(decoded)
                pattern.append(decoded)
                index += 6
            else:
                self.index = index
                raise self.error(
                    index, f"Invalid string literal: illegal escape sequence '\\{escaped}'"
                )
        self.index = index
        return _Token(
            _Kind.STRING,
            source[start:index],
            position,
            string=("".join(value), "".join(pattern), like_escapes),
        )


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------

#: Words that cannot name a field or an object (Salesforce's reserved SOQL keywords,
#: plus the clause words of the grammar the sandbox parses).
_RESERVED = frozenset(
    {
        "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
        "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
        "ORDER", "BY", "OFFSET", "TRUE", "FALSE", "USING", "FOR", "TYPEOF",
    }
)  # fmt: skip

#: Valid SOQL the sandbox does not implement: named in the error so nobody hunts a typo.
_UNSUPPORTED = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "USING": "USING SCOPE",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "TYPEOF": "TYPEOF",
    "INCLUDES": "INCLUDES",
    "EXCLUDES": "EXCLUDES",
    "ALL": "ALL ROWS",
}

_COMPARISON_SYMBOLS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_DAY_LITERALS = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
_N_DAYS_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})


def parse_soql(source: str, *, today: date, allow_mixed_logic: bool = False) -> SoqlQuery:
    """Parse one SOQL query of the supported subset; raise ``SoqlError`` where Salesforce would.

    ``today`` resolves TODAY, LAST_N_DAYS:n and the like. ``allow_mixed_logic`` accepts
    ``a AND b OR c`` (NOT > AND > OR) where Salesforce demands parentheses.
    """
    tokens = _Lexer(source).tokens()
    return _Parser(source, tokens, today, allow_mixed_logic).query()


class _Parser:
    def __init__(
        self, source: str, tokens: list[_Token], today: date, allow_mixed_logic: bool
    ) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.today = today
        self.allow_mixed_logic = allow_mixed_logic

    # -- token helpers ------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind is not _Kind.EOF:
            self.index += 1
        return token

    @staticmethod
    def is_word(token: _Token, *words: str) -> bool:
        return token.kind is _Kind.IDENT and token.text.upper() in words

    @staticmethod
    def is_symbol(token: _Token, *symbols: str) -> bool:
        return token.kind is _Kind.SYMBOL and token.text in symbols

    def error(self, token: _Token, detail: str, code: str = "MALFORMED_QUERY") -> SoqlError:
        return SoqlError.at(code, detail, self.source, token.position)

    def unexpected(self, token: _Token, note: str = "") -> SoqlError:
        detail = f"unexpected token: '{token.text}'"
        feature = _UNSUPPORTED.get(token.text.upper()) if token.kind is _Kind.IDENT else None
        if note:
            detail += f" ({note})"
        elif feature:
            detail += f" ({feature} is not supported by the sandbox CRM)"
        return self.error(token, detail)

    def expect_word(self, word: str) -> _Token:
        token = self.advance()
        if not self.is_word(token, word):
            raise self.unexpected(token)
        return token

    def expect_symbol(self, symbol: str) -> _Token:
        token = self.advance()
        if not self.is_symbol(token, symbol):
            raise self.unexpected(token)
        return token

    # -- grammar ------------------------------------------------------------

    def query(self, *, nested: bool = False) -> SoqlQuery:
        self.expect_word("SELECT")
        is_count, fields, subqueries = self.select_list(nested=nested)
        self.expect_word("FROM")
        object_token = self.advance()
        if (
            object_token.kind is not _Kind.IDENT
            or "." in object_token.text
            or object_token.text.upper() in _RESERVED
        ):
            raise self.unexpected(object_token)
        where: Condition | None = None
        order_by: tuple[OrderItem, ...] = ()
        limit: int | None = None
        offset: int | None = None
        if self.is_word(self.peek(), "WHERE"):
            self.advance()
            where = self.condition()
        if self.is_word(self.peek(), "ORDER"):
            order_token = self.advance()
            if is_count:
                raise self.error(order_token, "COUNT() cannot be used with an ORDER BY clause")
            self.expect_word("BY")
            order_by = self.order_items()
        if self.is_word(self.peek(), "LIMIT"):
            self.advance()
            limit = self.whole_number()
        if self.is_word(self.peek(), "OFFSET"):
            self.advance()
            number_token = self.peek()
            offset = self.whole_number()
            if offset > MAX_OFFSET:
                raise self.error(
                    number_token,
                    f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                    "NUMBER_OUTSIDE_VALID_RANGE",
                )
        if not nested:
            end = self.advance()
            if end.kind is not _Kind.EOF:
                raise self.unexpected(end)
        return SoqlQuery(
            source=self.source,
            object_name=object_token.text,
            object_position=object_token.position,
            fields=tuple(fields),
            is_count=is_count,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
            subqueries=tuple(subqueries),
        )

    def select_list(self, *, nested: bool) -> tuple[bool, list[FieldRef], list[SoqlQuery]]:
        first = self.peek()
        if self.is_word(first, "COUNT") and self.is_symbol(self.peek(1), "("):
            self.advance()
            self.advance()
            closing = self.advance()
            if not self.is_symbol(closing, ")"):
                raise self.unexpected(
                    closing, "COUNT(fieldName) is not supported by the sandbox CRM; use COUNT()"
                )
            after = self.peek()
            if self.is_symbol(after, ","):
                raise self.unexpected(after, "COUNT() must be the only element in the SELECT list")
            return True, [], []
        fields: list[FieldRef] = []
        subqueries: list[SoqlQuery] = []
        while True:
            if (
                not nested
                and self.is_symbol(self.peek(), "(")
                and self.is_word(self.peek(1), "SELECT")
            ):
                self.advance()
                subqueries.append(self.query(nested=True))
                self.expect_symbol(")")
            else:
                fields.append(self.field_ref(in_select=True))
            if not self.is_symbol(self.peek(), ","):
                return False, fields, subqueries
            self.advance()

    def field_ref(self, *, in_select: bool = False) -> FieldRef:
        token = self.advance()
        if token.kind is not _Kind.IDENT or token.text.upper() in _RESERVED:
            note = ""
            if in_select and self.is_symbol(token, "("):
                note = "a subquery nests at most one level in the sandbox CRM"
            raise self.unexpected(token, note)
        if self.is_symbol(self.peek(), "("):
            if token.text.upper() == "COUNT":
                raise self.unexpected(token, "COUNT() must be the only element in the SELECT list")
            raise self.unexpected(
                token, "functions and aggregates other than COUNT() are not supported by the "
                "sandbox CRM"
            )  # fmt: skip
        return FieldRef(tuple(token.text.split(".")), token.position)

    # WHERE ----------------------------------------------------------------

    def condition(self) -> Condition:
        if self.allow_mixed_logic:
            return self.or_condition()
        first = self.unary()
        operands = [first]
        operator: str | None = None
        while self.is_word(self.peek(), "AND", "OR"):
            token = self.peek()
            word = token.text.upper()
            if operator is None:
                operator = word
            elif word != operator:
                raise self.unexpected(token)
            self.advance()
            operands.append(self.unary())
        if operator is None:
            return first
        return And(tuple(operands)) if operator == "AND" else Or(tuple(operands))

    def or_condition(self) -> Condition:
        operands = [self.and_condition()]
        while self.is_word(self.peek(), "OR"):
            self.advance()
            operands.append(self.and_condition())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_condition(self) -> Condition:
        operands = [self.unary()]
        while self.is_word(self.peek(), "AND"):
            self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Condition:
        token = self.peek()
        if self.is_word(token, "NOT"):
            self.advance()
            return Not(self.unary(), token.position)
        if self.is_symbol(token, "("):
            self.advance()
            inner = self.condition()
            self.expect_symbol(")")
            return inner
        return self.field_expression()

    def field_expression(self) -> Condition:
        field = self.field_ref()
        token = self.advance()
        if token.kind is _Kind.SYMBOL and token.text in _COMPARISON_SYMBOLS:
            value = self.value(allow_like_escapes=False)
            return Comparison(field, _COMPARISON_SYMBOLS[token.text], value, token.position)
        if self.is_word(token, "LIKE"):
            value = self.value(allow_like_escapes=True)
            return Comparison(field, "LIKE", value, token.position)
        if self.is_word(token, "IN"):
            return InList(field, self.value_list(), False, token.position)
        if self.is_word(token, "NOT"):
            self.expect_word("IN")
            return InList(field, self.value_list(), True, token.position)
        raise self.unexpected(token)

    def value_list(self) -> tuple[Value, ...]:
        opening = self.advance()
        if not self.is_symbol(opening, "("):
            raise self.unexpected(opening)
        if self.is_word(self.peek(), "SELECT"):
            raise self.unexpected(self.peek(), "semi-joins are not supported by the sandbox CRM")
        values = [self.value(allow_like_escapes=False)]
        while self.is_symbol(self.peek(), ","):
            self.advance()
            values.append(self.value(allow_like_escapes=False))
        self.expect_symbol(")")
        return tuple(values)

    def value(self, *, allow_like_escapes: bool) -> Value:
        token = self.advance()
        position = token.position
        if token.kind is _Kind.STRING:
            assert token.string is not None
            text, pattern, like_escapes = token.string
            if like_escapes and not allow_like_escapes:
                raise self.error(
                    token,
                    "Invalid string literal: the escapes \\% and \\_ are allowed in LIKE only",
                )
            return StringValue(text, pattern, like_escapes, position)
        if token.kind is _Kind.NUMBER:
            number: int | float = float(token.text) if "." in token.text else int(token.text)
            return NumberValue(number, position)
        if token.kind is _Kind.DATE:
            try:
                return DateValue(date.fromisoformat(token.text), position)
            except ValueError:
                raise self.error(token, f"Invalid date: {token.text}") from None
        if token.kind is _Kind.DATETIME:
            return DateTimeValue(self.datetime_value(token), position)
        if token.kind is _Kind.IDENT and "." not in token.text:
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                return BooleanValue(word == "TRUE", position)
            if word == "NULL":
                return NullValue(position)
            if word in _DAY_LITERALS:
                day = self.today + timedelta(days=_DAY_LITERALS[word])
                return DateRangeValue(word, day, day, position)
            if word in _N_DAYS_LITERALS:
                self.expect_symbol(":")
                n = self.whole_number()
                literal = f"{word}:{n}"
                if word == "LAST_N_DAYS":
                    return DateRangeValue(
                        literal, self.today - timedelta(days=n), self.today, position
                    )
                return DateRangeValue(
                    literal,
                    self.today + timedelta(days=1),
                    self.today + timedelta(days=n),
                    position,
                )
        raise self.unexpected(token)

    def datetime_value(self, token: _Token) -> datetime:
        match = _DATETIME_RE.fullmatch(token.text)
        if match is None:
            raise self.error(token, f"Invalid datetime: {token.text}")
        year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        try:
            if zulu:
                zone = UTC
            else:
                offset = timedelta(hours=int(off_h), minutes=int(off_m))
                zone = timezone(-offset if sign == "-" else offset)
            local = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone
            )
            return local.astimezone(UTC)
        except (ValueError, OverflowError):
            raise self.error(token, f"Invalid datetime: {token.text}") from None

    def whole_number(self) -> int:
        token = self.advance()
        if token.kind is not _Kind.NUMBER or not token.text.isdigit():
            raise self.unexpected(token)
        return int(token.text)

    # ORDER BY -------------------------------------------------------------

    def order_items(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.is_symbol(self.peek(), ","):
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        field = self.field_ref()
        descending = False
        nulls: str | None = None
        if self.is_word(self.peek(), "ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        if self.is_word(self.peek(), "NULLS"):
            self.advance()
            token = self.advance()
            if not self.is_word(token, "FIRST", "LAST"):
                raise self.unexpected(token)
            nulls = token.text.upper()
        return OrderItem(field, descending, nulls)


def _datetime_storage_text(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def day_start_storage_text(day: date) -> str:
    """``2017-03-01T00:00:00.000+0000`` for 2017-03-01: where that UTC day starts."""
    return _datetime_storage_text(datetime(day.year, day.month, day.day, tzinfo=UTC))

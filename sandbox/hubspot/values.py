"""Property values: how HubSpot writes, stores, compares and prints each property type.

HubSpot's wire format is text for every type: numbers as "4514", booleans as
"true", datetimes as "2017-03-01T09:00:00.000Z", dates as "2017-03-01". The
sandbox stores numbers as REAL and dates and datetimes as epoch milliseconds
(INTEGER), so SQLite filters and sorts them natively; this module converts in
both directions and says, in HubSpot's words, why a written value is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

#: The property types of the v3 properties API and the SQLite column type of each.
SQL_TYPES = {
    "string": "TEXT",
    "enumeration": "TEXT",
    "bool": "TEXT",
    "number": "REAL",
    "date": "INTEGER",
    "datetime": "INTEGER",
}
TIME_TYPES = frozenset({"date", "datetime"})
_MS_PER_DAY = 86_400_000
_DIGITS = re.compile(r"^-?\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOOLEANS = {"true": "true", "false": "false"}


@dataclass(frozen=True)
class InvalidValue(Exception):
    """A written value that its property refuses, with HubSpot's error code."""

    code: str
    message: str
    property_name: str

    def as_json(self) -> dict[str, object]:
        """The entry HubSpot lists in "Property values were not valid: [...]"."""
        return {
            "isValid": False,
            "message": self.message,
            "error": self.code,
            "name": self.property_name,
            "localizedErrorMessage": self.message,
        }


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.astimezone(UTC).timestamp() * 1000)


def day_ms(day: date) -> int:
    """Epoch milliseconds of a day's midnight UTC (how HubSpot stores a date property)."""
    return to_ms(datetime.combine(day, time(0), tzinfo=UTC))


def iso_ms(ms: int) -> str:
    """HubSpot's datetime text: 2017-03-01T09:00:00.000Z."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_date(ms: int) -> str:
    """A date property's text: 2017-03-01."""
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return to_ms(datetime.now(UTC))


def format_number(value: float) -> str:
    """A number as HubSpot prints it: integers without a decimal point."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def to_wire(property_type: str, stored: object) -> str | None:
    """A stored value as the text HubSpot returns (None stays None)."""
    if stored is None:
        return None
    if property_type == "datetime":
        return iso_ms(int(stored))  # type: ignore[call-overload]
    if property_type == "date":
        return iso_date(int(stored))  # type: ignore[call-overload]
    if isinstance(stored, float):
        return format_number(stored)
    return str(stored)


def parse_time(text: str) -> int | None:
    """Epoch ms from the forms HubSpot accepts: epoch ms digits or ISO 8601 (date or datetime)."""
    text = text.strip()
    if _DIGITS.match(text):
        return int(text)
    if _ISO_DATE.match(text):
        try:
            return day_ms(date.fromisoformat(text))
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


def parse_number(text: str) -> float | None:
    """A finite number from its text, or None."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _text_of(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return format_number(raw)
    return str(raw)


def to_stored(name: str, property_type: str, raw: object, options: frozenset[str] | None) -> object:
    """A written JSON value as the stored value, or InvalidValue raised.

    An empty string or null clears the property (HubSpot's way to unset).
    ``options`` are the allowed values of an enumeration (None: any value).
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, (dict, list)):
        raise InvalidValue("INVALID_VALUE", f"{raw!r} is not a valid value for {name}", name)
    text = _text_of(raw)
    if property_type == "number":
        number = parse_number(text)
        if number is None:
            raise InvalidValue("INVALID_FLOAT", f"{text} was not a valid number.", name)
        return number
    if property_type == "bool":
        value = _BOOLEANS.get(text.strip().lower())
        if value is None:
            raise InvalidValue("INVALID_BOOLEAN", f"{text} was not a valid boolean.", name)
        return value
    if property_type in TIME_TYPES:
        ms = parse_time(text)
        if ms is None:
            code = "INVALID_DATE" if property_type == "date" else "INVALID_DATETIME"
            raise InvalidValue(code, f"{text} was not a valid {property_type}.", name)
        if property_type == "date" and ms % _MS_PER_DAY:
            raise InvalidValue(
                "INVALID_DATE",
                f"{text} is at {iso_ms(ms)}, which isn't midnight in UTC.",
                name,
            )
        return ms
    if property_type == "enumeration" and options is not None:
        chosen = text.split(";")
        for choice in chosen:
            if choice not in options:
                allowed = ", ".join(sorted(options))
                raise InvalidValue(
                    "INVALID_OPTION",
                    f"{choice} was not one of the allowed options: [{allowed}]",
                    name,
                )
    if len(text) > 65_536:
        raise InvalidValue(
            "INVALID_STRING_LENGTH", f"{name} is longer than 65536 characters.", name
        )
    return text

"""Record ids that look and check like the real CRMs' ids."""

from __future__ import annotations

import threading
from typing import Any

import polars as pl

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# upper-case letters → "1", anything else → "0": a chunk's bits, read right to left
_UPPER_BITS = str.maketrans(
    {c: ("1" if "A" <= c <= "Z" else "0") for c in map(chr, range(48, 123)) if c.isalnum()}
)


def salesforce_id18(id15: str) -> str:
    """The 18-character, case-safe form of a 15-character Salesforce id.

    Each 5-character chunk gives one suffix character: bit i is set when the
    chunk's i-th character is an upper-case letter.
    """
    bits = id15.translate(_UPPER_BITS)
    return (
        id15
        + _SUFFIX[int(bits[4::-1], 2)]
        + _SUFFIX[int(bits[9:4:-1], 2)]
        + _SUFFIX[int(bits[14:9:-1], 2)]
    )


class SalesforceIds:
    """Hands out 18-character ids per key prefix: prefix + pod '5g' + a 10-digit serial.

    Real ids number in base 62; decimal digits are base-62 digits too, and a
    million seeded records make the faster formatting worth it. Deep-copyable, so that
    a sandbox's reset hands out the same ids again.
    """

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, key_prefix: str) -> str:
        with self._lock:
            serial = self._last.get(key_prefix, 0) + 1
            self._last[key_prefix] = serial
        return self.at(key_prefix, serial)

    def take(self, key_prefix: str, count: int) -> int:
        """Hand out ``count`` ids at once (for a table seeded as columns); the first serial."""
        with self._lock:
            first = self._last.get(key_prefix, 0) + 1
            self._last[key_prefix] = first + count - 1
        return first

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"_last": dict(self._last)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._last = state["_last"]
        self._lock = threading.Lock()

    @staticmethod
    def at(key_prefix: str, serial: int) -> str:
        """The id of a given serial (seeding numbers opportunities in seed-key order)."""
        return salesforce_id18(f"{key_prefix}5g{serial:010d}")


def salesforce_ids(key_prefix: str, serials: pl.Expr) -> pl.Expr:
    """``SalesforceIds.at`` of a column of serials, as one expression: the serial's digits
    set no bit of the case-safe suffix, so every id shares the suffix of serial 0."""
    zero = SalesforceIds.at(key_prefix, 0)
    return pl.lit(zero[:5]) + serials.cast(pl.String).str.zfill(10) + pl.lit(zero[15:])


class HubSpotIds:
    """Hands out HubSpot-style numeric ids, one series per object type."""

    def __init__(self, start: int = 10_000_000_001) -> None:
        self._next = start
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            value = self._next
            self._next += 1
        return str(value)

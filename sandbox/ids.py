"""Record ids that look and check like the real CRMs' ids."""

from __future__ import annotations

import itertools
import threading

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id18(id15: str) -> str:
    """The 18-character, case-safe form of a 15-character Salesforce id."""
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


class SalesforceIds:
    """Hands out 18-character ids per key prefix: prefix + pod '5g' + serial."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def next(self, key_prefix: str) -> str:
        with self._lock:
            counter = self._counters.setdefault(key_prefix, itertools.count(1))
            serial = next(counter)
        return salesforce_id18(f"{key_prefix}5g{_base62(serial, 10)}")


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

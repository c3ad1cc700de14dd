"""Request and record counters, read through /__sandbox/stats: how benchmarks count calls."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class SandboxStats:
    """Requests by method and route template, records returned and written, per CRM."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._records_returned: Counter[str] = Counter()
        self._records_written: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()

    def request(self, crm: str, method: str, route: str) -> None:
        with self._lock:
            self._requests[f"{crm} {method} {route}"] += 1

    def status(self, crm: str, status: int) -> None:
        with self._lock:
            self._statuses[f"{crm} {status}"] += 1

    def returned(self, crm: str, count: int) -> None:
        with self._lock:
            self._records_returned[crm] += count

    def written(self, crm: str, count: int) -> None:
        with self._lock:
            self._records_written[crm] += count

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "requests_total": sum(self._requests.values()),
                "statuses": dict(sorted(self._statuses.items())),
                "records_returned": dict(self._records_returned),
                "records_written": dict(self._records_written),
            }

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._records_returned.clear()
            self._records_written.clear()
            self._statuses.clear()

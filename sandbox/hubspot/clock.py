"""The portal's clock: the process clock plus an offset that only moves forward.

Tests move it through ``POST /__sandbox/hubspot/clock`` to make days pass (an archived
record's 90 days in the recycling bin) without waiting and without touching the
process clock. Every time the portal stamps (writes, archives, property changes, the
search index's lag, the HTTP ``Date`` header) is read here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.hubspot.values import now_ms


@dataclass
class PortalClock:
    """Now, in epoch milliseconds, ``offset_ms`` ahead of the process clock."""

    offset_ms: int = 0

    def now(self) -> int:
        return now_ms() + self.offset_ms

    def advance(self, ms: int) -> None:
        """Move the clock ``ms`` forward (never back: stamps already given stay in the past)."""
        if ms < 0:
            raise ValueError("the portal's clock only moves forward")
        self.offset_ms += ms

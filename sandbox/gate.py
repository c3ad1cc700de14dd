"""Requests side by side, a reset alone: what keeps a reset exact while clients still call.

A client killed in the middle of a call (the killed-sync tests do that on purpose)
leaves its request running in the server; were the sandbox reset under it, its write
would land in the restored data. So a reset waits for the requests in flight and holds
new ones until it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: how long a reset waits for the requests in flight (a latency fault can slow them)
RESET_WAIT_SECONDS = 60.0


class RequestGate:
    """Counts the requests in flight; ``alone()`` runs a block with none in flight."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._local = threading.local()

    @contextmanager
    def request(self) -> Iterator[None]:
        """One request: waits while a reset runs."""
        with self._changed:
            self._changed.wait_for(lambda: not self._closed)
            self._in_flight += 1
        self._local.inside = True
        try:
            yield
        finally:
            self._local.inside = False
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    @contextmanager
    def alone(self, timeout: float = RESET_WAIT_SECONDS) -> Iterator[None]:
        """The block, once every other request has ended (a request may call it itself)."""
        own = 1 if getattr(self._local, "inside", False) else 0
        with self._changed:
            # a request that resets does not wait for itself
            self._in_flight -= own
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._closed)
            self._closed = True
            if not self._changed.wait_for(lambda: self._in_flight == 0, timeout):
                self._closed = False
                self._in_flight += own
                self._changed.notify_all()
                raise TimeoutError(f"requests still running after {timeout:g} s")
        try:
            yield
        finally:
            with self._changed:
                self._closed = False
                self._in_flight += own
                self._changed.notify_all()

"""The sandbox fixtures, for the writeback's end-to-end tests."""

from __future__ import annotations

from tests.sandbox.conftest import fresh_sandbox

__all__ = ["fresh_sandbox"]

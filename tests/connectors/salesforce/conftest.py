"""Fixtures for the Salesforce adapter: connectors pointed at the sandbox, secrets in a
private environment mapping (never os.environ), and a sleep that records instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings
from connectors.seed import SeedDataset, read_seed
from core.connector import Page
from sandbox.server import RunningSandbox
from sandbox.store import sf_datetime
from tests.sandbox.conftest import control

RecordT = TypeVar("RecordT")


class RecordedSleep:
    """Stands in for time.sleep: keeps the waits asked for, waits for none of them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sandbox_env(running: RunningSandbox) -> dict[str, str]:
    """The sandbox's secrets under the default variable names of the settings."""
    return {
        f"PARTNER_KPI_SF_{key.upper()}": value
        for key, value in running.credentials.salesforce().items()
    }


def make_connector(
    running: RunningSandbox, sleep: Callable[[float], None] | None = None, **options: Any
) -> SalesforceConnector:
    """A connector on ``running`` with fast backoff (tests count waits, they do not wait)."""
    settings = SalesforceSettings.model_validate(
        {
            "type": "salesforce",
            "login_url": running.url,
            "ca_bundle": str(running.ca_bundle),
            "backoff_initial_seconds": 0.0,
            "bulk_poll_seconds": 0.0,
            **options,
        }
    )
    return SalesforceConnector(
        settings, environ=sandbox_env(running), sleep=sleep or RecordedSleep()
    )


def api_calls(running: RunningSandbox) -> int:
    """Salesforce API requests the sandbox has answered (logins and control calls excluded)."""
    requests: dict[str, int] = control(running, "stats")["requests"]
    return sum(
        count
        for route, count in requests.items()
        if route.startswith("salesforce ") and "oauth2/token" not in route
    )


def records_of(pages: Iterator[Page[RecordT]]) -> list[RecordT]:
    return [record for page in pages for record in page.records]


def history_rows(seed: SeedDataset) -> int:
    return seed.stage_events_frame.height


def now_stamp() -> str:
    return sf_datetime(datetime.now(UTC))


@pytest.fixture(scope="session")
def seed(bundled_seed: Path) -> SeedDataset:
    return read_seed(bundled_seed)


@pytest.fixture(scope="module")
def id_map(sandbox: RunningSandbox) -> dict[str, str]:
    mapping: dict[str, str] = control(sandbox, "id-map")["salesforce"]
    return mapping


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()

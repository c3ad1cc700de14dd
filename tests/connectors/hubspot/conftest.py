"""Fixtures for the HubSpot adapter: the connector pointed at a sandbox, and what to expect.

The sandbox fixtures (``sandbox``, shared and read-only; ``fresh_sandbox``, reset or
private) come from tests/conftest.py; the connector talks to them over HTTPS with
the unmodified hubspot-api-client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings
from connectors.seed import SeedDataset, read_seed
from core.connector import Cursor, Page
from core.schema import Opportunity, Partner, StageChange
from sandbox.server import RunningSandbox
from tests.sandbox.conftest import control

TOKEN_ENV = "PARTNER_KPI_HUBSPOT_TOKEN"


def settings_for(running: RunningSandbox, **overrides: Any) -> HubSpotSettings:
    """The ``crm:`` section a user writes for this sandbox, plus ``overrides``."""
    return HubSpotSettings.model_validate(
        {
            "type": "hubspot",
            "base_url": running.url,
            "ca_bundle": str(running.ca_bundle),
            **overrides,
        }
    )


def environ_for(running: RunningSandbox) -> dict[str, str]:
    return {TOKEN_ENV: running.credentials.hubspot_access_token}


def connector_for(
    running: RunningSandbox,
    *,
    sleep: Callable[[float], None] | None = None,
    **overrides: Any,
) -> HubSpotConnector:
    """A HubSpotConnector on the sandbox; ``sleep`` replaces real waits (recorded by tests)."""
    kwargs: dict[str, Any] = {"environ": environ_for(running)}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return HubSpotConnector(settings_for(running, **overrides), **kwargs)


def drain(pages: Iterable[Page[Any]]) -> tuple[list[Any], list[str], list[Cursor | None]]:
    """Every record, deleted id and cursor of a read."""
    records: list[Any] = []
    deleted: list[str] = []
    cursors: list[Cursor | None] = []
    for page in pages:
        records += page.records
        deleted += page.deleted_ids
        cursors.append(page.cursor)
    return records, deleted, cursors


def last_cursor(cursors: Iterable[Cursor | None]) -> Cursor | None:
    """The cursor a sync would have stored after the read."""
    kept = [c for c in cursors if c is not None]
    return kept[-1] if kept else None


def hubspot_calls(running: RunningSandbox) -> dict[str, int]:
    """HubSpot requests since the last reset, by method and route."""
    stats = control(running, "stats")
    return {k: v for k, v in stats["requests"].items() if k.startswith("hubspot ")}


def reset_stats(running: RunningSandbox) -> None:
    control(running, "reset-stats", {})


class SeedKeys:
    """Translate the sandbox's HubSpot ids back to the seed's keys."""

    def __init__(self, running: RunningSandbox) -> None:
        self.to_hubspot: dict[str, str] = control(running, "id-map")["hubspot"]
        self.to_seed = {crm_id: key for key, crm_id in self.to_hubspot.items()}

    def key(self, crm_id: str | None) -> str | None:
        return None if crm_id is None else self.to_seed[crm_id]

    def opportunity(self, record: Opportunity) -> Opportunity:
        return record.model_copy(
            update={
                "id": self.key(record.id),
                "partner_id": self.key(record.partner_id),
                "account_id": self.key(record.account_id),
            }
        )

    def partner(self, record: Partner) -> Partner:
        return record.model_copy(update={"id": self.key(record.id)})

    def history(self, changes: Iterable[StageChange]) -> dict[str, list[tuple[str, str]]]:
        """Per seed opportunity key: its stages in time order, with the day each was entered."""
        per_deal: dict[str, list[StageChange]] = {}
        for change in changes:
            per_deal.setdefault(change.opportunity_id, []).append(change)
        return {
            str(self.key(deal_id)): [
                (c.stage, c.entered_at.date().isoformat())
                for c in sorted(items, key=lambda c: (c.entered_at, c.id))
            ]
            for deal_id, items in per_deal.items()
        }


@pytest.fixture(scope="session")
def bundled(bundled_seed: Path) -> SeedDataset:
    """The bundled dataset as the seed reader maps it: the reference for every comparison."""
    return read_seed(bundled_seed)


@pytest.fixture
def recorded_sleeps() -> Iterator[list[float]]:
    """A list that a connector's ``sleep`` appends to instead of sleeping."""
    yield []

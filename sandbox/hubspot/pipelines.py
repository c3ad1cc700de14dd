"""The portal's deal pipeline: "Partner deals", one stage per seed stage definition.

Stage ids are opaque numeric strings derived from a hash (as in a real portal,
where custom stages get numeric ids), so nothing can rely on a stage's name:
whether a stage is closed, and its probability, come only from its metadata,
which HubSpot sends as strings ({"isClosed": "true", "probability": "1.0"}).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.schema import OpportunityStatus, StageDef
from sandbox.hubspot.values import iso_ms

PIPELINE_LABEL = "Partner deals"


def opaque_id(seed: str, digits: int = 10) -> str:
    """A stable numeric id of ``digits`` digits for a name (no leading zero)."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    low = 10 ** (digits - 1)
    return str(low + number % (9 * low))


@dataclass(frozen=True)
class Stage:
    """One pipeline stage and what HubSpot's metadata says about it."""

    id: str
    label: str
    display_order: int
    is_closed: bool
    is_won: bool
    probability: float
    created_at: int
    #: the metadata of a ticket or lead stage (a deal stage's is isClosed and probability)
    metadata: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        metadata = dict(self.metadata) or {
            "isClosed": "true" if self.is_closed else "false",
            "probability": str(float(self.probability)),
        }
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": self.display_order,
            "metadata": metadata,
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.created_at),
            "archived": False,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }


@dataclass(frozen=True)
class Pipeline:
    """A deal pipeline and its stages, in display order."""

    id: str
    label: str
    stages: tuple[Stage, ...]
    created_at: int
    display_order: int = 0

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": self.display_order,
            "stages": [stage.as_json() for stage in self.stages],
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.created_at),
            "archived": False,
        }


def partner_pipeline(stage_defs: Sequence[StageDef], created_at: int) -> Pipeline:
    """The "Partner deals" pipeline with one stage per stage definition."""
    stages = tuple(
        Stage(
            id=opaque_id(f"dealstage:{stage.name}"),
            label=stage.name,
            display_order=order,
            is_closed=stage.status is not OpportunityStatus.OPEN,
            is_won=stage.status is OpportunityStatus.WON,
            probability=stage.probability,
            created_at=created_at,
        )
        for order, stage in enumerate(sorted(stage_defs, key=lambda s: s.sort_order))
    )
    return Pipeline(
        id=opaque_id(f"pipeline:{PIPELINE_LABEL}", digits=9),
        label=PIPELINE_LABEL,
        stages=stages,
        created_at=created_at,
    )


#: HubSpot's default ticket pipeline ("Support Pipeline", id "0") and its stages: id, label,
#: ticketState (HubSpot's stage metadata: OPEN or CLOSED, with isClosed beside it).
TICKET_STAGES = (
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
)
TICKET_NEW, TICKET_REOPENED, TICKET_CLOSED = "1", "3", "4"
#: HubSpot's default lead pipeline (Sales Hub Professional): id "lead-pipeline-id", its
#: stages' ids as HubSpot names them.
LEAD_STAGES = (
    ("new-stage-id", "New", "false"),
    ("attempting-stage-id", "Attempting", "false"),
    ("connected-stage-id", "Connected", "false"),
    ("qualified-stage-id", "Qualified", "true"),
    ("unqualified-stage-id", "Disqualified", "true"),
)
LEAD_NEW, LEAD_QUALIFIED, LEAD_DISQUALIFIED = (
    "new-stage-id",
    "qualified-stage-id",
    "unqualified-stage-id",
)


def ticket_pipeline(created_at: int) -> Pipeline:
    """The portal's ticket pipeline: HubSpot's default Support Pipeline."""
    stages = tuple(
        Stage(stage_id, label, order, state == "CLOSED", False, 0.0, created_at,
              (("ticketState", state), ("isClosed", "true" if state == "CLOSED" else "false")))
        for order, (stage_id, label, state) in enumerate(TICKET_STAGES)
    )  # fmt: skip
    return Pipeline(id="0", label="Support Pipeline", stages=stages, created_at=created_at)


def lead_pipeline(created_at: int) -> Pipeline:
    """The portal's lead pipeline: HubSpot's default one."""
    stages = tuple(
        Stage(stage_id, label, order, closed == "true", stage_id == LEAD_QUALIFIED, 0.0,
              created_at, (("isClosed", closed),))
        for order, (stage_id, label, closed) in enumerate(LEAD_STAGES)
    )  # fmt: skip
    return Pipeline(id="lead-pipeline-id", label="Lead pipeline", stages=stages,
                    created_at=created_at)  # fmt: skip

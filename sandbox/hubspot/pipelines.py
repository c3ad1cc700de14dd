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

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "displayOrder": self.display_order,
            "metadata": {
                "isClosed": "true" if self.is_closed else "false",
                "probability": str(float(self.probability)),
            },
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

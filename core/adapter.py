"""What a CRM plug-in tells the app: one ``CrmAdapter`` description per CRM.

Each ``connectors/<crm>/`` package exports one description (its ``ADAPTER``) and
names it under the ``partner_kpi.crm`` entry-point group; ``connectors.registry``
reads them. The app builds its config's ``crm:`` choices, the ``--sandbox``
choices, the default score-field names and the write batch sizes from these
descriptions and never names a CRM itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from core.config_values import WholeNumber
from core.connector import Connector


class CrmSettings(BaseModel):
    """Base of every adapter's ``crm:`` section; ``type`` names the adapter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    #: days the CRM keeps listing a deleted record; None: the adapter's own figure
    #: (``CrmAdapter.deleted_visible_days``), for an org whose figure differs
    deleted_visible_days: WholeNumber | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class ScoringFields:
    """CRM fields the ``scoring:`` section names, that a connector must read for the KPIs
    (KPIS.md settings, declared once there, not again in each CRM's section)."""

    #: the case / ticket checkbox "resolved at first contact" (``first_contact_resolution``)
    first_contact_field: str | None = None


class CrmWritebackSettings(BaseModel):
    """Base of an adapter's own ``writeback:`` keys (none unless the adapter adds some)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def access_grant(self) -> str | None:
        """Where the integration user is granted access to score fields (None: no such thing)."""
        return None


SettingsT = TypeVar("SettingsT", bound=CrmSettings)


def _no_extra(_kind: str, _length: int) -> dict[str, object]:
    return {}


def _no_bulk(_settings: Any) -> int | None:
    return None


@dataclass(frozen=True)
class CrmAdapter(Generic[SettingsT]):
    """Everything the app needs to know about one CRM, and nothing it does not."""

    #: the ``crm.type`` value that selects this adapter
    name: str
    #: the ``crm:`` section's model (its ``type`` field is ``Literal[name]``)
    settings_model: type[SettingsT]
    #: the connector for validated settings; secrets are read from the mapping given, and
    #: the fields the scoring settings name are read where the CRM keeps them
    connect: Callable[[SettingsT, Mapping[str, str], ScoringFields], Connector]
    #: the default field name of a score output (``score`` → ``Partner_Score__c``)
    field_name: Callable[[str], str]
    #: records the connector's ``update_records`` takes in one call
    write_batch_size: int
    #: kind-specific extras of a new field's spec (kind, text length) → spec extras
    field_extra: Callable[[str, int], dict[str, object]] = field(default=_no_extra)
    #: past this many changed records (read from the settings) writes go in bulk jobs
    bulk_write_threshold: Callable[[SettingsT], int | None] = field(default=_no_bulk)
    #: records one bulk write job takes
    bulk_write_batch_size: int = 0
    #: the adapter's own ``writeback:`` keys (such as Salesforce's permission set)
    writeback_settings_model: type[CrmWritebackSettings] = CrmWritebackSettings
    #: loggers of the client library, kept quiet unless debug logs are asked for
    library_loggers: tuple[str, ...] = ()
    #: the ``crm:`` section that points at the bundled sandbox (url, CA file); None when
    #: the sandbox does not speak this CRM
    sandbox_section: Callable[[str, Path], dict[str, Any]] | None = None
    #: days the CRM keeps listing a deleted record to incremental reads before it purges
    #: it for good (HubSpot 90, Salesforce's Recycle Bin 15); a run further than this from
    #: the last complete read lists the live ids to find what was purged meanwhile.
    #: None: deletions stay listed (a run reconciles only when it has no cursor)
    deleted_visible_days: int | None = None

    def deletion_window(self, settings: CrmSettings) -> int | None:
        """The days deletions stay visible: ``crm.deleted_visible_days``, else the CRM's."""
        return settings.deleted_visible_days or self.deleted_visible_days

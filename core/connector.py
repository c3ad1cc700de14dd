"""The one Connector protocol every CRM adapter implements, and the types it trades in.

Reads are generators of validated pages; a page carries the records, the ids
the CRM reports deleted, and the cursor to resume from after it. Writes
(issue 5) go through ``update_records`` and come back record by record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:  # only named in signatures: the schema needs PyArrow, the protocol does not
    from core.schema import Opportunity, Partner, StageChange, StageDef

RecordT = TypeVar("RecordT")

#: The opportunities' stream: its cursor, its reconciliation and ``fetch_live_ids`` name it so.
OPPORTUNITIES = "opportunities"


@dataclass(frozen=True, order=True)
class Cursor:
    """Where an incremental read resumes: the last modification time seen, ties by id.

    Reads restart at ``modified_at`` minus an overlap with ``>=`` and the store
    upserts by id, so records that share a timestamp, or that were committed
    late, are never lost and never duplicated.

    A full read that cannot go in modification order (a HubSpot listing, in id
    order) saves ``full_read_after``: the listing's position to continue from,
    with ``modified_at`` the moment the full read began, where the incremental
    reads after it start.
    """

    modified_at: datetime
    record_id: str = ""
    full_read_after: str = ""

    @property
    def in_full_read(self) -> bool:
        """Whether a full read is under way: the next read continues its listing."""
        return bool(self.full_read_after)

    def as_json(self) -> dict[str, str]:
        data = {"modified_at": self.modified_at.isoformat(), "record_id": self.record_id}
        if self.full_read_after:
            data["full_read_after"] = self.full_read_after
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Cursor:
        return cls(
            datetime.fromisoformat(data["modified_at"]),
            data.get("record_id", ""),
            data.get("full_read_after", ""),
        )


@dataclass(frozen=True)
class Page(Generic[RecordT]):
    """One validated page of a read."""

    records: list[RecordT]
    deleted_ids: list[str] = field(default_factory=list)
    cursor: Cursor | None = None


@dataclass(frozen=True)
class ApiUsage:
    """What the CRM says is left of its quota, as last seen in a response header."""

    used: int | None = None
    limit: int | None = None
    calls_made: int = 0

    @property
    def share_used(self) -> float | None:
        if self.used is None or not self.limit:
            return None
        return self.used / self.limit


@dataclass(frozen=True)
class CheckItem:
    """One line of ``partner-kpi check``: what was checked, whether it is fine, and why.

    A ``warning`` is fine for a sync (``ok``) but leaves something out: an activity object
    the integration user cannot read, whose KPIs will be null.
    """

    name: str
    ok: bool
    detail: str
    warning: bool = False


@dataclass(frozen=True)
class WriteResult:
    """The outcome of writing one record: success, or the CRM's error code and message."""

    record_id: str
    ok: bool
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    """A custom field partner-kpi writes scores into (issue 5).

    ``config_key`` names the config entry that maps the field (for messages that say
    what to change); ``access_grant`` names where the integration user is granted
    read and edit access to it, in a CRM with field-level security (a Salesforce
    permission set; None: the connector's default).
    """

    name: str
    label: str
    kind: str  # number, text, picklist, datetime
    precision: int = 0
    scale: int = 0
    options: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    config_key: str = ""
    access_grant: str | None = None


@runtime_checkable
class Connector(Protocol):
    """What partner-kpi needs from a CRM. Nothing outside connectors/<crm>/ knows its names."""

    crm: str

    def check(self) -> list[CheckItem]:
        """Connect and report what a sync would need, writing nothing."""
        ...

    def fetch_stage_defs(self) -> list[StageDef]:
        """The pipeline's stages and what the CRM says they mean."""
        ...

    def fetch_partners(self) -> Iterator[Page[Partner]]:
        """Every partner account (selected by the configured filter)."""
        ...

    def fetch_opportunities(self, since: Cursor | None) -> Iterator[Page[Opportunity]]:
        """Opportunities modified at or after ``since`` (all when None, or the rest of the
        full read ``since`` is in), deletions included."""
        ...

    def fetch_stage_changes(self, since: Cursor | None) -> Iterator[Page[StageChange]]:
        """Stage changes recorded at or after ``since`` (all when None, or the rest of the
        full read ``since`` is in)."""
        ...

    def fetch_live_ids(self, stream: str) -> Iterator[list[str]]:
        """Pages of the ids of every record of ``stream`` (``OPPORTUNITIES`` or an activity
        stream) the CRM holds now, deleted ones left out, read as cheaply as the API allows:
        what a reconciliation compares the store with. It may hold ids the store does not
        keep (a call on no deal); only streams ``activity_access`` lets us read are asked."""
        ...

    def activity_access(self) -> dict[str, str | None]:
        """Per activity stream (``core.schema.ACTIVITY_ENTITIES``): None when the
        integration user can read it, else why not (the object is missing from the org
        or portal, or a permission or scope is lacking), in words naming the fix."""
        ...

    def fetch_activity(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        """Records of one activity stream (a lead, quote, case, call or line item of
        ``core.schema``) modified at or after ``since`` (all when None, or the rest of
        the full read ``since`` is in), deletions included."""
        ...

    def crm_time(self) -> datetime | None:
        """The CRM's clock at its last answer (its HTTP ``Date``); None before any answer."""
        ...

    def usage(self) -> ApiUsage:
        """The quota as last reported by the CRM."""
        ...

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of ``fields`` on partner records (issue 5)."""
        ...

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """Write field values to partner records in as few calls as the API allows (issue 5)."""
        ...

    def ensure_fields(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        """Report, and when ``create`` make, the custom fields scores go into (issue 5)."""
        ...

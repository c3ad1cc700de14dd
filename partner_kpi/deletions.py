"""Deletions a CRM no longer lists: when a run must look for them, and the look.

An incremental read learns of a deletion only while the CRM still lists the deleted
record: HubSpot lists an archived record (``archived=true``) for 90 days, then purges
it ("Deleted contacts can be restored within 90 days of deletion",
https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/delete-contact;
deals and companies alike); Salesforce's queryAll and getDeleted show a deleted record
while it is in the Recycle Bin, 15 days, less when an admin empties it or the bin is
full ("The Recycle Bin lets you view and restore recently deleted records for 15 days
before they're permanently deleted", https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm;
getDeleted: "no more than 15 days previous to the day the call is executed (or earlier
if an administrator has purged the Recycle Bin)",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm).

So a run whose last complete read began longer ago than that window may have missed a
deletion for good, and one with no record of a complete read cannot tell: either one
lists the ids the CRM holds now and marks every stored record not among them deleted.
A read with no cursor is a whole listing already, and reconciles at no extra call; the
rest of a full read a quota stopped lists every record it has left, and a listing then
would spend the quota the rest needs, run after run, so it does not reconcile. The rule
is the same for every stream that keeps deleted records (opportunities and each activity
stream), each with its own cursor and its own last complete read.

The gap is measured by the CRM's clock (its HTTP ``Date``), since the CRM counts the
window by its own clock from the moment of deletion: a machine whose clock is off, or a
sandbox portal whose clock a test moved on, would otherwise be judged wrongly. Only
when the CRM sent no ``Date`` does the machine's clock stand in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.connector import Connector, Cursor

#: Why a run reconciles (the words of the log and the counts).
NO_CURSOR = "no cursor: the read lists every record"
NO_COMPLETE_READ = "no complete read on record"


def machine_now() -> datetime:
    """The machine's clock, used when the CRM sent no ``Date``."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reconciliation:
    """What one stream's reconciliation did: why, the ids it marked deleted, its calls."""

    reason: str
    marked: tuple[str, ...] = ()
    calls: int = 0

    def as_json(self) -> dict[str, object]:
        return {"reason": self.reason, "marked_deleted": len(self.marked), "calls": self.calls}


def crm_now(connector: Connector, clock: Callable[[], datetime] = machine_now) -> datetime:
    """Now by the CRM's clock as its last answer gave it, else by ``clock``."""
    return connector.crm_time() or clock()


def why_reconcile(
    since: Cursor | None,
    read_through: datetime | None,
    now: datetime,
    window_days: int | None,
    *,
    resuming: datetime | None = None,
) -> str | None:
    """Why a read of a stream from ``since`` (its stored cursor) must reconcile, or None:
    no cursor lists every record (free); the rest of a full read (``resuming``: when it
    began) never does, as it lists every record it has left; an incremental read does when
    its deletions may have left the CRM's listing (``reason_to_reconcile``)."""
    if since is None:
        return NO_CURSOR
    if since.in_full_read or resuming is not None:
        return None
    return reason_to_reconcile(read_through, now, window_days)


def reason_to_reconcile(
    read_through: datetime | None, now: datetime, window_days: int | None
) -> str | None:
    """Why an incremental read from a stored cursor must be followed by a listing of live
    ids, or None when every deletion since the last complete read is still listed."""
    if read_through is None:
        return NO_COMPLETE_READ
    if window_days is None:
        return None
    gap = now - read_through
    if gap <= timedelta(days=window_days):
        return None
    return (
        f"{gap.total_seconds() / 86_400:.1f} days since the last complete read, longer than "
        f"the {window_days} days the CRM lists deleted records"
    )

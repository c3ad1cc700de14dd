"""The error hierarchy of partner-kpi, one class per meaning, each with its CLI exit code.

    PartnerKpiError                 base: never raised itself
    ├── NotReadyForSync         1  check, fields: something a sync needs is missing
    ├── ConfigError             2  bad config, option or settings: names the key and the fix
    │   └── FieldsNotReady      2  a mapped score field is missing, hidden or mis-shaped
    ├── UnknownRun              2  a rollback names a run the store does not hold
    ├── AuthError               3  the CRM refused the credentials
    ├── CrmUnavailable          4  the CRM cannot serve the run now; the next run resumes
    │   ├── RateLimitExhausted  4  the quota or its configured share is used up, or 429s
    │   ├── RetriesExhausted    4  5xx, timeouts or dropped connections on every attempt
    │   ├── CrmUnreachable      4  no connection to the CRM's URL (refused, unknown host)
    │   └── AnswerLost          4  a write's answer was lost: it may have landed (not resent)
    ├── CrmApiError             5  the CRM answered an error: its code, HTTP status, record id
    ├── SchemaError             6  records that cannot be mapped or scored
    │   ├── SeedFormatError     6  a seed folder is missing a file or a column
    │   └── DataQualityFailed   6  a data-quality rule whose policy is fail caught records
    ├── StoreError              7  the local store cannot be used: names the file and the fix
    │   ├── StoreLocked         7  another run holds the local store
    │   └── StoreVersionError   7  the store was written by a newer partner-kpi
    ├── TierGuardRefused        8  sync: too many tier changes at once (--force overrides)
    ├── RecordsRejected         9  sync: the CRM rejected some records; the next run retries
    └── DataQualityExclusions  10  completed, with records left out by data-quality rules

The number is the CLI's exit code; ``EXIT_CODES`` says what each code means, in the
words of the README's table (tests/test_exit_codes.py holds the three to one another).
Exit 1 is also what no class covers: a bug, printed with its traceback.
Messages never carry a secret: callers pass record ids and codes, not credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypedDict, Unpack

#: What each exit code of the CLI means: the README's table, row for row.
EXIT_CODES: Mapping[int, str] = MappingProxyType(
    {
        0: "success",
        1: "check, fields plan, fields create: something a sync needs is missing (each line "
        "says what); any other command: an unexpected error, printed with its traceback "
        "(a bug: please report it)",
        2: "bad config or option: the line names the key and the fix",
        3: "the CRM refused the credentials",
        4: "the CRM cannot serve the run now: quota or retries exhausted, or no connection to "
        "its URL (named); the next run resumes",
        5: "the CRM answered an error (its code and the record id are named)",
        6: "records that cannot be read or scored (a seed file or column is named), or a "
        "data-quality rule whose policy is fail caught records (the rule, the count and the "
        "first records are named; nothing was scored or written)",
        7: "the local store cannot be used: another run holds it (named), a newer "
        "partner-kpi wrote it, or history or rollback found no store file (the line names "
        "the file and the fix)",
        8: "sync: the tier guard refused (too many tier changes at once; --force overrides)",
        9: "sync, rollback: the CRM rejected some records (listed with their error codes); "
        "the others are written, the run is stored as partial, and the next run retries them",
        10: "audit, sync: completed (every file written, a sync's writes made) with records "
        'left out by data-quality rules (see "Data quality"; 9 wins when both apply)',
    }
)


class PartnerKpiError(Exception):
    """Base of every error partner-kpi raises on purpose."""

    exit_code = 1
    #: the run completed and only its exit code tells a scheduler what it found: the CLI
    #: says so as a warning, not an error
    completed = False


class NotReadyForSync(PartnerKpiError):
    """``check`` or ``fields`` found something a sync needs missing (each line said what)."""

    exit_code = 1


class ConfigError(PartnerKpiError):
    """A config or settings value is wrong; the message names the key and the fix."""

    exit_code = 2

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class FieldsNotReady(ConfigError):
    """A mapped field is missing in the CRM, hidden from or read-only for the integration
    user, or of another type or shape: nothing is written. Each problem names its fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "writeback.fields",
            "; ".join(problems) + ". Nothing was written; partner-kpi fields create makes "
            "missing fields and grants access to them, and never changes an existing field",
        )


class UnknownRun(PartnerKpiError):
    """A rollback names a run the store does not hold (or one that wrote nothing)."""

    exit_code = 2


class AuthError(PartnerKpiError):
    """The CRM refused the credentials or the session."""

    exit_code = 3


class CrmEvidence(TypedDict, total=False):
    """What a CrmUnavailable knows of the call that ended it (its message names them)."""

    crm: str
    error_code: str
    http_status: int | None
    request_id: str | None
    record_id: str | None
    attempts: int
    seconds: float


class CrmUnavailable(PartnerKpiError):
    """The CRM cannot serve the run now; the next run resumes where this one stopped.

    Carries the evidence its message names: the CRM, the last error code, HTTP status and
    request id, the record, and how many attempts were made over how many seconds.
    """

    exit_code = 4

    def __init__(self, message: str, **evidence: Unpack[CrmEvidence]) -> None:
        self.crm = evidence.get("crm")
        self.error_code = evidence.get("error_code")
        self.http_status = evidence.get("http_status")
        self.request_id = evidence.get("request_id")
        self.record_id = evidence.get("record_id")
        self.attempts = evidence.get("attempts")
        self.seconds = evidence.get("seconds")
        super().__init__(message)


class RateLimitExhausted(CrmUnavailable):
    """The daily quota, or the share of it a run may use, is spent, or the CRM kept
    answering "slow down" until the attempts ran out."""


class RetriesExhausted(CrmUnavailable):
    """Every attempt of a call ended in a 5xx, a timeout or a dropped connection."""


class CrmUnreachable(CrmUnavailable):
    """No connection could be made to the CRM's URL (refused, unknown host, no route)."""

    def __init__(self, message: str, *, url: str, **evidence: Unpack[CrmEvidence]) -> None:
        self.url = url
        super().__init__(message, **evidence)


class AnswerLost(CrmUnavailable):
    """A write was sent and its answer lost (connection dropped, read timed out): it may
    have landed, so it is not sent again blindly; the caller reads the records back."""


class CrmApiError(PartnerKpiError):
    """The CRM answered with an error: its error code, HTTP status, request id and the record."""

    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        crm: str,
        error_code: str,
        record_id: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.crm = crm
        self.error_code = error_code
        self.record_id = record_id
        self.http_status = http_status
        self.request_id = request_id
        where = f" (record {record_id})" if record_id else ""
        details = [f"HTTP {http_status}"] if http_status else []
        if request_id:
            details.append(f"request id {request_id}")
        evidence = f" ({', '.join(details)})" if details else ""
        super().__init__(f"{crm} {error_code}{where}: {message}{evidence}")


class SchemaError(PartnerKpiError):
    """A record cannot be mapped into the common schema or cannot be scored."""

    exit_code = 6

    def __init__(self, message: str, *, record_id: str | None = None) -> None:
        self.record_id = record_id
        super().__init__(message)


class SeedFormatError(SchemaError):
    """A seed folder lacks a file or a column, or holds a value that cannot be read."""


class DataQualityFailed(SchemaError):
    """A data-quality rule whose policy is ``fail`` caught records: nothing was scored."""

    def __init__(self, message: str, *, rule: str, record_id: str | None = None) -> None:
        self.rule = rule
        super().__init__(message, record_id=record_id)


class StoreError(PartnerKpiError):
    """The store file cannot be used as it is: the message names the file and the fix."""

    exit_code = 7


class StoreLocked(StoreError):
    """Another run holds the local store's lock."""


class StoreVersionError(StoreError):
    """The store was written by a newer partner-kpi than the one running."""


class TierGuardRefused(PartnerKpiError):
    """The run would change more partners' tiers than ``writeback.max_tier_change_share``."""

    exit_code = 8


class RecordsRejected(PartnerKpiError):
    """The CRM rejected some records; the others were written and journaled."""

    exit_code = 9


class DataQualityExclusions(PartnerKpiError):
    """The run completed (files written, a sync's writes made) with records left out by
    data-quality rules; raised last, so that the exit code tells a scheduler."""

    exit_code = 10
    completed = True


#: Errors that end ``check`` or ``fields`` instead of becoming one of their lines: the
#: CRM refused the credentials or cannot serve the run, so no line after would be true.
ENDS_A_CHECK: tuple[type[PartnerKpiError], ...] = (AuthError, CrmUnavailable)

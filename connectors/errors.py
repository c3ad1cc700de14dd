"""The error hierarchy of partner-kpi, one class per meaning, each with its CLI exit code.

    PartnerKpiError                 base: never raised itself
    ├── ConfigError                 bad config or settings: names the key and the fix   (exit 2)
    ├── AuthError                   the CRM refused the credentials                     (exit 3)
    ├── RateLimitExhausted          quota or retries ran out; the next run resumes      (exit 4)
    ├── CrmApiError                 the CRM answered an error: its code and the record   (exit 5)
    ├── SchemaError                 records that cannot be mapped or scored              (exit 6)
    │   └── SeedFormatError         a seed folder is missing a file or a column
    └── StoreLocked                 another run holds the local store                   (exit 7)

Messages never carry a secret: callers pass record ids and codes, not credentials.
"""

from __future__ import annotations


class PartnerKpiError(Exception):
    """Base of every error partner-kpi raises on purpose."""

    exit_code = 1


class ConfigError(PartnerKpiError):
    """A config or settings value is wrong; the message names the key and the fix."""

    exit_code = 2

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


class AuthError(PartnerKpiError):
    """The CRM refused the credentials or the session."""

    exit_code = 3


class RateLimitExhausted(PartnerKpiError):
    """The configured share of the API quota, or the retries, ran out."""

    exit_code = 4


class CrmApiError(PartnerKpiError):
    """The CRM answered with an error; carries its error code and the record id."""

    exit_code = 5

    def __init__(
        self, message: str, *, crm: str, error_code: str, record_id: str | None = None
    ) -> None:
        self.crm = crm
        self.error_code = error_code
        self.record_id = record_id
        where = f" (record {record_id})" if record_id else ""
        super().__init__(f"{crm} {error_code}{where}: {message}")


class SchemaError(PartnerKpiError):
    """A record cannot be mapped into the common schema or cannot be scored."""

    exit_code = 6

    def __init__(self, message: str, *, record_id: str | None = None) -> None:
        self.record_id = record_id
        super().__init__(message)


class SeedFormatError(SchemaError):
    """A seed folder lacks a file or a column, or holds a value that cannot be read."""


class StoreLocked(PartnerKpiError):
    """Another run holds the local store's lock."""

    exit_code = 7

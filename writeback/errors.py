"""The writeback's errors: each a PartnerKpiError with its own exit code and one clear line."""

from __future__ import annotations

from connectors.errors import ConfigError, PartnerKpiError


class TierGuardRefused(PartnerKpiError):
    """The run would change more partners' tiers than ``writeback.max_tier_change_share``."""

    exit_code = 8


class RecordsRejected(PartnerKpiError):
    """The CRM rejected some records; the others were written and journaled."""

    exit_code = 9


class UnknownRun(PartnerKpiError):
    """A rollback names a run the store does not hold (or one that wrote nothing)."""

    exit_code = 2


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

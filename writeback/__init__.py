"""Writeback of scores into CRM fields (issue 5): field spec, plan, apply, journal, rollback.

CRM-agnostic: everything goes through the connector's ``read_fields``,
``update_records`` and ``ensure_fields``; the CRM's default field names and
batch size come in a ``CrmFieldDefaults`` from the app.

    settings   the ``writeback:`` config section (WritebackSettings)
    values     each output's value for a partner; canonical values, compared at scale
    spec       the field map (outputs → FieldSpecs) and provisioning (fields plan/create)
    plan       read the mapped fields, diff, the plan (and its table, JSON and CSV)
    guard      the tier-change guard
    apply      batched writes through update_records, per-record outcomes
    journal    the journal in the local store; settling a stopped run's pending writes
    rollback   the plan that restores a run's old values
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:
    from writeback.apply import ApplyReport, Rejection, apply_plan
    from writeback.guard import GuardVerdict, check_tier_changes
    from writeback.journal import Settled, StoreJournal, settle_pending
    from writeback.plan import (
        FieldChange,
        RecordPlan,
        Target,
        WritePlan,
        build_plan,
        plan_scores,
        write_plan_file,
    )
    from writeback.rollback import RollbackPlan, plan_rollback
    from writeback.settings import DEFAULT_OUTPUTS, FieldMapping, WritebackSettings
    from writeback.spec import (
        CrmFieldDefaults,
        FieldMap,
        MappedField,
        Provisioning,
        field_map,
        provision,
        require_fields,
    )
    from writeback.values import OUTPUTS, ScoreContext, canonical

__all__ = [
    "DEFAULT_OUTPUTS",
    "OUTPUTS",
    "ApplyReport",
    "CrmFieldDefaults",
    "FieldChange",
    "FieldMap",
    "FieldMapping",
    "GuardVerdict",
    "MappedField",
    "Provisioning",
    "RecordPlan",
    "Rejection",
    "RollbackPlan",
    "ScoreContext",
    "Settled",
    "StoreJournal",
    "Target",
    "WritePlan",
    "WritebackSettings",
    "apply_plan",
    "build_plan",
    "canonical",
    "check_tier_changes",
    "field_map",
    "plan_rollback",
    "plan_scores",
    "provision",
    "require_fields",
    "settle_pending",
    "write_plan_file",
]

if not TYPE_CHECKING:
    # the settings are light (pydantic); plans, journal and rollback need the engine and store
    __getattr__ = lazy_exports(
        __name__,
        __all__,
        (
            "writeback.settings",
            "writeback.values",
            "writeback.spec",
            "writeback.guard",
            "writeback.plan",
            "writeback.apply",
            "writeback.journal",
            "writeback.rollback",
        ),
    )

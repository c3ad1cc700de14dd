"""The score fields of a config: the CRM's defaults under its writeback: section, and
``fields plan`` / ``fields create``."""

from __future__ import annotations

from collections.abc import Mapping

from partner_kpi.config import AppConfig
from writeback import CrmFieldDefaults, FieldMap, Provisioning, field_map, provision


def field_defaults(config: AppConfig) -> CrmFieldDefaults:
    """What the configured CRM's adapter says about score fields and write batches."""
    adapter = config.adapter
    return CrmFieldDefaults(
        crm=adapter.name,
        name_for=adapter.field_name,
        batch_size=adapter.write_batch_size,
        extra=adapter.field_extra,
        bulk_threshold=adapter.bulk_write_threshold(config.crm),
        bulk_batch_size=adapter.bulk_write_batch_size,
        access_grant=config.crm_writeback.access_grant(),
    )


def configured_fields(config: AppConfig) -> FieldMap:
    """The field map of a config: its writeback: section over the CRM's defaults."""
    return field_map(config.writeback, field_defaults(config))


def fields_plan(
    config: AppConfig, *, create: bool, environ: Mapping[str, str] | None = None
) -> tuple[FieldMap, Provisioning]:
    """What the field map needs in the CRM, and with ``create`` the missing fields made."""
    fields = configured_fields(config)
    return fields, provision(config.connector(environ), fields, create=create)

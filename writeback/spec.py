"""The field map: each written score output and the CRM field (a ``FieldSpec``) it goes into.

Writeback knows no CRM's names. The app passes a ``CrmFieldDefaults`` for the
configured CRM: how a default field name is spelled there (``Partner_Score__c``
on a Salesforce Account, ``partner_score`` on a HubSpot company) and how many
records its write primitive takes in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core.connector import CheckItem, Connector, FieldSpec
from core.errors import ConfigError, FieldsNotReady
from kpi_engine import TIERS
from writeback.settings import FieldMapping, WritebackSettings
from writeback.values import KINDS, OUTPUTS, Kind


@dataclass(frozen=True)
class CrmFieldDefaults:
    """What the configured CRM contributes to the field map: default names and batch size."""

    crm: str
    name_for: Callable[[str], str]
    #: records the connector's write primitive takes in one call
    batch_size: int
    #: kind-specific extras merged into a new field's spec (e.g. a text field's length)
    extra: Callable[[str, int], dict[str, object]] = field(default=lambda _kind, _length: {})
    #: above this many records the connector writes through bulk jobs of ``bulk_batch_size``
    bulk_threshold: int | None = None
    bulk_batch_size: int = 0
    #: where the integration user is granted access to the fields (a Salesforce permission
    #: set); None in a CRM without field-level security
    access_grant: str | None = None

    def batch_size_for(self, records: int) -> int:
        """Records per write call (one journal batch) for a plan of ``records``."""
        if self.bulk_threshold is not None and records > self.bulk_threshold:
            return self.bulk_batch_size
        return self.batch_size


@dataclass(frozen=True)
class MappedField:
    """One output and the CRM field it is written to."""

    output: str
    spec: FieldSpec
    stamp: bool = False
    length: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> Kind:
        kind = self.spec.kind
        for known in KINDS:
            if kind == known:
                return known
        raise ValueError(f"{self.spec.name}: unknown field kind {kind!r}")

    @property
    def scale(self) -> int:
        return self.spec.scale


@dataclass(frozen=True)
class FieldMap:
    """The outputs written, in order, each with its field."""

    fields: tuple[MappedField, ...]

    def __iter__(self) -> Iterator[MappedField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def by_output(self, output: str) -> MappedField | None:
        return next((f for f in self.fields if f.output == output), None)

    def specs(self) -> list[FieldSpec]:
        return [f.spec for f in self.fields]


def mapped_field(
    output: str,
    mapping: FieldMapping,
    defaults: CrmFieldDefaults,
) -> MappedField:
    """The field of one output: the config's choices over the CRM's and the output's defaults."""
    definition = OUTPUTS[output]
    kind = mapping.kind or definition.kind
    number = kind == "number"
    scale = mapping.scale if mapping.scale is not None else definition.scale
    precision = mapping.precision if mapping.precision is not None else definition.precision
    if number and scale > precision:
        raise ConfigError(
            f"writeback.fields.{output}.precision",
            f"a scale of {scale} needs a precision of at least {scale}; raise the precision",
        )
    length = mapping.length or definition.length
    spec = FieldSpec(
        name=mapping.name or defaults.name_for(output),
        label=mapping.label or definition.label or output,
        kind=kind,
        precision=precision if number else 0,
        scale=scale if number or kind == "text" else 0,
        options=TIERS if kind == "picklist" else (),
        extra=defaults.extra(kind, length),
        config_key=f"writeback.fields.{output}",
        access_grant=defaults.access_grant,
    )
    return MappedField(
        output=output,
        spec=spec,
        stamp=definition.stamp,
        length=length if kind == "text" else None,
    )


def field_map(settings: WritebackSettings, defaults: CrmFieldDefaults) -> FieldMap:
    """The configured field map; two outputs in one field is a ConfigError."""
    fields: list[MappedField] = []
    taken: dict[str, str] = {}
    for output in settings.outputs():
        mapping = settings.fields.get(output) or FieldMapping()
        mapped = mapped_field(output, mapping, defaults)
        other = taken.get(mapped.name.lower())
        if other is not None:
            raise ConfigError(
                f"writeback.fields.{output}",
                f"{mapped.name} already holds {other}; give each output its own field",
            )
        taken[mapped.name.lower()] = output
        fields.append(mapped)
    if not any(not f.stamp for f in fields):
        raise ConfigError(
            "writeback.fields", "nothing to write: map at least one output besides scored_at"
        )
    return FieldMap(tuple(fields))


@dataclass(frozen=True)
class Provisioning:
    """What ``fields plan`` / ``fields create`` found: one CheckItem per field."""

    items: tuple[CheckItem, ...]

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def missing(self) -> tuple[CheckItem, ...]:
        return tuple(item for item in self.items if not item.ok)


def require_fields(connector: Connector, fields: FieldMap) -> None:
    """FieldsNotReady unless every mapped field exists in the CRM with a compatible type
    and shape (scale, length, picklist values) and the integration user may edit it."""
    found = provision(connector, fields, create=False)
    if not found.ok:
        raise FieldsNotReady([f"{item.name}: {item.detail}" for item in found.missing])


def provision(connector: Connector, fields: FieldMap, *, create: bool) -> Provisioning:
    """Report the fields the map needs, and with ``create`` make the missing ones.

    Idempotent: a field that exists with a compatible type and shape is left alone; one
    that exists with another is reported, never changed. Where the CRM has field-level
    security, ``create`` also grants the integration user access to the fields.
    """
    return Provisioning(tuple(connector.ensure_fields(fields.specs(), create)))

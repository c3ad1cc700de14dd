"""The ``writeback:`` config section: which score outputs go into which CRM fields.

::

    writeback:
      fields:                      # output → field; merged over the CRM's defaults
        score: {scale: 1}          # keep the default name, set the scale
        close_rate: {}             # add a KPI column under its default name
        won_amount: Partner_Won__c # just a field name
        drivers: null              # do not write the drivers
      max_tier_change_share: 0.2   # refuse a run that changes more tiers (unless --force)

A CRM may add keys of its own to this section (Salesforce's ``permission_set``);
its adapter declares and validates them.

The defaults write ``score``, ``tier``, ``drivers`` and ``scored_at``; the CRM
decides the default field names (a per-CRM table the app passes in), this
section only says what to change. Kinds, precisions and scales default to each
output's own (``writeback.values.OUTPUTS``).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config_values import Number, WholeNumber
from writeback.values import KINDS, OUTPUTS, Kind

#: What a sync writes when the config names no fields.
DEFAULT_OUTPUTS: tuple[str, ...] = ("score", "tier", "drivers", "scored_at")


class FieldMapping(BaseModel):
    """How one output is written: the field's name, label, kind and number format.

    Every key is optional; what is left out comes from the CRM's default name and
    the output's default kind, precision, scale and length.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, min_length=1, description="the CRM field's API name")
    label: str | None = Field(default=None, min_length=1)
    kind: Kind | None = Field(default=None, description=f"one of {', '.join(KINDS)}")
    precision: WholeNumber | None = Field(default=None, ge=1, le=18, description="digits in all")
    scale: WholeNumber | None = Field(
        default=None, ge=0, le=17, description="digits after the point"
    )
    length: WholeNumber | None = Field(
        default=None, ge=1, le=255, description="text: longest value"
    )

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        # `score: Partner_Score__c` is short for `score: {name: Partner_Score__c}`
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _scale_fits(self) -> Self:
        if self.precision is not None and self.scale is not None and self.scale > self.precision:
            raise ValueError(
                f"scale {self.scale} is more than precision {self.precision}; the scale "
                "counts the digits after the point, the precision all digits"
            )
        return self


class WritebackSettings(BaseModel):
    """Where scores go in the CRM and how much one run may change at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, FieldMapping | None] = Field(
        default_factory=dict,
        description="score output → CRM field, over the defaults; null leaves an output out",
    )
    max_tier_change_share: Number = Field(
        default=0.2,
        gt=0.0,
        le=1.0,
        description="refuse a run that changes the tier of more than this share of partners",
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _known_outputs(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for output, mapping in value.items():
            if output not in OUTPUTS:
                raise ValueError(
                    f"unknown score output {output!r}; use one of {', '.join(OUTPUTS)}"
                )
            if mapping is False:
                value = {**value, output: None}
        return value

    @field_validator("fields")
    @classmethod
    def _kinds_fit(cls, value: dict[str, FieldMapping | None]) -> dict[str, FieldMapping | None]:
        for output, mapping in value.items():
            if mapping is None or mapping.kind is None:
                continue
            allowed = OUTPUTS[output].kinds
            if mapping.kind not in allowed:
                raise ValueError(
                    f"{output} cannot go into a {mapping.kind} field; use {' or '.join(allowed)}"
                )
        return value

    def outputs(self) -> list[str]:
        """The outputs written: the defaults unless left out, then the added ones in order."""
        chosen = [o for o in DEFAULT_OUTPUTS if self.fields.get(o, FieldMapping()) is not None]
        chosen += [o for o, m in self.fields.items() if m is not None and o not in chosen]
        return chosen

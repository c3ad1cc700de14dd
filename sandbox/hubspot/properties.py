"""Property definitions and property groups: what the v3 properties API reads and creates.

Every property is a column of its object's table, so a property created over
the API (an ALTER TABLE, done by the portal) is at once readable, writable and
searchable. The JSON shapes follow the client's ``Property``, ``Option`` and
``PropertyGroup`` models; their required fields are always present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.hubspot.errors import HubSpotApiError, validation_error
from sandbox.hubspot.values import SQL_TYPES, iso_ms

#: fieldType values each property type accepts (PropertyCreate's enums, paired up).
FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "phonenumber", "html", "file"}),
    "number": frozenset({"number", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox"}),
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
BOOL_OPTIONS = (("True", "true"), ("False", "false"))


@dataclass(frozen=True)
class Option:
    """One allowed value of an enumeration."""

    label: str
    value: str
    display_order: int = 0
    hidden: bool = False
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
            "description": self.description,
        }


@dataclass(frozen=True)
class HsProperty:
    """One property of an object type; its column in the object's table has its name."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    created_at: int
    description: str = ""
    options: tuple[Option, ...] = ()
    display_order: int = -1
    hubspot_defined: bool = True
    read_only: bool = False
    calculated: bool = False
    has_unique_value: bool = False
    hidden: bool = False
    form_field: bool = False
    show_currency_symbol: bool = False
    updated_at: int | None = None

    @property
    def sql_type(self) -> str:
        return "INTEGER" if self.name == "hs_object_id" else SQL_TYPES[self.type]

    @property
    def allowed_values(self) -> frozenset[str] | None:
        """The values an enumeration accepts (None: unrestricted)."""
        if self.type != "enumeration":
            return None
        return frozenset(option.value for option in self.options)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [option.as_json() for option in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "formField": self.form_field,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at or self.created_at),
            "archived": False,
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        if self.show_currency_symbol:
            body["showCurrencySymbol"] = True
        return body


@dataclass(frozen=True)
class PropertyGroup:
    """A property group: how properties are grouped on a record's page."""

    name: str
    label: str
    display_order: int = -1

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": False,
        }


def options_of(
    values: Iterable[str], labels: Mapping[str, str] | None = None
) -> tuple[Option, ...]:
    """Enumeration options for values, in order, labelled by ``labels`` or by the value."""
    labels = labels or {}
    return tuple(
        Option(label=labels.get(value, value), value=value, display_order=order)
        for order, value in enumerate(dict.fromkeys(values))
    )


def bool_options() -> tuple[Option, ...]:
    return tuple(
        Option(label=label, value=value, display_order=order)
        for order, (label, value) in enumerate(BOOL_OPTIONS)
    )


@dataclass
class PropertyRegistry:
    """Properties and groups per object type name; the portal's lock guards it."""

    properties: dict[str, dict[str, HsProperty]] = field(default_factory=dict)
    groups: dict[str, dict[str, PropertyGroup]] = field(default_factory=dict)

    def add(self, object_type: str, prop: HsProperty) -> None:
        self.properties.setdefault(object_type, {})[prop.name] = prop

    def add_group(self, object_type: str, group: PropertyGroup) -> None:
        self.groups.setdefault(object_type, {})[group.name] = group

    def get(self, object_type: str, name: str) -> HsProperty | None:
        return self.properties.get(object_type, {}).get(name)

    def all(self, object_type: str) -> list[HsProperty]:
        return list(self.properties.get(object_type, {}).values())

    def group(self, object_type: str, name: str) -> PropertyGroup | None:
        return self.groups.get(object_type, {}).get(name)

    def all_groups(self, object_type: str) -> list[PropertyGroup]:
        return list(self.groups.get(object_type, {}).values())


def _text(body: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise validation_error(f"Some required fields were not set: [{key}]")
        return None
    if not isinstance(value, str):
        raise validation_error(f"{key} must be a string")
    return value


def _options(body: Mapping[str, Any], prop_type: str, field_type: str) -> tuple[Option, ...]:
    raw = body.get("options")
    boolean = prop_type == "bool" or (prop_type, field_type) == ("enumeration", "booleancheckbox")
    if boolean and not raw:
        return bool_options()
    if prop_type != "enumeration" and prop_type != "bool":
        if raw:
            raise validation_error(
                f"options are only allowed for enumeration properties, not {prop_type}"
            )
        return ()
    if not isinstance(raw, list) or not raw:
        raise validation_error("an enumeration property needs a non-empty list of options")
    options: list[Option] = []
    seen: set[str] = set()
    for order, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("label") or item.get("value") in (None, ""):
            raise validation_error("each option needs a label and a value")
        value = str(item["value"])
        if value in seen:
            raise validation_error(f"duplicate option value {value!r}")
        seen.add(value)
        options.append(
            Option(
                label=str(item["label"]),
                value=value,
                display_order=int(item.get("displayOrder", order)),
                hidden=bool(item.get("hidden", False)),
                description=str(item.get("description") or ""),
            )
        )
    return tuple(options)


def property_from_create(
    registry: PropertyRegistry, object_type: str, body: Any, now: int
) -> HsProperty:
    """A new custom property from a create request, validated as HubSpot does."""
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: a property definition object is required")
    name = _text(body, "name", required=True)
    label = _text(body, "label", required=True)
    prop_type = _text(body, "type", required=True)
    field_type = _text(body, "fieldType", required=True)
    group_name = _text(body, "groupName", required=True)
    assert name and label and prop_type and field_type and group_name
    if not _NAME.match(name):
        raise validation_error(
            f"Property name {name!r} is invalid: use lowercase letters, digits and underscores, "
            "starting with a letter"
        )
    if name.startswith("hs_"):
        raise validation_error(f"Property name {name!r} is invalid: the hs_ prefix is reserved")
    if registry.get(object_type, name) is not None:
        raise HubSpotApiError(
            409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists."
        )
    if prop_type not in FIELD_TYPES:
        raise validation_error(
            f"Property type {prop_type!r} is invalid; one of {', '.join(sorted(FIELD_TYPES))}"
        )
    if field_type not in FIELD_TYPES[prop_type]:
        raise validation_error(
            f"fieldType {field_type!r} is not valid for type {prop_type!r}; "
            f"use one of {', '.join(sorted(FIELD_TYPES[prop_type]))}"
        )
    if registry.group(object_type, group_name) is None:
        raise validation_error(f"Property group {group_name!r} does not exist")
    return HsProperty(
        name=name,
        label=label,
        type=prop_type,
        field_type=field_type,
        group_name=group_name,
        created_at=now,
        description=_text(body, "description", required=False) or "",
        options=_options(body, prop_type, field_type),
        display_order=int(body.get("displayOrder", -1)),
        hubspot_defined=False,
        has_unique_value=bool(body.get("hasUniqueValue", False)),
        hidden=bool(body.get("hidden", False)),
        form_field=bool(body.get("formField", False)),
    )


def property_from_update(
    registry: PropertyRegistry, object_type: str, current: HsProperty, body: Any, now: int
) -> HsProperty:
    """A property after a PATCH: label, description, group, options, order, visibility."""
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: a property update object is required")
    if current.hubspot_defined:
        raise validation_error(f"{current.name} is a HubSpot-defined property; it is read only")
    changes: dict[str, Any] = {"updated_at": now}
    for key, attribute in (("label", "label"), ("description", "description")):
        if key in body:
            changes[attribute] = str(body[key] or "")
    if "groupName" in body:
        group_name = str(body["groupName"])
        if registry.group(object_type, group_name) is None:
            raise validation_error(f"Property group {group_name!r} does not exist")
        changes["group_name"] = group_name
    for key, attribute in (("hidden", "hidden"), ("formField", "form_field")):
        if key in body:
            changes[attribute] = bool(body[key])
    if "displayOrder" in body:
        changes["display_order"] = int(body["displayOrder"])
    if body.get("type", current.type) != current.type:
        raise validation_error("changing a property's type is not supported by the sandbox")
    if "options" in body:
        changes["options"] = _options(body, current.type, current.field_type)
    return replace(current, **changes)


def group_from_create(registry: PropertyRegistry, object_type: str, body: Any) -> PropertyGroup:
    """A new property group from a create request."""
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: a property group object is required")
    name = _text(body, "name", required=True)
    label = _text(body, "label", required=True)
    assert name and label
    if not _NAME.match(name):
        raise validation_error(
            f"Group name {name!r} is invalid: use lowercase letters, digits and underscores"
        )
    if registry.group(object_type, name) is not None:
        raise HubSpotApiError(
            409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
        )
    return PropertyGroup(name=name, label=label, display_order=int(body.get("displayOrder", -1)))

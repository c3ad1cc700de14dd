"""Score properties on partner companies: checked, and made on request, before any write.

A score is written into a company property, so the property must exist and be
able to hold what is written: HubSpot never changes a property's type, and it
refuses an enumeration value the property does not offer (INVALID_OPTION). A
property that cannot is reported with its fix; the missing ones are made in
one group (``crm.score_property_group``).

The token's scopes are checked here too (by ``check()`` as well): writing needs
scopes reading does not, and a missing one is better named before a sync reads
anything than met as a 403 at its first write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import PropertyInfo
from connectors.hubspot.queries import COMPANIES, WRITE_SCOPES
from connectors.hubspot.settings import PROPERTY_NAME, HubSpotSettings
from core.connector import CheckItem, FieldSpec
from core.errors import ENDS_A_CHECK, PartnerKpiError

#: HubSpot's error category for a create of a name that is taken (HTTP 409).
ALREADY_EXISTS = "OBJECT_ALREADY_EXISTS"
#: FieldSpec kinds → (HubSpot type, fieldType) of a new property, and the types accepted.
PROPERTY_KINDS: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "text": ("string", "text"),
    "picklist": ("enumeration", "select"),
    "datetime": ("datetime", "date"),
}
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    "number": frozenset({"number"}),
    "text": frozenset({"string"}),
    "picklist": frozenset({"enumeration"}),
    "datetime": frozenset({"datetime", "date"}),
}


class CompanyProperties:
    """The companies' property definitions, read once and shared by check, reads of
    written fields and provisioning; re-read where they may have changed."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._by_name: dict[str, PropertyInfo] | None = None

    def get(self, refresh: bool = False) -> dict[str, PropertyInfo]:
        if self._by_name is None or refresh:
            self._by_name = {p.name: p for p in self.client.properties(COMPANIES)}
        return self._by_name


class ScoreProperties:
    """Checks, and makes, the company properties scores are written to."""

    def __init__(
        self, client: HubSpotClient, settings: HubSpotSettings, properties: CompanyProperties
    ) -> None:
        self.client = client
        self.settings = settings
        self.properties = properties

    def ensure(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        """Report each score property on companies, and with ``create`` make the missing ones
        (in the group ``crm.score_property_group``, made first if it is missing)."""
        existing = self.properties.get(refresh=True)
        items: list[CheckItem] = []
        group_ready = False
        for spec in specs:
            name = f"property companies.{spec.name}"
            found = existing.get(spec.name)
            if found is not None:
                items.append(CheckItem(name, *_compatible(found, spec)))
                continue
            if not PROPERTY_NAME.match(spec.name) or spec.name.startswith("hs_"):
                items.append(
                    CheckItem(
                        name,
                        False,
                        "a property name is lowercase letters, digits and underscores, not "
                        "starting with hs_ (e.g. partner_score)",
                    )
                )
                continue
            if spec.kind not in PROPERTY_KINDS:
                items.append(CheckItem(name, False, f"unknown field kind {spec.kind!r}"))
                continue
            if not create:
                items.append(CheckItem(name, False, "missing; partner-kpi fields create adds it"))
                continue
            try:
                if not group_ready:
                    self._ensure_group()
                    group_ready = True
                created = self.client.create_property(COMPANIES, self._property_body(spec))
            except ENDS_A_CHECK:
                raise
            except PartnerKpiError as exc:
                landed = self._landed(exc, spec.name)
                if landed is None:
                    items.append(CheckItem(name, False, f"not created: {exc}"))
                else:  # judged as any property found: by its shape
                    existing[landed.name] = landed
                    items.append(CheckItem(name, *_compatible(landed, spec)))
                continue
            existing[created.name] = created
            items.append(
                CheckItem(name, True, f"created ({created.type}) in group {created.group_name}")
            )
        if specs:
            # writing values needs the objects scope; making properties the schemas one too
            items.append(check_scopes(self.client, WRITE_SCOPES if create else WRITE_SCOPES[:1]))
        return items

    def _landed(self, exc: PartnerKpiError, name: str) -> PropertyInfo | None:
        """The property a refused create made after all: a create whose answer was lost is
        sent again and refused as existing; read back, it is the one just made."""
        if getattr(exc, "error_code", None) != ALREADY_EXISTS:
            return None
        return self.properties.get(refresh=True).get(name)

    def _ensure_group(self) -> None:
        group = self.settings.score_property_group
        if group not in self.client.property_groups(COMPANIES):
            try:
                self.client.create_property_group(
                    COMPANIES, group, self.settings.score_property_group_label
                )
            except PartnerKpiError as exc:  # made by a try whose answer was lost
                if getattr(exc, "error_code", None) != ALREADY_EXISTS:
                    raise

    def _property_body(self, spec: FieldSpec) -> dict[str, Any]:
        prop_type, field_type = PROPERTY_KINDS[spec.kind]
        body: dict[str, Any] = {
            "name": spec.name,
            "label": spec.label,
            "type": prop_type,
            "fieldType": field_type,
            "groupName": self.settings.score_property_group,
            "description": "Written by partner-kpi.",
        }
        if spec.kind == "picklist":
            body["options"] = [
                {"label": option, "value": option, "displayOrder": order}
                for order, option in enumerate(spec.options)
            ]
        body |= dict(spec.extra)
        return body


def check_scopes(client: HubSpotClient, needed: Sequence[str]) -> CheckItem:
    """Whether the token holds ``needed``: caught before a sync reads anything, rather
    than as a 403 at its first write."""
    granted = client.token_scopes()
    if granted is None:
        return CheckItem("token scopes", True, "HubSpot did not say; not checked")
    missing = [scope for scope in needed if scope not in granted]
    if not missing:
        return CheckItem("token scopes", True, f"granted {', '.join(needed)}")
    return CheckItem(
        "token scopes",
        False,
        f"the private app lacks {', '.join(missing)}: add the scope(s) under Settings → "
        "Integrations → Private apps → Scopes (the token keeps its value)",
    )


def _compatible(found: PropertyInfo, spec: FieldSpec) -> tuple[bool, str]:
    """Whether an existing property can hold what ``spec`` writes, and why not (with the fix).

    An enumeration must offer every value written (HubSpot refuses any other with
    INVALID_OPTION); HubSpot numbers and strings have no scale or length to check.
    """
    detail = f"exists ({found.type})"
    output = spec.config_key.rpartition(".")[2] or "the output"
    if found.type not in COMPATIBLE_TYPES.get(spec.kind, frozenset()):
        return False, (
            f"{detail}, but a {spec.kind} property is needed: map {output} to another "
            "property (a property's type is never changed)"
        )
    if found.read_only_value or found.hubspot_defined:
        return False, f"{detail}, but its value is read-only (a HubSpot-defined property)"
    missing = [o for o in spec.options if o not in found.options]
    if missing:
        return False, (
            f"{detail}, but has no option {', '.join(missing)}: add "
            f"{'it' if len(missing) == 1 else 'them'} to the property's options, or map "
            f"{output} to a text property"
        )
    return True, detail

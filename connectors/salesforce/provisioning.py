"""Score fields on Account, made and opened to the integration user (``fields plan/create``).

A field made through the Tooling API is visible to no one until field-level security
grants it, and describe leaves out a field the user cannot see, so missing and hidden
look alike there: the Tooling API tells them apart. Access is then granted through
one permission set (``field_access``). An existing field is never changed: one that
cannot hold its output is reported with the fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote_plus

from connectors.salesforce.field_access import PermissionSetGrant
from connectors.salesforce.queries import ACCOUNT, soql_string
from connectors.salesforce.wire import SalesforceClient
from core.connector import CheckItem, FieldSpec
from core.errors import CrmApiError

logger = logging.getLogger(__name__)

CUSTOM_FIELD_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
#: Describe types a FieldSpec kind accepts in an existing field.
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    "number": frozenset({"double", "percent", "currency", "int"}),
    "text": frozenset({"string", "textarea"}),
    "picklist": frozenset({"picklist"}),
    "datetime": frozenset({"datetime"}),
}

#: The permission set ``fields create`` grants score-field access through, unless configured.
DEFAULT_PERMISSION_SET = "Partner_KPI_Writeback"


class FieldProvisioner:
    """The score fields on Account and the integration user's access to them.

    ``account_fields`` is Account's describe by lower-cased field name and
    ``forget_account_describe`` drops it once fields were made: both the connector's
    describe cache, so a field made here shows in its next describe.
    """

    def __init__(
        self,
        client: SalesforceClient,
        account_fields: Callable[[], Mapping[str, Mapping[str, Any]]],
        forget_account_describe: Callable[[], object],
    ) -> None:
        self.client = client
        self._account_fields = account_fields
        self._forget_account_describe = forget_account_describe

    def ensure(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        """What ``SalesforceConnector.ensure_fields`` answers: one line per field, then
        with ``create`` one per access step."""
        states = self._field_states(specs)
        permission_set = _permission_set_name(specs)
        if not create:
            return [_field_item(state, permission_set) for state in states]
        for state in states:
            if state.problem is None and state.described is None and not state.hidden:
                self._create_field(state)
        access = self._ensure_access(states, permission_set)
        self._forget_account_describe()
        present = self._account_fields()
        for state in states:
            if state.problem is None:
                state.described = present.get(state.spec.name.lower())
        return [*(_field_item(state, permission_set, granted=True) for state in states), *access]

    def _field_states(self, specs: Sequence[FieldSpec]) -> list[_FieldState]:
        """Each spec's field as describe shows it, or why it cannot be one, or hidden."""
        present = self._account_fields()
        states = [_FieldState(spec, described=present.get(spec.name.lower())) for spec in specs]
        for state in states:
            if state.described is not None:
                continue
            if not CUSTOM_FIELD_NAME.match(state.spec.name):
                state.problem = "a custom field's API name ends in __c (e.g. Score__c)"
            elif state.spec.kind not in COMPATIBLE_TYPES:
                state.problem = f"unknown field kind {state.spec.kind!r}"
        unseen = [s for s in states if s.described is None and s.problem is None]
        if unseen:
            hidden = self._hidden_fields([s.spec.name for s in unseen])
            for state in unseen:
                state.hidden = state.spec.name.lower() in hidden
        return states

    def _hidden_fields(self, names: Sequence[str]) -> set[str]:
        """Which of these custom fields exist on Account although describe leaves them out
        (no field-level security for this user): a Tooling API query of CustomField.

        A user who may not read setup gets an empty set; creating such a field then
        answers DUPLICATE_DEVELOPER_NAME, which ``_create_field`` also reads as hidden.
        """
        developer_names = {name.removesuffix("__c").lower(): name.lower() for name in names}
        soql = (
            f"SELECT DeveloperName FROM CustomField WHERE TableEnumOrId = {soql_string(ACCOUNT)} "
            f"AND DeveloperName IN ({', '.join(soql_string(n) for n in developer_names)})"
        )
        try:
            answer = self.client.call(
                "look up hidden score fields (Tooling API)",
                lambda sf: sf.toolingexecute("query/?q=" + quote_plus(soql)),
            )
        except CrmApiError as exc:
            logger.info("salesforce: cannot query CustomField (%s); fields may be hidden", exc)
            return set()
        records = answer.get("records", []) if isinstance(answer, Mapping) else []
        return {
            developer_names[str(r.get("DeveloperName")).lower()]
            for r in records
            if str(r.get("DeveloperName")).lower() in developer_names
        }

    def _create_field(self, state: _FieldState) -> None:
        spec = state.spec
        try:
            answer = self.client.call(
                f"create Account.{spec.name}",
                partial(_create_custom_field, _custom_field_body(spec)),
            )
        except CrmApiError as exc:
            if exc.error_code == "DUPLICATE_DEVELOPER_NAME":
                state.hidden = True  # it exists; this user just cannot see it
            else:
                state.problem = f"not created: {exc}"
            return
        field_id = answer.get("id") if isinstance(answer, Mapping) else None
        state.created = str(field_id or "?")

    def _ensure_access(self, states: Sequence[_FieldState], permission_set: str) -> list[CheckItem]:
        """Read and edit on the usable custom fields, through ``permission_set`` assigned to
        the integration user; one CheckItem per step (set, field permissions, assignment)."""
        targets = [
            f"{ACCOUNT}.{state.spec.name}"
            for state in states
            if state.problem is None
            and CUSTOM_FIELD_NAME.match(state.spec.name)
            and (
                state.created
                or state.hidden
                or (
                    state.described is not None
                    and _shape_problem(state.described, state.spec) is None
                )
            )
        ]
        if not targets:
            return []
        return PermissionSetGrant(self.client).grant(permission_set, targets)


# --- helpers -------------------------------------------------------------------------------


@dataclass
class _FieldState:
    """What ``ensure_fields`` found out about one score field."""

    spec: FieldSpec
    #: its describe entry, when the integration user can see the field
    described: Mapping[str, Any] | None = None
    #: it exists (Tooling API) but field-level security hides it from the user
    hidden: bool = False
    #: the CustomField id, when this run made it
    created: str | None = None
    #: why it cannot hold the output (a bad name, or it could not be made)
    problem: str | None = None


def _permission_set_name(specs: Sequence[FieldSpec]) -> str:
    return next((s.access_grant for s in specs if s.access_grant), DEFAULT_PERMISSION_SET)


def _described_shape(described: Mapping[str, Any]) -> str:
    """'double, scale 1', 'string, length 255', 'picklist': what a field holds."""
    kind = str(described.get("type"))
    if kind in COMPATIBLE_TYPES["number"]:
        return f"{kind}, scale {int(described.get('scale') or 0)}"
    if kind in COMPATIBLE_TYPES["text"]:
        return f"{kind}, length {int(described.get('length') or 0)}"
    return kind


def _shape_problem(described: Mapping[str, Any], spec: FieldSpec) -> str | None:
    """Why an existing field cannot hold what ``spec`` writes, with the fix; None if it can.

    A field with a smaller scale than configured would make every run rewrite the value
    (the CRM rounds it), a shorter text would cut values, a picklist without every
    value would refuse records.
    """
    kind = str(described.get("type"))
    key = spec.config_key or "the output's writeback.fields entry"
    output = spec.config_key.rpartition(".")[2] or "the output"
    if kind not in COMPATIBLE_TYPES.get(spec.kind, frozenset()):
        return (
            f"exists ({kind}), but a {spec.kind} field is needed: map {output} to another "
            "field (a field's type is never changed)"
        )
    if described.get("calculated"):
        return f"exists ({kind}), but is a formula field: map {output} to another field"
    shape = _described_shape(described)
    if spec.kind == "number":
        scale = int(described.get("scale") or 0)
        if scale < spec.scale:
            return (
                f"exists ({shape}), but scale {spec.scale} is configured: set {key}.scale: "
                f"{scale} or widen the field"
            )
        # digits before the point: fewer than configured and a large value is refused
        precision = int(described.get("precision") or 0)
        if spec.precision and precision and precision - scale < spec.precision - spec.scale:
            return (
                f"exists ({shape}, precision {precision}), but values need "
                f"{spec.precision - spec.scale} digits before the point ({key}.precision "
                f"{spec.precision}): widen the field or map {output} to another field"
            )
    if spec.kind == "text":
        length, wanted = int(described.get("length") or 0), int(spec.extra.get("length") or 0)
        if wanted and length < wanted:
            return (
                f"exists ({shape}), but length {wanted} is configured: set {key}.length: "
                f"{length} or lengthen the field"
            )
    if spec.kind == "picklist":
        active = {
            str(value.get("value"))
            for value in described.get("picklistValues") or []
            if isinstance(value, Mapping) and value.get("active", True)
        }
        missing = [option for option in spec.options if option not in active]
        if missing:
            return (
                f"exists ({shape}), but has no active value {', '.join(missing)}: add "
                f"{'it' if len(missing) == 1 else 'them'} to the field's values, or map "
                f"{output} to a text field"
            )
    return None


def _field_item(state: _FieldState, permission_set: str, *, granted: bool = False) -> CheckItem:
    """One field's line of fields plan / create. ``granted``: access was just handled
    (its steps follow as lines of their own)."""
    name = f"field {ACCOUNT}.{state.spec.name}"
    if state.problem is not None:
        return CheckItem(name, False, state.problem)
    grant = (
        f"see the {permission_set} lines below"
        if granted
        else f"run with create to grant it through the permission set {permission_set}, "
        "or ask a Salesforce admin to grant it to the integration user"
    )
    described = state.described
    if described is None:
        if state.created:
            return CheckItem(
                name, False, f"created (CustomField {state.created}), but hidden from this "
                f"user until read and edit are granted: {grant}",
            )  # fmt: skip
        if state.hidden:
            return CheckItem(
                name, False, "exists, but is hidden from this user (it has no field-level "
                f"security): it needs read and edit access; {grant}",
            )  # fmt: skip
        return CheckItem(name, False, "missing; partner-kpi fields create adds it")
    problem = _shape_problem(described, state.spec)
    if problem is not None:
        return CheckItem(name, False, problem)
    shape = _described_shape(described)
    if not described.get("updateable", False):
        return CheckItem(
            name, False, f"exists ({shape}), but this user may not edit it: it needs edit "
            f"access; {grant}",
        )  # fmt: skip
    if state.created:
        return CheckItem(
            name, True, f"created (CustomField {state.created}); readable and editable "
            f"through the permission set {permission_set}",
        )  # fmt: skip
    if state.hidden:
        return CheckItem(
            name, True, f"exists ({shape}); now readable and editable through the permission "
            f"set {permission_set}",
        )  # fmt: skip
    return CheckItem(name, True, f"exists ({shape})")


def _create_custom_field(body: Mapping[str, Any], sf: Any) -> Any:
    """Create one CustomField through the Tooling API."""
    return sf.toolingexecute("sobjects/CustomField", method="POST", data=dict(body))


def _custom_field_body(spec: FieldSpec) -> dict[str, Any]:
    """The Tooling API CustomField body of a score field."""
    metadata: dict[str, Any] = {"label": spec.label}
    if spec.kind == "number":
        metadata |= {"type": "Number", "precision": spec.precision or 18, "scale": spec.scale}
    elif spec.kind == "text":
        metadata |= {"type": "Text", "length": int(spec.extra.get("length", 255))}
    elif spec.kind == "picklist":
        metadata |= {
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [{"fullName": o, "label": o, "default": False} for o in spec.options],
                },
            },
        }
    else:
        metadata |= {"type": "DateTime"}
    metadata |= {k: v for k, v in spec.extra.items() if k != "length"}
    return {"FullName": f"{ACCOUNT}.{spec.name}", "Metadata": metadata}

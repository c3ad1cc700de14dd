"""Score fields on Account, made and opened to the integration user (``fields plan/create``).

A field made through the Tooling API is visible to no one until field-level security
grants it, and describe leaves out a field the user cannot see, so missing and hidden
look alike there: the Tooling API tells them apart. Access is granted through one
permission set (the set, a FieldPermissions row per field, the user's assignment),
each made only when missing, so a run can be repeated and an admin can see, and take
back, what partner-kpi holds. An existing field is never changed: one that cannot hold
its output is reported with the fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote_plus

from simple_salesforce.util import exception_handler

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.queries import ACCOUNT, COLLECTION_SIZE, CRM, RECORD_ID, soql_string
from connectors.salesforce.writes import collection_call, save_result
from core.connector import CheckItem, FieldSpec, WriteResult
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
PERMISSION_SET_LABEL = "Partner KPI writeback"
FIELD_PERMISSIONS = "FieldPermissions"
#: Error codes of a user refused a setup change (INSUFFICIENT_ACCESS_OR_READONLY,
#: INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY).
NO_ACCESS = "INSUFFICIENT_ACCESS"


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
        user = _User(user_id="", username="the integration user")
        found: dict[str, str] = {}

        def read_user() -> None:
            info = self.client.call("read the integration user (userinfo)", _userinfo)
            user.user_id = str(info.get("user_id") or "")
            user.username = str(info.get("preferred_username") or user.user_id)
            if not RECORD_ID.match(user.user_id):
                raise CrmApiError(
                    "userinfo names no user_id", crm=CRM, error_code="UNEXPECTED_RESPONSE"
                )

        def ensure_set() -> CheckItem:
            found["id"], made = self._permission_set(permission_set)
            return CheckItem(
                f"permission set {permission_set}",
                True,
                f"{'created' if made else 'exists'} ({found['id']})",
            )

        steps: list[tuple[str, Callable[[], CheckItem | None]]] = [
            ("integration user", read_user),
            (f"permission set {permission_set}", ensure_set),
            (
                f"field access {permission_set}",
                lambda: self._field_permissions(permission_set, found["id"], targets),
            ),
            (
                f"assignment {permission_set}",
                lambda: self._assignment(permission_set, found["id"], user),
            ),
        ]
        items: list[CheckItem] = []
        for name, step in steps:
            try:
                item = step()
            except CrmApiError as exc:
                refused = _access_refused(exc, name, permission_set, targets, user)
                items.append(CheckItem(name, False, refused))
                break
            if item is not None:
                items.append(item)
        return items

    def _records(self, what: str, soql: str) -> list[dict[str, Any]]:
        answer = self.client.call(what, lambda sf: sf.query_all(soql))
        records: list[dict[str, Any]] = answer.get("records", [])
        return records

    def _permission_set(self, name: str) -> tuple[str, bool]:
        """The permission set's id, made first when missing; and whether it was made."""
        rows = self._records(
            f"find permission set {name}",
            f"SELECT Id FROM PermissionSet WHERE Name = {soql_string(name)}",
        )
        if rows:
            return str(rows[0]["Id"]), False
        body = {
            "Name": name,
            "Label": PERMISSION_SET_LABEL,
            "Description": "Read and edit on the Account fields partner-kpi writes scores into "
            "(made by partner-kpi fields create).",
        }
        answer = self.client.call(
            f"create permission set {name}",
            lambda sf: sf.restful("sobjects/PermissionSet", method="POST", json=body),
        )
        return str(answer["id"]), True

    def _field_permissions(
        self, permission_set: str, permission_set_id: str, fields: Sequence[str]
    ) -> CheckItem:
        """Read and edit on each field in the permission set: rows made or widened as needed,
        200 a call (sObject Collections)."""
        name = f"field access {permission_set}"
        rows = self._records(
            f"read the field permissions of {permission_set}",
            "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
            f"WHERE ParentId = {soql_string(permission_set_id)} "
            f"AND SobjectType = {soql_string(ACCOUNT)}",
        )
        held = {str(row["Field"]).lower(): row for row in rows}
        new = [f for f in fields if f.lower() not in held]
        narrow = [
            f
            for f in fields
            if f.lower() in held
            and not (held[f.lower()]["PermissionsRead"] and held[f.lower()]["PermissionsEdit"])
        ]
        if not new and not narrow:
            return CheckItem(
                name, True, f"read and edit already granted on all {len(fields)} fields"
            )
        grant = {"PermissionsRead": True, "PermissionsEdit": True}
        batches = [
            ("POST", new, [
                {"attributes": {"type": FIELD_PERMISSIONS}, "ParentId": permission_set_id,
                 "SobjectType": ACCOUNT, "Field": f, **grant}
                for f in new
            ]),
            ("PATCH", narrow, [
                {"attributes": {"type": FIELD_PERMISSIONS}, "id": held[f.lower()]["Id"], **grant}
                for f in narrow
            ]),
        ]  # fmt: skip
        outcomes: list[tuple[str, WriteResult]] = []
        for method, names, records in batches:
            for start in range(0, len(records), COLLECTION_SIZE):
                answer = self.client.call(
                    f"grant field access in {permission_set}",
                    partial(collection_call, method, records[start : start + COLLECTION_SIZE]),
                )
                for field_name, result in zip(
                    names[start : start + COLLECTION_SIZE], answer, strict=True
                ):
                    outcomes.append((field_name, save_result(field_name, result)))
        failed = [(f, outcome) for f, outcome in outcomes if not outcome.ok]
        if failed and all(str(o.error_code).startswith(NO_ACCESS) for _, o in failed):
            outcome = failed[0][1]
            raise CrmApiError(outcome.message or "", crm=CRM, error_code=str(outcome.error_code))
        done = {f for f, outcome in outcomes if outcome.ok}
        parts = []
        if made := [f for f in new if f in done]:
            parts.append(f"created read and edit on {', '.join(made)}")
        if widened := [f for f in narrow if f in done]:
            parts.append(f"widened to read and edit on {', '.join(widened)}")
        if failed:
            problems = ", ".join(f"{f} ({o.error_code}: {o.message})" for f, o in failed)
            parts.append(f"could not grant read and edit on {problems}")
        return CheckItem(name, not failed, "; ".join(parts))

    def _assignment(self, permission_set: str, permission_set_id: str, user: _User) -> CheckItem:
        name = f"assignment {permission_set}"
        rows = self._records(
            f"find the assignment of {permission_set}",
            "SELECT Id FROM PermissionSetAssignment "
            f"WHERE AssigneeId = {soql_string(user.user_id)} "
            f"AND PermissionSetId = {soql_string(permission_set_id)}",
        )
        if rows:
            return CheckItem(name, True, f"assigned to {user.username} already")
        body = {"AssigneeId": user.user_id, "PermissionSetId": permission_set_id}
        answer = self.client.call(
            f"assign permission set {permission_set}",
            lambda sf: sf.restful("sobjects/PermissionSetAssignment", method="POST", json=body),
        )
        return CheckItem(name, True, f"created: assigned to {user.username} ({answer['id']})")


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


@dataclass
class _User:
    """The integration user, as /services/oauth2/userinfo names it."""

    user_id: str
    username: str


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


def _access_refused(
    exc: CrmApiError, step: str, permission_set: str, fields: Sequence[str], user: _User
) -> str:
    """One line: why a step of granting access failed, and what an admin can do."""
    if not exc.error_code.startswith(NO_ACCESS):
        return f"failed: {exc}"
    if step.startswith("assignment"):
        return (
            f"{user.username} may not assign permission sets ({exc.error_code}): ask a "
            f"Salesforce admin to assign the permission set {permission_set} to {user.username}"
        )
    return (
        f"{user.username} may not manage permission sets ({exc.error_code}): ask a Salesforce "
        f"admin to grant Edit on {', '.join(fields)} to {user.username} (e.g. in a permission "
        f"set {permission_set} assigned to it)"
    )


def _userinfo(sf: Any) -> dict[str, Any]:
    """``GET /services/oauth2/userinfo``: who the session's user is (OpenID Connect)."""
    response = sf.session.get(
        f"https://{sf.sf_instance}/services/oauth2/userinfo", headers=sf.headers
    )
    if response.status_code >= 300:
        exception_handler(response, "userinfo")
    body: dict[str, Any] = response.json()
    return body


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

"""Read and edit on the score fields for the integration user, through one permission set.

A field made through the API is visible to no user until field-level security
grants it. Access is granted through one permission set: the set, a
FieldPermissions row per field, the user's assignment, each made only when
missing, so a run can be repeated and an admin can see, and take back, what
partner-kpi holds. A user who may not manage or assign permission sets is told
what to ask an admin for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from simple_salesforce.util import exception_handler

from connectors.salesforce.queries import ACCOUNT, COLLECTION_SIZE, CRM, RECORD_ID, soql_string
from connectors.salesforce.wire import SalesforceClient
from connectors.salesforce.writes import collection_call, save_result
from core.connector import CheckItem, WriteResult
from core.errors import CrmApiError

PERMISSION_SET_LABEL = "Partner KPI writeback"
FIELD_PERMISSIONS = "FieldPermissions"
#: Error codes of a user refused a setup change (INSUFFICIENT_ACCESS_OR_READONLY,
#: INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY).
NO_ACCESS = "INSUFFICIENT_ACCESS"


class PermissionSetGrant:
    """Grants read and edit on Account fields through a permission set, step by step."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client

    def grant(self, permission_set: str, targets: Sequence[str]) -> list[CheckItem]:
        """Read and edit on ``targets`` (``Account.Field__c``) through ``permission_set``
        assigned to the integration user; one CheckItem per step (set, field permissions,
        assignment), stopping at the first step refused."""
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

        def find() -> list[dict[str, Any]]:
            return self._records(
                f"find permission set {name}",
                f"SELECT Id FROM PermissionSet WHERE Name = {soql_string(name)}",
            )

        if rows := find():
            return str(rows[0]["Id"]), False
        body = {
            "Name": name,
            "Label": PERMISSION_SET_LABEL,
            "Description": "Read and edit on the Account fields partner-kpi writes scores into "
            "(made by partner-kpi fields create).",
        }
        made = self._create_or_find(
            f"create permission set {name}", "PermissionSet", body, "DUPLICATE_DEVELOPER_NAME", find
        )
        return made, True

    def _create_or_find(
        self,
        what: str,
        sobject: str,
        body: dict[str, Any],
        duplicate_code: str,
        find: Callable[[], list[dict[str, Any]]],
    ) -> str:
        """The id of the ``sobject`` record made from ``body``. A create whose answer was
        lost is sent again and refused as ``duplicate_code``: the record ``find`` then
        returns is the one the first create made."""
        try:
            answer = self.client.call(
                what, lambda sf: sf.restful(f"sobjects/{sobject}", method="POST", json=body)
            )
        except CrmApiError as exc:
            if exc.error_code == duplicate_code and (rows := find()):
                return str(rows[0]["Id"])
            raise
        return str(answer["id"])

    def _field_permissions(
        self, permission_set: str, permission_set_id: str, fields: Sequence[str]
    ) -> CheckItem:
        """Read and edit on each field in the permission set: rows made or widened as needed,
        200 a call (sObject Collections)."""
        name = f"field access {permission_set}"

        def read_held() -> dict[str, dict[str, Any]]:
            rows = self._records(
                f"read the field permissions of {permission_set}",
                "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                f"WHERE ParentId = {soql_string(permission_set_id)} "
                f"AND SobjectType = {soql_string(ACCOUNT)}",
            )
            return {str(row["Field"]).lower(): row for row in rows}

        held = read_held()
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
        if any(o.error_code == "DUPLICATE_VALUE" for _, o in outcomes):
            # a create whose answer was lost was sent again: the rows it made are there
            now = read_held()
            outcomes = [
                (f, WriteResult(f, True))
                if o.error_code == "DUPLICATE_VALUE"
                and now.get(f.lower(), {}).get("PermissionsRead")
                and now.get(f.lower(), {}).get("PermissionsEdit")
                else (f, o)
                for f, o in outcomes
            ]
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

        def find() -> list[dict[str, Any]]:
            return self._records(
                f"find the assignment of {permission_set}",
                "SELECT Id FROM PermissionSetAssignment "
                f"WHERE AssigneeId = {soql_string(user.user_id)} "
                f"AND PermissionSetId = {soql_string(permission_set_id)}",
            )

        if find():
            return CheckItem(name, True, f"assigned to {user.username} already")
        body = {"AssigneeId": user.user_id, "PermissionSetId": permission_set_id}
        made = self._create_or_find(
            f"assign permission set {permission_set}",
            "PermissionSetAssignment",
            body,
            "DUPLICATE_VALUE",
            find,
        )
        return CheckItem(name, True, f"created: assigned to {user.username} ({made})")


# --- helpers ---------------------------------------------------------------------------------


@dataclass
class _User:
    """The integration user, as /services/oauth2/userinfo names it."""

    user_id: str
    username: str


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

"""Field-level security in the sandbox org: who may see and edit a custom field.

In Salesforce a custom field made through the Tooling (or Metadata) API is
granted to no one: it is missing from describe, a query naming it fails with
INVALID_FIELD, and a write naming it is refused, until a ``FieldPermissions``
row with ``PermissionsRead`` (and ``PermissionsEdit`` to write) exists on a
``PermissionSet`` assigned to the user (``PermissionSetAssignment``). The
sandbox has one API user, the integration user ``USER_ID`` whose identity URL
the token endpoint returns; every session is that user. Seeded fields are
visible and writable as their describe says, as if its profile granted them.

Creating permission sets and field permissions needs the user permission
"Manage Profiles and Permission Sets", assigning them "Assign Permission Sets";
both are on unless a test turns them off (``/__sandbox/salesforce/user``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.objects import FieldAccess, SfObject, SfSchema
from sandbox.store import SqlStore, quote

ORG_ID = "00D5g000001sAndbox"
USER_ID = "0055g000000sAndbox"
USER_NAME = "Integration User"

MANAGE = "PermissionsManageProfilesPermissionsets"
ASSIGN = "PermissionsAssignPermissionSets"
USER_PERMISSIONS = (MANAGE, ASSIGN)

PERMISSION_SET = "PermissionSet"
FIELD_PERMISSIONS = "FieldPermissions"
ASSIGNMENT = "PermissionSetAssignment"
PERMISSION_OBJECTS = frozenset({PERMISSION_SET, FIELD_PERMISSIONS, ASSIGNMENT})

#: A developer name: a letter first, then letters, digits and single underscores, no
#: underscore at the end; at most 80 characters.
DEVELOPER_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$")
_DEVELOPER_NAME_RULE = (
    "The API Name can only contain underscores and alphanumeric characters. It must be "
    "unique, begin with a letter, not include spaces, not end with an underscore, and not "
    "contain two consecutive underscores."
)
_DUPLICATE = "duplicate value found: <unknown> duplicates value on record with id: <unknown>"
_NO_ACCESS = "insufficient access rights on object id"


class Refusal(Exception):
    """A write the org refuses: Salesforce's status code, message and fields."""

    def __init__(self, status_code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = list(fields)


@dataclass
class FieldSecurity:
    """The permission objects' rules, and what they grant the integration user."""

    store: SqlStore
    schema: SfSchema
    user_id: str = USER_ID
    user_permissions: dict[str, bool] = field(
        default_factory=lambda: dict.fromkeys(USER_PERMISSIONS, True)
    )

    # --- what the user may see and edit --------------------------------------------

    def secure(self, sf_object: SfObject, name: str) -> None:
        """A field made through the Tooling API: hidden until a permission set grants it."""
        sf_object.secured[name.lower()] = FieldAccess()
        self.refresh()

    def refresh(self) -> None:
        """Recompute every secured field's access from the rows that grant it now."""
        rows = self.store.query(
            'SELECT lower(fp."Field"), MAX(fp."PermissionsRead"), MAX(fp."PermissionsEdit") '
            'FROM "FieldPermissions" fp '
            'JOIN "PermissionSetAssignment" a ON a."PermissionSetId" = fp."ParentId" '
            'JOIN "PermissionSet" ps ON ps."Id" = fp."ParentId" '
            'WHERE a."AssigneeId" = ? AND IFNULL(fp."IsDeleted", 0) = 0 '
            'AND IFNULL(a."IsDeleted", 0) = 0 AND IFNULL(ps."IsDeleted", 0) = 0 '
            'GROUP BY lower(fp."Field")',
            [self.user_id],
        )
        granted = {
            name: FieldAccess(read=bool(read), edit=bool(read) and bool(edit))
            for name, read, edit in rows
        }
        for sf_object in self.schema.objects.values():
            prefix = sf_object.name.lower() + "."
            for lowered in sf_object.secured:
                sf_object.secured[lowered] = granted.get(prefix + lowered, FieldAccess())

    # --- the rules of the permission objects ----------------------------------------

    def check_insert(self, sf_object: SfObject, values: dict[str, Any]) -> None:
        """Refusal unless the new record is valid; fills in what the org sets itself."""
        if sf_object.name == PERMISSION_SET:
            self._require(MANAGE)
            self._check_permission_set(values, record_id=None)
            values.setdefault("IsOwnedByProfile", 0)
            values.setdefault("IsCustom", 1)
        elif sf_object.name == FIELD_PERMISSIONS:
            self._require(MANAGE)
            self._check_field_permissions(values)
        elif sf_object.name == ASSIGNMENT:
            self._check_assignment(values)

    def check_update(self, sf_object: SfObject, record_id: str, values: dict[str, Any]) -> None:
        """Refusal unless the change is valid (the record's other values included)."""
        if sf_object.name == PERMISSION_SET:
            self._require(MANAGE)
            self._check_permission_set(values, record_id=record_id)
        elif sf_object.name == FIELD_PERMISSIONS:
            self._require(MANAGE)
            (row,) = self.store.query(
                'SELECT "PermissionsRead", "PermissionsEdit" FROM "FieldPermissions" '
                'WHERE "Id" = ?',
                [record_id],
            )
            merged = {"PermissionsRead": row[0], "PermissionsEdit": row[1], **values}
            _check_edit_needs_read(merged)

    def check_delete(self, sf_object: SfObject) -> None:
        if sf_object.name in (PERMISSION_SET, FIELD_PERMISSIONS):
            self._require(MANAGE)
        elif sf_object.name == ASSIGNMENT:
            self._require(ASSIGN, cross_reference=self.user_id)

    def after_update(self, sf_object: SfObject, record_id: str) -> None:
        """A FieldPermissions row left without read access is deleted, as in Salesforce."""
        if sf_object.name == FIELD_PERMISSIONS:
            self.store.execute(
                'UPDATE "FieldPermissions" SET "IsDeleted" = 1 '
                'WHERE "Id" = ? AND IFNULL("PermissionsRead", 0) = 0',
                [record_id],
            )

    def _require(self, permission: str, cross_reference: str | None = None) -> None:
        if self.user_permissions.get(permission, False):
            return
        if cross_reference is not None:
            raise Refusal(
                "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                f"insufficient access rights on cross-reference id: {cross_reference}",
            )
        raise Refusal("INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)

    def _live(self, table: str, where: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self.store.query(
            f'SELECT "Id" FROM {quote(table)} WHERE IFNULL("IsDeleted", 0) = 0 AND {where}',
            params,
        )

    def _check_permission_set(self, values: Mapping[str, Any], record_id: str | None) -> None:
        name = values.get("Name")
        if name is None and record_id is not None:
            return
        if not isinstance(name, str) or len(name) > 80 or not DEVELOPER_NAME.match(name):
            raise Refusal("FIELD_INTEGRITY_EXCEPTION", _DEVELOPER_NAME_RULE, ["Name"])
        taken = self._live(PERMISSION_SET, 'lower("Name") = lower(?)', [name])
        if any(row[0] != record_id for row in taken):
            raise Refusal(
                "DUPLICATE_DEVELOPER_NAME",
                f"The API name {name!r} is already in use by another permission set.",
                ["Name"],
            )

    def _check_field_permissions(self, values: dict[str, Any]) -> None:
        parent = str(values.get("ParentId") or "")
        if not self._live(PERMISSION_SET, '"Id" = ?', [parent]):
            raise Refusal(
                "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {parent}", ["ParentId"]
            )
        sobject = self.schema.get(str(values.get("SobjectType") or ""))
        if sobject is None or sobject.name in PERMISSION_OBJECTS:
            raise _bad_picklist("SObject Type Name", values.get("SobjectType"), "SobjectType")
        values["SobjectType"] = sobject.name
        object_name, _, field_name = str(values.get("Field") or "").partition(".")
        same_object = object_name.lower() == sobject.name.lower()
        target = sobject.any_field(field_name) if same_object else None
        # only custom fields that may be empty are under field-level security
        if target is None or not target.custom or not target.nillable:
            raise _bad_picklist("Field Name", values.get("Field"), "Field")
        values["Field"] = f"{sobject.name}.{target.name}"
        _check_edit_needs_read(values)
        granted = '"ParentId" = ? AND lower("Field") = lower(?)'
        if self._live(FIELD_PERMISSIONS, granted, [parent, values["Field"]]):
            raise Refusal("DUPLICATE_VALUE", _DUPLICATE)

    def _check_assignment(self, values: Mapping[str, Any]) -> None:
        assignee = str(values.get("AssigneeId") or "")
        permission_set = str(values.get("PermissionSetId") or "")
        self._require(ASSIGN, cross_reference=assignee)
        if not self._live("User", '"Id" = ?', [assignee]):
            raise Refusal(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {assignee}",
                ["AssigneeId"],
            )
        found = self.store.query(
            'SELECT "IsOwnedByProfile" FROM "PermissionSet" '
            'WHERE "Id" = ? AND IFNULL("IsDeleted", 0) = 0',
            [permission_set],
        )
        if not found:
            raise Refusal(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {permission_set}",
                ["PermissionSetId"],
            )
        if found[0][0]:
            raise Refusal(
                "FIELD_INTEGRITY_EXCEPTION",
                "You can't assign or unassign this permission set because it's associated "
                "with a profile.",
                ["PermissionSetId"],
            )
        if self._live(
            ASSIGNMENT, '"AssigneeId" = ? AND "PermissionSetId" = ?', [assignee, permission_set]
        ):
            raise Refusal("DUPLICATE_VALUE", _DUPLICATE)


def _check_edit_needs_read(values: Mapping[str, Any]) -> None:
    if values.get("PermissionsEdit") and not values.get("PermissionsRead"):
        raise Refusal(
            "FIELD_INTEGRITY_EXCEPTION",
            "Permission Edit Field depends on permission(s): Read Field",
            ["PermissionsEdit"],
        )


def _bad_picklist(label: str, value: Any, name: str) -> Refusal:
    return Refusal(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{label}: bad value for restricted picklist field: {value}",
        [name],
    )


def userinfo(instance_url: str, username: str) -> dict[str, Any]:
    """GET /services/oauth2/userinfo: the OpenID Connect answer about the session's user."""
    identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
    urls = {
        "enterprise": f"{instance_url}/services/Soap/c/{{version}}/{ORG_ID}",
        "partner": f"{instance_url}/services/Soap/u/{{version}}/{ORG_ID}",
        "rest": f"{instance_url}/services/data/v{{version}}/",
        "sobjects": f"{instance_url}/services/data/v{{version}}/sobjects/",
        "query": f"{instance_url}/services/data/v{{version}}/query/",
        "tooling_rest": f"{instance_url}/services/data/v{{version}}/tooling/",
        "profile": f"{instance_url}/{USER_ID}",
        "custom_domain": instance_url,
    }
    return {
        "sub": identity,
        "user_id": USER_ID,
        "organization_id": ORG_ID,
        "preferred_username": username,
        "nickname": "integration",
        "name": USER_NAME,
        "email": username,
        "email_verified": True,
        "given_name": "Integration",
        "family_name": "User",
        "zoneinfo": "GMT",
        "photos": {
            "picture": f"{instance_url}/profilephoto/005/F",
            "thumbnail": f"{instance_url}/profilephoto/005/T",
        },
        "profile": f"{instance_url}/{USER_ID}",
        "picture": f"{instance_url}/profilephoto/005/F",
        "address": {"country": "US"},
        "is_salesforce_integration_user": False,
        "urls": urls,
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "updated_at": "2017-01-01T08:00:00Z",
        "is_app_installed": True,
    }

"""The sandbox's Salesforce objects: their fields, types and relationships.

One ``SfObject`` per sObject, backed by one SQLite table of the same name whose
columns are the fields' API names. Describe, SOQL, writes and the Tooling API
all read this registry, so a custom field created at run time is at once
describable, queryable and writable. Names are case-insensitive, as in SOQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

#: Describe types whose values SQLite holds as TEXT, REAL, INTEGER (0/1 for booleans).
TEXT_TYPES = frozenset(
    {"id", "string", "textarea", "picklist", "reference", "email", "url", "phone", "date",
     "datetime"}
)  # fmt: skip
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
BOOLEAN_TYPES = frozenset({"boolean"})
#: Describe types whose ``length`` caps a value (STRING_TOO_LONG past it).
TEXT_LENGTH_TYPES = frozenset({"string", "textarea", "email", "url", "phone"})
#: Compound fields (REST answers an object; the Bulk API refuses them); read-only, and not
#: filterable or sortable.
COMPOUND_TYPES = frozenset({"address", "location"})

#: Salesforce's three-character key prefix of each object's record ids.
KEY_PREFIXES = {
    "Account": "001",
    "Opportunity": "006",
    "User": "005",
    "OpportunityStage": "01J",
    "OpportunityHistory": "008",
    "OpportunityPartner": "00O",
    "CurrencyType": "02B",
    "CustomField": "00N",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "PermissionSetAssignment": "0Pa",
    "BulkQueryJob": "750",
    "QueryLocator": "01g",
}


@dataclass(frozen=True)
class SfField:
    """One field as describe shows it. Dates are 'YYYY-MM-DD' text, datetimes
    '2017-03-01T00:00:00.000+0000' text (UTC), so text order is time order."""

    name: str
    type: str
    label: str = ""
    custom: bool = False
    nillable: bool = True
    updateable: bool = False
    filterable: bool = True
    sortable: bool = True
    length: int = 0
    precision: int = 0
    scale: int = 0
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()
    #: picklist values kept but retired (describe shows them with active false)
    inactive_values: tuple[str, ...] = ()
    #: settable on insert; None: as ``updateable`` (a PermissionSetAssignment's ids are
    #: set when it is made and never changed)
    insertable: bool | None = None

    @property
    def createable(self) -> bool:
        return self.updateable if self.insertable is None else self.insertable

    @property
    def sql_type(self) -> str:
        if self.type in NUMBER_TYPES:
            return "REAL" if self.type != "int" else "INTEGER"
        if self.type in BOOLEAN_TYPES:
            return "INTEGER"
        return "TEXT"


@dataclass(frozen=True)
class FieldAccess:
    """What field-level security grants the API user on one field."""

    read: bool = False
    edit: bool = False


@dataclass
class SfObject:
    """An sObject: its fields by lower-cased name and its parent relationships.

    ``fields`` holds every field the org has. A field in ``secured`` (one made
    through the Tooling API) is seen by the API user only as field-level security
    grants it: without read access it is not there at all (describe, SOQL,
    writes); with read but not edit access it is not updateable. ``field`` and
    ``visible_fields`` answer as the API user sees the object; ``any_field``
    answers as the org's own setup does.
    """

    name: str
    label: str
    fields: dict[str, SfField] = field(default_factory=dict)
    queryable: bool = True
    updateable: bool = True
    #: records can be inserted through the API (POST /sobjects/<type>)
    createable: bool = False
    secured: dict[str, FieldAccess] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.name

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES.get(self.name, "a00")

    def add(self, sf_field: SfField) -> None:
        self.fields[sf_field.name.lower()] = sf_field

    def field(self, name: str) -> SfField | None:
        """A field by API name, any case, as the API user sees it (None when hidden)."""
        lowered = name.lower()
        found = self.fields.get(lowered)
        if found is None or not self.secured:
            return found
        return self._as_granted(lowered, found)

    def any_field(self, name: str) -> SfField | None:
        """A field by API name, any case, whatever field-level security says."""
        return self.fields.get(name.lower())

    def visible_fields(self) -> Iterator[SfField]:
        """The fields the API user sees, in the object's order."""
        for lowered, found in self.fields.items():
            granted = self._as_granted(lowered, found) if self.secured else found
            if granted is not None:
                yield granted

    def _as_granted(self, lowered: str, found: SfField) -> SfField | None:
        access = self.secured.get(lowered)
        if access is None:
            return found
        if not access.read:
            return None
        if not access.edit and found.updateable:
            return replace(found, updateable=False)
        return found

    def relationship(self, name: str) -> SfField | None:
        """The reference field behind a parent relationship name (``Account`` → AccountId)."""
        lowered = name.lower()
        for candidate in self.visible_fields():
            if candidate.relationship_name and candidate.relationship_name.lower() == lowered:
                return candidate
        return None


@dataclass
class SfSchema:
    """Every sObject the sandbox serves, by lower-cased name."""

    objects: dict[str, SfObject] = field(default_factory=dict)

    def add(self, sf_object: SfObject) -> None:
        self.objects[sf_object.name.lower()] = sf_object

    def get(self, name: str) -> SfObject | None:
        return self.objects.get(name.lower())


def _f(name: str, type_: str, **kwargs: object) -> SfField:
    return SfField(name=name, type=type_, label=kwargs.pop("label", name), **kwargs)  # type: ignore[arg-type]


def _system_fields() -> list[SfField]:
    return [
        _f("Id", "id", nillable=False, length=18, label="Record ID"),
        _f("IsDeleted", "boolean", nillable=False, label="Deleted"),
        _f("CreatedDate", "datetime", nillable=False, label="Created Date"),
        _f("LastModifiedDate", "datetime", nillable=False, label="Last Modified Date"),
        _f("SystemModstamp", "datetime", nillable=False, label="System Modstamp"),
    ]


def _object(
    name: str,
    label: str,
    fields: list[SfField],
    *,
    updateable: bool = True,
    createable: bool = False,
) -> SfObject:
    sf_object = SfObject(name=name, label=label, updateable=updateable, createable=createable)
    for sf_field in [*_system_fields(), *fields]:
        sf_object.add(sf_field)
    return sf_object


def _ref(
    name: str, to: str, relationship: str, *, updateable: bool = True, **kwargs: object
) -> SfField:
    return _f(
        name, "reference", reference_to=to, relationship_name=relationship, length=18,
        updateable=updateable, **kwargs,
    )  # fmt: skip


def standard_schema(stage_names: tuple[str, ...] = ()) -> SfSchema:
    """The objects the connectors read, with the standard fields they use."""
    schema = SfSchema()
    schema.add(
        _object(
            "User",
            "User",
            [
                _f("Name", "string", length=121),
                _f("Username", "string", length=80),
                _f("Email", "email", length=80),
                _f("IsActive", "boolean", nillable=False),
            ],
            updateable=False,
        )
    )
    schema.add(
        _object(
            "Account",
            "Account",
            [
                _f("Name", "string", length=255, nillable=False, updateable=True,
                   label="Account Name"),
                _f("Type", "picklist", length=255, updateable=True,
                   picklist_values=("Customer", "Partner", "Prospect", "Other")),
                _f("IsPartner", "boolean", nillable=False, updateable=True),
                _f("Industry", "picklist", length=255, updateable=True),
                _f("AnnualRevenue", "currency", precision=18, scale=0, updateable=True),
                _f("NumberOfEmployees", "int", precision=8, updateable=True),
                _f("YearStarted", "string", length=4, updateable=True),
                _f("BillingCountry", "string", length=80, updateable=True),
                _f("BillingAddress", "address", filterable=False, sortable=False,
                   label="Billing Address"),
                _f("Region__c", "string", length=80, custom=True, updateable=True,
                   label="Region"),
                _ref("ParentId", "Account", "Parent"),
                _ref("OwnerId", "User", "Owner"),
            ],
            createable=True,
        )
    )  # fmt: skip
    schema.add(
        _object(
            "Opportunity",
            "Opportunity",
            [
                _f("Name", "string", length=120, nillable=False, updateable=True),
                _ref("AccountId", "Account", "Account"),
                _ref("PartnerAccountId", "Account", "PartnerAccount"),
                _f("StageName", "picklist", length=255, nillable=False, updateable=True,
                   picklist_values=stage_names),
                _f("Amount", "currency", precision=18, scale=2, updateable=True),
                _f("CurrencyIsoCode", "picklist", length=3, updateable=True),
                _f("Probability", "percent", precision=3, scale=0, updateable=True),
                _f("CloseDate", "date", nillable=False, updateable=True),
                _f("LeadSource", "picklist", length=255, updateable=True),
                _f("Type", "picklist", length=255, updateable=True),
                _f("IsClosed", "boolean", nillable=False),
                _f("IsWon", "boolean", nillable=False),
                _ref("OwnerId", "User", "Owner"),
            ],
        )
    )  # fmt: skip
    schema.add(
        _object(
            "OpportunityStage",
            "Opportunity Stage",
            [
                _f("MasterLabel", "string", length=255),
                _f("ApiName", "string", length=255),
                _f("IsActive", "boolean", nillable=False),
                _f("IsClosed", "boolean", nillable=False),
                _f("IsWon", "boolean", nillable=False),
                _f("DefaultProbability", "percent", precision=3, scale=0),
                _f("SortOrder", "int", precision=9),
                _f("ForecastCategoryName", "picklist", length=40),
            ],
            updateable=False,
        )
    )
    schema.add(
        _object(
            "OpportunityHistory",
            "Opportunity History",
            [
                _ref("OpportunityId", "Opportunity", "Opportunity", updateable=False),
                _f("StageName", "picklist", length=255),
                _f("Amount", "currency", precision=18, scale=2),
                _f("Probability", "percent", precision=3, scale=0),
                _f("CloseDate", "date"),
            ],
            updateable=False,
        )
    )
    schema.add(
        _object(
            "OpportunityPartner",
            "Opportunity Partner",
            [
                _ref("OpportunityId", "Opportunity", "Opportunity", updateable=False),
                _ref("AccountToId", "Account", "AccountTo", updateable=False),
                _f("Role", "picklist", length=40),
                _f("IsPrimary", "boolean", nillable=False),
            ],
            updateable=False,
        )
    )
    schema.add(
        _object(
            "CurrencyType",
            "Currency Type",
            [
                _f("IsoCode", "picklist", length=3),
                _f("ConversionRate", "double", precision=18, scale=6),
                _f("DecimalPlaces", "int", precision=2),
                _f("IsActive", "boolean", nillable=False),
                _f("IsCorporate", "boolean", nillable=False),
            ],
            updateable=False,
        )
    )
    for sf_object in permission_objects():
        schema.add(sf_object)
    return schema


def permission_objects() -> list[SfObject]:
    """PermissionSet, FieldPermissions and PermissionSetAssignment: how field-level
    security is granted to a user through the API (API names as in Salesforce)."""
    return [
        _object(
            "PermissionSet",
            "Permission Set",
            [
                _f("Name", "string", length=80, nillable=False, updateable=True, label="Name"),
                _f("Label", "string", length=80, nillable=False, updateable=True,
                   label="Label"),
                _f("Description", "textarea", length=255, updateable=True),
                _f("IsOwnedByProfile", "boolean", nillable=False, label="Is Owned by Profile"),
                _f("IsCustom", "boolean", nillable=False, label="Is Custom"),
                _f("NamespacePrefix", "string", length=15, label="Namespace Prefix"),
            ],
            createable=True,
        ),
        _object(
            "FieldPermissions",
            "Field Permissions",
            [
                _ref("ParentId", "PermissionSet", "Parent", updateable=False, insertable=True,
                     nillable=False, label="Parent ID"),
                _f("SobjectType", "picklist", length=40, nillable=False, insertable=True,
                   label="SObject Type Name"),
                _f("Field", "picklist", length=80, nillable=False, insertable=True,
                   label="Field Name"),
                _f("PermissionsRead", "boolean", nillable=False, updateable=True,
                   label="Read Field"),
                _f("PermissionsEdit", "boolean", nillable=False, updateable=True,
                   label="Edit Field"),
            ],
            createable=True,
        ),
        _object(
            "PermissionSetAssignment",
            "Permission Set Assignment",
            [
                _ref("AssigneeId", "User", "Assignee", updateable=False, insertable=True,
                     nillable=False, label="Assignee ID"),
                _ref("PermissionSetId", "PermissionSet", "PermissionSet", updateable=False,
                     insertable=True, nillable=False, label="Permission Set ID"),
            ],
            updateable=False,
            createable=True,
        ),
    ]  # fmt: skip


def tooling_schema() -> SfSchema:
    """The Tooling API objects the sandbox answers queries on: CustomField."""
    schema = SfSchema()
    schema.add(
        _object(
            "CustomField",
            "Custom Field",
            [
                _f("DeveloperName", "string", length=40, label="Field Name"),
                _f("TableEnumOrId", "string", length=40, label="Table Enum or ID"),
                _f("NamespacePrefix", "string", length=15, label="Namespace Prefix"),
                _f("ManageableState", "picklist", length=40, label="Manageable State"),
            ],
            updateable=False,
        )
    )
    return schema

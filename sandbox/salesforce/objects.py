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
    "Lead": "00Q",
    "Quote": "0Q0",
    "QuoteDocument": "0QD",
    "Case": "500",
    "CaseHistory": "017",
    "CaseStatus": "01K",
    "Task": "00T",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "OpportunityLineItem": "00k",
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


@dataclass(frozen=True)
class ChildRelationship:
    """A parent-to-child relationship a subquery names: ``Case.Tasks`` is Task.WhatId."""

    name: str
    child: str
    field: str


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
    #: parent-to-child relationships by lower-cased name (``tasks`` → Task.WhatId)
    children: dict[str, ChildRelationship] = field(default_factory=dict)

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
    """Every sObject the sandbox serves, by lower-cased name.

    An object in ``unreadable`` is one the integration user's profile and permission sets
    give no Read on: as in an org, it is missing from describeGlobal, its describe is
    NOT_FOUND and a query naming it INVALID_TYPE (``get`` answers None); the org's own
    setup still reaches it through ``any_object``.
    """

    objects: dict[str, SfObject] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)

    def add(self, sf_object: SfObject) -> None:
        self.objects[sf_object.name.lower()] = sf_object

    def get(self, name: str) -> SfObject | None:
        """An object as the API user sees it (None: missing, or no Read on it)."""
        lowered = name.lower()
        return None if lowered in self.unreadable else self.objects.get(lowered)

    def any_object(self, name: str) -> SfObject | None:
        """An object whatever the user's object permissions say."""
        return self.objects.get(name.lower())

    def readable(self) -> list[SfObject]:
        """The objects the API user may read, in the schema's order."""
        return [o for lowered, o in self.objects.items() if lowered not in self.unreadable]


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
    for sf_object in activity_objects():
        schema.add(sf_object)
    for sf_object in permission_objects():
        schema.add(sf_object)
    return schema


def _with_children(sf_object: SfObject, *children: ChildRelationship) -> SfObject:
    for child in children:
        sf_object.children[child.name.lower()] = child
    return sf_object


def activity_objects() -> list[SfObject]:
    """Leads, quotes and their PDFs, cases with their history, tasks (logged calls and
    contacts), and opportunity products with the price book behind them: what the
    partner's funnel, customers and service read (standard API names and fields)."""
    return [
        _object(
            "Lead",
            "Lead",
            [
                _f("LastName", "string", length=80, nillable=False, updateable=True),
                _f("Company", "string", length=255, nillable=False, updateable=True),
                _f("Status", "picklist", length=255, nillable=False, updateable=True,
                   picklist_values=("Open", "Working", "Converted", "Disqualified")),
                _f("LeadSource", "picklist", length=255, updateable=True),
                _f("IsConverted", "boolean", nillable=False),
                _f("ConvertedDate", "date"),
                _ref("ConvertedOpportunityId", "Opportunity", "ConvertedOpportunity",
                     updateable=False),
                _ref("PartnerAccountId", "Account", "PartnerAccount"),
                _ref("OwnerId", "User", "Owner"),
            ],
        ),
        _with_children(_object(
            "Quote",
            "Quote",
            [
                _f("Name", "string", length=255, nillable=False, updateable=True),
                _ref("OpportunityId", "Opportunity", "Opportunity", updateable=False,
                     nillable=False),
                _f("Status", "picklist", length=40, updateable=True,
                   picklist_values=("Draft", "Needs Review", "In Review", "Approved",
                                    "Rejected", "Presented", "Accepted", "Denied")),
                _f("ExpirationDate", "date", updateable=True),
                _f("CurrencyIsoCode", "picklist", length=3),
            ],
        ), ChildRelationship("QuoteDocuments", "QuoteDocument", "QuoteId")),
        _object(
            "QuoteDocument",
            "Quote PDF",
            [
                _f("Name", "string", length=270),
                _ref("QuoteId", "Quote", "Quote", updateable=False, insertable=True,
                     nillable=False),
            ],
            updateable=False,
            createable=True,
        ),
        _with_children(_object(
            "Case",
            "Case",
            [
                _f("CaseNumber", "string", length=30, nillable=False),
                _f("Subject", "string", length=255, updateable=True),
                _ref("AccountId", "Account", "Account"),
                _f("Type", "picklist", length=255, updateable=True,
                   picklist_values=("Question", "Problem", "Feature Request", "Onboarding")),
                _f("Status", "picklist", length=255, nillable=False, updateable=True,
                   picklist_values=("New", "Working", "Escalated", "Closed")),
                _f("Origin", "picklist", length=255, updateable=True),
                _f("IsClosed", "boolean", nillable=False),
                _f("ClosedDate", "datetime"),
                _f("First_Contact_Resolved__c", "boolean", nillable=False, custom=True,
                   updateable=True, label="First Contact Resolved"),
                _ref("OwnerId", "User", "Owner"),
            ],
        ), ChildRelationship("Tasks", "Task", "WhatId"),
            ChildRelationship("Histories", "CaseHistory", "CaseId")),
        _object(
            "CaseHistory",
            "Case History",
            [
                _ref("CaseId", "Case", "Case", updateable=False),
                _f("Field", "picklist", length=255),
                _f("OldValue", "string", length=255, filterable=False, sortable=False),
                _f("NewValue", "string", length=255, filterable=False, sortable=False),
            ],
            updateable=False,
        ),
        _object(
            "CaseStatus",
            "Case Status Value",
            [
                _f("MasterLabel", "string", length=255),
                _f("ApiName", "string", length=255),
                _f("IsClosed", "boolean", nillable=False),
                _f("SortOrder", "int", precision=9),
            ],
            updateable=False,
        ),
        _object(
            "Task",
            "Task",
            [
                _f("Subject", "string", length=255, updateable=True),
                # polymorphic: an opportunity, a case, an account…; read by its id
                _f("WhatId", "reference", length=18, updateable=True,
                   relationship_name="What"),
                _f("TaskSubtype", "picklist", length=40, insertable=True,
                   picklist_values=("Task", "Email", "ListEmail", "Cadence", "Call",
                                    "LinkedIn")),
                _f("Status", "picklist", length=40, nillable=False, updateable=True,
                   picklist_values=("Not Started", "In Progress", "Completed")),
                _f("ActivityDate", "date", updateable=True),
                _f("CallDurationInSeconds", "int", precision=8, updateable=True),
                _f("CallDisposition", "string", length=255, updateable=True),
                _f("CallType", "picklist", length=40, updateable=True,
                   picklist_values=("Internal", "Inbound", "Outbound")),
                _f("IsClosed", "boolean", nillable=False),
                _ref("OwnerId", "User", "Owner"),
            ],
            createable=True,
        ),
        _object(
            "Product2",
            "Product",
            [
                _f("Name", "string", length=255, nillable=False, updateable=True,
                   label="Product Name"),
                _f("ProductCode", "string", length=255, updateable=True),
                _f("Family", "picklist", length=255, updateable=True),
                _f("IsActive", "boolean", nillable=False, updateable=True),
            ],
        ),
        _object(
            "Pricebook2",
            "Price Book",
            [
                _f("Name", "string", length=255, nillable=False, updateable=True),
                _f("IsActive", "boolean", nillable=False, updateable=True),
                _f("IsStandard", "boolean", nillable=False),
            ],
        ),
        _object(
            "PricebookEntry",
            "Price Book Entry",
            [
                _ref("Pricebook2Id", "Pricebook2", "Pricebook2", updateable=False),
                _ref("Product2Id", "Product2", "Product2", updateable=False),
                _f("UnitPrice", "currency", precision=18, scale=2, updateable=True),
                _f("IsActive", "boolean", nillable=False, updateable=True),
                _f("CurrencyIsoCode", "picklist", length=3),
            ],
        ),
        _object(
            "OpportunityLineItem",
            "Opportunity Product",
            [
                _ref("OpportunityId", "Opportunity", "Opportunity", updateable=False),
                _ref("PricebookEntryId", "PricebookEntry", "PricebookEntry",
                     updateable=False),
                _ref("Product2Id", "Product2", "Product2", updateable=False),
                _f("Quantity", "double", precision=12, scale=2, updateable=True),
                _f("UnitPrice", "currency", precision=18, scale=2, updateable=True),
                _f("TotalPrice", "currency", precision=18, scale=2, updateable=True),
                _f("CurrencyIsoCode", "picklist", length=3),
            ],
        ),
    ]  # fmt: skip


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

"""Describe results in Salesforce's shape (see ../shared/data/reference/salesforce/)."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.objects import SfField, SfObject, SfSchema

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
    "location": "urn:location",
}


def object_urls(sf_object: SfObject, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sf_object.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def global_entry(sf_object: SfObject, version: str) -> dict[str, Any]:
    """One entry of describeGlobal's ``sobjects``."""
    return {
        "name": sf_object.name,
        "label": sf_object.label,
        "labelPlural": sf_object.label + "s",
        "custom": False,
        "keyPrefix": sf_object.key_prefix,
        "layoutable": True,
        "activateable": False,
        "updateable": sf_object.updateable,
        "createable": sf_object.updateable or sf_object.createable,
        "deletable": sf_object.updateable,
        "queryable": sf_object.queryable,
        "retrieveable": True,
        "searchable": True,
        "replicateable": True,
        "triggerable": True,
        "undeletable": sf_object.updateable,
        "mergeable": False,
        "customSetting": False,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "urls": object_urls(sf_object, version),
    }


def describe_global(schema: SfSchema, version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [global_entry(o, version) for o in schema.readable()],
    }


def describe_field(sf_field: SfField) -> dict[str, Any]:
    """One field of a describe, with the keys a describe carries."""
    return {
        "name": sf_field.name,
        "label": sf_field.label,
        "type": sf_field.type,
        "soapType": _SOAP_TYPES.get(sf_field.type, "xsd:string"),
        "length": sf_field.length,
        "byteLength": sf_field.length * 3,
        "precision": sf_field.precision,
        "scale": sf_field.scale,
        "digits": sf_field.precision if sf_field.type == "int" else 0,
        "custom": sf_field.custom,
        "nillable": sf_field.nillable,
        "updateable": sf_field.updateable,
        "createable": sf_field.createable,
        "filterable": sf_field.filterable,
        "sortable": sf_field.sortable,
        "groupable": sf_field.type not in ("double", "currency", "percent", "textarea"),
        "calculated": False,
        "unique": False,
        "externalId": False,
        "idLookup": sf_field.name == "Id",
        "nameField": sf_field.name == "Name",
        "caseSensitive": False,
        "defaultValue": None,
        "defaultedOnCreate": sf_field.name in ("Id", "CreatedDate", "IsDeleted")
        or (sf_field.type == "boolean" and sf_field.createable),
        "autoNumber": False,
        "htmlFormatted": False,
        "dependentPicklist": False,
        "restrictedPicklist": sf_field.custom and bool(sf_field.picklist_values),
        "picklistValues": [
            {
                "active": v not in sf_field.inactive_values,
                "defaultValue": False,
                "label": v,
                "validFor": None,
                "value": v,
            }
            for v in sf_field.picklist_values
        ],
        "referenceTo": [sf_field.reference_to] if sf_field.reference_to else [],
        "relationshipName": sf_field.relationship_name,
        "relationshipOrder": None,
        "deprecatedAndHidden": False,
        "inlineHelpText": None,
        "controllerName": None,
        "calculatedFormula": None,
        "defaultValueFormula": None,
        "namePointing": False,
        "writeRequiresMasterRead": False,
    }


def describe_object(sf_object: SfObject, version: str) -> dict[str, Any]:
    return {
        **global_entry(sf_object, version),
        "fields": [describe_field(f) for f in sf_object.visible_fields()],
        "childRelationships": [
            {
                "field": child.field,
                "deprecatedAndHidden": False,
                "relationshipName": child.name,
                "cascadeDelete": False,
                "childSObject": child.child,
            }
            for child in sf_object.children.values()
        ],
        "recordTypeInfos": [],
        "listviewable": None,
        "lookupLayoutable": None,
        "searchLayoutable": True,
    }

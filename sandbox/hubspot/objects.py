"""The CRM object types the sandbox portal holds, and how URLs name them.

HubSpot accepts an object type by its plural name (``deals``), its singular
(``deal``) or its type id (``0-3``); every name resolves to one ``ObjectType``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.hubspot.errors import HubSpotApiError

#: The column that holds the record id (it is also the hs_object_id property).
ID_COLUMN = "hs_object_id"
#: Internal columns (property names start with a letter, so these never clash).
ARCHIVED_COLUMN = "__archived"
ARCHIVED_AT_COLUMN = "__archived_at"
#: Properties every object read returns besides the requested ones.
SYSTEM_PROPERTIES = ("createdate", "hs_lastmodifieddate", "hs_object_id")


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type: its names, table and the properties reads return by default."""

    name: str
    singular: str
    type_id: str
    default_properties: tuple[str, ...]
    query_properties: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"hs_{self.name}"

    @property
    def upper(self) -> str:
        """The name HubSpot uses in messages: COMPANY, DEAL."""
        return self.singular.upper()

    def __deepcopy__(self, memo: dict[int, object]) -> ObjectType:
        """Itself: there is one of each type (code compares them with ``is``), also in the
        copy of a portal that a sandbox's reset makes."""
        return self


COMPANIES = ObjectType(
    name="companies",
    singular="company",
    type_id="0-2",
    default_properties=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    query_properties=("website", "phone", "name", "domain"),
)
DEALS = ObjectType(
    name="deals",
    singular="deal",
    type_id="0-3",
    default_properties=(
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    query_properties=("dealname", "pipeline", "dealstage", "description", "dealtype"),
)
OBJECT_TYPES = (COMPANIES, DEALS)
_BY_NAME = {
    alias: object_type
    for object_type in OBJECT_TYPES
    for alias in (object_type.name, object_type.singular, object_type.type_id)
}


def resolve_object_type(name: str) -> ObjectType:
    """The object type a URL names, or HubSpot's 400 for an unknown one."""
    object_type = _BY_NAME.get(name.lower())
    if object_type is None:
        raise HubSpotApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
    return object_type

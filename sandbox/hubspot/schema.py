"""The portal's property definitions: HubSpot's standard ones plus the portal's custom ones.

Standard properties keep HubSpot's internal names, types and groups (name,
domain, type, annualrevenue…; dealname, amount, dealstage, closedate…), with
read-only and calculated ones marked so writes to them are refused. Custom
properties are the ones an admin of a partner-program portal would have made:
``region`` and ``channel_manager`` on companies, ``lead_source`` on deals.
Enumeration options come from the values the seed holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.seed import SeedDataset
from connectors.seed.mapping import LEAD_SOURCE_CHOICES
from sandbox.hubspot.pipelines import Pipeline
from sandbox.hubspot.properties import (
    HsProperty,
    PropertyGroup,
    bool_options,
    options_of,
)

CUSTOM_GROUP = PropertyGroup("partnerinformation", "Partner information", 10)
COMPANY_GROUPS = (
    PropertyGroup("companyinformation", "Company information", 0),
    PropertyGroup("company_activity", "Company activity", 1),
    CUSTOM_GROUP,
)
DEAL_GROUPS = (
    PropertyGroup("dealinformation", "Deal information", 0),
    PropertyGroup("deal_activity", "Deal activity", 1),
    PropertyGroup("dealstages", "Deal stage history", 2),
    CUSTOM_GROUP,
)
COMPANY_TYPES = {
    "PROSPECT": "Prospect",
    "PARTNER": "Partner",
    "RESELLER": "Reseller",
    "VENDOR": "Vendor",
    "OTHER": "Other",
}
DEAL_TYPES = {"newbusiness": "New Business", "existingbusiness": "Existing Business"}
#: accounts.csv columns with a standard company property of their own.
ACCOUNT_COLUMNS = {
    "sector": "industry",
    "year_established": "founded_year",
    "revenue": "annualrevenue",
    "employees": "numberofemployees",
    "office_location": "country",
    "subsidiary_of": "hs_parent_company_id",
}


@dataclass(frozen=True)
class PropertyDef:
    """A compact property definition; ``build`` turns it into an HsProperty."""

    name: str
    label: str
    type: str
    field_type: str
    group: str
    read_only: bool = False
    calculated: bool = False
    custom: bool = False
    currency: bool = False
    options: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    def build(self, order: int, created_at: int) -> HsProperty:
        if self.type == "bool":
            options = bool_options()
        elif self.type == "enumeration":
            options = options_of(self.options, dict(self.labels))
        else:
            options = ()
        return HsProperty(
            name=self.name,
            label=self.label,
            type=self.type,
            field_type=self.field_type,
            group_name=self.group,
            created_at=created_at,
            options=options,
            display_order=order if self.custom else -1,
            hubspot_defined=not self.custom,
            read_only=self.read_only,
            calculated=self.calculated,
            form_field=not self.read_only,
            show_currency_symbol=self.currency,
        )


def text_definition(name: str, label: str, group: str, **kwargs: object) -> PropertyDef:
    return PropertyDef(name, label, "string", "text", group, **kwargs)  # type: ignore[arg-type]


def system_definitions(group: str) -> list[PropertyDef]:
    return [
        PropertyDef("createdate", "Create Date", "datetime", "date", group, read_only=True),
        PropertyDef("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group,
             read_only=True, calculated=True),
        PropertyDef("hs_object_id", "Record ID", "number", "number", group, read_only=True,
             calculated=True),
    ]  # fmt: skip


def extra_account_columns(dataset: SeedDataset) -> dict[str, str]:
    """accounts.csv columns without a standard property → the custom property they become."""
    columns = {column for customer in dataset.customers for column in customer.fields}
    extra: dict[str, str] = {}
    for column in sorted(columns - ACCOUNT_COLUMNS.keys()):
        name = "".join(ch if ch.isalnum() else "_" for ch in column.lower()).strip("_")
        if not name or not name[0].isalpha() or name.startswith("hs_"):
            name = f"seed_{name}"
        extra[column] = name
    return extra


def company_properties(dataset: SeedDataset, created_at: int) -> list[HsProperty]:
    """Every company property of the portal."""
    info = "companyinformation"
    industries = sorted({c.fields.get("sector", "") for c in dataset.customers} - {""})
    definitions = [
        *system_definitions(info),
        text_definition("name", "Company name", info),
        text_definition("domain", "Company Domain Name", info),
        text_definition("website", "Website URL", info),
        PropertyDef("phone", "Phone Number", "string", "phonenumber", info),
        text_definition("city", "City", info),
        text_definition("country", "Country/Region", info),
        PropertyDef("industry", "Industry", "enumeration", "select", info,
                    options=tuple(industries)),
        PropertyDef("type", "Type", "enumeration", "select", info, options=tuple(COMPANY_TYPES),
             labels=tuple(COMPANY_TYPES.items())),
        PropertyDef("annualrevenue", "Annual Revenue", "number", "number", info, currency=True),
        PropertyDef("numberofemployees", "Number of Employees", "number", "number", info),
        text_definition("founded_year", "Year Founded", info),
        PropertyDef("description", "Description", "string", "textarea", info),
        PropertyDef("hs_parent_company_id", "Parent Company", "number", "number", info,
             read_only=True, calculated=True),
        text_definition("region", "Region", CUSTOM_GROUP.name, custom=True),
        text_definition("channel_manager", "Channel manager", CUSTOM_GROUP.name, custom=True),
        *(
            text_definition(name, column.replace("_", " ").capitalize(), CUSTOM_GROUP.name,
                            custom=True)
            for column, name in extra_account_columns(dataset).items()
        ),
    ]  # fmt: skip
    return [d.build(order, created_at) for order, d in enumerate(definitions)]


def deal_properties(
    dataset: SeedDataset,
    pipeline: Pipeline,
    created_at: int,
    *,
    deal_types: Iterable[str] = (),
    lead_sources: Iterable[str] = (),
) -> list[HsProperty]:
    """Every deal property of the portal, including the per-stage entered/exited dates.

    ``deal_types`` and ``lead_sources`` are the values the seeded deals hold; the
    enumerations offer them besides HubSpot's and the README's standard ones.
    """
    info = "dealinformation"
    deal_type_values = [*DEAL_TYPES, *sorted(set(deal_types) - DEAL_TYPES.keys())]
    lead_source_values = [
        *LEAD_SOURCE_CHOICES,
        *sorted(set(lead_sources) - set(LEAD_SOURCE_CHOICES)),
    ]
    stage_labels = tuple((stage.id, stage.label) for stage in pipeline.stages)
    definitions = [
        *system_definitions(info),
        text_definition("dealname", "Deal Name", info),
        PropertyDef("amount", "Amount", "number", "number", info, currency=True),
        PropertyDef("deal_currency_code", "Currency", "enumeration", "select", info,
             options=tuple(dataset.currencies.rates)),
        PropertyDef("amount_in_home_currency", "Amount in company currency", "number", "number",
                    info,
             read_only=True, calculated=True, currency=True),
        PropertyDef("pipeline", "Pipeline", "enumeration", "select", info, options=(pipeline.id,),
             labels=((pipeline.id, pipeline.label),)),
        PropertyDef("dealstage", "Deal Stage", "enumeration", "radio", info,
             options=tuple(stage.id for stage in pipeline.stages), labels=stage_labels),
        PropertyDef("closedate", "Close Date", "datetime", "date", info),
        PropertyDef("dealtype", "Deal Type", "enumeration", "radio", info,
                    options=tuple(deal_type_values),
             labels=tuple(DEAL_TYPES.items())),
        PropertyDef("description", "Deal Description", "string", "textarea", info),
        PropertyDef("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", info,
             read_only=True, calculated=True),
        PropertyDef("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", info,
             read_only=True, calculated=True),
        PropertyDef("hs_is_closed_lost", "Is closed lost", "bool", "booleancheckbox", info,
             read_only=True, calculated=True),
        PropertyDef("hs_deal_stage_probability", "Deal probability", "number", "number", info,
             read_only=True, calculated=True),
        PropertyDef("lead_source", "Lead source", "enumeration", "select", CUSTOM_GROUP.name,
             custom=True, options=tuple(lead_source_values)),
        *stage_date_definitions(pipeline),
    ]  # fmt: skip
    return [d.build(order, created_at) for order, d in enumerate(definitions)]


def stage_date_definitions(pipeline: Pipeline) -> Iterable[PropertyDef]:
    """hs_v2_date_entered_<stageId> / hs_v2_date_exited_<stageId> for every stage."""
    for stage in pipeline.stages:
        where = f'"{stage.label} ({pipeline.label})"'
        yield PropertyDef(f"hs_v2_date_entered_{stage.id}", f"Date entered {where}", "datetime",
                          "date",
                   "dealstages", read_only=True, calculated=True)  # fmt: skip
        yield PropertyDef(f"hs_v2_date_exited_{stage.id}", f"Date exited {where}", "datetime",
                          "date",
                   "dealstages", read_only=True, calculated=True)  # fmt: skip

"""How to reach a HubSpot account: the ``crm:`` config section when ``type: hubspot``.

The private-app token is never in the file: ``access_token_env`` names the
environment variable that holds it. Besides the connection, the section says
how partners and their deals are found (a company property filter, a deal→company
association label), which deal property holds the lead source, how incremental
reads overlap, and how much of the daily API quota a run may use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator

from connectors.retry import RetrySettings
from core.config_values import EnvVarName

DEFAULT_PARTNER_PROPERTY = "type"
DEFAULT_PARTNER_VALUE = "PARTNER"
DEFAULT_PARTNER_LABEL = "Reseller"
DEFAULT_LEAD_SOURCE_PROPERTY = "lead_source"

#: HubSpot's default call outcomes (hs_call_disposition GUIDs; developers.hubspot.com,
#: calls API): Connected, No answer and Left voicemail; Busy, Wrong number and Left live
#: message are other outcomes.
CallOutcomeName = Literal["connected", "no_answer", "voicemail"]
DEFAULT_CALL_DISPOSITIONS: dict[str, CallOutcomeName] = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "connected",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "no_answer",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "voicemail",
}

#: HubSpot property internal names: lowercase letters, digits and underscores.
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class HubSpotSettings(RetrySettings):
    """Connection, authentication and read policy for one HubSpot account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["hubspot"]
    base_url: str = "https://api.hubapi.com"
    access_token_env: EnvVarName = Field(
        default="PARTNER_KPI_HUBSPOT_TOKEN",
        min_length=1,
        description="environment variable holding the private app's access token",
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM file of CAs to trust (the sandbox, a corporate proxy)"
    )

    # --- what is read --------------------------------------------------------------
    partner_property: str = Field(
        default=DEFAULT_PARTNER_PROPERTY,
        description="company property that marks partner companies",
    )
    partner_value: str = Field(
        default=DEFAULT_PARTNER_VALUE,
        min_length=1,
        description="value of partner_property that a partner company holds (exact match)",
    )
    partner_label: str = Field(
        default=DEFAULT_PARTNER_LABEL,
        min_length=1,
        description="deal→company association label that attributes a deal to its partner",
    )
    partner_region_property: str | None = Field(
        default="region", description="company property holding the partner's region, or null"
    )
    partner_channel_manager_property: str | None = Field(
        default="channel_manager",
        description="company property holding the partner's channel manager, or null",
    )
    partner_tier_property: str | None = Field(
        default=None, description="company property holding the partner's tier, or null"
    )
    lead_source_property: str = Field(
        default=DEFAULT_LEAD_SOURCE_PROPERTY,
        description="deal property holding the lead source (its raw value is kept)",
    )
    pipeline: str | None = Field(
        default=None,
        description="deal pipeline to read (id or label); null reads every deal pipeline",
    )
    company_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="the account's company currency, for deals without deal_currency_code",
    )
    stage_history: Literal["stage_dates", "property_history"] = Field(
        default="stage_dates",
        description=(
            "stage_dates: derive stage history from hs_v2_date_entered/exited where they "
            "prove it complete (history read only for the other deals); property_history: "
            "read every deal's dealstage history (50 deals a call)"
        ),
    )
    # --- the activity objects (leads, quotes, tickets, calls, line items) -------------------
    leads_from: Literal["leads", "contacts"] = Field(
        default="leads",
        description=(
            "leads: the Leads object (Sales Hub Professional and up); contacts: contacts "
            "that became leads (lifecyclestage, hs_lead_status), converted when they became "
            "an opportunity"
        ),
    )
    lead_partner_label: str = Field(
        default=DEFAULT_PARTNER_LABEL,
        min_length=1,
        description="lead→company association label that attributes a lead to its partner",
    )
    lead_converted_stages: tuple[str, ...] = Field(
        default=("Qualified",),
        min_length=1,
        description="lead pipeline stages (labels) a lead enters when it is converted",
    )
    quote_sent_property: str | None = Field(
        default=None,
        description="quote date property that holds when a quote was sent, or null (then: "
        "when its hs_status history first shows it published)",
    )
    ticket_type_property: str = Field(
        default="hs_ticket_category",
        description="ticket property holding the case type (its option label is the type)",
    )
    line_item_product_property: str = Field(
        default="name",
        description="line item property naming its product (name, or hs_product_id)",
    )
    call_dispositions: dict[str, CallOutcomeName] = Field(
        default_factory=lambda: dict(DEFAULT_CALL_DISPOSITIONS),
        description="hs_call_disposition GUID → call outcome (others are 'other')",
    )
    timezone: str = Field(
        default="UTC",
        description="the account's time zone: create and close datetimes become its dates",
    )

    # overlap, quota share and retries: RetrySettings (connectors/retry.py)

    # --- writeback (issue 5) ---------------------------------------------------------
    score_property_group: str = Field(
        default="partner_kpis",
        description="company property group that ensure_fields creates score properties in",
    )
    score_property_group_label: str = Field(default="partner-kpi scores", min_length=1)

    @field_validator(
        "partner_property",
        "lead_source_property",
        "ticket_type_property",
        "quote_sent_property",
        "line_item_product_property",
        "partner_region_property",
        "partner_channel_manager_property",
        "partner_tier_property",
        "score_property_group",
    )
    @classmethod
    def _is_property_name(cls, value: str | None) -> str | None:
        if value is not None and not PROPERTY_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a HubSpot property internal name "
                "(lowercase letters, digits and underscores, e.g. lead_source)"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _is_https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("use an https:// URL (HubSpot refuses plain HTTP)")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _is_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone (e.g. UTC, Europe/Berlin); use the "
                "time zone of the HubSpot account (Settings → Account defaults)"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The account's time zone."""
        return ZoneInfo(self.timezone)

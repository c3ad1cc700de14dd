"""How to reach a Salesforce org: the ``crm:`` config section when ``type: salesforce``.

Secrets are never in the file: each secret key names the environment variable
that holds it. Besides the connection, the section says how partners and their
deals are found (filter, attribution), how incremental reads overlap, when a
read switches to the Bulk API, and how much of the daily API quota a run may use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from connectors.retry import RetrySettings
from connectors.salesforce.queries import COLLECTION_SIZE
from core.adapter import CrmWritebackSettings
from core.config_values import EnvVarName, Number, WholeNumber

DEFAULT_API_VERSION = "60.0"
DEFAULT_PARTNER_FILTER = "IsPartner = true"
DEFAULT_PARTNER_ROLE = "Reseller"

_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
#: SOQL words that would let a WHERE fragment escape its parentheses into another clause.
_CLAUSE_WORDS = frozenset(
    {"select", "from", "where", "group", "having", "order", "limit", "offset", "with",
     "using", "typeof", "for", "update", "view", "reference", "tracking"}
)  # fmt: skip


def check_soql_condition(condition: str) -> str:
    """``condition`` if it can sit inside ``WHERE (…)`` as one condition, else ValueError.

    The filter is user config, not an attacker's input, but a stray quote,
    parenthesis or clause keyword would turn into a confusing MALFORMED_QUERY or,
    worse, a query that silently means something else. String literals (with
    SOQL's backslash escapes) are skipped; outside them the parentheses must
    balance and no clause keyword or semicolon may appear.
    """
    text = condition.strip()
    if not text:
        raise ValueError("the filter is empty; write a SOQL condition such as IsPartner = true")
    depth = 0
    index = 0
    words: list[str] = []
    word = ""
    while index < len(text):
        char = text[index]
        if char == "'":
            index += 1
            while index < len(text) and text[index] != "'":
                index += 2 if text[index] == "\\" else 1
            if index >= len(text):
                raise ValueError("a string literal is not closed; end it with a single quote")
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("a ')' has no matching '('")
        elif char in ';`"':
            raise ValueError(f"{char!r} cannot appear in a SOQL condition")
        if char.isalnum() or char == "_":
            word += char
        else:
            if word:
                words.append(word)
            word = ""
        index += 1
    if word:
        words.append(word)
    if depth:
        raise ValueError("a '(' is not closed")
    clause = sorted({w for w in words if w.lower() in _CLAUSE_WORDS})
    if clause:
        raise ValueError(
            f"only a condition is allowed, found the clause keyword {', '.join(clause)}; "
            "write just what goes inside WHERE (…)"
        )
    return text


#: a call outcome's name (``core.schema.CallOutcome``) as the settings take it
CallOutcomeName = Literal["connected", "no_answer", "voicemail", "other"]
#: the CallDisposition texts of common CTI adapters, as outcomes
_DEFAULT_DISPOSITIONS: dict[str, CallOutcomeName] = {
    "Connected": "connected",
    "No Answer": "no_answer",
    "Busy": "no_answer",
    "Left Voicemail": "voicemail",
    "Voicemail": "voicemail",
}


class SalesforceSettings(RetrySettings):
    """Connection, authentication and read policy for one Salesforce org."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["salesforce"]
    login_url: str = Field(
        default="https://login.salesforce.com",
        description="OAuth host: login or test.salesforce.com, a My Domain, or the sandbox",
    )
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^\d{2,3}\.0$")
    auth_flow: Literal["password", "client_credentials", "refresh_token", "jwt"] = "password"
    client_id_env: EnvVarName = "PARTNER_KPI_SF_CLIENT_ID"
    client_secret_env: EnvVarName = "PARTNER_KPI_SF_CLIENT_SECRET"
    username_env: EnvVarName = "PARTNER_KPI_SF_USERNAME"
    password_env: EnvVarName = "PARTNER_KPI_SF_PASSWORD"
    security_token_env: EnvVarName = "PARTNER_KPI_SF_SECURITY_TOKEN"
    refresh_token_env: EnvVarName = "PARTNER_KPI_SF_REFRESH_TOKEN"
    private_key_file_env: EnvVarName = "PARTNER_KPI_SF_PRIVATE_KEY_FILE"
    jwt_audience: str | None = Field(
        default=None,
        description="JWT 'aud': login or test.salesforce.com (default: login_url)",
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM file of CAs to trust (the sandbox, a corporate proxy)"
    )

    # --- what is read --------------------------------------------------------------
    partner_filter: str = Field(
        default=DEFAULT_PARTNER_FILTER,
        description="SOQL condition selecting partner Accounts, embedded as WHERE (…)",
    )
    partner_attribution: Literal["partner_account_id", "opportunity_partner"] = Field(
        default="partner_account_id",
        description="Opportunity.PartnerAccountId, or the primary OpportunityPartner of a role",
    )
    partner_role: str = Field(
        default=DEFAULT_PARTNER_ROLE,
        min_length=1,
        description="OpportunityPartner.Role that attributes a deal (opportunity_partner only)",
    )
    partner_region_field: str | None = Field(
        default="Region__c", description="Account field holding the partner's region, or null"
    )
    partner_tier_field: str | None = Field(
        default=None, description="Account field holding the partner's tier, or null"
    )
    org_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="the org's currency when it has only one (multi-currency orgs name theirs)",
    )

    # --- the partner's funnel, customers and service (issue 12) ------------------------
    quote_sent_source: Literal["quote_document", "field"] = Field(
        default="quote_document",
        description="when a Quote was sent: its first QuoteDocument (the PDF 'Email Quote' "
        "sends), or the date field quote_sent_field names",
    )
    quote_sent_field: str | None = Field(
        default=None, description="Quote date/datetime field holding the sent date"
    )
    call_dispositions: dict[str, CallOutcomeName] = Field(
        default_factory=lambda: dict(_DEFAULT_DISPOSITIONS),
        description="Task.CallDisposition (any case) → call outcome; others are 'other'",
    )

    # --- how it is read (overlap, quota share, retries: RetrySettings) ---------------
    bulk_threshold: WholeNumber = Field(
        default=50_000, ge=1, description="reads of at least this many records use Bulk API 2.0"
    )
    bulk_write_threshold: WholeNumber = Field(
        default=2_000,
        ge=COLLECTION_SIZE,
        description="a writeback of more changed records than this sends them as Bulk API "
        "2.0 update jobs (up to 10,000 records each) instead of sObject Collections calls of 200",
    )
    bulk_poll_seconds: Number = Field(default=2.0, ge=0.0)
    bulk_timeout_seconds: Number = Field(default=3600.0, gt=0.0)

    @field_validator("partner_filter")
    @classmethod
    def _filter_is_one_condition(cls, value: str) -> str:
        return check_soql_condition(value)

    @field_validator("partner_region_field", "partner_tier_field", "quote_sent_field")
    @classmethod
    def _is_field_name(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD_NAME.match(value):
            raise ValueError(f"{value!r} is not a Salesforce field API name (e.g. Region__c)")
        return value

    @model_validator(mode="after")
    def _sent_field_named(self) -> SalesforceSettings:
        if self.quote_sent_source == "field" and not self.quote_sent_field:
            raise ValueError("quote_sent_source: field needs quote_sent_field (e.g. Sent_Date__c)")
        return self

    @field_validator("login_url")
    @classmethod
    def _is_https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("use an https:// URL (Salesforce refuses plain HTTP)")
        return value.rstrip("/")


#: The permission set that ``fields create`` grants the score fields through.
DEFAULT_PERMISSION_SET = "Partner_KPI_Writeback"
#: A permission set's API name: a letter, then letters, digits and single underscores.
_PERMISSION_SET_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$")


class SalesforceWritebackSettings(CrmWritebackSettings):
    """Salesforce's own ``writeback:`` keys: field-level security is granted through a
    permission set, since a field made through the API is visible to no user until then."""

    permission_set: str = Field(
        default=DEFAULT_PERMISSION_SET,
        description="the permission set that gives the integration user read and edit "
        "access to the fields (made and assigned by fields create)",
    )

    @field_validator("permission_set")
    @classmethod
    def _api_name(cls, value: str) -> str:
        if len(value) > 80 or not _PERMISSION_SET_NAME.match(value) or value.endswith("_"):
            raise ValueError(
                f"{value!r} is not a permission set API name: use up to 80 letters, digits "
                "and single underscores, starting with a letter and not ending with an "
                f"underscore (e.g. {DEFAULT_PERMISSION_SET})"
            )
        return value

    def access_grant(self) -> str | None:
        return self.permission_set

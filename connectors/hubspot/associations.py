"""Which deal→company associations make a company a deal's partner, and its customer.

The partner is the company associated with the configured label's type id, the
customer the one associated as Primary. The label is matched against the label
definitions once; each association is then compared by (category, typeId), never
by its text (labels are renamed and translated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.hubspot.mapping import AssociatedCompany, LabelDef
from connectors.hubspot.queries import (
    PRIMARY_CATEGORY,
    PRIMARY_DEAL_TO_COMPANY_TYPE_ID,
    PRIMARY_LABEL,
)
from core.errors import ConfigError


@dataclass(frozen=True)
class Attribution:
    """The association types that make a company a deal's partner and its customer."""

    partner: tuple[str, int]
    customer: tuple[str, int]

    def pick(self, companies: Sequence[AssociatedCompany]) -> tuple[str | None, str | None]:
        """(partner id, customer id) of a deal; the lowest id wins if several carry a type."""
        partners = sorted(
            (c.company_id for c in companies if self.partner in c.types), key=_id_order
        )
        customers = sorted(
            (c.company_id for c in companies if self.customer in c.types), key=_id_order
        )
        return (partners[0] if partners else None, customers[0] if customers else None)


def _id_order(record_id: str) -> tuple[int, str]:
    return (int(record_id), record_id) if record_id.isdigit() else (0, record_id)


def attribution(labels: Sequence[LabelDef], partner_label: str) -> Attribution:
    """Find the partner label's (category, typeId) among the label definitions.

    The label is matched against the definitions once, exactly (then ignoring
    case); each association is then compared by type id only.
    """
    named = [d for d in labels if d.label is not None]
    exact = [d for d in named if d.label == partner_label]
    loose = [d for d in named if d.label and d.label.casefold() == partner_label.casefold()]
    found = exact or loose
    if not found:
        known = ", ".join(sorted({d.label for d in named if d.label})) or "none"
        raise ConfigError(
            "crm.partner_label",
            f"no deal→company association label {partner_label!r} in this account "
            f"(labels: {known}); create it (Settings → Objects → Deals → Associations) "
            "or name an existing one",
        )
    if len({(d.category, d.type_id) for d in found}) > 1:
        raise ConfigError(
            "crm.partner_label",
            f"several deal→company labels are called {partner_label!r}; rename one in HubSpot",
        )
    primary = next(
        (d for d in labels if d.category == PRIMARY_CATEGORY and d.label == PRIMARY_LABEL),
        LabelDef(PRIMARY_CATEGORY, PRIMARY_DEAL_TO_COMPANY_TYPE_ID, PRIMARY_LABEL),
    )
    return Attribution(
        partner=(found[0].category, found[0].type_id), customer=(primary.category, primary.type_id)
    )

"""writeback.fields can name every KPI of the partner's funnel, customers and service."""

from __future__ import annotations

import pytest

from partner_kpi.config import parse_config
from tests.writeback.fakes import DEFAULTS
from writeback.spec import field_map

#: KPIS.md "The partner's funnel, customers and service": column → decimals its field keeps
FUNNEL_KPIS = {
    "lead_count": 0,
    "lead_conversion_rate": 4,
    "referral_count": 0,
    "customer_count": 0,
    "customer_growth": 4,
    "account_retention": 4,
    "revenue_retention": 4,
    "products_per_customer": 2,
    "tickets_per_customer": 2,
    "first_contact_resolution": 4,
    "onboarding_days": 2,
    "quote_turnaround_days": 2,
    "value_added_calls": 2,
}


@pytest.mark.parametrize(("name", "scale"), FUNNEL_KPIS.items())
def test_each_funnel_kpi_maps_to_a_number_field(name: str, scale: int) -> None:
    config = parse_config({"writeback": {"fields": {name: {}}}})
    mapped = field_map(config.writeback, DEFAULTS).by_output(name)
    assert mapped is not None
    assert (mapped.kind, mapped.scale) == ("number", scale)
    assert mapped.name == "Partner_" + "_".join(w.title() for w in name.split("_")) + "__c"

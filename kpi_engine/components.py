"""The score's default components and the channel groups: constants of KPIS.md that the
settings validate against and the KPI functions compute with.

A leaf module (it imports nothing of the engine), so that the settings may look KPIs up
in the catalogue while the catalogue's functions still know these names.
"""

from __future__ import annotations

#: Components of the composite score, in KPIS.md order, with their direction.
COMPONENTS: dict[str, str] = {
    "avg_deal_size": "higher",
    "deal_count": "higher",
    "pipeline_value": "higher",
    "close_rate_adj": "higher",
    "deal_velocity": "higher",
    "quality_score": "higher",
    "deal_success_adj": "higher",
    "sales_cycle_days": "lower",
}

CHANNEL_GROUPS = ("paid", "owned", "earned", "other", "unknown")

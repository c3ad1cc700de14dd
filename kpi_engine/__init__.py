"""The KPI engine: pure functions from common-schema records to partner scores.

No I/O and no clock: ``as_of`` is an argument. Definitions follow
../shared/design/KPIS.md; each KPI lives in ``kpi_engine.kpis`` by its name.
"""

from kpi_engine.engine import score_partners
from kpi_engine.result import (
    KPI_COLUMNS,
    NO_PARTNER,
    ChannelFigures,
    Drivers,
    PartnerKpis,
    PartnerScore,
    PortfolioSummary,
    ScoringResult,
)
from kpi_engine.settings import COMPONENTS, ScoringSettings, TierThresholds

__all__ = [
    "COMPONENTS",
    "KPI_COLUMNS",
    "NO_PARTNER",
    "ChannelFigures",
    "Drivers",
    "PartnerKpis",
    "PartnerScore",
    "PortfolioSummary",
    "ScoringResult",
    "ScoringSettings",
    "TierThresholds",
    "score_partners",
]

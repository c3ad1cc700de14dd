"""The KPI engine: pure functions from common-schema records to partner scores.

No I/O and no clock: ``as_of`` is an argument. Definitions follow
../shared/design/KPIS.md; each KPI is one entry of ``kpi_engine.catalogue.KPIS``.
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:
    from kpi_engine.catalogue import KPIS, PER_STAGE, Catalogue, Kind, Kpi
    from kpi_engine.components import COMPONENTS
    from kpi_engine.engine import score_partners
    from kpi_engine.frames import Activity
    from kpi_engine.result import (
        NO_PARTNER,
        TIERS,
        ChannelFigures,
        Drivers,
        KpiValue,
        PartnerKpis,
        PartnerScore,
        PortfolioSummary,
        ScoringResult,
        float_text,
        stage_days_text,
    )
    from kpi_engine.settings import ScoringSettings, TierThresholds

__all__ = [
    "COMPONENTS",
    "KPIS",
    "NO_PARTNER",
    "PER_STAGE",
    "TIERS",
    "Activity",
    "Catalogue",
    "ChannelFigures",
    "Drivers",
    "Kind",
    "Kpi",
    "KpiValue",
    "PartnerKpis",
    "PartnerScore",
    "PortfolioSummary",
    "ScoringResult",
    "ScoringSettings",
    "TierThresholds",
    "float_text",
    "score_partners",
    "stage_days_text",
]

if not TYPE_CHECKING:
    # settings and results are light (pydantic); the catalogue and the engine need Polars
    __getattr__ = lazy_exports(
        __name__,
        __all__,
        (
            "kpi_engine.result",
            "kpi_engine.components",
            "kpi_engine.settings",
            "kpi_engine.catalogue",
            "kpi_engine.engine",
            "kpi_engine.frames",
        ),
    )

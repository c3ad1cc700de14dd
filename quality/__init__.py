"""Data quality: plausibility rules every opportunity passes between extract and score.

A package of its own beside ``kpi_engine`` and, like it, pure (no I/O, no clock: ``as_of``
is an argument) and importing only ``core``: the app runs it on every path (a CRM's
store, a seed folder) and the engine never sees a record it left out. ``rules`` declares
each rule once, ``settings`` the ``quality:`` config section, ``check`` the judgement.
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:
    from quality.check import (
        Finding,
        QualityCheck,
        Suspect,
        check_opportunities,
        median_won_amount,
    )
    from quality.rules import RULES, RULES_BY_NAME, Rule
    from quality.settings import POLICIES, Policy, QualitySettings

__all__ = [
    "POLICIES",
    "RULES",
    "RULES_BY_NAME",
    "Finding",
    "Policy",
    "QualityCheck",
    "QualitySettings",
    "Rule",
    "Suspect",
    "check_opportunities",
    "median_won_amount",
]

if not TYPE_CHECKING:
    # the settings are light (pydantic); the rules and the check need Polars and PyArrow
    __getattr__ = lazy_exports(
        __name__,
        __all__,
        (
            "quality.settings",
            "quality.rules",
            "quality.check",
        ),
    )

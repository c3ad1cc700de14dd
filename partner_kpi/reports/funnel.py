"""The report's "Funnel, customers and service": the KPIs that read the CRM's objects
beyond opportunities (a catalogue entry with ``sources``), their portfolio figures, and
the objects the CRM lacks.

Nothing here names a KPI: the section is whatever the catalogue marks with ``sources``.
A KPI that needs an object the CRM does not have is null for every partner; the report
says "no lead data in the CRM" once for such an object instead of a column of blanks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.schema import ACTIVITY_ENTITIES
from kpi_engine import KPIS, Kpi
from partner_kpi.reports.kpi_text import format_kpi

#: A KPI's values over the partners, by KPI name (``partner_data.kpi_columns``).
Columns = Mapping[str, Sequence[float | None]]


def funnel_kpis() -> tuple[Kpi, ...]:
    """The numeric KPIs of the catalogue that read an object beyond opportunities."""
    return tuple(kpi for kpi in KPIS if kpi.sources and kpi.kind.numeric)


def object_label(stream: str) -> str:
    """An activity stream in words: 'line_items' is "line item"."""
    entity = ACTIVITY_ENTITIES.get(stream)
    return entity.label if entity is not None else stream.replace("_", " ")


def objects_in_words(streams: Sequence[str]) -> str:
    """'leads, cases and line items'."""
    words = [object_label(s) + "s" for s in streams]
    return " and ".join(filter(None, (", ".join(words[:-1]), *words[-1:])))


@dataclass(frozen=True)
class MissingObject:
    """An object the CRM lacks (every KPI reading it is null for every partner), with the
    KPIs it leaves empty."""

    stream: str
    kpis: tuple[Kpi, ...]

    @property
    def note(self) -> str:
        return f"no {object_label(self.stream)} data in the CRM"

    @property
    def labels(self) -> str:
        return ", ".join(kpi.label for kpi in self.kpis)


@dataclass(frozen=True)
class FunnelFigure:
    """One funnel KPI over the portfolio: its median partner and how many have a value."""

    kpi: Kpi
    median: float | None
    with_value: int
    partners: int

    @property
    def median_text(self) -> str:
        return format_kpi(self.kpi.kind, self.median)

    @property
    def share_text(self) -> str:
        """'33 of 35 (94%)': the partners with a value for this KPI."""
        share = round(100 * self.with_value / self.partners) if self.partners else 0
        return f"{self.with_value:,} of {self.partners:,} ({share}%)"

    @property
    def lower_is_better(self) -> bool:
        return self.kpi.direction == "lower"


@dataclass(frozen=True)
class Funnel:
    """The section's KPIs over the portfolio (all but those of a missing object), and the
    objects the CRM lacks."""

    figures: tuple[FunnelFigure, ...]
    missing: tuple[MissingObject, ...]
    #: the objects the section's KPIs read, in catalogue order
    streams: tuple[str, ...] = ()

    @property
    def missing_names(self) -> frozenset[str]:
        return frozenset(kpi.name for m in self.missing for kpi in m.kpis)

    @classmethod
    def of(cls, columns: Columns, medians: Mapping[str, float | None]) -> Funnel:
        """``columns``: each numeric KPI over the partners; ``medians``: their medians."""
        kpis = funnel_kpis()
        empty = {
            k.name for k in kpis if columns[k.name] and all(v is None for v in columns[k.name])
        }
        streams = list(dict.fromkeys(s for k in kpis for s in k.sources))
        # an object is missing when every KPI that reads it is null for every partner: a
        # CRM that has the object gives a count of it (0 or more) to some KPI
        lacking = [s for s in streams if all(k.name in empty for k in kpis if s in k.sources)]
        missing = tuple(
            MissingObject(
                stream,
                tuple(
                    k for k in kpis if next((s for s in k.sources if s in lacking), None) == stream
                ),
            )
            for stream in lacking
        )
        gone = {k.name for m in missing for k in m.kpis}
        figures = tuple(
            FunnelFigure(
                kpi,
                medians[kpi.name],
                sum(v is not None for v in columns[kpi.name]),
                len(columns[kpi.name]),
            )
            for kpi in kpis
            if kpi.name not in gone
        )
        return cls(figures, missing, tuple(streams))

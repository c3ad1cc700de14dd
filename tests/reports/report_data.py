"""Hand-made scoring results for the report tests, with CRM strings that try to break out.

AS_OF = 2017-12-31 and the default window, so W is the calendar year 2017
(see tests/kpi_engine/builders.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import pytest

from kpi_engine import KPIS, Activity, Kpi, ScoringResult, ScoringSettings, score_partners
from kpi_engine.catalogue import COUNT, DAYS, NEVER_ZERO, RATE
from kpi_engine.settings import DEFAULT_CHANNEL_MAP
from partner_kpi.reports.html import ScorePoint
from tests.kpi_engine.builders import AS_OF, event, lost, open_opp, partner, won

#: A partner name that would run script if it reached the page unescaped.
SCRIPT_NAME = "<script>alert(1)</script>"
#: A partner name that would end the <script> element holding chart JSON.
BREAKOUT_NAME = "</script><script>alert(2)</script>"
#: A partner id that would end an attribute value.
HOSTILE_ID = 'p2"><img src=x onerror=alert(3)>'
#: A stage name: it becomes a chart's axis label and a JSON string.
HOSTILE_STAGE = "</script><script>alert(4)</script>"
#: A raw lead source in the channel map.
HOSTILE_SOURCE = "<img src=x onerror=alert(5)>"
#: Something in the source description.
HOSTILE_PATH = "/data/<script>alert(6)</script>"
#: Ampersands must survive as text, not as entities.
AMPERSAND_NAME = "Quiet & Co <b>bold</b>"

HOSTILE_STRINGS = (SCRIPT_NAME, BREAKOUT_NAME, HOSTILE_ID, HOSTILE_STAGE, HOSTILE_SOURCE)

STAGE_ORDER = ("Prospecting", HOSTILE_STAGE, "Engaging", "Closed Won", "Closed Lost")


@dataclass(frozen=True)
class ReportInput:
    """Everything write_report_html needs."""

    result: ScoringResult
    settings: ScoringSettings
    source: dict[str, object]
    history: tuple[ScorePoint, ...]
    stage_order: tuple[str, ...]

    def kwargs(self, **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "settings": self.settings,
            "source": self.source,
            "history": self.history,
            "stage_order": self.stage_order,
        }
        base.update(overrides)
        return base


def hostile_input(activity: Activity | None = None) -> ReportInput:
    """Four partners (two with hostile names, one with no deals), a deal with no
    partner, a hostile stage and lead source, and one earlier run in the history;
    ``activity`` as given (default: the CRM has none of those objects)."""
    settings = ScoringSettings(channel_map={**DEFAULT_CHANNEL_MAP, HOSTILE_SOURCE: "earned"})
    partners = [
        partner("p1", "Acme Resellers"),
        partner(HOSTILE_ID, SCRIPT_NAME),
        partner("p3", BREAKOUT_NAME),
        partner("p4", AMPERSAND_NAME),
    ]
    opportunities = [
        won(
            "o1",
            "p1",
            1000.0,
            created=date(2017, 1, 10),
            closed=date(2017, 2, 9),
            account="a1",
            lead_source="Web",
        ),
        won(
            "o2",
            "p1",
            2000.0,
            created=date(2017, 3, 1),
            closed=date(2017, 4, 30),
            account="a2",
            lead_source="Paid Search",
        ),
        won(
            "o3",
            "p1",
            3000.0,
            created=date(2017, 5, 1),
            closed=date(2017, 5, 21),
            account="a1",
            lead_source="Web",
        ),
        lost("o4", "p1", created=date(2017, 6, 1), closed=date(2017, 7, 1)),
        open_opp("o5", "p1", 5000.0, created=date(2017, 11, 1)),
        won(
            "o6",
            HOSTILE_ID,
            500.0,
            created=date(2017, 8, 1),
            closed=date(2017, 9, 10),
            lead_source=HOSTILE_SOURCE,
        ),
        open_opp("o7", HOSTILE_ID, 800.0, created=date(2017, 12, 1), probability=0.25),
        lost("o8", "p3", created=date(2017, 4, 1), closed=date(2017, 4, 20)),
        won("o9", None, 700.0, created=date(2017, 2, 1), closed=date(2017, 3, 1)),
    ]
    events = [
        event("o1", "Prospecting", date(2017, 1, 10)),
        event("o1", "Engaging", date(2017, 1, 20), 1),
        event("o1", "Closed Won", date(2017, 2, 9), 2),
        event("o2", "Prospecting", date(2017, 3, 1)),
        event("o2", "Engaging", date(2017, 3, 31), 1),
        event("o2", "Closed Won", date(2017, 4, 30), 2),
        event("o6", HOSTILE_STAGE, date(2017, 8, 1)),
        event("o6", "Closed Won", date(2017, 9, 10), 1),
    ]
    result = score_partners(
        partners, opportunities, events, as_of=AS_OF, settings=settings, activity=activity
    )
    earlier = date(2017, 6, 30)
    history = (
        ScorePoint("run-1", earlier, "p1", 60.0, "Gold"),
        ScorePoint("run-1", earlier, HOSTILE_ID, 55.5, "Gold"),
        ScorePoint("run-1", earlier, "p3", 30.0, "Silver"),
        ScorePoint("run-1", earlier, "p-gone", 90.0, "Platinum"),
    )
    return ReportInput(
        result=result,
        settings=settings,
        source={"kind": "seed", "path": HOSTILE_PATH},
        history=history,
        stage_order=STAGE_ORDER,
    )


# -- the funnel, customers and service section, on a catalogue of toy KPIs ----------------
#
# The report lists whatever KPIs the catalogue marks with ``sources``; these toys stand in
# for KPIS.md's (they replace any real ones, so the figures below hold whatever the
# engine's catalogue holds). Over the hostile input's partners (deals won: Acme 3, the
# script-named partner 1, p3 and p4 none):

#: 3 × deals won: leads exist, every partner has a count (9, 3, 0, 0; median 1.5)
TOY_LEADS = Kpi(
    "toy_lead_count", COUNT, "higher", NEVER_ZERO,
    label="Leads (toy)", meaning="Three leads per deal won: a toy.",
    expression=3 * pl.col("deal_count"), sources=("leads",), funnel=True,
)  # fmt: skip
#: 2.5 days per deal won, null without one, lower is better (7.5, 2.5, null, null)
TOY_QUOTE_DAYS = Kpi(
    "toy_quote_days", DAYS, "lower", "none in W",
    label="Quote turnaround (toy)", meaning="2.5 days per deal won: a toy.",
    expression=pl.when(pl.col("deal_count") > 0).then(2.5 * pl.col("deal_count")),
    null_note="no quote sent in the window", sources=("quotes",), funnel=True,
)  # fmt: skip
#: null for every partner although leads exist: listed, each partner empty with its note
TOY_LEAD_CONVERSION = Kpi(
    "toy_lead_conversion", RATE, "higher", "none created in W",
    label="Lead conversion (toy)", meaning="Never known: a toy.",
    expression=pl.lit(None, dtype=pl.Float64), null_note="no lead created in the window",
    sources=("leads",), funnel=True,
)  # fmt: skip
#: null for every partner, and so is every other KPI of calls: the CRM has no calls
TOY_CALLS = Kpi(
    "toy_value_calls", RATE, "higher", "no call data",
    label="Value-added calls (toy)", meaning="Calls: a toy.",
    expression=pl.lit(None, dtype=pl.Float64), null_note="no call data",
    sources=("calls",), funnel=True,
)  # fmt: skip
#: reads calls and leads: empty with the calls (leads exist)
TOY_CALLS_PER_LEAD = Kpi(
    "toy_calls_per_lead", RATE, "higher", "no call data",
    label="Calls per lead (toy)", meaning="Calls over leads: a toy.",
    expression=pl.lit(None, dtype=pl.Float64), null_note="no call data",
    sources=("calls", "leads"), funnel=True,
)  # fmt: skip

TOY_FUNNEL = (TOY_LEADS, TOY_QUOTE_DAYS, TOY_LEAD_CONVERSION, TOY_CALLS, TOY_CALLS_PER_LEAD)
#: The CRM of the toys: it has leads and quotes (none of either: the toys compute from
#: the deals), and no calls, so the engine leaves the KPIs that read calls null.
TOY_ACTIVITY = Activity(leads=[], quotes=[])


def opportunity_kpis() -> tuple[Kpi, ...]:
    """The catalogue's KPIs outside the funnel section."""
    return tuple(kpi for kpi in KPIS.kpis if not kpi.funnel)


@contextmanager
def catalogue_of(*funnel: Kpi) -> Iterator[None]:
    """The production catalogue with ``funnel`` as its only KPIs of the funnel section."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(KPIS, "kpis", (*opportunity_kpis(), *funnel))
        yield


def kpi_texts(block: dict[str, Any], k: int) -> list[str]:
    """The texts the page shows of the data block's KPI ``k`` over the partners, as its
    script reads them (``text`` 0: each value as written)."""
    texts = block["partners"]["text"][k]
    if texts == 0:
        return [str(v) for v in block["partners"]["value"][k]]
    assert isinstance(texts, list)
    return texts

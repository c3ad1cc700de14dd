"""What each score output is worth for a partner, and how a field holds and compares it.

An *output* is something scoring produces that can go into a CRM field: the
score, the tier, the drivers text, the scoring date (``scored_at``) and every
KPI column of KPIS.md. A *kind* is how a field holds it: number (with a
scale), picklist, text, datetime.

Values are compared in a canonical form, never as the CRM or Python happen to
spell them: a number is a ``Decimal`` rounded half-up to the field's scale (so
71.04 and 71.0 are the same on a one-decimal field), text and picklist values
are strings with "" meaning empty, a datetime is an aware UTC datetime to the
millisecond. ``None`` is an empty field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from kpi_engine import Kpi, PartnerScore

Kind = Literal["number", "text", "picklist", "datetime"]
KINDS: tuple[Kind, ...] = ("number", "text", "picklist", "datetime")
#: A value in canonical form.
Canonical = Decimal | str | datetime | None


@dataclass(frozen=True)
class ScoreContext:
    """What an output's value depends on besides the partner's score."""

    as_of: date
    stage_order: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputDef:
    """One score output: the kinds of field it fits (the first is its default), the
    default precision, scale and text length, whether it is a *stamp*, and its value.

    A stamp (``scored_at``) is written along with a record's other changes but never
    makes a record change on its own, so an unchanged score costs no write.
    """

    name: str
    kinds: tuple[Kind, ...]
    value: Callable[[PartnerScore, ScoreContext], Any]
    precision: int = 18
    scale: int = 0
    length: int = 255
    stamp: bool = False
    label: str = ""

    @property
    def kind(self) -> Kind:
        return self.kinds[0]


def _scored_at(_score: PartnerScore, context: ScoreContext) -> datetime:
    return datetime.combine(context.as_of, time(0), tzinfo=UTC)


#: The outputs that are not KPIs.
_SCORE_OUTPUTS: dict[str, OutputDef] = {
    "score": OutputDef(
        "score", ("number", "text"), lambda s, _c: s.score, precision=4, scale=1,
        label="Partner score",
    ),
    "tier": OutputDef("tier", ("picklist", "text"), lambda s, _c: s.tier, label="Partner tier"),
    "drivers": OutputDef(
        "drivers", ("text",), lambda s, _c: s.drivers_text(), label="Partner score drivers"
    ),
    "scored_at": OutputDef(
        "scored_at", ("datetime", "text"), _scored_at, stamp=True, label="Partner scored at"
    ),
}  # fmt: skip


def _kpi_output(kpi: Kpi) -> OutputDef:
    """A KPI as an output: a number field at its kind's decimals, else a text field."""
    from kpi_engine import PER_STAGE, stage_days_text

    name = kpi.name
    label = "Partner " + name.replace("_", " ")
    if kpi.kind is PER_STAGE:
        return OutputDef(
            name,
            ("text",),
            lambda s, c: stage_days_text(s.kpis.per_stage(name), c.stage_order),
            label=label,
        )
    value: Callable[[PartnerScore, ScoreContext], Any] = lambda s, _c: s.kpis.values[name]  # noqa: E731
    if kpi.kind.decimals is None:
        return OutputDef(name, ("text",), value, label=label)
    return OutputDef(name, ("number", "text"), value, scale=kpi.kind.decimals, label=label)


class _Outputs(Mapping[str, OutputDef]):
    """Every output a field can be mapped from, by name: score, tier, drivers, scored_at,
    then each KPI of the catalogue (read when asked, so a new KPI is an output at once)."""

    def __init__(self) -> None:
        self._built_from: tuple[Kpi, ...] | None = None
        self._outputs: dict[str, OutputDef] = {}

    def _current(self) -> dict[str, OutputDef]:
        # the catalogue is read here, not on import: it needs Polars, and a config that
        # maps no KPI column is validated without it
        from kpi_engine import KPIS

        if self._built_from is not KPIS.kpis:
            self._outputs = {**_SCORE_OUTPUTS, **{kpi.name: _kpi_output(kpi) for kpi in KPIS}}
            self._built_from = KPIS.kpis
        return self._outputs

    def __getitem__(self, name: str) -> OutputDef:
        found = _SCORE_OUTPUTS.get(name)
        return found if found is not None else self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


OUTPUTS: Mapping[str, OutputDef] = _Outputs()


def output_value(output: str, score: PartnerScore, context: ScoreContext) -> Any:
    """The raw value of ``output`` for one partner (a float, a string, a datetime or None)."""
    return OUTPUTS[output].value(score, context)


# --- canonical values ----------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # the shortest repr: 71.05 is 71.05, not 71.0499999…, as a CRM would read it
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _at_scale(number: Decimal, scale: int) -> Decimal:
    rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return rounded + 0  # -0.0 → 0.0


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0), tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value / 1000, UTC)  # epoch milliseconds
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _moment(int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _text(value: Any, scale: int) -> str:
    if isinstance(value, datetime | date):
        moment = _moment(value)
        assert moment is not None
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    number = None if isinstance(value, str) else _decimal(value)
    if number is not None:
        return f"{_at_scale(number, scale):f}"
    return str(value)


def canonical(kind: str, value: Any, *, scale: int = 0, length: int | None = None) -> Canonical:
    """``value`` (as written by scoring, read from a CRM or kept in the journal) in the
    canonical form of a field of ``kind``: comparable with ``==``.

    A value the kind cannot hold (text in a number field) is kept as its text, so it
    differs from every proper value and gets overwritten.
    """
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if kind == "number":
        number = _decimal(value)
        return _at_scale(number, scale) if number is not None else str(value)
    if kind == "datetime":
        moment = _moment(value)
        return moment if moment is not None else str(value)
    text = _text(value, scale)
    if length is not None and len(text) > length:
        text = text[: length - 1] + "…"
    return text or None


def wire_value(kind: str, value: Canonical, *, scale: int = 0) -> Any:
    """A canonical value as the connector's write primitive takes it: int or float for
    numbers (int at scale 0), an aware datetime, a string, or None to clear the field."""
    if isinstance(value, Decimal):
        return int(value) if scale == 0 else float(value)
    return value


def json_value(value: Canonical, *, scale: int = 0) -> Any:
    """A canonical value as JSON (the journal, --plan-out): number, ISO text, text, null."""
    if isinstance(value, Decimal):
        return int(value) if scale == 0 else float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def shown(value: Canonical) -> str:
    """A canonical value for a table cell: the empty field is shown as "—"."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds").replace("+00:00", "Z")
    return value

"""Salesforce records into the common schema, in two steps kept apart.

1. A REST JSON record or a Bulk CSV row becomes a *row*: a flat dict keyed by the
   selected field paths (``Owner.Name``), ``attributes`` gone, values typed by the
   field's declared kind. Both APIs give the same row for the same record.
2. A row becomes a ``Partner``, ``StageDef``, ``Opportunity`` or ``StageChange``.
   Status comes from the stage metadata (IsWon / IsClosed), never from a stage's
   name; Salesforce's percent probabilities become 0..1; amounts are converted to
   the corporate currency with the org's CurrencyType rates.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from connectors.salesforce.queries import CURRENCY_FIELD, Kind, SoqlField
from core.errors import SchemaError
from core.schema import (
    Opportunity,
    OpportunityStatus,
    Partner,
    StageChange,
    StageDef,
    status_of_stage,
)

Row = dict[str, Any]
ModelT = TypeVar("ModelT", Partner, StageDef, Opportunity, StageChange)


# --- step 1: records into rows ---------------------------------------------------------


#: How a non-empty JSON value or CSV text of each kind becomes its Python value (a kind
#: not listed is kept as it came).
_PARSERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.BOOLEAN: lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    Kind.NUMBER: float,
    Kind.INTEGER: lambda v: int(float(v)),
    Kind.DATE: lambda v: v if isinstance(v, date) else date.fromisoformat(str(v)[:10]),
    Kind.DATETIME: lambda v: v if isinstance(v, datetime) else datetime.fromisoformat(str(v)),
}


def _empty(kind: Kind, value: Any) -> Any:
    """An empty value: False for an empty CSV boolean (Bulk writes false so), else None."""
    return False if kind is Kind.BOOLEAN and value == "" else None


def _parsed(parse: Callable[[Any], Any], value: Any, kind: Kind, name: str) -> Any:
    try:
        return parse(value)
    except ValueError:
        raise SchemaError(f"field {name}: {value!r} is not a {kind.value}") from None


def _typed(value: Any, kind: Kind, name: str) -> Any:
    """A JSON value or CSV text as the Python value of its kind (None for empty)."""
    if value is None or value == "":
        return _empty(kind, value)
    parse = _PARSERS.get(kind)
    return value if parse is None else _parsed(parse, value, kind, name)


def row_from_json(record: Mapping[str, Any], selected: Iterable[SoqlField]) -> Row:
    """A REST query record as a row; a parent path through an empty reference is None."""
    row: Row = {}
    for spec in selected:
        if spec.kind is Kind.CHILDREN:
            # a subquery's result as Salesforce nests it (None when it matched nothing)
            row[spec.name] = record.get(spec.name)
            continue
        node: Any = record
        for part in spec.name.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        row[spec.name] = _typed(node, spec.kind, spec.name)
    return row


def _csv_cell(spec: SoqlField) -> Callable[[str], Any]:
    """``_typed`` for one CSV column, its kind's rule chosen once: a result file is
    hundreds of thousands of rows, so nothing is looked up per cell."""
    kind, name = spec.kind, spec.name
    parse = _PARSERS.get(kind)
    empty = _empty(kind, "")

    def typed(cell: str) -> Any:
        if cell == "":
            return empty
        return cell if parse is None else _parsed(parse, cell, kind, name)

    return typed


def rows_from_csv(text: str, selected: Iterable[SoqlField]) -> Iterator[Row]:
    """Bulk API 2.0 CSV results as rows (its header names the selected paths)."""
    specs = {spec.name.lower(): spec for spec in selected}
    # line by line from the text itself: io.StringIO would hold a second copy, four bytes
    # a character (a 50,000-row result page of 10 MB held as 40 MB more while it is parsed)
    reader = csv.reader(_lines(text))
    header = next(reader, None)
    if header is None:
        return
    names = [spec.name for spec in specs.values()]
    # (position, field, its typing) of each selected column
    columns = [
        (position, spec.name, _csv_cell(spec))
        for position, spec in enumerate(specs.get(name.lower()) for name in header)
        if spec is not None
    ]
    for cells in reader:
        row: Row = dict.fromkeys(names)
        width = len(cells)
        for position, name, typed in columns:
            if position < width:
                row[name] = typed(cells[position])
        yield row


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text``, each with its line end, one at a time (the csv module joins
    those of a quoted cell that holds a line break)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


# --- step 2: rows into the schema -----------------------------------------------------


@dataclass(frozen=True)
class CurrencyTable:
    """The corporate currency and the rates: units of each currency per corporate unit."""

    corporate: str
    rates: Mapping[str, float]
    #: the org is multi-currency (records carry CurrencyIsoCode), however many rates it has
    multi_currency: bool = True

    def to_corporate(self, amount: float, currency: str) -> float | None:
        """``amount`` in ``currency`` as corporate currency (CurrencyType's static rates);
        None with no rate (the rule currency_without_rate judges the record)."""
        rate = self.rates.get(currency)
        return amount / rate if rate else None


def single_currency(code: str) -> CurrencyTable:
    """A single-currency org: every amount is already in ``code``."""
    return CurrencyTable(corporate=code, rates={code: 1.0}, multi_currency=False)


def currency_table(rows: Iterable[Row]) -> CurrencyTable:
    """A multi-currency org's CurrencyType rows as a table; exactly one is corporate."""
    rates: dict[str, float] = {}
    corporate: list[str] = []
    for row in rows:
        code = str(row["IsoCode"])
        rates[code] = float(row["ConversionRate"] or 0.0)
        if row["IsCorporate"]:
            corporate.append(code)
    if len(corporate) != 1:
        raise SchemaError(
            f"CurrencyType has {len(corporate)} corporate currencies; Salesforce keeps exactly one"
        )
    return CurrencyTable(corporate=corporate[0], rates=rates)


def _percent(value: float | None) -> float | None:
    return None if value is None else min(max(value / 100.0, 0.0), 1.0)


def stage_def_from_row(row: Row) -> StageDef:
    """An OpportunityStage row: named by ApiName (what Opportunity.StageName holds).

    MasterLabel is the label users see and may rename or translate; the picklist
    value's API name is what records store. Before API 36.0 there is no ApiName
    and MasterLabel is the only name.
    """
    name = row.get("ApiName") or row["MasterLabel"]
    if row["IsWon"]:
        status = OpportunityStatus.WON
    elif row["IsClosed"]:
        status = OpportunityStatus.LOST
    else:
        status = OpportunityStatus.OPEN
    probability = _percent(row["DefaultProbability"])
    if probability is None:
        probability = 1.0 if status is OpportunityStatus.WON else 0.0
    return _validated(
        StageDef,
        row["Id"],
        name=name,
        status=status,
        probability=probability,
        sort_order=row["SortOrder"] or 0,
    )


def partner_from_row(row: Row, region_field: str | None, tier_field: str | None) -> Partner:
    """A partner Account: its owner is the channel manager."""
    return _validated(
        Partner,
        row["Id"],
        id=row["Id"],
        name=row["Name"] or row["Id"],
        region=_text(row.get(region_field)) if region_field else None,
        channel_manager=_text(row.get("Owner.Name")),
        tier=_text(row.get(tier_field)) if tier_field else None,
    )


def opportunity_from_row(
    row: Row,
    stages: Mapping[str, StageDef],
    currencies: CurrencyTable,
    partner_id: str | None,
) -> Opportunity:
    """An Opportunity row; ``partner_id`` comes from the configured attribution."""
    record_id = str(row["Id"])
    stage = status_of_stage(str(row["StageName"]), stages, record_id)
    probability = _percent(row["Probability"])
    amount = row["Amount"]
    currency = row.get(CURRENCY_FIELD) or currencies.corporate
    created: datetime | None = row["CreatedDate"]
    if created is None:
        raise SchemaError(f"opportunity {record_id!r}: no CreatedDate", record_id=record_id)
    return _validated(
        Opportunity,
        record_id,
        id=record_id,
        name=row["Name"],
        partner_id=partner_id,
        account_id=row["AccountId"],
        stage=stage.name,
        status=stage.status,
        probability=stage.probability if probability is None else probability,
        amount=None if amount is None else currencies.to_corporate(amount, currency),
        amount_original=amount,
        currency=currency,
        created_date=created.date(),
        close_date=row["CloseDate"],
        lead_source=row["LeadSource"],
    )


def stage_change_from_row(row: Row) -> StageChange:
    """An OpportunityHistory row that entered a new stage."""
    return _validated(
        StageChange,
        row["Id"],
        id=row["Id"],
        opportunity_id=row["OpportunityId"],
        stage=row["StageName"],
        entered_at=row["CreatedDate"],
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _validated(model: type[ModelT], record_id: Any, **values: Any) -> ModelT:
    """The schema record, or a SchemaError that names the Salesforce record."""
    try:
        return model(**values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        detail = str(problem["msg"]).removeprefix("Value error, ")
        raise SchemaError(
            f"{model.__name__.lower()} {record_id!r}: {where + ': ' if where else ''}{detail}",
            record_id=str(record_id),
        ) from None

"""Judge every opportunity by the rules, before scoring: pure, no I/O, no clock.

``check_opportunities`` reads a table in the schema's whole Opportunity layout and
returns a ``QualityCheck``: one finding per record and rule it breaks, with the action
its rule's policy takes, and the ids left out. A record is left out when any rule it
breaks says ``exclude``; ``fail`` findings stop the run (``raise_if_failed``) before
anything is scored or written. Findings stay a frame: a bad import into a large CRM may
give a million findings. ``today`` (the day of the run) is an argument, like ``as_of``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import DataQualityFailed
from core.schema import OpportunityStatus
from quality.rules import AMOUNT, FINITE, RULES, RULES_BY_NAME, Facts
from quality.settings import Policy, QualitySettings

#: Records a DataQualityFailed message names, at most.
FIRST_RECORDS = 5
#: records as columns: the store's Arrow tables or a seed folder's Polars frames
ColumnsT = TypeVar("ColumnsT", pa.Table, pl.DataFrame)

_COLUMNS = (
    "id", "partner_id", "stage", "status", "amount", "amount_original", "currency",
    "created_date", "close_date",
)  # fmt: skip

#: The findings frame: one row per record and rule, in rule order then record id.
FINDING_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "partner_id": pl.String(),
    "rule": pl.String(),
    "value": pl.String(),
    "action": pl.String(),
    "file": pl.String(),
    "line": pl.Int64(),
}
_RULE_ORDER = {rule.name: i for i, rule in enumerate(RULES)}


class Suspect(NamedTuple):
    """A record judged before it could become a record (a seed row whose stage is unknown)."""

    record_id: str
    partner_id: str | None
    rule: str
    value: str


class Finding(NamedTuple):
    """One record breaking one rule: what the rule saw and what its policy does."""

    record_id: str
    partner_id: str | None
    rule: str
    value: str
    action: Policy
    #: where the record was read ("seed/sales_pipeline.csv", 12) for seed folders
    file: str | None = None
    line: int | None = None

    def described(self) -> str:
        """'O7 (seed/sales_pipeline.csv:12, 1e+15 > bound 1117000.0)': for one-line messages."""
        where = f"{self.file}:{self.line}, " if self.file else ""
        return f"{self.record_id} ({where}{self.value})"


def _findings(frame: pl.DataFrame) -> tuple[Finding, ...]:
    return tuple(Finding(*row) for row in frame.select(list(FINDING_SCHEMA)).iter_rows())


@dataclass(frozen=True)
class QualityCheck:
    """Every finding (``table``, see ``FINDING_SCHEMA``) and the records left out."""

    table: pl.DataFrame
    #: the median won amount the bound was read from, and the bound (None: no bound)
    median_won: float | None
    amount_bound: float | None

    @classmethod
    def of(cls, findings: Iterable[Finding], **bound: float | None) -> QualityCheck:
        """A check of ``findings`` given as tuples (small cases: tests, a report)."""
        frame = pl.DataFrame(list(findings), schema=FINDING_SCHEMA, orient="row")
        return cls(_ordered(frame), median_won=bound.get("median_won"),
                   amount_bound=bound.get("amount_bound"))  # fmt: skip

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings as tuples (every one: for small checks and tests)."""
        return _findings(self.table)

    def first(self, count: int) -> tuple[Finding, ...]:
        """The first ``count`` findings."""
        return _findings(self.table.head(count))

    @cached_property
    def excluded(self) -> pl.Series:
        """The ids of the records left out (a rule that caught them says exclude)."""
        return self.table.filter(pl.col("action") == "exclude")["record_id"].unique().sort()

    @property
    def excluded_ids(self) -> frozenset[str]:
        return frozenset(self.excluded.to_list())

    @property
    def excluded_count(self) -> int:
        return self.excluded.len()

    @property
    def kept_count(self) -> int:
        """Records found implausible but kept and scored."""
        kept = self.table.filter(~pl.col("record_id").is_in(self.excluded.implode()))
        return kept["record_id"].n_unique()

    def kept_opportunities(self, opportunities: ColumnsT) -> ColumnsT:
        """``opportunities`` without the records left out."""
        return self._without(opportunities, "id")

    def kept_stage_events(self, events: ColumnsT) -> ColumnsT:
        """``events`` without those of the records left out (as if the CRM held none)."""
        return self._without(events, "opportunity_id")

    def _without(self, table: ColumnsT, column: str) -> ColumnsT:
        if self.excluded.is_empty():
            return table
        if isinstance(table, pl.DataFrame):
            return table.filter(~pl.col(column).is_in(self.excluded.implode()))
        ids = self.excluded.to_arrow().cast(pa.string())
        return table.filter(pc.invert(pc.is_in(table[column], value_set=ids)))

    def located(self, lines: Mapping[str, int], file: str) -> QualityCheck:
        """The findings with ``file`` and the line of each record found in ``lines``."""
        found = pl.DataFrame(
            {"record_id": list(lines), "found_line": list(lines.values())},
            schema={"record_id": pl.String(), "found_line": pl.Int64()},
        )
        table = (
            self.table.join(found, on="record_id", how="left", maintain_order="left")
            .with_columns(
                file=pl.when(pl.col("found_line").is_not_null())
                .then(pl.lit(file))
                .otherwise(pl.col("file")),
                line=pl.coalesce("found_line", "line"),
            )
            .select(list(FINDING_SCHEMA))
        )
        return QualityCheck(table, median_won=self.median_won, amount_bound=self.amount_bound)

    def raise_if_failed(self) -> None:
        """DataQualityFailed naming the first rule whose policy is ``fail``, if any caught."""
        failed = self.table.filter(pl.col("action") == "fail")
        if failed.is_empty():
            return
        rule = failed["rule"][0]
        caught = failed.filter(pl.col("rule") == rule)
        others = sorted(set(failed["rule"].unique().to_list()) - {rule})
        first = ", ".join(f.described() for f in _findings(caught.head(FIRST_RECORDS)))
        more = caught.height - FIRST_RECORDS
        raise DataQualityFailed(
            f"data-quality rule {rule} (policy fail) caught {caught.height} "
            f"record{'' if caught.height == 1 else 's'}: "
            f"{first}{f' and {more} more' if more > 0 else ''}"
            f"{'; rules also failing: ' + ', '.join(others) if others else ''}. Nothing was "
            f"scored or written; fix the records in the CRM, or set quality.rules.{rule} to "
            "exclude or keep",
            rule=rule,
            record_id=caught["record_id"][0],
        )

    def partner_notes(self) -> dict[str, str]:
        """Per partner owning excluded records: '2 records excluded by data-quality rules
        (amount_implausible)', for its drivers."""
        owned = self.table.filter(
            pl.col("record_id").is_in(self.excluded.implode()) & pl.col("partner_id").is_not_null()
        )
        counts = owned.group_by("partner_id").agg(pl.col("record_id").n_unique())
        rules: dict[str, set[str]] = defaultdict(set)
        for partner, rule in (
            owned.filter(pl.col("action") == "exclude").select("partner_id", "rule").unique()
        ).iter_rows():
            rules[partner].add(rule)
        notes = {}
        for partner, count in counts.iter_rows():
            names = ", ".join(sorted(rules[partner], key=_RULE_ORDER.__getitem__))
            noun = "record" if count == 1 else "records"
            notes[partner] = f"{count} {noun} excluded by data-quality rules ({names})"
        return notes

    def summary(self) -> dict[str, Any]:
        """Counts for the run's log record and stored counts: records excluded and kept,
        findings per rule and action, and per partner."""
        by_rule: dict[str, dict[str, int]] = {}
        for rule, action, n in (
            self.table.group_by("rule", "action").len().sort("rule", "action").iter_rows()
        ):
            by_rule.setdefault(rule, {})[action] = n
        by_partner = (
            self.table.group_by(pl.col("partner_id").fill_null("")).len().sort("partner_id")
        )
        return {
            "excluded": self.excluded_count,
            "kept": self.kept_count,
            "by_rule": by_rule,
            "by_partner": dict(by_partner.iter_rows()),
            "amount_bound": self.amount_bound,
        }


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings in rule order, then record id."""
    order = pl.col("rule").replace_strict(_RULE_ORDER, return_dtype=pl.Int32)
    return frame.sort(order, pl.col("record_id"))


def median_won_amount(frame: pl.DataFrame) -> float | None:
    """The median amount of won records with a finite amount of 0 or more; None if none."""
    won = frame.filter((pl.col("status") == OpportunityStatus.WON.value) & FINITE & (AMOUNT >= 0))
    value = won["amount"].median()
    return None if value is None else float(value)  # type: ignore[arg-type]


def check_opportunities(
    opportunities: pa.Table | pl.DataFrame,
    *,
    as_of: date,
    today: date | None = None,
    settings: QualitySettings | None = None,
    suspects: Iterable[Suspect] = (),
) -> QualityCheck:
    """Judge each record of ``opportunities`` (the whole Opportunity layout) by every rule,
    and ``suspects`` by theirs; see the module's docstring. ``today`` defaults to ``as_of``."""
    settings = settings or QualitySettings()
    if isinstance(opportunities, pl.DataFrame):
        frame = opportunities.select(list(_COLUMNS))
    else:
        converted = pl.from_arrow(opportunities.select(list(_COLUMNS)))
        assert isinstance(converted, pl.DataFrame)
        frame = converted
    median = median_won_amount(frame)
    facts = Facts(as_of=as_of, today=today or as_of, amount_bound=settings.amount_bound(median))
    caught = frame.select(
        pl.col("id").alias("record_id"),
        "partner_id",
        *(
            pl.when(rule.test(facts).fill_null(False))
            .then(rule.value(facts).fill_null("(empty)"))
            .alias(rule.name)
            for rule in RULES
        ),
    )
    names = [rule.name for rule in RULES]
    found = (
        caught.filter(pl.any_horizontal(pl.col(n).is_not_null() for n in names))
        .unpivot(
            index=["record_id", "partner_id"], on=names, variable_name="rule", value_name="value"
        )
        .drop_nulls("value")
    )
    judged = [s for s in suspects if s.rule in RULES_BY_NAME]
    if judged:
        found = pl.concat([found, pl.DataFrame(judged, schema=found.schema, orient="row")])
    policies = {rule.name: settings.policy(rule.name) for rule in RULES}
    table = found.with_columns(
        action=pl.col("rule").replace_strict(policies, return_dtype=pl.String),
        file=pl.lit(None, pl.String),
        line=pl.lit(None, pl.Int64),
    )
    return QualityCheck(_ordered(table), median_won=median, amount_bound=facts.amount_bound)

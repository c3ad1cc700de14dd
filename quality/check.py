"""Judge every opportunity by the rules, before scoring: pure, no I/O, no clock.

``check_opportunities`` reads a table in the schema's whole Opportunity layout and
returns a ``QualityCheck``: one ``Finding`` per record and rule it breaks, with the
action its rule's policy takes, and the ids left out. A record is left out when any
rule it breaks says ``exclude``; ``fail`` findings stop the run (``raise_if_failed``)
before anything is scored or written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, NamedTuple

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import DataQualityFailed
from core.schema import OpportunityStatus
from quality.rules import AMOUNT, FINITE, RULES, RULES_BY_NAME, Facts
from quality.settings import Policy, QualitySettings

#: Records a DataQualityFailed message names, at most.
FIRST_RECORDS = 5

_COLUMNS = (
    "id", "partner_id", "stage", "status", "amount", "amount_original", "currency",
    "created_date", "close_date",
)  # fmt: skip


class Suspect(NamedTuple):
    """A record judged before it could become a record (a seed row whose stage is unknown)."""

    record_id: str
    partner_id: str | None
    rule: str
    value: str


@dataclass(frozen=True)
class Finding:
    """One record breaking one rule: what the rule saw and what its policy does."""

    record_id: str
    partner_id: str | None
    rule: str
    value: str
    action: Policy
    #: where the record was read ("sales_pipeline.csv", 12) for seed folders
    file: str | None = None
    line: int | None = None

    def described(self) -> str:
        """'O7 (sales_pipeline.csv:12, 1e+15 > bound 1117000.0)': for one-line messages."""
        where = f"{self.file}:{self.line}, " if self.file else ""
        return f"{self.record_id} ({where}{self.value})"


@dataclass(frozen=True)
class QualityCheck:
    """Every finding, in rule order then record id, and the ids of the records left out."""

    findings: tuple[Finding, ...]
    excluded_ids: frozenset[str]
    #: the median won amount the bound was read from, and the bound (None: no bound)
    median_won: float | None
    amount_bound: float | None

    @property
    def excluded_count(self) -> int:
        return len(self.excluded_ids)

    @property
    def kept_count(self) -> int:
        """Records found implausible but kept and scored."""
        return len({f.record_id for f in self.findings} - self.excluded_ids)

    def kept_opportunities(self, opportunities: pa.Table) -> pa.Table:
        """``opportunities`` without the records left out."""
        return _without(opportunities, "id", self.excluded_ids)

    def kept_stage_events(self, events: pa.Table) -> pa.Table:
        """``events`` without those of the records left out (as if the CRM held none)."""
        return _without(events, "opportunity_id", self.excluded_ids)

    def located(self, lines: Mapping[str, int], file: str) -> QualityCheck:
        """The findings with ``file`` and the line of each record found in ``lines``."""
        findings = tuple(
            replace(f, file=file, line=lines[f.record_id]) if f.record_id in lines else f
            for f in self.findings
        )
        return replace(self, findings=findings)

    def raise_if_failed(self) -> None:
        """DataQualityFailed naming the first rule whose policy is ``fail``, if any caught."""
        failed = [f for f in self.findings if f.action == "fail"]
        if not failed:
            return
        rule = failed[0].rule
        caught = [f for f in failed if f.rule == rule]
        others = sorted({f.rule for f in failed} - {rule})
        first = ", ".join(f.described() for f in caught[:FIRST_RECORDS])
        more = f" and {len(caught) - FIRST_RECORDS} more" if len(caught) > FIRST_RECORDS else ""
        also = f"; rules also failing: {', '.join(others)}" if others else ""
        raise DataQualityFailed(
            f"data-quality rule {rule} (policy fail) caught {len(caught)} records: "
            f"{first}{more}{also}. Nothing was scored or written; fix the records in the "
            f"CRM, or set quality.rules.{rule} to exclude or keep",
            rule=rule,
            record_id=caught[0].record_id,
        )

    def partner_notes(self) -> dict[str, str]:
        """Per partner owning excluded records: '2 records excluded by data-quality rules
        (amount_implausible)', for its drivers."""
        rules: dict[str, set[str]] = defaultdict(set)
        records: dict[str, set[str]] = defaultdict(set)
        for f in self.findings:
            if f.partner_id is not None and f.record_id in self.excluded_ids:
                records[f.partner_id].add(f.record_id)
                if f.action == "exclude":
                    rules[f.partner_id].add(f.rule)
        order = {rule.name: i for i, rule in enumerate(RULES)}
        notes = {}
        for partner, ids in records.items():
            names = ", ".join(sorted(rules[partner], key=order.__getitem__))
            noun = "record" if len(ids) == 1 else "records"
            notes[partner] = f"{len(ids)} {noun} excluded by data-quality rules ({names})"
        return notes

    def summary(self) -> dict[str, Any]:
        """Counts for the run's log record and stored counts: records excluded and kept,
        findings per rule and action, and per partner."""
        by_rule: dict[str, dict[str, int]] = {}
        for (rule, action), n in sorted(Counter((f.rule, f.action) for f in self.findings).items()):
            by_rule.setdefault(rule, {})[action] = n
        by_partner = Counter(f.partner_id or "" for f in self.findings)
        return {
            "excluded": self.excluded_count,
            "kept": self.kept_count,
            "by_rule": by_rule,
            "by_partner": dict(sorted(by_partner.items())),
            "amount_bound": self.amount_bound,
        }


def _without(table: pa.Table, column: str, ids: frozenset[str]) -> pa.Table:
    if not ids:
        return table
    keep = pc.invert(pc.is_in(table[column], value_set=pa.array(sorted(ids), pa.string())))
    return table.filter(keep)


def median_won_amount(frame: pl.DataFrame) -> float | None:
    """The median amount of won records with a finite amount of 0 or more; None if none."""
    won = frame.filter((pl.col("status") == OpportunityStatus.WON.value) & FINITE & (AMOUNT >= 0))
    value = won["amount"].median()
    return None if value is None else float(value)  # type: ignore[arg-type]


def check_opportunities(
    opportunities: pa.Table,
    *,
    as_of: date,
    settings: QualitySettings | None = None,
    suspects: Iterable[Suspect] = (),
) -> QualityCheck:
    """Judge each record of ``opportunities`` (the whole Opportunity layout) by every rule,
    and ``suspects`` by theirs; see the module's docstring."""
    settings = settings or QualitySettings()
    frame = pl.from_arrow(opportunities.select(list(_COLUMNS)))
    assert isinstance(frame, pl.DataFrame)
    median = median_won_amount(frame)
    facts = Facts(as_of=as_of, amount_bound=settings.amount_bound(median))
    caught = frame.select(
        "id",
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
        .unpivot(index=["id", "partner_id"], on=names, variable_name="rule", value_name="value")
        .drop_nulls("value")
    )
    rows: list[Suspect] = [
        Suspect(r["id"], r["partner_id"], r["rule"], r["value"])
        for r in found.iter_rows(named=True)
    ]
    rows += [s for s in suspects if s.rule in RULES_BY_NAME]
    return _judged(rows, settings, median, facts.amount_bound)


def _judged(
    rows: Sequence[Suspect],
    settings: QualitySettings,
    median: float | None,
    bound: float | None,
) -> QualityCheck:
    order = {rule.name: i for i, rule in enumerate(RULES)}
    findings = tuple(
        Finding(s.record_id, s.partner_id, s.rule, s.value, settings.policy(s.rule))
        for s in sorted(rows, key=lambda s: (order[s.rule], s.record_id))
    )
    excluded = frozenset(f.record_id for f in findings if f.action == "exclude")
    return QualityCheck(findings, excluded, median_won=median, amount_bound=bound)

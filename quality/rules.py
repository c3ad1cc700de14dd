"""The data-quality rules, each once: its name, what it catches, and its test as a column.

A rule reads one opportunity (a row of the schema's whole Opportunity layout) and says
whether the record is implausible, and the value that shows why. Rules never change a
record: a policy (``quality.settings``) decides whether it is left out, kept or fails
the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from core.schema import OpportunityStatus


@dataclass(frozen=True)
class Facts:
    """What rules compare records with besides the record: the dates and the bound."""

    as_of: date
    #: the day of the run; a record created after it (and after ``as_of``) is from the future
    today: date
    #: the largest plausible amount; None when there is no bound (no won amount to go by)
    amount_bound: float | None


@dataclass(frozen=True)
class Rule:
    """One plausibility rule: its name (a ``quality.rules`` key and a quality.csv value)."""

    name: str
    meaning: str
    #: whether a record it catches may be kept and scored (a NaN amount cannot be)
    keepable: bool
    test: Callable[[Facts], pl.Expr]
    value: Callable[[Facts], pl.Expr]


AMOUNT = pl.col("amount")
FINITE = AMOUNT.is_not_null() & AMOUNT.is_finite()
CLOSED = pl.col("status").is_in([OpportunityStatus.WON.value, OpportunityStatus.LOST.value])
KNOWN_STATUSES = [s.value for s in OpportunityStatus]


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def _bound_test(facts: Facts) -> pl.Expr:
    if facts.amount_bound is None:
        return pl.lit(False)
    return FINITE & AMOUNT.gt(facts.amount_bound)


def _bound_value(facts: Facts) -> pl.Expr:
    return pl.format("{} > bound {}", _text(AMOUNT), pl.lit(repr(facts.amount_bound)))


RULES: tuple[Rule, ...] = (
    Rule(
        "unknown_stage",
        "the stage is not in the stage metadata (so its status, open, won or lost, is unknown)",
        keepable=False,
        test=lambda _f: ~pl.col("status").is_in(KNOWN_STATUSES),
        value=lambda _f: pl.format("stage {}, status {}", pl.col("stage"), pl.col("status")),
    ),
    Rule(
        "amount_not_finite",
        "the amount is NaN or infinite (or too large for a number, such as 1e400)",
        keepable=False,
        test=lambda _f: AMOUNT.is_not_null() & ~AMOUNT.is_finite(),
        value=lambda _f: _text(AMOUNT),
    ),
    Rule(
        "amount_negative",
        "the amount is below 0",
        keepable=True,
        test=lambda _f: FINITE & (AMOUNT < 0),
        value=lambda _f: _text(AMOUNT),
    ),
    Rule(
        "amount_implausible",
        "the amount is beyond the bound: quality.median_won_factor × the median won amount, "
        "or quality.amount_cap",
        keepable=True,
        test=_bound_test,
        value=_bound_value,
    ),
    Rule(
        "currency_without_rate",
        "the amount is in a currency with no conversion rate, so it has no corporate amount",
        keepable=True,
        test=lambda _f: AMOUNT.is_null() & pl.col("amount_original").is_not_null(),
        value=lambda _f: pl.format("{} {}", _text(pl.col("amount_original")), pl.col("currency")),
    ),
    Rule(
        "closed_without_date",
        "won or lost with no close date",
        keepable=False,
        test=lambda _f: CLOSED & pl.col("close_date").is_null(),
        value=lambda _f: pl.format("{} with no close date", pl.col("status")),
    ),
    Rule(
        "close_before_created",
        "the close date is before the created date",
        keepable=True,
        test=lambda _f: (pl.col("close_date") < pl.col("created_date")).fill_null(False),
        value=lambda _f: pl.format(
            "closed {} before created {}",
            _text(pl.col("close_date")),
            _text(pl.col("created_date")),
        ),
    ),
    # A record created after a past as_of is no finding: at that date it did not exist yet
    # (KPIS.md, "Status as of A"), and the engine leaves it out of every window. Only a
    # created date past both as_of and the run's day is one no CRM record can have.
    Rule(
        "created_in_future",
        "the created date is after the day of the run (and after the as-of date)",
        keepable=True,
        test=lambda f: pl.col("created_date") > max(f.as_of, f.today),
        value=lambda f: pl.format(
            "created {} after {}",
            _text(pl.col("created_date")),
            pl.lit(max(f.as_of, f.today).isoformat()),
        ),
    ),
)

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}

"""Each rule catches its records, each policy does what it says; values worked by hand.

The fixture (as of 2017-12-31): won amounts that are finite and not negative are 0, 100,
200, 300 and 1e15, so the median won amount is 200 and the default bound 1,000 × 200 =
200,000.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest

from core.errors import DataQualityFailed, SchemaError
from core.schema import OPPORTUNITY_ENTITY, Opportunity, StageEvent, stage_events_to_arrow
from quality import QualityCheck, QualitySettings, Suspect, check_opportunities

AS_OF = date(2017, 12, 31)
JAN, FEB = date(2017, 1, 1), date(2017, 2, 1)


def _opp(
    record_id: str,
    partner_id: str | None,
    status: str,
    amount: float | None,
    *,
    created: date = JAN,
    closed: date | None = FEB,
    **more: object,
) -> Opportunity:
    stage = {"open": "Prospecting", "won": "Won", "lost": "Lost"}.get(status, "Negotiating")
    fields: dict[str, Any] = dict(
        id=record_id, partner_id=partner_id, stage=stage, status=status, probability=0.5,
        amount=amount, created_date=created, close_date=closed, **more,
    )  # fmt: skip
    if status in ("open", "won", "lost"):
        return Opportunity.model_validate(fields)
    return Opportunity.model_construct(**fields)  # a status no stage metadata gives


RECORDS = [
    _opp("W1", "p1", "won", 100.0),
    _opp("W2", "p1", "won", 200.0),
    _opp("W3", "p2", "won", 300.0),
    _opp("ZERO", "p2", "won", 0.0),
    _opp("BIG", "p1", "won", 1e15),
    _opp("NAN", "p2", "won", float("nan")),
    _opp("INF", "p2", "won", float("1e400")),
    _opp("NEG", "p1", "won", -5.0),
    _opp("X1", "p3", "open", None, amount_original=10.0, currency="JPY"),
    _opp("NONE", "p3", "open", None),
    _opp("L1", "p3", "lost", 50.0, closed=None),
    _opp("C1", None, "lost", 50.0, closed=date(2016, 12, 1)),
    _opp("O1", "p3", "open", 20.0, created=date(2018, 1, 1), closed=date(2018, 3, 1)),
    _opp("U1", "p3", "pending", 20.0),
]

EXPECTED = [
    ("U1", "unknown_stage", "stage Negotiating, status pending"),
    ("INF", "amount_not_finite", "inf"),
    ("NAN", "amount_not_finite", "NaN"),
    ("NEG", "amount_negative", "-5.0"),
    ("BIG", "amount_implausible", "1000000000000000.0 > bound 200000.0"),
    ("X1", "currency_without_rate", "10.0 JPY"),
    ("L1", "closed_without_date", "lost with no close date"),
    ("C1", "close_before_created", "closed 2016-12-01 before created 2017-01-01"),
    ("O1", "created_in_future", "created 2018-01-01 after 2017-12-31"),
]
CLEAN = {"W1", "W2", "W3", "ZERO", "NONE"}


def _table(records: list[Opportunity]) -> pa.Table:
    return OPPORTUNITY_ENTITY.to_arrow(records, OPPORTUNITY_ENTITY.layout)


def _check(settings: QualitySettings | None = None, **kwargs: object) -> QualityCheck:
    return check_opportunities(_table(RECORDS), as_of=AS_OF, settings=settings, **kwargs)  # type: ignore[arg-type]


def test_each_rule_catches_its_record_and_shows_the_value() -> None:
    check = _check()
    assert [(f.record_id, f.rule, f.value) for f in check.findings] == EXPECTED
    assert {f.action for f in check.findings} == {"exclude"}
    assert (check.median_won, check.amount_bound) == (200.0, 200_000.0)


def test_excluded_records_are_left_out_with_their_stage_events() -> None:
    check = _check()
    assert check.excluded_ids == {record for record, _, _ in EXPECTED}
    kept = check.kept_opportunities(_table(RECORDS))
    assert set(kept["id"].to_pylist()) == CLEAN
    events = stage_events_to_arrow(
        [StageEvent(opportunity_id=o, stage="Won", entered_date=FEB, sequence=0)
         for o in ("W1", "BIG", "NEG")]
    )  # fmt: skip
    assert check.kept_stage_events(events)["opportunity_id"].to_pylist() == ["W1"]


def test_keep_scores_the_record_and_lists_it() -> None:
    check = _check(
        QualitySettings(rules={"amount_implausible": "keep", "close_before_created": "keep"})
    )
    actions = {f.record_id: f.action for f in check.findings}
    assert actions["BIG"] == actions["C1"] == "keep"
    assert "BIG" not in check.excluded_ids and "C1" not in check.excluded_ids
    assert (check.excluded_count, check.kept_count) == (7, 2)
    assert {"BIG", "C1"} <= set(check.kept_opportunities(_table(RECORDS))["id"].to_pylist())


def test_fail_names_the_rule_the_count_and_the_first_records() -> None:
    check = _check(QualitySettings(rules={"amount_not_finite": "fail"}))
    with pytest.raises(DataQualityFailed) as error:
        check.raise_if_failed()
    assert isinstance(error.value, SchemaError) and error.value.exit_code == 6
    assert error.value.rule == "amount_not_finite"
    assert str(error.value).startswith(
        "data-quality rule amount_not_finite (policy fail) caught 2 records: INF (inf), NAN (NaN)."
    )
    _check().raise_if_failed()  # nothing set to fail: no error


def test_fail_lists_at_most_five_records_and_the_other_failing_rules() -> None:
    many = [_opp(f"N{i}", "p1", "won", -1.0) for i in range(7)] + [_opp("Z", "p1", "won", 1.0)]
    check = check_opportunities(
        _table([*many, _opp("L", "p1", "lost", 1.0, closed=None)]),
        as_of=AS_OF,
        settings=QualitySettings(rules={"amount_negative": "fail", "closed_without_date": "fail"}),
    )
    with pytest.raises(DataQualityFailed) as error:
        check.raise_if_failed()
    message = str(error.value)
    assert (
        "caught 7 records: N0 (-1.0), N1 (-1.0), N2 (-1.0), N3 (-1.0), N4 (-1.0) and 2 more"
        in message
    )
    assert "rules also failing: closed_without_date" in message


def test_a_record_breaking_two_rules_is_listed_twice_and_excluded_if_either_excludes() -> None:
    both = _opp("B", "p1", "lost", 5.0, created=date(2018, 2, 1), closed=None)
    check = check_opportunities(
        _table([both]), as_of=AS_OF,
        settings=QualitySettings(rules={"created_in_future": "keep"}),
    )  # fmt: skip
    assert [(f.rule, f.action) for f in check.findings] == [
        ("closed_without_date", "exclude"),
        ("created_in_future", "keep"),
    ]
    assert check.excluded_ids == {"B"} and check.kept_count == 0


@pytest.mark.parametrize(
    ("settings", "bound", "caught"),
    [
        (QualitySettings(amount_cap=50_000), 50_000.0, {"BIG"}),  # lower than 200,000
        (QualitySettings(amount_cap=5e6), 200_000.0, {"BIG"}),  # the factor's is lower
        (QualitySettings(median_won_factor=10), 2_000.0, {"BIG"}),
        (QualitySettings(median_won_factor=None), None, set()),
        # 200, 300 and 1e15 are above 150; 100, 50 and 20 are not
        (QualitySettings(median_won_factor=None, amount_cap=150.0), 150.0, {"W2", "W3", "BIG"}),
    ],
)
def test_the_bound_is_the_lower_of_factor_and_cap(
    settings: QualitySettings, bound: float | None, caught: set[str]
) -> None:
    check = _check(settings)
    assert check.amount_bound == bound
    assert {f.record_id for f in check.findings if f.rule == "amount_implausible"} == caught


def test_no_won_amount_means_no_factor_bound() -> None:
    check = check_opportunities(_table([_opp("O", "p1", "open", 1e15)]), as_of=AS_OF)
    assert (check.median_won, check.amount_bound, check.findings) == (None, None, ())


def test_suspects_are_judged_by_their_rule_policy() -> None:
    suspect = Suspect("S1", "p9", "unknown_stage", "stage Negotiating")
    check = _check(suspects=[suspect])
    assert [f.record_id for f in check.findings if f.rule == "unknown_stage"] == ["S1", "U1"]
    assert "S1" in check.excluded_ids
    failing = _check(QualitySettings(rules={"unknown_stage": "fail"}), suspects=[suspect])
    with pytest.raises(DataQualityFailed, match=r"caught 2 records: S1 \(stage Negotiating\)"):
        failing.raise_if_failed()


def test_located_findings_name_file_and_line() -> None:
    check = _check().located({"BIG": 7, "NEG": 12}, "seed/sales_pipeline.csv")
    where = {f.record_id: (f.file, f.line) for f in check.findings}
    assert where["BIG"] == ("seed/sales_pipeline.csv", 7)
    assert where["U1"] == (None, None)
    failing = QualitySettings(rules={"amount_implausible": "fail"})
    with pytest.raises(DataQualityFailed, match=r"BIG \(seed/sales_pipeline\.csv:7, 1000"):
        _check(failing).located({"BIG": 7}, "seed/sales_pipeline.csv").raise_if_failed()


def test_partner_notes_and_summary_count_per_rule_and_partner() -> None:
    check = _check(QualitySettings(rules={"close_before_created": "keep"}))
    assert check.partner_notes() == {
        "p1": "2 records excluded by data-quality rules (amount_negative, amount_implausible)",
        "p2": "2 records excluded by data-quality rules (amount_not_finite)",
        "p3": "4 records excluded by data-quality rules "
        "(unknown_stage, currency_without_rate, closed_without_date, created_in_future)",
    }
    summary = check.summary()
    assert summary["excluded"] == 8 and summary["kept"] == 1
    assert summary["by_rule"]["amount_not_finite"] == {"exclude": 2}
    assert summary["by_rule"]["close_before_created"] == {"keep": 1}
    assert summary["by_partner"] == {"": 1, "p1": 2, "p2": 2, "p3": 4}
    assert summary["amount_bound"] == 200_000.0

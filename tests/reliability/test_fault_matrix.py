"""The fault matrix on both CRMs: each case ends, after as many runs as cron needs, with
exactly the fault-free run's CRM state, no write twice, the journal equal to the CRM, and
exit codes that tell the truth.

The CI subset (cases marked ``ci`` in matrix.py) runs by default; the whole matrix with
``pytest tests/reliability -m reliability_long`` (or ``python bench/faults.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sandbox.server import RunningSandbox
from tests.reliability.harness import CrmState, UntruthfulExit, run_case
from tests.reliability.matrix import CRMS, FAULT_MATRIX, FaultCase


def _marks(case: FaultCase, crm: str) -> list[pytest.MarkDecorator]:
    marks = [] if case.in_ci(crm) else [pytest.mark.reliability_long]
    issue = case.known_issue_for(crm)
    if issue is not None:
        # strict: the day the finding is fixed, the mark must go
        raises = UntruthfulExit if issue.truth_only else AssertionError
        marks.append(pytest.mark.xfail(raises=raises, strict=True, reason=issue.reason))
    return marks


CASES = [
    pytest.param(crm, case, id=f"{crm}-{case.slug}", marks=_marks(case, crm))
    for case in FAULT_MATRIX
    for crm in CRMS
    if crm in case.crms
]


@pytest.mark.parametrize(("crm", "case"), CASES)
def test_a_fault_ends_with_the_fault_free_state(
    fresh_sandbox: Callable[..., RunningSandbox],
    reference: Callable[[str], CrmState],
    tmp_path,
    crm: str,
    case: FaultCase,
) -> None:
    expected = reference(crm)
    outcome = run_case(fresh_sandbox(), crm, case, tmp_path, expected)

    assert outcome.problems() == [], outcome.describe_runs()
    assert outcome.state.values == expected.values  # the same check, whole, as a diff
    issue = case.known_issue_for(crm)
    unknown = [u for u in outcome.untruths if issue is None or issue.symptom not in u]
    assert unknown == [], outcome.describe_runs()
    if outcome.untruths:  # the known issue's symptom, and only it
        raise UntruthfulExit("; ".join(outcome.untruths) + "\n" + outcome.describe_runs())

"""The activity KPIs at scale: memory grows with the records, not with records × partners.

An account is the customer of many partners (at a million deals, ~30 each); a case counts
once for each of them, and counting it by joining every case to every partner of its
account made ~30 rows a case (12 M rows, 1.2 GB at 1 M deals). Each figure is measured in a
child process, whose peak RSS is its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PARTNERS = 500
CASES = 20_000
#: the old join held 500 × 20,000 = 10 M rows (~700 MB); the cases themselves are ~1 MB
GROWTH_LIMIT_MB = 100

CHILD = textwrap.dedent(
    f"""
    import resource
    from datetime import date
    import polars as pl
    from kpi_engine import Activity, ScoringSettings, score_partners
    from tests.kpi_engine.builders import partner, won

    partners = [partner(f"P{{i:03}}") for i in range({PARTNERS})]
    # every partner won one deal in W with the same customer, A1
    deals = [
        won(f"o{{i:03}}", p.id, 1.0, closed=date(2017, 6, 1), account="A1")
        for i, p in enumerate(partners)
    ]
    cases = pl.DataFrame(
        {{
            "id": [f"C{{i:06}}" for i in range({CASES})],
            "account_id": ["A1"] * {CASES},
            "created_date": [date(2017, 7, 1)] * {CASES},
            "closed_date": [date(2017, 7, 2)] * {CASES},
            "type": ["Question"] * {CASES},
            "contact_count": [1] * {CASES},
            "reopened": [False] * {CASES},
            "first_contact_resolved": pl.Series([None] * {CASES}, dtype=pl.Boolean),
        }}
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = score_partners(
        partners, deals, [], as_of=date(2017, 12, 31), settings=ScoringSettings(),
        activity=Activity(cases=cases),
    )
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tickets = {{p.kpis.tickets_per_customer for p in result.partners}}
    print((after - before) // 1024, *tickets)
    """
)


def test_cases_on_a_customer_of_many_partners_cost_no_row_per_partner() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=120
    )
    growth_mb, tickets = child.stdout.split()
    # each partner's one customer had every case opened in W: 20,000 tickets a customer
    assert float(tickets) == CASES
    assert int(growth_mb) < GROWTH_LIMIT_MB, f"peak RSS grew {growth_mb} MB"

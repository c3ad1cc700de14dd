"""The fault matrix, as data: each case is one line, run on both CRMs.

A case names the faults switched on for the first ``partner-kpi sync``, what the CRM
does before each later run (``Then``), and the exit code the first run must end with.
The harness repeats the sync, as cron would, until it exits 0, then compares the CRM
record by record with a fault-free run (tests/reliability/harness.py).

A case whose faults exist on one CRM only names it (``crms``). Records archived between
runs change the data itself, so they have tests of their own
(tests/app/test_hubspot_archived.py), not a row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

CRMS = ("salesforce", "hubspot")
#: the exit code of a process killed with SIGKILL, as subprocess reports it
KILLED = -9


class Then(Enum):
    """What the CRM does between one run and the next."""

    SAME = "the faults stay on, their counters running on (a flaky CRM)"
    NEXT_DAY = "the spec is set again: the daily quota starts over (cron's next day)"
    RECOVERED = "no faults: the outage is over"


@dataclass(frozen=True)
class KnownIssue:
    """A check that fails today on ``crms``, and the finding that will fix it.

    With ``truth_only`` only the exit-code and run-record check may fail (the CRM's
    state, its writes and the journal are still asserted); otherwise the whole case.
    """

    reason: str
    #: what the untruth says (harness.check_truth's words); any other untruth still fails
    symptom: str
    crms: tuple[str, ...] = CRMS
    truth_only: bool = True


@dataclass(frozen=True)
class FaultCase:
    """One row of the matrix. ``faults`` and ``first_exit`` may differ per CRM."""

    name: str
    faults: str | Mapping[str, str]
    first_exit: int | Mapping[str, int]
    then: Then = Then.SAME
    #: SIGKILL the first run when its score write reaches the CRM, or at its 6th CRM call
    kill: Literal["write", "extract"] | None = None
    #: in the default (CI) subset, on every CRM (True) or on those named; the rest is
    #: marked ``reliability_long``
    ci: bool | tuple[str, ...] = False
    known_issue: KnownIssue | None = None
    max_runs: int = 6
    #: the CRMs the case's faults exist on (Salesforce's QUERY_TIMEOUT, HubSpot's search lag)
    crms: tuple[str, ...] = CRMS

    @property
    def slug(self) -> str:
        """The case's name as a test id and a ``bench/faults.py --faults`` item."""
        return "-".join(self.name.replace(",", "").split())

    def spec_for(self, crm: str) -> str:
        return self.faults if isinstance(self.faults, str) else self.faults[crm]

    def first_exit_for(self, crm: str) -> int:
        return self.first_exit if isinstance(self.first_exit, int) else self.first_exit[crm]

    def in_ci(self, crm: str) -> bool:
        return crm in self.ci if isinstance(self.ci, tuple) else self.ci

    def known_issue_for(self, crm: str) -> KnownIssue | None:
        issue = self.known_issue
        return issue if issue is not None and crm in issue.crms else None


#: the daily quota per CRM; crm.max_quota_share (half) stops a run at half of it: mid-extract
#: on both (HubSpot's full read, about 800 calls with the activity objects' listings, stops
#: in the calls' listing), and the next day's run resumes from the last saved page
#: (HubSpot's: the listing's saved position)
DAILY_QUOTA = {"salesforce": "daily_limit=36", "hubspot": "daily_limit=1200"}
#: below what a first sync reads, on both CRMs (Salesforce's, ~50 calls with the activity
#: objects: two days of 30; HubSpot: three days of 350 calls). Each run spends some dozen
#: calls before it reaches the rest of its full read (login, stages, partners, an
#: incremental read of every stream already complete), so a share below that would never
#: finish: these shares leave each run room to progress
DAILY_QUOTA_BELOW_A_READ = {"salesforce": "daily_limit=60", "hubspot": "daily_limit=700"}
STORM = "rate_limit=0.1,server_error=0.1,drop=0.05,retry_after=0,seed=7"
#: every 10th record of a write refused: 3 of the 35 partners, accepted by the next run
STORM_AND_REJECTS = STORM + ",reject_records=every:10"
REJECTS_IN_A_STORM = "reject_records=0.2,rate_limit=0.1,retry_after=0,seed=8"

# fmt: off
FAULT_MATRIX: tuple[FaultCase, ...] = (
    # retried faults: absorbed within one run
    FaultCase("429 storm", "rate_limit=0.3,retry_after=0,seed=3", 0),
    FaultCase("503 every 4th call", "server_error=every:4", 0),
    FaultCase("500s", "server_error=0.2,server_error_status=500,seed=5", 0),
    FaultCase("dropped connections", "drop=0.1,seed=5", 0),
    FaultCase("429s, 503s and drops", STORM, 0),
    FaultCase("session expiry", "token_expiry=after:5", 0),
    FaultCase("slow CRM", "latency_ms=20", 0),
    # refused records: exit 9, retried by the next run
    FaultCase("rejected records", "reject_records=0.1,seed=4", 9),
    FaultCase("rejected records in a storm", REJECTS_IN_A_STORM, 9),
    # HubSpot's in CI elsewhere (writeback/test_sandbox's rejects, connectors/hubspot's
    # storms, writeback/test_lost_answers): its full read of the activity objects is ~800
    # calls, and these cases read it several times
    FaultCase("storm and rejects", STORM_AND_REJECTS, 9, ci=("salesforce",)),
    # the daily quota: exit 4, and cron's next day (the quota anew) resumes
    FaultCase("daily quota", DAILY_QUOTA, 4, then=Then.NEXT_DAY, ci=True),
    FaultCase("daily quota below a full read", DAILY_QUOTA_BELOW_A_READ, 4, then=Then.NEXT_DAY),
    # outages longer than the retries: exit 4, and the next run (the CRM back) completes
    FaultCase("429 outage", "rate_limit=1.0,retry_after=0", 4, then=Then.RECOVERED),
    FaultCase("503 outage", "server_error=1.0", 4, then=Then.RECOVERED),
    FaultCase("connection outage", "drop=1.0", 4, then=Then.RECOVERED),
    # SIGKILL: the next run settles the killed run's writes and completes the rest
    FaultCase("SIGKILL mid-write", "", KILLED, kill="write", ci=True),
    FaultCase("SIGKILL mid-extract", "", KILLED, kill="extract"),
    # the faults real CRMs are known for (issue 10, point 4)
    FaultCase("lost responses", "lost_response=every:3", 0, ci=("salesforce",)),
    FaultCase("lost responses in a storm", STORM + ",lost_response=0.1", 0),
    FaultCase("query timeouts", "query_timeout=every:1", 0, crms=("salesforce",)),
    FaultCase("too many fields", "query_fields_limit=8", 0, crms=("salesforce",)),
    FaultCase("locked rows", "lock_row=0.2,seed=6", 0, crms=("salesforce",)),
    FaultCase("rows locked for good", "lock_row=1.0", 9, then=Then.RECOVERED,
              crms=("salesforce",)),
    # others spend 3 calls with each of ours: our half of 240 is 30 calls a day
    FaultCase("other users spend the quota", "others_usage=3,daily_limit=240", 4,
              then=Then.NEXT_DAY, crms=("salesforce",)),
    FaultCase("search lags writes", "search_lag_ms=500", 0, crms=("hubspot",)),
)
# fmt: on

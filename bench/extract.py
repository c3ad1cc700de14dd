"""Benchmark of the extract: API calls against the minimum, records/s and peak memory.

Seeds the sandbox with ``--opportunities`` (default 200,000) over ``--partners``
(default 2,000), serves it in this process, and runs ``extract_into_store`` through the
real connectors, each sync in a fresh child process (``spawn``) so that its own
peak RSS (VmHWM) is measured apart from the sandbox's. Per CRM it prints:

* a full sync into a fresh store: calls by route, calls against the minimum the
  API allows and the ratio, records synced, seconds and records per second;
* an incremental sync right after it (calls, records, seconds);
* ``--updates`` (1,000) opportunities changed through the CRM API, then another
  incremental sync, which must pick every one of them up.

Salesforce's full sync runs twice: in the default configuration (Bulk API 2.0
from ``bulk_threshold`` = 50,000 records) and REST only (a threshold out of
reach); its incremental reads stay under the threshold, so they are REST in both
and are measured on the default configuration's store.
Calls are the sandbox's request counts of CRM routes (control routes excluded;
Salesforce's OAuth token request is shown but not counted: Salesforce does not
count it against the API quota). The minimum per read is:

* Salesforce REST: ⌈rows ÷ 2,000⌉ query pages (at least one) per object read —
  partner Accounts, Opportunities, OpportunityHistory;
* Salesforce Bulk API 2.0: a job, one status poll and ⌈rows ÷ 50,000⌉ result
  pages (the connector's ``maxRecords``) per object read through Bulk (the
  sandbox completes a job before the first poll; a real org takes more polls);
* HubSpot: ⌈deals ÷ 100⌉ list pages (a search page of 200 per window in an
  incremental read) + ⌈deals ÷ 1,000⌉ v4 association batch reads + ⌈partners ÷
  200⌉ company search pages; stage history comes from the stage-date properties
  of the listed deals at no extra call;

* the activity objects (leads, quotes, cases, calls, line items; the seed folder
  carries the companion files): Salesforce ⌈rows ÷ 2,000⌉ pages per object (leads,
  calls and line items through Bulk like the rest; quotes and cases with their child
  rows in subqueries, REST only), an incremental read one page per object plus the
  changed children of quotes and cases; HubSpot ⌈rows ÷ 100⌉ list pages (50 for the
  objects read with property history: leads, quotes, tickets) plus one association
  batch read per 1,000 records and associated type, an incremental read one search
  page, the history read and the association reads per object. HubSpot's rows are the
  records of each object in the portal (the API's totals), not the seed's: its calls
  object also holds the calls logged on tickets (a case's contacts), which a read of the
  calls on deals lists too: a list has no association filter, and which deal a call is
  on is only known from the association reads that follow;

plus a constant for metadata: Salesforce the OpportunityStage query and the
Opportunity describe (and CurrencyType in a multi-currency org), one Composite
describe of the activity objects and the CaseStatus query; HubSpot the pipelines,
the association labels and one list each of archived companies and archived deals,
the token's scopes and the Leads probe, and per activity object its archived listing
and its metadata (lead and ticket pipelines, labels, ticket categories). The target
is calls ≤ 1.1 × data minimum + that constant.

Peak memory is flat in the number of records if a full sync's peak RSS is the
same at ``--small-opportunities`` (default 50,000; 0 skips it) as at the full size.
It measures; it asserts nothing.

Run from the repository root::

    python bench/extract.py                          # 200,000 and 50,000 opportunities
    python bench/extract.py --opportunities 20000 --small-opportunities 5000 --json
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's folder comes first on sys.path, and bench/sandbox.py and
# bench/store.py would shadow the packages of those names: drop the folder, add the root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from sandbox.server import RunningSandbox

SALESFORCE, HUBSPOT = "salesforce", "hubspot"
#: the Salesforce runs: the default configuration, and REST only
SF_DEFAULT, SF_REST = "salesforce", "salesforce-rest"
REST_ONLY_THRESHOLD = 10**9
DEFAULT_BULK_THRESHOLD = 50_000
SF_PAGE, SF_BULK_PAGE = 2_000, 50_000
HS_LIST_PAGE, HS_SEARCH_PAGE, HS_ASSOCIATION_BATCH = 100, 200, 1_000
SF_UPDATE_BATCH, HS_UPDATE_BATCH = 200, 100
#: the amount every updated opportunity gets, so the store shows which ones arrived
NEW_AMOUNT = 987_654.0
TOKEN_ROUTE = "oauth2/token"
MEMORY_LABELS = {SF_DEFAULT: "salesforce default", SF_REST: "salesforce REST", HUBSPOT: "hubspot"}


# --- the child: one sync, its own peak memory -------------------------------------------------


@dataclass(frozen=True)
class SyncJob:
    """One sync for a child process: the config, the store file, the sandbox's secrets."""

    config_path: str
    store_path: str
    environ: dict[str, str]


@dataclass(frozen=True)
class SyncResult:
    """What one sync read, how long it took and the child's memory (MB)."""

    counts: dict[str, Any]
    seconds: float
    rss_before_mb: float
    peak_rss_mb: float
    calls_made: int
    history_reads: int | None


def _proc_status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} is not in /proc/self/status")


def child_sync(job: SyncJob) -> SyncResult:
    """Run in a fresh process: build the connector (its modules imported), then sync."""
    from partner_kpi.config import load_config
    from partner_kpi.extract import extract_into_store
    from store import LocalStore

    config = load_config(Path(job.config_path))
    connector = config.connector(job.environ)  # imports the adapter; connects lazily
    rss_before = _proc_status_mb("VmRSS")
    started = time.perf_counter()
    with LocalStore.open(job.store_path, holder="bench/extract.py") as store:
        counts = extract_into_store(connector, store)
    seconds = time.perf_counter() - started
    history_reads = getattr(connector, "history_reads", None)
    return SyncResult(
        counts=counts.as_json(),
        seconds=seconds,
        rss_before_mb=rss_before,
        peak_rss_mb=_proc_status_mb("VmHWM"),
        calls_made=connector.usage().calls_made,
        history_reads=history_reads if isinstance(history_reads, int) else None,
    )


def sync_in_child(job: SyncJob) -> SyncResult:
    """``child_sync`` in a new spawned process (nothing inherited from the sandbox's)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(child_sync, job).result()


# --- the minimum ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Minimum:
    """The fewest calls the API allows: data pages plus a metadata constant, and how."""

    data: int
    constant: int
    formula: str

    @property
    def total(self) -> int:
        return self.data + self.constant

    def target(self) -> float:
        return 1.1 * self.data + self.constant


def pages(rows: int, size: int, at_least: int = 1) -> int:
    return max(at_least, math.ceil(rows / size))


def salesforce_read_minimum(name: str, rows: int, bulk_threshold: int) -> tuple[int, str]:
    """The calls one object read needs in the mode the connector picks for it."""
    # the connector switches to Bulk when the first REST page says the read is large
    # and not done (so never for 2,000 rows or fewer)
    if rows >= bulk_threshold and rows > SF_PAGE:
        results = pages(rows, SF_BULK_PAGE)
        return 2 + results, f"{name} 1 job + 1 poll + ⌈{rows:,}÷50,000⌉={results}"
    count = pages(rows, SF_PAGE)
    return count, f"{name} ⌈{rows:,}÷2,000⌉={count}"


def salesforce_minimum(
    partners: int, opportunities: int, history: int, bulk_threshold: int, multi_currency: bool
) -> Minimum:
    parts = [
        salesforce_read_minimum("partners", partners, bulk_threshold),
        salesforce_read_minimum("opportunities", opportunities, bulk_threshold),
        salesforce_read_minimum("history", history, bulk_threshold),
    ]
    constant = 3 if multi_currency else 2
    metadata = "stages + describe" + (" + currencies" if multi_currency else "")
    return Minimum(
        data=sum(count for count, _ in parts),
        constant=constant,
        formula=" + ".join(text for _, text in parts) + f"; metadata {constant} ({metadata})",
    )


#: Salesforce activity streams read with parent-child subqueries (a case's Tasks and Status
#: history, a quote's QuoteDocuments): REST only (Bulk refuses subqueries), and an
#: incremental read also asks for the children changed since (a child leaves its parent
#: untouched)
SF_PARENT_STREAMS = ("quotes", "cases")
#: per HubSpot activity stream: a property read with history (50 a list page, else 100),
#: the associated object types read per 1,000 records, the metadata reads (lead pipeline
#: and label; ticket pipeline, label and category options)
HS_ACTIVITY_READS = {
    "leads": (True, 2, 2),
    "quotes": (True, 1, 0),
    "cases": (True, 3, 3),
    "calls": (False, 1, 0),
    "line_items": (False, 1, 0),
}


def plus(first: Minimum, second: Minimum) -> Minimum:
    """Both minimums in one: the opportunity streams' and the activity streams'."""
    return Minimum(
        first.data + second.data,
        first.constant + second.constant,
        f"{first.formula}; activity: {second.formula}",
    )


def salesforce_activity_minimum(
    rows: Mapping[str, int], bulk_threshold: int, *, full: bool
) -> Minimum:
    """``rows``: per stream, the records it holds (a full read) or those of its window (an
    incremental one). A full read: each stream's pages (Bulk past the threshold where no
    subquery is asked); an incremental one: the window's pages, plus the changed children
    of quotes and cases. Constant: one Composite describe of every object (the access
    check) and the CaseStatus query."""
    parts = []
    for stream, count in rows.items():
        if not full:
            calls = pages(count, SF_PAGE) + (stream in SF_PARENT_STREAMS)
            parts.append((calls, f"{stream} ⌈{count:,}÷2,000⌉{'+1' * (calls > 1)}={calls}"))
        elif stream in SF_PARENT_STREAMS:
            calls = pages(count, SF_PAGE)
            parts.append((calls, f"{stream} ⌈{count:,}÷2,000⌉={calls}"))
        else:
            parts.append(salesforce_read_minimum(stream, count, bulk_threshold))
    return Minimum(
        data=sum(calls for calls, _ in parts),
        constant=2,
        formula=" + ".join(text for _, text in parts) + "; 2 (Composite describe, CaseStatus)",
    )


def hubspot_activity_minimum(rows: Mapping[str, int], *, full: bool) -> Minimum:
    """``rows``: per stream, the records it holds (a full read) or those of its window (an
    incremental one). A full read: per stream its list pages and association batch reads;
    an incremental one: its window's search pages (200), history batch reads (50) and
    association reads. Constant: the token's scopes and the Leads probe, per stream the
    archived listing and its metadata."""
    data, constant, texts = 0, 2, []
    for stream, count in rows.items():
        with_history, associated, metadata = HS_ACTIVITY_READS[stream]
        constant += 1 + metadata
        if full:
            size = 50 if with_history else 100
            listed, batches = pages(count, size), pages(count, HS_ASSOCIATION_BATCH)
            data += listed + batches * associated
            texts.append(f"{stream} ⌈{count:,}÷{size}⌉={listed} + {associated}×{batches}")
        else:
            found = pages(count, HS_SEARCH_PAGE)
            history = pages(count, 50, at_least=0) if with_history else 0
            batches = pages(count, HS_ASSOCIATION_BATCH, at_least=0)
            data += found + history + batches * associated
            texts.append(f"{stream} ⌈{count:,}÷200⌉={found} + {history} + {associated}×{batches}")
    return Minimum(
        data=data,
        constant=constant,
        formula=" + ".join(texts) + f"; {constant} (scopes, Leads probe, archived, metadata)",
    )


def hubspot_minimum(partners: int, deals: int, *, full: bool) -> Minimum:
    partner_pages = pages(partners, HS_SEARCH_PAGE)
    if full:
        deal_pages = pages(deals, HS_LIST_PAGE)
        deal_text = f"list ⌈{deals:,}÷100⌉={deal_pages}"
    else:
        deal_pages = pages(deals, HS_SEARCH_PAGE)
        deal_text = f"search ⌈{deals:,}÷200⌉={deal_pages}"
    associations = pages(deals, HS_ASSOCIATION_BATCH, at_least=0)
    return Minimum(
        data=partner_pages + deal_pages + associations,
        constant=4,
        formula=(
            f"partners ⌈{partners:,}÷200⌉={partner_pages} + {deal_text} + associations "
            f"⌈{deals:,}÷1,000⌉={associations}; metadata 4 (pipelines + labels + archived "
            "companies + archived deals)"
        ),
    )


# --- the sandbox, seen from the parent ------------------------------------------------------


@dataclass
class Bench:
    """A running sandbox, its configs and secrets, and the counters read through it."""

    running: RunningSandbox
    environ: dict[str, str]
    configs: dict[str, Path]
    work: Path
    #: per activity stream, the records the sandbox was seeded with
    activity: dict[str, int] = field(default_factory=dict)
    stores: dict[str, Path] = field(default_factory=dict)
    _sf: Any = None
    _hs: Any = None

    @classmethod
    def start(cls, folder: Path) -> Bench:
        import yaml

        from sandbox.server import ready_line, start_sandbox, write_configs

        running = start_sandbox(folder, hubspot_ten_secondly_limit=10**9)
        written = write_configs(running)
        environ: dict[str, str] = json.loads(ready_line(running, written))["env"]
        configs = {SF_DEFAULT: written[SALESFORCE], HUBSPOT: written[HUBSPOT]}
        document = yaml.safe_load(written[SALESFORCE].read_text())
        document["crm"]["bulk_threshold"] = REST_ONLY_THRESHOLD
        configs[SF_REST] = running.state_dir / "salesforce-rest.yaml"
        configs[SF_REST].write_text(yaml.safe_dump(document, sort_keys=False))
        return cls(running, environ, configs, running.state_dir)

    def stop(self) -> None:
        self.running.stop()

    def control(self, path: str, body: Any = None) -> Any:
        from sandbox.clients import control

        return control(self.running, path, body)

    # --- the real clients, for counting and for changes -----------------------------

    @property
    def sf(self) -> Any:
        """simple-salesforce, logged in to the sandbox (as bench/sandbox.py does)."""
        if self._sf is None:
            from simple_salesforce.api import Salesforce

            from connectors.http import session_for
            from sandbox.salesforce.org import API_VERSION

            creds = self.running.credentials
            session = session_for(self.running.ca_bundle)
            token = session.post(
                f"{self.running.url}/services/oauth2/token",
                data={
                    "grant_type": "password",
                    "client_id": creds.sf_client_id,
                    "client_secret": creds.sf_client_secret,
                    "username": creds.sf_username,
                    "password": creds.sf_password + creds.sf_security_token,
                },
                timeout=60,
            ).json()
            self._sf = Salesforce(
                instance_url=token["instance_url"],
                session_id=token["access_token"],
                session=session,
                version=API_VERSION,
            )
        return self._sf

    @property
    def hs(self) -> Any:
        """hubspot-api-client, pointed at the sandbox."""
        if self._hs is None:
            from hubspot import HubSpot

            self._hs = HubSpot(
                access_token=self.running.credentials.hubspot_access_token,
                host=self.running.url,
                ssl_ca_cert=str(self.running.ca_bundle),
            )
        return self._hs

    def sf_count(self, soql: str, include_deleted: bool = True) -> int:
        return int(self.sf.query(soql, include_deleted=include_deleted)["totalSize"])

    def hs_total(self, object_type: str, filters: Sequence[dict[str, str]]) -> int:
        body = {
            "filterGroups": [{"filters": list(filters)}] if filters else [],
            "properties": ["hs_object_id"],
            "limit": 1,
        }
        api = self.hs.crm.objects.search_api
        return int(api.do_search(object_type, public_object_search_request=body).total)


# --- one measured sync ----------------------------------------------------------------------


def crm_calls(stats: Mapping[str, Any], crm: str) -> tuple[dict[str, int], int]:
    """Requests of the CRM's routes by short route name, and Salesforce token requests apart."""
    calls: dict[str, int] = {}
    tokens = 0
    for route, count in stats["requests"].items():
        if not route.startswith(f"{crm} "):
            continue
        if TOKEN_ROUTE in route:
            tokens += int(count)
            continue
        method, path = route.split(" ", 2)[1:]
        short = path.removeprefix("/services/data/v<version>/").removeprefix("/crm/")
        calls[f"{method} {short}"] = calls.get(f"{method} {short}", 0) + int(count)
    return dict(sorted(calls.items())), tokens


def measure(
    bench: Bench,
    run: str,
    store: Path,
    minimum: Minimum,
    activity_minimum: Callable[[Mapping[str, int]], Minimum],
    *,
    full: bool,
    held: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One sync in a child process, with the CRM's calls counted around it. The activity
    streams' minimum is of the records the CRM holds (a full read: ``held``, by default
    the seed's) or of those the read found in its window (an incremental one: what its
    searches returned, kept or not: the bench archives nothing, so a deleted id is a
    record of no schema, a call logged on a ticket)."""
    crm = HUBSPOT if run == HUBSPOT else SALESFORCE
    bench.control("reset-stats", {})
    job = SyncJob(str(bench.configs[run]), str(store), bench.environ)
    started = time.perf_counter()
    result = sync_in_child(job)
    wall = time.perf_counter() - started
    stats = bench.control("stats")
    routes, tokens = crm_calls(stats, crm)
    calls = sum(routes.values())
    counts = result.counts
    activity = {stream: int(read["records"]) for stream, read in counts["activity"].items()}
    found = {
        stream: int(read["records"]) + int(read["deleted"])
        for stream, read in counts["activity"].items()
    }
    held = bench.activity if held is None else held
    minimum = plus(minimum, activity_minimum(held if full else found))
    records = (
        int(counts["opportunities"])
        + int(counts["stage_changes"])
        + int(counts["partners"])
        + sum(activity.values())
    )
    seconds = result.seconds
    return {
        "calls": calls,
        "minimum": minimum.total,
        "minimum_data": minimum.data,
        "minimum_constant": minimum.constant,
        "minimum_formula": minimum.formula,
        "ratio": round(calls / minimum.total, 3),
        "target": round(minimum.target(), 1),
        "meets_target": calls <= minimum.target(),
        "routes": routes,
        "token_requests": tokens,
        "connector_calls_made": result.calls_made,
        "records_returned_by_api": int(stats["records_returned"].get(crm, 0)),
        "opportunities": int(counts["opportunities"]),
        "opportunities_deleted": int(counts["opportunities_deleted"]),
        "stage_changes": int(counts["stage_changes"]),
        "partners": int(counts["partners"]),
        "activity": activity,
        "records": records,
        "pages": counts["pages"],
        "history_reads": result.history_reads,
        "seconds": round(seconds, 2),
        "process_seconds": round(wall, 2),
        "records_per_s": round(records / seconds) if seconds else None,
        "opportunities_per_s": round(int(counts["opportunities"]) / seconds) if seconds else None,
        "rss_before_mb": round(result.rss_before_mb),
        "peak_rss_mb": round(result.peak_rss_mb),
    }


def store_cursors(store: Path) -> dict[str, Any]:
    """The cursors a sync saved (read after the child has let go of the store)."""
    from core.connector import OPPORTUNITIES
    from partner_kpi.extract import STAGE_CHANGES
    from store import LocalStore

    with LocalStore.open(store, holder="bench/extract.py (cursors)") as opened:
        return {
            OPPORTUNITIES: opened.get_cursor(OPPORTUNITIES),
            STAGE_CHANGES: opened.get_cursor(STAGE_CHANGES),
        }


def picked_up(store: Path, ids: Sequence[str]) -> int:
    """How many of the updated opportunities the store holds with the new amount."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from store import LocalStore

    with LocalStore.open(store, holder="bench/extract.py (check)") as opened:
        table = opened.opportunities_table()
    chosen = table.filter(pc.is_in(table["id"], value_set=pa.array(list(ids))))
    return sum(1 for amount in chosen["amount"].to_pylist() if amount == NEW_AMOUNT)


# --- per CRM ---------------------------------------------------------------------------------


def salesforce_window_counts(bench: Bench, store: Path, overlap_seconds: int) -> tuple[int, int]:
    """Opportunities and history rows an incremental read from the store's cursors must see."""
    from connectors.salesforce.queries import soql_datetime
    from core.connector import OPPORTUNITIES
    from partner_kpi.extract import STAGE_CHANGES

    cursors = store_cursors(store)
    found = []
    for stream, sobject in ((OPPORTUNITIES, "Opportunity"), (STAGE_CHANGES, "OpportunityHistory")):
        cursor = cursors[stream]
        where = ""
        if cursor is not None:
            start = cursor.modified_at - timedelta(seconds=overlap_seconds)
            where = f" WHERE SystemModstamp >= {soql_datetime(start)}"
        found.append(bench.sf_count(f"SELECT COUNT() FROM {sobject}{where}"))
    return found[0], found[1]


def salesforce_org(bench: Bench) -> dict[str, int]:
    return {
        "partners": bench.sf_count("SELECT COUNT() FROM Account WHERE IsPartner = true", False),
        "opportunities": bench.sf_count("SELECT COUNT() FROM Opportunity"),
        "history": bench.sf_count("SELECT COUNT() FROM OpportunityHistory"),
        "multi_currency": int(
            any(f["name"] == "CurrencyIsoCode" for f in bench.sf.Opportunity.describe()["fields"])
        ),
    }


def salesforce_full(bench: Bench, run: str, org: Mapping[str, int]) -> dict[str, Any]:
    threshold = REST_ONLY_THRESHOLD if run == SF_REST else DEFAULT_BULK_THRESHOLD
    minimum = salesforce_minimum(
        org["partners"], org["opportunities"], org["history"], threshold,
        bool(org["multi_currency"]),
    )  # fmt: skip
    store = bench.work / f"{run}-store.db"
    bench.stores[run] = store
    figures = measure(
        bench, run, store, minimum,
        lambda rows: salesforce_activity_minimum(rows, threshold, full=True), full=True,
    )  # fmt: skip
    # what the Bulk switch costs beyond the minimum: the first REST page of each Bulk read
    figures["bulk_reads"] = sum(
        count for route, count in figures["routes"].items() if route == "POST jobs/query"
    )
    return figures


def salesforce_incremental(bench: Bench, run: str, org: Mapping[str, int]) -> dict[str, Any]:
    store = bench.stores[run]
    opportunities, history = salesforce_window_counts(bench, store, overlap_seconds=300)
    threshold = REST_ONLY_THRESHOLD if run == SF_REST else DEFAULT_BULK_THRESHOLD
    minimum = salesforce_minimum(
        org["partners"], opportunities, history, threshold, bool(org["multi_currency"])
    )
    figures = measure(
        bench, run, store, minimum,
        lambda rows: salesforce_activity_minimum(rows, threshold, full=False), full=False,
    )  # fmt: skip
    figures["window"] = {"opportunities": opportunities, "history_rows": history}
    return figures


def salesforce_updates(bench: Bench, count: int) -> tuple[list[str], float]:
    """Change the Amount of ``count`` opportunities, 200 a composite/sobjects PATCH."""
    rows = bench.sf.query(f"SELECT Id FROM Opportunity ORDER BY Id LIMIT {count}")["records"]
    ids = [str(row["Id"]) for row in rows]
    started = time.perf_counter()
    for begin in range(0, len(ids), SF_UPDATE_BATCH):
        records = [
            {"attributes": {"type": "Opportunity"}, "id": record_id, "Amount": NEW_AMOUNT}
            for record_id in ids[begin : begin + SF_UPDATE_BATCH]
        ]
        answer = bench.sf.restful(
            "composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records}
        )
        failed = [r for r in answer if not r.get("success")]
        if failed:
            raise RuntimeError(f"Salesforce refused updates: {failed[:3]}")
    return ids, time.perf_counter() - started


def hubspot_window_count(bench: Bench, store: Path, overlap_seconds: int) -> int:
    from core.connector import OPPORTUNITIES

    cursor = store_cursors(store)[OPPORTUNITIES]
    if cursor is None:
        return bench.hs_total("deals", [])
    start_ms = int(cursor.modified_at.timestamp() * 1000) - overlap_seconds * 1000
    condition = {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(start_ms)}
    return bench.hs_total("deals", [condition])


#: the portal's object of each activity stream
HS_OBJECTS = {"leads": "leads", "quotes": "quotes", "cases": "tickets", "calls": "calls",
              "line_items": "line_items"}  # fmt: skip


def hubspot_portal(bench: Bench) -> dict[str, Any]:
    """Partner companies and deals, and per activity stream the records of its object (the
    calls object holds the calls logged on tickets as well as those on deals)."""
    partner = {"propertyName": "type", "operator": "EQ", "value": "PARTNER"}
    return {
        "partners": bench.hs_total("companies", [partner]),
        "deals": bench.hs_total("deals", []),
        "activity": {
            stream: bench.hs_total(object_type, []) for stream, object_type in HS_OBJECTS.items()
        },
    }


def hubspot_updates(bench: Bench, count: int) -> tuple[list[str], float]:
    """Change the amount of ``count`` deals, 100 a batch update."""
    from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInput as BatchInput
    from hubspot.crm.deals import SimplePublicObjectBatchInput as Input

    ids: list[str] = []
    after: str | None = None
    while len(ids) < count:
        page = bench.hs.crm.deals.basic_api.get_page(limit=HS_LIST_PAGE, after=after)
        ids += [str(deal.id) for deal in page.results]
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    ids = ids[:count]
    started = time.perf_counter()
    for begin in range(0, len(ids), HS_UPDATE_BATCH):
        inputs = [
            Input(id=deal_id, properties={"amount": str(NEW_AMOUNT)})
            for deal_id in ids[begin : begin + HS_UPDATE_BATCH]
        ]
        answer = bench.hs.crm.deals.batch_api.update(
            batch_input_simple_public_object_batch_input=BatchInput(inputs=inputs)
        )
        if len(answer.results) != len(inputs) or getattr(answer, "errors", None):
            raise RuntimeError(f"HubSpot refused updates: {getattr(answer, 'errors', None)}")
    return ids, time.perf_counter() - started


# --- a whole size ---------------------------------------------------------------------------


def seeded(opportunities: int, partners: int, say: Callable[[str], None]) -> tuple[Bench, float]:
    from bench.seed_folder import write_seed_folder

    folder = Path(tempfile.mkdtemp(prefix="partner-kpi-extract-")) / "seed"
    say(f"seeding {opportunities:,} opportunities over {partners:,} partners …")
    write_seed_folder(folder, opportunities, partners)
    bench = Bench.start(folder)
    bench.activity = activity_rows(folder)
    return bench, bench.running.seconds_to_start


def activity_rows(folder: Path) -> dict[str, int]:
    """Per activity stream, the records of the seed folder (what the sandbox holds)."""
    from connectors.seed import read_seed
    from core.schema import ACTIVITY_ENTITIES

    activity = read_seed(folder).activity
    return {
        stream: 0 if (frame := getattr(activity, stream)) is None else len(frame)
        for stream in ACTIVITY_ENTITIES
    }


def bench_size(
    opportunities: int,
    partners: int,
    *,
    crms: Sequence[str],
    updates: int,
    full_only: bool,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Every measured sync at one size of the seed."""
    bench, seed_seconds = seeded(opportunities, partners, say)
    out: dict[str, Any] = {"seed_seconds": round(seed_seconds, 1)}
    try:
        if SALESFORCE in crms:
            out |= salesforce_runs(bench, updates=updates, full_only=full_only, say=say)
        if HUBSPOT in crms:
            out |= hubspot_runs(bench, updates=updates, full_only=full_only, say=say)
    finally:
        bench.stop()
    return out


def salesforce_runs(
    bench: Bench, *, updates: int, full_only: bool, say: Callable[[str], None]
) -> dict[str, Any]:
    """Full and incremental syncs in both configurations, updates, then incremental again."""
    org = salesforce_org(bench)
    out: dict[str, Any] = {"salesforce_org": org}
    for run in (SF_DEFAULT, SF_REST):
        say(f"{run}: full sync …")
        out[run] = {"full": salesforce_full(bench, run, org)}
    # incremental reads stay below bulk_threshold, so they are REST in both configurations:
    # measured once, on the default configuration's store
    if full_only:
        return out
    say(f"{SF_DEFAULT}: incremental sync …")
    out[SF_DEFAULT]["incremental"] = salesforce_incremental(bench, SF_DEFAULT, org)
    if not updates:
        return out
    say(f"salesforce: updating {updates:,} opportunities …")
    ids, seconds = salesforce_updates(bench, updates)
    say(f"{SF_DEFAULT}: incremental sync after the updates …")
    figures = salesforce_incremental(bench, SF_DEFAULT, org)
    figures |= {"updated": len(ids), "update_seconds": round(seconds, 2)}
    figures["picked_up"] = picked_up(bench.stores[SF_DEFAULT], ids)
    out[SF_DEFAULT]["after_updates"] = figures
    return out


def hubspot_runs(
    bench: Bench, *, updates: int, full_only: bool, say: Callable[[str], None]
) -> dict[str, Any]:
    """A full sync, an incremental one, updates, then incremental again."""
    portal = hubspot_portal(bench)
    out: dict[str, Any] = {"hubspot_portal": portal}
    say("hubspot: full sync …")
    store = bench.work / "hubspot-store.db"
    bench.stores[HUBSPOT] = store
    minimum = hubspot_minimum(portal["partners"], portal["deals"], full=True)
    out[HUBSPOT] = {
        "full": measure(
            bench,
            HUBSPOT,
            store,
            minimum,
            lambda rows: hubspot_activity_minimum(rows, full=True),
            full=True,
            held=portal["activity"],
        )
    }

    def incremental() -> dict[str, Any]:
        window = hubspot_window_count(bench, store, overlap_seconds=300)
        minimum = hubspot_minimum(portal["partners"], window, full=False)
        figures = measure(
            bench, HUBSPOT, store, minimum,
            lambda rows: hubspot_activity_minimum(rows, full=False), full=False,
        )  # fmt: skip
        figures["window"] = {"deals": window}
        return figures

    if full_only:
        return out
    say("hubspot: incremental sync …")
    out[HUBSPOT]["incremental"] = incremental()
    if not updates:
        return out
    say(f"hubspot: updating {updates:,} deals …")
    ids, seconds = hubspot_updates(bench, updates)
    say("hubspot: incremental sync after the updates …")
    figures = incremental()
    figures |= {"updated": len(ids), "update_seconds": round(seconds, 2)}
    figures["picked_up"] = picked_up(store, ids)
    out[HUBSPOT]["after_updates"] = figures
    return out


# --- the report ----------------------------------------------------------------------------


def _routes_line(figures: Mapping[str, Any]) -> str:
    parts = [f"{route} {count}" for route, count in figures["routes"].items()]
    if figures.get("token_requests"):
        parts.append(f"(token {figures['token_requests']}, not counted)")
    return " · ".join(parts)


def _calls_line(figures: Mapping[str, Any]) -> str:
    verdict = "meets" if figures["meets_target"] else "MISSES"
    return (
        f"{figures['calls']:,} calls vs minimum {figures['minimum']:,} "
        f"({figures['minimum_data']:,} data + {figures['minimum_constant']} metadata) = "
        f"{figures['ratio']:.2f}× · {verdict} target ≤ {figures['target']:,}"
    )


def _records_line(figures: Mapping[str, Any]) -> str:
    line = (
        f"{figures['opportunities']:,} opportunities + {figures['stage_changes']:,} stage "
        f"changes + {figures['partners']:,} partners + "
        + " + ".join(
            f"{n:,} {stream.replace('_', ' ')}" for stream, n in figures["activity"].items()
        )
        + f" in {figures['seconds']:.1f} s"
    )
    if figures["seconds"] >= 1 and figures["records"] >= 1000:
        line += (
            f" = {figures['records_per_s']:,} records/s "
            f"({figures['opportunities_per_s']:,} opportunities/s)"
        )
    return line + f" · peak RSS {figures['peak_rss_mb']} MB"


def report(args: argparse.Namespace, figures: Mapping[str, Any]) -> list[str]:
    big = figures["sizes"][str(args.opportunities)]
    lines = [
        f"partner-kpi extract benchmark · {args.opportunities:,} opportunities · "
        f"{args.partners:,} partners · each sync in a fresh child process",
        "sandbox seeded in "
        + " · ".join(
            f"{figures['sizes'][size]['seed_seconds']:.1f} s at {int(size):,}"
            for size in figures["sizes"]
        ),
        "calls: CRM routes only; 'target' = 1.1 × data minimum + metadata",
    ]
    titles = {
        SF_DEFAULT: "salesforce, default config (Bulk API 2.0 from 50,000 records)",
        SF_REST: "salesforce, REST only (bulk_threshold 1e9; incremental reads are REST in both)",
        HUBSPOT: "hubspot",
    }
    for run in (SF_DEFAULT, SF_REST, HUBSPOT):
        if run not in big:
            continue
        lines.append("")
        lines.append(titles[run])
        if run == SF_DEFAULT:
            org = big["salesforce_org"]
            lines.append(
                f"  org: {org['opportunities']:,} opportunities · {org['history']:,} "
                f"OpportunityHistory rows · {org['partners']:,} partner accounts"
            )
        if run == HUBSPOT:
            portal = big["hubspot_portal"]
            lines.append(
                f"  portal: {portal['deals']:,} deals · {portal['partners']:,} partner companies"
                + "".join(
                    f" · {n:,} {HS_OBJECTS[stream].replace('_', ' ')}"
                    for stream, n in portal["activity"].items()
                )
            )
        for label, title in (
            ("full", "full"),
            ("incremental", "incremental"),
            ("after_updates", "after updates"),
        ):
            item = big[run].get(label)
            if item is None:
                continue
            lines.append(f"  {title:<13} {_calls_line(item)}")
            lines.append(f"  {'':<13} minimum: {item['minimum_formula']}")
            lines.append(f"  {'':<13} routes: {_routes_line(item)}")
            lines.append(f"  {'':<13} {_records_line(item)}")
            if "window" in item:
                window = ", ".join(
                    f"{v:,} {k.replace('_', ' ')}" for k, v in item["window"].items()
                )
                lines.append(f"  {'':<13} in the incremental window (from the API): {window}")
            if "picked_up" in item:
                ok = "all" if item["picked_up"] == item["updated"] else "NOT all"
                lines.append(
                    f"  {'':<13} {item['updated']:,} updated in {item['update_seconds']:.1f} s "
                    f"({'200' if run != HUBSPOT else '100'} a call); {item['picked_up']:,} in the "
                    f"store with the new amount ({ok})"
                )
            extra = []
            lookups = (
                item["routes"].get("GET query", 0)
                - 2
                - big["salesforce_org"].get("multi_currency", 0)
                if run != HUBSPOT and label != "full"
                else 0
            )
            if lookups > 0:
                extra.append(
                    f"{lookups} of the GET query calls are previous-stage lookups "
                    "(fetch_stage_changes, ids chunked to the URL limit)"
                )
            if label == "full" and item.get("bulk_reads"):
                extra.append(
                    f"{item['bulk_reads']} Bulk jobs, each after a first REST page that is "
                    "read and discarded"
                )
            if item.get("history_reads"):
                extra.append(f"{item['history_reads']} stage-history batch reads")
            extra.append(f"{item['records_returned_by_api']:,} records returned by the API")
            lines.append(f"  {'':<13} " + " · ".join(extra))
    small = figures.get("memory")
    if small:
        lines.append("")
        lines.append(
            f"peak RSS of a full sync (child process, MB; RSS before the sync in brackets): "
            f"{small['small']:,} → {small['big']:,} opportunities"
        )
        for run, pair in small["runs"].items():
            lines.append(
                f"  {MEMORY_LABELS[run]:<18} {pair['small_peak']:>5} ({pair['small_before']}) → "
                f"{pair['big_peak']:>5} ({pair['big_before']})   "
                f"growth {pair['big_peak'] - pair['small_peak']:+} MB · calls/minimum "
                f"{pair['small_ratio']:.2f}× → {pair['big_ratio']:.2f}×"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument(
        "--small-opportunities",
        type=int,
        default=50_000,
        help="second size for the flat-memory check (full syncs only); 0 skips it",
    )
    parser.add_argument("--updates", type=int, default=1_000, help="opportunities to change")
    parser.add_argument(
        "--crm", choices=(SALESFORCE, HUBSPOT), action="append", help="repeatable; default both"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    crms: list[str] = args.crm or [SALESFORCE, HUBSPOT]

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    figures: dict[str, Any] = {
        "opportunities": args.opportunities,
        "partners": args.partners,
        "updates": args.updates,
        "sizes": {},
    }
    if args.small_opportunities:
        figures["sizes"][str(args.small_opportunities)] = bench_size(
            args.small_opportunities, args.partners, crms=crms, updates=0, full_only=True, say=say
        )
    figures["sizes"][str(args.opportunities)] = bench_size(
        args.opportunities, args.partners, crms=crms, updates=args.updates, full_only=False,
        say=say,
    )  # fmt: skip
    if args.small_opportunities:
        small = figures["sizes"][str(args.small_opportunities)]
        big = figures["sizes"][str(args.opportunities)]
        figures["memory"] = {
            "small": args.small_opportunities,
            "big": args.opportunities,
            "runs": {
                run: {
                    "small_peak": small[run]["full"]["peak_rss_mb"],
                    "small_before": small[run]["full"]["rss_before_mb"],
                    "big_peak": big[run]["full"]["peak_rss_mb"],
                    "big_before": big[run]["full"]["rss_before_mb"],
                    "small_ratio": small[run]["full"]["ratio"],
                    "big_ratio": big[run]["full"]["ratio"],
                }
                for run in (SF_DEFAULT, SF_REST, HUBSPOT)
                if run in small and run in big
            },
        }
    figures["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(figures, default=str))
        return
    print("\n".join(report(args, figures)))
    print(f"\n(the benchmark took {figures['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

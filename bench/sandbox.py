"""Benchmark of the sandbox CRM: seed time, peak memory and records/s served.

Writes a seed folder of ``--opportunities`` deals (default 1,000,000), starts the
sandbox on it in this process, then reads every opportunity back over HTTPS
with the real clients: Salesforce ``query`` + ``nextRecordsUrl`` pages of 2,000
(simple-salesforce ``query_all_iter``) and HubSpot deal list pages of 100
(hubspot-api-client ``basic_api.get_page``). It prints seed seconds, peak RSS
and records per second per CRM. It measures; it asserts nothing.

Run from the repository root::

    python bench/sandbox.py                        # 1,000,000 opportunities
    python bench/sandbox.py --opportunities 100000 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.seed_folder import write_seed_folder
from sandbox.clients import hubspot_client, salesforce_client
from sandbox.server import RunningSandbox, start_sandbox

SALESFORCE_FIELDS = (
    "Id, Name, AccountId, PartnerAccountId, StageName, Amount, Probability, CloseDate, "
    "CreatedDate, LeadSource, IsClosed, IsWon, SystemModstamp"
)
HUBSPOT_PROPERTIES = [
    "dealname", "amount", "amount_in_home_currency", "dealstage", "pipeline", "closedate",
    "createdate", "hs_lastmodifieddate", "lead_source",
]  # fmt: skip


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_salesforce(running: RunningSandbox) -> tuple[int, float]:
    sf = salesforce_client(running)
    started = time.perf_counter()
    count = sum(1 for _ in sf.query_all_iter(f"SELECT {SALESFORCE_FIELDS} FROM Opportunity"))
    return count, time.perf_counter() - started


def read_hubspot(running: RunningSandbox) -> tuple[int, float]:
    client = hubspot_client(running, client_side_validation=False)
    started = time.perf_counter()
    count, after = 0, None
    while True:
        page = client.crm.deals.basic_api.get_page(
            limit=100, after=after, properties=HUBSPOT_PROPERTIES
        )
        count += len(page.results)
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=5_000)
    parser.add_argument("--skip-hubspot", action="store_true", help="read Salesforce only")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="partner-kpi-bench-")) / "seed"
    started = time.perf_counter()
    write_seed_folder(folder, args.opportunities, args.partners)
    write_seconds = time.perf_counter() - started
    rss_before = peak_rss_mb()
    running = start_sandbox(folder, hubspot_ten_secondly_limit=10**9)
    seed_seconds = running.seconds_to_start
    rss_seeded = peak_rss_mb()
    figures: dict[str, Any] = {
        "opportunities": args.opportunities,
        "partners": args.partners,
        "seed_file_seconds": round(write_seconds, 2),
        "seed_seconds": round(seed_seconds, 2),
        "peak_rss_mb_before_seed": round(rss_before),
        "peak_rss_mb_after_seed": round(rss_seeded),
    }
    try:
        count, seconds = read_salesforce(running)
        figures |= {"salesforce_records": count, "salesforce_seconds": round(seconds, 2),
                    "salesforce_records_per_s": round(count / seconds)}  # fmt: skip
        if not args.skip_hubspot:
            count, seconds = read_hubspot(running)
            figures |= {"hubspot_records": count, "hubspot_seconds": round(seconds, 2),
                        "hubspot_records_per_s": round(count / seconds)}  # fmt: skip
        figures["peak_rss_mb"] = round(peak_rss_mb())
    finally:
        running.stop()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"partner-kpi sandbox benchmark · {args.opportunities:,} opportunities · "
          f"{args.partners:,} partners")  # fmt: skip
    print(f"seed file   {figures['seed_file_seconds']:.1f} s to write")
    print(f"seed        {figures['seed_seconds']:.1f} s (both CRMs) · peak RSS "
          f"{figures['peak_rss_mb_after_seed']:,} MB (before: "
          f"{figures['peak_rss_mb_before_seed']:,} MB)")  # fmt: skip
    print(f"salesforce  {figures['salesforce_records']:,} records in "
          f"{figures['salesforce_seconds']:.1f} s · {figures['salesforce_records_per_s']:,} "
          "records/s through query pages of 2,000")  # fmt: skip
    if not args.skip_hubspot:
        print(f"hubspot     {figures['hubspot_records']:,} records in "
              f"{figures['hubspot_seconds']:.1f} s · {figures['hubspot_records_per_s']:,} "
              "records/s through list pages of 100")  # fmt: skip
    print(f"peak RSS    {figures['peak_rss_mb']:,} MB")


if __name__ == "__main__":
    main()

"""The activity streams (leads, quotes, cases, calls, line items) read from a sandbox over
HTTPS with the unmodified hubspot-api-client: a full read gives the seed's activity
(in HubSpot's ids), an incremental one what changed and what was archived, a scope the
private app lacks is named by ``activity_access``, and the calls stay within 1.1 × the
API's minimum."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import sandbox.server
from connectors.seed import SeedDataset, read_seed
from core.errors import CrmApiError, RateLimitExhausted
from core.schema import ACTIVITY_ENTITIES, Call, CallOutcome
from kpi_engine.frames import Activity
from sandbox.server import RunningSandbox
from tests.connectors.hubspot.conftest import (
    connector_for,
    drain,
    hubspot_calls,
    last_cursor,
    reset_stats,
)
from tests.sandbox.conftest import control, hubspot_client, set_faults
from tests.sandbox.hubspot_activity import activity_for, seeding_activity, with_activity
from tests.sandbox.test_hubspot_portal import write_seed

__all__ = ["seeding_activity"]  # the fixture, used by name

#: what each stream's record refers to, by field: the seed's ids become HubSpot's
REFERENCES = {
    "leads": {"partner_id": None, "converted_opportunity_id": None},
    "quotes": {"opportunity_id": None},
    "cases": {"account_id": None},
    "calls": {"opportunity_id": None},
    "line_items": {"opportunity_id": None},
}
#: fields whose words differ by CRM (a stage label, a quote status): not compared
WORDS = {"leads": {"status"}, "quotes": {"status"}}


@pytest.fixture
def running(
    fresh_sandbox: Callable[..., RunningSandbox], tmp_path: Path, seeding_activity: Any
) -> RunningSandbox:
    return fresh_sandbox(write_seed(tmp_path / "seed", 40, won=25))


def expected(running: RunningSandbox, seed: Path, stream: str) -> list[dict[str, Any]]:
    """The seed's records of a stream with HubSpot's ids, as the connector should give them."""
    portal = running.app.hubspot
    rows = getattr(activity_for(read_seed(seed)), stream)
    ids = portal.activity_ids[stream]
    out = []
    for record in rows:
        data = record.model_dump(exclude=WORDS.get(stream, set()))
        data["id"] = ids[record.id]
        for field in REFERENCES[stream]:
            data[field] = None if data[field] is None else portal.id_map[data[field]]
        out.append(data)
    return sorted(out, key=lambda d: d["id"])


def served(records: list[Any], stream: str) -> list[dict[str, Any]]:
    return sorted(
        (r.model_dump(exclude=WORDS.get(stream, set())) for r in records), key=lambda d: d["id"]
    )


@pytest.mark.parametrize("stream", list(ACTIVITY_ENTITIES))
def test_full_read_equals_the_seeds_activity(
    running: RunningSandbox, tmp_path: Path, stream: str
) -> None:
    records, deleted, cursors = drain(connector_for(running).fetch_activity(stream, None))
    wanted = expected(running, tmp_path / "seed", stream)
    assert served(records, stream) == wanted and last_cursor(cursors) is not None
    # the calls logged on tickets are on no deal: no Call of the schema, never kept
    support_calls = len(deleted) if stream == "calls" else 0
    assert deleted[:support_calls] == deleted and not set(deleted) & {r["id"] for r in wanted}
    assert support_calls == (4 if stream == "calls" else 0)


def test_what_each_stream_derives(running: RunningSandbox) -> None:
    """Hand-checked records of ``activity_for``: conversion, sending, reopening, contacts,
    outcome and duration come from HubSpot's history, associations and GUIDs."""
    connector = connector_for(running)
    ids = running.app.hubspot.activity_ids
    got = {
        stream: {r.id: r for r in drain(connector.fetch_activity(stream, None))[0]}
        for stream in ACTIVITY_ENTITIES
    }
    lead0 = got["leads"][ids["leads"]["L000"]]  # converted a day after its creation
    assert lead0.converted_date == date(2017, 1, 3) and lead0.status == "Qualified"
    assert got["leads"][ids["leads"]["L003"]].partner_id is None  # a lead with no partner
    assert got["quotes"][ids["quotes"]["Q001"]].sent_date is None  # never sent
    q0 = got["quotes"][ids["quotes"]["Q000"]]  # sent on its creation day
    assert q0.sent_date == q0.created_date
    case2 = got["cases"][ids["cases"]["C002"]]  # reopened, two contacts (an email, a call)
    assert case2.reopened and case2.contact_count == 2 and case2.type == "Onboarding"
    case4 = got["cases"][ids["cases"]["C004"]]  # still open
    assert case4.closed_date is None and not case4.reopened
    call2 = got["calls"][ids["calls"]["K002"]]
    assert call2 == Call(
        id=call2.id,
        opportunity_id=call2.opportunity_id,
        call_date=call2.call_date,
        duration_seconds=120,
        outcome=CallOutcome.VOICEMAIL,
    )
    # the calls logged on tickets are no calls on deals
    assert len(got["calls"]) == 15


def test_incremental_read_after_changes_and_an_archive(running: RunningSandbox) -> None:
    connector = connector_for(running, overlap_seconds=0)
    ids = running.app.hubspot.activity_ids
    cursors = {
        stream: last_cursor(drain(connector.fetch_activity(stream, None))[2])
        for stream in ACTIVITY_ENTITIES
    }
    client = hubspot_client(running)
    call = ids["calls"]["K005"]
    closed_ticket = ids["cases"]["C000"]
    client.crm.objects.batch_api.update(
        "calls", {"inputs": [{"id": call, "properties": {"hs_call_duration": "45000"}}]}
    )
    client.crm.objects.batch_api.update(
        "tickets",
        {"inputs": [{"id": closed_ticket, "properties": {"hs_pipeline_stage": "3"}}]},
    )
    quote = ids["quotes"]["Q003"]
    control(running, "hubspot/archive", {"object_type": "quotes", "ids": [quote]})

    calls, _, _ = drain(connector.fetch_activity("calls", cursors["calls"]))
    changed = {r.id: r for r in calls}
    assert changed[call].duration_seconds == 45 and len(calls) < 15
    cases, _, _ = drain(connector.fetch_activity("cases", cursors["cases"]))
    reopened = {r.id: r for r in cases}[closed_ticket]
    assert reopened.reopened and reopened.closed_date is None
    quotes, deleted, _ = drain(connector.fetch_activity("quotes", cursors["quotes"]))
    assert deleted == [quote] and quote not in {r.id for r in quotes}


def test_a_missing_scope_is_named(running: RunningSandbox) -> None:
    granted = control(running, "hubspot/scopes")["scopes"]
    control(running, "hubspot/scopes", {"scopes": [s for s in granted if s != "tickets"]})
    access = connector_for(running).activity_access()
    assert access["cases"] is not None and "tickets" in access["cases"]
    assert {s: a for s, a in access.items() if s != "cases"} == dict.fromkeys(
        ["leads", "quotes", "calls", "line_items"]
    )
    # a read that goes ahead anyway is refused with the scope to grant, not deals' scopes
    with pytest.raises(CrmApiError) as excinfo:
        drain(connector_for(running).fetch_activity("cases", None))
    assert excinfo.value.http_status == 403
    assert "; grant the private app the scopes tickets (HTTP 403" in str(excinfo.value)


@pytest.fixture
def many_calls(
    fresh_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> RunningSandbox:
    """A sandbox whose portal holds 2,500 calls on its deals, a day apart by turns."""

    def read(folder: Path | str) -> SeedDataset:
        dataset = read_seed(folder)
        deals = sorted(dataset.records["id"].to_list())
        calls = [
            Call(id=f"K{n:05d}", opportunity_id=deals[n % len(deals)],
                 call_date=date(2016, 6, 1) + timedelta(days=n % 365), duration_seconds=60,
                 outcome=CallOutcome.CONNECTED)
            for n in range(2_500)
        ]  # fmt: skip
        return with_activity(dataset, Activity(calls=calls))

    monkeypatch.setattr(sandbox.server, "read_seed", read)
    return fresh_sandbox(write_seed(tmp_path / "seed", 40, won=25))


def test_calls_within_the_minimum(many_calls: RunningSandbox) -> None:
    """2,500 calls on deals: a full read lists them 100 a call and reads their deals 1,000
    a call; an incremental one searches 200 a call."""
    running = many_calls
    connector = connector_for(running, overlap_seconds=0)
    reset_stats(running)
    records, _, cursors = drain(connector.fetch_activity("calls", None))
    full = sum(hubspot_calls(running).values())
    # the archived listing, the list pages, the call→deal association reads
    minimum = 1 + math.ceil(2_500 / 100) + math.ceil(2_500 / 1_000)
    assert len(records) == 2_500 and full <= 1.1 * minimum
    ids = running.app.hubspot.activity_ids["calls"]
    changed = [ids[f"K{n:05d}"] for n in range(0, 2_500, 5)]  # 500 calls
    client = hubspot_client(running)
    for begin in range(0, len(changed), 100):
        client.crm.objects.batch_api.update(
            "calls",
            {"inputs": [{"id": i, "properties": {"hs_call_duration": "90000"}}
                        for i in changed[begin : begin + 100]]},
        )  # fmt: skip
    reset_stats(running)
    again, _, _ = drain(connector.fetch_activity("calls", last_cursor(cursors)))
    incremental = sum(hubspot_calls(running).values())
    found = len(again)
    minimum = 1 + (found // 200 + 1) + math.ceil(found / 1_000)
    # the changed calls, and the few of the newest day the cursor stands on (read again)
    assert set(changed) <= {r.id for r in again} and found < 510
    assert incremental <= 1.1 * minimum
    print(f"calls: full read {full} calls for 2,500; incremental {incremental} for {found}")


@pytest.fixture
def calls_of_one_day(
    fresh_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> RunningSandbox:
    """A sandbox whose portal holds 1,000 calls all made on one day (generated calls are at
    14:00 of their day: at scale, hundreds share a day)."""

    def read(folder: Path | str) -> SeedDataset:
        dataset = read_seed(folder)
        deals = sorted(dataset.records["id"].to_list())
        calls = [
            Call(id=f"K{n:05d}", opportunity_id=deals[n % len(deals)], call_date=date(2016, 6, 1),
                 duration_seconds=60, outcome=CallOutcome.CONNECTED)
            for n in range(1_000)
        ]  # fmt: skip
        return with_activity(dataset, Activity(calls=calls))

    monkeypatch.setattr(sandbox.server, "read_seed", read)
    return fresh_sandbox(write_seed(tmp_path / "seed", 40, won=25))


def test_calls_of_one_day_are_searched_at_the_minimum(calls_of_one_day: RunningSandbox) -> None:
    """An incremental read whose overlap holds a whole day of generated calls finds them 200
    a search, as a portal's millisecond stamps allow: no read of a tie by id."""
    running = calls_of_one_day
    connector = connector_for(running, overlap_seconds=300)
    _, _, cursors = drain(connector.fetch_activity("calls", None))
    reset_stats(running)
    again, _, _ = drain(connector.fetch_activity("calls", last_cursor(cursors)))
    calls = hubspot_calls(running)
    searches = sum(n for route, n in calls.items() if route.endswith("/search"))
    assert len(again) == 1_000  # the whole day is in the overlap
    # ⌈1,000 ÷ 200⌉ pages, and the empty page that ends a read of whole pages
    assert searches == 1_000 // 200 + 1, calls
    # plus the archived listing and one call→deal association read
    assert sum(calls.values()) <= 1.1 * (1 + searches + 1)


#: per stream: the property read with history (so 50 a listed page), the association reads
#: per batch, and the metadata reads (pipelines, labels, the type property's options)
READS = {
    "leads": (True, 2, 2),
    "quotes": (True, 1, 0),
    "cases": (True, 3, 3),
    "calls": (False, 1, 0),
    "line_items": (False, 1, 0),
}


@pytest.mark.parametrize("stream", list(ACTIVITY_ENTITIES))
def test_every_stream_reads_at_the_minimum(running: RunningSandbox, stream: str) -> None:
    """Full read: the archived listing, the list pages (50 with history, else 100), one
    association read per associated type, the metadata; incremental: the archived listing,
    one search page, the history batch read and the association reads of what it found."""
    with_history, associated, metadata = READS[stream]
    portal = running.app.hubspot
    kind = {"cases": "tickets"}.get(stream, stream)
    held = len(portal.list_objects(kind, limit=100).results)  # every seeded one (< 100)
    connector = connector_for(running, overlap_seconds=0)
    reset_stats(running)
    _, _, cursors = drain(connector.fetch_activity(stream, None))
    full = sum(hubspot_calls(running).values())
    pages = math.ceil(held / (50 if with_history else 100))
    assert full <= 1.1 * (1 + pages + associated + metadata)
    reset_stats(running)
    again, deleted, _ = drain(connector.fetch_activity(stream, last_cursor(cursors)))
    incremental = sum(hubspot_calls(running).values())
    found = len(again) + len(deleted)
    assert 0 < found < held  # the newest records only
    assert incremental <= 1.1 * (1 + 1 + int(with_history) + associated)


@pytest.mark.parametrize("stream", list(ACTIVITY_ENTITIES))
def test_bundled_activity_reads_back_as_the_seed_holds_it(
    sandbox: RunningSandbox, bundled: SeedDataset, stream: str
) -> None:
    """The bundled companion data (and Maven's line items) through the portal and back."""
    portal = sandbox.app.hubspot
    ids = portal.activity_ids[stream]
    records, _, _ = drain(connector_for(sandbox).fetch_activity(stream, None))
    wanted = []
    model = type(records[0])
    for row in getattr(bundled.activity, stream).to_dicts():
        record = model.model_validate(row)
        data = record.model_dump(exclude=WORDS.get(stream, set()))
        data["id"] = ids[record.id]
        for field in REFERENCES[stream]:
            data[field] = None if data[field] is None else portal.id_map[data[field]]
        wanted.append(data)
    assert served(records, stream) == sorted(wanted, key=lambda d: d["id"])


def test_leads_from_contacts(running: RunningSandbox, tmp_path: Path) -> None:
    """``crm.leads_from: contacts``: the contacts that became leads, searched by their
    lastmodifieddate, give the same leads (in contact ids) as the Leads object."""
    connector = connector_for(running, leads_from="contacts", overlap_seconds=0)
    records, deleted, cursors = drain(connector.fetch_activity("leads", None))
    contacts = running.app.hubspot.activity_ids["contacts"]
    by_lead = {c: running.app.hubspot.activity_ids["leads"][seed] for seed, c in contacts.items()}
    as_leads = [r.model_copy(update={"id": by_lead[r.id]}) for r in records]
    assert served(as_leads, "leads") == expected(running, tmp_path / "seed", "leads")
    assert deleted == []
    statuses = {r.id: r.status for r in records}
    assert statuses[contacts["L000"]] == "OPEN_DEAL" and statuses[contacts["L001"]] == "UNQUALIFIED"
    # a contact edited by a user is found by an incremental read (its lastmodifieddate)
    changed = contacts["L002"]
    hubspot_client(running).crm.contacts.batch_api.update(
        {"inputs": [{"id": changed, "properties": {"hs_lead_status": "CONNECTED"}}]}
    )
    again, _, _ = drain(connector.fetch_activity("leads", last_cursor(cursors)))
    assert {r.id: r.status for r in again}[changed] == "CONNECTED" and len(again) < len(records)


def test_a_quote_sent_date_property(running: RunningSandbox) -> None:
    """``crm.quote_sent_property``: a date a portal stamps on its quotes (made here over the
    API, as an admin makes one) is the sent date, with no status history read."""
    crm = hubspot_client(running).crm
    crm.properties.core_api.create(
        "quotes",
        {"name": "quote_sent_on", "label": "Quote sent on", "type": "datetime",
         "fieldType": "date", "groupName": "quoteinformation"},
    )  # fmt: skip
    ids = running.app.hubspot.activity_ids["quotes"]
    stamped = ids["Q001"]  # a draft whose sending the portal's workflow recorded
    crm.objects.batch_api.update(
        "quotes",
        {"inputs": [{"id": stamped, "properties": {"quote_sent_on": "2017-02-03T15:00:00Z"}}]},
    )
    connector = connector_for(running, quote_sent_property="quote_sent_on")
    reset_stats(running)
    quotes = {r.id: r for r in drain(connector.fetch_activity("quotes", None))[0]}
    assert quotes[stamped].sent_date == date(2017, 2, 3)
    assert quotes[ids["Q000"]].sent_date is None  # nothing stamped: not sent, by the property
    # listed 100 a page (no history): the archived listing, one page, one association read
    assert sum(hubspot_calls(running).values()) == 3


def test_a_full_read_stopped_by_the_quota_resumes_where_it_stopped(
    many_calls: RunningSandbox,
) -> None:
    """The quota's share ends a day's full read of calls mid-listing; the pages read are
    kept with the listing's position, and the next day reads only the rest."""
    running = many_calls
    set_faults(running, "daily_limit=30")  # 15 calls a day: about half of the 29 a read costs
    kept: list[Any] = []
    cursor = None
    with pytest.raises(RateLimitExhausted):
        for page in connector_for(running).fetch_activity("calls", None):
            kept += page.records
            cursor = page.cursor or cursor
    assert cursor is not None and cursor.in_full_read and 0 < len(kept) < 2_500
    control(running, "hubspot/clock", {"advance_ms": 86_400_000})
    set_faults(running, "daily_limit=100000")  # the next day
    reset_stats(running)
    rest, _, _ = drain(connector_for(running).fetch_activity("calls", cursor))
    seeded = {crm_id for _, crm_id in running.app.hubspot.activity_ids["calls"].items()}
    assert {r.id for r in kept} | {r.id for r in rest} == seeded and len(seeded) == 2_500
    # only the rest is listed again (a page re-read at most), not the whole listing
    listed = hubspot_calls(running).get("hubspot GET /crm/v3/objects/<object_type>", 0)
    assert listed <= 1 + math.ceil((2_500 - len(kept)) / 100) + 1

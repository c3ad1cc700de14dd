"""Columnar seeding stores exactly the rows the row-by-row seeding stored.

Both CRMs build their deals as Polars columns and load them in bulk; the reference
(``seed_row_reference``) builds the same rows one record at a time, as the sandbox did
before. On the bundled seed and on an edge-case seed (ids out of order and repeated,
optional columns, several currencies, deals without partner, customer or engage date,
closes before creation) every row, its order and every id must be the same.
"""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from connectors.seed import read_seed
from connectors.seed.activity import ACTIVITY_FILES
from sandbox.hubspot.portal import HubSpotPortal
from sandbox.ids import SalesforceIds
from sandbox.salesforce.objects import KEY_PREFIXES
from sandbox.salesforce.org import SalesforceOrg
from sandbox.store import SqlStore, at_time
from tests.sandbox.seed_row_reference import deal_columns, hubspot_rows, salesforce_rows


def _edge_seed(bundled: Path, folder: Path) -> Path:
    """The bundled seed's first 700 deals, shuffled, with every optional column (and none of
    the companion files: they name deals left out)."""
    shutil.copytree(bundled, folder)
    for name in ACTIVITY_FILES.values():
        (folder / name).unlink(missing_ok=True)
    with (bundled / "sales_pipeline.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:700]
    rng = random.Random(11)
    rng.shuffle(rows)
    rows.append(dict(rows[5]))  # a repeated opportunity_id
    for n, row in enumerate(rows):
        row["created_date"] = ("", "2016-09-01", "2018-01-05", row["engage_date"])[n % 4]
        row["amount"] = ("", "1234.5", "0", "")[n % 4]
        row["currency"] = ("", "USD", "EUR", "GBP", "JPY")[n % 5]  # JPY: no rate
        row["lead_source"] = ("", "Web", "", "Cold Call")[n % 4]
        row["deal_type"] = ("", "New Business", "Existing Business")[n % 3]
        if n % 29 == 0:
            row["sales_agent"] = ""
        if n % 23 == 0:
            row["account"] = "Nobody Known Inc"
        if n % 19 == 0:
            row["engage_date"] = ""
    with (folder / "sales_pipeline.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (folder / "currencies.csv").write_text("iso_code,conversion_rate\nUSD,1\nEUR,0.9\nGBP,0.8\n")
    return folder


@pytest.fixture(params=["bundled", "edge"])
def seed(request: pytest.FixtureRequest, bundled_seed: Path, tmp_path: Path) -> Path:
    if request.param == "bundled":
        return bundled_seed
    return _edge_seed(bundled_seed, tmp_path / "edge")


def _table(store: SqlStore, table: str, order: str = "rowid") -> tuple[list[str], list[Any]]:
    with store.lock:
        cursor = store.db.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
        return [d[0] for d in cursor.description], cursor.fetchall()


def test_salesforce_seeds_the_row_by_row_opportunities(seed: Path) -> None:
    data = read_seed(seed)
    org = SalesforceOrg(SqlStore(), data)
    users = {p.id: org.id_map.get(f"user:{p.channel_manager}") for p in data.partners}
    reference_ids = SalesforceIds()
    expected = salesforce_rows(
        data,
        reference_ids,
        customer_ids={c.name: org.id_map[c.id] for c in data.customers},
        partner_ids={p.id: org.id_map[p.id] for p in data.partners},
        owners=users,
        org_created=at_time(data.fallback_created.replace(month=1, day=1), hour=8),
    )
    for sobject, rows in expected.tables.items():
        columns, stored = _table(org.store, sobject)
        assert stored == [tuple(row.get(c) for c in columns) for row in rows], sobject
        assert rows  # every table holds rows on both seeds
    assert {k: org.id_map[k] for k in expected.id_map} == expected.id_map
    for sobject in ("OpportunityHistory", "OpportunityPartner"):  # later ids go on alike
        prefix = KEY_PREFIXES[sobject]
        assert org.ids.next(prefix) == reference_ids.next(prefix)


def test_hubspot_seeds_the_row_by_row_deals(seed: Path) -> None:
    data = read_seed(seed)
    portal = HubSpotPortal(SqlStore(), data)
    companies = {p.id: portal.id_map[p.id] for p in data.partners}
    companies |= {c.id: portal.id_map[c.id] for c in data.customers}
    expected = hubspot_rows(data, portal.pipeline, companies)

    columns = deal_columns(portal.pipeline)
    with portal.store.lock:
        deals = portal.store.db.execute(
            f"SELECT {', '.join(columns)} FROM hs_deals ORDER BY hs_object_id"
        ).fetchall()
    assert deals == sorted(expected.deals)
    assert _table(portal.store, "hs_associations", "deal_id, company_id")[1] == sorted(
        expected.associations
    )
    names, history = _table(portal.store, "hs_property_history")
    deal_history = [row for row in history if row[names.index("property")] == "dealstage"]
    assert deal_history == expected.history  # the activity objects' history beside it
    assert {k: portal.id_map[k] for k in expected.id_map} == expected.id_map
    assert expected.earliest is not None
    assert portal.created_at == expected.earliest - expected.earliest % 86_400_000 + 28_800_000
    for name, values in (("dealtype", expected.deal_types), ("lead_source", expected.lead_sources)):
        prop = portal.registry.get("deals", name)
        assert prop is not None and values <= (prop.allowed_values or set())

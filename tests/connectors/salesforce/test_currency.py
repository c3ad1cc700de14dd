"""A multi-currency org (generated seed folder): amounts converted with CurrencyType's rates,
the original amount and currency kept, exactly as the seed reader computes them."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.seed import read_seed
from sandbox.server import RunningSandbox
from tests.connectors.salesforce.conftest import api_calls, make_connector, records_of
from tests.sandbox.conftest import control

ROWS = 600
CURRENCIES = [("EUR", "1"), ("USD", "1.1"), ("GBP", "0.85")]  # the first row is corporate


@pytest.fixture
def multi_currency_seed(bundled_seed: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "multi-currency"
    folder.mkdir()
    for name in ("accounts.csv", "sales_teams.csv", "products.csv"):
        shutil.copy(bundled_seed / name, folder / name)
    with (bundled_seed / "sales_pipeline.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))[:ROWS]
    codes = ["EUR", "USD", "GBP", ""]  # empty: the corporate currency
    with (folder / "sales_pipeline.csv").open("w", newline="", encoding="utf-8") as handle:
        pipeline = csv.DictWriter(handle, [*rows[0].keys(), "amount", "currency"])
        pipeline.writeheader()
        for number, row in enumerate(rows):
            amount = f"{1000 + number * 7.25:.2f}" if number % 5 == 0 else ""
            pipeline.writerow({**row, "amount": amount, "currency": codes[number % 4]})
    with (folder / "currencies.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["iso_code", "conversion_rate"])
        writer.writerows(CURRENCIES)
    return folder


def test_amounts_are_converted_to_the_corporate_currency(
    fresh_sandbox: Callable[..., RunningSandbox], multi_currency_seed: Path
) -> None:
    running = fresh_sandbox(multi_currency_seed)  # own: a multi-currency org
    id_map: dict[str, str] = control(running, "id-map")["salesforce"]
    connector = make_connector(running)
    before = api_calls(running)
    got = {o.id: o for o in records_of(connector.fetch_opportunities(None))}
    # stages, describe Opportunity, CurrencyType, one page of 600
    assert api_calls(running) - before == 4

    expected = read_seed(multi_currency_seed).opportunities
    assert len(got) == len(expected) == ROWS
    for want in expected:
        record = got[id_map[want.id]]
        assert record == want.model_copy(
            update={
                "id": id_map[want.id],
                "partner_id": id_map[want.partner_id] if want.partner_id else None,
                "account_id": id_map[want.account_id] if want.account_id else None,
            }
        )
    by_currency = {o.currency for o in got.values()}
    assert by_currency == {"EUR", "USD", "GBP"}
    usd = next(o for o in got.values() if o.currency == "USD" and o.amount_original)
    assert usd.amount_original is not None
    assert usd.amount == pytest.approx(usd.amount_original / 1.1)

    currency = next(item for item in connector.check() if item.name == "currency")
    assert currency.ok and "corporate currency EUR, 3 currencies" in currency.detail

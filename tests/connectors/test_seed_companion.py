"""The bundled companion data: generated as its docstring says, again byte for byte, and
beside the publisher's files, which stay as the publisher made them."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from bench.seed_folder import write_seed_folder
from connectors.seed import SeedDataset, read_seed
from connectors.seed.companion import main, read_deals, write_companion
from connectors.seed.mapping import customer_id

GENERATED = ("leads.csv", "quotes.csv", "cases.csv", "calls.csv")
#: sha256 of the publisher's files as ../shared/data/maven-crm holds them (taken there with
#: sha256sum, not from the bundled copy)
PUBLISHER_FILES = {
    "accounts.csv": "e5242324768a563fc632cddfed49a29acbbf2892b8a3c6453cc9650de9ae0358",
    "data_dictionary.csv": "22b34e498d07e3d7f322afdbf81d70a5dc0a389792944e50ca2af86a3597f0af",
    "products.csv": "7c1c8cbbdb6d4c286902e1985eeb529a36366d6a43f43cd4a93c4b1da2a6eb84",
    "sales_pipeline.csv": "825ce8f6c32d4009548b468df3173d55a46fd73f2531f532c5459371dc52adf2",
    "sales_teams.csv": "aeff1272ebe196f5a27e3fc0578aa27abf48ed9ae461aa344fb95990e5ad8bd1",
}
FIRST, LAST = date(2016, 10, 20), date(2017, 12, 31)


@pytest.fixture(scope="module")
def bundled(bundled_seed: Path) -> SeedDataset:
    return read_seed(bundled_seed)


def _frame(dataset: SeedDataset, stream: str) -> pl.DataFrame:
    frame = getattr(dataset.activity, stream)
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_the_publishers_files_are_untouched(bundled_seed: Path) -> None:
    for name, digest in PUBLISHER_FILES.items():
        assert hashlib.sha256((bundled_seed / name).read_bytes()).hexdigest() == digest, name


def test_regenerating_gives_the_bundled_files_byte_for_byte(
    bundled_seed: Path, tmp_path: Path
) -> None:
    main([str(bundled_seed), str(tmp_path)])
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (bundled_seed / name).read_bytes(), name


def test_the_seed_decides_the_bytes(bundled_seed: Path, tmp_path: Path) -> None:
    written = write_companion(bundled_seed, tmp_path, seed=13)
    assert written["calls"].read_bytes() != (bundled_seed / "calls.csv").read_bytes()


def test_generated_md_counts_the_rows_of_each_file(bundled_seed: Path) -> None:
    text = (bundled_seed / "GENERATED.md").read_text()
    for name in GENERATED:
        (count,) = re.findall(rf"^\| `{re.escape(name)}` \| ([\d,]+) \|", text, re.MULTILINE)
        rows = len((bundled_seed / name).read_text().splitlines()) - 1
        assert int(count.replace(",", "")) == rows, name
    assert "GENERATED.md" in (bundled_seed / "PROVENANCE.md").read_text()


def test_every_date_is_within_the_data(bundled: SeedDataset) -> None:
    columns = {
        "leads": ("created_date", "converted_date"),
        "quotes": ("created_date", "sent_date"),
        "cases": ("created_date", "closed_date"),
        "calls": ("call_date",),
    }
    for stream, names in columns.items():
        frame = _frame(bundled, stream)
        for name in names:
            first, last = frame[name].min(), frame[name].max()
            assert isinstance(first, date) and isinstance(last, date), (stream, name)
            assert FIRST <= first <= last <= LAST, (stream, name)


def test_leads_mostly_unconverted_converted_ones_become_their_opportunity(
    bundled: SeedDataset,
) -> None:
    leads = _frame(bundled, "leads")
    converted = leads.filter(pl.col("status") == "Converted")
    assert 0.2 < converted.height / leads.height < 0.4
    deals = bundled.records.select(
        pl.col("id").alias("converted_opportunity_id"),
        pl.col("created_date").alias("opportunity_created"),
        pl.col("partner_id").alias("opportunity_partner"),
    )
    joined = converted.join(deals, on="converted_opportunity_id", how="left")
    assert joined["opportunity_created"].null_count() == 0
    assert (joined["converted_date"] == joined["opportunity_created"]).all()
    assert (joined["partner_id"] == joined["opportunity_partner"]).all()
    assert (joined["created_date"] <= joined["converted_date"]).all()
    # the real quirk: leads no partner was given
    assert leads.filter(pl.col("partner_id").is_null())["status"].unique().sort().to_list() == [
        "Disqualified",
        "Open",
    ]


def test_quotes_include_never_sent_and_same_day_ones(bundled: SeedDataset) -> None:
    quotes = _frame(bundled, "quotes")
    never_sent = quotes.filter(pl.col("sent_date").is_null())
    assert never_sent.height > 0 and set(never_sent["status"]) == {"Draft"}
    assert quotes.filter(pl.col("sent_date") == pl.col("created_date")).height > 0
    assert (quotes["sent_date"] >= quotes["created_date"]).all()
    # a quote is made once the deal is engaged, and sent no later than it closed
    deals = bundled.records.filter(pl.col("status") != "open").select(
        pl.col("id").alias("opportunity_id"), "close_date", "engage_date"
    )
    closed = quotes.join(deals, on="opportunity_id")
    assert (closed["created_date"] >= closed["engage_date"]).all()
    assert closed.filter(pl.col("sent_date") > pl.col("close_date")).is_empty()


def test_cases_mostly_closed_in_days_onboarding_after_wins_a_few_reopened(
    bundled: SeedDataset,
) -> None:
    cases = _frame(bundled, "cases")
    closed = cases.filter(pl.col("closed_date").is_not_null())
    days = (closed["closed_date"] - closed["created_date"]).dt.total_days()
    assert closed.height / cases.height > 0.9
    assert (days <= 7).mean() > 0.7  # type: ignore[operator]
    assert 0 < cases["reopened"].sum() < 0.1 * cases.height
    assert cases.filter(pl.col("reopened") & pl.col("closed_date").is_null()).is_empty()
    wins = (
        bundled.records.filter(pl.col("status") == "won")
        .group_by("account_id")
        .agg(pl.col("close_date").min().alias("first_win"))
    )
    with_wins = cases.join(wins, on="account_id", how="left")
    onboarding = with_wins.filter(pl.col("type") == "Onboarding")
    assert onboarding.height > 0
    assert (onboarding["created_date"] >= onboarding["first_win"]).all()
    # every Maven account was sold to: the cases on accounts no partner had sold to yet are
    # those before the account's first win (and a few with no account)
    assert with_wins.filter(pl.col("created_date") < pl.col("first_win")).height > 0
    assert cases["account_id"].null_count() > 0
    assert set(cases["account_id"].drop_nulls()) <= {c.id for c in bundled.customers}
    assert customer_id("Acme Corporation") in set(cases["account_id"])


def test_calls_mostly_short_some_of_exactly_120s_before_the_close(bundled: SeedDataset) -> None:
    calls = _frame(bundled, "calls")
    assert 10_000 <= calls.height <= 20_000
    connected = calls.filter(pl.col("outcome") == "connected")
    assert connected["duration_seconds"].median() < 120  # type: ignore[operator]
    assert connected.filter(pl.col("duration_seconds") == 120).height > 0
    assert calls.filter(pl.col("outcome") == "no_answer")["duration_seconds"].max() == 0
    closed = bundled.records.filter(pl.col("status") != "open").select(
        pl.col("id").alias("opportunity_id"), "close_date", "created_date"
    )
    on_closed = calls.join(closed, on="opportunity_id")
    assert on_closed.filter(pl.col("call_date") < pl.col("close_date")).height > 0
    assert on_closed.filter(pl.col("call_date") > pl.col("close_date")).is_empty()
    assert on_closed.filter(pl.col("call_date") < pl.col("created_date")).is_empty()


def test_the_generator_reads_only_the_pipeline_and_accounts(
    bundled_seed: Path, tmp_path: Path
) -> None:
    for name in ("sales_pipeline.csv", "accounts.csv"):
        (tmp_path / name).write_bytes((bundled_seed / name).read_bytes())
    deals, accounts = read_deals(tmp_path)
    assert (len(deals), len(accounts)) == (8800, 85)
    write_companion(tmp_path, tmp_path / "out")
    for name in GENERATED:
        assert (tmp_path / "out" / name).read_bytes() == (bundled_seed / name).read_bytes()


def test_bench_seed_folders_carry_the_companion_files_at_any_size(tmp_path: Path) -> None:
    first = write_seed_folder(tmp_path / "a", 3_000, 12, seed=5)
    again = write_seed_folder(tmp_path / "b", 3_000, 12, seed=5)
    bare = write_seed_folder(tmp_path / "c", 3_000, 12, seed=5, companion=False)
    for name in GENERATED:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
        assert not (bare / name).exists()
    dataset = read_seed(first)  # every generated value passes the reader's checks
    calls = _frame(dataset, "calls")
    assert 1.0 < calls.height / 3_000 < 2.5
    leads = _frame(dataset, "leads")
    assert set(leads["partner_id"].drop_nulls()) <= {p.id for p in dataset.partners}
    cases = _frame(dataset, "cases")
    assert cases.filter(pl.col("type") == "Onboarding").height > 0

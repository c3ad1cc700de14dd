"""The companion data: leads, quotes, cases and calls derived from a Maven-layout seed.

The Maven data set holds opportunities only. These rules derive the other objects of
../shared/data/README.md "More objects" from its opportunities and accounts, with a
fixed seed and no clock, so the same seed folder always gives the same bytes. Dates
stay within the data's range: from its first created or engage date to its latest
engage or close date (2016-10-20..2017-12-31 for Maven); a date past the end is left
out (a case still open then has no closed date).

- leads.csv: 30 % of the opportunities come from a lead of their partner, created 3 to
  45 days before the opportunity (not before the first day) and converted on its
  created date (``Converted``, the opportunity's lead source). For each converted lead
  2.4 more are not converted, created on any day, the partner drawn in proportion to
  the opportunities, 8 % with no partner at all; those of the last 60 days are
  ``Open``, older ones ``Disqualified`` (80 %) or still ``Open``. So about 29 % of
  leads convert.
- quotes.csv: an opportunity that reached Engaging gets a quote with probability 0.7
  (won), 0.5 (lost), 0.3 (open), created 0 to 20 days after its engage date (not after
  it closed). 15 % are never sent (``Draft``, no sent date); the others are sent the day
  they are made (25 %) or 1 to 7 days later (on the close day at the latest): ``Accepted`` on won
  deals, ``Denied`` on lost ones, ``Presented`` on open ones. 15 % of the sent quotes of
  closed deals are revised: the first turns ``Denied`` and a second, sent 0 or 1 day
  after it is made, follows 1 to 10 days after the first was sent.
- cases.csv: 60 % of won deals get an ``Onboarding`` case on their customer 0 to 14
  days after the close; each won deal brings Poisson(0.4) ``Question`` (55 %) or
  ``Problem`` cases within 180 days of its close. Every Maven account was sold to (the
  first wins are in March to May 2017), so the cases on accounts no partner had sold
  to are honest ones: Poisson(1.5) pre-sale ``Question`` cases per account before its
  first win, and 2 % more cases with no account at all. 85 % close after a geometric
  number of days (mean about 2), the others in 2 to 8 weeks; 4 % of the closed ones
  were reopened. Logged contacts: 0 to 5, mostly 1 (a reopened case has at least 2).
- calls.csv: each opportunity gets Poisson(2.2) calls when won, 1.5 lost, 1.2 engaging,
  0.3 prospecting, on days between its creation and its close (today's end for open
  deals): the calls of deals that later closed predate the close. 55 % connect
  (duration log-normal, median 80 s, so mostly short; 3 % last exactly 120 s, the
  ``value_call_seconds`` default), 25 % are unanswered (0 s), 20 % reach voicemail
  (15 to 60 s).

Ids are numbered in date order (``L0000001``, ``Q0000001``, ``CS0000001``,
``K00000001``). Run: ``python -m connectors.seed.companion SEED_DIR OUT_DIR``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from connectors.seed.activity import ACTIVITY_COLUMNS, ACTIVITY_FILES
from connectors.seed.mapping import (
    DEFAULT_CORPORATE_CURRENCY,
    LEAD_SOURCE_CHOICES,
    REQUIRED_PIPELINE_COLUMNS,
    Currencies,
    map_pipeline,
)
from connectors.seed.table import read_table
from core.schema import OpportunityStatus

#: the fixed seed: part of what the bundled companion files are
SEED = 12
#: the streams the generator writes (line items come from the pipeline's product column)
GENERATED_STREAMS = ("leads", "quotes", "cases", "calls")

CONVERTED_SHARE = 0.30
UNCONVERTED_PER_CONVERTED = 2.4
LEAD_DAYS_BEFORE = (3, 45)
NO_PARTNER_SHARE = 0.08
RECENT_OPEN_DAYS = 60
DISQUALIFIED_SHARE = 0.80

QUOTE_SHARE = {"won": 0.7, "lost": 0.5, "open": 0.3}
QUOTE_DAYS_AFTER_ENGAGE = 20
NEVER_SENT_SHARE = 0.15
SENT_SAME_DAY_SHARE = 0.25
SENT_DAYS_LATER = (1, 7)
REVISED_SHARE = 0.15
REVISION_DAYS = (1, 10)

ONBOARDING_SHARE = 0.60
ONBOARDING_DAYS = 14
CASES_PER_WIN = 0.4
CASE_DAYS_AFTER_WIN = 180
QUESTION_SHARE = 0.55
PRESALE_CASES_PER_ACCOUNT = 1.5
NO_ACCOUNT_SHARE = 0.02
QUICK_CLOSE_SHARE = 0.85
QUICK_CLOSE_P = 0.35  # geometric: days to close = 0, 1, 2… with mean (1 - p) / p ≈ 1.9
SLOW_CLOSE_DAYS = (14, 56)
REOPENED_SHARE = 0.04
CONTACTS = (0, 1, 2, 3, 4, 5)
CONTACT_WEIGHTS = (0.08, 0.50, 0.20, 0.12, 0.06, 0.04)

CALLS_PER_DEAL = {"won": 2.2, "lost": 1.5, "engaging": 1.2, "prospecting": 0.3}
OUTCOMES = ("connected", "no_answer", "voicemail")
OUTCOME_WEIGHTS = (0.55, 0.25, 0.20)
CONNECTED_MEDIAN_SECONDS = 80
CONNECTED_SIGMA = 0.8
THRESHOLD_SECONDS = 120
THRESHOLD_SHARE = 0.03
VOICEMAIL_SECONDS = (15, 60)

#: generated files end lines with LF (the publisher's own keep their CRLF)
LINE_END = "\n"


STATUSES = (OpportunityStatus.OPEN.value, OpportunityStatus.WON.value, OpportunityStatus.LOST.value)
OPEN, WON, LOST = range(len(STATUSES))


@dataclass(frozen=True)
class Deals:
    """The opportunities the rules read: their texts as Polars columns, the rest as numpy
    columns (dates as days since 1970), so a million deals never become Python objects."""

    #: ``id``, ``agent``, ``account``, ``lead_source`` ("" for none)
    text: pl.DataFrame
    status: np.ndarray  # OPEN, WON, LOST
    has_agent: np.ndarray
    has_account: np.ndarray
    engaged: np.ndarray  # reached Engaging
    created: np.ndarray
    engage: np.ndarray  # -1 when never engaged
    close: np.ndarray  # the close date of closed deals; the data's end for open ones
    first: int  # the data's first and last day
    last: int

    def __len__(self) -> int:
        return self.text.height

    def texts(self, column: str, rows: np.ndarray) -> pl.Series:
        """``column`` of the deals at ``rows`` (positions)."""
        return self.text[column].gather(rows)


def deals_of(records: pl.DataFrame, last: date) -> Deals:
    """``map_pipeline``'s records as the rules' columns (``last``: the data's latest date)."""
    end = (last - date(1970, 1, 1)).days
    closed = pl.col("status") != OpportunityStatus.OPEN.value
    frame = records.select(
        pl.col("id"),
        pl.col("partner_name").fill_null("").alias("agent"),
        pl.col("customer_name").fill_null("").alias("account"),
        pl.col("lead_source").fill_null(""),
        pl.col("status").replace_strict(
            {status: code for code, status in enumerate(STATUSES)}, return_dtype=pl.Int8
        ),
        pl.col("engage_date").is_not_null().alias("engaged"),
        pl.col("created_date").cast(pl.Int32).alias("created"),
        pl.col("engage_date").cast(pl.Int32).fill_null(-1).alias("engage"),
        pl.when(closed)
        .then(pl.col("close_date").cast(pl.Int32).fill_null(end))
        .otherwise(end)
        .clip(upper_bound=end)
        .alias("close"),
    )
    created = frame["created"].to_numpy()
    engage = frame["engage"].to_numpy()
    first = int(min(created.min(), engage[engage >= 0].min(initial=end))) if len(created) else end
    return Deals(
        text=frame.select("id", "agent", "account", "lead_source"),
        status=frame["status"].to_numpy(),
        has_agent=(frame["agent"] != "").to_numpy(),
        has_account=(frame["account"] != "").to_numpy(),
        engaged=frame["engaged"].to_numpy(),
        created=created,
        engage=engage,
        close=frame["close"].to_numpy(),
        first=first,
        last=end,
    )


def _rng(seed: int, stream: str) -> np.random.Generator:
    """One generator per file: a change to one file's rules leaves the others' bytes."""
    return np.random.default_rng([seed, GENERATED_STREAMS.index(stream)])


def _days(values: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    """Days since 1970 as dates; null where ``missing``."""
    days = pl.Series(values.astype(np.int32)).cast(pl.Date)
    return days if missing is None else _null_where(days, missing)


def _null_where(values: pl.Series, missing: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.Series(missing)).then(None).otherwise(values)).to_series()


def _pick(choices: Sequence[str], codes: np.ndarray) -> pl.Series:
    """The choice each code names (a text column made in native code)."""
    return pl.Series(list(choices), dtype=pl.String).gather(codes.astype(np.int64))


def _numbered(frame: pl.DataFrame, prefix: str, width: int, by: list[str]) -> pl.DataFrame:
    """The rows in date order (ties in the order they were made), numbered from 1."""
    frame = frame.with_row_index("__made").sort([*by, "__made"])
    number = pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(width)
    return frame.drop("__made").with_columns(pl.format(f"{prefix}{{}}", number).alias("id"))


def leads(deals: Deals, seed: int = SEED) -> pl.DataFrame:
    """leads.csv's rows (see the module's rules)."""
    rng = _rng(seed, "leads")
    count = len(deals)
    converted = np.flatnonzero((rng.random(count) < CONVERTED_SHARE) & deals.has_agent)
    before = rng.integers(LEAD_DAYS_BEFORE[0], LEAD_DAYS_BEFORE[1] + 1, len(converted))
    others = round(len(converted) * UNCONVERTED_PER_CONVERTED)
    created = deals.first + rng.integers(0, deals.last - deals.first + 1, others)
    agent_of = rng.integers(0, max(count, 1), others)
    no_partner = rng.random(others) < NO_PARTNER_SHARE
    recent = created > deals.last - RECENT_OPEN_DAYS
    disqualified = ~recent & (rng.random(others) < DISQUALIFIED_SHARE)
    source = rng.integers(0, len(LEAD_SOURCE_CHOICES), others)
    won_over = pl.DataFrame(
        {
            "sales_agent": deals.texts("agent", converted),
            "created_date": _days(np.maximum(deals.created[converted] - before, deals.first)),
            "status": _pick(["Converted"], np.zeros(len(converted))),
            "converted_date": _days(deals.created[converted]),
            "opportunity_id": deals.texts("id", converted),
            "lead_source": deals.texts("lead_source", converted),
        }
    )
    not_converted = pl.DataFrame(
        {
            "sales_agent": _null_where(deals.texts("agent", agent_of), no_partner),
            "created_date": _days(created),
            "status": _pick(["Open", "Disqualified"], disqualified),
            "converted_date": pl.Series([None] * others, dtype=pl.Date),
            "opportunity_id": pl.Series([None] * others, dtype=pl.String),
            "lead_source": _pick(LEAD_SOURCE_CHOICES, source),
        }
    )
    rows = pl.concat([won_over, not_converted])
    rows = _numbered(rows, "L", 7, ["created_date"])
    return rows.select(pl.col("id").alias("lead_id"), *ACTIVITY_COLUMNS["leads"][1:])


def quotes(deals: Deals, seed: int = SEED) -> pl.DataFrame:
    """quotes.csv's rows (see the module's rules)."""
    rng = _rng(seed, "quotes")
    share = np.array([QUOTE_SHARE[status] for status in STATUSES])[deals.status]
    quoted = np.flatnonzero(deals.engaged & (rng.random(len(deals)) < share))
    start, end = deals.engage[quoted], deals.close[quoted]
    room = np.clip(end - start, 0, QUOTE_DAYS_AFTER_ENGAGE)
    created = start + np.floor(rng.random(len(quoted)) * (room + 1)).astype(np.int64)
    never_sent = rng.random(len(quoted)) < NEVER_SENT_SHARE
    later = rng.integers(SENT_DAYS_LATER[0], SENT_DAYS_LATER[1] + 1, len(quoted))
    lag = np.where(rng.random(len(quoted)) < SENT_SAME_DAY_SHARE, 0, later)
    sent = np.minimum(created + lag, end)
    status = deals.status[quoted]
    closed = status != OPEN
    revised = closed & ~never_sent & (end - sent >= 1) & (rng.random(len(quoted)) < REVISED_SHARE)
    wait = rng.integers(REVISION_DAYS[0], REVISION_DAYS[1] + 1, len(quoted))
    second = np.minimum(sent + wait, end)
    second_sent = np.minimum(second + rng.integers(0, 2, len(quoted)), end)
    # by status code (open, won, lost), then Draft and Denied for the first of a revision
    final = ("Presented", "Accepted", "Denied")
    first_status = np.where(never_sent, 3, np.where(revised, 2, status))
    first = pl.DataFrame(
        {
            "opportunity_id": deals.texts("id", quoted),
            "created_date": _days(created),
            "status": _pick([*final, "Draft"], first_status),
            "sent_date": _days(sent, never_sent),
        }
    )
    revision = pl.DataFrame(
        {
            "opportunity_id": deals.texts("id", quoted[revised]),
            "created_date": _days(second[revised]),
            "status": _pick(final, status[revised]),
            "sent_date": _days(second_sent[revised]),
        }
    )
    rows = _numbered(pl.concat([first, revision]), "Q", 7, ["created_date"])
    return rows.select(pl.col("id").alias("quote_id"), *ACTIVITY_COLUMNS["quotes"][1:])


def cases(deals: Deals, accounts: Sequence[str], seed: int = SEED) -> pl.DataFrame:
    """cases.csv's rows (see the module's rules)."""
    rng = _rng(seed, "cases")
    won = np.flatnonzero((deals.status == WON) & deals.has_account)
    onboarded = won[rng.random(len(won)) < ONBOARDING_SHARE]
    onboarding = deals.close[onboarded] + rng.integers(0, ONBOARDING_DAYS + 1, len(onboarded))
    per_win = rng.poisson(CASES_PER_WIN, len(won))
    after = np.repeat(won, per_win)
    later = deals.close[after] + rng.integers(0, CASE_DAYS_AFTER_WIN + 1, len(after))
    question = rng.random(len(after)) < QUESTION_SHARE
    # before its first win no partner had sold to an account: pre-sale questions
    names = pl.Series("account", list(accounts), dtype=pl.String)
    first_win = (
        pl.DataFrame({"account": deals.texts("account", won), "close": deals.close[won]})
        .group_by("account")
        .agg(pl.col("close").min())
    )
    until = (
        names.to_frame()
        .join(first_win, on="account", how="left", maintain_order="left")["close"]
        .fill_null(deals.last + 1)
        .to_numpy()
        .astype(np.int64)
    )
    presale_count = np.where(
        until > deals.first, rng.poisson(PRESALE_CASES_PER_ACCOUNT, len(names)), 0
    )
    presale_of = np.repeat(np.arange(len(names)), presale_count)
    span = until[presale_of] - deals.first
    presale = deals.first + np.floor(rng.random(len(presale_of)) * span).astype(np.int64)
    made = len(onboarded) + len(after) + len(presale_of)
    loose = round(made * NO_ACCOUNT_SHARE)
    loose_day = deals.first + rng.integers(0, deals.last - deals.first + 1, loose)
    loose_question = rng.random(loose) < QUESTION_SHARE

    account = pl.concat(
        [
            deals.texts("account", onboarded),
            deals.texts("account", after),
            names.gather(presale_of),
            pl.Series([None] * loose, dtype=pl.String),
        ]
    )
    created = np.concatenate([onboarding, later, presale, loose_day]).astype(np.int64)
    # Onboarding, Question, Problem
    kind = np.concatenate(
        [
            np.zeros(len(onboarded), dtype=np.int64),
            np.where(question, 1, 2),
            np.ones(len(presale_of), dtype=np.int64),
            np.where(loose_question, 1, 2),
        ]
    )
    keep = created <= deals.last
    account, created, kind = account.filter(pl.Series(keep)), created[keep], kind[keep]
    size = len(created)
    quick = rng.random(size) < QUICK_CLOSE_SHARE
    days = np.where(
        quick,
        rng.geometric(QUICK_CLOSE_P, size) - 1,
        rng.integers(SLOW_CLOSE_DAYS[0], SLOW_CLOSE_DAYS[1] + 1, size),
    )
    closed = created + days
    is_closed = closed <= deals.last
    reopened = is_closed & (rng.random(size) < REOPENED_SHARE)
    weights = np.array(CONTACT_WEIGHTS)
    contacts = np.array(CONTACTS)[rng.choice(len(CONTACTS), size, p=weights / weights.sum())]
    contacts = np.where(reopened, np.maximum(contacts, 2), contacts)
    rows = pl.DataFrame(
        {
            "account": account,
            "created_date": _days(created),
            "closed_date": _days(closed, ~is_closed),
            "type": _pick(("Onboarding", "Question", "Problem"), kind),
            "contacts": contacts.astype(np.int64),
            "reopened": reopened.astype(np.int64),
        }
    )
    rows = _numbered(rows, "CS", 7, ["created_date"])
    return rows.select(pl.col("id").alias("case_id"), *ACTIVITY_COLUMNS["cases"][1:])


def calls(deals: Deals, seed: int = SEED) -> pl.DataFrame:
    """calls.csv's rows (see the module's rules)."""
    rng = _rng(seed, "calls")
    open_rate = np.where(deals.engaged, CALLS_PER_DEAL["engaging"], CALLS_PER_DEAL["prospecting"])
    closed_rate = np.where(deals.status == WON, CALLS_PER_DEAL["won"], CALLS_PER_DEAL["lost"])
    rate = np.where(deals.status == OPEN, open_rate, closed_rate)
    of = np.repeat(np.arange(len(deals)), rng.poisson(rate))
    start = deals.created[of]
    span = np.maximum(deals.close[of] - start, 0) + 1
    day = np.minimum(start + np.floor(rng.random(len(of)) * span).astype(np.int64), deals.last)
    weights = np.array(OUTCOME_WEIGHTS)
    outcome = rng.choice(len(OUTCOMES), len(of), p=weights / weights.sum())
    talk = rng.lognormal(np.log(CONNECTED_MEDIAN_SECONDS), CONNECTED_SIGMA, len(of))
    talk = np.where(rng.random(len(of)) < THRESHOLD_SHARE, THRESHOLD_SECONDS, np.round(talk))
    voicemail = rng.integers(VOICEMAIL_SECONDS[0], VOICEMAIL_SECONDS[1] + 1, len(of))
    seconds = np.select([outcome == 0, outcome == 1], [np.maximum(talk, 5), 0], voicemail)
    rows = pl.DataFrame(
        {
            "opportunity_id": deals.texts("id", of),
            "date": _days(day),
            "duration_seconds": seconds.astype(np.int64),
            "outcome": _pick(OUTCOMES, outcome),
        }
    )
    rows = _numbered(rows, "K", 8, ["date"])
    return rows.select(pl.col("id").alias("call_id"), *ACTIVITY_COLUMNS["calls"][1:])


def companion(deals: Deals, accounts: Sequence[str], seed: int = SEED) -> dict[str, pl.DataFrame]:
    """Every generated file's rows, by stream."""
    return {
        "leads": leads(deals, seed),
        "quotes": quotes(deals, seed),
        "cases": cases(deals, accounts, seed),
        "calls": calls(deals, seed),
    }


def read_deals(seed_dir: Path) -> tuple[Deals, list[str]]:
    """The opportunities and account names of a seed folder (its pipeline and accounts)."""
    table = read_table(seed_dir / "sales_pipeline.csv", REQUIRED_PIPELINE_COLUMNS)
    # the rules read dates, stages, agents and accounts only: no price, no currency
    mapped = map_pipeline(
        table,
        prices={},
        currencies=Currencies(DEFAULT_CORPORATE_CURRENCY, {DEFAULT_CORPORATE_CURRENCY: 1.0}),
    )
    accounts = read_table(seed_dir / "accounts.csv", ("account",))["account"].str.strip_chars()
    return deals_of(mapped.records, mapped.fallback_created), accounts.to_list()


def write_companion(seed_dir: Path, out_dir: Path, seed: int = SEED) -> dict[str, Path]:
    """Derive the companion files of ``seed_dir`` and write them into ``out_dir``."""
    deals, accounts = read_deals(seed_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for stream, rows in companion(deals, accounts, seed).items():
        path = out_dir / ACTIVITY_FILES[stream]
        # an empty text is an empty field, not the quoted "" Polars writes for it
        rows = rows.with_columns(pl.col(pl.String).replace("", None))
        rows.write_csv(path, line_terminator=LINE_END, date_format="%Y-%m-%d")
        written[stream] = path
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed_dir", type=Path, help="a seed folder in the Maven layout")
    parser.add_argument("out_dir", type=Path, help="where leads.csv … calls.csv are written")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for stream, path in write_companion(args.seed_dir, args.out_dir, args.seed).items():
        print(f"{path}: {stream}")


if __name__ == "__main__":
    main()

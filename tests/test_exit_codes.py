"""One exit-code contract: the error tree drawn in core/errors.py, its ``EXIT_CODES``, the
README's table, and what the CLI does.

The first tests hold the three texts to one another. The others run the real CLI in a
process of its own, as a scheduler runs it, once or more for each row of the table, with
the codes coming from real behaviour: the sandbox CRM with its faults switched on, a
port nothing listens on, a wrong password, a held store. Each run must end with the
row's code and one line on stderr that says what happened (retry warnings may come
before it), and never with a traceback.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from core import errors
from core.errors import EXIT_CODES, PartnerKpiError
from sandbox.server import RunningSandbox
from store import LocalStore, RunStatus
from tests.app.test_data_quality import GOOD_ROWS, small_seed
from tests.sandbox.conftest import set_faults
from tests.writeback.test_refusals import target_for
from tests.writeback.test_sandbox import AS_OF, PARTNERS, Crm

README = Path(__file__).resolve().parents[1] / "README.md"


def error_classes() -> dict[str, type[PartnerKpiError]]:
    found: dict[str, type[PartnerKpiError]] = {}
    pending: list[type[PartnerKpiError]] = [PartnerKpiError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending += cls.__subclasses__()
    return {name: cls for name, cls in found.items() if cls.__module__ == errors.__name__}


def drawn_tree() -> dict[str, tuple[int | None, str | None]]:
    """Each class in the docstring's drawing: its exit code and its parent."""
    drawn: dict[str, tuple[int | None, str | None]] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ([│├└─ ]*)(\w+)(?:\s+(\d+))?\s", line + " ")
        if match is None or not match.group(2)[0].isupper():
            continue
        depth = len(match.group(1)) // 4
        del parents[depth:]
        code = int(match.group(3)) if match.group(3) else None
        drawn[match.group(2)] = (code, parents[-1] if parents else None)
        parents.append(match.group(2))
    return drawn


def readme_codes() -> dict[int, str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Exit codes") :].split("\n\n")[1]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.+) \|$", table, re.M)}


def test_the_drawing_is_the_class_tree_with_its_exit_codes() -> None:
    drawn = drawn_tree()
    classes = error_classes()
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        code, parent = drawn[name]
        assert parent == (None if cls is PartnerKpiError else cls.__mro__[1].__name__), name
        if cls is not PartnerKpiError:
            assert code == cls.exit_code, name


def test_the_readme_tables_exit_codes_row_for_row() -> None:
    assert readme_codes() == dict(EXIT_CODES)


def test_every_class_has_a_documented_code_and_every_failure_code_a_class() -> None:
    used = {cls.exit_code for cls in error_classes().values()}
    assert used <= set(EXIT_CODES)
    assert set(EXIT_CODES) - used == {0}  # 0 is success; every other row is an error class


def test_help_lists_the_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "partner_kpi", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = done.stdout[done.stdout.index("Exit codes:") :]
    for code, meaning in EXIT_CODES.items():
        assert re.search(rf"^ +{code} +{re.escape(meaning.split()[0])}", listed, re.M), code


# --- the CLI, one run per row ------------------------------------------------------------

#: The longest a run against a URL where nothing listens may take (the short budget is
#: about 5 s of retries; the process start and imports take the rest).
UNREACHABLE_WITHIN_SECONDS = 15.0


@dataclass
class Invocation:
    """What to run, with what environment, and what the one error line must say."""

    args: list[str | Path]
    says: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    within_seconds: float | None = None
    #: checked after the run (the store, the sandbox, a second command)
    then: Callable[[subprocess.CompletedProcess[str]], None] | None = None


class Setting:
    """What a case may use: its folder, and a sandbox reset to its seeded state on demand."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self._request = request
        self.folder = folder

    def target(self, crm: str, *, synced: bool = False, **crm_keys: Any) -> Crm:
        """The sandbox through ``crm``, with a config (fast backoff) and store in the folder;
        ``synced``: the store filled by an earlier sync, as a scheduled job's is."""
        start: Callable[..., RunningSandbox] = self._request.getfixturevalue("fresh_sandbox")
        target = target_for(start(), crm, self.folder, **crm_keys)
        if synced:
            self._request.getfixturevalue("synced_store")(crm, target.store)
        return target


def run_cli(invocation: Invocation) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "partner_kpi", *map(str, invocation.args)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **invocation.env},
    )  # fmt: skip
    return done, time.monotonic() - started


def edit_crm(target: Crm, **keys: Any) -> None:
    """Change keys of the target's ``crm:`` section (None removes one)."""
    document = yaml.safe_load(target.config.read_text())
    for key, value in keys.items():
        if value is None:
            document["crm"].pop(key, None)
        else:
            document["crm"][key] = value
    target.config.write_text(yaml.safe_dump(document))


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def sync_args(target: Crm, *more: str) -> list[str | Path]:
    return ["sync", "--config", target.config, "--as-of", AS_OF, *more]


def fields_created(target: Crm) -> Crm:
    assert target.cli("fields", "create", "--config", target.config).exit_code == 0
    return target


# 0 and 1 --------------------------------------------------------------------------------


def ready_check(s: Setting) -> Invocation:
    target = fields_created(s.target("salesforce"))
    return Invocation(["check", "--config", target.config], env=target.env)


def check_missing_fields(s: Setting) -> Invocation:
    target = s.target("hubspot")
    return Invocation(
        ["check", "--config", target.config],
        says=("check: 4 of ", "things a sync needs are not ready (property companies.partner_score",
              "the lines above say why"),
        env=target.env,
    )  # fmt: skip


# 2 and 3 --------------------------------------------------------------------------------


def bad_config(s: Setting) -> Invocation:
    config = s.folder / "bad.yaml"
    config.write_text("crm:\n  type: salesforce\n  overlap_seconds: -5\n")
    return Invocation(
        ["sync", "--config", config],
        says=("crm.overlap_seconds: Input should be greater than or equal to 0",),
    )


def wrong_base_path(command: str) -> Callable[[Setting], Invocation]:
    """``crm.base_url`` on the sandbox's host but a path HubSpot does not serve: the first
    metadata call answers 404, which names the key, not an error of the CRM (exit 5)."""

    def case(s: Setting) -> Invocation:
        target = s.target("hubspot")
        url = target.running.url.rstrip("/") + "/nothing-here"
        edit_crm(target, base_url=url)
        return Invocation(
            COMMANDS[command](target),
            says=(f"crm.base_url: {url} answered HTTP 404", "to read the deals pipelines",
                  "crm.base_url is not the URL of HubSpot's API; check it"),
            env=target.env,
        )  # fmt: skip

    return case


def refused_password(s: Setting) -> Invocation:
    """``check`` ends on a refused login as ``sync`` does (tests/writeback/test_refusals.py)."""
    target = s.target("salesforce")
    return Invocation(
        ["check", "--config", target.config],
        says=("Salesforce refused the password login", "invalid_grant",
              "PARTNER_KPI_SF_PASSWORD"),
        env={**target.env, "PARTNER_KPI_SF_PASSWORD": "not-the-password"},
    )  # fmt: skip


def refused_token(s: Setting) -> Invocation:
    target = s.target("hubspot")
    return Invocation(
        ["check", "--config", target.config],
        says=("HubSpot refused the access token read from PARTNER_KPI_HUBSPOT_TOKEN",),
        env={**target.env, "PARTNER_KPI_HUBSPOT_TOKEN": "pat-na1-not-the-token"},
    )


# 4 ---------------------------------------------------------------------------------------

FAULT_SAYS = {
    ("salesforce", "server_error"): ("salesforce SERVER_UNAVAILABLE", "(HTTP 503"),
    ("hubspot", "server_error"): ("hubspot SERVICE_UNAVAILABLE", "(HTTP 503, request id "),
    ("salesforce", "drop"): ("salesforce CONNECTION_LOST", "the connection was lost"),
    ("hubspot", "drop"): ("hubspot CONNECTION_LOST", "the connection was lost"),
}


def retries_run_out(crm: str, fault: str) -> Callable[[Setting], Invocation]:
    """Every call answered by a 503, or its connection dropped: 3 attempts, then exit 4."""

    def case(s: Setting) -> Invocation:
        target = s.target(crm, max_attempts=3)
        set_faults(target.running, f"{fault}=1.0")
        return Invocation(
            sync_args(target),
            says=(*FAULT_SAYS[crm, fault], "failed 3 times over",
                  "The next run resumes where this one stopped"),
            env=target.env,
        )  # fmt: skip

    return case


COMMANDS: dict[str, Callable[[Crm], list[str | Path]]] = {
    "check": lambda t: ["check", "--config", t.config],
    "audit": lambda t: [
        "audit",
        "--config",
        t.config,
        "--as-of",
        AS_OF,
        "--out",
        t.folder / "out",
    ],
    "sync": sync_args,
}


def nothing_listens(crm: str, command: str) -> Callable[[Setting], Invocation]:
    """The config's URL on a port nothing listens on (a sandbox that is not running): the
    run must say so within seconds, not retry for minutes. The two runs of the issue
    (a Salesforce sync, a HubSpot check) keep the default backoff; the others set it to
    0 to keep the file fast, as the budget is the same code's."""

    def case(s: Setting) -> Invocation:
        target = s.target(crm)
        url = f"https://127.0.0.1:{free_port()}"
        key = "login_url" if crm == "salesforce" else "base_url"
        if (crm, command) in (("salesforce", "sync"), ("hubspot", "check")):
            edit_crm(target, **{key: url, "backoff_initial_seconds": None,
                                "backoff_max_seconds": None})  # fmt: skip
        else:
            edit_crm(target, **{key: url})
        label = "Salesforce" if crm == "salesforce" else "HubSpot"
        return Invocation(
            COMMANDS[command](target),
            says=(f"{label} cannot be reached at {url} (connection refused)",
                  "gave up after 4 attempts over", f"Check crm.{key}",
                  "is the sandbox running? start it with `partner-kpi sandbox serve`"),
            env=target.env,
            within_seconds=UNREACHABLE_WITHIN_SECONDS,
        )  # fmt: skip

    return case


# 5 to 9 ----------------------------------------------------------------------------------


def rejected_query(s: Setting) -> Invocation:
    target = s.target("salesforce", partner_filter="Nope__c = true")
    return Invocation(
        ["audit", "--config", target.config, "--as-of", AS_OF, "--out", s.folder / "out"],
        says=("salesforce INVALID_FIELD", "No such column 'Nope__c' on entity 'Account'",
              "(HTTP 400)"),
        env=target.env,
    )  # fmt: skip


def bad_seed(s: Setting) -> Invocation:
    seed = s.folder / "seed"
    seed.mkdir()
    return Invocation(
        ["audit", "--seed", seed, "--as-of", AS_OF, "--out", s.folder / "out"],
        says=(f"{seed / 'sales_teams.csv'}: file not found",),
    )


def held_store(s: Setting) -> Invocation:
    target = s.target("salesforce")
    store_path = s.folder / "salesforce-store.db"
    holding = LocalStore.open(store_path, holder="a test holding the store")
    holding.__enter__()

    def release(_: subprocess.CompletedProcess[str]) -> None:
        holding.__exit__(None, None, None)

    return Invocation(
        sync_args(target),
        says=(f"the store {store_path} is in use by", "a test holding the store"),
        env=target.env,
        then=release,
    )


def no_store(command: str) -> Callable[[Setting], Invocation]:
    """``history`` or ``rollback`` on a store path where there is no file: they only read
    what runs stored, so they say so and leave no store (nor its lock file) behind."""

    def case(s: Setting) -> Invocation:
        target = s.target("salesforce")  # a rollback's credentials are all there
        store_path = s.folder / "salesforce-store.db"
        before = sorted(s.folder.rglob("*"))
        args: list[str | Path] = [command, "--config", target.config]
        if command == "rollback":
            args.append("20261201T000000-0001")

        def nothing_created(_: subprocess.CompletedProcess[str]) -> None:
            assert sorted(s.folder.rglob("*")) == before

        return Invocation(
            args,
            says=(f"no store at {store_path} (store.path); `partner-kpi audit --config` or "
                  "`sync` creates it",),
            env=target.env,
            then=nothing_created,
        )  # fmt: skip

    return case


def tier_guard(s: Setting) -> Invocation:
    """Every partner's tier set to Bronze by hand: most would change at once."""
    target = fields_created(s.target("salesforce", synced=True))
    target.write({partner: {"tier": "Bronze"} for partner in target.partner_ids()})
    target.reset_stats()

    def nothing_written(_: subprocess.CompletedProcess[str]) -> None:
        assert target.records_written() == 0

    return Invocation(
        sync_args(target),
        says=("tier guard: refused:", "would change tier; the limit is 20%", "--force"),
        env=target.env,
        then=nothing_written,
    )  # fmt: skip


def rejected_records(s: Setting) -> Invocation:
    """Every fifth record of a write rejected: the others written, the run stored partial
    and shown so by ``history``."""
    target = fields_created(s.target("salesforce", synced=True))
    set_faults(target.running, "reject_records=every:5")

    def stored_partial(done: subprocess.CompletedProcess[str]) -> None:
        assert 0 < target.records_written() < PARTNERS
        with LocalStore.open(s.folder / "salesforce-store.db", holder="pytest") as store:
            (run,) = [run for run in store.list_runs() if run.kind == "sync"]
        assert run.status is RunStatus.PARTIAL
        rejected = run.counts["records_rejected"]
        assert run.error == f"{rejected} records rejected; the next sync retries them"
        history, _seconds = run_cli(Invocation(["history", "--config", target.config]))
        assert history.returncode == 0, history.stderr
        (sync_row,) = [row for row in history.stdout.splitlines() if "│ sync " in row]
        assert "partial" in sync_row and "succeeded" not in sync_row, history.stdout

    return Invocation(
        sync_args(target),
        says=("records were rejected by the CRM (run ", "the next sync retries the rejected"),
        env=target.env,
        then=stored_partial,
    )


def quality_exclusions(s: Setting) -> Invocation:
    """A won deal with a negative amount: the audit completes, the deal left out."""
    seed = small_seed(
        s.folder / "seed", *GOOD_ROWS, "N1,Al Agent,Widget,Acme,Won,2017-02-01,2017-06-01,-500"
    )
    out = s.folder / "out"
    return Invocation(
        ["audit", "--seed", seed, "--as-of", AS_OF, "--out", out],
        says=("completed, with 1 record left out of every KPI by data-quality rules "
              f"(amount_negative 1); they are listed in {out / 'quality.csv'}",),
    )  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One run of the CLI that must end with ``code``."""

    code: int
    case: Callable[[Setting], Invocation]


ROWS: dict[str, Row] = {
    "0-check-ready": Row(0, ready_check),
    "1-check-missing-fields": Row(1, check_missing_fields),
    "2-bad-config": Row(2, bad_config),
    "2-hubspot-check-wrong-base-path": Row(2, wrong_base_path("check")),
    "2-hubspot-audit-wrong-base-path": Row(2, wrong_base_path("audit")),
    "3-check-refused-password": Row(3, refused_password),
    "3-check-refused-token": Row(3, refused_token),
    **{
        f"4-{crm}-{fault}": Row(4, retries_run_out(crm, fault))
        for crm in ("salesforce", "hubspot")
        for fault in ("server_error", "drop")
    },
    **{
        f"4-{crm}-{command}-nothing-listens": Row(4, nothing_listens(crm, command))
        for crm in ("salesforce", "hubspot")
        for command in COMMANDS
    },
    "5-rejected-query": Row(5, rejected_query),
    "6-bad-seed": Row(6, bad_seed),
    "7-held-store": Row(7, held_store),
    "7-history-no-store": Row(7, no_store("history")),
    "7-rollback-no-store": Row(7, no_store("rollback")),
    "8-tier-guard": Row(8, tier_guard),
    "9-rejected-records": Row(9, rejected_records),
    "10-quality-exclusions": Row(10, quality_exclusions),
}


def test_every_row_of_the_table_is_run() -> None:
    assert {row.code for row in ROWS.values()} == set(EXIT_CODES)


@pytest.mark.parametrize("name", list(ROWS))
def test_the_cli_ends_with_the_code_and_line_of_its_row(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    row = ROWS[name]
    invocation = row.case(Setting(request, tmp_path))

    done, seconds = run_cli(invocation)
    if invocation.then is not None:
        invocation.then(done)

    assert done.returncode == row.code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    if row.code == 0:
        assert lines == [] and "MISSING" not in done.stdout, done.stdout
    else:
        *before, last = lines
        assert all(line.startswith("partner-kpi: warning: ") for line in before), done.stderr
        # a run that completed (10) says what it found as a warning, not an error
        said = "warning" if row.code == 10 else "error"
        assert last.startswith(f"partner-kpi: {said}: "), done.stderr
        for words in invocation.says:
            assert words in last, last
    if invocation.within_seconds is not None:
        assert seconds < invocation.within_seconds

"""Every write a CRM record received, counted per record: how a test proves none landed twice.

The log is kept by SQLite triggers on the record tables, so it counts writes however
they came (a PATCH, a collection, a Bulk ingest row, a batch update), only those that
committed (a rolled-back ``allOrNone`` batch leaves no trace), and it lives in the
store: a reset puts it back to empty with the seeded data. Read through
``GET /__sandbox/writes``.
"""

from __future__ import annotations

from sandbox.http import HUBSPOT, SALESFORCE
from sandbox.hubspot.objects import COMPANIES, DEALS, ID_COLUMN
from sandbox.store import SqlStore, quote

WRITE_LOG_TABLE = "sandbox_write_log"
#: (crm, object, table, id column) of the records whose writes are counted
LOGGED_TABLES = (
    (SALESFORCE, "Account", "Account", "Id"),
    (SALESFORCE, "Opportunity", "Opportunity", "Id"),
    (HUBSPOT, COMPANIES.name, COMPANIES.table, ID_COLUMN),
    (HUBSPOT, DEALS.name, DEALS.table, ID_COLUMN),
)


def install_write_log(store: SqlStore) -> None:
    """Start counting: one log row per committed UPDATE of a logged record (after seeding)."""
    with store.transaction():
        store.execute(
            f"CREATE TABLE {quote(WRITE_LOG_TABLE)} "
            "(crm TEXT NOT NULL, object TEXT NOT NULL, record_id TEXT NOT NULL)"
        )
        for crm, name, table, id_column in LOGGED_TABLES:
            trigger = quote(f"{WRITE_LOG_TABLE}_{crm}_{name}")
            store.execute(
                f"CREATE TRIGGER {trigger} AFTER UPDATE ON {quote(table)} BEGIN "
                f"INSERT INTO {quote(WRITE_LOG_TABLE)} (crm, object, record_id) "
                f"VALUES ('{crm}', '{name}', CAST(NEW.{quote(id_column)} AS TEXT)); END"
            )


def writes_by_record(store: SqlStore) -> dict[str, dict[str, dict[str, int]]]:
    """Writes per CRM, object and record id, of the records written at least once."""
    counts: dict[str, dict[str, dict[str, int]]] = {crm: {} for crm in (SALESFORCE, HUBSPOT)}
    rows = store.query(
        f"SELECT crm, object, record_id, COUNT(*) FROM {quote(WRITE_LOG_TABLE)} "
        "GROUP BY crm, object, record_id ORDER BY crm, object, record_id"
    )
    for crm, name, record_id, writes in rows:
        counts[crm].setdefault(name, {})[record_id] = writes
    return counts

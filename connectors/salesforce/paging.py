"""Query paging, written once: REST pages of 2,000 (``nextRecordsUrl``), or a Bulk API 2.0
query job when the read is large, every request through the client's ``call``.

Two refusals change the route rather than end the read:

- a REST query the org answers ``QUERY_TIMEOUT`` ("Your query request was running for
  too long", https://github.com/airbytehq/airbyte/issues/17503) is read as a Bulk API 2.0
  job instead, which Salesforce runs asynchronously without that limit;
- a Bulk job the org refuses for a field it cannot export ("Selecting compound data not
  supported in Bulk Query" for an address or location field, "… is not supported by the
  Bulk API"; https://github.com/airbytehq/airbyte/pull/8206) is read over REST instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any

from simple_salesforce.bulk2 import Operation

from connectors.salesforce.mapping import Row, row_from_json, rows_from_csv
from connectors.salesforce.queries import (
    BULK_RESULT_PAGE_SIZE,
    QUERY_PAGE_SIZE,
    Select,
    count_of,
    id_chunks,
)
from connectors.salesforce.wire import SalesforceClient, bulk_client
from core.errors import CrmApiError

logger = logging.getLogger(__name__)

QUERY_TIMEOUT = "QUERY_TIMEOUT"
#: What Salesforce says when the Bulk API cannot export a query's fields or object.
BULK_REFUSALS = (
    "compound data not supported",
    "not supported by the Bulk API",
    "Binary field not supported",
)


@dataclass(frozen=True)
class RecordPage:
    """One page of rows and the query's total (as Salesforce counted it)."""

    rows: list[Row]
    total_size: int


def count(client: SalesforceClient, select: Select) -> int:
    """``SELECT COUNT()`` with the read's condition (deleted rows too when it has them)."""
    soql = count_of(select)
    result = client.call(
        f"count {select.sobject}",
        lambda sf: sf.query(soql, include_deleted=select.include_deleted),
    )
    return int(result["totalSize"])


def pages(
    client: SalesforceClient, select: Select, *, bulk_threshold: int | None = None
) -> Iterator[RecordPage]:
    """The rows of ``select``, page by page, over REST or Bulk API 2.0.

    The first REST page tells how many records match (``totalSize``): when
    that reaches ``bulk_threshold`` and more pages remain, the read becomes a
    Bulk API 2.0 job. Deciding from the first page costs no extra call in the
    common, smaller case (a ``COUNT()`` first would cost one on every read).
    """
    soql = select.soql()
    headers = {"Sforce-Query-Options": f"batchSize={QUERY_PAGE_SIZE}"}
    try:
        result = client.call(
            f"query {select.sobject}",
            lambda sf: sf.query(soql, include_deleted=select.include_deleted, headers=headers),
        )
    except CrmApiError as timed_out:
        if timed_out.error_code != QUERY_TIMEOUT:
            raise
        logger.warning(
            "salesforce: the query of %s timed out (QUERY_TIMEOUT); reading it through "
            "Bulk API 2.0",
            select.sobject,
        )
        job_id = _bulk_job(client, select)
        if job_id is None:
            raise
        yield from bulk_job_pages(client, select, job_id, None)
        return
    total = int(result["totalSize"])
    if bulk_threshold is not None and total >= bulk_threshold and not result.get("done"):
        logger.info("salesforce: %d %s records, switching to Bulk API 2.0", total, select.sobject)
        job_id = _bulk_job(client, select)
        if job_id is not None:
            yield from bulk_job_pages(client, select, job_id, total)
            return
    while True:
        yield RecordPage([row_from_json(r, select.fields) for r in result["records"]], total)
        next_url = result.get("nextRecordsUrl")
        if result.get("done", True) or not next_url:
            return
        result = client.call(
            f"query {select.sobject} (next page)", partial(_query_more, str(next_url), headers)
        )


def _bulk_job(client: SalesforceClient, select: Select) -> str | None:
    """A Bulk API 2.0 query job for ``select``; None when the Bulk API cannot export it
    (the read then stays on REST, which can)."""
    sobject = select.sobject
    operation = Operation.query_all if select.include_deleted else Operation.query
    try:
        job = client.call(
            f"create a Bulk API 2.0 job on {sobject}",
            lambda sf: bulk_client(sf, sobject).create_job(operation, select.soql()),
        )
    except CrmApiError as refused:
        if refused.http_status != 400 or not any(text in str(refused) for text in BULK_REFUSALS):
            raise
        logger.warning(
            "salesforce: the Bulk API cannot export %s (%s); reading it over REST",
            ", ".join(select.field_names),
            refused,
        )
        return None
    return str(job["id"])


def bulk_job_pages(
    client: SalesforceClient, select: Select, job_id: str, total: int | None
) -> Iterator[RecordPage]:
    """The rows of a Bulk API 2.0 query job, a result page at a time (``total`` None: the
    job's own count)."""
    sobject = select.sobject
    info = client.wait_for_job(sobject, job_id, query=True)
    if total is None:
        total = int(info.get("numberRecordsProcessed") or 0)
    locator = ""
    while True:
        result = client.call(
            f"Bulk API 2.0 results of {job_id}", partial(_bulk_results, sobject, job_id, locator)
        )
        locator = str(result.get("locator") or "")
        # A result page saves calls (50,000 rows each) but is parsed and passed
        # on a query page at a time, so memory stays that of 2,000 rows.
        rows = rows_from_csv(result.pop("records"), select.fields)
        while chunk := list(islice(rows, QUERY_PAGE_SIZE)):
            yield RecordPage(chunk, total)
        if not locator:
            return


def rows_by_ids(
    client: SalesforceClient, select: Select, ids: Sequence[str], key: str = "Id"
) -> Iterator[Row]:
    """The rows of ``select`` whose ``key`` is one of ``ids``, in as few queries as fit."""
    if not ids:
        return
    for chunk in id_chunks(client.base_url, select, ids, key):
        for page in pages(client, chunk):
            yield from page.rows


def ids(client: SalesforceClient, select: Select, *, bulk_threshold: int) -> Iterator[list[str]]:
    """Pages of the ``Id`` of every row ``select`` matches (REST pages of 2,000, or one Bulk
    API 2.0 job past ``bulk_threshold``): a listing of live ids."""
    for page in pages(client, select, bulk_threshold=bulk_threshold):
        yield [str(row["Id"]) for row in page.rows]


def _query_more(next_url: str, headers: Mapping[str, str], sf: Any) -> Any:
    return sf.query_more(next_url, identifier_is_url=True, headers=dict(headers))


def _bulk_results(sobject: str, job_id: str, locator: str, sf: Any) -> Any:
    return bulk_client(sf, sobject).get_query_results(job_id, locator, BULK_RESULT_PAGE_SIZE)

"""Score values onto partner Accounts, each record's outcome on its own.

A writeback touches many Accounts and one bad record must not hold back the others,
nor cost a call of its own: up to ``crm.bulk_write_threshold`` records go through
sObject Collections (200 a call, allOrNone false), more as Bulk API 2.0 update jobs,
whose calls do not grow with the records. A record no API would take (a malformed id
or field name) is answered here and never sent, so the caller still gets one outcome
per record, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from connectors.salesforce.ingest import bulk_update, ingest_csv, ingest_outcomes, wire_value
from connectors.salesforce.queries import (
    ACCOUNT,
    BULK_WRITE_JOB_SIZE,
    COLLECTION_SIZE,
    CRM,
    FIELD_NAME,
    RECORD_ID,
)
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.wire import SalesforceClient
from core.connector import WriteResult
from core.errors import CrmApiError


class AccountWriter:
    """Field values onto partner Accounts, through the connector's client and settings."""

    def __init__(self, client: SalesforceClient, settings: SalesforceSettings) -> None:
        self.client = client
        self.settings = settings

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """``SalesforceConnector.update_records``: one outcome per record, in order."""
        results: list[WriteResult] = []
        items = list(updates.items())
        bulk = len(items) > self.settings.bulk_write_threshold
        size = BULK_WRITE_JOB_SIZE if bulk else COLLECTION_SIZE
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            results.extend(self._update_by_job(chunk) if bulk else self._update_batch(chunk))
        return results

    def _update_by_job(self, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[WriteResult]:
        """One Bulk API 2.0 update job for ``batch``; its CSV results as WriteResults."""
        outcomes: dict[str, WriteResult] = {}
        sent: dict[str, Mapping[str, Any]] = {}
        for record_id, values in batch:
            invalid = _invalid(record_id, values)
            if invalid is not None:
                outcomes[record_id] = invalid
            else:
                sent[record_id] = values
        if sent:
            results = bulk_update(self.client, ACCOUNT, ingest_csv(sent), len(sent))
            outcomes |= ingest_outcomes(results, sent)
        return [
            outcomes.get(record_id)
            or WriteResult(record_id, False, "NO_RESULT", "the job's results left it out")
            for record_id, _ in batch
        ]

    def _update_batch(self, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[WriteResult]:
        outcomes: dict[int, WriteResult] = {}
        records: list[dict[str, Any]] = []
        positions: list[int] = []
        for position, (record_id, values) in enumerate(batch):
            invalid = _invalid(record_id, values)
            if invalid is not None:
                outcomes[position] = invalid
            else:
                json_values = {name: wire_value(value) for name, value in values.items()}
                records.append({"attributes": {"type": ACCOUNT}, "id": record_id, **json_values})
                positions.append(position)
        if records:
            answer = self.client.call(
                f"update {len(records)} Accounts", partial(collection_call, "PATCH", records)
            )
            for position, record, result in zip(positions, records, answer, strict=True):
                written = tuple(name for name in record if name not in ("attributes", "id"))
                outcomes[position] = save_result(str(record["id"]), result, written)
        return [outcomes[position] for position in range(len(batch))]


def _invalid(record_id: str, values: Mapping[str, Any]) -> WriteResult | None:
    """A record no API would take (a malformed id or field name), answered locally."""
    written = tuple(values)
    bad = [name for name in written if not FIELD_NAME.match(name)]
    if not RECORD_ID.match(record_id):
        return WriteResult(record_id, False, "MALFORMED_ID", "not a Salesforce record id", written)
    if bad:
        return WriteResult(
            record_id, False, "INVALID_FIELD", f"not field API names: {bad}", tuple(bad)
        )
    return None


def collection_call(method: str, records: Sequence[Mapping[str, Any]], sf: Any) -> list[Any]:
    """sObject Collections: POST creates, PATCH updates; allOrNone false, one result each."""
    answer = sf.restful(
        "composite/sobjects", method=method, json={"allOrNone": False, "records": list(records)}
    )
    if not isinstance(answer, list) or len(answer) != len(records):
        raise CrmApiError(
            f"composite/sobjects answered {len(answer or [])} results for {len(records)} records",
            crm=CRM,
            error_code="UNEXPECTED_RESPONSE",
        )
    return answer


def save_result(label: str, result: Any, written: tuple[str, ...] = ()) -> WriteResult:
    """One SaveResult of sObject Collections as a WriteResult named ``label``: on failure
    its first error's code and message, and the fields it names (else ``written``)."""
    if isinstance(result, Mapping) and result.get("success"):
        return WriteResult(label, True, fields=written)
    errors = result.get("errors") if isinstance(result, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors else {}
    return WriteResult(
        label,
        False,
        error_code=str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN_ERROR"),
        message=str(first.get("message") or ""),
        fields=tuple(first.get("fields") or written),
    )

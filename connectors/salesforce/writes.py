"""Score values onto partner Accounts, each record's outcome on its own.

A writeback touches many Accounts and one bad record must not hold back the others,
nor cost a call of its own: up to ``crm.bulk_write_threshold`` records go through
sObject Collections (200 a call, allOrNone false), more as Bulk API 2.0 update jobs,
whose calls do not grow with the records. A record no API would take (a malformed id
or field name) is answered here and never sent, so the caller still gets one outcome
per record, in order.

A record another transaction holds (UNABLE_TO_LOCK_ROW: "unable to obtain exclusive
access to this record", https://github.com/jsforce/jsforce/issues/1018, where retrying
is the advice) is sent again on its own, after a backoff, up to ``LOCK_RETRY_ROUNDS``
times; still locked after that, it is a rejected record naming its id and the code.

A collection update whose answer was lost is not sent again here (it may have
landed): it ends in ``AnswerLost`` and ``writeback.apply`` reads the records back.
A Bulk job is repeated step by step, since the org refuses a repeated upload or close.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from connectors.retry import backoff_seconds
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

logger = logging.getLogger(__name__)

LOCKED = "UNABLE_TO_LOCK_ROW"
#: How many times a locked record is sent again before it counts as rejected.
LOCK_RETRY_ROUNDS = 3


class AccountWriter:
    """Field values onto partner Accounts, through the connector's client and settings."""

    def __init__(self, client: SalesforceClient, settings: SalesforceSettings) -> None:
        self.client = client
        self.settings = settings

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """``SalesforceConnector.update_records``: one outcome per record, in order, locked
        records retried on their own (see the module)."""
        items = list(updates.items())
        outcomes = self._update(items, bulk=len(items) > self.settings.bulk_write_threshold)
        for round_ in range(1, LOCK_RETRY_ROUNDS + 1):
            locked = [position for position, result in enumerate(outcomes)
                      if not result.ok and result.error_code == LOCKED]  # fmt: skip
            if not locked:
                break
            logger.warning(
                "salesforce: %d Account(s) locked by another transaction (%s); sending them "
                "again, retry %d of %d",
                len(locked),
                LOCKED,
                round_,
                LOCK_RETRY_ROUNDS,
                # the same facts as fields, for JSON log lines
                extra={
                    "crm": CRM,
                    "error_code": LOCKED,
                    "records": len(locked),
                    "attempt": round_,
                    "max_attempts": LOCK_RETRY_ROUNDS,
                },
            )
            self.client.pause(
                backoff_seconds(
                    round_,
                    self.settings.backoff_initial_seconds,
                    self.settings.backoff_max_seconds,
                )
            )
            again = self._update([items[position] for position in locked], bulk=False)
            for position, result in zip(locked, again, strict=True):
                outcomes[position] = result
        return [
            _still_locked(result) if not result.ok and result.error_code == LOCKED
            else result
            for result in outcomes
        ]  # fmt: skip

    def _update(
        self, items: Sequence[tuple[str, Mapping[str, Any]]], *, bulk: bool
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
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
                f"update {len(records)} Accounts",
                partial(collection_call, "PATCH", records),
                repeatable=False,  # a lost answer may hide a landed write: AnswerLost
            )
            for position, record, result in zip(positions, records, answer, strict=True):
                written = tuple(name for name in record if name not in ("attributes", "id"))
                outcomes[position] = save_result(str(record["id"]), result, written)
        return [outcomes[position] for position in range(len(batch))]


def _still_locked(result: WriteResult) -> WriteResult:
    """A record locked through every retry: rejected, saying how often it was tried."""
    return WriteResult(
        result.record_id,
        False,
        LOCKED,
        f"{result.message} (still locked after {LOCK_RETRY_ROUNDS} retries)",
        result.fields,
    )


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

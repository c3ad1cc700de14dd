"""Writes to partner companies (issue 5), and reads of the values written.

Writes go to partner companies through batch update, 100 a call, each
record's outcome reported on its own: a 207 names the records it refused, and
the rest of the batch is written. A batch update whose answer was lost is not sent
again (it may have landed): it ends in ``AnswerLost`` and ``writeback.apply`` reads
the records back.

Values cross the wire as HubSpot's property text, and come back typed by each
property's definition, so a value read compares with the value written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.mapping import BatchError, moment_of, ms_of, parse_ms
from connectors.hubspot.provisioning import CompanyProperties
from connectors.hubspot.queries import BATCH_SIZE, COMPANIES
from connectors.hubspot.settings import PROPERTY_NAME
from connectors.hubspot.wire import raise_unexpected
from core.connector import WriteResult
from core.errors import SchemaError


class CompanyWrites:
    """Reads and writes property values of partner companies, by record id."""

    def __init__(self, client: HubSpotClient, properties: CompanyProperties) -> None:
        self.client = client
        self.properties = properties

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of ``fields`` on partner companies, by id, typed by each property's
        definition (number → float, bool, date, datetime; else text). Absent ids are left out."""
        for name in fields:
            if not PROPERTY_NAME.match(name):
                raise SchemaError(f"{name!r} is not a HubSpot property internal name")
        for record_id in record_ids:
            if not record_id.isdigit():
                raise SchemaError(f"{record_id!r} is not a HubSpot record id", record_id=record_id)
        types = {name: p.type for name, p in self.properties.get().items()}
        ids = list(dict.fromkeys(record_ids))
        values: dict[str, dict[str, Any]] = {}
        for begin in range(0, len(ids), BATCH_SIZE):
            records, errors = self.client.batch_read(
                COMPANIES, ids[begin : begin + BATCH_SIZE], properties=fields
            )
            raise_unexpected(errors, expected="OBJECT_NOT_FOUND")
            for record in records:
                values[record.id] = {
                    name: _typed(record.get(name), types.get(name)) for name in fields
                }
        return values

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        """Write property values to partner companies: batch update, 100 a call; a 207's
        errors become per-record failures, the others succeed."""
        results: list[WriteResult] = []
        items = list(updates.items())
        for begin in range(0, len(items), BATCH_SIZE):
            results.extend(self._update_batch(items[begin : begin + BATCH_SIZE]))
        return results

    def _update_batch(self, batch: Sequence[tuple[str, Mapping[str, Any]]]) -> list[WriteResult]:
        outcomes: dict[str, WriteResult] = {}
        inputs: list[tuple[str, dict[str, str]]] = []
        for record_id, values in batch:
            written = tuple(values)
            bad = [name for name in written if not PROPERTY_NAME.match(name)]
            if not record_id.isdigit():
                outcomes[record_id] = WriteResult(
                    record_id, False, "INVALID_ID", "not a HubSpot record id", written
                )
            elif bad:
                outcomes[record_id] = WriteResult(
                    record_id, False, "INVALID_PROPERTY_NAME",
                    f"not property internal names: {bad}", tuple(bad),
                )  # fmt: skip
            else:
                inputs.append((record_id, {k: _wire(v) for k, v in values.items()}))
        if inputs:
            written_ids, errors = self.client.batch_update(COMPANIES, inputs)
            failed: dict[str, BatchError] = {}
            for batch_error in errors:
                for record_id in batch_error.ids:
                    failed.setdefault(record_id, batch_error)
            unattributed = next((e for e in errors if not e.ids), None)
            done = set(written_ids)
            for record_id, values in inputs:
                error = failed.get(record_id)
                if error is None and record_id not in done:
                    error = unattributed or BatchError(
                        "UNKNOWN_ERROR", "HubSpot answered neither a result nor an error", ()
                    )
                if error is None:
                    outcomes[record_id] = WriteResult(record_id, True, fields=tuple(values))
                else:
                    outcomes[record_id] = WriteResult(
                        record_id,
                        False,
                        error_code=error.code or error.category,
                        message=error.message,
                        fields=error.properties or tuple(values),
                    )
        return [outcomes[record_id] for record_id, _ in batch]


def _typed(value: str | None, prop_type: str | None) -> Any:
    """A property's text as the Python value of its type."""
    if value is None:
        return None
    if prop_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if prop_type == "bool":
        return value.strip().lower() == "true"
    if prop_type == "datetime":
        ms = parse_ms(value)
        return moment_of(ms) if ms is not None else value
    if prop_type == "date":
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _wire(value: Any) -> str:
    """A Python value as HubSpot's property text ("" clears the property)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(ms_of(value if value.tzinfo else value.replace(tzinfo=UTC)))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)

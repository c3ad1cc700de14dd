"""An in-memory CRM behind the Connector protocol's write half, counting its calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.connector import (
    ApiUsage,
    CheckItem,
    Cursor,
    FieldSpec,
    Page,
    WriteResult,
)
from core.schema import ACTIVITY_ENTITIES, Opportunity, Partner, StageChange, StageDef
from writeback.spec import CrmFieldDefaults


def crm_name(output: str) -> str:
    return "Partner_" + "_".join(p.capitalize() for p in output.split("_")) + "__c"


DEFAULTS = CrmFieldDefaults(crm="fake", name_for=crm_name, batch_size=3)


@dataclass
class FakeCrm:
    """Records by id (field → value); ``reject`` ids fail with a code; ``kinds`` per field."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    reject: dict[str, str] = field(default_factory=dict)
    batch_limit: int = 3
    crm: str = "fake"
    write_calls: int = 0
    read_calls: int = 0
    written: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    # --- the write half of the protocol -----------------------------------------------

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        self.read_calls += 1
        return {
            rid: {name: self.records[rid].get(name) for name in fields}
            for rid in record_ids
            if rid in self.records
        }

    def update_records(self, updates: Mapping[str, Mapping[str, Any]]) -> list[WriteResult]:
        assert len(updates) <= self.batch_limit, "more records than one call takes"
        self.write_calls += 1
        results = []
        for rid, values in updates.items():
            if rid in self.reject:
                results.append(WriteResult(rid, False, self.reject[rid], "refused", tuple(values)))
                continue
            unknown = [name for name in values if name not in self.kinds]
            if rid not in self.records or unknown:
                results.append(WriteResult(rid, False, "INVALID_FIELD", str(unknown), ()))
                continue
            self.records[rid].update(values)
            self.written.append((rid, dict(values)))
            results.append(WriteResult(rid, True, fields=tuple(values)))
        return results

    def ensure_fields(self, specs: Sequence[FieldSpec], create: bool) -> list[CheckItem]:
        items = []
        for spec in specs:
            kind = self.kinds.get(spec.name)
            if kind is None:
                if create:
                    self.kinds[spec.name] = spec.kind
                    items.append(CheckItem(spec.name, True, "created"))
                else:
                    items.append(CheckItem(spec.name, False, "missing"))
            else:
                ok = kind == spec.kind
                items.append(CheckItem(spec.name, ok, "exists" if ok else f"exists ({kind})"))
        return items

    # --- the read half, unused here -----------------------------------------------------

    def check(self) -> list[CheckItem]:
        return []

    def fetch_stage_defs(self) -> list[StageDef]:
        return []

    def fetch_partners(self) -> Iterator[Page[Partner]]:
        return iter(())

    def fetch_opportunities(self, since: Cursor | None) -> Iterator[Page[Opportunity]]:
        return iter(())

    def fetch_stage_changes(self, since: Cursor | None) -> Iterator[Page[StageChange]]:
        return iter(())

    def fetch_live_ids(self, stream: str) -> Iterator[list[str]]:
        return iter(())

    def activity_access(self) -> dict[str, str | None]:
        return dict.fromkeys(ACTIVITY_ENTITIES, "no such object in this CRM")

    def fetch_activity(self, stream: str, since: Cursor | None) -> Iterator[Page[Any]]:
        return iter(())

    def crm_time(self) -> datetime | None:
        return None

    def usage(self) -> ApiUsage:
        return ApiUsage()

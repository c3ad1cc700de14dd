"""``history``: the runs in the local store, or one partner's scores and journal."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from partner_kpi.config import AppConfig
from partner_kpi.run import open_store, require_store
from store import JournalEntry, RunRecord, ScoreHistoryRow


@dataclass(frozen=True)
class PartnerHistory:
    """A partner's scores over runs and the journal of what was written to its record."""

    partner_id: str
    partner_name: str
    scores: tuple[ScoreHistoryRow, ...]
    journal: tuple[JournalEntry, ...]


def run_history(
    config: AppConfig, partner: str | None = None, *, limit: int | None = 20
) -> list[RunRecord] | PartnerHistory:
    """The runs, newest first; or with ``partner`` (an id or a name) its score over time."""
    require_store(config)
    with open_store(config, "history") as store:
        if partner is None:
            return store.list_runs(limit=limit)
        rows = store.score_history(partner)
        if not rows:
            wanted = partner.casefold()
            named = {
                partner_id
                for partner_id, name in store.scored_partner_names()
                if name.casefold() == wanted
            }
            if len(named) > 1:
                raise ConfigError(
                    "PARTNER", f"{len(named)} partners are named {partner!r}; give the record id"
                )
            rows = store.score_history(next(iter(named))) if named else []
        if not rows:
            raise ConfigError(
                "PARTNER", f"no scores of {partner!r} in the store {config.store.path}; give a "
                "partner record id or name as scored by a sync or an audit",
            )  # fmt: skip
        partner_id = rows[-1].partner_id
        return PartnerHistory(
            partner_id=partner_id,
            partner_name=rows[-1].partner_name,
            scores=tuple(r for r in rows if r.run_status.scored),
            journal=tuple(store.journal(record_id=partner_id)),
        )

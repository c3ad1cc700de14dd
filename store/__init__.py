"""The local store: records, cursors, runs and score history in one embedded file.

``LocalStore.open(path, holder=...)`` locks the file for one run, creates or
migrates it, and hands back the store: upserts of pages of records, cursors,
runs, score history, the writeback journal, and the Arrow tables the KPI engine reads.
"""

from store.local import LocalStore
from store.lock import LockHolder, lock_path_of
from store.models import (
    SCORE_TREND_SCHEMA,
    JournalEntry,
    JournalOutcome,
    RunRecord,
    RunStatus,
    ScoredPartner,
    ScoreHistoryRow,
    ScoreRow,
    StoreCounts,
)
from store.schema import MIGRATIONS, SCHEMA_VERSION, Migration

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SCORE_TREND_SCHEMA",
    "JournalEntry",
    "JournalOutcome",
    "LocalStore",
    "LockHolder",
    "Migration",
    "RunRecord",
    "RunStatus",
    "ScoreHistoryRow",
    "ScoreRow",
    "ScoredPartner",
    "StoreCounts",
    "lock_path_of",
]

"""Seed folders: the bundled dataset's layout, read into the common schema.

``mapping`` holds the rules (shared with the sandbox CRM); ``reader`` reads files.
"""

from connectors.seed.reader import (
    PIPELINE_FILE,
    CustomerAccount,
    SeedDataset,
    UnknownStageRow,
    read_seed,
)

__all__ = ["PIPELINE_FILE", "CustomerAccount", "SeedDataset", "UnknownStageRow", "read_seed"]

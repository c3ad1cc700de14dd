"""Seed folders: the bundled dataset's layout, read into the common schema.

``table`` reads one CSV into a Polars frame of strings; ``mapping`` holds the rules as
column expressions (shared with the sandbox CRM); ``reader`` reads a folder.
"""

from connectors.seed.reader import (
    PIPELINE_FILE,
    CustomerAccount,
    SeedDataset,
    UnknownStageRow,
    read_seed,
)

__all__ = ["PIPELINE_FILE", "CustomerAccount", "SeedDataset", "UnknownStageRow", "read_seed"]

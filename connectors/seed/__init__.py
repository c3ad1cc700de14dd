"""Seed folders: the bundled dataset's layout, read into the common schema.

``mapping`` holds the rules (shared with the sandbox CRM); ``reader`` reads files.
"""

from connectors.seed.reader import CustomerAccount, SeedDataset, read_seed

__all__ = ["CustomerAccount", "SeedDataset", "read_seed"]

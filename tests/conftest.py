"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_SEED = REPO_ROOT.parent / "shared" / "data" / "maven-crm"


@pytest.fixture(scope="session")
def bundled_seed() -> Path:
    """The real Maven CRM dataset, as laid beside the repository."""
    assert BUNDLED_SEED.is_dir(), f"the bundled dataset is missing at {BUNDLED_SEED}"
    return BUNDLED_SEED

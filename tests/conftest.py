"""Fixtures shared by all tests: the real data, sample BIDS datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data (``SUBSEG_SHARED_DATA``, else ``../shared/data`` beside the repository)."""
    folder = Path(os.environ.get("SUBSEG_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not folder.is_dir():
        pytest.fail(f"real test data not found at {folder}: set SUBSEG_SHARED_DATA", pytrace=False)
    return folder

"""Shared test fixtures.

``shared_data`` points at the small real test material beside the checkout (``../shared/data``);
tests that need it are skipped with a clear reason where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"test material not found at {SHARED_DATA}")
    return SHARED_DATA

"""Shared test fixtures.

``shared_data`` points at the small real test material beside the checkout (``../shared/data``);
tests that need it are skipped with a clear reason where it is absent. ``small_tmpfs`` mounts a real
2 MB filesystem (tmpfs) for full-disk tests, where the tests run as root and may mount one.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"test material not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A folder on a freshly mounted 2 MB tmpfs (a real disk that fills up), unmounted afterwards."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a 2 MB tmpfs for the full-disk test needs root (mount -t tmpfs)")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                                 capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a 2 MB tmpfs: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 2 MB tmpfs: {mounted.stderr.strip() or f'mount exit {mounted.returncode}'}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)

"""Shared test fixtures.

``shared_data`` points at the small real test material beside the checkout (``../shared/data``);
tests that need it are skipped with a clear reason where it is absent. ``small_tmpfs`` mounts a real
2 MB filesystem (tmpfs) for full-disk tests, and ``readonly_disk`` one that becomes read-only, where
the tests run as root and may mount them.
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


def _mount(folder: Path, options: str, why: str) -> None:
    """``mount -o options`` a tmpfs on (or remount) ``folder``; skips the test where that is impossible."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip(f"{why} needs root (mount -t tmpfs)")
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                                 capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount {why}: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount {why}: {mounted.stderr.strip() or f'mount exit {mounted.returncode}'}")


def _unmount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A folder on a freshly mounted 2 MB tmpfs (a real disk that fills up), unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    _mount(folder, "size=2m", "a 2 MB tmpfs for the full-disk test")
    try:
        yield folder
    finally:
        _unmount(folder)


class ReadOnlyDisk:
    """A tmpfs that a test fills while it is writable, then :meth:`seal` s read-only (root cannot write it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def seal(self) -> None:
        _mount(self.path, "remount,ro", "a read-only tmpfs")


@pytest.fixture
def readonly_disk(tmp_path: Path) -> Iterator[ReadOnlyDisk]:
    """A 64 MB tmpfs to fill and then make read-only (``disk.seal()``), unmounted afterwards.

    ``chmod`` does not stop root from writing; a read-only mount does (EROFS).
    """
    folder = tmp_path / "ro-disk"
    folder.mkdir()
    _mount(folder, "size=64m", "a read-only tmpfs")
    try:
        yield ReadOnlyDisk(folder)
    finally:
        _unmount(folder)

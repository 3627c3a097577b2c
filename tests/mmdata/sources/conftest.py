"""Fixtures of the source-catalogue tests: one default built-in catalogue, built once via the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdata.cli import main


@pytest.fixture(scope="session")
def builtin_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default built-in catalogue, built the way a user does (``mmdata sources build``)."""
    out = tmp_path_factory.mktemp("builtin") / "catalogue"
    assert main(["-q", "sources", "build", "--kind", "builtin", "-o", str(out)]) == 0
    return out

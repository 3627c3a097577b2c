"""Code identity follows pixels: only code that can change a sample's bytes re-renders shards.

The packages are copied to a scratch folder that the workflow's jobs import (``PYTHONPATH``); the
test edits the copy as a developer would and asks Snakemake what it would re-run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from wf_helpers import BIN_DIR, REPO_ROOT, TINY_CONFIG, make_workdir, planned_counts, snakemake

RUN = ("--cores", "2", "--set-threads", "shard=1")


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(workflow folder with a finished dataset stage, the copied packages, the jobs' environment)."""
    base = tmp_path_factory.mktemp("codeid")
    packages = base / "packages"
    for name in ("mmdata", "mmtrain"):
        shutil.copytree(REPO_ROOT / name, packages / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(packages)}
    workdir = make_workdir(base / "wf", TINY_CONFIG)
    snakemake(workdir, "dataset", *RUN, env=env)
    return workdir, packages, env


def _edit(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text


def _audit(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN_DIR / "mmdata"), "-q", "audit", "--root", "results/dataset", "--catalogue", "results/sources/catalogue"],
        cwd=workdir, env={**os.environ, **env}, capture_output=True, text=True, timeout=600,
    )


def test_docstring_comment_and_schema_description_edits_rerun_nothing(copied: tuple[Path, Path, dict[str, str]]) -> None:
    workdir, packages, env = copied
    _edit(packages / "mmdata/store/audit.py", '"""', '"""Edited docstring of a non-rendering module. ')
    _edit(packages / "mmdata/render/composite.py", "import math\n", "import math  # an edited comment\n")
    _edit(packages / "mmdata/render/noise.py", '"""', '"""An edited docstring of the renderer itself. ')
    _edit(packages / "mmdata/schema/config.schema.yaml", "description: ", "description: Reworded. ")
    result = snakemake(workdir, "--dry-run", "dataset", env=env)
    assert planned_counts(result.stdout) == {}, result.stdout
    assert "Nothing to be done" in result.stdout
    audit = _audit(workdir, env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "PASSED" in audit.stdout


def _planned_after_edit(copied: tuple[Path, Path, dict[str, str]], module: str, anchor: str) -> dict[str, int]:
    """What `snakemake -n dataset` plans after a line of code is added to ``module`` (then undone)."""
    workdir, packages, env = copied
    path = packages / module
    original = _edit(path, anchor, anchor + "\n_EDITED = True\n")
    try:
        return dict(planned_counts(snakemake(workdir, "--dry-run", "dataset", env=env).stdout))
    finally:
        path.write_text(original, encoding="utf-8")


def test_renderer_code_edit_replans_every_shard(copied: tuple[Path, Path, dict[str, str]]) -> None:
    counts = _planned_after_edit(copied, "mmdata/render/composite.py", "import numpy as np\n")
    assert counts == {"shard": 2, "index": 1, "audit_shard": 2, "audit": 1, "dataset": 1}


def test_store_code_edit_keeps_every_shard(copied: tuple[Path, Path, dict[str, str]]) -> None:
    counts = _planned_after_edit(copied, "mmdata/store/card.py", "import json\n")
    assert counts == {"index": 1, "audit_shard": 2, "audit": 1, "dataset": 1}


def test_dry_run_and_lint_write_nothing(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "wf", TINY_CONFIG)
    before = sorted(p.name for p in workdir.iterdir())
    snakemake(workdir, "--dry-run", "all")
    snakemake(workdir, "--lint")
    assert sorted(p.name for p in workdir.iterdir() if p.name != ".snakemake") == before

"""Helpers shared by the dataset-store tests (generate, audit, export/import, distributed)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mmdata.cli import main
from mmdata.store import open_shard

#: A small dataset: 32 px frames, 1-3 objects, shards of 8 samples in zarr shards of 4.
SMALL_CONFIG: dict[str, Any] = {
    "seed": 3,
    "dataset": {
        "image_size": 32,
        "shard_size": 8,
        "parts": {"fg_bg": 32, "bg_only": 4, "blur_bg": 0, "static": 0, "fg_only": 0},
        "objects": {"count_min": 1, "count_max": 3},
    },
    "store": {"zarr_shard_samples": 4, "pool": "threads"},
}


def small_config(**changes: Any) -> dict[str, Any]:
    """SMALL_CONFIG with ``dataset``/``store`` keys replaced, e.g. ``small_config(dataset={"shard_size": 32})``."""
    cfg = copy.deepcopy(SMALL_CONFIG)
    for section, values in changes.items():
        cfg.setdefault(section, {}).update(values)
    return cfg


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def builtin_catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in catalogue, built once per test session with the CLI, as a user does."""
    out = tmp_path_factory.getbasetemp() / "store-tests-builtin-catalogue"
    if not (out / "catalogue.json").is_file():
        assert main(["-q", "sources", "build", "--kind", "builtin", "-o", str(out), "--workers", "2"]) == 0
    return out


def shard_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every per-sample array of a shard store."""
    reader = open_shard(path)
    return reader.read(0, reader.count)


def assert_same(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], lo: int, hi: int) -> None:
    """Every per-sample array of ``actual`` equals samples [lo, hi) of ``expected``."""
    assert sorted(actual) == sorted(expected)
    for name, values in actual.items():
        want = expected[name][lo:hi]
        if values.dtype.kind in "OUT":
            assert [str(v) for v in values] == [str(v) for v in want], name
        else:
            np.testing.assert_array_equal(values, want, err_msg=name)


def tree_snapshot(path: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``path`` (to prove nothing was touched)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def reindex(root: Path) -> None:
    """Index a dataset root (``mmdata index``): after a test built or resealed its shards."""
    assert main(["-q", "index", "--root", str(root)]) == 0

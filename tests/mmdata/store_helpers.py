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


#: Frame fields of :func:`write_tiny_dataset`'s shards.
TINY_FIELDS = ("frame_a", "frame_b")


def tiny_params(part: int, index: int) -> Any:
    """Recorded-looking SampleParams of sample ``index`` of ``part`` (nothing is rendered from them)."""
    from mmdata.render.params import LayerParams, SampleParams

    rng = np.random.default_rng([part, index])
    layer = LayerParams(f"bg{index}", 1.0, (0.0, 0.0), (float(rng.uniform(-1, 1)), 0.25), (1.0, 2.0, 3.0))
    objects = tuple(LayerParams(f"obj{index}-{k}", 1.5, (2.0, 3.0), (0.5, -0.5), (0.0, 0.0, 0.0)) for k in range(index % 3))
    return SampleParams(part, index, (7, part, index), float(rng.uniform(1, 100)), 0.5, 0.0, layer, objects)


def write_tiny_dataset(root: Path, shards: tuple[tuple[int, int], ...] = ((1, 5), (1, 3), (2, 4)), size: int = 8, block: int = 2) -> Path:
    """An indexed dataset of random frames written straight into shard stores (fast: nothing is rendered).

    Args:
        shards: (part, count) of each shard in order; a part's shards are numbered 0, 1, ... and hold
            contiguous indices from 0. Each part's size is the sum of its shards' counts.
        size: frame side in pixels.  block: samples per zarr shard.

    Returns:
        ``root`` (indexed: ``open_dataset(root)`` works).
    """
    from mmdata.store import SampleRecord, ShardLayout, ShardTarget, StoreSettings, build_manifest, shard_path, write_block, write_manifest

    sizes: dict[int, int] = {}
    for part, count in shards:
        sizes[part] = sizes.get(part, 0) + count
    next_shard: dict[int, tuple[int, int]] = {}
    for part, count in shards:
        shard, start = next_shard.get(part, (0, 0))
        next_shard[part] = (shard + 1, start + count)
        layout = ShardLayout(count, (size, size), TINY_FIELDS, max_layers=3, block=block)
        identity = {"render_config_hash": "h", "catalogue_identity": "c", "part": part, "shard": shard, "start": start, "count": count}
        attrs = {"origin": "test", "part": part, "shard": shard, "start": start, "part_size": sizes[part], "shard_size": max(c for _, c in shards),
                 "render_config_hash": "h", "catalogue": {"identity": "c", "path": None}, "code_version": {"version": "t"}}
        records = []
        for i in range(start, start + count):
            rng = np.random.default_rng([part, i, 1])
            p = tiny_params(part, i)
            records.append(SampleRecord(part, i, {f: rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for f in TINY_FIELDS}, p.alpha, p))
        with ShardTarget(shard_path(root, part, shard), layout, identity, attrs, StoreSettings(zarr_shard_samples=block)) as target:
            for b in target.pending_blocks:
                lo, hi = layout.block_range(b)
                write_block(target.partial, layout, b, records[lo:hi])
            target.finalize()
    write_manifest(root, build_manifest(root))
    return root


def indexed_part1(tmp_path_factory: pytest.TempPathFactory, name: str, config: dict[str, Any], shards: int = 2) -> Path:
    """A dataset root ``ds`` with the first ``shards`` shards of part 1 generated with ``config``, indexed."""
    catalogue_dir = builtin_catalogue_dir(tmp_path_factory)
    base = tmp_path_factory.mktemp(name)
    cfg = write_config(base / "c.yaml", config)
    root = base / "ds"
    for shard in range(shards):
        assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue_dir), "--part", "1",
                     "--shard", str(shard), "--root", str(root)]) == 0
    reindex(root)
    return root

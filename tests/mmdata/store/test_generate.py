"""Shard generation: bytes independent of sharding/workers/pool, atomic and resumable, concurrent, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from store_helpers import assert_same, builtin_catalogue_dir, shard_arrays, small_config, tree_snapshot, write_config

from mmdata.cli import main
from mmdata.config import config_hash
from mmdata.errors import ConfigError, StoreNotFound
from mmdata.spec import DatasetSpec
from mmdata.store.generate import GenerateSpec, generate_shard
from mmdata.store.layout import StoreSettings
from mmdata.store.provenance import render_config_hash
from mmdata.sources import open_catalogue
from mmdata.store import open_shard, partial_path, shard_path


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builtin_catalogue_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, catalogue) -> dict[str, np.ndarray]:
    """Indices 0-31 of part 1 as ONE shard, one worker: the arrays every other run must reproduce."""
    root = tmp_path_factory.mktemp("reference")
    path = generate_shard(GenerateSpec.from_config(small_config(dataset={"shard_size": 32})), catalogue, root, 1, 0, workers=1)
    arrays = shard_arrays(path)
    assert arrays["frame_a"].shape == (32, 32, 32, 3)
    assert list(arrays["index"]) == list(range(32))
    return arrays


@pytest.fixture(scope="module")
def stored_reference(tmp_path_factory: pytest.TempPathFactory, catalogue_dir: Path) -> dict[str, np.ndarray]:
    """Indices 0-7 of part 1, uninterrupted, from the catalogue folder the CLI runs use."""
    root = tmp_path_factory.mktemp("stored-reference")
    path = generate_shard(GenerateSpec.from_config(small_config()), open_catalogue(catalogue_dir), root, 1, 0, workers=1)
    return shard_arrays(path)


def _render_module_id() -> int | None:
    module = sys.modules.get("mmdata.render.composite")
    return None if module is None else id(module)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pool forks only on Linux")
def test_process_pool_workers_start_with_the_render_code():
    """On Linux the local process pool forks its workers from a process that has imported the renderer:
    a worker holds this process's module object (at the same address), not one it imported itself."""
    from mmdata.store.generate import _process_pool

    with _process_pool(2) as pool:
        assert pool.submit(_render_module_id).result(timeout=60) == _render_module_id() is not None


def test_bytes_do_not_depend_on_shard_size_workers_or_pool(tmp_path, catalogue, reference):
    """The same 32 samples as 4 shards of 8: 1 worker, 2 threads, 2 processes -> identical arrays."""
    runs = {0: ("threads", 1), 1: ("threads", 1), 2: ("threads", 2), 3: ("processes", 2)}
    for shard, (pool, workers) in runs.items():
        cfg = small_config(store={"pool": pool})
        path = generate_shard(GenerateSpec.from_config(cfg), catalogue, tmp_path, 1, shard, workers=workers)
        assert path == shard_path(tmp_path, 1, shard).resolve()
        assert_same(shard_arrays(path), reference, 8 * shard, 8 * shard + 8)
    # the frames really vary between samples and frames (a constant output would also be "deterministic")
    assert len({reference["frame_a"][i].tobytes() for i in range(32)}) == 32
    assert not np.array_equal(reference["frame_a"], reference["frame_y"])


def _cli_generate(cfg_path: Path, catalogue_dir: Path, root: Path, shard: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mmdata.cli", "-q", "generate", "--config", str(cfg_path), "--catalogue", str(catalogue_dir),
           "--part", "1", "--shard", str(shard), "--root", str(root)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_config_is_parsed_once_at_the_edge_and_recorded_as_given(tmp_path, catalogue):
    """generate_shard takes the parsed spec: it reads the typed sections and records the config and its hashes."""
    job = GenerateSpec.from_config(small_config(dataset={"shard_size": 4}))
    assert job.dataset == DatasetSpec.from_config(job.config) and job.store == StoreSettings.from_config(job.config)
    attrs = open_shard(generate_shard(job, catalogue, tmp_path, 1, 0)).attrs
    assert attrs["config"] == job.config and attrs["config_hash"] == config_hash(job.config) == job.config_hash
    assert attrs["render_config_hash"] == render_config_hash(job.config) == job.render_config_hash
    with pytest.raises(ConfigError, match="dataset.image_size"):
        GenerateSpec.from_config(small_config(dataset={"image_size": -1}))
    with pytest.raises(TypeError, match=r"expected a GenerateSpec, got dict \(GenerateSpec.from_config"):
        generate_shard(small_config(), catalogue, tmp_path / "dict", 1, 0)  # type: ignore[arg-type]
    assert not (tmp_path / "dict").exists()


def test_sigkill_leaves_no_complete_store_and_rerun_completes_it(tmp_path, catalogue_dir, stored_reference):
    cfg_path = write_config(tmp_path / "c.yaml", small_config(store={"zarr_shard_samples": 1}))
    root = tmp_path / "ds"
    final = shard_path(root, 1, 0)
    done_dir = partial_path(final) / "blocks_done" / "c"
    proc = _cli_generate(cfg_path, catalogue_dir, root, 0)
    deadline = time.monotonic() + 120
    while not (done_dir.is_dir() and any(done_dir.iterdir())):  # wait for the first finished block
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "generate never finished a block"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not final.exists()
    assert json.loads((partial_path(final) / "zarr.json").read_text())["attributes"]["complete"] is False
    with pytest.raises(StoreNotFound, match=str(final)):
        open_shard(final)
    assert main(["-q", "index", "--root", str(root)]) == 2  # nothing that looks like a shard
    assert main(["-q", "generate", "--config", str(cfg_path), "--catalogue", str(catalogue_dir), "--part", "1", "--shard", "0", "--root", str(root)]) == 0
    assert not partial_path(final).exists()
    assert_same(shard_arrays(final), stored_reference, 0, 8)


def test_two_processes_on_different_shards(tmp_path, catalogue_dir, stored_reference):
    cfg_path = write_config(tmp_path / "c.yaml", small_config(dataset={"shard_size": 4}))
    root = tmp_path / "ds"
    procs = {k: _cli_generate(cfg_path, catalogue_dir, root, k) for k in (0, 1)}
    for k, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip() == str(shard_path(root, 1, k).resolve())
        assert_same(shard_arrays(shard_path(root, 1, k)), stored_reference, 4 * k, 4 * k + 4)


def _generate_args(cfg_path: Path, catalogue_dir: Path, root: Path, part: str = "1", shard: str = "0") -> list[str]:
    return ["generate", "--config", str(cfg_path), "--catalogue", str(catalogue_dir), "--part", part, "--shard", shard, "--root", str(root)]


def test_invalid_config_is_refused_before_anything_is_written(tmp_path, catalogue_dir, capsys):
    cfg_path = write_config(tmp_path / "bad.yaml", small_config(dataset={"image_size": "big"}))
    assert main(_generate_args(cfg_path, catalogue_dir, tmp_path / "ds")) == 2
    assert "dataset.image_size" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_shard_beyond_the_part_is_refused(tmp_path, catalogue_dir, capsys):
    cfg_path = write_config(tmp_path / "c.yaml", small_config())
    assert main(_generate_args(cfg_path, catalogue_dir, tmp_path / "ds", part="1", shard="4")) == 2
    assert "shard: 4 is beyond part 1 (fg_bg), which has 32 samples" in capsys.readouterr().err
    assert main(_generate_args(cfg_path, catalogue_dir, tmp_path / "ds", part="bg_only", shard="1")) == 2
    assert not (tmp_path / "ds").exists()


def test_foreign_content_at_the_output_path_is_left_alone(tmp_path, catalogue_dir, capsys):
    cfg_path = write_config(tmp_path / "c.yaml", small_config())
    root = tmp_path / "ds"
    foreign = shard_path(root, 2, 0)
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("not a shard")
    before = tree_snapshot(root)
    assert main(_generate_args(cfg_path, catalogue_dir, root, part="2")) == 2
    err = capsys.readouterr().err
    assert str(foreign) in err and "not a complete shard store" in err
    assert tree_snapshot(root) == before
    assert not partial_path(foreign).exists()


def test_existing_shard_is_kept_or_refused_by_identity(tmp_path, catalogue_dir, capsys):
    """A rerun with the same config leaves the finished shard as it is; another config is refused."""
    cfg_path = write_config(tmp_path / "c.yaml", small_config())
    root = tmp_path / "ds"
    assert main(_generate_args(cfg_path, catalogue_dir, root, part="2")) == 0
    before = tree_snapshot(root)
    assert main(_generate_args(cfg_path, catalogue_dir, root, part="2")) == 0
    assert tree_snapshot(root) == before
    other = write_config(tmp_path / "other.yaml", {**small_config(), "seed": 4})
    capsys.readouterr()
    assert main(_generate_args(other, catalogue_dir, root, part="2")) == 2
    assert "different config" in capsys.readouterr().err
    assert tree_snapshot(root) == before

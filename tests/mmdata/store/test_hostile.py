"""A store no file can hang, exhaust or fool: FIFOs, devices, links, edited metadata and forged manifests.

Each hostile case runs the way a user meets it (``mmdata audit``, ``mmdata explain``, ``mmtrain train``
and ``open_dataset(...).read_run``), the dangerous ones in a child process with a wall-clock timeout
and a 2 GiB address-space limit, so a hang or a read of ``/dev/zero`` fails the test instead of the
machine. Every outcome is one line naming the file (exit 2 from a command that reads, a FAILED report
with exit 1 from the audit, a ``MotionMagError`` from the API).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import indexed_part1, small_config

from mmdata.cli import main
from mmdata.errors import IntegrityError, StoreError
from mmdata.store import MANIFEST_NAME, open_dataset, shard_path
from mmdata.store.reader import manifest_digest

CONFIG = small_config(dataset={"shard_size": 4, "parts": {"fg_bg": 8, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}})
LIMIT_BYTES = 2 << 30
TIMEOUT = 60


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Part 1 as two shards of 4 samples, indexed."""
    return indexed_part1(tmp_path_factory, "hostile", CONFIG)


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(pristine, out, symlinks=True)
    return out


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` in a child with the time and memory limits; a hang fails the test."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=_limits)


def _mmdata(*args: str) -> subprocess.CompletedProcess[str]:
    return _run("-m", "mmdata.cli", "-q", *args)


def _read_everything(root: Path) -> subprocess.CompletedProcess[str]:
    """``open_dataset(root)`` and every shard read in full, in a limited child; prints OK or the error's class."""
    code = (
        "import sys\nfrom mmdata.errors import MotionMagError\nfrom mmdata.store import open_dataset\n"
        f"try:\n    ds = open_dataset({str(root)!r})\n"
        "    [ds.read_run(i, 0, s.count) for i, s in enumerate(ds.shards)]\n    print('OK')\n"
        "except MotionMagError as exc:\n    print(type(exc).__name__ + ': ' + str(exc))\n"
    )
    return _run("-c", code)


def _chunk(root: Path, shard: int, field: str) -> Path:
    return shard_path(root, 1, shard) / field / "c" / "0" / "0" / "0" / "0"


def _one_line_error(result: subprocess.CompletedProcess[str], *named: str) -> str:
    err = result.stderr.strip()
    assert result.returncode == 2 and len(err.splitlines()) == 1, (result.returncode, result.stderr)
    for text in named:
        assert text in err, err
    return err


@pytest.mark.timeout(4 * TIMEOUT)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("what", ["chunk", "array metadata"])
def test_a_fifo_or_device_in_a_store_is_refused_in_bounded_time_and_memory(root: Path, kind: str, what: str) -> None:
    target = _chunk(root, 1, "frame_a") if what == "chunk" else shard_path(root, 1, 1) / "frame_a" / "zarr.json"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    described = "a FIFO" if kind == "fifo" else "a symbolic link"

    read = _read_everything(root)
    assert read.returncode == 0 and read.stdout.startswith("StoreError: ") and str(target) in read.stdout and described in read.stdout, read

    audit = _mmdata("audit", "--root", str(root), "--samples", "0")
    lines = audit.stdout.splitlines()
    assert audit.returncode == 1 and lines[0].startswith("audit FAILED"), audit
    assert [line for line in lines[1:] if described in line and str(target) in line], audit.stdout

    explain = _mmdata("explain", "--root", str(root), "--part", "1", "--index", "5")
    _one_line_error(explain, str(target), described)


@pytest.mark.timeout(2 * TIMEOUT)
def test_a_chunk_far_larger_than_its_array_allows_is_refused_before_reading(root: Path) -> None:
    target = _chunk(root, 0, "frame_b")
    with open(target, "ab") as f:
        f.truncate(3 << 30)  # 3 GiB (sparse): more than the 2 GiB the reader may use
    read = _read_everything(root)
    assert read.stdout.startswith("StoreError: ") and str(target) in read.stdout and "more than a chunk of this array can take" in read.stdout, read


def _edit_array_metadata(root: Path, shard: int, field: str, **changes) -> Path:
    path = shard_path(root, 1, shard) / field / "zarr.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta, indent=2))
    return path


@pytest.mark.parametrize(("field", "dtype"), [("frame_a", "int8"), ("alpha", "int32")])
def test_an_edited_data_type_is_refused_on_open_and_fails_the_sampled_audit(root: Path, capsys, field: str, dtype: str) -> None:
    path = _edit_array_metadata(root, 0, field, data_type=dtype)
    with pytest.raises(IntegrityError, match=f"{path}: part 1 shard 0: array '{field}' metadata"):
        open_dataset(root)
    capsys.readouterr()
    assert main(["-q", "audit", "--root", str(root), "--samples", "0"]) == 1
    out = capsys.readouterr().out
    assert f"array '{field}' metadata (data type, shape, chunks or codecs) does not match its recorded digest" in out, out


def test_training_on_an_edited_alpha_array_exits_2_naming_it(root: Path, tmp_path: Path, capsys) -> None:
    from mmtrain.cli import main as mmtrain_main

    path = _edit_array_metadata(root, 1, "alpha", data_type="int32")
    config = tmp_path / "train.yaml"
    config.write_text("train: {steps: 1, val_samples: 2, val_interval: 0, crop_size: null, init_weights: null}\n")
    capsys.readouterr()
    assert mmtrain_main(["-q", "train", "--root", str(root), "--out", str(tmp_path / "run"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "array 'alpha' metadata" in err, err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def _forge(root: Path, edit, reseal: bool = True) -> None:
    """Edit the manifest; ``reseal``: recompute its hash as a careful forger would."""
    path = root / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    edit(manifest)
    if reseal and "manifest_hash" in manifest:
        manifest["manifest_hash"] = manifest_digest(manifest)
    path.write_text(json.dumps(manifest, indent=1))


def _duplicate_first(m: dict) -> None:
    m["shards"].append(dict(m["shards"][0]))
    m["parts"]["1"]["count"] += m["shards"][0]["count"]
    m["parts"]["1"]["shards"] += 1


def _second_is_copy_of_first(m: dict) -> None:
    m["shards"][1] = dict(m["shards"][0])


def _count_edited(m: dict) -> None:
    m["parts"]["1"]["count"] = 7


def _hash_removed_and_duplicated(m: dict) -> None:
    _duplicate_first(m)
    del m["manifest_hash"]


@pytest.mark.parametrize(
    ("edit", "finding"),
    [
        (_hash_removed_and_duplicated, "no manifest_hash"),
        (_duplicate_first, "part 1 shard 0 is listed more than once"),
        (_second_is_copy_of_first, "part 1 shard 0 is listed more than once"),
        (_count_edited, "part 1 counts 7 samples in 2 shards, but its entries list 8 in 2"),
    ],
    ids=["hash removed, shard duplicated", "shard duplicated, hash recomputed", "entry replaced by another's", "part count edited"],
)
def test_a_forged_manifest_is_refused_by_the_reader_and_the_audit(root: Path, capsys, edit, finding: str) -> None:
    _forge(root, edit)
    with pytest.raises(IntegrityError, match=finding):
        open_dataset(root)
    capsys.readouterr()
    assert main(["-q", "audit", "--root", str(root), "--samples", "0"]) == 1
    out = capsys.readouterr().out
    assert finding in out, out


@pytest.mark.timeout(2 * TIMEOUT)
@pytest.mark.parametrize("kind", ["deleted", "dev-zero"])
def test_a_dataset_without_a_readable_manifest_fails_the_audit(root: Path, kind: str) -> None:
    manifest = root / MANIFEST_NAME
    manifest.unlink()
    if kind == "dev-zero":
        manifest.symlink_to("/dev/zero")
    audit = _mmdata("audit", "--root", str(root), "--samples", "0")
    assert audit.returncode == 1 and audit.stdout.startswith("audit FAILED: 2 shards"), audit
    expected = "no manifest: the dataset is not indexed" if kind == "deleted" else "a symbolic link where the dataset manifest should be a regular file"
    assert expected in audit.stdout, audit.stdout
    read = _read_everything(root)
    assert read.stdout.startswith(("StoreNotFound: ", "StoreError: ")) and str(manifest) in read.stdout, read


@pytest.mark.parametrize("edit", [{"zarr_format": None}, {"zarr_format": 2}, {"node_type": "array"}], ids=["removed", "v2", "array"])
def test_a_root_metadata_edit_outside_the_attributes_is_refused(root: Path, capsys, edit: dict) -> None:
    path = shard_path(root, 1, 0) / "zarr.json"
    meta = json.loads(path.read_text())
    for key, value in edit.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    path.write_text(json.dumps(meta, indent=2))
    with pytest.raises(StoreError, match="a shard store written by mmdata is a zarr v3 group"):
        open_dataset(root)
    capsys.readouterr()
    assert main(["-q", "audit", "--root", str(root), "--samples", "0"]) == 1
    assert "zarr v3 group" in capsys.readouterr().out

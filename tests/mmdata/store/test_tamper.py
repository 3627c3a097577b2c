"""What an attacker or a failing disk does to a finished dataset, and what the reader and the audit say.

Every test edits a copy of one small indexed dataset on disk (chunk files, ``zarr.json`` attributes,
the manifest) and asserts the exact outcome: the reader raises naming the sample and the file, the
sampled audit fails naming the sample (exit 1), errors are one line with exit 2.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import xxhash
import zarr
from store_helpers import builtin_catalogue_dir, indexed_part1, small_config, write_config

from mmdata.cli import main
from mmdata.errors import IntegrityError, StoreError
from mmdata.store import MANIFEST_NAME, attrs_digest, open_dataset, open_shard, shard_path
from mmdata.store.writer import read_run_record, shard_checksum

CONFIG = small_config(dataset={"shard_size": 4, "parts": {"fg_bg": 8, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}})


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Part 1 as two shards of 4 samples (one zarr shard each), indexed."""
    return indexed_part1(tmp_path_factory, "tamper", CONFIG)


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(pristine, out)
    return out


def _chunk_file(root: Path, shard: int, field: str) -> Path:
    return shard_path(root, 1, shard) / field / "c" / "0" / "0" / "0" / "0"


def _inner_chunk_range(path: Path, n_chunks: int, k: int) -> tuple[int, int]:
    """(offset, nbytes) of inner chunk ``k`` of a zarr shard file (index at the end: n x 2 uint64 + crc32c)."""
    blob = path.read_bytes()
    index = blob[-(16 * n_chunks + 4) : -4]
    offset, nbytes = struct.unpack_from("<QQ", index, 16 * k)
    return offset, nbytes


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_attrs(store: Path, edit) -> None:
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    edit(doc["attributes"])
    meta.write_text(json.dumps(doc))


def _audit(root: Path, capsys, *extra: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    status = main(["-q", "audit", "--root", str(root), "--samples", "1", *extra])
    return status, capsys.readouterr().out.splitlines()


def _read_all(root: Path) -> None:
    ds = open_dataset(root)
    for s, ref in enumerate(ds.shards):
        ds.read_run(s, 0, ref.count)


def test_a_fresh_dataset_reads_and_audits_clean(root, capsys):
    _read_all(root)
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 0 and lines[0].startswith("audit PASSED: 2 shards, 8 samples checked, 0 re-rendered")


def test_a_flipped_byte_in_a_frame_chunk_names_the_sample_and_the_file(root, capsys):
    path = _chunk_file(root, 1, "frame_b")
    offset, nbytes = _inner_chunk_range(path, 4, 2)  # the chunk of sample 2 of shard 1 = index 6
    _flip(path, offset + nbytes // 2)
    ds = open_dataset(root)
    ds.read_run(1, 0, 2, ["frame_b"])  # samples before it are fine
    with pytest.raises(StoreError) as err:
        ds.read_run(1, 0, 4, ["frame_b"])
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "part 1 shard 1 sample index 6 (offset 2)" in msg
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and lines[0].startswith("audit FAILED")
    bad = [line for line in lines[1:] if not line.strip().startswith("note:")]
    assert len(bad) == 1 and "shard 0001 index 6 " in bad[0] and "frame_b" in bad[0]


def test_a_deleted_chunk_file_is_not_read_as_zeros(root, capsys):
    path = _chunk_file(root, 0, "frame_a")
    path.unlink()
    with pytest.raises(IntegrityError, match=r"frame_a of part 1 shard 0 sample index 0 \(offset 0\) does not match its recorded xxh3-128 digest \(the file is missing\)"):
        _read_all(root)
    assert np.all(open_dataset(root, verify=False).read_run(0, 0, 4, ["frame_a"])["frame_a"] == 0)  # what zarr silently returns
    status, lines = _audit(root, capsys)
    assert status == 1
    for index in range(4):  # every sample of the lost zarr shard, each named
        assert any(f"shard 0000 index {index} " in line and "frame_a: stored bytes do not match" in line and "missing" in line for line in lines)


def test_a_chunk_truncated_to_zero_bytes_and_a_damaged_shard_index_never_crash(root, capsys):
    truncated = _chunk_file(root, 0, "frame_y_perturbed")
    truncated.write_bytes(b"")
    damaged = _chunk_file(root, 1, "frame_a")
    _flip(damaged, damaged.stat().st_size - 10)  # inside the shard index: its crc32c no longer matches
    ds = open_dataset(root)
    for s, path, index in ((0, truncated, 0), (1, damaged, 4)):
        with pytest.raises(StoreError) as err:
            ds.read_run(s, 0, 4)
        assert str(path) in str(err.value) and f"sample index {index} " in str(err.value) and "\n" not in str(err.value)
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and lines[0].startswith("audit FAILED")
    assert any("shard 0001 index 5 " in line and "frame_a: cannot be decoded" in line for line in lines)
    assert any("shard 0000 index 3 " in line and "frame_y_perturbed" in line for line in lines)


def test_an_edited_alpha_fails_when_the_shard_is_opened(root, capsys):
    alpha = zarr.open_group(str(shard_path(root, 1, 0)), mode="r+")["alpha"]
    alpha[2] = float(alpha[2]) * 2
    with pytest.raises(IntegrityError, match=r"alpha.*part 1 shard 0: array 'alpha' does not match its recorded checksum"):
        open_dataset(root)
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and any("shard 0000" in line and "array 'alpha' does not match" in line for line in lines)


@pytest.mark.parametrize(
    "key, edit",
    [
        ("start", lambda a: a.update(start=4)),
        ("created", lambda a: a.update(created="1999-01-01T00:00:00Z")),
        ("git_commit", lambda a: a["code_version"].update(git_commit="0" * 40)),
        ("render_config_hash", lambda a: a.update(render_config_hash="f" * 64)),
        ("config.store", lambda a: a["config"]["store"].update(codec="lz4")),
    ],
)
def test_edited_provenance_attributes_are_caught(root, capsys, key, edit):
    _edit_attrs(shard_path(root, 1, 0), edit)
    with pytest.raises(IntegrityError, match=r"zarr.json: part 1 shard 0: attributes do not match their recorded attrs_sha256"):
        open_dataset(root)
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and any("shard 0000" in line and "attrs_sha256" in line for line in lines), key


def test_explain_refuses_a_shard_whose_start_was_edited(root, capsys):
    _edit_attrs(shard_path(root, 1, 0), lambda a: a.update(start=100))
    capsys.readouterr()
    assert main(["-q", "explain", "--root", str(root), "--part", "1", "--index", "101"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "attrs_sha256" in err and str(shard_path(root, 1, 0)) in err
    assert main(["-q", "explain", "--root", str(root), "--part", "1", "--index", "5"]) == 0  # the other shard is fine


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_a_manifest_pointing_outside_the_root_is_not_followed(root, tmp_path, capsys, monkeypatch, where):
    outside = tmp_path / "elsewhere" / "shard.zarr"
    shutil.copytree(shard_path(root, 1, 1), outside)  # a valid store: following it would "work"
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    manifest["shards"][1]["path"] = str(outside) if where == "absolute" else "../elsewhere/shard.zarr"
    from mmdata.store.reader import manifest_digest

    manifest["manifest_hash"] = manifest_digest(manifest)  # a careful forger keeps the hash consistent
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))
    opened = []
    import mmdata.store.reader as reader_module

    real_init = reader_module.ShardReader.__init__

    def spy(self, path, **kw):
        opened.append(Path(path).resolve())
        real_init(self, path, **kw)

    monkeypatch.setattr(reader_module.ShardReader, "__init__", spy)
    with pytest.raises(StoreError, match="is outside the dataset root|which lives at part1/shard-0001.zarr"):
        open_dataset(root)
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and any("outside the dataset root" in line for line in lines)
    assert outside.resolve() not in opened


def test_an_edited_manifest_is_caught_by_its_recomputed_hash_and_counts(root, capsys):
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    manifest["shards"][1]["count"] = 3
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="does not match its manifest_hash"):
        open_dataset(root)
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1
    assert any("manifest_hash" in line for line in lines)
    assert any("counts 8 samples in 2 shards, but its entries list 7 in 2" in line for line in lines)
    assert any("shard 0001" in line and "the manifest says part 1 [4, 7)" in line for line in lines)


def test_an_empty_or_interrupted_root_fails_the_audit(tmp_path, root, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    status, lines = _audit(empty, capsys)
    assert status == 1 and lines[0].startswith("audit FAILED: 0 shards") and any("no complete shard store" in line for line in lines)
    assert any("no manifest: the dataset is not indexed" in line for line in lines)
    partial = tmp_path / "interrupted"
    (partial / "part1").mkdir(parents=True)
    shutil.copytree(shard_path(root, 1, 0), partial / "part1" / ".shard-0000.zarr.partial")
    status, lines = _audit(partial, capsys)
    assert status == 1 and any("partial shard" in line for line in lines)


def test_a_shard_written_before_attrs_sha256_still_reads_and_audits(root, capsys):
    for shard in (0, 1):
        _edit_attrs(shard_path(root, 1, shard), lambda a: a.pop("attrs_sha256"))
    assert main(["-q", "index", "--root", str(root)]) == 0
    _read_all(root)
    assert open_shard(shard_path(root, 1, 0)).note.endswith("attribute hash not recorded by this shard's writer (written before attrs_sha256 existed)")
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 0
    assert any(line.strip().startswith("note: attribute hash not recorded by this shard's writer") for line in lines)


def _edit_frame(root: Path, shard: int, field: str, offset: int) -> None:
    """Change one pixel of one stored frame through zarr (the chunk stays decodable)."""
    arr = zarr.open_array(str(shard_path(root, 1, shard) / field), mode="r+")
    frame = np.asarray(arr[offset])
    frame[3, 5, 1] ^= 1
    arr[offset] = frame


def test_fast_digests_are_xxh3_128_and_sha256_of_the_frame_bytes(root):
    reader = open_shard(shard_path(root, 1, 0))
    data = reader.read(0, reader.count)
    for f, name in enumerate(reader.layout.frame_fields):
        for i in range(reader.count):
            blob = np.ascontiguousarray(data[name][i]).tobytes()
            assert data["fast_digest"][i, f].tobytes() == xxhash.xxh3_128(blob).digest()
            assert data["digest"][i, f].tobytes() == hashlib.sha256(blob).digest()


def test_an_edited_frame_fails_the_read_by_its_fast_digest_and_the_audit_by_its_sha256(root, capsys):
    _edit_frame(root, 1, "frame_a", 1)
    with pytest.raises(IntegrityError, match=r"frame_a of part 1 shard 1 sample index 5 \(offset 1\) does not match its recorded xxh3-128 digest$"):
        open_dataset(root).read_run(1, 0, 4, ["frame_a"])
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and any("shard 0001 index 5 " in line and "frame_a: stored bytes do not match the recorded sha256" in line for line in lines)


def test_an_edited_fast_digest_array_fails_when_the_shard_is_opened(root, capsys):
    arr = zarr.open_array(str(shard_path(root, 1, 0) / "fast_digest"), mode="r+")
    values = np.asarray(arr[:])
    values[2, 0, 0] ^= 0xFF
    arr[:] = values
    with pytest.raises(IntegrityError, match=r"fast_digest: part 1 shard 0: array 'fast_digest' does not match its recorded checksum"):
        open_shard(shard_path(root, 1, 0))
    status, lines = _audit(root, capsys, "--samples", "0")
    assert status == 1 and any("fast_digest" in line for line in lines)


def _drop_fast_digests(store: Path) -> None:
    """Make a shard look as a writer before fast digests left it: no array, no checksum of it."""
    shutil.rmtree(store / "fast_digest")

    def edit(a):
        a.pop("array_metadata")  # nor array metadata digests, which came later
        del a["checksums"]["fast_digest"]
        a["shard_checksum"] = shard_checksum(a["checksums"])
        a["attrs_sha256"] = attrs_digest(a)

    _edit_attrs(store, edit)


def test_a_shard_written_before_fast_digests_still_reads_verified_and_audits(root, capsys):
    for shard in (0, 1):
        _drop_fast_digests(shard_path(root, 1, shard))
    assert main(["-q", "index", "--root", str(root)]) == 0
    _read_all(root)
    status, lines = _audit(root, capsys, "--samples", "1")
    assert status == 0, lines
    _edit_frame(root, 0, "frame_b", 2)  # such shards are still verified on read, by their sha256
    with pytest.raises(IntegrityError, match=r"frame_b of part 1 shard 0 sample index 2 \(offset 2\) does not match its recorded sha256$"):
        open_dataset(root).read_run(0, 0, 4, ["frame_b"])


def test_a_negative_sample_count_is_one_line_and_exit_2(root, capsys):
    capsys.readouterr()
    assert main(["-q", "audit", "--root", str(root), "--samples", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "samples" in err


def test_bad_command_lines_are_one_line_and_exit_2_leaving_nothing(root, tmp_path, capsys):
    a_file = tmp_path / "not-a-root"
    a_file.write_text("x")
    cfg = write_config(tmp_path / "c.yaml", CONFIG)
    out = tmp_path / "new-root"
    for argv, words in (
        (["audit", "--root", str(a_file)], "is a file, expected a dataset root folder"),
        (["index", "--root", str(a_file)], "is a file, expected a dataset root folder"),
        (["generate", "--config", str(cfg), "--catalogue", str(read_run_record(shard_path(root, 1, 0))["catalogue_path"]),
          "--part", "1", "--shard", "0", "--root", str(out), "--workers", "0"], "workers: expected at least 1"),
    ):
        capsys.readouterr()
        assert main(["-q", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    assert not out.exists()


def test_a_full_disk_while_indexing_is_one_line_and_keeps_the_old_manifest(root, capsys, monkeypatch):
    import os

    before = (root / MANIFEST_NAME).read_bytes()

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    capsys.readouterr()
    assert main(["-q", "index", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert (root / MANIFEST_NAME).read_bytes() == before
    assert not [p for p in root.rglob(".*tmp-*")]


def test_a_read_only_dataset_reads_and_audits_but_writing_to_it_is_one_line_and_exit_2(pristine, readonly_disk, capsys, tmp_path_factory):
    root = readonly_disk.path / "ds"
    shutil.copytree(pristine, root)
    (root / MANIFEST_NAME).unlink()  # indexing it has to write
    cfg = write_config(readonly_disk.path / "c.yaml", CONFIG)
    readonly_disk.seal()
    before = sorted(str(p) for p in root.rglob("*"))
    capsys.readouterr()
    assert main(["-q", "index", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Read-only file system" in err and str(root / MANIFEST_NAME) in err, err
    args = ["-q", "generate", "--config", str(cfg), "--catalogue", str(builtin_catalogue_dir(tmp_path_factory)), "--part", "1",
            "--shard", "0", "--root", str(readonly_disk.path / "other")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Read-only file system" in err and str(readonly_disk.path / "other") in err, err
    assert sorted(str(p) for p in root.rglob("*")) == before
    for s in (0, 1):
        open_shard(shard_path(root, 1, s)).read(0, 4)  # reading needs no write
    status, lines = _audit(root, capsys, "--samples", "0")  # every check runs; the one problem is the missing index
    assert status == 1 and lines[0].startswith("audit FAILED: 2 shards, 8 samples checked") and lines[0].endswith("1 problem(s)"), lines
    assert "no manifest: the dataset is not indexed" in lines[1], lines

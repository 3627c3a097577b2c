"""The shard store itself: layout, exact provenance, checksums, resume, locking, manifest and lazy view."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from mmdata import open_dataset
from mmdata.errors import IntegrityError, StoreError, StoreNotFound
from mmdata.scene import LayerParams, SampleParams
from mmdata.store.provenance import params_from_json, params_to_json, render_config_hash, sample_digest
from mmdata.store import (
    SampleRecord,
    ShardLayout,
    ShardTarget,
    StoreSettings,
    build_manifest,
    open_shard,
    shard_path,
    write_block,
    write_manifest,
)

FIELDS = ("frame_a", "frame_b")


def _params(part: int, index: int, n_objects: int) -> SampleParams:
    rng = np.random.default_rng([part, index])

    def layer(name: str) -> LayerParams:
        # awkward floats: shortest reprs with 17 digits, tiny and huge magnitudes
        return LayerParams(name, float(rng.uniform(0.5, 2)), (float(rng.normal()) * 1e-7, 1 / 3), (0.1 + 0.2, -float(rng.uniform())), (1e-300, -2.5, float(np.pi)))

    return SampleParams(part, index, (7, part, index), float(rng.uniform(1, 100)), 0.1 * index, 0.0, layer(f"bg{index}"), tuple(layer(f"obj{index}-{k}") for k in range(n_objects)))


def _records(part: int, start: int, count: int, size: int = 8) -> list[SampleRecord]:
    out = []
    for i in range(start, start + count):
        rng = np.random.default_rng([part, i, 1])
        frames = {f: rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for f in FIELDS}
        p = _params(part, i, n_objects=i % 3)
        out.append(SampleRecord(part, i, frames, p.alpha, p))
    return out


def _write(root, part: int, shard: int, start: int, count: int, *, block: int = 2, identity_extra: dict | None = None):
    layout = ShardLayout(count, (8, 8), FIELDS, max_layers=3, block=block)
    identity = {"render_config_hash": "h", "catalogue_identity": "c", "part": part, "shard": shard, "start": start, "count": count, **(identity_extra or {})}
    attrs = {"origin": "test", "part": part, "shard": shard, "start": start, "part_size": 12, "shard_size": count,
             "render_config_hash": "h", "catalogue": {"identity": "c", "path": None}, "code_version": {"version": "t"}}
    records = _records(part, start, count)
    with ShardTarget(shard_path(root, part, shard), layout, identity, attrs, StoreSettings(zarr_shard_samples=block)) as target:
        for b in target.pending_blocks:
            lo, hi = layout.block_range(b)
            write_block(target.partial, layout, b, records[lo:hi])
        target.finalize()
    return records


def test_params_json_round_trips_exactly():
    p = _params(3, 11, n_objects=4)
    q = params_from_json(params_to_json(p))
    assert q == p
    assert q.background.position[0] == p.background.position[0]  # bit-exact floats, not approximately
    with pytest.raises(ValueError, match="no rendering parameters"):
        params_from_json("")


def test_render_hash_ignores_part_sizes_but_not_pixels():
    base = {"seed": 1, "dataset": {"image_size": 32, "shard_size": 8, "parts": {"fg_bg": 4}}, "store": {"compression_level": 1}}
    same = {"seed": 1, "dataset": {"image_size": 32, "shard_size": 100, "parts": {"fg_bg": 40}}, "store": {"compression_level": 5}}
    other = {"seed": 1, "dataset": {"image_size": 64, "shard_size": 8, "parts": {"fg_bg": 4}}}
    assert render_config_hash(base) == render_config_hash(same) != render_config_hash(other)


def test_shard_round_trip_layout_and_checksums(tmp_path):
    records = _write(tmp_path, 1, 0, 0, 5)
    reader = open_shard(shard_path(tmp_path, 1, 0))
    data = reader.read(0, 5)
    for f in FIELDS:
        np.testing.assert_array_equal(data[f], np.stack([r.frames[f] for r in records]))
        arr = reader.array(f)
        assert arr.chunks == (1, 8, 8, 3) and arr.shards == (2, 8, 8, 3)  # one sample per chunk, zarr shards of 2
        codec = json.loads((reader.path / f / "zarr.json").read_text())["codecs"][0]["configuration"]["codecs"][-1]
        assert codec == {"name": "mmdata_image", "configuration": {"format": "jpegxl", "level": 2}}  # the default
    codec = json.loads((reader.path / "alpha" / "zarr.json").read_text())["codecs"][1]  # small arrays: Blosc zstd
    assert codec["name"] == "blosc" and codec["configuration"]["cname"] == "zstd" and codec["configuration"]["shuffle"] == "noshuffle"
    np.testing.assert_array_equal(data["alpha"], np.float32([r.alpha for r in records]))
    assert [params_from_json(str(t)) for t in data["params_json"]] == [r.params for r in records]
    assert list(data["n_objects"]) == [0, 1, 2, 0, 1]
    np.testing.assert_array_equal(data["motion"][2, :3], np.float32([layer.motion for layer in (records[2].params.background, *records[2].params.objects)]))
    assert np.isnan(data["motion"][0, 1:]).all()  # padding of a sample without objects
    assert data["digest"][4, 1].tobytes() == sample_digest(records[4].frames["frame_b"])
    assert reader.attrs["complete"] is True and set(reader.attrs["checksums"]) >= {*FIELDS, "alpha", "params_json", "digest"}


def test_partial_store_is_resumed_only_with_the_same_identity(tmp_path):
    layout = ShardLayout(4, (8, 8), FIELDS, 3, 2)
    identity = {"part": 1, "start": 0, "count": 4}
    records = _records(1, 0, 4)
    final = shard_path(tmp_path, 1, 0)
    with ShardTarget(final, layout, identity, {}, StoreSettings()) as target:
        write_block(target.partial, layout, 0, records[:2])  # then "crash": no finalize
    assert not final.exists()
    with ShardTarget(final, layout, identity, {}, StoreSettings()) as target:
        assert target.pending_blocks == [1]
        with pytest.raises(StoreError, match="blocks \\[1\\] were not written"):
            target.finalize()
    with ShardTarget(final, layout, {**identity, "catalogue_identity": "other"}, {}, StoreSettings()) as target:
        assert target.pending_blocks == [0, 1]  # a partial store of another identity is started over


def test_one_writer_per_shard(tmp_path):
    layout = ShardLayout(2, (8, 8), FIELDS, 3, 2)
    final = shard_path(tmp_path, 1, 0)
    with ShardTarget(final, layout, {}, {}, StoreSettings()):
        with pytest.raises(StoreError, match="another process is writing"):
            ShardTarget(final, layout, {}, {}, StoreSettings()).__enter__()


def test_open_dataset_lazy_view_runs_and_manifest(tmp_path):
    a = _write(tmp_path, 1, 0, 0, 6)
    b = _write(tmp_path, 1, 1, 6, 3)
    c = _write(tmp_path, 2, 0, 0, 4)
    manifest = build_manifest(tmp_path)
    write_manifest(tmp_path, manifest)
    assert manifest["parts"]["1"]["count"] == 9 and manifest["parts"]["1"]["missing"] == []
    assert manifest["parts"]["2"]["missing"] == [1, 2]  # part_size 12 in shards of 4 asks for shards 0-2
    ds = open_dataset(tmp_path)
    assert len(ds) == 13 and [(s.part, s.start, s.count) for s in ds.shards] == [(1, 0, 6), (1, 6, 3), (2, 0, 4)]
    frames = np.stack([r.frames["frame_b"] for r in (*a, *b, *c)])
    np.testing.assert_array_equal(ds.fields["frame_b"].compute(), frames)
    assert ds.fields["frame_a"].shape == (13, 8, 8, 3) and ds.fields["alpha"].dtype == np.float32
    run = ds.read_run(1, 1, 3, ["frame_a", "index"])
    np.testing.assert_array_equal(run["frame_a"], np.stack([r.frames["frame_a"] for r in b[1:3]]))
    assert list(run["index"]) == [7, 8]
    part2 = open_dataset(tmp_path, parts=["bg_only"])
    assert len(part2) == 4 and part2.manifest_hash == ds.manifest_hash
    assert build_manifest(tmp_path)["manifest_hash"] == manifest["manifest_hash"]  # stable when nothing changed
    with pytest.raises(StoreError, match=f"{ds.shards[0].path}: no field 'frame_y'"):
        ds.read_run(0, 0, 1, ["frame_y"])


def test_missing_or_changed_shards_are_named(tmp_path):
    _write(tmp_path, 1, 0, 0, 4)
    _write(tmp_path, 1, 1, 4, 4)
    write_manifest(tmp_path, build_manifest(tmp_path))
    second = shard_path(tmp_path, 1, 1)
    group = zarr.open_group(str(second), mode="r+")
    group.attrs["shard_checksum"] = "0" * 64
    with pytest.raises(IntegrityError, match=str(second.resolve())):
        open_dataset(tmp_path)
    import shutil

    shutil.rmtree(second)
    with pytest.raises(StoreNotFound, match=str(second.resolve())):
        open_dataset(tmp_path)
    with pytest.raises(StoreNotFound, match="manifest.json"):
        open_dataset(tmp_path / "nowhere")

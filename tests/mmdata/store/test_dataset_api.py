"""The indexed dataset as a map-style collection: ``ds[i]``, slices, iteration, provenance, ShardRef runs."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
import zarr
from store_helpers import TINY_FIELDS, shard_arrays, tiny_params, write_tiny_dataset

import mmdata.store.reader
from mmdata import open_dataset
from mmdata.errors import IntegrityError, StoreError
from mmdata.store.provenance import params_to_json


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory):
    return write_tiny_dataset(tmp_path_factory.mktemp("dsapi") / "ds")  # part 1: shards of 5 and 3; part 2: one of 4


def _stored(root) -> list[tuple[int, int, int, dict[str, np.ndarray]]]:
    """(part, shard, offset, arrays of that shard) of every sample in manifest order, read shard by shard."""
    out = []
    for ref in open_dataset(root).shards:
        arrays = shard_arrays(ref.path)
        out += [(ref.part, ref.shard, k, arrays) for k in range(ref.count)]
    return out


def test_every_item_is_the_stored_sample_with_its_provenance(root) -> None:
    ds = open_dataset(root)
    stored = _stored(root)
    assert len(ds) == len(stored) == 12
    for i, (part, shard, offset, arrays) in enumerate(stored):
        sample = ds[i]
        assert sorted(sample) == sorted(n for n in arrays if n not in ("digest", "fast_digest"))
        for name in TINY_FIELDS:
            assert sample[name].dtype == np.uint8 and sample[name].shape == (8, 8, 3)
            np.testing.assert_array_equal(sample[name], arrays[name][offset])
        assert isinstance(sample["alpha"], np.float32) and sample["alpha"] == arrays["alpha"][offset]
        assert sample["motion"].shape == (3, 2)
        index = int(arrays["index"][offset])
        assert sample["params_json"] == params_to_json(tiny_params(part, index))
        p = sample.provenance
        assert (p.position, p.part, p.index, p.shard_number, p.offset, p.verified) == (i, part, index, shard, offset, True)
        assert p.part_name == ("fg_bg" if part == 1 else "bg_only") and p.shard == ds.shards[ds.locate(i)[0]].path
        assert p.params == tiny_params(part, index)
    second = ds[6].provenance  # part 1, shard 1, offset 1: index 6
    assert (second.part, second.index, second.shard_number, second.offset) == (1, 6, 1, 1)
    summary = ds[6].provenance.summary()
    json.dumps(summary)  # JSON-able
    assert summary["shard"].endswith("part1/shard-0001.zarr") and summary["offset_in_shard"] == 1
    assert summary["seed"] == [7, 1, 6] and summary["n_objects"] == 0 and summary["alpha"] == tiny_params(1, 6).alpha


def test_negative_indices_slices_and_iteration_agree(root) -> None:
    ds = open_dataset(root)
    assert ds[-1].provenance.position == 11 and ds[-12].provenance.position == 0
    np.testing.assert_array_equal(ds[-1]["frame_b"], ds[11]["frame_b"])
    assert ds[np.int64(3)].provenance.index == 3
    window = ds[3:10]  # crosses both shard boundaries
    assert [s.provenance.position for s in window] == list(range(3, 10))
    assert [(s.provenance.part, s.provenance.index) for s in window] == [(1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (2, 0), (2, 1)]
    assert [s.provenance.position for s in ds[::-5]] == [11, 6, 1]
    assert ds[20:] == []
    every = list(ds)
    assert [s.provenance.position for s in every] == list(range(12))
    for a, b in zip(every, (ds[i] for i in range(12))):
        np.testing.assert_array_equal(a["frame_a"], b["frame_a"])
        assert a.provenance == b.provenance


def test_bad_keys_are_refused_clearly(root) -> None:
    ds = open_dataset(root)
    for bad in (12, -13):
        with pytest.raises(IndexError, match=f"sample {bad} outside the dataset's 12 samples"):
            ds[bad]
    for bad in ("0", 1.0, [0, 1], None, True):
        with pytest.raises(TypeError, match="indexed by an int or a slice"):
            ds[bad]
    with pytest.raises(KeyError, match="no field 'frame_y'"):
        ds[0]["frame_y"]


def test_read_run_and_reader_take_a_shard_ref(root) -> None:
    ds = open_dataset(root)
    ref = ds.shards[1]
    by_ref = ds.read_run(ref, 1, 3, ["frame_a", "index"])
    by_position = ds.read_run(1, 1, 3, ["frame_a", "index"])
    np.testing.assert_array_equal(by_ref["frame_a"], by_position["frame_a"])
    assert list(by_ref["index"]) == [6, 7]
    assert ds.reader(ref) is ds.reader(1) and ds.reader(-1) is ds.reader(2)
    with pytest.raises(StoreError, match="not a shard of this view"):
        open_dataset(root, parts=["bg_only"]).read_run(ref, 0, 1)
    with pytest.raises(TypeError, match="ShardRef"):
        ds.read_run("1", 0, 1)
    with pytest.raises(IndexError, match="shard 3 outside the view's 3 shards"):
        ds.reader(3)


def test_item_reads_stay_verified(tmp_path) -> None:
    root = write_tiny_dataset(tmp_path / "ds", shards=((1, 4),))
    shard = open_dataset(root).shards[0].path
    frame = zarr.open_array(str(shard / "frame_b"), mode="r+")
    frame[2] = 255 - frame[2]  # one stored frame changed after its digest was recorded
    ds = open_dataset(root)
    ds[1]  # other samples still read
    with pytest.raises(IntegrityError, match="frame_b"):
        ds[2]
    with pytest.raises(IntegrityError, match="frame_b"):
        list(ds)
    assert open_dataset(root, verify=False)[2].provenance.verified is False


def test_docstring_examples_run(root) -> None:
    result = doctest.testmod(mmdata.store.reader, globs={"root": root}, optionflags=doctest.ELLIPSIS, raise_on_error=False)
    assert result.attempted >= 8 and result.failed == 0

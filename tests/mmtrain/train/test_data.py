"""Tests of the training stream: run-wise reads, shuffling, determinism, resume, crops, noise, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from fakes import FakeDataset, make_samples, single_thread  # noqa: F401 (autouse fixture)

from mmdata.errors import ConfigError, StoreError
from mmtrain.train.data import (
    StreamConfig,
    TrainingStream,
    add_poisson_noise,
    check_fields,
    check_frame_size,
    epoch_runs,
    make_loader,
    to_model_range,
    validation_batches,
)


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    data = make_samples(40, 16, np.random.default_rng(0))
    data["frame_a"][:, 0, 0, 0] = np.arange(40)  # tag every sample in a pixel that crops keep
    data["alpha"] = np.arange(40, dtype=np.float32) + 0.5  # and in its alpha
    return data


def _ids(batch: dict[str, torch.Tensor]) -> list[int]:
    return [int(a) for a in batch["alpha"]]


def _take(stream, n: int) -> list[dict[str, torch.Tensor]]:
    it = iter(stream)
    return [next(it) for _ in range(n)]


def test_epoch_runs_cover_every_sample_once_in_contiguous_runs() -> None:
    counts = [10, 7, 12]
    runs = epoch_runs(counts, 4, seed=1, epoch=0)
    covered = sorted((s, o) for s, a, b in runs for o in range(a, b))
    assert covered == sorted((s, o) for s, n in enumerate(counts) for o in range(n))
    assert all(b - a <= 4 and a % 4 == 0 for _, a, b in runs)
    shard_order = [s for s, _, _ in runs]
    assert [s for i, s in enumerate(shard_order) if i == 0 or s != shard_order[i - 1]] != [0, 1, 2] or \
        epoch_runs(counts, 4, seed=2, epoch=0) != runs  # shuffled
    assert epoch_runs(counts, 4, seed=1, epoch=1) != runs  # a new order each epoch


def test_one_epoch_reads_runs_and_never_serves_validation(samples) -> None:
    ds = FakeDataset(samples, shard_size=10)
    cfg = StreamConfig(batch_size=4, crop_size=None, run_length=4, buffer_size=8, seed=0, val_samples=8)
    stream = TrainingStream(ds, cfg)
    assert stream.batches_per_epoch == 8  # 32 training samples / 4
    seen = [i for b in _take(stream, 8) for i in _ids(b)]
    assert sorted(seen) == list(range(32))  # every training sample once; 32..39 held out
    assert seen != sorted(seen)  # shuffled
    assert all(stop - start <= 4 for _, start, stop in ds.reads) and len(ds.reads) <= 10  # runs, not single samples
    val_ids = [i for b in validation_batches(ds, stream.val_runs, batch_size=3, crop_size=None) for i in _ids(b)]
    assert val_ids == list(range(32, 40))


def test_stream_is_deterministic_and_seeded(samples) -> None:
    ds = FakeDataset(samples, shard_size=10)
    cfg = StreamConfig(batch_size=4, crop_size=8, run_length=4, buffer_size=8, poisson_noise=3.0, seed=5)
    a, b = _take(TrainingStream(ds, cfg), 12), _take(TrainingStream(ds, cfg), 12)
    for x, y in zip(a, b):
        assert all(torch.equal(x[k], y[k]) for k in x)
    other = _take(TrainingStream(ds, StreamConfig(**{**cfg.__dict__, "seed": 6})), 12)
    assert [_ids(x) for x in a] != [_ids(x) for x in other]


@pytest.mark.parametrize("workers", [0, 2])
def test_starting_at_a_step_continues_the_same_sequence(samples, workers: int) -> None:
    ds = FakeDataset(samples, shard_size=10)
    cfg = StreamConfig(batch_size=2, crop_size=8, run_length=4, buffer_size=6, seed=3)
    full = list(_take(make_loader(TrainingStream(ds, cfg, workers=workers), workers=workers), 25))  # crosses epochs
    resumed = list(_take(make_loader(TrainingStream(ds, cfg, workers=workers, start_step=17), workers=workers), 8))
    for x, y in zip(full[17:], resumed):
        assert all(torch.equal(x[k], y[k]) for k in x)


def test_batches_are_crops_of_the_stored_frames(samples) -> None:
    ds = FakeDataset(samples, shard_size=40)
    batch = _take(TrainingStream(ds, StreamConfig(batch_size=4, crop_size=8, run_length=8, buffer_size=8)), 1)[0]
    assert batch["frame_a"].shape == (4, 3, 8, 8) and batch["frame_a"].dtype == torch.float32
    for j, i in enumerate(_ids(batch)):
        crop = ((batch["frame_b"][j] + 1) * 127.5).round().permute(1, 2, 0).numpy().astype(np.uint8)
        hits = [(y, x) for y in range(9) for x in range(9) if np.array_equal(samples["frame_b"][i, y:y + 8, x:x + 8], crop)]
        assert hits, f"sample {i}: batch crop not found in the stored frame"
        y, x = hits[0]
        for name in ("frame_a", "frame_b_perturbed", "frame_y_perturbed"):  # the same window in every frame
            expected = to_model_range(samples[name][i:i + 1, y:y + 8, x:x + 8])[0]
            assert torch.allclose(batch[name][j], expected)


def test_to_model_range_convention() -> None:
    x = to_model_range(np.array([[[[0, 127, 255]]]], dtype=np.uint8))
    assert x.shape == (1, 3, 1, 1)
    assert torch.allclose(x.flatten(), torch.tensor([-1.0, 127 / 127.5 - 1, 1.0]))


def test_poisson_noise_has_the_promised_statistics() -> None:
    rng = np.random.default_rng(0)
    for level in (127.5, 40.0):
        frames = np.full((2, 128, 128, 3), level)
        noisy = add_poisson_noise(frames, np.array([3.0, 0.0]), rng)
        expected_std = 3.0 * np.sqrt(level / 127.5)  # std = strength at mid-gray, photon-noise scaling
        assert abs(noisy[0].std() - expected_std) < 0.03 * expected_std
        assert abs(noisy[0].mean() - level) < 0.05
        assert np.array_equal(noisy[1], frames[1])  # strength 0: untouched


def test_missing_fields_and_bad_sizes_are_clear_errors(samples) -> None:
    with pytest.raises(StoreError, match="missing \\['frame_b'\\]"):
        check_fields(FakeDataset(samples, 10, drop=["frame_b"]), source="mydata")
    with pytest.raises(StoreError, match="too few"):
        TrainingStream(FakeDataset(samples, 10), StreamConfig(batch_size=64))
    with pytest.raises(ConfigError, match="train.crop_size 32 exceeds"):
        _take(TrainingStream(FakeDataset(samples, 10), StreamConfig(batch_size=2, crop_size=32)), 1)


def test_an_axial_dataset_is_refused_with_a_clear_message(samples) -> None:
    axial = {**samples, "theta": np.zeros(10, np.float32), "alpha_x": samples["alpha"], "alpha_y": samples["alpha"] / 2}
    with pytest.raises(StoreError, match="mydata: the dataset has axial magnification targets .*scalar-alpha network cannot learn"):
        check_fields(FakeDataset(axial, 10), source="mydata")
    check_fields(FakeDataset(samples, 10), source="mydata")  # the same samples without them train


@pytest.mark.parametrize("crop, match", [
    (32, "mydata: frames are 16x16 pixels \\(width x height\\), smaller than train.crop_size 32"),
    (6, "train.crop_size 6 is not a positive multiple of 4 .*up to 16"),
    (0, "train.crop_size 0 is not a positive multiple of 4"),
], ids=["too-big", "not-multiple-of-4", "zero"])
def test_frame_sizes_the_network_cannot_train_on_are_named(samples, crop, match) -> None:
    with pytest.raises(ConfigError, match=match):
        check_frame_size(FakeDataset(samples, 10), crop, source="mydata")


def test_whole_frames_must_be_multiples_of_4() -> None:
    assert check_frame_size(FakeDataset(make_samples(4, 16, np.random.default_rng(1)), 4), None) == (16, 16)
    assert check_frame_size(FakeDataset(make_samples(4, 18, np.random.default_rng(1)), 4), 16) == (18, 18)
    with pytest.raises(ConfigError, match="18x18 pixels .*not multiples of 4.*train.crop_size is null"):
        check_frame_size(FakeDataset(make_samples(4, 18, np.random.default_rng(1)), 4), None)


def test_validation_holds_out_the_last_samples_of_every_part(samples) -> None:
    ds = FakeDataset(samples, shard_size=10)  # 40 samples in 4 shards; make shards 0-1 part 1, 2-3 part 2
    ds.shards = [dataclasses.replace(s, part=1 if i < 2 else 2) for i, s in enumerate(ds.shards)]
    stream = TrainingStream(ds, StreamConfig(batch_size=4, crop_size=None, run_length=4, buffer_size=8, seed=0, val_samples=7))
    val_ids = [i for b in validation_batches(ds, stream.val_runs, batch_size=3, crop_size=None) for i in _ids(b)]
    assert sorted(val_ids) == [16, 17, 18, 19, 37, 38, 39]  # the last samples of each part, 4 + 3
    seen = [i for b in _take(stream, stream.batches_per_epoch) for i in _ids(b)]
    assert not set(seen) & set(val_ids)

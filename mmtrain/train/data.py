"""Training data pipeline over ``mmdata.open_dataset`` shards.

Random per-sample reads from sharded Zarr are slow, so samples are read as contiguous **runs** inside
one shard (:meth:`Dataset.read_run`) and shuffled in memory:

1. per epoch, the shards are shuffled, each shard is cut into runs of ``run_length`` samples and the
   runs of every shard are shuffled (order: shard by shard);
2. the runs are dealt round-robin to the (rank, worker) streams; each stream keeps an in-memory buffer of
   ``buffer_size`` samples and emits a random one whenever it is full;
3. each stream yields whole batches (random crop of ``crop_size``, optional on-the-fly Poisson noise on
   the inputs), the same number per epoch for every stream; batch k of a process belongs to stream
   k mod workers, and DataLoader's round-robin over workers serves them in that order (a loader started
   at step s gives worker w the stream (s + w) mod workers).

Everything random is drawn from ``numpy.random.default_rng([seed, epoch, ...])``: the batch sequence
is a pure function of (dataset, seed, batch size, workers, world size), and a stream can start at any
step without reading the skipped data (exact resume). The emission order (step 2) is computed on indices
before any pixel is read; the data are opened lazily inside each worker.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Protocol, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from mmdata.errors import ConfigError, StoreError
from mmdata.render.noise import photon_noise
from mmtrain.model.frames import to_model_range as _to_model_range

__all__ = ["StreamConfig", "TrainingStream", "FRAME_FIELDS", "check_fields", "check_frame_size", "make_loader",
           "to_model_range",
           "add_poisson_noise", "validation_batches", "epoch_runs"]

log = logging.getLogger(__name__)

FRAME_FIELDS: tuple[str, ...] = ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed")
NOISY_FIELDS: tuple[str, ...] = ("frame_a", "frame_b", "frame_b_perturbed")  # network inputs (+ X_b for the regularizer)
REQUIRED_FIELDS: tuple[str, ...] = FRAME_FIELDS + ("alpha",)


class DatasetLike(Protocol):
    """The part of :class:`mmdata.store.Dataset` the pipeline uses."""

    shards: Sequence[Any]
    manifest_hash: str

    @property
    def fields(self) -> Mapping[str, Any]: ...  # field name -> its (lazy) array, e.g. (N, H, W, 3)

    def __len__(self) -> int: ...

    def read_run(self, shard_index: int, start: int, stop: int, fields: Any = None) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class StreamConfig:
    """How training batches are drawn."""

    batch_size: int = 4  # samples per batch (per process under DDP)
    crop_size: int | None = 384  # random square crop (multiple of 4); None = whole frames
    run_length: int = 16  # contiguous samples read at once from one shard
    buffer_size: int = 256  # in-memory shuffle buffer (samples)
    poisson_noise: float = 0.0  # max noise std at mid-gray, 0-255 scale (paper: 3); 0 = off
    seed: int = 0  # the only source of randomness
    val_samples: int = 0  # samples held out for validation: the last ones of every part, evenly


def check_fields(dataset: DatasetLike, *, source: Any = "dataset") -> None:
    """Raise StoreError naming the fields training needs that ``dataset`` lacks, and checking their shapes.

    A dataset of axial targets (``dataset.axial``: it stores ``theta``, ``alpha_x``, ``alpha_y``) is refused:
    its magnified frames are not the input motion times the scalar alpha the network is given.
    """
    fields = getattr(dataset, "fields", None) or {}
    names = set(fields)
    if not getattr(dataset, "shards", None) or len(dataset) == 0:
        raise StoreError(f"{source}: the dataset has no samples")
    missing = [f for f in REQUIRED_FIELDS if f not in names]
    if missing:
        raise StoreError(f"{source}: training needs fields {list(REQUIRED_FIELDS)}; missing {missing}")
    if "alpha_y" in names:  # an axial store (dataset.axial): its targets are magnified by a factor per axis
        raise StoreError(f"{source}: the dataset has axial magnification targets (dataset.axial: alpha_x along theta, alpha_y "
                         "across it), which the scalar-alpha network cannot learn; train on a dataset rendered without "
                         "dataset.axial, or read theta, alpha_x and alpha_y with mmtrain.train.SampleDataset in an axial trainer")
    for name in FRAME_FIELDS:
        shape = tuple(fields[name].shape)
        if len(shape) != 4 or shape[-1] != 3:
            raise StoreError(f"{source}: field {name!r} must be (N, H, W, 3) uint8 frames, got shape {shape}")


def check_frame_size(dataset: DatasetLike, crop_size: int | None, *, source: Any = "dataset") -> tuple[int, int]:
    """Check, before training starts, that the network can train on ``dataset``'s frames with ``crop_size``.

    The network halves the frame twice, so what it sees must have sides that are multiples of 4: the
    crop (``train.crop_size``), or the whole frames when it is null; a crop must fit in the frames.

    Args:
        dataset: a dataset that passed :func:`check_fields`.
        crop_size: ``train.crop_size``.
        source: the dataset root, for the message.

    Returns:
        The frames' ``(height, width)``.

    Raises:
        ConfigError: naming the dataset, its frame size and ``train.crop_size``.
    """
    sizes = {tuple(dataset.fields[name].shape[1:3]) for name in FRAME_FIELDS}
    if len(sizes) > 1:
        raise StoreError(f"{source}: the frame fields differ in size: {sorted(sizes)}")
    h, w = sizes.pop()
    frames = f"{source}: frames are {w}x{h} pixels (width x height)"
    largest = min(h, w) // 4 * 4
    advice = f"a multiple of 4 up to {largest}" if largest else "no crop fits: the frames are under 4 pixels"
    if crop_size is not None and (crop_size < 4 or crop_size % 4):
        raise ConfigError(f"{frames}; train.crop_size {crop_size} is not a positive multiple of 4 "
                          f"(the network halves the frame twice); use {advice}")
    if crop_size is not None and (h < crop_size or w < crop_size):
        raise ConfigError(f"{frames}, smaller than train.crop_size {crop_size}; use {advice}")
    if crop_size is None and (h % 4 or w % 4):
        raise ConfigError(f"{frames}, not multiples of 4, and train.crop_size is null (whole frames); "
                          f"set train.crop_size to {advice}")
    return h, w


def _usable_counts(dataset: DatasetLike, val_samples: int) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Per-shard sample counts left for training, and the held-out (shard, start, stop) validation runs.

    The held-out samples are the last ones of every part, as evenly as the parts allow (a part
    with fewer samples than its share passes the rest on), so validation covers each kind of scene
    the model trains on, not only the last part's.
    """
    counts = [int(s.count) for s in dataset.shards]
    by_part: dict[int, list[int]] = {}
    for i, shard in enumerate(dataset.shards):
        by_part.setdefault(int(getattr(shard, "part", 0)), []).append(i)
    held: list[tuple[int, int, int]] = []
    remaining = val_samples
    parts = sorted(by_part, key=lambda part: sum(counts[i] for i in by_part[part]))  # small parts first
    for n, part in enumerate(parts):
        want = -(-remaining // (len(parts) - n))  # this part's share of what is left, rounded up
        for i in reversed(by_part[part]):
            if want <= 0:
                break
            take = min(want, counts[i])
            held.append((i, counts[i] - take, counts[i]))
            counts[i] -= take
            want -= take
            remaining -= take
    return counts, sorted(held)


def epoch_runs(counts: Sequence[int], run_length: int, seed: int, epoch: int) -> list[tuple[int, int, int]]:
    """(shard, start, stop) runs of one epoch: shuffled shards, shuffled runs inside each shard."""
    rng = np.random.default_rng([seed, epoch, 0x5EED])
    runs: list[tuple[int, int, int]] = []
    for shard in rng.permutation(len(counts)):
        starts = np.arange(0, counts[shard], run_length)
        for s in rng.permutation(starts):
            runs.append((int(shard), int(s), int(min(s + run_length, counts[shard]))))
    return runs


def _emission_order(runs: Sequence[tuple[int, int, int]], buffer_size: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Order in which a shuffle buffer emits samples: (run position, shard, offset) triples."""
    buffer: list[tuple[int, int, int]] = []
    out: list[tuple[int, int, int]] = []
    for pos, (shard, start, stop) in enumerate(runs):
        for offset in range(start, stop):
            buffer.append((pos, shard, offset))
            if len(buffer) >= buffer_size:
                j = int(rng.integers(len(buffer)))
                buffer[j], buffer[-1] = buffer[-1], buffer[j]
                out.append(buffer.pop())
    while buffer:
        j = int(rng.integers(len(buffer)))
        buffer[j], buffer[-1] = buffer[-1], buffer[j]
        out.append(buffer.pop())
    return out


def to_model_range(frames: np.ndarray) -> torch.Tensor:
    """uint8 or float (N, H, W, 3) on the 0-255 scale -> float32 (N, 3, H, W) in [-1, 1] (x / 127.5 - 1)."""
    return _to_model_range(frames)


def add_poisson_noise(frames: np.ndarray, strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photon (Poisson) noise whose std is ``strength`` (0-255 scale) at mid-gray 127.5, per sample.

    The renderer's noise model (:func:`mmdata.render.photon_noise`) applied sample by sample: a
    value v gets variance ``strength**2 * v / 127.5`` and keeps its mean.

    Args:
        frames: (N, H, W, 3) values on the 0-255 scale.
        strength: (N,) std at mid-gray per sample; 0 leaves a sample unchanged.
        rng: the generator.

    Returns:
        float32 noisy frames (not clipped or quantized).
    """
    out = frames.astype(np.float32)
    for i, s in enumerate(np.asarray(strength, dtype=np.float64)):
        if s > 0:
            out[i] = photon_noise(out[i], float(s), rng)
    return out


class TrainingStream(IterableDataset):
    """Infinite stream of training batches (dicts of tensors), deterministic given the seed.

    Args:
        dataset: an opened dataset (``mmdata.open_dataset``); pickled into workers, shards opened lazily.
        config: the stream settings.
        workers: DataLoader worker processes that will read it (0 = main process).
        rank, world_size: this process under DistributedDataParallel.
        start_step: first batch to produce (resume), counted in batches of this process.

    Yields:
        ``{"frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed": (B, 3, h, w) float32 in [-1, 1],
        "alpha": (B,) float32}``.
    """

    def __init__(self, dataset: DatasetLike, config: StreamConfig, *, workers: int = 0, rank: int = 0,
                 world_size: int = 1, start_step: int = 0) -> None:
        super().__init__()
        self.dataset, self.config = dataset, config
        self.streams_per_rank = max(workers, 1)
        self.rank, self.world_size, self.start_step = rank, world_size, start_step
        self.counts, self.val_runs = _usable_counts(dataset, config.val_samples)
        n_streams = self.streams_per_rank * world_size
        self.batches_per_stream = sum(self.counts) // (config.batch_size * n_streams)
        if self.batches_per_stream == 0:
            raise StoreError(f"{getattr(dataset, 'root', 'dataset')}: {sum(self.counts)} training samples are too few "
                             f"for batch size {config.batch_size} x {n_streams} streams")
        self._cache: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self._pending: Counter[tuple[int, int]] = Counter()

    @property
    def batches_per_epoch(self) -> int:
        """Batches one process draws per epoch."""
        return self.batches_per_stream * self.streams_per_rank

    def _read(self, shard: int, offset: int) -> dict[str, np.ndarray]:
        """One sample, reading the whole run that holds it; a run is dropped once its last pick is served."""
        key = (shard, offset - offset % self.config.run_length)
        if key not in self._cache:
            stop = min(key[1] + self.config.run_length, int(self.dataset.shards[shard].count))
            self._cache[key] = self.dataset.read_run(shard, key[1], stop, fields=list(REQUIRED_FIELDS))
        run = self._cache[key]
        sample = {name: run[name][offset - key[1]] for name in REQUIRED_FIELDS}
        self._pending[key] -= 1
        if self._pending[key] <= 0:
            del self._cache[key]
        return sample

    def _batch(self, samples: list[dict[str, np.ndarray]], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        crop = self.config.crop_size
        frames: dict[str, list[np.ndarray]] = {name: [] for name in FRAME_FIELDS}
        for s in samples:
            h, w = s["frame_a"].shape[:2]
            if crop is not None and (h < crop or w < crop):  # check_frame_size refuses this before training
                raise ConfigError(f"train.crop_size {crop} exceeds the dataset's {h}x{w} frames")
            y = int(rng.integers(0, h - crop + 1)) if crop else 0
            x = int(rng.integers(0, w - crop + 1)) if crop else 0
            for name in FRAME_FIELDS:
                frames[name].append(s[name][y:y + crop, x:x + crop] if crop else s[name])
        out: dict[str, torch.Tensor] = {}
        strength = rng.uniform(0, self.config.poisson_noise, size=len(samples)) if self.config.poisson_noise > 0 else None
        for name in FRAME_FIELDS:
            stack = np.stack(frames[name])
            if strength is not None and name in NOISY_FIELDS:
                stack = add_poisson_noise(stack, strength, rng)
            out[name] = to_model_range(stack)
        out["alpha"] = torch.tensor([float(s["alpha"]) for s in samples], dtype=torch.float32)
        return out

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        # DataLoader takes its i-th batch from worker i % workers: this worker serves the process's batches
        # start_step + worker + k * workers, which all belong to one logical stream (batch index mod workers).
        info = get_worker_info()
        worker = info.id if info is not None else 0
        local = (self.start_step + worker) % self.streams_per_rank
        stream = self.rank * self.streams_per_rank + local
        n_streams = self.world_size * self.streams_per_rank
        cfg = self.config
        epoch = self.start_step // self.batches_per_epoch
        while True:
            runs = epoch_runs(self.counts, cfg.run_length, cfg.seed, epoch)[stream::n_streams]
            order = _emission_order(runs, cfg.buffer_size, np.random.default_rng([cfg.seed, epoch, stream, 1]))
            if not order:
                raise StoreError(f"{len(self.counts)} shards give too few runs of {cfg.run_length} samples for "
                                 f"{n_streams} reading streams; lower train.run_length or train.workers")
            wanted = [b for b in range(self.batches_per_stream)
                      if epoch * self.batches_per_epoch + b * self.streams_per_rank + local >= self.start_step]
            # a stream whose runs hold fewer samples this epoch wraps around its own order
            picks = {b: [order[(b * cfg.batch_size + j) % len(order)] for j in range(cfg.batch_size)] for b in wanted}
            self._cache.clear()
            self._pending = Counter((shard, off - off % cfg.run_length) for p in picks.values() for _, shard, off in p)
            for b in wanted:
                rng = np.random.default_rng([cfg.seed, epoch, stream, 2, b])
                yield self._batch([self._read(shard, off) for _, shard, off in picks[b]], rng)
            epoch += 1


def make_loader(stream: TrainingStream, *, workers: int, pin_memory: bool = False) -> DataLoader:
    """A DataLoader over a :class:`TrainingStream` (which already yields whole batches)."""
    return DataLoader(stream, batch_size=None, num_workers=workers, pin_memory=pin_memory,
                      persistent_workers=False, prefetch_factor=2 if workers > 0 else None)


def validation_batches(dataset: DatasetLike, runs: Sequence[tuple[int, int, int]], *, batch_size: int,
                       crop_size: int | None) -> Iterator[dict[str, torch.Tensor]]:
    """The held-out samples in order, center-cropped, without noise."""
    samples: list[dict[str, np.ndarray]] = []
    for shard, start, stop in runs:
        data = dataset.read_run(shard, start, stop, fields=list(REQUIRED_FIELDS))
        samples.extend({k: data[k][i] for k in REQUIRED_FIELDS} for i in range(stop - start))
    for i in range(0, len(samples), batch_size):
        chunk = samples[i:i + batch_size]
        out: dict[str, torch.Tensor] = {}
        for name in FRAME_FIELDS:
            stack = np.stack([s[name] for s in chunk])
            if crop_size is not None:
                h, w = stack.shape[1:3]
                y, x = (h - crop_size) // 2, (w - crop_size) // 2
                stack = stack[:, y:y + crop_size, x:x + crop_size]
            out[name] = to_model_range(stack)
        out["alpha"] = torch.tensor([float(s["alpha"]) for s in chunk], dtype=torch.float32)
        yield out

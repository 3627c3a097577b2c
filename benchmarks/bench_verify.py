"""Cost of verified reads: training-loader samples/s with and without frame verification, in one run.

Writes a small synthetic dataset (smooth textures plus noise, stored like rendered samples), then
draws training batches from :class:`mmtrain.train.data.TrainingStream` in this process (the loader
a training run uses, with random crops and conversion to the model range) over the same dataset
opened with ``verify=True`` and ``verify=False``, alternating the two ``--repeats`` times. Prints the
median samples per CPU second of this process (robust on a machine shared with other work, where
wall-clock rates swing with the load) and per wall second, and the slowdown; the target is at most
5 %. Also prints the raw ``read_run`` throughput (no batching, no training step), where hashing is
a larger share. Usage::

    python benchmarks/bench_verify.py [--image-size 384] [--samples 64] [--batches 24] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mmdata.store import SampleRecord, ShardLayout, ShardTarget, StoreSettings, build_manifest, open_dataset, shard_path, write_block, write_manifest
from mmtrain.train.data import StreamConfig, TrainingStream

FIELDS = ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed")


def _frames(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = 128 + 60 * np.sin(2 * np.pi * (xx * rng.uniform(1, 4) + yy * rng.uniform(1, 4)))[..., None]
    return {f: np.clip(base + rng.normal(0, 3, (size, size, 3)), 0, 255).astype(np.uint8) for f in FIELDS}


def write_dataset(root: Path, *, size: int, samples: int, shard_size: int, block: int) -> None:
    """A dataset root of synthetic samples in ``samples // shard_size`` shards, indexed."""
    rng = np.random.default_rng(0)
    settings = StoreSettings(zarr_shard_samples=block)
    for k in range(samples // shard_size):
        layout = ShardLayout(count=shard_size, image_shape=(size, size), frame_fields=FIELDS, max_layers=1, block=block)
        attrs = {"part": 1, "shard": k, "start": k * shard_size, "part_size": samples, "shard_size": shard_size, "origin": "benchmark",
                 "render_config_hash": "benchmark", "catalogue": {"identity": "benchmark", "path": None}, "code_version": {"render_code_hash": None}}
        with ShardTarget(shard_path(root, 1, k), layout, {"part": 1, "start": k * shard_size}, attrs, settings) as target:
            for b in target.pending_blocks:
                lo, hi = layout.block_range(b)
                records = [SampleRecord(1, k * shard_size + i, _frames(rng, size), float(rng.uniform(1, 50))) for i in range(lo, hi)]
                write_block(target.partial, layout, b, records)
            target.finalize()
    write_manifest(root, build_manifest(root))


def loader_rate(root: Path, verify: bool, batches: int, crop: int) -> tuple[float, float]:
    """(samples per CPU second, per wall second) of ``batches`` training batches of 4, once the dataset is open.

    Opening (which checks every shard's attributes and small arrays when verifying) happens once per
    training process; :func:`open_cost` times it separately.
    """
    ds = open_dataset(root, verify=verify)
    stream = TrainingStream(ds, StreamConfig(batch_size=4, crop_size=crop, run_length=8, buffer_size=16, seed=1), workers=1)
    it = iter(stream)
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * 4 / (time.process_time() - c0), batches * 4 / (time.perf_counter() - t0)


def open_cost(root: Path, verify: bool) -> float:
    """CPU milliseconds per shard of ``open_dataset`` (manifest, entries and, verifying, each shard's records)."""
    c0 = time.process_time()
    ds = open_dataset(root, verify=verify)
    return 1e3 * (time.process_time() - c0) / len(ds.shards)


def read_rate(root: Path, verify: bool) -> tuple[float, float]:
    """(samples per CPU second, per wall second) of reading every sample's four frames with ``read_run`` (runs of 8)."""
    ds = open_dataset(root, verify=verify)
    c0, t0, n = time.process_time(), time.perf_counter(), 0
    for s, ref in enumerate(ds.shards):
        for lo in range(0, ref.count, 8):
            n += len(ds.read_run(s, lo, min(lo + 8, ref.count), list(FIELDS))["frame_a"])
    return n / (time.process_time() - c0), n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=384)
    parser.add_argument("--samples", type=int, default=64, help="samples in the synthetic dataset")
    parser.add_argument("--batches", type=int, default=24, help="training batches of 4 drawn per timing")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        root = Path(tmp) / "ds"
        write_dataset(root, size=args.image_size, samples=args.samples, shard_size=min(32, args.samples), block=min(16, args.samples))
        crop = args.image_size - args.image_size % 4
        rates: dict[str, list[tuple[float, float]]] = {"loader on": [], "loader off": [], "read on": [], "read off": []}
        opens: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeats):
            for verify in (True, False):
                tag = "on" if verify else "off"
                rates[f"loader {tag}"].append(loader_rate(root, verify, args.batches, crop))
                rates[f"read {tag}"].append(read_rate(root, verify))
                opens[verify].append(open_cost(root, verify))
        print(f"load average {os.getloadavg()[0]:.2f} (1 min); {args.image_size} px, {args.samples} samples, {args.repeats} repeats (median)")
        for what in ("loader", "read"):
            for k, unit in ((0, "CPU s"), (1, "wall s")):
                on = statistics.median(r[k] for r in rates[f"{what} on"])
                off = statistics.median(r[k] for r in rates[f"{what} off"])
                print(f"{what:6s}: verify=True {on:8.1f}, verify=False {off:8.1f} samples per {unit:6s}; slowdown {100 * (1 - on / off):5.1f} %")
        print(f"open  : verify=True {statistics.median(opens[True]):8.1f}, verify=False {statistics.median(opens[False]):8.1f} CPU ms per shard (once per process)")


if __name__ == "__main__":
    main()

"""Cost of verified reads: training-loader samples/s with and without frame verification, in one run.

Writes a small synthetic dataset (smooth textures plus noise, stored like rendered samples), then
draws training batches from :class:`mmtrain.train.data.TrainingStream` in this process (the loader
a training run uses, with random crops and conversion to the model range) over the same dataset
opened with ``verify=True`` and ``verify=False``, alternating the two ``--repeats`` times; a verified
read checks the xxh3-128 fast digests, and a third column verifies a copy of the dataset without them
(as shards written before fast digests are, which verify their sha256). Prints the
median samples per CPU second of this process (robust on a machine shared with other work, where
wall-clock rates swing with the load) and per wall second, and the slowdown; the target is at most
5 %. Also prints the raw ``read_run`` throughput (no batching, no training step), where hashing is
a larger share. Usage::

    python benchmarks/bench_verify.py [--image-size 384] [--samples 64] [--batches 24] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mmdata.store import (SampleRecord, ShardLayout, ShardTarget, StoreSettings, attrs_digest, build_manifest, open_dataset, shard_path,
                          write_block, write_manifest)
from mmdata.store.writer import shard_checksum
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


def without_fast_digests(root: Path, out: Path) -> None:
    """A copy of ``root`` whose shards look as written before fast digests (verified reads check sha256)."""
    shutil.copytree(root, out)
    for store in sorted(out.glob("part*/shard-*.zarr")):
        shutil.rmtree(store / "fast_digest")
        meta = store / "zarr.json"
        doc = json.loads(meta.read_text())
        a = doc["attributes"]
        del a["checksums"]["fast_digest"]
        a["shard_checksum"] = shard_checksum(a["checksums"])
        a["attrs_sha256"] = attrs_digest(a)
        meta.write_text(json.dumps(doc))
    write_manifest(out, build_manifest(out))


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
        old = Path(tmp) / "ds-sha256"
        without_fast_digests(root, old)
        modes = {"on": (root, True), "sha256": (old, True), "off": (root, False)}
        rates: dict[str, list[tuple[float, float]]] = {f"{what} {tag}": [] for what in ("loader", "read") for tag in modes}
        opens: dict[str, list[float]] = {tag: [] for tag in modes}
        for _ in range(args.repeats):
            for tag, (where, verify) in modes.items():
                rates[f"loader {tag}"].append(loader_rate(where, verify, args.batches, crop))
                rates[f"read {tag}"].append(read_rate(where, verify))
                opens[tag].append(open_cost(where, verify))
        print(f"load average {os.getloadavg()[0]:.2f} (1 min); {args.image_size} px, {args.samples} samples, {args.repeats} repeats (median)")
        print("verify=True checks xxh3-128 fast digests; 'sha256' verifies shards written before them")
        for what in ("loader", "read"):
            for k, unit in ((0, "CPU s"), (1, "wall s")):
                on, sha, off = (statistics.median(r[k] for r in rates[f"{what} {tag}"]) for tag in modes)
                print(f"{what:6s}: verify=True {on:8.1f} (sha256 {sha:8.1f}), verify=False {off:8.1f} samples per {unit:6s}; "
                      f"slowdown {100 * (1 - on / off):5.1f} % (sha256 {100 * (1 - sha / off):5.1f} %)")
        print(f"open  : verify=True {statistics.median(opens['on']):8.1f}, verify=False {statistics.median(opens['off']):8.1f} CPU ms per shard (once per process)")


if __name__ == "__main__":
    main()

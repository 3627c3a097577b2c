"""Throughput of dataset generation: render only, write only, and end to end with 1 and 2 workers.

Prints samples/s of

* render only (draw + render, in this process with 1 and 2 threads, nothing stored),
* write only (compress + write already rendered samples into a shard store, checksums, rename),
* end to end ``generate_shard`` with 1 worker and with 2 workers of each local pool,

the parallel efficiency at 2 workers (samples/s with 2 / (2 x samples/s with 1)), the CPU seconds
per sample of each run (this process and its pool workers; on a machine shared with other work, a
2-worker run that costs no more CPU per sample than the 1-worker run would scale on free cores), the
cores each run kept busy (samples/s x CPU s per sample: one worker keeps more than one core busy
while zarr encodes a block's chunks on its own threads) and the bytes per sample on disk. Usage::

    python benchmarks/bench_store.py [--catalogue DIR] [--samples 48] [--small 8] [--image-size 384] [--repeats 3] [--json out.json]

Each end-to-end variant also writes a small shard of ``--small`` samples, so that the costs paid once
per shard (creating and finalizing the store, starting the pool's workers, the last block's write
that no other task overlaps) are told apart from the cost per sample: the steady state is the slope
between the two shard sizes, the fixed cost per shard the small shard's time beyond its samples at
that rate. The default shard has 48 samples (it had 16): at 16, a second of pool start-up or half a
second of fixed cost was a third of a 2-worker run, and the efficiency measured that rather than
the rendering and writing. The process that runs the benchmark has computed the code version
(:func:`mmdata.store.provenance.code_version`, hashing the package's source) before it times
anything; a one-shard job pays that once more (printed on the first line).

Without ``--catalogue`` the built-in catalogue is built into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mmdata.config import load_config
from mmdata.store.generate import GenerateSpec, frame_fields, generate_shard, plan_shard, render_record, shard_layout
from mmdata.store.provenance import code_version, render_config_hash
from mmdata.sources import build_catalogue, open_catalogue, resolve_sources_config
from mmdata.spec import DatasetSpec
from mmdata.store import ShardTarget, StoreSettings, dir_bytes, shard_path, write_block


def _config(args: argparse.Namespace, pool: str, samples: int | None = None) -> dict[str, Any]:
    samples = samples or args.samples
    return load_config(
        overrides={
            "dataset": {"image_size": args.image_size, "shard_size": samples, "parts": {"fg_bg": samples}},
            "store": {"zarr_shard_samples": args.zarr_shard_samples, "pool": pool},
        }
    )


def _cpu_model() -> str:
    """The CPU's model name and the number of CPUs this process may use."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        model = platform.processor() or platform.machine()
    return f"{model}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} CPUs"


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (pool workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench_render_and_write(args: argparse.Namespace, catalogue: Any, work: Path) -> dict[str, float]:
    """Render-only samples/s, then write-only samples/s and MB/s of the same samples."""
    cfg = _config(args, "threads")
    spec, settings = DatasetSpec.from_config(cfg), StoreSettings.from_config(cfg)
    plan = plan_shard(spec, 1, 0)
    layout = shard_layout(spec, plan, settings)
    render_record(spec, 1, 0, catalogue, frame_fields(spec))  # warm caches and imports
    t = time.perf_counter()
    records = [render_record(spec, 1, i, catalogue, layout.frame_fields) for i in plan.indices]
    t_render = time.perf_counter() - t
    with ThreadPoolExecutor(2) as pool:
        t = time.perf_counter()
        list(pool.map(lambda i: render_record(spec, 1, i, catalogue, layout.frame_fields), plan.indices))
        t_render2 = time.perf_counter() - t
    identity = {"render_config_hash": render_config_hash(cfg), "catalogue_identity": catalogue.identity, "part": 1, "count": plan.count}
    t = time.perf_counter()
    with ShardTarget(shard_path(work / "write-only", 1, 0), layout, identity, {"code_version": code_version()}, settings) as target:
        for b in target.pending_blocks:
            lo, hi = layout.block_range(b)
            write_block(target.partial, layout, b, records[lo:hi])
        target.finalize()
    t_write = time.perf_counter() - t
    raw = sum(f.nbytes for r in records for f in r.frames.values())
    return {
        "render_only_sps": plan.count / t_render,
        "render_only_2_threads_sps": plan.count / t_render2,
        "write_only_sps": plan.count / t_write,
        "write_only_MBps_raw": raw / t_write / 1e6,
        "raw_bytes_per_sample": raw / plan.count,
    }


def _end_to_end(args: argparse.Namespace, catalogue: Any, catalogue_dir: Path, root: Path, samples: int, pool: str, workers: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, bytes on disk) of generate_shard writing one shard of ``samples``."""
    job = GenerateSpec.from_config(_config(args, pool, samples))
    t, cpu = time.perf_counter(), _cpu_seconds()
    path = generate_shard(job, catalogue, root, 1, 0, workers=workers, catalogue_path=catalogue_dir)
    wall, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
    size = dir_bytes(path)
    shutil.rmtree(root)
    return wall, cpu, size


def bench_end_to_end(args: argparse.Namespace, catalogue: Any, catalogue_dir: Path, work: Path) -> dict[str, Any]:
    """generate_shard with 1 worker and 2 workers of each pool (medians of interleaved repeats).

    Per variant: samples/s and CPU s per sample of the ``--samples`` shard, the steady-state
    samples/s (the slope between the ``--small`` and the ``--samples`` shard) and the fixed cost per
    shard in seconds (the small shard's time beyond its samples at the steady-state rate).
    """
    runs = (("1 worker", "threads", 1), ("2 threads", "threads", 2), ("2 processes", "processes", 2))
    keys = ("sps", "cpu", "steady", "fixed")
    raw: dict[str, dict[str, list[float]]] = {label: {k: [] for k in keys} for label, _, _ in runs}
    out: dict[str, Any] = {}
    for _ in range(args.repeats):  # interleaved, so that a change in machine load hits every variant alike
        for label, pool, workers in runs:
            root = work / label.replace(" ", "-")
            small, _, _ = _end_to_end(args, catalogue, catalogue_dir, root, args.small, pool, workers)
            wall, cpu, size = _end_to_end(args, catalogue, catalogue_dir, root, args.samples, pool, workers)
            steady = (args.samples - args.small) / max(wall - small, 1e-9)
            r = raw[label]
            r["sps"].append(args.samples / wall)
            r["cpu"].append(cpu / args.samples)
            r["steady"].append(steady)
            r["fixed"].append(small - args.small / steady)
            out["disk_bytes_per_sample"] = size / args.samples
    for label, _, _ in runs:
        out[label] = statistics.median(raw[label]["sps"])
        out[f"{label} cpu_s_per_sample"] = statistics.median(raw[label]["cpu"])
        out[f"{label} steady_sps"] = statistics.median(raw[label]["steady"])
        out[f"{label} fixed_s"] = statistics.median(raw[label]["fixed"])
    for label, key in (("2 threads", "threads"), ("2 processes", "processes")):
        out[f"efficiency_2_{key}"] = out[label] / (2 * out["1 worker"])
        out[f"steady_efficiency_2_{key}"] = out[f"{label} steady_sps"] / (2 * out["1 worker steady_sps"])
        # the same per repeat, then the median: the ratio of one repeat is taken under one machine load
        ratios = [s2 / (2 * s1) for s1, s2 in zip(raw["1 worker"]["steady"], raw[label]["steady"])]
        out[f"steady_efficiency_2_{key}_per_repeat"] = ratios
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", type=Path, default=None, help="catalogue folder (default: build the built-in one)")
    parser.add_argument("--samples", type=int, default=48, help="samples per run (one shard)")
    parser.add_argument("--small", type=int, default=8, help="samples of the small shard that tells the fixed costs per shard apart")
    parser.add_argument("--image-size", type=int, default=384)
    parser.add_argument("--zarr-shard-samples", type=int, default=4, help="samples per zarr shard (unit of one write task)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the end-to-end runs (median reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    t = time.perf_counter()
    code_version()  # what a one-shard job pays once, before its first sample; cached for the rest of this process
    t_code = time.perf_counter() - t
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        work = Path(tmp)
        catalogue_dir = args.catalogue or build_catalogue(resolve_sources_config({"kind": "builtin"}), work / "catalogue", workers=2)
        catalogue = open_catalogue(catalogue_dir)
        results = {"samples": args.samples, "image_size": args.image_size, **bench_render_and_write(args, catalogue, work)}
        results.update(bench_end_to_end(args, catalogue, catalogue_dir, work))
    load_end = os.getloadavg()
    print(f"{args.samples} samples of {args.image_size}x{args.image_size}, part 1 (fg_bg), zarr shards of {args.zarr_shard_samples}; {_cpu_model()}, "
          f"load {'/'.join(f'{x:.1f}' for x in load_start)} at start, {'/'.join(f'{x:.1f}' for x in load_end)} at end")
    print(f"  code version (git, source hashes) of a fresh process: {t_code:.2f} s, once per job")
    print(f"  render only, 1 thread            {results['render_only_sps']:8.2f} samples/s")
    print(f"  render only, 2 threads           {results['render_only_2_threads_sps']:8.2f} samples/s")
    print(f"  write only (compress + store)    {results['write_only_sps']:8.2f} samples/s  ({results['write_only_MBps_raw']:.1f} MB/s of raw frames)")
    for label in ("1 worker", "2 threads", "2 processes"):
        cpu = results[f"{label} cpu_s_per_sample"]
        print(f"  end to end, {label:<20} {results[label]:8.2f} samples/s  ({cpu:.2f} CPU s/sample, {results[label] * cpu:.2f} cores busy)")
    print(f"  parallel efficiency at 2 workers: threads {results['efficiency_2_threads']:.0%}, processes {results['efficiency_2_processes']:.0%}")
    print(f"  steady state (slope between {args.small} and {args.samples} samples) and fixed cost per shard:")
    for label in ("1 worker", "2 threads", "2 processes"):
        print(f"    {label:<20} {results[f'{label} steady_sps']:8.2f} samples/s  fixed {results[f'{label} fixed_s']:5.2f} s")
    print(f"  steady-state efficiency at 2 workers: threads {results['steady_efficiency_2_threads']:.0%}, "
          f"processes {results['steady_efficiency_2_processes']:.0%} (per repeat: threads "
          f"{', '.join(f'{x:.0%}' for x in results['steady_efficiency_2_threads_per_repeat'])}; processes "
          f"{', '.join(f'{x:.0%}' for x in results['steady_efficiency_2_processes_per_repeat'])})")
    print(f"  bytes per sample on disk: {results['disk_bytes_per_sample'] / 1e6:.3f} MB (raw frames {results['raw_bytes_per_sample'] / 1e6:.3f} MB)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

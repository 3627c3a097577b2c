"""Benchmark video magnification: frames/s per mode and frame size, and FIR peak memory vs clip length.

Usage:
    python benchmarks/bench_magnify.py                       # both parts, defaults below
    python benchmarks/bench_magnify.py --speed --sizes 640x480 1280x720 --frames 4
    python benchmarks/bench_magnify.py --memory --memory-frames 60 600 --memory-size 64

Speed runs the network (official architecture; the weights do not change the speed) on in-memory
random frames through :func:`mmtrain.magnify.pipeline.magnify_frames`, so video decoding and encoding are not
counted. Memory runs the whole FIR temporal mode on a synthetic clip in a fresh process per clip length
and reports that process's peak resident memory, next to the size the shape/texture representations
would take if they were held in memory instead of spilled to Zarr.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

MODES = {
    "static": dict(mode="static"),
    "dynamic": dict(mode="dynamic"),
    "temporal-fir": dict(mode="temporal", filter="fir", band=(1.0, 4.0)),
    "temporal-butter": dict(mode="temporal", filter="butter", band=(1.0, 4.0)),
    "temporal-diff-iir": dict(mode="temporal", filter="diff-iir", band=(1.0, 4.0)),
}


def bench_speed(sizes: list[str], n_frames: int, batch: int, device: str) -> list[dict]:
    from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames, select_device
    from mmtrain.model.network import make_model

    dev = select_device(device)
    model = make_model("official").to(dev).eval()
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        width, height = (int(v) for v in size.split("x"))
        frames = rng.integers(0, 256, size=(n_frames, height, width, 3), dtype=np.uint8)
        for name, kwargs in MODES.items():
            settings = MagnifySettings(alpha=10.0, batch=batch, allow_leaky_fir=True,  # speed only: a few frames
                                       **kwargs).resolve(30.0, n_frames)
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                count = sum(len(b) for b in magnify_frames(
                    model, (frames[i:i + batch] for i in range(0, n_frames, batch)), settings,
                    n_frames=n_frames, device=dev, work_dir=tmp))
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - start
            row = dict(size=size, mode=name, frames=count, seconds=round(seconds, 2),
                       fps=round(count / seconds, 3), device=str(dev), threads=torch.get_num_threads())
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def _fir_child(n_frames: int, size: int, memory_mb: float) -> None:
    """Run the FIR mode on a synthetic clip; print the peak RSS (MiB) of this process as JSON."""
    from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames
    from mmtrain.model.network import make_model

    model = make_model("official").eval()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    settings = MagnifySettings(alpha=10.0, mode="temporal", filter="fir", band=(1.0, 4.0), batch=4,
                               fir_memory_mb=memory_mb, allow_leaky_fir=True).resolve(30.0, n_frames)

    def batches():
        for start in range(0, n_frames, 4):
            yield np.stack([np.roll(base, t % 3, axis=1) for t in range(start, min(start + 4, n_frames))])

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        count = sum(len(b) for b in magnify_frames(model, batches(), settings, n_frames=n_frames, work_dir=tmp))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    per_frame = 32 * (size // 2) ** 2 * 4 + 32 * (size // 4) ** 2 * 4  # shape + texture, float32
    print(json.dumps(dict(frames=count, size=size, peak_rss_mib=round(peak, 1),
                          representations_in_memory_mib=round(count * per_frame / 2**20, 1),
                          seconds=round(time.perf_counter() - start, 1))))


def bench_memory(frame_counts: list[int], size: int, memory_mb: float) -> list[dict]:
    rows = []
    for n in frame_counts:
        out = subprocess.run([sys.executable, __file__, "--fir-child", str(n), str(size), str(memory_mb)],
                             check=True, capture_output=True, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true", help="only the frames/s part")
    parser.add_argument("--memory", action="store_true", help="only the FIR peak-memory part")
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1280x720"])
    parser.add_argument("--frames", type=int, default=4, help="frames per speed run")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--memory-frames", type=int, nargs="+", default=[60, 600])
    parser.add_argument("--memory-size", type=int, default=64, help="square frame side of the memory runs")
    parser.add_argument("--fir-memory-mb", type=float, default=64.0)
    parser.add_argument("--fir-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fir_child:
        _fir_child(int(args.fir_child[0]), int(args.fir_child[1]), float(args.fir_child[2]))
        return
    both = not (args.speed or args.memory)
    if args.speed or both:
        bench_speed(args.sizes, args.frames, args.batch, args.device)
    if args.memory or both:
        bench_memory(args.memory_frames, args.memory_size, args.fir_memory_mb)


if __name__ == "__main__":
    main()

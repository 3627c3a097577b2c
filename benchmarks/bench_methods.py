"""Benchmark the magnification methods on video: seconds per frame, and phase-based memory vs clip length.

Usage:
    python benchmarks/bench_methods.py                                  # both parts, defaults below
    python benchmarks/bench_methods.py --speed --size 640x480 --frames 3
    python benchmarks/bench_methods.py --memory --memory-frames 30 120 --memory-size 160x120

Speed runs each method through :func:`mmtrain.magnify.api.magnify_batches` on in-memory random frames
(no video decoding or encoding): the network (official architecture, random weights: the weights do
not change the speed) in static mode, the phase-based method (8 orientations) in static and
Butterworth temporal mode, and linear Eulerian magnification. Memory runs the streaming phase-based
method (Butterworth) in a fresh process per clip length and reports the process's peak resident
memory, next to what holding every frame's pyramid would take (the whole-clip implementation).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

RUNS = {
    "network-static": dict(method="network", mode="static"),
    "phase-based-static": dict(method="phase-based", mode="static"),
    "phase-based-butter": dict(method="phase-based", mode="temporal", filter="butter", band=(1.0, 4.0)),
    "linear-butter": dict(method="linear", mode="temporal", filter="butter", band=(1.0, 4.0)),
}


def _run(name: str, frames: np.ndarray, batch: int, device: str) -> float:
    from mmtrain.magnify.api import load_for, magnify_batches
    from mmtrain.magnify.pipeline import MagnifySettings, select_device
    from mmtrain.model.network import make_model

    dev = select_device(device)
    settings = MagnifySettings(alpha=10.0, batch=batch, **RUNS[name]).resolve(30.0, len(frames))
    model = load_for(settings, make_model("official"), device=dev)
    start = time.perf_counter()
    count = sum(len(b) for b in magnify_batches(model, (frames[i:i + batch] for i in range(0, len(frames), batch)),
                                                settings, n_frames=len(frames), device=dev))
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / count


def bench_speed(size: str, n_frames: int, batch: int, device: str) -> list[dict]:
    width, height = (int(v) for v in size.split("x"))
    frames = np.random.default_rng(0).integers(0, 256, size=(n_frames, height, width, 3), dtype=np.uint8)
    rows = []
    for name in RUNS:
        row = dict(size=size, method=name, frames=n_frames, seconds_per_frame=round(_run(name, frames, batch, device), 3),
                   threads=torch.get_num_threads())
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def _memory_child(n_frames: int, size: str) -> None:
    """Stream the phase-based method over a synthetic moving clip; print peak RSS (MiB) as JSON."""
    from pyrtools.pyramids import SteerablePyramidFreq

    from mmtrain.classical.phase_frames import phase_based_frames
    from mmtrain.magnify.pipeline import MagnifySettings

    width, height = (int(v) for v in size.split("x"))
    base = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    settings = MagnifySettings(alpha=10.0, method="phase-based", mode="temporal", filter="butter",
                               band=(1.0, 4.0), batch=4).resolve(30.0, n_frames)

    def batches():
        for start in range(0, n_frames, 4):
            yield np.stack([np.roll(base, t % 3, axis=1) for t in range(start, min(start + 4, n_frames))])

    start = time.perf_counter()
    count = sum(len(b) for b in phase_based_frames(batches(), settings))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    pyr = SteerablePyramidFreq(base[..., 0].astype(float), height="auto", order=7, is_complex=True)
    per_frame = 3 * sum(c.nbytes for c in pyr.pyr_coeffs.values())
    print(json.dumps(dict(frames=count, size=size, peak_rss_mib=round(peak, 1),
                          all_pyramids_in_memory_mib=round(count * per_frame / 2**20, 1),
                          seconds=round(time.perf_counter() - start, 1))))


def bench_memory(frame_counts: list[int], size: str) -> list[dict]:
    rows = []
    for n in frame_counts:
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(n), size],
                             check=True, capture_output=True, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true", help="only the seconds-per-frame part")
    parser.add_argument("--memory", action="store_true", help="only the phase-based peak-memory part")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames", type=int, default=3, help="frames per speed run")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--memory-frames", type=int, nargs="+", default=[30, 120])
    parser.add_argument("--memory-size", default="160x120")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        _memory_child(int(args.memory_child[0]), args.memory_child[1])
        return
    both = not (args.speed or args.memory)
    if args.speed or both:
        bench_speed(args.size, args.frames, args.batch, args.device)
    if args.memory or both:
        bench_memory(args.memory_frames, args.memory_size)


if __name__ == "__main__":
    main()

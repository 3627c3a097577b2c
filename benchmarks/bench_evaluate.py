"""Evaluation speed: seconds per case of each method, and of rendering a case with its clip.

Runs in one process with every numeric library limited to one thread, so the figures are per core.
Prints wall-clock and CPU seconds per case (they agree on an idle machine; on a shared one the CPU
figure is the per-core cost). Use it to plan the ``paper`` size (tens of thousands of cases).
Usage::

    python benchmarks/bench_evaluate.py [--size 96] [--cases 3] [--weights weights.npz]

Random textured clips stand in for rendered cases for the methods; rendering is timed on a small
in-memory catalogue of scikit-image photographs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96, help="frame side in pixels (default 96, the quick size)")
    parser.add_argument("--cases", type=int, default=3, help="cases timed per method (default 3)")
    parser.add_argument("--weights", help="a checkpoint or the authors' weights.npz to time the network too")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from skimage import data, transform

    from mmdata.config import load_config
    from mmdata.sources.base import InMemoryCatalogue
    from mmdata.spec import DatasetSpec
    from mmtrain.evaluate.baselines import PhaseBasedConfig
    from mmtrain.evaluate.cases import EvalSpec, build_cases
    from mmtrain.evaluate.methods import PhaseBased, load_network
    from mmtrain.evaluate.sets import render_video
    from mmdata.render.composite import render_sample

    rng = np.random.default_rng(0)
    clip = (rng.random((30, args.size, args.size, 3)) * 255).astype(np.uint8)
    pair = {"frame_a": clip[0], "frame_b": clip[1], "frame_y": clip[2]}
    rows = [("phase_based", _timed(lambda: PhaseBased(PhaseBasedConfig())(pair, clip, 20.0), args.cases))]
    if args.weights:
        net = load_network(f"network={args.weights}")
        rows.append(("network", _timed(lambda: net(pair, None, 20.0), args.cases)))

    backgrounds = {n: transform.rescale(getattr(data, n)(), 0.5, channel_axis=-1).astype(np.float32) * 255
                   for n in ("astronaut", "coffee")}
    yy, xx = np.mgrid[:48, :48]
    mask = ((((yy - 23.5) / 23) ** 2 + ((xx - 23.5) / 17) ** 2) <= 1).astype(np.float32)
    catalogue = InMemoryCatalogue(backgrounds, {"obj": (data.rocket()[100:148, 100:148].astype(np.float32), mask)})
    size = {"image_size": args.size, "samples": 1, "subpixel_motions": [0.1], "noise_factors": [1.0],
            "magnification_alphas": [10.0], "input_motions": [2.0], "store_videos": True}
    cfg = load_config(overrides={"evaluate": {"sizes": {"bench": size}}, "dataset": {"image_size": args.size}})
    ev, ds = EvalSpec.from_config(cfg, "bench"), DatasetSpec.from_config(cfg)
    case = build_cases("subpixel", ev, ds, catalogue)[0]
    rows.append(("render pair", _timed(lambda: render_sample(case.params, catalogue, ds), args.cases)))
    rows.append(("render clip", _timed(lambda: render_video(case.params, catalogue, ds, ev.video), args.cases)))

    print(f"{args.size} x {args.size} px, one thread")
    print(f"{'':<14}{'wall s/case':>12}{'CPU s/case':>12}")
    for name, (wall, cpu) in rows:
        print(f"{name:<14}{wall:>12.3f}{cpu:>12.3f}")


if __name__ == "__main__":
    main()

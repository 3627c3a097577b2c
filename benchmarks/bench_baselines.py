"""The classical baselines in numpy and in torch on the same evaluation case: seconds per case, and how far apart.

One evaluation case is a 30-frame clip (the paper's 30-tap FIR, 0.5-7.5 Hz at 30 fps) of which frame 0
is magnified; here a smooth random texture translated by a 3 Hz sinusoid of 0.1 px, alpha 100 (10 px
magnified motion, as in the subpixel test). Every numeric library is limited to ``--threads`` threads
(default 1: the evaluation's shards run one thread each, so the figure is the per-core cost).
Prints wall-clock and CPU seconds per case (after one warm-up call; on a shared machine the CPU
figure is the cost) and the largest difference between the two outputs, in 0-255 pixel units,
before and after rounding to uint8. Usage::

    python benchmarks/bench_baselines.py [--sizes 96 384] [--cases 3] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # thread limits must be set before numpy / torch load their libraries
    _threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import torch  # noqa: E402


def _clip(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    tex = scipy.ndimage.gaussian_filter(rng.random((size, size, 3)) * 255, (1.0, 1.0, 0))
    kx = np.fft.fftfreq(size)[None, :, None]
    shifts = 0.1 * np.cos(2 * np.pi * 3.0 * np.arange(30) / 30.0)
    spec = np.fft.fft2(tex, axes=(0, 1))
    frames = [np.real(np.fft.ifft2(spec * np.exp(-2j * np.pi * kx * d), axes=(0, 1))) for d in shifts]
    return np.clip(np.rint(np.stack(frames)), 0, 255).astype(np.uint8)


def _timed(fn, cases: int, device: str) -> tuple[float, float, np.ndarray]:
    out = fn()  # warm-up (filters built and cached, kernels loaded)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(cases):
        out = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - wall) / cases, (time.process_time() - cpu) / cases, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 384], help="frame sides (default 96 384: quick, paper)")
    parser.add_argument("--cases", type=int, default=3, help="cases timed per method and size (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="threads of numpy and torch (default 1)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from mmtrain.classical.linear import linear_magnify
    from mmtrain.classical.phase import PhaseBasedConfig, phase_based_magnify
    from mmtrain.classical.phase_torch import linear_magnify_torch, phase_based_magnify_torch

    config = PhaseBasedConfig()
    methods = {"phase_based": (phase_based_magnify, phase_based_magnify_torch), "linear": (linear_magnify, linear_magnify_torch)}
    print(f"{args.threads} thread(s), torch on {args.device}, {args.cases} case(s) each, alpha 100, 30 frames")
    print("| method | size | numpy wall s | torch wall s | numpy CPU s | torch CPU s | numpy / torch (CPU) "
          "| max abs diff (float) | max abs diff (uint8) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        clip = _clip(size)
        for name, (np_fn, torch_fn) in methods.items():
            w_np, c_np, out_np = _timed(lambda f=np_fn, c=clip: f(c, 100.0, config, frames=[0]), args.cases, "cpu")
            w_t, c_t, out_torch = _timed(lambda f=torch_fn, c=clip: f(c, 100.0, config, frames=[0], device=args.device),
                                         args.cases, args.device)
            as_u8 = [np.clip(np.rint(o), 0, 255).astype(np.int16) for o in (out_np, out_torch)]
            print(f"| {name} | {size} | {w_np:.3f} | {w_t:.3f} | {c_np:.3f} | {c_t:.3f} | {c_np / c_t:.2f} | "
                  f"{np.abs(out_np - out_torch).max():.2e} | {np.abs(as_u8[0] - as_u8[1]).max()} |", flush=True)


if __name__ == "__main__":
    main()

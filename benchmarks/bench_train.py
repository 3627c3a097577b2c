"""Benchmark the training step against the previous release, and bf16 autocast's effect on a short training.

Usage::

    python benchmarks/bench_train.py --baseline v0.1                 # step time, official preset, 384², batch 4
    python benchmarks/bench_train.py --preset paper --crop 256 --rounds 3
    python benchmarks/bench_train.py --bf16-steps 40                 # only the fp32 vs bf16 short training

Step time: one full optimizer step (the loss's encoder passes, decoder, backward, Adam) on random
frames, the previous release's code and the current one in alternating rounds of child processes
(``benchmarks/_baseline.py``), each child timing ``--steps`` steps after a warm-up step; ratios are
medians of per-round ratios. The current code runs as ``mmtrain train`` does by default on CPU
(channels_last, one encoder call per frame kind); the previous one as it did (NCHW on CPU, one joint
encoder call). On CUDA the same children run with ``--device cuda``.

bf16: the same short training (``--bf16-steps`` steps, 64² crops of a synthetic textured scene moved by
whole pixels, paper preset) in float32 and under bfloat16 autocast, from the same initial weights;
prints both loss curves' start, end and their mean absolute difference (``--crop`` sets the crop; 64 when
left at 384).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _baseline as bl  # noqa: E402


def _random_batch(batch: int, size: int, device):
    import torch

    gen = torch.Generator().manual_seed(0)
    frames = {k: (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
              for k in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed")}
    return {**frames, "alpha": torch.full((batch,), 10.0, device=device)}


def _step_fn(preset: str, batch: dict, device, precision: str = "fp32"):
    """One optimizer step as the checkout's training loop runs it on ``device``."""
    import torch

    from mmtrain.model.network import make_model
    from mmtrain.train.losses import LossConfig, MagnificationLoss

    torch.manual_seed(0)
    model = make_model(preset).to(device)
    try:  # the current release: channels_last on CPU too, mmtrain.model.runtime
        from mmtrain.model.runtime import autocast, to_channels_last

        model.to(memory_format=torch.channels_last)
        batch = {k: to_channels_last(v) for k, v in batch.items()}
        context = lambda: autocast(device, precision)  # noqa: E731
        try:  # as the training loop does on CPU (later releases)
            from mmtrain.model.runtime import retain_freed_memory

            if device.type == "cpu":
                retain_freed_memory()
        except ImportError:
            pass
    except ImportError:  # the previous release: channels_last on CUDA only, fp32 on CPU
        if device.type == "cuda":
            model.to(memory_format=torch.channels_last)
            batch = {k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v for k, v in batch.items()}
        context = lambda: torch.autocast(device.type, enabled=False)  # noqa: E731
    crit = MagnificationLoss(model, LossConfig.from_preset(preset))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> float:
        with context():
            total, _ = crit(batch)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return float(total)

    return step


def _train_child(preset: str, crop: int, batch: int, steps: int, device_name: str) -> None:
    import torch

    device = torch.device(device_name)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    step = _step_fn(preset, _random_batch(batch, crop, device), device)
    step()  # warm-up
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    sync()
    print(json.dumps(dict(s_per_step=(time.perf_counter() - wall) / steps,
                          cpu_s_per_step=(time.process_time() - cpu) / steps, threads=torch.get_num_threads())))


def bench_step(args: argparse.Namespace, old: Path, device: str) -> None:
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for key, src in (("old", old), ("new", bl.REPO)):
            runs[key].append(bl.child(__file__, src, "train", args.preset, args.crop, args.batch, args.steps, device))
    rows = []
    for field, label in (("s_per_step", "s/step"), ("cpu_s_per_step", "CPU s/step")):
        old_t, new_t = ([r[field] for r in runs[k]] for k in ("old", "new"))
        rows.append((f"train step {args.preset} {args.crop}² batch {args.batch} on {device}, {label}",
                     f"{statistics.median(old_t):.2f}", f"{statistics.median(new_t):.2f}",
                     f"{bl.median_ratio(new_t, old_t):.2f}"))
    bl.table(rows, f"Training step, {args.rounds} rounds x {args.steps} steps")


def _shift_batches(n_steps: int, batch: int, size: int):
    """Whole-pixel magnification examples of a smooth random texture: A, B = A moved d, Y = A moved alpha*d."""
    import numpy as np
    import torch
    from scipy import ndimage

    rng = np.random.default_rng(0)
    for _ in range(n_steps):
        frames: dict[str, list] = {k: [] for k in ("frame_a", "frame_b", "frame_y_perturbed")}
        alphas = []
        for _ in range(batch):
            tex = ndimage.gaussian_filter(rng.random((size + 64, size + 64, 3)), (2, 2, 0))
            tex = (tex - tex.mean()) / (tex.std() + 1e-6) * 0.4
            d = rng.integers(-2, 3, size=2)
            alpha = int(rng.integers(2, 8))
            for key, k in (("frame_a", 0), ("frame_b", 1), ("frame_y_perturbed", alpha)):
                y0, x0 = 32 + k * d[0] // 2, 32 + k * d[1] // 2
                frames[key].append(np.clip(tex[y0:y0 + size, x0:x0 + size], -1, 1))
            alphas.append(alpha)
        out = {k: torch.from_numpy(np.stack(v)).permute(0, 3, 1, 2).float() for k, v in frames.items()}
        out["frame_b_perturbed"] = out["frame_b"]
        yield {**out, "alpha": torch.tensor(alphas, dtype=torch.float32)}


def bench_bf16(n_steps: int, crop: int) -> None:
    """The same short CPU training in fp32 and bf16 autocast; loss curves compared."""
    import torch

    from mmtrain.model.network import make_model
    from mmtrain.model.runtime import autocast, to_channels_last
    from mmtrain.train.losses import LossConfig, MagnificationLoss

    curves = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = make_model("paper").to(memory_format=torch.channels_last)
        crit = MagnificationLoss(model, LossConfig.from_preset("paper"))
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        losses, start = [], time.perf_counter()
        for batch in _shift_batches(n_steps, 4, crop):
            with autocast(torch.device("cpu"), precision):
                total, _ = crit({k: to_channels_last(v) for k, v in batch.items()})
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            losses.append(float(total.detach()))
        curves[precision] = (losses, time.perf_counter() - start)
    (f32, t32), (b16, tb) = curves["fp32"], curves["bf16"]
    tail = max(1, n_steps // 4)
    rows = [(f"loss at step 1 / {n_steps}", f"{f32[0]:.4f} / {f32[-1]:.4f}", f"{b16[0]:.4f} / {b16[-1]:.4f}", ""),
            (f"mean loss of the last {tail} steps", f"{statistics.mean(f32[-tail:]):.4f}",
             f"{statistics.mean(b16[-tail:]):.4f}",
             f"{statistics.mean(b16[-tail:]) / statistics.mean(f32[-tail:]):.3f}"),
            ("mean |loss bf16 - loss fp32| per step", "", f"{statistics.mean(abs(a - b) for a, b in zip(f32, b16)):.4f}",
             ""),
            ("seconds (whole run)", f"{t32:.1f}", f"{tb:.1f}", f"{tb / t32:.2f}")]
    print(f"\nShort CPU training, paper preset, {crop}² batch 4 (load {bl.load()})\n")
    print("| figure | fp32 | bf16 autocast | bf16 / fp32 |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="main", help="git ref of the previous release (default: main)")
    parser.add_argument("--preset", choices=["paper", "official"], default="official")
    parser.add_argument("--crop", type=int, default=384, help="training crop side (default 384)")
    parser.add_argument("--batch", type=int, default=4, help="training batch (default 4)")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per child after a warm-up (default 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bf16-steps", type=int, default=0, help="only the fp32 vs bf16 short training")
    parser.add_argument("--cuda", action="store_true", help="also time the step on CUDA")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _, preset, crop, batch, steps, device = args.child
        _train_child(preset, int(crop), int(batch), int(steps), device)
        return
    if args.bf16_steps:
        bench_bf16(args.bf16_steps, args.crop if args.crop != 384 else 64)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        old = bl.unpack(args.baseline, Path(tmp))
        bench_step(args, old, "cpu")
        if args.cuda:
            bench_step(args, old, "cuda")


if __name__ == "__main__":
    main()

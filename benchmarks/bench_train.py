"""Network speed: training throughput and peak memory, inference latency per frame pair.

Measures, on CPU (and on CUDA when present, with and without float16 mixed precision):

- training: samples/s of full optimizer steps (paper loss: 4 encoder passes, decoder, backward, Adam)
  at ``--crop`` x ``--crop`` (default 384, the paper's size) and ``--batch`` (default 4), and the peak
  resident memory (CPU: ru_maxrss of this process; CUDA: torch.cuda.max_memory_allocated);
- inference: seconds per frame pair (encode A and B, manipulate, decode) at 384x384 and 1280x720.

Prints wall-clock and CPU seconds (they agree on an idle machine; on a shared machine the CPU figure is
closer to the real cost). Usage::

    python benchmarks/bench_train.py [--preset paper] [--threads 2] [--steps 2] [--repeats 2] [--cpu-only]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Callable

import torch


def _timed(fn: Callable[[], object], repeats: int, sync: Callable[[], None]) -> tuple[float, float]:
    fn()  # warm-up (allocations, kernel selection)
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    sync()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def _batch(batch: int, size: int, device: torch.device, gen: torch.Generator) -> dict[str, torch.Tensor]:
    frames = {k: (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
              for k in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed")}
    return {**frames, "alpha": torch.full((batch,), 10.0, device=device)}


def bench_device(device: torch.device, args: argparse.Namespace, amp: bool) -> None:
    """Print training and inference figures for one device / precision."""
    from mmtrain.train.losses import LossConfig, MagnificationLoss
    from mmtrain.model.network import make_model

    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = make_model(args.preset).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats()
    crit = MagnificationLoss(model, LossConfig.preset(args.preset))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and amp)
    batch = _batch(args.batch, args.crop, device, gen)

    def step() -> None:
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=cuda and amp):
            loss, _ = crit(batch)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    wall, cpu = _timed(step, args.steps, sync)
    peak = (torch.cuda.max_memory_allocated() / 2**20) if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tag = f"{device.type}{' amp' if cuda and amp else ''}"
    name = torch.cuda.get_device_name(device) if cuda else f"{torch.get_num_threads()} threads"
    print(f"[{tag}, {name}] train {args.preset} {args.crop}x{args.crop} batch {args.batch}: "
          f"{args.batch / wall:.2f} samples/s wall, {args.batch / cpu:.2f} per CPU-s; peak memory {peak:.0f} MiB")
    model.eval()
    for h, w in ((384, 384), (720, 1280)):
        x_a = (torch.rand(1, 3, h, w, generator=gen) * 2 - 1).to(device)
        x_b = (torch.rand(1, 3, h, w, generator=gen) * 2 - 1).to(device)

        def infer() -> None:
            with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.float16, enabled=cuda and amp):
                model(x_a, x_b, 10.0)

        wall, cpu = _timed(infer, args.repeats, sync)
        print(f"[{tag}, {name}] inference {w}x{h}: {wall * 1000:.0f} ms per pair wall ({cpu * 1000:.0f} ms CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=["paper", "official"], default="paper")
    parser.add_argument("--crop", type=int, default=384, help="training crop side (default 384)")
    parser.add_argument("--batch", type=int, default=4, help="training batch (default 4)")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps after one warm-up (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="timed inference passes (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="CPU intra-op threads (default: torch's)")
    parser.add_argument("--cpu-only", action="store_true", help="skip CUDA even if available")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench_device(torch.device("cpu"), args, amp=False)
    if torch.cuda.is_available() and not args.cpu_only:
        for amp in (False, True):
            bench_device(torch.device("cuda"), args, amp)


if __name__ == "__main__":
    main()

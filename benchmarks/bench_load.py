"""Steadiness under load: per-frame and per-step wall time on a quiet machine and beside busy processes.

    python benchmarks/bench_load.py [--frames 4] [--steps 2] [--size 320 176] [--busy N]

Each case runs in a fresh child process (so the OpenMP runtime reads its wait policy at start-up): the
network's inference on a frame pair (the reference model, ``--size`` W H) and one training step
(batch 4, 96 px crops), first on the quiet machine, then with ``--busy`` competing CPU-bound processes
(default: one per core the job may use) that the benchmark starts itself, with the OpenMP wait policy
unset (the runtime's default: spin a while, then sleep; what ``mmtrain`` ran with before), ``ACTIVE``
(spin) and ``PASSIVE`` (sleep at once, what ``mmtrain`` sets unless the user chose one); then the inference case through
each installed exported runtime (``--backend openvino|onnxruntime``, their own thread pools). Prints wall seconds, the loaded/quiet ratio for each, the CPU model and
the load average. A ratio near 1 + busy/cores is fair sharing; far above it, threads spin while their
partners wait for a core.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import torch
from mmtrain.model.checkpoint import load_model
from mmtrain.model.registry import resolve_weights
from mmtrain.model.runtime import configure_threads
w, h, frames, steps = (int(v) for v in sys.argv[1:5])
configure_threads()
model = load_model(resolve_weights("motionmag-cpu-ref")).eval()
g = torch.Generator().manual_seed(0)
a, b = torch.rand(1, 3, h, w, generator=g) * 2 - 1, torch.rand(1, 3, h, w, generator=g) * 2 - 1
with torch.inference_mode():
    model(a, b, 10.0)  # warm-up
    t = time.perf_counter()
    for _ in range(frames):
        model(a, b, 10.0)
    frame = (time.perf_counter() - t) / frames
model.train()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
x = torch.rand(4, 3, 96, 96, generator=g) * 2 - 1
def step():
    opt.zero_grad()
    loss = (model(x, x, 2.0) - x).abs().mean()
    loss.backward()
    opt.step()
step()
t = time.perf_counter()
for _ in range(steps):
    step()
print(json.dumps({"frame_s": frame, "step_s": (time.perf_counter() - t) / steps}))
"""

#: The same frame through an exported runtime (``mmtrain magnify --backend RUNTIME``); argv[5] names it.
CHILD_EXPORTED = r"""
import json, sys, time
import torch
from mmtrain.model.checkpoint import load_model
from mmtrain.model.exported import ExportedNet
from mmtrain.model.registry import resolve_weights
from mmtrain.model.runtime import available_cpus
w, h, frames = (int(v) for v in sys.argv[1:4])
model = load_model(resolve_weights("motionmag-cpu-ref")).eval()
net = ExportedNet(model, runtime=sys.argv[5], threads=available_cpus())
g = torch.Generator().manual_seed(0)
a, b = torch.rand(1, 3, h, w, generator=g) * 2 - 1, torch.rand(1, 3, h, w, generator=g) * 2 - 1
def frame():
    _, shape_a = net.encode(a)
    texture, shape_b = net.encode(b)
    return net.decode(texture, net.manipulate(shape_a, shape_b, 10.0))
frame()  # export, compile, warm-up
t = time.perf_counter()
for _ in range(frames):
    frame()
print(json.dumps({"frame_s": (time.perf_counter() - t) / frames}))
"""


def _busy(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x += 1


def _child(policy: str, args: argparse.Namespace, runtime: str = "") -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}  # "unset": the runtime's default
    if policy != "unset":
        env["OMP_WAIT_POLICY"] = policy
    script, extra = (CHILD_EXPORTED, [runtime]) if runtime else (CHILD, [])
    out = subprocess.run([sys.executable, "-c", script, *map(str, (*args.size, args.frames, args.steps)), *extra], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loaded(policy: str, args: argparse.Namespace, runtime: str = "") -> dict[str, float]:
    stop_at = time.time() + 3600
    procs = [multiprocessing.Process(target=_busy, args=(stop_at,), daemon=True) for _ in range(args.busy)]
    for p in procs:
        p.start()
    try:
        return _child(policy, args, runtime)
    finally:
        for p in procs:
            p.terminate()
            p.join()


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    cores = len(os.sched_getaffinity(0))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--frames", type=int, default=4, help="inference calls timed per case")
    p.add_argument("--steps", type=int, default=2, help="training steps timed per case")
    p.add_argument("--size", type=int, nargs=2, default=[320, 176], metavar=("W", "H"), help="frame size of the inference case")
    p.add_argument("--busy", type=int, default=cores, help="competing CPU-bound processes in the loaded cases")
    args = p.parse_args(argv)
    print(f"{_cpu_model()}, {cores} cores usable, load {os.getloadavg()[0]:.2f} at start; {args.busy} busy process(es) when loaded")
    print(f"{'policy':8s} {'case':9s} {'quiet s':>8s} {'loaded s':>9s} {'ratio':>6s}")
    for policy in ("unset", "ACTIVE", "PASSIVE"):
        quiet, loaded = _child(policy, args), _loaded(policy, args)
        for key, name in (("frame_s", "frame"), ("step_s", "train step")):
            print(f"{policy:8s} {name:9s} {quiet[key]:8.3f} {loaded[key]:9.3f} {loaded[key] / quiet[key]:6.2f}")
    import importlib.util

    for runtime in ("openvino", "onnxruntime"):  # their own thread pools (TBB, ORT's): the policy does not apply
        if all(importlib.util.find_spec(m) for m in (runtime, "onnx")):
            quiet, loaded = _child("PASSIVE", args, runtime), _loaded("PASSIVE", args, runtime)
            print(f"{runtime[:8]:8s} {'frame':9s} {quiet['frame_s']:8.3f} {loaded['frame_s']:9.3f} "
                  f"{loaded['frame_s'] / quiet['frame_s']:6.2f}")
    print(f"load {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reference figures of one CUDA machine, in one run of a fixed wall-time budget, into one JSON file.

Usage::

    python benchmarks/gpu_reference.py                          # CUDA, 450 s, benchmarks/out/gpu_reference.json
    python benchmarks/gpu_reference.py --budget-s 300 --out /tmp/ref.json
    python benchmarks/gpu_reference.py --tiny                   # CPU smoke run (tiny sizes, well under a minute)
    python benchmarks/gpu_reference.py --tiny --device cuda --budget-s 120   # every CUDA code path, briefly

Phases, in order; each gets a share of the time left (by weight) and stops early when its share is spent,
and the JSON file is rewritten after every phase (and every configuration), so a killed run keeps what
it measured:

1. ``environment``: torch, CUDA and cuDNN versions, the device's name and memory, the git commit.
2. ``dataset``: a small dataset rendered as a user does (``mmdata sources build --kind builtin``,
   ``mmdata generate`` per shard, ``mmdata index``) into a temporary folder, at the training size.
3. ``train_step``: training steps/s at ``--batch`` x ``--train-size``² on random frames for fp32 / fp16
   autocast (GradScaler) / bf16 autocast x channels_last on/off x ``torch.compile`` on/off. Each step is
   ``mmtrain.train.loop._Run.train_step`` (the loss module, Adam, autocast and scaler of ``mmtrain train``)
   with the data loader replaced by one fixed random batch; warm-up steps excluded, peak CUDA memory per
   configuration. Compiled configurations run in a child process each (a time limit, a clean memory
   peak; a failure is recorded as an error string), the most useful first (channels_last, bf16, fp16).
4. ``loader``: a few dozen real training steps through the loader ``mmtrain train`` builds
   (``TrainingStream`` + ``make_loader``) on the rendered dataset, per worker count: the time each step
   waits for its batch vs. its compute time (synchronized: an upper bound of the GPU's idle time);
   ``starved`` when the mean wait exceeds 10% of the mean compute time.
5. ``inference``: frames/s at ``--infer-sizes`` in eval mode, fp32 and reduced precision, one frame per
   call: ``pipeline`` as ``mmtrain magnify`` runs a clip (``magnify_frames``, static mode: uint8 frames
   in and out, one encoder call per frame) and ``pair`` (device tensors: the encoder on the reference and
   the current frame, the manipulator with alpha 10, the decoder).
6. ``reference_training``: ``mmtrain.train.train`` for the time left, with the ``train`` section of
   ``--config`` (default: the first of ``config/reference-gpu.yaml``, ``config/reference.yaml`` that exists;
   else the ``--preset`` defaults at ``--train-size`` crops)
   on the rendered dataset: a first ``stop_after`` chunk measures the rate, a second one runs to the
   step the budget allows (so that ``train`` validates at its end); steps, steps/s, final losses.

Exit status: 0; 1 when a phase failed (its error is in the JSON; a configuration's failure, such as a
compile error, is a figure and not a failure); 2 when CUDA is asked for but absent, or the config does
not load.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import itertools
import json
import logging
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout this script sits in, whatever is installed

log = logging.getLogger("gpu_reference")

#: Share of the time left that each phase gets, by weight (the last phase takes all that is left).
WEIGHTS = {"dataset": 0.04, "train_step": 0.50, "loader": 0.07, "inference": 0.12, "reference_training": 0.27}
PRECISIONS = ("fp32", "fp16", "bf16")
#: Compiled configurations in the order they are tried (the most useful first: the budget may end).
#: The reference training's config, the first that exists (else the preset's defaults).
CONFIGS = (REPO / "config" / "reference-gpu.yaml", REPO / "config" / "reference.yaml")
COMPILE_ORDER = [(p, cl) for cl in (True, False) for p in ("bf16", "fp16", "fp32")]


@dataclass(frozen=True)
class Plan:
    """Every setting of the run, resolved once from the command line."""

    device: str  # "cuda", "cuda:1", "cpu"
    tiny: bool  # the CPU smoke sizes
    train_size: int  # side of the random training frames (train_step), multiple of 4
    batch: int  # samples per step (train_step)
    infer_sizes: tuple[tuple[int, int], ...]  # (width, height) of the inference frames
    section: dict  # the reference training's ``train`` section (plain data)
    section_source: str  # where it came from
    samples: int  # samples of the rendered dataset
    image_size: int  # side of the rendered frames
    warmup: int  # untimed steps (or frames) before timing
    min_steps: int  # timed steps (or frames) at least
    max_steps: int  # timed steps (or frames) at most
    timed_s: float  # timed seconds per configuration at most
    loader_workers: tuple[int, ...]  # DataLoader worker counts of the loader phase
    loader_steps: int  # timed steps per worker count at most
    reference_max_steps: int | None  # cap of the reference training (tiny), None = the budget decides


class Budget:
    """The run's wall time, shared out to the phases in order by weight."""

    def __init__(self, total_s: float, weights: dict[str, float]) -> None:
        self.t0, self.total, self.weights = time.perf_counter(), total_s, dict(weights)

    def left(self) -> float:
        return self.total - (time.perf_counter() - self.t0)

    def share(self, phase: str) -> float:
        """Seconds for ``phase``: the time left, split over it and the phases after it by weight."""
        w = self.weights.pop(phase)
        return max(0.0, self.left() * w / (w + sum(self.weights.values())))


class Report:
    """The JSON document, rewritten atomically at every :meth:`save`."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = path, data

    def save(self) -> None:
        from mmdata.fsutil import atomic_write_text

        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.data, indent=1, default=str) + "\n")


def _sync(device) -> Callable[[], None]:
    import torch

    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)


def _peak_mb(device) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None


def _reset_peak(device) -> None:
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _time_calls(call: Callable[[], Any], sync: Callable[[], None], plan: Plan, seconds: float) -> dict[str, float]:
    """``call`` timed: the first call alone, warm-up calls, then calls until ``seconds`` or ``plan.max_steps``."""
    t = time.perf_counter()
    call()
    sync()
    first = time.perf_counter() - t
    for _ in range(plan.warmup - 1):
        call()
    sync()
    t0, n = time.perf_counter(), 0
    while n < plan.min_steps or (n < plan.max_steps and time.perf_counter() - t0 < seconds):
        call()
        n += 1
    sync()
    elapsed = time.perf_counter() - t0
    return {"first_call_s": round(first, 3), "timed_calls": n, "s_per_call": elapsed / n, "per_s": n / elapsed}


# -- 1. environment and 2. dataset ----------------------------------------------------------------------


def environment(device) -> dict[str, Any]:
    import torch

    from mmtrain.model.runtime import available_cpus

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(REPO), *args], check=False, capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    env: dict[str, Any] = {
        "python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "device": str(device), "cpus": available_cpus(),
        "host_memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "git_commit": commit,
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None,
        "cudnn_benchmark": torch.backends.cudnn.benchmark, "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(device_name=torch.cuda.get_device_name(device), device_memory_gib=round(props.total_memory / 2**30, 1),
                   capability=f"{props.major}.{props.minor}", bf16_supported=torch.cuda.is_bf16_supported())
    else:
        env.update(device_name="cpu", device_memory_gib=None)
    return env


def render_dataset(root: Path, plan: Plan) -> dict[str, Any]:
    """A small dataset of all five parts, rendered and indexed with the ``mmdata`` CLI."""
    import yaml

    from mmdata.cli import main as mmdata
    from mmtrain.model.runtime import available_cpus

    t0 = time.perf_counter()
    shard = 4 if plan.tiny else 32
    per_part = [plan.samples // 2, *(plan.samples // 8,) * 4]  # half fg_bg, the rest evenly
    names = ("fg_bg", "bg_only", "blur_bg", "static", "fg_only")
    config = {"seed": 0, "dataset": {"image_size": plan.image_size, "shard_size": shard, "parts": dict(zip(names, per_part))},
              "store": {"pool": "threads"}}
    cfg_path, catalogue = root / "dataset.yaml", root / "catalogue"
    cfg_path.write_text(yaml.safe_dump(config))
    workers = str(min(8, available_cpus()))

    def cli(*args: str) -> None:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the summary's
            status = mmdata(["-q", *args])
        if status != 0:
            raise RuntimeError(f"mmdata {args[0]} failed (see the message above)")

    cli("sources", "build", "--kind", "builtin", "-o", str(catalogue), "--workers", workers)
    for part, count in enumerate(per_part, start=1):
        for k in range(-(-count // shard)):
            cli("generate", "--config", str(cfg_path), "--catalogue", str(catalogue), "--part", str(part),
                "--shard", str(k), "--root", str(root / "ds"), "--workers", workers)
    cli("index", "--root", str(root / "ds"))
    return {"root": str(root / "ds"), "samples": sum(per_part), "image_size": plan.image_size,
            "parts": dict(zip(names, per_part)), "seconds": round(time.perf_counter() - t0, 2)}


# -- 3. training steps/s ------------------------------------------------------------------------------


def _case_config(plan: Plan, precision: str, channels_last: bool, **changes: Any):
    """The TrainConfig of one case: the reference section at ``plan`` sizes, this precision and layout."""
    from mmtrain.train.loop import TrainConfig

    return TrainConfig.from_config(plan.section, batch_size=plan.batch, crop_size=plan.train_size, device=plan.device,
                                   precision="bf16" if precision == "bf16" else "fp32", amp=precision == "fp16",
                                   channels_last=channels_last, **changes)


def _random_batch(plan: Plan, pin: bool) -> dict:
    """One batch as the loader yields it: CPU frames (B, 3, S, S) in [-1, 1] (pinned for CUDA), alpha (B,)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    shape = (plan.batch, 3, plan.train_size, plan.train_size)
    batch = {k: torch.rand(shape, generator=gen) * 2 - 1
             for k in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed")}
    batch["alpha"] = torch.rand(plan.batch, generator=gen) * 19 + 1
    return {k: v.pin_memory() for k, v in batch.items()} if pin else batch


def train_case(plan: Plan, ds_root: str, case: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Steps/s of one configuration: ``_Run.train_step`` on a fixed random batch."""
    import mmdata
    from mmtrain.model.runtime import maybe_compile
    from mmtrain.train.loop import _Run
    from mmtrain.train.losses import MagnificationLoss

    with tempfile.TemporaryDirectory() as out:
        config = _case_config(plan, case["precision"], case["channels_last"], workers=0)
        run = _Run(config, mmdata.open_dataset(ds_root), Path(out), resume=False)
        _reset_peak(run.device)
        run.loader = itertools.repeat(_random_batch(plan, pin=run.cuda))
        if case["compile"]:
            run.crit = MagnificationLoss(maybe_compile(run.model, True), run.loss)
        scale = run.scaler.get_scale() if run.fp16 else None
        timing = _time_calls(run.train_step, _sync(run.device), plan, seconds)
        result = {"steps_per_s": timing["per_s"], "s_per_step": timing["s_per_call"], "timed_steps": timing["timed_calls"],
                  "warmup_steps": plan.warmup, "first_step_s": timing["first_call_s"], "peak_mem_mb": _peak_mb(run.device)}
        if scale is not None:  # float16 steps with inf/nan gradients are skipped (and halve the scale)
            result["skipped_steps"] = max(0, round(math.log2(scale / run.scaler.get_scale())))
        return result


def _child_case(plan: Plan, ds_root: str, case: dict[str, Any], seconds: float, timeout: float) -> dict[str, Any]:
    """:func:`train_case` in a child process of its own session, killed with its compile workers at ``timeout``."""
    spec = json.dumps({"plan": dataclasses.asdict(plan), "ds_root": ds_root, "case": case, "seconds": seconds})
    proc = subprocess.Popen([sys.executable, __file__, "--child", spec], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"did not finish within {timeout:.0f} s (compilation included)"}
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return {"error": f"child exited {proc.returncode}: {last}"}
    return json.loads(lines[-1])


def phase_train_step(plan: Plan, ds_root: str, seconds: float, report: Report) -> None:
    import torch

    device = torch.device(plan.device)
    cases = [{"precision": p, "channels_last": cl, "compile": c} for c in (False, True) for p in PRECISIONS
             for cl in (True, False)]
    section = report.data["train_step"] = {"preset": plan.section.get("preset", "paper"), "size": plan.train_size,
                                           "batch": plan.batch, "configs": cases}
    deadline = time.perf_counter() + seconds
    eager = [c for c in cases if not c["compile"]]
    compiled = sorted((c for c in cases if c["compile"]), key=lambda c: COMPILE_ORDER.index((c["precision"], c["channels_last"])))
    for i, case in enumerate(eager + compiled):
        left = deadline - time.perf_counter()
        if case["precision"] == "fp16" and device.type != "cuda":
            case.update(status="skipped", reason="fp16 autocast is CUDA only")
        elif case["compile"] and device.type != "cuda":
            case.update(status="skipped", reason="skipped on cpu")
        elif case["compile"] and left < 20:
            case.update(status="skipped", reason=f"phase budget spent ({left:.0f} s left)")
        else:
            log.info("train step: %s", _label(case))
            try:
                if case["compile"]:
                    result = _child_case(plan, ds_root, case, plan.timed_s, timeout=max(left, 20.0))
                else:
                    result = train_case(plan, ds_root, case, min(plan.timed_s, max(0.0, left / (len(eager) - i))))
            except Exception as exc:  # noqa: BLE001 (one configuration's failure is a figure, not a crash)
                result = {"error": _error(exc)}
            case.update(status="error" if "error" in result else "ok", **result)
        report.save()
    section["seconds"] = round(seconds - (deadline - time.perf_counter()), 2)


def _error(exc: BaseException, limit: int = 400) -> str:
    """An exception as one line: its type and the start of its message."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:limit]}"


def _label(case: dict[str, Any]) -> str:
    return (f"{case['precision']} {'channels_last' if case['channels_last'] else 'NCHW'}"
            f"{' compiled' if case['compile'] else ''}")


# -- 4. data-loader starvation --------------------------------------------------------------------------


class _TimedLoader:
    """The loader's iterator, remembering how long the last ``next`` waited."""

    def __init__(self, inner) -> None:
        self.inner, self.last = inner, 0.0

    def __iter__(self) -> _TimedLoader:
        return self

    def __next__(self):
        t = time.perf_counter()
        item = next(self.inner)
        self.last = time.perf_counter() - t
        return item


def loader_case(plan: Plan, ds_root: str, workers: int, seconds: float) -> dict[str, Any]:
    """Real training steps through ``mmtrain train``'s loader: the wait for each batch vs. the step's compute."""
    import mmdata
    from mmtrain.train.loop import TrainConfig, _Run

    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig.from_config(plan.section, device=plan.device, workers=workers)
        run = _Run(config, mmdata.open_dataset(ds_root), Path(out), resume=False)
        run.loader = loader = _TimedLoader(run.loader)
        sync, waits, computes = _sync(run.device), [], []
        t0 = time.perf_counter()
        for i in itertools.count():
            t = time.perf_counter()
            run.train_step()
            sync()
            wall = time.perf_counter() - t
            if i == 0:
                startup = loader.last  # worker start and the first reads
            elif i >= plan.warmup:
                waits.append(loader.last)
                computes.append(wall - loader.last)
            if len(waits) >= plan.loader_steps or (len(waits) >= plan.min_steps and time.perf_counter() - t0 > seconds):
                break
        del run, loader  # shuts the workers down
    wait, compute = statistics.mean(waits), statistics.mean(computes)
    return {"workers": workers, "batch": config.batch_size, "crop": config.crop_size, "steps": len(waits),
            "first_batch_s": round(startup, 3), "wait_mean_s": wait, "wait_max_s": max(waits), "compute_mean_s": compute,
            "wait_fraction": sum(waits) / (sum(waits) + sum(computes)), "starved": wait > 0.1 * compute}


def phase_loader(plan: Plan, ds_root: str, seconds: float, report: Report) -> None:
    runs = report.data["loader"] = {"runs": []}
    deadline = time.perf_counter() + seconds
    for i, workers in enumerate(plan.loader_workers):
        log.info("loader: %d workers", workers)
        share = max(0.0, (deadline - time.perf_counter()) / (len(plan.loader_workers) - i))
        try:
            runs["runs"].append(loader_case(plan, ds_root, workers, share))
        except Exception as exc:  # noqa: BLE001
            runs["runs"].append({"workers": workers, "error": _error(exc)})
        report.save()


# -- 5. inference ------------------------------------------------------------------------------------


def infer_case(plan: Plan, model, size: tuple[int, int], precision: str, kind: str, seconds: float) -> dict[str, Any]:
    """Frames/s of the network at one frame size: ``pipeline`` (magnify_frames) or ``pair`` (device tensors)."""
    import numpy as np
    import torch

    from mmtrain.magnify.pipeline import (
        MagnifySettings,
        frames_to_tensor,
        magnify_frames,
    )
    from mmtrain.model.runtime import autocast, to_channels_last

    device = torch.device(plan.device)
    width, height = size
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8) for _ in range(2)]
    _reset_peak(device)
    if kind == "pipeline":
        settings = MagnifySettings(alpha=10.0, mode="static", batch=1, precision=precision).resolve(30.0, 10**6)
        out = magnify_frames(model.eval(), itertools.cycle(frames), settings, n_frames=10**6, device=device)
        timing = _time_calls(lambda: next(out), _sync(device), plan, seconds)
        out.close()
    else:
        x_a, x_b = (to_channels_last(frames_to_tensor(f, device)) for f in frames)

        @torch.no_grad()
        def pair() -> torch.Tensor:
            with autocast(device, precision):
                (_, m_a), (v_b, m_b) = model.encode(x_a), model.encode(x_b)
                return model.decode(v_b, model.manipulate(m_a, m_b, 10.0))

        timing = _time_calls(pair, _sync(device), plan, seconds)
    return {"size": f"{width}x{height}", "precision": precision, "kind": kind, "frames_per_s": timing["per_s"],
            "timed_frames": timing["timed_calls"], "first_frame_s": timing["first_call_s"], "peak_mem_mb": _peak_mb(device)}


def phase_inference(plan: Plan, seconds: float, report: Report) -> None:
    import torch

    from mmtrain.model.network import MagNet
    from mmtrain.train.loop import TrainConfig

    device = torch.device(plan.device)
    precisions = PRECISIONS if device.type == "cuda" else ("fp32", "bf16")
    model = MagNet(TrainConfig.from_config(plan.section).model_config()).to(device).eval()
    cases = [(s, p, k) for s in plan.infer_sizes for p in precisions for k in ("pipeline", "pair")]
    results = report.data["inference"] = {"preset": model.config.preset, "batch": 1, "configs": []}
    deadline = time.perf_counter() + seconds
    for i, (size, precision, kind) in enumerate(cases):
        log.info("inference: %dx%d %s %s", *size, precision, kind)
        share = min(plan.timed_s, max(0.0, (deadline - time.perf_counter()) / (len(cases) - i)))
        try:
            results["configs"].append(infer_case(plan, model, size, precision, kind, share))
        except Exception as exc:  # noqa: BLE001 (e.g. out of memory at one size)
            results["configs"].append({"size": f"{size[0]}x{size[1]}", "precision": precision, "kind": kind,
                                       "error": _error(exc)})
        report.save()


# -- 6. reference training -----------------------------------------------------------------------------


def _metrics(out: Path) -> list[dict[str, Any]]:
    from mmtrain.train.loop import METRICS_NAME

    path = out / METRICS_NAME
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def phase_reference(plan: Plan, ds_root: str, seconds: float, report: Report, work: Path,
                    keep: Path | None = None) -> None:
    """``mmtrain.train.train`` in two ``stop_after`` chunks: one to measure the rate, one to the budget's end.

    With ``keep``, the final checkpoint and the metrics are copied there.
    """
    from mmtrain.train.loop import METRICS_NAME, TrainConfig, train

    config = TrainConfig.from_config(plan.section, device=plan.device)
    out, t0 = work / "reference", time.perf_counter()
    # the first chunk: about 15% of the share at the rate train_step measured for this configuration
    guess = [c["steps_per_s"] for c in report.data.get("train_step", {}).get("configs", []) if c.get("status") == "ok"
             and not c["compile"] and c["channels_last"] == config.channels_last and c["precision"] == _precision(config)]
    first_n = 2 if plan.tiny else max(10, int((guess[0] if guess else 1.0) * seconds * 0.15))
    first = train(config, ds_root, out, stop_after=first_n, progress=False)
    wall = time.perf_counter() - t0
    rates = [r["samples_per_s"] / config.batch_size for r in _metrics(out) if r["split"] == "train"]
    rate = statistics.median(rates) if rates else first["step"] / wall
    overhead = max(0.0, wall - first["step"] / rate)  # start-up, step-0 validation, checkpoint
    more = int(rate * (seconds - wall - overhead) * 0.9)
    if plan.reference_max_steps is not None:
        more = min(more, plan.reference_max_steps - first["step"])
    final = train(dataclasses.replace(config, steps=first["step"] + max(1, more)), ds_root, out, progress=False)
    wall = time.perf_counter() - t0
    metrics = _metrics(out)
    rates = [r["samples_per_s"] / config.batch_size for r in metrics if r["split"] == "train"]
    val = [r for r in metrics if r["split"] == "val"]
    report.data["reference_training"] = {
        "config_source": plan.section_source, "preset": config.preset, "batch": config.batch_size,
        "crop": config.crop_size, "precision": _precision(config), "channels_last": config.channels_last,
        "workers": config.workers, "lr": config.lr, "steps": final["step"], "seconds": round(wall, 2),
        "steps_per_s": final["step"] / wall, "steady_steps_per_s": statistics.median(rates) if rates else None,
        "train_loss": final["train"].get("total"), "train": final["train"],
        "val_start": val[0] if val else None, "val_loss": final["val"].get("total"), "val": final["val"]}
    if keep is not None:  # the trained model outlives the temporary folder
        from mmtrain.train.loop import CHECKPOINT_NAME

        keep.mkdir(parents=True, exist_ok=True)
        for name in (CHECKPOINT_NAME, METRICS_NAME):
            shutil.copy2(out / name, keep / name)
        report.data["reference_training"]["kept"] = str(keep)


def _precision(config) -> str:
    import torch

    fp16 = config.amp and config.precision == "fp32" and torch.device(config.device).type == "cuda"
    return "fp16" if fp16 else config.precision


# -- the run -----------------------------------------------------------------------------------------


def _section(args: argparse.Namespace) -> tuple[dict, str]:
    """The reference training's ``train`` section: the config file's, else the preset's defaults."""
    from mmdata.config import load_config

    if args.config:
        section = json.loads(json.dumps(dict(load_config(args.config)["train"]), default=list))
        source = str(args.config)
    else:
        section, source = {"crop_size": args.train_size}, f"{args.preset or 'paper'} preset defaults"
    if args.preset:
        section["preset"] = args.preset
    section.setdefault("preset", "paper")
    if args.tiny:  # a dataset of 8 samples; one CPU thread (tiny convolutions on a shared CPU: far faster)
        section.update(batch_size=2, crop_size=args.train_size, val_samples=2, workers=0, log_interval=1,
                       run_length=4, shuffle_buffer=8, checkpoint_interval=1000, threads=1)
    return section, source


def make_plan(args: argparse.Namespace) -> Plan:
    from mmtrain.train.loop import TrainConfig

    section, source = _section(args)
    ref = TrainConfig.from_config(section)  # the reference training's sizes decide the dataset's
    sizes = tuple(tuple(int(v) for v in s.lower().split("x")) for s in args.infer_sizes.split(","))
    tiny = {"warmup": 1, "min_steps": 2, "max_steps": 2, "timed_s": 0.0, "samples": 8, "loader_steps": 3,
            "loader_workers": (0, 1), "reference_max_steps": 4}
    full = {"warmup": 3, "min_steps": 5, "max_steps": 500, "timed_s": 4.0, "samples": ref.val_samples + 96,
            "loader_steps": 40, "loader_workers": tuple(sorted({0, 2, 4, ref.workers})), "reference_max_steps": None}
    return Plan(device=args.device, tiny=args.tiny, train_size=args.train_size, batch=args.batch, infer_sizes=sizes,
                section=section, section_source=source, image_size=max(args.train_size, ref.crop_size or 0),
                **(tiny if args.tiny else full))


def _run_phase(name: str, report: Report, budget: Budget, fn: Callable[[float], None]) -> bool:
    share = budget.share(name)
    log.info("phase %s: %.0f s", name, share)
    t0, ok = time.perf_counter(), True
    try:
        fn(share)
    except Exception as exc:
        log.exception("phase %s failed", name)
        report.data.setdefault(name, {})["error"] = _error(exc)
        ok = False
    report.data["phases"][name] = {"share_s": round(share, 1), "seconds": round(time.perf_counter() - t0, 1), "ok": ok}
    report.save()
    return ok


def run(args: argparse.Namespace, plan: Plan) -> int:
    import torch

    if plan.device == "cpu" and plan.section.get("threads"):
        torch.set_num_threads(plan.section["threads"])  # inference too
    budget = Budget(args.budget_s, WEIGHTS)
    report = Report(Path(args.out), {"script": "benchmarks/gpu_reference.py", "argv": sys.argv[1:], "tiny": plan.tiny,
                                     "budget_s": args.budget_s, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                     "environment": environment(torch.device(plan.device)), "phases": {}})
    report.save()
    with tempfile.TemporaryDirectory(prefix="gpu-reference-") as tmp:
        work = Path(tmp)
        ds_root = str(work / "ds")
        phases: dict[str, Callable[[float], None]] = {
            "dataset": lambda s: report.data.update(dataset=render_dataset(work, plan)),
            "train_step": lambda s: phase_train_step(plan, ds_root, s, report),
            "loader": lambda s: phase_loader(plan, ds_root, s, report),
            "inference": lambda s: phase_inference(plan, s, report),
            "reference_training": lambda s: phase_reference(plan, ds_root, s, report, work,
                                                            Path(args.keep) if args.keep else None)}
        failed = []
        for name, fn in phases.items():
            if "dataset" in failed and name != "inference":  # every other phase reads the dataset
                report.data[name] = {"error": "skipped: the dataset could not be rendered"}
                report.data["phases"][name] = {"share_s": 0.0, "seconds": 0.0, "ok": False}
                failed.append(name)
                continue
            if not _run_phase(name, report, budget, fn):
                failed.append(name)
    report.data["elapsed_s"] = round(args.budget_s - budget.left(), 1)
    report.save()
    summary(report.data)
    return 1 if failed else 0


def summary(data: dict[str, Any]) -> None:
    """The main figures as a Markdown table on stdout."""
    env = data["environment"]
    print(f"\n{env['device_name']} (torch {env['torch']}, CUDA {env['cuda']}, cuDNN {env['cudnn']}), "
          f"{data.get('elapsed_s')} s of {data['budget_s']} s\n")
    print("| figure | value |\n|---|---|")

    def row(name: str, value: str) -> None:
        print(f"| {name} | {value} |")

    step = data.get("train_step", {})
    for c in step.get("configs", []):
        peak = f", peak {c['peak_mem_mb']:.0f} MB" if c.get("peak_mem_mb") else ""
        value = (f"{c['steps_per_s']:.2f} steps/s{peak}" if c.get("status") == "ok"
                 else f"{c.get('status')}: {c.get('reason') or c.get('error')}")
        row(f"train {step['size']}² x{step['batch']} {_label(c)}", value)
    for r in data.get("loader", {}).get("runs", []):
        value = r.get("error") or (f"wait {r['wait_mean_s'] * 1e3:.1f} ms (max {r['wait_max_s'] * 1e3:.1f}) vs compute "
                                   f"{r['compute_mean_s'] * 1e3:.1f} ms, {r['wait_fraction']:.0%} waiting"
                                   f"{', STARVED' if r['starved'] else ''}")
        row(f"loader, {r['workers']} workers", value)
    for c in data.get("inference", {}).get("configs", []):
        row(f"infer {c['size']} {c['precision']} {c['kind']}", c.get("error") or f"{c['frames_per_s']:.1f} frames/s")
    ref = data.get("reference_training", {})
    if "steps" in ref:
        val = ref["val"] or {}
        row("reference training", f"{ref['steps']} steps in {ref['seconds']:.0f} s ({ref['steps_per_s']:.2f} steps/s), "
            f"train loss {ref['train_loss']:.4f}, val loss {val.get('total', float('nan')):.4f} "
            f"(do-nothing {val.get('baseline', float('nan')):.4f})")
    for name, phase in data["phases"].items():
        if not phase["ok"]:
            row(f"phase {name}", f"FAILED: {data.get(name, {}).get('error')}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with the defaults of the mode (full or ``--tiny``) filled in."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="cuda (default), cuda:N or cpu (default with --tiny)")
    parser.add_argument("--tiny", action="store_true", help="smoke mode: tiny sizes and counts (CPU by default)")
    parser.add_argument("--budget-s", type=float, default=450.0, help="wall time of the whole run (default 450)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out" / "gpu_reference.json"))
    parser.add_argument("--train-size", type=int, default=None, help="training frame side (default 384; --tiny 32)")
    parser.add_argument("--batch", type=int, default=None, help="training batch of train_step (default 4; --tiny 2)")
    parser.add_argument("--infer-sizes", default=None, help="WxH,... (default 640x480,1920x1080; --tiny 64x48)")
    parser.add_argument("--preset", choices=["paper", "official"], default=None, help="model preset (default: paper)")
    parser.add_argument("--config", default=None, help="config whose train section the reference training uses "
                        "(default: the first of config/reference-gpu.yaml, config/reference.yaml that exists)")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="copy the reference training's checkpoint and metrics into DIR (default: not kept)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.device = args.device or ("cpu" if args.tiny else "cuda")
    args.train_size = args.train_size or (32 if args.tiny else 384)
    args.batch = args.batch or (2 if args.tiny else 4)
    args.infer_sizes = args.infer_sizes or ("64x48" if args.tiny else "640x480,1920x1080")
    if args.config is None:
        found = [p for p in CONFIGS if p.is_file()]
        args.config = str(found[0]) if found else None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for name in ("mmdata", "mmtrain"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.child:
        spec = json.loads(args.child)
        plan = Plan(**{**spec["plan"], "infer_sizes": tuple(map(tuple, spec["plan"]["infer_sizes"])),
                       "loader_workers": tuple(spec["plan"]["loader_workers"])})
        try:
            result = train_case(plan, spec["ds_root"], spec["case"], spec["seconds"])
        except Exception as exc:  # noqa: BLE001 (a compile failure is this configuration's figure)
            result = {"error": _error(exc)}
        print(json.dumps(result))
        return 0
    import torch

    from mmdata.errors import MotionMagError

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu_reference: --device {args.device} asked for, but CUDA is not available (torch {torch.__version__}, "
              f"built for CUDA {torch.version.cuda}); use --tiny for a CPU smoke run", file=sys.stderr)
        return 2
    try:
        plan = make_plan(args)
    except MotionMagError as exc:  # a config that does not load or validate
        print(f"gpu_reference: {_error(exc)}", file=sys.stderr)
        return 2
    return run(args, plan)


if __name__ == "__main__":
    sys.exit(main())

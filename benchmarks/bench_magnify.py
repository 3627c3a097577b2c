"""Benchmark video magnification against the previous release: speed, FIR peak memory, reduced precision.

Usage::

    python benchmarks/bench_magnify.py --baseline v0.1              # speed + memory, previous = tag v0.1
    python benchmarks/bench_magnify.py --speed --rounds 3 --frames 3 --sizes 640x352 1280x720
    python benchmarks/bench_magnify.py --memory --memory-frames 30 120 --memory-size 640x352
    python benchmarks/bench_magnify.py --accuracy /path/to/data      # bf16 / compile vs fp32, golden cases
    python benchmarks/bench_magnify.py --inference --data ../shared/data --rounds 3 --frames 4  # the variants

Inference: the network's variants (fp32 reference, the default, reduced precision, one thread, the
exported graph run by OpenVINO and by ONNX Runtime where installed, whose one-off export and
compilation fall in the warm-up batch and are not counted) in static mode on real frames (``--video``, a
640x352 centre crop by default) with the authors' weights, each in a fresh process per round, the
variants alternating; seconds per frame, the ratio to fp32 (median of per-round ratios) and the
output's error against fp32 in grey levels (maximum and 99.9th percentile of the uint8 frames).

Speed: static mode at default settings (``--batch 4``, the CLI's default) through
:func:`mmtrain.magnify.pipeline.magnify_frames` on in-memory frames (no video coding), seconds and CPU
seconds per frame after a warm-up batch; the previous release also at batch 1, its best setting.
Memory: the whole FIR temporal mode at default settings in a fresh process per clip length; peak RSS.
Every figure is measured for the previous release's code and the current one in alternating rounds of
child processes (see ``benchmarks/_baseline.py``); ratios are medians of per-round ratios. The machine's
load averages are printed with each table: on a shared machine, read the ratios, not the seconds.
``--light`` runs a network of the same widths but one residual block per stage (the same peak
activations, several times faster) for quick memory runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _baseline as bl  # noqa: E402

LIGHT = dict(n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)


def _model(light: bool):
    from mmtrain.model.network import make_model

    return make_model("official", **(LIGHT if light else {})).eval()


def _speed_child(size: str, n_frames: int, batch: int) -> None:
    import torch

    from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames

    width, height = (int(v) for v in size.split("x"))
    torch.manual_seed(0)
    model = _model(False)
    frames = np.random.default_rng(0).integers(0, 256, size=(n_frames + batch, height, width, 3), dtype=np.uint8)
    settings = MagnifySettings(alpha=10.0, batch=batch).resolve(30.0, len(frames))
    times = []

    def timed_batches():
        for i in range(0, len(frames), batch):
            times.append((time.perf_counter(), time.process_time()))
            yield frames[i:i + batch]

    for _ in magnify_frames(model, timed_batches(), settings, n_frames=len(frames)):
        pass
    end = (time.perf_counter(), time.process_time())
    wall, cpu = end[0] - times[1][0], end[1] - times[1][1]  # after the first (warm-up) batch
    print(json.dumps(dict(s_per_frame=wall / n_frames, cpu_s_per_frame=cpu / n_frames,
                          threads=torch.get_num_threads())))


def _memory_child(size: str, n_frames: int, light: bool) -> None:
    from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames

    width, height = (int(v) for v in size.split("x"))
    model = _model(light)
    base = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    fir = dict(alpha=10.0, mode="temporal", filter="fir", band=(1.0, 4.0))
    try:  # releases with FIR checks refuse a full-length FIR on short clips; memory is what is measured here
        settings = MagnifySettings(**fir, allow_leaky_fir=True).resolve(30.0, n_frames)
    except TypeError:
        settings = MagnifySettings(**fir).resolve(30.0, n_frames)

    def batches():
        for start in range(0, n_frames, 4):
            yield np.stack([np.roll(base, t % 3, axis=1) for t in range(start, min(start + 4, n_frames))])

    with tempfile.TemporaryDirectory() as tmp:
        count = sum(len(b) for b in magnify_frames(model, batches(), settings, n_frames=n_frames, work_dir=tmp))
    print(json.dumps(dict(frames=count, peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def bench_speed(args: argparse.Namespace, old: Path) -> None:
    rows, script = [], __file__
    per_px: dict[str, float] = {}
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        runs: dict[str, list[dict]] = {"old1": [], "old": [], "new": []}
        for _ in range(args.rounds):  # alternating: previous batch 1, previous default, current default
            runs["old1"].append(bl.child(script, old, "speed", size, args.frames, 1))
            runs["old"].append(bl.child(script, old, "speed", size, args.frames, args.batch))
            runs["new"].append(bl.child(script, bl.REPO, "speed", size, args.frames, args.batch))
        med = {k: statistics.median(r["s_per_frame"] for r in v) for k, v in runs.items()}
        cpu = {k: statistics.median(r["cpu_s_per_frame"] for r in v) for k, v in runs.items()}
        new = [r["s_per_frame"] for r in runs["new"]]
        for tag, key in (("batch 1", "old1"), (f"batch {args.batch}", "old")):
            old_t = [r["s_per_frame"] for r in runs[key]]
            rows.append((f"static {size}, s/frame (previous {tag}; current default)", f"{med[key]:.3f}",
                         f"{med['new']:.3f}", f"{bl.median_ratio(new, old_t):.2f}"))
        rows.append((f"static {size}, CPU s/frame (previous batch 1)", f"{cpu['old1']:.3f}", f"{cpu['new']:.3f}",
                     f"{cpu['new'] / cpu['old1']:.2f}"))
        per_px[size] = (med["old1"] / (w * h) * 1e6, med["new"] / (w * h) * 1e6)
    if len(per_px) == 2:
        (small, (o1, n1)), (large, (o2, n2)) = sorted(per_px.items(), key=lambda kv: int(kv[0].split("x")[0]))
        rows.append((f"µs/pixel {large} / µs/pixel {small}", f"{o2 / o1:.2f}", f"{n2 / n1:.2f}", ""))
    bl.table(rows, f"Magnify speed, static mode, {args.rounds} rounds x {args.frames} frames")


def bench_memory(args: argparse.Namespace, old: Path) -> None:
    rows = []
    for n in args.memory_frames:
        o = bl.child(__file__, old, "memory", args.memory_size, n, int(args.light))
        c = bl.child(__file__, bl.REPO, "memory", args.memory_size, n, int(args.light))
        rows.append((f"FIR peak RSS, {args.memory_size}, {n} frames, MiB{' (light net)' if args.light else ''}",
                     f"{o['peak_mib']:.0f}", f"{c['peak_mib']:.0f}", f"{c['peak_mib'] / o['peak_mib']:.2f}"))
    bl.table(rows, "FIR temporal mode, default settings")


#: The inference table's variants: name -> MagnifySettings fields (the first is the reference).
INFERENCE_VARIANTS: dict[str, dict] = {
    "ours fp32 reference (border strips)": dict(border="strips"),
    "ours default (fp32, border copy)": {},
    "fp32, 1 thread": dict(threads=1),
    "bf16 autocast": dict(precision="bf16"),
    "bf16 decoder only": dict(precision="bf16-decoder"),
    "OpenVINO fp32 (--backend openvino)": dict(backend="openvino"),
    "ONNX Runtime fp32 (--backend onnxruntime)": dict(backend="onnxruntime"),
}
#: Variants whose runtime is optional: skipped, with a row saying so, where it is not installed.
OPTIONAL_RUNTIMES = {"OpenVINO fp32 (--backend openvino)": "openvino", "ONNX Runtime fp32 (--backend onnxruntime)": "onnxruntime"}
#: Variants measured in the first round only (bf16 is emulated, several times slower, on CPUs without
#: bf16 instructions); their ratio is that round's.
FIRST_ROUND_ONLY = ("bf16 autocast", "bf16 decoder only")


def _video_frames(video: str, size: str, n: int) -> np.ndarray:
    """``n`` frames of ``video`` (centre crop to ``size``, WxH), or random frames when it is missing."""
    width, height = (int(v) for v in size.split("x"))
    if not Path(video).is_file():
        return np.random.default_rng(0).integers(0, 256, size=(n, height, width, 3), dtype=np.uint8)
    from mmtrain.video.io import VideoReader

    frames = []
    for frame in VideoReader(video):
        top, left = max(0, (frame.shape[0] - height) // 2), max(0, (frame.shape[1] - width) // 2)
        frames.append(frame[top:top + height, left:left + width])
        if len(frames) == n:
            break
    return np.stack(frames)


def _inference_child(size: str, n_frames: int, batch: int, variant: str, data: str, video: str, out: str) -> None:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the mmtrain command sets it
    import torch

    from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames
    from mmtrain.model.runtime import configure_threads

    weights = Path(data) / "official_checkpoint" / "weights.npz"
    if weights.is_file():
        from mmtrain.model.checkpoint import load_model

        model = load_model(weights).eval()
    else:
        torch.manual_seed(0)
        model = _model(False)
    frames = _video_frames(video, size, n_frames + batch)
    settings = MagnifySettings(alpha=10.0, batch=batch, **json.loads(variant)).resolve(30.0, len(frames))
    threads = configure_threads(settings.threads)
    times, outs = [], []

    def timed_batches():
        for i in range(0, len(frames), batch):
            times.append(time.perf_counter())
            yield frames[i:i + batch]

    for y in magnify_frames(model, timed_batches(), settings, n_frames=len(frames)):
        outs.append(y)
    wall = time.perf_counter() - times[1]  # after the first (warm-up) batch
    np.save(out, np.concatenate(outs))
    print(json.dumps(dict(s_per_frame=wall / n_frames, threads=threads)))


def _tf_python(option: str | None) -> str | None:
    """The interpreter that runs the authors' TF model: ``--tf-python``, else this one where TensorFlow is installed."""
    import importlib.util

    if option:
        return option
    return sys.executable if importlib.util.find_spec("tensorflow") is not None else None


def _tensorflow_run(python: str, args: argparse.Namespace, frames: Path, out: Path) -> dict:
    """One run of ``tf_reference.py`` (checked on golden case a, then timed on ``frames``) under ``python``."""
    script = Path(__file__).with_name("tf_reference.py")
    weights = Path(args.data) / "official_checkpoint" / "weights.npz"
    golden = Path(args.data) / "official_golden" / "case_a_baby_static_amp10.npz"
    run = subprocess.run([python, str(script), "--weights", str(weights), "--check", str(golden), "--frames", str(frames),
                          "--alpha", "10", "--out", str(out), "--threads", str(os.cpu_count())],
                         capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    result = {k: v for line in lines for k, v in line.items()}
    if result["golden_max_error"] > 1e-4:
        raise SystemExit(f"the TF reference does not reproduce golden case a (max error {result['golden_max_error']:.2g})")
    return result


def bench_inference(args: argparse.Namespace) -> None:
    """The inference variants in alternating fresh processes; speed and error against the fp32 reference."""
    import os

    import importlib.util

    variants = {k: v for k, v in INFERENCE_VARIANTS.items()
                if (k not in OPTIONAL_RUNTIMES or importlib.util.find_spec(OPTIONAL_RUNTIMES[k]) is not None)
                and not (args.no_bf16 and k in FIRST_ROUND_ONLY)}
    tf_python = _tf_python(args.tf_python)
    tf_name = "authors' model, TensorFlow (both frames encoded per frame, as their run does)"
    if tf_python:
        variants[tf_name] = {}
    runs: dict[str, list[float]] = {k: [] for k in variants}
    errors: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if tf_python:
            np.save(Path(tmp) / "frames.npy", _video_frames(args.video, args.sizes[0], args.frames + args.batch))
        for r in range(args.rounds):
            for name, fields in variants.items():
                if r and name in FIRST_ROUND_ONLY:
                    continue
                out = Path(tmp) / f"{abs(hash(name))}.npy"
                if name == tf_name:
                    res = _tensorflow_run(str(tf_python), args, Path(tmp) / "frames.npy", out)
                else:
                    res = bl.child(__file__, bl.REPO, "inference", args.sizes[0], args.frames, args.batch,
                                   json.dumps(fields), args.data, args.video, out)
                runs[name].append(res["s_per_frame"])
                if r == 0 and name != next(iter(INFERENCE_VARIANTS)):
                    ref = np.load(Path(tmp) / f"{abs(hash(next(iter(INFERENCE_VARIANTS))))}.npy").astype(np.int16)
                    err = np.abs(np.load(out).astype(np.int16) - ref)
                    errors[name] = (float(err.max()), float(np.percentile(err, 99.9)))
    ref_runs = runs[next(iter(INFERENCE_VARIANTS))]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU") if Path("/proc/cpuinfo").is_file() else "unknown CPU"
    print(f"\nInference, static mode, {args.sizes[0]}, batch {args.batch}, {args.rounds} rounds x {args.frames} frames; "
          f"{cpu}, {os.cpu_count()} CPUs, load {bl.load()} at the end\n")
    print("| variant | s/frame | time / fp32 reference | max error, grey levels | p99.9 error |")
    print("|---|---|---|---|---|")
    for name, times in runs.items():
        err = errors.get(name, (0.0, 0.0))
        mark = " (first round)" if name in FIRST_ROUND_ONLY else ""
        print(f"| {name}{mark} | {statistics.median(times):.3f} | {bl.median_ratio(times, ref_runs):.2f} | "
              f"{err[0]:.0f} | {err[1]:.0f} |")
    for name in INFERENCE_VARIANTS.keys() - variants.keys():
        why = f"{OPTIONAL_RUNTIMES[name]} not installed" if name in OPTIONAL_RUNTIMES else "not run (--no-bf16)"
        print(f"| {name} | {why} | | | |")
    if not tf_python:
        print(f"| {tf_name} | TensorFlow not installed (--tf-python) | | | |")


def bench_accuracy(data: Path, compile_too: bool) -> None:
    """bf16 autocast (and torch.compile) against fp32 on the authors' golden static cases."""
    import torch

    from mmtrain.model.checkpoint import load_model
    from mmtrain.model.runtime import autocast, maybe_compile

    model = load_model(data / "official_checkpoint" / "weights.npz").eval()
    variants = {"fp32": (model, "fp32"), "bf16": (model, "bf16")}
    if compile_too:
        variants["compile fp32"] = (maybe_compile(model, True), "fp32")
    print(f"\nAccuracy against the authors' golden outputs, grey levels of 255 (load {bl.load()})\n")
    print("| case | variant | max abs error | mean abs error | seconds |")
    print("|---|---|---|---|---|")
    for case in ("case_a_baby_static_amp10", "case_b_baby_static_amp1_amp0"):
        g = np.load(data / "official_golden" / f"{case}.npz")
        x_a, x_b = (torch.from_numpy(np.ascontiguousarray(g[k])).permute(0, 3, 1, 2) for k in ("input_a", "input_b"))
        if "amplification_factors" in g.files:  # case b: alpha 1 and alpha 0 in one batch
            alpha = torch.from_numpy(g["amplification_factors"]).float()
            x_a, x_b = x_a.repeat(2, 1, 1, 1), x_b.repeat(2, 1, 1, 1)
            out = np.concatenate([g["output_raw_amp1"], g["output_raw_amp0"]])
        else:
            alpha, out = torch.tensor([float(g["amplification_factor"])]), g["output_raw"]
        golden = torch.from_numpy(np.ascontiguousarray(out)).permute(0, 3, 1, 2).clamp(-1, 1)
        for name, (net, precision) in variants.items():
            start = time.perf_counter()
            with torch.no_grad(), autocast(torch.device("cpu"), precision):
                y = net(x_a, x_b, alpha).float().clamp(-1, 1)
            err = (y - golden).abs() * 127.5
            print(f"| {case} | {name} | {float(err.max()):.2f} | {float(err.mean()):.3f} | "
                  f"{time.perf_counter() - start:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="main", help="git ref of the previous release (default: main)")
    parser.add_argument("--speed", action="store_true", help="only the speed table")
    parser.add_argument("--memory", action="store_true", help="only the FIR memory table")
    parser.add_argument("--accuracy", type=Path, metavar="DATA", help="only the accuracy table (shared data folder)")
    parser.add_argument("--compile", action="store_true", help="accuracy and inference tables: also torch.compile")
    parser.add_argument("--inference", action="store_true", help="only the inference table (variants vs fp32)")
    parser.add_argument("--data", default=str(bl.REPO.parent / "shared" / "data"),
                        help="inference: the shared data folder (the authors' weights; else a random network)")
    parser.add_argument("--no-bf16", action="store_true",
                        help="inference: leave out the bf16 rows (emulated, several times slower, on CPUs without bf16)")
    parser.add_argument("--tf-python", metavar="PYTHON",
                        help="inference: an interpreter with TensorFlow and numpy that runs the authors' model "
                             "(tf_reference.py; default: this one, where TensorFlow is installed)")
    parser.add_argument("--video", default=str(bl.REPO.parent / "shared" / "data" / "videos" / "baby.mp4"),
                        help="inference: the frames (centre crop); random frames when missing")
    parser.add_argument("--sizes", nargs="+", default=["640x352", "1280x704"])
    parser.add_argument("--frames", type=int, default=2, help="timed frames per child (after a warm-up batch)")
    parser.add_argument("--batch", type=int, default=4, help="frames per batch (the CLI's default)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-frames", type=int, nargs="+", default=[30, 120])
    parser.add_argument("--memory-size", default="640x352")
    parser.add_argument("--light", action="store_true", help="memory: same widths, one block per stage")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "speed":
            _speed_child(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "inference":
            _inference_child(rest[0], int(rest[1]), int(rest[2]), *rest[3:7])
        else:
            _memory_child(rest[0], int(rest[1]), bool(int(rest[2])))
        return
    if args.accuracy:
        bench_accuracy(args.accuracy, args.compile)
        return
    if args.inference:
        if args.compile:
            INFERENCE_VARIANTS["fp32, torch.compile"] = dict(compile=True)
        bench_inference(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        old = bl.unpack(args.baseline, Path(tmp))
        if args.speed or not args.memory:
            bench_speed(args, old)
        if args.memory or not args.speed:
            bench_memory(args, old)


if __name__ == "__main__":
    main()

"""``mmtrain evaluate sets|run|merge|video-accuracy``: render the test sets, score them, merge sharded scores,
write the report; measure the physical accuracy of a magnified real video."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.errors import ConfigError
from mmtrain.magnify.methodnames import canonical_method

if TYPE_CHECKING:
    from mmdata.spec import DatasetSpec
    from mmtrain.evaluate.cases import EvalSpec

# Each action imports what it runs (the test sets, the methods, torch, the plots), so that the help and the
# argument errors of `mmtrain evaluate` load none of them.

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate sets`` and ``evaluate run``."""
    from mmtrain.model.registry import DEFAULT_MODEL

    parser = subparsers.add_parser("evaluate", help="the paper's quantitative tests (Fig. 8): test sets, scores, plots",
                                   description="The paper's quantitative tests (Fig. 8): render the test sets, score "
                                               "methods and networks on them, merge sharded scores; and the physical "
                                               "accuracy of a magnified real video.")
    sub = parser.add_subparsers(dest="evaluate_command", metavar="ACTION")
    sub.required = True

    sets = sub.add_parser("sets", help="render the test sets (one Zarr store per test)",
                          description="Render the test sets of the chosen protocol and size from a source "
                                      "catalogue: one Zarr store per test (or per shard K/N of each).")
    sets.add_argument("--catalogue", required=True, help="catalogue folder (mmdata sources build)")
    sets.add_argument("-o", "--out", required=True, help="folder of the test sets")
    _common(sets)
    sets.set_defaults(func=_cmd_sets)

    run = sub.add_parser("run", help="score methods on the test sets; write results.csv/json, summary.md, plots",
                         description="Score the built-in methods and the networks named by --model (and "
                                     "evaluate.models) on the test sets; write results.csv/json, summary.md and "
                                     "the plots of Fig. 8.")
    run.add_argument("--sets", required=True, help="folder of the test sets (evaluate sets -o)")
    run.add_argument("--model", action="append", default=[], metavar="[NAME=]SPEC",
                     help="a network to score, repeatable: SPEC as everywhere (a released or registered model's name "
                          "such as motionmag-cpu-ref or official, our checkpoint .pt, the authors' weights.npz), "
                          "NAME its label in the results (default: the SPEC's file stem)")
    run.add_argument("--methods", nargs="*",
                     help="built-in methods (default evaluate.methods): oracle do_nothing phase_based linear "
                          "(phase-based: deprecated spelling)")
    run.add_argument("--catalogue", help="catalogue folder, needed only for test sets stored without clips")
    run.add_argument("--device", default="auto",
                     help="torch device of the networks and the torch baselines: auto (CUDA when available with "
                          "--workers 1, else cpu), cpu, cuda:N")
    run.add_argument("--baseline-backend", choices=("torch", "numpy"),
                     help="phase_based / linear in torch or numpy (default evaluate.phase_based.backend; same numbers)")
    run.add_argument("--workers", type=int, default=1, help="processes scoring cases in parallel (default 1)")
    run.add_argument("-o", "--out", required=True, help="results folder")
    _common(run)
    run.set_defaults(func=_cmd_run)

    merge = sub.add_parser("merge", help="merge the results.json of the shards of a run into one report",
                           description="Merge the results.json of the shards of one `evaluate run --shard K/N` "
                                       "into one results folder and report.")
    merge.add_argument("parts", nargs="+", help="results.json files (or their folders) of `run --shard K/N`")
    merge.add_argument("-o", "--out", required=True, help="results folder")
    merge.set_defaults(func=_cmd_merge)

    acc = sub.add_parser("video-accuracy", help="a real clip: tracked motion ratio per frequency band against alpha, flicker",
                         description="Magnify a real clip (or read an already magnified one), track textured "
                                     "points in both and report, per frequency band, the ratio of output to input "
                                     "motion against alpha, and the flicker in still regions.")
    acc.add_argument("video", help="input video file")
    acc.add_argument("--alpha", type=float, required=True, help="magnification factor")
    acc.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"),
                     help="the method's pass band in Hz (needed unless --magnified; nominal factor alpha inside, 1 outside)")
    acc.add_argument("--method", default="phase_based", choices=("phase_based", "linear", "network", "phase-based"),
                     metavar="{phase_based,linear,network}",
                     help="phase_based or linear: whole-clip FIR in torch; network: --model in temporal FIR mode "
                          "(phase-based: deprecated spelling)")
    acc.add_argument("--model", metavar="SPEC",
                     help="the network method's model: a released or registered model's name, our checkpoint, the "
                          f"authors' weights.npz (default: {DEFAULT_MODEL})")
    acc.add_argument("--magnified", help="measure this already magnified video instead (same frames and crop)")
    acc.add_argument("--start", type=int, default=0, help="first frame (default 0)")
    acc.add_argument("--frames", type=int, help="frames (default: to the end)")
    acc.add_argument("--crop", type=int, nargs=4, metavar=("X", "Y", "W", "H"), help="crop of every frame (even W, H)")
    acc.add_argument("--bands", nargs="+", metavar="LOW-HIGH", type=_band,
                     help="frequency bands of the report in Hz, e.g. 0.5-1 1-2 (default: octaves up to Nyquist)")
    acc.add_argument("--points", type=int, default=24, help="textured points tracked at most (default 24)")
    acc.add_argument("--patch", type=int, default=12, help="half-size of the tracked patches in px (default 12)")
    acc.add_argument("--min-amplitude", type=float, default=0.02,
                     help="input motion (px RMS) a point needs in a band to count in its ratio (default 0.02)")
    acc.add_argument("--device", default="auto", help="torch device: auto (CUDA when available), cpu, cuda:N")
    acc.add_argument("-o", "--out", required=True, help="folder for accuracy.json, accuracy.csv, accuracy.png")
    acc.set_defaults(func=_cmd_video_accuracy)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config (default: all defaults)")
    p.add_argument("--size", help="evaluate.sizes entry (default evaluate.size): quick or paper")
    p.add_argument("--protocol", help="evaluate.protocols entry (default evaluate.protocol): oh2018 or reeval")
    p.add_argument("--tests", nargs="+", help="tests (default evaluate.tests): subpixel noise magnification input_motion alpha_sweep")
    p.add_argument("--shard", type=_shard, default=(0, 1), metavar="K/N",
                   help="only shard K of N of every test set (cases K, K+N, ...; default 0/1, all)")


def _shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        shard = (int(k), int(n))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N, e.g. 0/4, got {text!r}") from None
    if not sep or not 0 <= shard[0] < shard[1]:
        raise argparse.ArgumentTypeError(f"expected K/N with 0 <= K < N, got {text!r}")
    return shard


def _band(text: str) -> tuple[float, float]:
    lo, sep, hi = text.partition("-")
    try:
        band = (float(lo), float(hi))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH in Hz, e.g. 0.5-2, got {text!r}") from None
    if not sep or not 0 <= band[0] < band[1]:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH with 0 <= LOW < HIGH, got {text!r}")
    return band


def _specs(args: argparse.Namespace) -> tuple[dict[str, Any], EvalSpec, DatasetSpec]:
    from mmdata.config import load_config
    from mmdata.spec import DatasetSpec
    from mmtrain.evaluate.cases import EvalSpec, check_test_names

    overrides: dict[str, Any] = {}
    if args.tests:
        check_test_names(args.tests)
        overrides["evaluate"] = {"tests": list(args.tests)}
    cfg = load_config(args.config, overrides=overrides or None)
    ev = EvalSpec.from_config(cfg, args.size, args.protocol)
    if args.tests and ev.protocol:  # --tests narrows a protocol's tests
        import dataclasses

        ev = dataclasses.replace(ev, tests=tuple(t for t in ev.tests if t in args.tests) or tuple(args.tests))
    ds = DatasetSpec.from_config({**cfg, "dataset": {**cfg["dataset"], "image_size": ev.image_size}})
    return cfg, ev, ds


def _cmd_sets(args: argparse.Namespace) -> int:
    from mmdata.sources import open_catalogue
    from mmtrain.evaluate.sets import write_test_set

    _, ev, ds = _specs(args)
    catalogue = open_catalogue(args.catalogue)
    for test in ev.tests:
        path = write_test_set(args.out, test, ev, ds, catalogue, progress=not args.quiet, shard=args.shard)
        print(path)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import torch

    from mmtrain.evaluate.methods import Method, load_network, make_builtin
    from mmtrain.evaluate.report import write_results
    from mmtrain.evaluate.scoring import evaluate_test_sets
    from mmtrain.evaluate.sets import open_test_set, shard_name
    from mmtrain.magnify.pipeline import select_device

    cfg, ev, ds = _specs(args)
    # worker processes are forked, and a forked process cannot use CUDA: several workers score on the CPU
    if args.workers > 1 and args.device == "auto":
        device = torch.device("cpu")
    else:
        device = select_device(args.device)
    if args.workers > 1 and device.type != "cpu":
        raise ConfigError(f"--workers {args.workers} with --device {args.device}: worker processes cannot share a {device.type} "
                          "device; score on it with --workers 1, or use several workers on the CPU")
    backend = args.baseline_backend or ev.baseline_backend
    names = [canonical_method(n) for n in args.methods] if args.methods is not None else list(ev.methods)
    methods: list[Method] = [make_builtin(name, ev.phase_based, backend=backend, device=device)
                             for name in dict.fromkeys(names)]
    models = [f"{name}={path}" for name, path in ev.models] + list(args.model)
    methods += [load_network(spec, str(device)) for spec in models]  # fail early on bad weights
    test_sets = [open_test_set(Path(args.sets) / shard_name(test, args.shard)) for test in ev.tests]
    catalogue = None
    if args.catalogue:
        from mmdata.sources import open_catalogue

        catalogue = open_catalogue(args.catalogue)
    results = evaluate_test_sets(test_sets, methods, border=ev.border, catalogue=catalogue, ds=ds, workers=args.workers,
                                 progress=not args.quiet, ssim_variant=ev.ssim_variant)
    results.meta.update({"protocol": ev.protocol, "shard": list(args.shard), "noise_scale": ev.noise_scale,
                         "baseline_backend": backend, "device": str(device)})
    for path in write_results(results, args.out):
        print(path)
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    import json

    from mmtrain.evaluate.report import write_results
    from mmtrain.evaluate.scoring import Results

    parts = []
    for item in args.parts:
        path = Path(item) / "results.json" if Path(item).is_dir() else Path(item)
        if not path.is_file():
            raise ConfigError(f"{path}: no results.json there; write one with `mmtrain evaluate run --shard K/N`")
        parts.append(Results.from_json(json.loads(path.read_text(encoding="utf-8"))))
    merged = Results.merge(parts)
    merged.meta["shard"] = [0, 1]
    for path in write_results(merged, args.out):
        print(path)
    return 0


def _cmd_video_accuracy(args: argparse.Namespace) -> int:
    from mmtrain.evaluate.video_report import video_accuracy

    acc, paths = video_accuracy(args.video, args.out, alpha=args.alpha, band=tuple(args.band) if args.band else None,
                                method=canonical_method(args.method), model=args.model, magnified=args.magnified, start=args.start,
                                frames=args.frames, crop=tuple(args.crop) if args.crop else None, bands=args.bands,
                                points=args.points, patch=args.patch, min_amplitude=args.min_amplitude,
                                device=args.device)
    for b in acc.bands:
        nominal = "" if b.expected is None else f" (nominal {b.expected:g})"
        state = f"ratio {b.ratio:.2f}{nominal}" if b.measurable else "too little input motion to measure"
        print(f"{b.low_hz:g}-{b.high_hz:g} Hz: input {b.input_amplitude:.3f} px, output {b.output_amplitude:.3f} px, {state}")
    print(f"flicker in still regions: input {acc.flicker_input:.2f}, output {acc.flicker_output:.2f} (0-255)")
    for path in paths:
        print(path)
    return 0

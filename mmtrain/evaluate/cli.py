"""``mmtrain evaluate sets|run|merge``: render the test sets, score them, merge sharded scores, write the report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmdata.spec import DatasetSpec
from mmtrain.evaluate.cases import EvalSpec, check_test_names
from mmtrain.evaluate.methods import Method, load_network, make_builtin
from mmdata.errors import ConfigError
from mmtrain.evaluate.report import write_results
from mmtrain.evaluate.scoring import Results, evaluate_test_sets
from mmtrain.evaluate.sets import open_test_set, shard_name, write_test_set

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate sets`` and ``evaluate run``."""
    parser = subparsers.add_parser("evaluate", help="the paper's quantitative tests (Fig. 8): test sets, scores, plots")
    sub = parser.add_subparsers(dest="evaluate_command", metavar="ACTION")
    sub.required = True

    sets = sub.add_parser("sets", help="render the test sets (one Zarr store per test)")
    sets.add_argument("--catalogue", required=True, help="catalogue folder (mmdata sources build)")
    sets.add_argument("-o", "--out", required=True, help="folder of the test sets")
    _common(sets)
    sets.set_defaults(func=_cmd_sets)

    run = sub.add_parser("run", help="score methods on the test sets; write results.csv/json, summary.md, plots")
    run.add_argument("--sets", required=True, help="folder of the test sets (evaluate sets -o)")
    run.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                     help="a network to score: our checkpoint or the authors' weights.npz (repeatable)")
    run.add_argument("--methods", nargs="*", help="built-in methods (default evaluate.methods): oracle do_nothing phase_based")
    run.add_argument("--catalogue", help="catalogue folder, needed only for test sets stored without clips")
    run.add_argument("--device", default="auto",
                     help="torch device of the networks and the torch baselines: auto (CUDA when available), cpu, cuda:N")
    run.add_argument("--baseline-backend", choices=("torch", "numpy"),
                     help="phase_based / linear in torch or numpy (default evaluate.phase_based.backend; same numbers)")
    run.add_argument("--workers", type=int, default=1, help="processes scoring cases in parallel (default 1)")
    run.add_argument("-o", "--out", required=True, help="results folder")
    _common(run)
    run.set_defaults(func=_cmd_run)

    merge = sub.add_parser("merge", help="merge the results.json of the shards of a run into one report")
    merge.add_argument("parts", nargs="+", help="results.json files (or their folders) of `run --shard K/N`")
    merge.add_argument("-o", "--out", required=True, help="results folder")
    merge.set_defaults(func=_cmd_merge)


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


def _specs(args: argparse.Namespace) -> tuple[dict[str, Any], EvalSpec, DatasetSpec]:
    from mmdata.config import load_config

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

    _, ev, ds = _specs(args)
    catalogue = open_catalogue(args.catalogue)
    for test in ev.tests:
        path = write_test_set(args.out, test, ev, ds, catalogue, progress=not args.quiet, shard=args.shard)
        print(path)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from mmtrain.magnify.pipeline import select_device

    cfg, ev, ds = _specs(args)
    device = select_device(args.device)
    backend = args.baseline_backend or ev.baseline_backend
    methods: list[Method] = [make_builtin(name, ev.phase_based, backend=backend, device=device)
                             for name in (args.methods if args.methods is not None else ev.methods)]
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

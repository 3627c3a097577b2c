"""Sub-commands ``mmtrain train``, ``mmtrain curves`` and ``mmtrain convert-weights``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``train``, ``curves`` and ``convert-weights`` sub-commands."""
    p = subparsers.add_parser("train", help="train (or resume) the network on a generated dataset",
                              description="Train the network on an indexed dataset (mmdata index). Resumes from "
                                          "OUT/checkpoint.pt when it exists; metrics go to OUT/metrics.jsonl.")
    p.add_argument("--root", required=True, type=Path, help="dataset root (with manifest.json)")
    p.add_argument("-o", "--out", required=True, type=Path, help="output folder (checkpoint.pt, metrics.jsonl)")
    p.add_argument("--config", type=Path, default=None,
                   help="YAML config; its `train` section is used (none: the schema's defaults, the paper's scale of "
                        "260,000 steps; config/config.yaml is the demo)")
    p.add_argument("--preset", choices=["paper", "official"], default=None, help="override train.preset")
    p.add_argument("--steps", type=int, default=None, help="override train.steps")
    p.add_argument("--batch-size", type=int, default=None, help="override train.batch_size")
    p.add_argument("--workers", type=int, default=None, help="override train.workers")
    p.add_argument("--device", default=None, help="override train.device (auto, cpu, cuda, cuda:N)")
    p.add_argument("--threads", type=int, default=None, help="override train.threads (CPU threads)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default=None, help="override train.precision")
    p.add_argument("--no-resume", action="store_true", help="start from scratch even if OUT/checkpoint.pt exists")
    p.set_defaults(func=_train)

    k = subparsers.add_parser("curves", help="plot learning curves from metrics.jsonl files",
                              description="Plot the training and validation loss of one or more runs against "
                                          "the step, with the validation baseline (doing nothing).")
    k.add_argument("metrics", nargs="+", metavar="[NAME=]METRICS",
                   help="a run's metrics.jsonl, optionally named (paper=results/train/metrics.jsonl)")
    k.add_argument("-o", "--out", required=True, type=Path, help="PNG to write (.png)")
    k.add_argument("--title", default="Learning curves", help="figure title")
    k.set_defaults(func=_curves)

    c = subparsers.add_parser("convert-weights", help="convert the authors' weights into our checkpoint format",
                              description="Read the authors' weights (weights.npz, a TF checkpoint prefix, its "
                                          ".index file, or the folder holding the `checkpoint` file) and write "
                                          "an mmtrain checkpoint of the `official` preset.")
    c.add_argument("source", type=Path, help="weights.npz, TF checkpoint prefix/.index, or its folder")
    c.add_argument("-o", "--out", type=Path, required=True, help="checkpoint file to write (e.g. official.pt)")
    c.set_defaults(func=_convert)


def _train(args: argparse.Namespace) -> int:
    from mmdata.config import load_config, warn_schema_defaults
    from mmtrain.train.loop import TrainConfig, train

    overrides = {k: v for k, v in {"preset": args.preset, "steps": args.steps, "batch_size": args.batch_size,
                                   "workers": args.workers, "device": args.device, "threads": args.threads,
                                   "precision": args.precision}.items() if v is not None}
    if args.config is None:
        warn_schema_defaults("mmtrain train")
    cfg = load_config(args.config, overrides={"train": overrides} if overrides else None)
    result = train(TrainConfig.from_config(cfg["train"]), args.root, args.out, resume=not args.no_resume,
                   progress=not args.quiet)
    print(json.dumps(result, indent=2))
    return 0


def _curves(args: argparse.Namespace) -> int:
    from mmdata.errors import MotionMagError
    from mmtrain.train.curves import check_curves_path, plot_curves, read_metrics

    check_curves_path(args.out)
    runs = {}
    for spec in args.metrics:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).parent.name or "run", spec
        if name in runs:
            raise MotionMagError(f"run name {name!r} given twice; name the runs NAME=PATH")
        runs[name] = read_metrics(path)
    out = plot_curves(runs, args.out, title=args.title)
    for name, c in runs.items():
        val = c.last_val()
        summary = (f"step {val['step']}: validation recon {val['recon']:.4f}, do nothing {val.get('baseline', float('nan')):.4f}"
                   if val else "no validation yet")
        print(f"{name}: {len(c.train)} training lines; {summary}")
    print(out)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.official import official_parameter_names, read_npz_weights, read_tf_checkpoint, load_official_state
    from mmtrain.model.network import MagNet, ModelConfig

    source = args.source
    tensors = read_npz_weights(source) if source.suffix == ".npz" else read_tf_checkpoint(source)
    model = MagNet(ModelConfig.from_preset("official"))
    load_official_state(model, tensors, source=source)
    step = int(tensors["Variable"]) if "Variable" in tensors and tensors["Variable"].ndim == 0 else 0
    save_checkpoint(args.out, model, step=step, extra={"converted_from": str(source)})
    n = sum(tensors[k].size for k in official_parameter_names(model))
    print(f"{args.out}: official preset, {n} weights, step {step}, from {source}")
    return 0

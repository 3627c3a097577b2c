"""Sub-commands ``mmtrain train`` and ``mmtrain convert-weights``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``train`` and ``convert-weights`` sub-commands."""
    p = subparsers.add_parser("train", help="train (or resume) the network on a generated dataset",
                              description="Train the network on an indexed dataset (mmdata index). Resumes from "
                                          "OUT/checkpoint.pt when it exists; metrics go to OUT/metrics.jsonl.")
    p.add_argument("--root", required=True, type=Path, help="dataset root (with manifest.json)")
    p.add_argument("-o", "--out", required=True, type=Path, help="output folder (checkpoint.pt, metrics.jsonl)")
    p.add_argument("--config", type=Path, default=None, help="YAML config; its `train` section is used")
    p.add_argument("--preset", choices=["paper", "official"], default=None, help="override train.preset")
    p.add_argument("--steps", type=int, default=None, help="override train.steps")
    p.add_argument("--batch-size", type=int, default=None, help="override train.batch_size")
    p.add_argument("--workers", type=int, default=None, help="override train.workers")
    p.add_argument("--device", default=None, help="override train.device (auto, cpu, cuda, cuda:N)")
    p.add_argument("--no-resume", action="store_true", help="start from scratch even if OUT/checkpoint.pt exists")
    p.set_defaults(func=_train)

    c = subparsers.add_parser("convert-weights", help="convert the authors' weights into our checkpoint format",
                              description="Read the authors' weights (weights.npz, a TF checkpoint prefix, its "
                                          ".index file, or the folder holding the `checkpoint` file) and write "
                                          "an mmtrain checkpoint of the `official` preset.")
    c.add_argument("source", type=Path, help="weights.npz, TF checkpoint prefix/.index, or its folder")
    c.add_argument("-o", "--out", type=Path, required=True, help="checkpoint file to write (e.g. official.pt)")
    c.set_defaults(func=_convert)


def _train(args: argparse.Namespace) -> int:
    from mmdata.config import load_config
    from mmtrain.train.loop import TrainConfig, train

    overrides = {k: v for k, v in {"preset": args.preset, "steps": args.steps, "batch_size": args.batch_size,
                                   "workers": args.workers, "device": args.device}.items() if v is not None}
    cfg = load_config(args.config, overrides={"train": overrides} if overrides else None)
    result = train(TrainConfig.from_config(cfg["train"]), args.root, args.out, resume=not args.no_resume,
                   progress=not args.quiet)
    print(json.dumps(result, indent=2))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.official import official_parameter_names, read_npz_weights, read_tf_checkpoint, load_official_state
    from mmtrain.model.network import MagNet, ModelConfig

    source = args.source
    tensors = read_npz_weights(source) if source.suffix == ".npz" else read_tf_checkpoint(source)
    model = MagNet(ModelConfig.preset("official"))
    load_official_state(model, tensors, source=source)
    step = int(tensors["Variable"]) if "Variable" in tensors and tensors["Variable"].ndim == 0 else 0
    save_checkpoint(args.out, model, step=step, extra={"converted_from": str(source)})
    n = sum(tensors[k].size for k in official_parameter_names(model))
    print(f"{args.out}: official preset, {n} weights, step {step}, from {source}")
    return 0

"""Sub-command ``mmtrain models``: the released models and their cards."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``mmtrain models list`` and ``mmtrain models show NAME``."""
    p = subparsers.add_parser("models", help="released models: list them, show a model card",
                              description="Models trained by this pipeline and shipped in the package. Any "
                                          "--checkpoint / --model / init_weights takes their names.")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="names, files and summaries")
    ls.set_defaults(func=_list)
    show = sub.add_parser("show", help="print a model card (Markdown)")
    show.add_argument("name", help="a released model's name")
    show.add_argument("--path", action="store_true", help="print the path of the verified weights instead")
    show.set_defaults(func=_show)
    rel = sub.add_parser("release", help="publish a trained checkpoint: weights, learning curves, model card",
                         description="Write NAME.pt (weights without optimizer state), NAME-curves.png and the "
                                     "model card NAME.md into OUT, and print the weights' SHA-256.")
    rel.add_argument("checkpoint", type=Path, help="the training checkpoint (OUT/checkpoint.pt of mmtrain train)")
    rel.add_argument("--name", required=True, help="release name, e.g. motionmag-cpu-ref")
    rel.add_argument("--metrics", required=True, type=Path, help="the run's metrics.jsonl")
    rel.add_argument("--dataset", required=True, type=Path, help="the training dataset root (manifest.json)")
    rel.add_argument("--config", required=True, type=Path, help="the configuration file the run used")
    rel.add_argument("--scores", type=Path, default=None, help="an `mmtrain evaluate` results folder (results.json)")
    rel.add_argument("--commit", default=None, help="the code commit the run trained with (default: the config's git HEAD)")
    rel.add_argument("--machine", default=None, help="where it trained, for the card (e.g. '2 CPU cores')")
    rel.add_argument("--notes", type=Path, default=None, help="a Markdown file of notes for the card")
    rel.add_argument("-o", "--out", required=True, type=Path, help="folder to write into")
    rel.set_defaults(func=_release)


def _list(args: argparse.Namespace) -> int:
    from mmtrain.model.released import RELEASES

    if not RELEASES:
        print("no released models in this installation")
    for rel in RELEASES.values():
        print(f"{rel.name}\t{rel.file}\t{rel.summary}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from mmtrain.model.released import card_path, resolve_weights

    if args.path:
        print(resolve_weights(args.name))
    else:
        sys.stdout.write(card_path(args.name).read_text(encoding="utf-8"))
    return 0


def _release(args: argparse.Namespace) -> int:
    from mmdata.errors import MotionMagError
    from mmtrain.evaluate.publish import publish_release

    if args.notes is not None and not args.notes.is_file():
        raise MotionMagError(f"{args.notes}: no such notes file")
    result = publish_release(args.checkpoint, name=args.name, metrics=args.metrics, dataset=args.dataset,
                             config=args.config, scores=args.scores, out_dir=args.out, machine=args.machine, commit=args.commit,
                             notes=args.notes.read_text(encoding="utf-8") if args.notes else None)
    print(json.dumps(result, indent=2))
    return 0

"""Sub-command ``mmtrain models``: the released and registered models, their cards, fetching the authors' weights."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``mmtrain models list`` and ``mmtrain models show NAME``."""
    from mmtrain.model.fetch import OFFICIAL_URL
    from mmtrain.model.registry import DEFAULT_MODEL

    p = subparsers.add_parser("models", help="models by name: list them, show a card, fetch the authors' weights",
                              description="Models by name: those shipped in the package and those registered with "
                                          "`models fetch`. Every --model (magnify, evaluate) and train.init_weights "
                                          f"takes their names; with none named, {DEFAULT_MODEL} is used.")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="names, files and summaries",
                        description="List the released models and those registered with `models fetch` "
                                    "(name, file, summary); the default model is marked.")
    ls.set_defaults(func=_list)
    fetch = sub.add_parser(
        "fetch", help="download the authors' trained model, verify, convert and register it",
        description="Download the authors' released TensorFlow checkpoint archive, check its SHA-256 and the "
                    "weights' digest, convert it to the numpy archive this project loads and register it by name "
                    "in $MOTIONMAG_HOME/models (else $XDG_DATA_HOME/motionmag/models, "
                    "~/.local/share/motionmag/models); then `--model NAME` works everywhere. Nothing is "
                    "registered when any step fails. The weights are the authors' (academic, non-commercial "
                    "use only); this project does not redistribute them.")
    fetch.add_argument("which", choices=("official",), help="the model to fetch: official (Oh et al. 2018, step 259002)")
    fetch.add_argument("--url", default=OFFICIAL_URL, help="address of the archive (zip or tar)")
    fetch.add_argument("--sha256", default=None,
                       help="expected SHA-256 of the archive (hex); default: the digest recorded in the code, if any")
    fetch.add_argument("--name", default="official", help="name to register the model under")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server")
    fetch.set_defaults(func=_fetch)
    show = sub.add_parser("show", help="print a model card (Markdown)",
                          description="Print a released model's card (Markdown), or with --path the path of "
                                      "any model spec's verified weights.")
    show.add_argument("name", help="a released model's name (with --path: any model spec)")
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
    from mmtrain.model.registry import DEFAULT_MODEL, models_home, registered_models
    from mmtrain.model.released import RELEASES

    if not RELEASES:
        print("no released models in this installation")
    for rel in RELEASES.values():
        marker = " (default)" if rel.name == DEFAULT_MODEL else ""
        print(f"{rel.name}{marker}\t{rel.file}\t{rel.summary}")
    for name, path in registered_models().items():
        print(f"{name}\t{path}\tthe authors' weights, registered by `mmtrain models fetch` in {models_home()}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from mmtrain.model.fetch import OFFICIAL_TERMS, fetch_official

    result = fetch_official(url=args.url, sha256=args.sha256, name=args.name, timeout=args.timeout,
                            progress=not args.quiet)
    print(f"{result.name}: {result.path} (step {result.step}; archive SHA-256 {result.archive_sha256})")
    print(f"use it with --model {result.name}")
    print(OFFICIAL_TERMS)
    return 0


def _show(args: argparse.Namespace) -> int:
    from mmtrain.model.registry import resolve_model
    from mmtrain.model.released import card_path

    if args.path:
        print(resolve_model(args.name).path)
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

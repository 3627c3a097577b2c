"""``mmdata preview``: write PNG contact sheets of rendered samples (:mod:`mmdata.render.preview`).

Registering the command imports nothing of the renderer; running it does.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.scene import PART_NAMES

if TYPE_CHECKING:
    from mmdata.sources.base import Catalogue

__all__ = ["register"]

log = logging.getLogger("mmdata.render.preview")  # the logger the command always logged through


def _catalogue(args: argparse.Namespace, config: dict[str, Any], scratch: Path) -> Catalogue:
    from mmdata.sources.build import build_catalogue
    from mmdata.sources.catalogue import open_catalogue

    if args.catalogue is not None:
        return open_catalogue(args.catalogue)
    log.info("no --catalogue given: building the %s catalogue of the config in a temporary folder", config["sources"]["kind"])
    return open_catalogue(build_catalogue(config["sources"], scratch / "catalogue"))


def _run(args: argparse.Namespace) -> int:
    from mmdata.config import load_config
    from mmdata.render.preview import write_previews
    from mmdata.spec import DatasetSpec

    overrides: dict[str, Any] = {}
    if args.size is not None:
        overrides["dataset"] = {"image_size": args.size}
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = load_config(args.config, overrides=overrides)
    spec = DatasetSpec.from_config(config)
    parts = [spec.part_name(p) for p in (args.parts or spec.part_numbers)]
    with tempfile.TemporaryDirectory(prefix="mmdata-preview-") as scratch:
        catalogue = _catalogue(args, config, Path(scratch))
        paths = write_previews(spec, catalogue, Path(args.out), parts, samples=args.samples, start=args.start, gain=args.gain)
    for path in paths:
        print(path)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``preview`` command."""
    p = subparsers.add_parser("preview", help="write PNG contact sheets of rendered samples (A, B, Y, |B-A|) per part",
                              description="Render a few samples of each part and write PNG contact sheets "
                                          "(A, B, Y and |B-A| per sample), to look at the data before generating it.")
    p.add_argument("-o", "--out", required=True, help="folder for preview-<part>.png")
    p.add_argument("--config", help="YAML config (default: all defaults)")
    p.add_argument("--catalogue", help="catalogue folder (mmdata sources build); default: build the config's sources")
    p.add_argument("--parts", nargs="+", metavar="PART", help=f"parts by name or number (default: all of {', '.join(PART_NAMES)} and the custom parts)")
    p.add_argument("--samples", type=_positive_int, default=4, help="samples per part (default 4)")
    p.add_argument("--start", type=int, default=0, help="index of the first sample (default 0)")
    p.add_argument("--size", type=int, help="override dataset.image_size")
    p.add_argument("--seed", type=int, help="override the global seed")
    p.add_argument("--gain", type=float, default=8.0, help="amplification of |B - A| (default 8)")
    p.set_defaults(func=_run)

"""``mmdata sources build`` and ``mmdata sources show``."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sources`` command with its ``build`` and ``show`` sub-commands."""
    parser = subparsers.add_parser("sources", help="build and inspect source catalogues (COCO, VOC, built-in)",
                                   description="Build a source catalogue (backgrounds and an object bank from COCO "
                                               "and VOC, or the built-in photographs) and inspect one.")
    sub = parser.add_subparsers(dest="sources_command", metavar="ACTION")
    sub.required = True

    build = sub.add_parser("build", help="build a catalogue folder (catalogue.json + objects.zarr)",
                           description="Build a catalogue folder (catalogue.json + objects.zarr) from the configured "
                                       "sources: COCO backgrounds and VOC object cutouts, or the built-in photographs.")
    build.add_argument(
        "--kind", choices=["builtin", "coco_voc"], help="source kind (default: the config's sources.kind)"
    )
    build.add_argument("--config", help="YAML config whose `sources` section is used (default: all defaults)")
    build.add_argument("--coco-json", help="COCO instances JSON (sources.coco.annotations)")
    build.add_argument("--coco-images", help="folder of the COCO images (sources.coco.images)")
    build.add_argument(
        "--coco-masks", action="store_true", default=None, help="also use COCO instance masks as objects"
    )
    build.add_argument("--voc-root", help="VOCdevkit/VOC20xx folder (sources.voc.root)")
    build.add_argument("-o", "--out", required=True, help="catalogue folder to write (replaced atomically)")
    build.add_argument("--workers", type=int, default=1, help="processes decoding images in parallel (default 1)")
    build.set_defaults(func=_build)

    show = sub.add_parser("show", help="print a catalogue's counts; optionally write a PNG contact sheet",
                          description="Print a catalogue's counts (backgrounds, objects, skipped items); optionally "
                                      "write a PNG contact sheet of random backgrounds and objects.")
    show.add_argument("--catalogue", required=True, help="catalogue folder (mmdata sources build -o)")
    show.add_argument("--sheet", help="write a contact sheet of random backgrounds and objects to this PNG")
    show.add_argument("--seed", type=int, default=0, help="seed choosing the items of the sheet (default 0)")
    show.add_argument("--json", action="store_true", help="print the summary as JSON")
    show.set_defaults(func=_show)


def _sources_config(args: argparse.Namespace) -> dict[str, Any]:
    from mmdata.config import load_config

    overrides: dict[str, Any] = {}
    if args.kind:
        overrides["kind"] = args.kind
    coco = {
        k: v
        for k, v in (("annotations", args.coco_json), ("images", args.coco_images), ("use_masks", args.coco_masks))
        if v is not None
    }
    if coco:
        overrides["coco"] = coco
    if args.voc_root:
        overrides["voc"] = {"root": args.voc_root}
    if (coco or args.voc_root) and not args.kind:
        overrides["kind"] = "coco_voc"
    return load_config(args.config, overrides={"sources": overrides})["sources"]


def _build(args: argparse.Namespace) -> int:
    from mmdata.sources.build import build_catalogue
    from mmdata.sources.catalogue import open_catalogue

    out = build_catalogue(_sources_config(args), args.out, workers=args.workers, progress=not args.quiet)
    cat = open_catalogue(out)
    counts = cat.summary["counts"]
    print(
        f"{out}: {counts['backgrounds']} backgrounds, {counts['objects']} objects, {counts['skipped']} skipped; identity {cat.identity}"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    import numpy as np

    from mmdata.sources.catalogue import open_catalogue
    from mmdata.sources.sheet import contact_sheet

    cat = open_catalogue(args.catalogue)
    summary = cat.summary
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        counts = summary["counts"]
        print(f"catalogue {cat.path} ({summary['kind']}), identity {summary['identity']}")
        print(f"  backgrounds: {counts['backgrounds']}")
        print(f"  objects:     {counts['objects']}")
        print(f"  skipped:     {counts['skipped']}")
        for reason, n in counts["skipped_by_reason"].items():
            print(f"    {n:6d}  {reason}")
    if args.sheet:
        path = contact_sheet(cat, args.sheet, np.random.default_rng(args.seed))
        print(f"contact sheet: {path}")
    return 0

"""``mmdata export-official`` and ``mmdata import-official``: our store to and from the authors' layout."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def _export(args: argparse.Namespace) -> int:
    from mmdata.formats.official import export_official

    n = export_official(args.root, args.out, parts=args.parts, workers=args.workers, progress=not args.quiet)
    print(f"{args.out}: {n} samples")
    return 0


def _import(args: argparse.Namespace) -> int:
    from mmdata.config import load_config
    from mmdata.formats.official import import_official
    from mmdata.store.layout import StoreSettings

    settings = StoreSettings.from_config(load_config(args.config))
    paths = import_official(args.src, args.root, part=args.part, shard_size=args.shard_size, settings=settings, workers=args.workers, progress=not args.quiet)
    print(f"{args.root}: {len(paths)} shard(s); run `mmdata index --root {args.root}` next")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export-official`` and ``import-official``."""
    p = subparsers.add_parser("export-official", help="write the authors' layout (frameA/B/C, amplified, meta, train_mf.txt)",
                              description="Export an indexed dataset to the authors' folder layout (frameA/, frameB/ "
                                          "perturbed, frameC/, amplified/, meta/*.json, train_mf.txt) so that their "
                                          "code and other implementations can train on it.")
    p.add_argument("--root", type=Path, required=True, help="dataset root")
    p.add_argument("-o", "--out", type=Path, required=True, help="folder to write the authors' layout into")
    p.add_argument("--parts", nargs="*", default=None, help="parts to export (default all)")
    p.add_argument("--workers", type=int, default=1, help="threads encoding PNGs")
    p.set_defaults(func=_export)

    p = subparsers.add_parser("import-official", help="read the authors' layout into shard stores",
                              description="Import a dataset in the authors' folder layout (frameA/, frameB/, frameC/, "
                                          "amplified/, meta/*.json) into shard stores under ROOT; index it with "
                                          "`mmdata index` next.")
    p.add_argument("src", type=Path, help="folder of the authors' layout (with frameA/, frameB/, frameC/, amplified/, meta/)")
    p.add_argument("--root", type=Path, required=True, help="dataset root to write the shard stores into")
    p.add_argument("--part", default="1", help="part for samples whose meta names none (default 1)")
    p.add_argument("--shard-size", type=int, default=100, help="samples per shard store")
    p.add_argument("--config", type=Path, default=None, help="config whose `store` section sets compression")
    p.add_argument("--workers", type=int, default=1, help="threads decoding PNGs")
    p.set_defaults(func=_import)

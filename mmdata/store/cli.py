"""Sub-commands of ``mmdata`` for the dataset store.

``generate`` (one shard), ``index`` (manifest + card), ``audit`` and ``explain``. Each parses its
arguments and calls the library; errors become one line + exit 2 (``export-official`` and
``import-official`` live with the layout they read and write, :mod:`mmdata.formats.cli`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _generate(args: argparse.Namespace) -> int:
    from mmdata.config import load_config, warn_schema_defaults
    from mmdata.errors import StoreError
    from mmdata.fsutil import os_errors_named
    from mmdata.store.layout import shard_path
    from mmdata.store.generate import GenerateSpec, generate_shard, plan_shard
    from mmdata.sources.catalogue import open_catalogue

    if args.config is None:
        warn_schema_defaults("mmdata generate")
    job = GenerateSpec.from_config(load_config(args.config))  # the one validation and parse
    plan = plan_shard(job.dataset, args.part, args.shard)
    catalogue = open_catalogue(args.catalogue)
    with os_errors_named(shard_path(args.root, plan.part, plan.shard), StoreError, "cannot write the shard store"):
        path = generate_shard(
            job, catalogue, args.root, args.part, args.shard,
            workers=args.workers, scheduler=args.scheduler, catalogue_path=args.catalogue, progress=not args.quiet,
        )
    print(path)
    return 0


def _index(args: argparse.Namespace) -> int:
    from mmdata.errors import StoreError
    from mmdata.fsutil import os_errors_named
    from mmdata.store.manifest import build_manifest
    from mmdata.store.card import write_index

    with os_errors_named(args.root, StoreError, "cannot read the dataset"):
        manifest = build_manifest(args.root)
    path, card = write_index(args.root, manifest)  # both or neither
    n = sum(s["count"] for s in manifest["shards"])
    missing = sum(len(p["missing"]) for p in manifest["parts"].values())
    print(f"{path}: {len(manifest['shards'])} shards, {n} samples, {missing} missing shard(s); card in {card}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from mmdata.errors import ConfigError
    from mmdata.fsutil import atomic_write_text
    import numpy as np

    from mmdata.store.audit import audit_dataset, audit_shard, merge_shard_reports

    if (args.part is None) != (args.shard is None):
        raise ConfigError("audit: --part and --shard go together (one shard), or neither (the whole dataset)")
    if args.merge and args.part is not None:
        raise ConfigError("audit: --merge combines shard reports; it takes no --part/--shard")
    if args.merge:
        report = merge_shard_reports(args.root, args.merge)
    elif args.part is not None:
        report, entry = audit_shard(args.root, args.part, args.shard, samples=args.samples, catalogue=args.catalogue,
                                    seed=args.seed, fast=args.fast, progress=not args.quiet)
        if args.json:
            atomic_write_text(args.json, report.to_json(entry))
    else:
        report = audit_dataset(args.root, samples=args.samples, catalogue=args.catalogue, rng=np.random.default_rng(args.seed),
                               progress=not args.quiet, fast=args.fast)
    if args.json and args.part is None:
        atomic_write_text(args.json, report.to_json())
    print(report.text())
    return 0 if report.ok or args.exit_zero else 1


def _format_layer(title: str, layer: dict[str, Any]) -> list[str]:
    src = layer["source"]
    about = ", ".join(f"{k}={v}" for k, v in src.items() if k not in ("id", "sha256"))
    dx, dy = layer["motion"]
    return [
        f"{title}: {layer['source_id']}" + (f" ({about})" if about else ""),
        f"    scale {layer['scale']:.4g}, top-left at ({layer['position'][0]:.3f}, {layer['position'][1]:.3f}) px, "
        f"motion (dx, dy) = ({dx:.4f}, {dy:.4f}) px, |delta| {layer['motion_px']:.4f} px, magnified {layer['magnified_motion_px']:.3f} px, "
        f"colour offset ({', '.join(f'{c:.2f}' for c in layer['color_offset'])})",
        *([_format_affine(layer)] if "affine" in layer else []),
    ]


def _format_affine(layer: dict[str, Any]) -> str:
    gxx, gxy, gyx, gyy = layer["motion_gradient"]
    cx, cy = layer["motion_centre"]
    parts = layer["affine"]
    return (
        f"    affine: A - I = (({gxx:.3e}, {gxy:.3e}), ({gyx:.3e}, {gyy:.3e})) about ({cx:.3f}, {cy:.3f}) px: "
        f"rotation {parts['rotation_deg']:.4f} deg, scale {parts['scale_x']:+.3e} / {parts['scale_y']:+.3e}, shear {parts['shear']:+.3e}"
    )


def _format_recipe(name: str, recipe: dict[str, Any]) -> str:
    """e.g. ``custom part still_bg: recipe fg_bg with background_moves false, objects 2-3``."""
    changes = [f"{k} {str(recipe[k]).lower()}" for k in ("background_moves", "objects_move", "blur") if k in recipe]
    if "count_min" in recipe:
        changes.append(f"objects {recipe['count_min']}-{recipe['count_max']}")
    return f"  custom part {name}: recipe {recipe['base']}" + (f" with {', '.join(changes)}" if changes else " (no overrides)")


def format_explanation(e: dict[str, Any]) -> str:
    """Human-readable text of :func:`mmdata.store.audit.explain_sample`'s result."""
    cv = e.get("code_version") or {}
    lines = [
        f"sample {e['index']} of part {e['part']} ({e['part_name']})",
        f"  stored in {e['shard']} at offset {e['offset_in_shard']}",
        *([_format_recipe(e["part_name"], e["recipe"])] if e.get("recipe") else []),
        f"  seed: SeedSequence({e['seed']})",
        f"  alpha {e['alpha']:.6g}, photon noise std {e['noise_std']:.4g} (at mid-gray), background blur sigma {e['background_blur']:.4g} px",
        *(f"  option {key}: {text}" for key, text in (e.get("options") or {}).items()),
        *("  " + line for line in _format_layer("background", e["background"])),
        f"  {len(e['objects'])} foreground object(s), back to front:",
        *("  " + line for i, o in enumerate(e["objects"]) for line in _format_layer(f"  object {i + 1}", o)),
        f"  code: motionmag {cv.get('version')}, git commit {cv.get('git_commit')}, dirty {cv.get('git_dirty')}, source hash {str(cv.get('source_hash'))[:16]}",
        f"  config hash {e['config_hash']}, catalogue identity {(e.get('catalogue') or {}).get('identity')}, created {e['created']}",
    ]
    return "\n".join(lines)


def _explain(args: argparse.Namespace) -> int:
    from mmdata.store.audit import explain_sample

    e = explain_sample(args.root, args.part, args.index, catalogue=args.catalogue)
    print(json.dumps(e, indent=1) if args.json else format_explanation(e))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the dataset-store sub-commands."""
    p = subparsers.add_parser("generate", help="render one shard of one part into ROOT/part{P}/shard-{K:04d}.zarr",
                              description="Render one shard of one part into ROOT/part{P}/shard-{K:04d}.zarr, written "
                                          "atomically. Without --config the schema's defaults apply: the paper's "
                                          "full scale (use --config config/config.yaml for the demo).")
    p.add_argument("--config", type=Path, default=None, help="YAML config (default: all schema defaults)")
    p.add_argument("--catalogue", type=Path, required=True, help="source catalogue folder (mmdata sources build)")
    p.add_argument("--part", required=True, help="part number or name (1-5, or a custom part of dataset.custom_parts)")
    p.add_argument("--shard", type=int, required=True, help="shard number K: indices [K*shard_size, (K+1)*shard_size)")
    p.add_argument("--root", type=Path, required=True, help="dataset root")
    p.add_argument("--workers", type=int, default=1, help="local Dask workers (the job's threads; store.pool picks threads or processes)")
    p.add_argument("--scheduler", default=None, help="address of an existing dask.distributed scheduler, e.g. tcp://host:8786")
    p.set_defaults(func=_generate)

    p = subparsers.add_parser("index", help="write ROOT/manifest.json and the dataset card ROOT/card/",
                              description="Index a dataset: write ROOT/manifest.json (per-shard checksums) and the "
                                          "dataset card ROOT/card/ (both or neither).")
    p.add_argument("--root", type=Path, required=True, help="dataset root")
    p.set_defaults(func=_index)

    p = subparsers.add_parser(
        "audit", help="check every byte and record of a dataset against its provenance; re-render samples",
        description="Audit a dataset: the manifest, every shard's records, every frame against its recorded digests, "
                    "and re-renders of random samples compared byte for byte. The whole dataset by default; one shard "
                    "with --part/--shard (its report as JSON with --json); the whole from shard reports with --merge. "
                    "Exit 1 when anything is wrong.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--root", type=Path, required=True, help="dataset root")
    p.add_argument("--samples", type=int, default=None,
                   help="random samples to re-render (of the dataset, or of the shard with --shard; default: all); every frame is hashed regardless")
    p.add_argument("--fast", action="store_true", help="check every frame against its recorded xxh3-128 digest only (not its sha256 as well)")
    p.add_argument("--part", default=None, help="with --shard: audit one shard of this part (number or name)")
    p.add_argument("--shard", type=int, default=None, help="with --part: the shard number K")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON to this file (what --merge reads)")
    p.add_argument("--merge", type=Path, nargs="+", default=None, metavar="REPORT",
                   help="combine shard reports (--json) with the checks of the dataset as a whole")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when the audit finds problems (the report says so)")
    p.add_argument("--catalogue", type=Path, default=None, help="catalogue folder (default: the recorded one)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random choice of samples")
    p.set_defaults(func=_audit)

    p = subparsers.add_parser("explain", help="where one sample came from, in plain terms",
                              description="Where sample INDEX of a part came from, in plain terms: its shard, source "
                                          "images and objects, motions, alpha, noise and seed (--json for the record).")
    p.add_argument("--root", type=Path, required=True, help="dataset root")
    p.add_argument("--part", required=True, help="part number or name (1-5, or a custom part of dataset.custom_parts)")
    p.add_argument("--index", type=int, required=True, help="sample index within the part")
    p.add_argument("--catalogue", type=Path, default=None, help="catalogue folder (default: the recorded one)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_explain)

"""``mmdata preview``: a PNG contact sheet of a few rendered samples per part, for a person to look at.

Each part gets ``preview-<part>.png``: one row per sample, columns A (``frame_a``), B (``frame_b``),
Y (``frame_y``, the magnified frame) and ``gain * |B - A|`` (the input motion made visible), with a
caption giving the sample index, alpha and the background's motion.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from mmdata.config import load_config
from mmdata.fsutil import atomic_path
from mmdata.render.params import PART_NAMES, SampleParams, part_name
from mmdata.render.composite import render
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec

__all__ = ["register", "contact_sheet", "write_previews"]

log = logging.getLogger(__name__)

_COLUMNS = ("A", "B", "Y", "|B-A| x{gain:g}")
_CAPTION = 14  # pixels of caption above each row


def contact_sheet(rows: Sequence[tuple[SampleParams, dict[str, np.ndarray]]], gain: float) -> Image.Image:
    """Lay out samples as rows of (A, B, Y, amplified |B - A|) with captions.

    Args:
        rows: (params, frames) of each sample, as returned by :func:`mmdata.render.composite.render`.
        gain: factor applied to the absolute difference before display.

    Returns:
        An RGB image.
    """
    size = rows[0][1]["frame_a"].shape[0]
    gap = 4
    width = 4 * size + 5 * gap
    height = _CAPTION + len(rows) * (size + _CAPTION + gap) + gap
    sheet = Image.new("RGB", (width, height), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(_COLUMNS):
        draw.text((gap + c * (size + gap), 1), label.format(gain=gain), fill=(230, 230, 230))
    for r, (params, frames) in enumerate(rows):
        top = _CAPTION + r * (size + _CAPTION + gap)
        dx, dy = params.background.motion
        caption = f"#{params.index}  alpha {params.alpha:.1f}  bg ({dx:+.2f}, {dy:+.2f})  {len(params.objects)} obj"
        draw.text((gap, top + 1), caption, fill=(200, 200, 120))
        diff = np.abs(frames["frame_b"].astype(np.float32) - frames["frame_a"].astype(np.float32)) * gain
        tiles = (frames["frame_a"], frames["frame_b"], frames["frame_y"], np.clip(diff, 0, 255).astype(np.uint8))
        for c, tile in enumerate(tiles):
            sheet.paste(Image.fromarray(tile), (gap + c * (size + gap), top + _CAPTION))
    return sheet


def _save_png(img: Image.Image, path: Path) -> None:
    """Write a PNG under a temporary name in the same folder, then rename it into place."""
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def write_previews(
    spec: DatasetSpec, catalogue: Catalogue, out_dir: Path, parts: Sequence[str], *, samples: int, start: int, gain: float
) -> list[Path]:
    """Render ``samples`` samples of each part from index ``start`` and write one contact sheet per part.

    Returns:
        The PNG paths written, in part order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for part in parts:
        rows = [render(spec, part, start + i, catalogue) for i in range(samples)]
        path = out_dir / f"preview-{part_name(part)}.png"
        _save_png(contact_sheet(rows, gain), path)
        log.info("wrote %s", path)
        written.append(path)
    return written


def _catalogue(args: argparse.Namespace, config: dict[str, Any], scratch: Path) -> Catalogue:
    from mmdata.sources import build_catalogue, open_catalogue

    if args.catalogue is not None:
        return open_catalogue(args.catalogue)
    log.info("no --catalogue given: building the %s catalogue of the config in a temporary folder", config["sources"]["kind"])
    return open_catalogue(build_catalogue(config["sources"], scratch / "catalogue"))


def _run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.size is not None:
        overrides["dataset"] = {"image_size": args.size}
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = load_config(args.config, overrides=overrides)
    spec = DatasetSpec.from_config(config)
    parts = [part_name(p) for p in (args.parts or PART_NAMES)]
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
    p = subparsers.add_parser("preview", help="write PNG contact sheets of rendered samples (A, B, Y, |B-A|) per part")
    p.add_argument("-o", "--out", required=True, help="folder for preview-<part>.png")
    p.add_argument("--config", help="YAML config (default: all defaults)")
    p.add_argument("--catalogue", help="catalogue folder (mmdata sources build); default: build the config's sources")
    p.add_argument("--parts", nargs="+", metavar="PART", help=f"parts by name or number (default: all of {', '.join(PART_NAMES)})")
    p.add_argument("--samples", type=_positive_int, default=4, help="samples per part (default 4)")
    p.add_argument("--start", type=int, default=0, help="index of the first sample (default 0)")
    p.add_argument("--size", type=int, help="override dataset.image_size")
    p.add_argument("--seed", type=int, help="override the global seed")
    p.add_argument("--gain", type=float, default=8.0, help="amplification of |B - A| (default 8)")
    p.set_defaults(func=_run)

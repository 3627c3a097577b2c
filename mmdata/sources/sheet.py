"""A PNG contact sheet of a catalogue: random backgrounds and random objects, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from mmdata.sources.base import Catalogue
from mmdata.fsutil import atomic_path

__all__ = ["contact_sheet", "fit_label"]

ELLIPSIS = "..."  # ASCII: Pillow's default bitmap font has no glyph for U+2026


def _thumb(rgb: np.ndarray, alpha: np.ndarray | None, cell: int) -> np.ndarray:
    """Fit an image (objects composited over a checkerboard) into a ``cell`` x ``cell`` tile."""
    h, w = rgb.shape[:2]
    if alpha is not None:
        yy, xx = np.mgrid[0:h, 0:w]
        checker = np.where(((yy // 8) + (xx // 8)) % 2 == 0, 200.0, 140.0)[..., None]
        rgb = alpha[..., None] * rgb + (1.0 - alpha[..., None]) * checker
    img = Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8))
    scale = min(cell / w, cell / h)
    img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    tile = np.full((cell, cell, 3), 255, dtype=np.uint8)
    y0, x0 = (cell - img.height) // 2, (cell - img.width) // 2
    tile[y0 : y0 + img.height, x0 : x0 + img.width] = np.asarray(img)
    return tile


def fit_label(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text`` if it fits in ``width``, else its start and end around an ellipsis, as long as fits.

    An id's start (its source, ``voc:``/``coco:``) and its end (image and instance) both identify it,
    so the middle is what is dropped; the split keeps one more character at the start than at the end.

    Args:
        text: the label.
        width: the room in pixels.
        measure: width in pixels of a string (e.g. ``ImageDraw.textlength``).

    Returns:
        The label, whole or shortened in the middle.

    Example:
        >>> fit_label("voc:2007_000063:12", 10 * 6, lambda s: 6 * len(s))
        'voc:...:12'
    """
    if measure(text) <= width:
        return text
    for keep in range(len(text) - 1, 0, -1):
        head, tail = text[: (keep + 1) // 2], text[len(text) - keep // 2 :]
        short = f"{head}{ELLIPSIS}{tail}"
        if measure(short) <= width:
            return short
    return ELLIPSIS


def contact_sheet(
    catalogue: Catalogue,
    out: str | Path,
    rng: np.random.Generator,
    *,
    n_backgrounds: int = 8,
    n_objects: int = 32,
    cell: int = 128,
    columns: int = 8,
) -> Path:
    """Write a PNG with ``n_backgrounds`` random backgrounds then ``n_objects`` random objects.

    Args:
        catalogue: the catalogue to sample from.
        out: PNG path to write.
        rng: random generator choosing the items (without replacement).
        n_backgrounds: backgrounds shown (fewer if the catalogue has fewer).
        n_objects: objects shown, over a checkerboard so their alpha is visible.
        cell: tile size in pixels.
        columns: tiles per row.

    Returns:
        ``out``.
    """
    bg_ids = list(catalogue.background_ids)
    obj_ids = list(catalogue.object_ids)
    chosen_bg = [
        bg_ids[i] for i in sorted(rng.choice(len(bg_ids), size=min(n_backgrounds, len(bg_ids)), replace=False))
    ]
    chosen_obj = [
        obj_ids[i] for i in sorted(rng.choice(len(obj_ids), size=min(n_objects, len(obj_ids)), replace=False))
    ]
    tiles = [(_thumb(catalogue.background(i), None, cell), i) for i in chosen_bg]
    tiles += [(_thumb(*catalogue.object(i), cell), i) for i in chosen_obj]
    rows = max(1, -(-len(tiles) // columns))
    label_h = 14
    sheet = Image.new("RGB", (columns * cell, rows * (cell + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (tile, item_id) in enumerate(tiles):
        x, y = (k % columns) * cell, (k // columns) * (cell + label_h)
        sheet.paste(Image.fromarray(tile), (x, y))
        draw.text((x + 2, y + cell), fit_label(item_id, cell - 4, draw.textlength), fill="black")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out

"""A PNG contact sheet of a few rendered samples per part, for a person to look at (``mmdata preview``,
:mod:`mmdata.render.cli`).

Each part gets ``preview-<part>.png``: one row per sample, columns A (``frame_a``), B (``frame_b``),
Y (``frame_y``, the magnified frame) and ``gain * |B - A|`` (the input motion made visible), with a
caption giving the sample index, alpha and the background's motion. With optional generator changes
on, each row's caption has further lines naming the active ones with this sample's values
(:func:`option_labels`): a custom part's recipe ``part still_bg = fg_bg, background_moves false``, ``linear light``, ``gain B 1.07``, ``read noise 1.30``,
the axial targets ``axial theta 30.0° alpha_x 12.0 alpha_y 3.0``, the background's
affine part ``bg affine rot +1.20° scale +0.80% shear +0.004`` and the objects' largest
``obj affine |rot| <= 1.9° |scale| <= 0.7%``; with none on, the sheet is laid out as it always was.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from mmdata.fsutil import atomic_path
from mmdata.render.measure import affine_parts
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.composite import render
from mmdata.sources.base import Catalogue
from mmdata.spec import CustomPart, DatasetSpec

__all__ = ["option_labels", "contact_sheet", "write_previews"]

log = logging.getLogger(__name__)

_COLUMNS = ("A", "B", "Y", "|B-A| x{gain:g}")
_CAPTION = 14  # pixels of caption above each row


_LINE = 12  # pixels of each further caption line (the active options)


def _rot_scale_shear(layer: LayerParams) -> tuple[float, float, float]:
    """Rotation (degrees), mean scale change and shear of a layer's A = I + motion_gradient
    (:func:`mmdata.render.measure.affine_parts`; exactly the drawn theta, s, h before capping)."""
    p = affine_parts(layer.motion_gradient)
    return p["rotation_deg"], (p["scale_x"] + p["scale_y"]) / 2.0, p["shear"]


def option_labels(params: SampleParams, *, linear_light: bool = False, custom: CustomPart | None = None) -> list[str]:
    """Labels of the optional generator changes active in one sample, with its values.

    Args:
        params: the sample's parameters (gain, read noise, axial targets and affine parts are read from them).
        linear_light: whether the sample was rendered in linear light (``dataset.linear_light``; a
            dataset-wide setting, not a per-sample parameter).
        custom: the custom part the sample belongs to (``dataset.custom_parts``), if any: its recipe
            and overrides come first, e.g. ``"part still_bg = fg_bg, background_moves false"``.

    Returns:
        e.g. ``["linear light", "gain B 1.07", "read noise 1.30", "axial theta 30.0° alpha_x 12.0 alpha_y 3.0", "bg affine rot +1.20° scale +0.80%
        shear +0.004", "obj affine |rot| <= 1.9° |scale| <= 0.7%"]``; empty with every option off.
    """
    labels = [_recipe_label(custom)] if custom is not None else []
    if linear_light:
        labels.append("linear light")
    if params.gain_b != 1.0:
        labels.append(f"gain B {params.gain_b:.3f}")
    if params.read_noise_std > 0.0:
        labels.append(f"read noise {params.read_noise_std:.2f}")
    if params.is_axial:
        labels.append(f"axial theta {math.degrees(params.theta):.1f}° alpha_x {params.alpha:.1f} alpha_y {params.alpha_y:.1f}")
    if params.background.is_affine:
        rot, scale, shear = _rot_scale_shear(params.background)
        labels.append(f"bg affine rot {rot:+.2f}° scale {100 * scale:+.2f}% shear {shear:+.3f}")
    moved = [_rot_scale_shear(o) for o in params.objects if o.is_affine]
    if moved:
        rot = max(abs(r) for r, _, _ in moved)
        scale = max(abs(s) for _, s, _ in moved)
        labels.append(f"obj affine |rot| <= {rot:.1f}° |scale| <= {100 * scale:.1f}%")
    return labels


def _recipe_label(custom: CustomPart) -> str:
    changes = [f"{k} {str(v).lower()}" if k != "count" else f"objects {v[0]}-{v[1]}" for k, v in custom.overrides().items()]
    return f"part {custom.name} = {custom.base}" + "".join(f", {c}" for c in changes)


def _wrap(draw: ImageDraw.ImageDraw, labels: Sequence[str], width: float) -> list[str]:
    """Labels joined by `` · `` into lines no wider than ``width`` pixels (a label is never split)."""
    lines: list[str] = []
    for label in labels:
        joined = f"{lines[-1]} · {label}" if lines else label
        if lines and draw.textlength(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(label)
    return lines


def contact_sheet(
    rows: Sequence[tuple[SampleParams, dict[str, np.ndarray]]],
    gain: float,
    *,
    linear_light: bool = False,
    custom: CustomPart | None = None,
) -> Image.Image:
    """Lay out samples as rows of (A, B, Y, amplified |B - A|) with captions.

    Args:
        rows: (params, frames) of each sample, as returned by :func:`mmdata.render.composite.render`.
        gain: factor applied to the absolute difference before display.
        linear_light: whether the samples were rendered in linear light (named in the captions).
        custom: the custom part of the samples, if any (its recipe is named in the captions).

    Returns:
        An RGB image. Each row's caption names the sample, alpha, the background's motion and the
        object count, then (on further lines, as many as the widest row needs) :func:`option_labels`.
    """
    size = rows[0][1]["frame_a"].shape[0]
    gap = 4
    width = 4 * size + 5 * gap
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    options = [_wrap(measure, option_labels(p, linear_light=linear_light, custom=custom), width - 2 * gap) for p, _ in rows]
    caption = _CAPTION + _LINE * max(len(lines) for lines in options)
    height = _CAPTION + len(rows) * (size + caption + gap) + gap
    sheet = Image.new("RGB", (width, height), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(_COLUMNS):
        draw.text((gap + c * (size + gap), 1), label.format(gain=gain), fill=(230, 230, 230))
    for r, (params, frames) in enumerate(rows):
        top = _CAPTION + r * (size + caption + gap)
        dx, dy = params.background.motion
        text = f"#{params.index}  alpha {params.alpha:.1f}  bg ({dx:+.2f}, {dy:+.2f})  {len(params.objects)} obj"
        draw.text((gap, top + 1), text, fill=(200, 200, 120))
        for k, line in enumerate(options[r]):
            draw.text((gap, top + _CAPTION + k * _LINE), line, fill=(140, 200, 230))
        diff = np.abs(frames["frame_b"].astype(np.float32) - frames["frame_a"].astype(np.float32)) * gain
        tiles = (frames["frame_a"], frames["frame_b"], frames["frame_y"], np.clip(diff, 0, 255).astype(np.uint8))
        for c, tile in enumerate(tiles):
            sheet.paste(Image.fromarray(tile), (gap + c * (size + gap), top + caption))
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
        name = spec.part_name(part)
        custom = next((c for c in spec.custom_parts if c.name == name), None)
        path = out_dir / f"preview-{name}.png"
        _save_png(contact_sheet(rows, gain, linear_light=spec.linear_light, custom=custom), path)
        log.info("wrote %s", path)
        written.append(path)
    return written

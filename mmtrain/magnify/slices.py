"""How people judge magnification: x-t / y-t slice images and side-by-side frames (paper Fig. 1, 7).

An **x-t slice** takes the pixels of one image row (``y = at``) from every frame and stacks them
downwards in time: a ``(T, W, 3)`` image whose horizontal axis is x. A **y-t slice** takes one
column (``x = at``) and stacks it rightwards in time: an ``(H, T, 3)`` image whose vertical axis is y.
Motion along the line shows as wiggles of the edges it crosses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mmdata.errors import ConfigError, VideoError
from mmdata.fsutil import atomic_path, check_suffix

__all__ = ["SliceRecorder", "check_slice", "check_png_path", "side_by_side", "slice_figure", "save_png"]

SliceAxis = Literal["x", "y"]


def check_slice(axis: str, at: int, height: int, width: int) -> None:
    """Check that the line ``at`` exists in a ``height x width`` frame.

    Raises:
        ConfigError: unknown axis, or the line is outside the frame.
    """
    if axis not in ("x", "y"):
        raise ConfigError(f"slice: expected 'x' (an x-t slice along row AT) or 'y' (a y-t slice along column AT), got {axis!r}")
    limit = height if axis == "x" else width
    if not 0 <= at < limit:
        what = "row" if axis == "x" else "column"
        raise ConfigError(f"at: {what} {at} is outside the frame (expected 0 <= at < {limit})")


class SliceRecorder:
    """Collect one line per frame while a video streams past; memory ``T x line length``.

    Args:
        axis: ``"x"`` for an x-t slice along row ``at``, ``"y"`` for a y-t slice along column ``at``.
        at: the row or column index.

    Example:
        >>> rec = SliceRecorder("x", 2)
        >>> rec.add(np.zeros((5, 4, 6, 3), np.uint8))
        >>> rec.image().shape
        (5, 6, 3)
    """

    def __init__(self, axis: SliceAxis, at: int) -> None:
        if axis not in ("x", "y"):
            raise ConfigError(f"slice: expected 'x' or 'y', got {axis!r}")
        self.axis, self.at = axis, at
        self._lines: list[np.ndarray] = []

    def add(self, frames: np.ndarray) -> None:
        """Record the line of each frame of ``(n, H, W, 3)``."""
        check_slice(self.axis, self.at, frames.shape[1], frames.shape[2])
        lines = frames[:, self.at, :, :] if self.axis == "x" else frames[:, :, self.at, :]
        self._lines.extend(np.array(line) for line in lines)

    def image(self) -> np.ndarray:
        """The slice image: ``(T, W, 3)`` for x-t, ``(H, T, 3)`` for y-t.

        Raises:
            VideoError: no frame was recorded.
        """
        if not self._lines:
            raise VideoError("slice: no frames were recorded")
        stacked = np.stack(self._lines)  # (T, L, 3)
        return stacked if self.axis == "x" else stacked.transpose(1, 0, 2)


def side_by_side(left: np.ndarray, right: np.ndarray, *, gap: int = 0) -> np.ndarray:
    """Place images (or batches ``(n, H, W, 3)``) next to each other horizontally, ``gap`` white columns apart.

    Raises:
        ValueError: the heights (or batch sizes) differ.
    """
    if left.shape[:-2] != right.shape[:-2]:
        raise ValueError(f"side_by_side: shapes {left.shape} and {right.shape} differ in height or batch size")
    parts = [left]
    if gap:
        parts.append(np.full(left.shape[:-2] + (gap, left.shape[-1]), 255, dtype=left.dtype))
    parts.append(right)
    return np.concatenate(parts, axis=-2)


def _upscale_factor(image: np.ndarray, min_side: int, max_factor: int) -> int:
    """The integer factor that brings the image's shorter side to ``min_side`` (1 for large images)."""
    return int(min(max_factor, max(1, -(-min_side // min(image.shape[:2])))))


def slice_figure(input_slice: np.ndarray, output_slice: np.ndarray, *, labels: tuple[str, str] = ("input", "output"),
                 min_side: int = 192, max_factor: int = 8, gap: int = 8) -> np.ndarray:
    """The input's and the output's slice side by side, enlarged so that they can be read, and labelled.

    A slice of a short, small video (30 frames of 96 px: 30 x 96 px) is a thumbnail; it is enlarged
    by the integer factor that brings its shorter side to ``min_side`` (at most ``max_factor``) with
    nearest-neighbour sampling, so every pixel stays a sharp square and no motion is invented. A white
    band above each slice holds its label.

    Args:
        input_slice: ``(T, W, 3)`` or ``(H, T, 3)`` uint8 slice of the input.
        output_slice: the output's slice, the same shape.
        labels: the two captions, left and right.
        min_side: target of the shorter side after enlarging, in pixels.
        max_factor: the largest enlargement.
        gap: white columns between the two slices.

    Returns:
        ``(h, w, 3)`` uint8 image.

    Raises:
        ValueError: the slices differ in shape.

    Example:
        >>> a = np.zeros((30, 96, 3), np.uint8)
        >>> slice_figure(a, a).shape
        (233, 1352, 3)
    """
    if input_slice.shape != output_slice.shape:
        raise ValueError(f"slice_figure: shapes {input_slice.shape} and {output_slice.shape} differ")
    k = _upscale_factor(input_slice, min_side, max_factor)
    big = [np.repeat(np.repeat(s, k, axis=0), k, axis=1) for s in (input_slice, output_slice)]
    font = ImageFont.load_default(size=16)
    band = 23
    panels = []
    for image, label in zip(big, labels):
        canvas = Image.new("RGB", (image.shape[1], image.shape[0] + band), "white")
        canvas.paste(Image.fromarray(np.ascontiguousarray(image)), (0, band))
        ImageDraw.Draw(canvas).text((4, 3), label, fill="black", font=font)
        panels.append(np.asarray(canvas))
    return side_by_side(panels[0], panels[1], gap=gap)


def check_png_path(path: str | os.PathLike[str], *, what: str = "PNG image") -> Path:
    """Check that ``path`` is a ``.png`` file name (the only image format written here).

    Raises:
        ConfigError: another extension, naming the path and ``.png``.
    """
    return check_suffix(path, (".png",), what=what)


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG atomically (temporary name, then rename).

    Raises:
        ConfigError: ``path`` does not end in ``.png``.
        VideoError: the file cannot be written.
    """
    path = check_png_path(path)
    try:
        with atomic_path(path) as tmp:
            Image.fromarray(np.ascontiguousarray(image)).save(tmp, format="PNG")
    except OSError as exc:
        raise VideoError(f"{path}: cannot write the slice image ({exc})") from exc
    return path

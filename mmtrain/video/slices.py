"""How people judge magnification: x-t / y-t slice images and side-by-side frames (paper Fig. 1, 7).

An **x-t slice** takes the pixels of one image row (``y = at``) from every frame and stacks them
downwards in time: a ``(T, W, 3)`` image whose horizontal axis is x. A **y-t slice** takes one
column (``x = at``) and stacks it rightwards in time: an ``(H, T, 3)`` image whose vertical axis is y.
Motion along the line shows as wiggles of the edges it crosses.

The PNG ``magnify --slice`` writes is :func:`slice_figure`: input and output slices with labelled axes
(space in px, time in frames), each axis resized by its own integer factor (:func:`scale_slice`) so
that a short clip of a wide video is not a sliver and a long one is bounded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from mmdata.errors import ConfigError, VideoError
from mmdata.fsutil import atomic_path, check_suffix

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SliceRecorder", "check_slice", "check_png_path", "side_by_side", "scale_slice", "slice_figure", "render_figure", "save_png"]

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


#: Default bounds of a slice panel (pixels of the PNG, per panel): see :func:`scale_slice`.
MIN_SIDE, MAX_SIDE, MAX_FACTOR = 192, 1024, 8
#: The time axis of a panel is stretched to at least this many pixels (a few frames stay readable).
MIN_TIME_SIDE = 128


def _resample(image: np.ndarray, axis: int, factor: int, shrink: bool) -> np.ndarray:
    """Repeat every pixel ``factor`` times along ``axis`` (nearest), or average groups of ``factor`` (area)."""
    if factor == 1:
        return image
    if not shrink:
        return np.repeat(image, factor, axis=axis)
    starts = np.arange(0, image.shape[axis], factor)
    sums = np.add.reduceat(image.astype(np.float64), starts, axis=axis)
    counts = np.diff(np.append(starts, image.shape[axis])).astype(np.float64)
    counts = counts.reshape([-1 if a == axis else 1 for a in range(image.ndim)])
    return np.clip(np.rint(sums / counts), 0, 255).astype(np.uint8)


def scale_slice(image: np.ndarray, axis: SliceAxis, *, min_side: int = MIN_SIDE, max_side: int = MAX_SIDE,
                max_factor: int = MAX_FACTOR) -> tuple[np.ndarray, int, int]:
    """Resize a slice for viewing: each axis by its own integer factor, so the picture has a sensible shape.

    Space (x of an x-t slice, y of a y-t slice) keeps its pixels; a short line (under ``min_side``) is
    enlarged by the integer factor that brings it to ``min_side`` (at most ``max_factor``), a long one
    (over ``max_side``) is shrunk by the smallest integer factor that fits. Time is then stretched by the
    integer factor that makes it about a third of the space side (at least :data:`MIN_TIME_SIDE`
    pixels and its own frame count), so a
    30-frame clip of 640 px gives 640 x 210 px, not a 30-row sliver; a clip longer than ``max_side``
    frames is shrunk by the smallest integer factor that fits. Enlarging repeats pixels (nearest
    neighbour: every pixel a sharp rectangle, no motion invented); shrinking averages groups of pixels or
    frames (area), so a motion faster than the group blurs rather than aliases.

    Args:
        image: ``(T, W, 3)`` for x-t, ``(H, T, 3)`` for y-t.
        axis: ``"x"`` or ``"y"``.

    Returns:
        (the resized image, the space factor, the time factor); a factor below 0 means shrunk by its
        absolute value.

    Example:
        >>> img, space, time = scale_slice(np.zeros((30, 640, 3), np.uint8), "x")
        >>> img.shape, space, time
        ((210, 640, 3), 1, 7)
    """
    t_axis, s_axis = (0, 1) if axis == "x" else (1, 0)
    length, frames = image.shape[s_axis], image.shape[t_axis]
    if length > max_side:
        space = -(-(-length // max_side))  # negative: shrink by that factor
    else:
        space = int(min(max_factor, max(1, -(-min_side // length))))
    image = _resample(image, s_axis, abs(space), space < 0)
    shown = image.shape[s_axis]
    if frames > max_side:
        time = -(-(-frames // max_side))
    else:
        target = max(frames, min(max(shown // 3, MIN_TIME_SIDE), max_side))
        time = int(max(1, min(max_factor * 4, round(target / frames))))
    return _resample(image, t_axis, abs(time), time < 0), space, time


def slice_figure(input_slice: np.ndarray, output_slice: np.ndarray, *, axis: SliceAxis,
                 labels: tuple[str, str] = ("input", "output"), at: int | None = None, fps: float | None = None,
                 min_side: int = MIN_SIDE, max_side: int = MAX_SIDE, max_factor: int = MAX_FACTOR) -> "Figure":
    """The input's and the output's slice as one matplotlib figure with labelled axes.

    Each slice is resized by :func:`scale_slice` and drawn at one PNG pixel per image pixel; the axes
    are in the clip's units: ``x (px)`` or ``y (px)`` and ``t (frames)`` (with ``fps``, the label says
    the rate). x-t slices (time downwards) are stacked, input above output, sharing the x axis; y-t
    slices (time rightwards) stand side by side, sharing the y axis. Each panel's title is its label.

    Args:
        input_slice: ``(T, W, 3)`` (x-t) or ``(H, T, 3)`` (y-t) uint8 slice of the input.
        output_slice: the output's slice, the same shape.
        axis: ``"x"`` or ``"y"``.
        labels: the two panel titles.
        at: the row (x-t) or column (y-t) sliced, for the figure's title.
        fps: the clip's frame rate, named on the time axis.
        min_side, max_side, max_factor: see :func:`scale_slice`.

    Returns:
        A ``matplotlib.figure.Figure`` (no pyplot state); :func:`render_figure` makes it an image.

    Raises:
        ValueError: the slices differ in shape.  ConfigError: an unknown axis.

    Example:
        >>> a = np.zeros((30, 640, 3), np.uint8)
        >>> fig = slice_figure(a, a, axis="x", at=200)
        >>> [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
        [('input', '', 't (frames)'), ('output', 'x (px)', 't (frames)')]
        >>> render_figure(fig).shape
        (558, 740, 3)
    """
    from matplotlib.figure import Figure

    if input_slice.shape != output_slice.shape:
        raise ValueError(f"slice_figure: shapes {input_slice.shape} and {output_slice.shape} differ")
    if axis not in ("x", "y"):
        raise ConfigError(f"slice: expected 'x' or 'y', got {axis!r}")
    panels = [scale_slice(s, axis, min_side=min_side, max_side=max_side, max_factor=max_factor)[0] for s in (input_slice, output_slice)]
    h, w = panels[0].shape[:2]
    left, right, top, bottom, title, gap = 70, 30, 24, 46, 24, 20  # margins in pixels (ticks, labels, titles)
    stacked = axis == "x"
    width = left + w + right if stacked else left + 2 * w + gap + right
    height = top + 2 * (title + h) + gap + bottom if stacked else top + title + h + bottom
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    t_label = "t (frames)" if fps is None else f"t (frames at {fps:.4g} fps)"
    frames = input_slice.shape[0] if stacked else input_slice.shape[1]
    length = input_slice.shape[1] if stacked else input_slice.shape[0]
    for k, (image, label) in enumerate(zip(panels, labels)):
        if stacked:
            x0, y0 = left, bottom + (1 - k) * (h + title + gap)
        else:
            x0, y0 = left + k * (w + gap), bottom
        ax = fig.add_axes((x0 / width, y0 / height, w / width, h / height))
        shared = k == 0 if stacked else k == 1  # the shared axis is labelled once: bottom (x-t) or left (y-t)
        if stacked:
            extent = (-0.5, length - 0.5, frames - 0.5, -0.5)
            ax.set_xlabel("" if shared else "x (px)"), ax.set_ylabel(t_label)
        else:
            extent = (-0.5, frames - 0.5, length - 0.5, -0.5)
            ax.set_xlabel(t_label), ax.set_ylabel("" if shared else "y (px)")
        ax.imshow(image, interpolation="nearest", aspect="auto", extent=extent)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=8, labelbottom=not (stacked and shared), labelleft=not (shared and not stacked))
    if at is not None:
        fig.suptitle(f"{axis}-t slice at {'row' if stacked else 'column'} {at}", fontsize=10, y=1 - 4 / height, va="top")
    return fig


def render_figure(fig: "Figure") -> np.ndarray:
    """A matplotlib figure as an ``(h, w, 3)`` uint8 RGB image (Agg, the figure's own size and dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.array(canvas.buffer_rgba())[..., :3]


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
    from PIL import Image  # here: a magnification without slice or frame images needs no image library

    path = check_png_path(path)
    try:
        with atomic_path(path) as tmp:
            Image.fromarray(np.ascontiguousarray(image)).save(tmp, format="PNG")
    except OSError as exc:
        raise VideoError(f"{path}: cannot write the slice image ({exc})") from exc
    return path

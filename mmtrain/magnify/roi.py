"""Confining magnification to a region of the frame: a rectangle with a feathered edge.

``mmtrain magnify --roi X Y W H`` (``roi=`` of :func:`~mmtrain.magnify.api.magnify` and
:func:`~mmtrain.magnify.videofile.magnify_video`) magnifies the pixels ``[X, X + W) x [Y, Y + H)`` of
the frames as magnified (after ``--crop`` / ``--resize``) and blends into the input over ``feather``
pixels around them, with the weight

    w(d) = (1 + cos(pi d / (feather + 1))) / 2   for d < feather + 1, else 0,

of ``d``, the Euclidean distance in pixels from a pixel to the rectangle (0 inside it, so the region
itself is fully magnified). Every pixel farther than ``feather`` from the rectangle (in particular
everything outside the rectangle grown by ``feather`` on each side) is the input's, byte for byte.

The method sees a window only: the rectangle grown by ``feather + CONTEXT`` pixels on each side,
clipped to the frame. A small region of a large video then costs a fraction of the full frame's
work, and the method's own edge effects (the network's padding, the steerable pyramid's periodic
boundary) fall in the context margin, where nothing of the window is kept.

Example:
    >>> import numpy as np
    >>> region = Region(4, 4, 8, 8, feather=2).check(32, 24)
    >>> region.window(32, 24)
    (0, 0, 32, 24)
    >>> frames = np.zeros((1, 24, 32, 3), np.uint8)
    >>> out = region.paste(frames, np.full((1, 24, 32, 3), 200, np.uint8))
    >>> [int(v) for v in out[0, 8, 10:15, 0]]  # columns 10, 11 in the region, 12, 13 feathered, 14 beyond
    [200, 200, 150, 50, 0]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmdata.errors import ConfigError

if TYPE_CHECKING:  # numpy is imported where used: `mmtrain magnify --help` shows DEFAULT_FEATHER only
    import numpy as np

__all__ = ["CONTEXT", "DEFAULT_FEATHER", "Region"]

#: Pixels of context the method sees beyond the feathered edge (discarded after magnifying).
CONTEXT = 32

#: Default width of the feathered edge in pixels.
DEFAULT_FEATHER = 16


@dataclass(frozen=True)
class Region:
    """A rectangle of the frame to magnify, ``width`` x ``height`` pixels from ``(x, y)`` (top left).

    Attributes:
        x, y: the rectangle's first column and row (0-based).
        width, height: its size in pixels.
        feather: pixels over which the magnified region blends into the input (0: a hard edge).
    """

    x: int
    y: int
    width: int
    height: int
    feather: int = DEFAULT_FEATHER

    @classmethod
    def parse(cls, xywh: tuple[int, int, int, int] | list[int] | Region, feather: int | None = None) -> Region:
        """A :class:`Region` from ``(x, y, w, h)`` (or a region, whose feather ``feather`` replaces if given).

        Raises:
            ConfigError: not four integers.
        """
        import numpy as np

        if isinstance(xywh, Region):
            return xywh if feather is None else cls(xywh.x, xywh.y, xywh.width, xywh.height, feather)
        values = tuple(xywh)
        if len(values) != 4 or not all(isinstance(v, (int, np.integer)) for v in values):
            raise ConfigError(f"roi: expected four integers X Y W H, got {xywh!r}")
        x, y, w, h = (int(v) for v in values)
        return cls(x, y, w, h, DEFAULT_FEATHER if feather is None else int(feather))

    def __str__(self) -> str:
        return f"{self.x} {self.y} {self.width} {self.height} (feather {self.feather})"

    def check(self, frame_width: int, frame_height: int) -> Region:
        """This region, when it lies inside a ``frame_width`` x ``frame_height`` frame.

        Raises:
            ConfigError: an empty rectangle, a negative feather, or a rectangle reaching outside the frame.
        """
        if self.width < 1 or self.height < 1:
            raise ConfigError(f"roi: expected a width and height of at least 1 pixel, got {self.width}x{self.height}")
        if self.feather < 0:
            raise ConfigError(f"roi: expected a feather of 0 or more pixels, got {self.feather}")
        if self.x < 0 or self.y < 0 or self.x + self.width > frame_width or self.y + self.height > frame_height:
            raise ConfigError(
                f"roi: X Y W H = {self.x} {self.y} {self.width} {self.height} spans columns {self.x}..{self.x + self.width - 1} "
                f"and rows {self.y}..{self.y + self.height - 1}, outside the {frame_width}x{frame_height} frame "
                f"(columns 0..{frame_width - 1}, rows 0..{frame_height - 1}; after --crop/--resize)")
        return self

    def window(self, frame_width: int, frame_height: int) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``: the part of the frame the method sees (region, feather and context)."""
        grow = self.feather + CONTEXT
        return (max(self.x - grow, 0), max(self.y - grow, 0),
                min(self.x + self.width + grow, frame_width), min(self.y + self.height + grow, frame_height))

    def crop(self, frames: np.ndarray) -> np.ndarray:
        """The window of frames ``(n, H, W, 3)``: ``(n, y1 - y0, x1 - x0, 3)`` (a view)."""
        x0, y0, x1, y1 = self.window(frames.shape[2], frames.shape[1])
        return frames[:, y0:y1, x0:x1]

    def weights(self, frame_width: int, frame_height: int) -> np.ndarray:
        """The blending weight of every pixel of the window, ``(y1 - y0, x1 - x0)`` float64 in [0, 1]."""
        return _weights(self, frame_width, frame_height)

    def paste(self, original: np.ndarray, magnified: np.ndarray) -> np.ndarray:
        """The input frames with the magnified window blended in.

        Args:
            original: the input frames ``(n, H, W, 3)`` uint8.
            magnified: the magnified window ``(n, y1 - y0, x1 - x0, 3)`` uint8, or whole magnified frames.

        Returns:
            ``(n, H, W, 3)`` uint8: ``original`` wherever the weight is 0, ``magnified`` where it is 1.
        """
        import numpy as np

        height, width = original.shape[1:3]
        x0, y0, x1, y1 = self.window(width, height)
        if magnified.shape[1:3] == (height, width):
            magnified = magnified[:, y0:y1, x0:x1]
        if magnified.shape != (original.shape[0], y1 - y0, x1 - x0, original.shape[3]):
            raise ValueError(f"roi: expected the magnified window {(original.shape[0], y1 - y0, x1 - x0, original.shape[3])}, "
                             f"got {magnified.shape}")
        w = self.weights(width, height)[None, :, :, None]
        inside = original[:, y0:y1, x0:x1]
        blended = np.rint(inside * (1.0 - w) + magnified * w).astype(np.uint8)
        out = original.copy()
        out[:, y0:y1, x0:x1] = np.where(w > 0, blended, inside)
        return out


@functools.lru_cache(maxsize=8)
def _weights(region: Region, frame_width: int, frame_height: int) -> np.ndarray:
    import numpy as np

    x0, y0, x1, y1 = region.window(frame_width, frame_height)
    cols, rows = np.arange(x0, x1), np.arange(y0, y1)
    dx = np.maximum(np.maximum(region.x - cols, cols - (region.x + region.width - 1)), 0)
    dy = np.maximum(np.maximum(region.y - rows, rows - (region.y + region.height - 1)), 0)
    d = np.hypot(dy[:, None], dx[None, :])
    span = region.feather + 1
    w = np.where(d < span, 0.5 * (1.0 + np.cos(np.pi * np.minimum(d, span) / span)), 0.0)
    w.setflags(write=False)
    return w

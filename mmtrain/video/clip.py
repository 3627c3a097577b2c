"""Which part of a video to magnify: frame range, stride, crop and resize, applied while decoding.

A researcher's high-speed clip is often long and large; these select what the network sees without
writing Python. Everything is in the frame's *display* orientation (a phone video's rotation flag is
applied first, see :mod:`mmtrain.video.io`), in this order:

1. frames ``start, start + stride, start + 2 stride, ...`` (indices of the decoded video, from 0),
   at most ``frames`` of them; skipped frames are decoded but not converted;
2. ``crop = (x, y, w, h)``: the pixels ``[y, y + h) x [x, x + w)``;
3. ``resize = (w, h)`` or ``scale``: Lanczos resampling (PIL, antialiased when shrinking); the result
   may hold at most :data:`MAX_FRAME_PIXELS` pixels (8192 x 4320, the largest frame of H.264's top
   level, 8K UHD), so that a slip such as ``--scale 1000`` is refused before anything is allocated.

The frame rate of the selected clip is the video's divided by ``stride`` (what the temporal filter's
band refers to, unless ``--fps`` is given).

Example:
    >>> sel = ClipSelection(start=10, frames=5, stride=2, crop=(0, 0, 32, 16))
    >>> sel.indices(100)
    range(10, 20, 2)
    >>> sel.size(64, 48)
    (32, 16)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmdata.errors import ConfigError

__all__ = ["ClipSelection", "MAX_FRAME_PIXELS"]

#: The most pixels a selected (resized) frame may have: 8192 x 4320, H.264 level 6.2's largest frame.
MAX_FRAME_PIXELS = 8192 * 4320


@dataclass(frozen=True)
class ClipSelection:
    """A frame range, stride, crop and resize (all optional).

    Attributes:
        start: first frame (0-based index into the decoded video).
        frames: at most this many frames; ``None`` = to the end.
        stride: keep every ``stride``-th frame.
        crop: ``(x, y, w, h)`` in pixels of the (display-oriented) frame, or ``None``.
        resize: output ``(w, h)`` after cropping, or ``None``.
        scale: output size as a factor of the cropped size (rounded), or ``None``; not with ``resize``.
    """

    start: int = 0
    frames: int | None = None
    stride: int = 1
    crop: tuple[int, int, int, int] | None = None
    resize: tuple[int, int] | None = None
    scale: float | None = None

    def indices(self, n_frames: int) -> range:
        """The indices of the selected frames in a video of ``n_frames`` frames.

        Raises:
            ConfigError: ``start`` outside the video, ``stride`` or ``frames`` below 1.
        """
        if self.stride < 1:
            raise ConfigError(f"stride: expected a stride of at least 1 frame, got {self.stride}")
        if self.frames is not None and self.frames < 1:
            raise ConfigError(f"frames: expected at least 1 frame, got {self.frames}")
        if not 0 <= self.start < n_frames:
            raise ConfigError(f"start: frame {self.start} is outside the video (expected 0 <= start < {n_frames})")
        stop = n_frames if self.frames is None else min(n_frames, self.start + self.frames * self.stride)
        return range(self.start, stop, self.stride)

    def size(self, width: int, height: int) -> tuple[int, int]:
        """The ``(w, h)`` of the selected frames of a ``width x height`` video.

        Raises:
            ConfigError: the crop leaves the frame or is empty; a bad resize or scale.
        """
        if self.crop is not None:
            x, y, w, h = self.crop
            if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
                raise ConfigError(f"crop: {x} {y} {w} {h} (X Y W H) is not inside the {width}x{height} frame")
            width, height = w, h
        if self.resize is not None and self.scale is not None:
            raise ConfigError("resize: give either --resize W H or --scale S, not both")
        if self.resize is not None:
            w, h = self.resize
            if w < 1 or h < 1:
                raise ConfigError(f"resize: expected a positive size W H, got {w} {h}")
            return _bounded("resize", f"--resize {w} {h}", int(w), int(h))
        if self.scale is not None:
            if not (self.scale > 0 and math.isfinite(self.scale)):
                raise ConfigError(f"scale: expected a positive finite factor, got {self.scale}")
            if width * self.scale * height * self.scale > 2 * MAX_FRAME_PIXELS:  # before rounding huge floats
                w, h = width * self.scale, height * self.scale
                return _bounded("scale", f"--scale {self.scale:g} of the {width}x{height} frame", w, h)
            w, h = round(width * self.scale), round(height * self.scale)
            if w < 1 or h < 1:
                raise ConfigError(f"scale: {self.scale:g} shrinks the {width}x{height} frame to nothing")
            return _bounded("scale", f"--scale {self.scale:g} of the {width}x{height} frame", w, h)
        return width, height

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Crop and resize one RGB uint8 frame ``(H, W, 3)``."""
        if self.crop is not None:
            x, y, w, h = self.crop
            frame = frame[y:y + h, x:x + w]
        if self.resize is None and self.scale is None:
            return frame
        size = self.size(frame.shape[1], frame.shape[0])
        if size == (frame.shape[1], frame.shape[0]):
            return frame
        from PIL import Image  # here: a clip that is not resized needs no image library

        image = Image.fromarray(np.ascontiguousarray(frame)).resize(size, Image.Resampling.LANCZOS)
        return np.asarray(image)


def _bounded(key: str, what: str, w: float, h: float) -> tuple[int, int]:
    """``(w, h)`` when the frame holds at most :data:`MAX_FRAME_PIXELS` pixels.

    Raises:
        ConfigError: naming ``key``, the resulting size and the limit.
    """
    if w * h > MAX_FRAME_PIXELS:
        def num(x: float) -> str:
            return f"{x:.0f}" if x < 1e9 else f"{x:.3g}"

        raise ConfigError(f"{key}: {what} gives {num(w)}x{num(h)} frames ({num(w * h / 1e6)} megapixels), above "
                          f"the limit of {MAX_FRAME_PIXELS / 1e6:.1f} megapixels (8192x4320); choose a smaller "
                          f"--{key}")
    return int(w), int(h)

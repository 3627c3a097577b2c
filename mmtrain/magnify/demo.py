"""A demo video with a known motion: a built-in photograph translated by a small sinusoid.

Each frame is the photograph (from scikit-image) resampled at a sub-pixel offset
``d(t) = amplitude * sin(2 pi freq t / fps) * direction`` by cubic-spline interpolation (an exact
interpolating reconstruction of the continuous image, mirrored at the borders), then cropped so that
the border handling never shows, and rounded to 8 bits. Sign convention: ``+dx`` moves the content
right, ``+dy`` down. The workflow magnifies such a video out of the box, with no external data.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from scipy import ndimage
from skimage import data as skdata
from skimage.transform import resize

from mmdata.errors import ConfigError

__all__ = ["DEMO_IMAGES", "demo_image", "SinusoidVideo"]

DEMO_IMAGES: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket")


def demo_image(name: str = "astronaut") -> np.ndarray:
    """An RGB uint8 photograph bundled with scikit-image.

    Raises:
        ConfigError: not one of :data:`DEMO_IMAGES`.
    """
    if name not in DEMO_IMAGES:
        raise ConfigError(f"image: expected one of {', '.join(DEMO_IMAGES)}, got {name!r}")
    return getattr(skdata, name)()


class SinusoidVideo:
    """Frames of a photograph moving by a known sinusoid.

    Args:
        image: RGB photograph ``(H0, W0, 3)``; resized (anti-aliased) to cover the frame plus a margin.
        size: output ``(width, height)`` in pixels.
        amplitude: motion amplitude in output pixels.
        freq: motion frequency in Hz.
        fps: frame rate.
        direction: unit-free ``(dx, dy)`` direction of the motion (normalised here).

    Raises:
        ConfigError: non-positive size, fps or a negative amplitude.

    Example:
        >>> video = SinusoidVideo(demo_image(), size=(64, 48), amplitude=0.5, freq=2.0, fps=30.0)
        >>> video.frame(0).shape
        (48, 64, 3)
    """

    def __init__(self, image: np.ndarray, *, size: tuple[int, int], amplitude: float, freq: float, fps: float,
                 direction: tuple[float, float] = (1.0, 0.0)) -> None:
        width, height = size
        if width < 1 or height < 1 or fps <= 0 or amplitude < 0:
            raise ConfigError(f"demo video: expected a positive size, fps and amplitude >= 0, "
                              f"got size {size}, fps {fps}, amplitude {amplitude}")
        norm = math.hypot(*direction)
        if norm == 0:
            raise ConfigError("direction: expected a non-zero (dx, dy)")
        self.size, self.amplitude, self.freq, self.fps = (width, height), amplitude, freq, fps
        self.direction = (direction[0] / norm, direction[1] / norm)
        self.margin = int(math.ceil(amplitude)) + 8
        m = self.margin
        scale = max((height + 2 * m) / image.shape[0], (width + 2 * m) / image.shape[1])
        big = resize(image.astype(np.float64), (math.ceil(image.shape[0] * scale), math.ceil(image.shape[1] * scale)),
                     order=3, anti_aliasing=True, preserve_range=True)
        y0, x0 = (big.shape[0] - height - 2 * m) // 2, (big.shape[1] - width - 2 * m) // 2
        canvas = big[y0:y0 + height + 2 * m, x0:x0 + width + 2 * m]
        self._coeffs = np.stack([ndimage.spline_filter(canvas[..., c], order=3, mode="mirror") for c in range(3)])

    def displacement(self, t: int) -> tuple[float, float]:
        """The content's offset ``(dx, dy)`` in pixels at frame ``t`` relative to the photograph."""
        d = self.amplitude * math.sin(2.0 * math.pi * self.freq * t / self.fps)
        return d * self.direction[0], d * self.direction[1]

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t`` as RGB uint8 ``(height, width, 3)``."""
        dx, dy = self.displacement(t)
        width, height = self.size
        m = self.margin
        out = np.stack([ndimage.shift(c, (dy, dx), order=3, mode="mirror", prefilter=False) for c in self._coeffs],
                       axis=-1)[m:m + height, m:m + width]
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def frames(self, n_frames: int) -> Iterator[np.ndarray]:
        """Frames ``0 .. n_frames - 1``."""
        for t in range(n_frames):
            yield self.frame(t)

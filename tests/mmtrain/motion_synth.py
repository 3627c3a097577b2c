"""Videos with a known motion: a periodic texture shifted by sums of sinusoids (exact Fourier shift)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import ndimage

from mmtrain.video.io import write_video

#: (axis, amplitude px, frequency Hz, phase rad)
Component = tuple[str, float, float, float]


def texture(height: int, width: int, rng: np.random.Generator, *, contrast: float = 40.0) -> np.ndarray:
    """A smooth random texture that is periodic on its grid (so a Fourier shift moves it exactly)."""
    noise = ndimage.gaussian_filter(rng.standard_normal((height, width)), 1.5, mode="wrap")
    return 128.0 + contrast * noise / noise.std()


def truth(components: Sequence[Component], n: int, fps: float) -> np.ndarray:
    """The displacement (dx, dy) per frame, ``(n, 2)``."""
    t = np.arange(n) / fps
    d = np.zeros((n, 2))
    for axis, amp, freq, phase in components:
        d[:, "xy".index(axis)] += amp * np.sin(2 * np.pi * freq * t + phase)
    return d


def frames(components: Sequence[Component], *, n: int = 120, fps: float = 30.0, size: tuple[int, int] = (96, 72),
           noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """uint8 RGB frames ``(n, H, W, 3)`` of a texture moving by ``components``, with Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    width, height = size
    spectrum = np.fft.fft2(texture(height, width, rng))
    out = np.empty((n, height, width, 3), np.uint8)
    for i, (dx, dy) in enumerate(truth(components, n, fps)):
        img = np.fft.ifft2(ndimage.fourier_shift(spectrum, (dy, dx))).real
        img = img + noise * rng.standard_normal(img.shape)
        out[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)[..., None]
    return out


def write_ffv1(path: Path, video: np.ndarray, fps: float) -> Path:
    """Write ``video`` losslessly (FFV1 in Matroska) through the project's video writer."""
    write_video(path, iter(video), fps, codec="ffv1")
    return path

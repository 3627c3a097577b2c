"""Linear Eulerian motion magnification (Wu et al., SIGGRAPH 2012), on a clip and streaming on video.

The temporal band-pass of the intensities, times ``alpha - 1``, added back:
``y_t = x_t + (alpha - 1) d_t``. With every spatial band amplified equally (no spatial attenuation)
the Laplacian decomposition of the original cancels out, so it is computed pixel-wise. Its
first-order approximation only holds while ``alpha * delta`` is small against the image
structure's wavelength.

:func:`linear_magnify` filters a whole clip in memory with the FIR of the evaluation
(:func:`mmtrain.classical.phase.fir_transfer`). :func:`linear_frames` streams a video batch by batch
with the modes of the network: ``d_t = x_t - x_0`` (static), ``x_t - x_{t-1}`` (dynamic) or a
streaming Butterworth / difference-of-IIR band-pass of ``x`` (temporal).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from mmdata.errors import ConfigError
from mmtrain.classical.phase import PhaseBasedConfig, StreamSettings, fir_transfer

__all__ = ["linear_magnify", "linear_frames"]


def linear_magnify(
    video: np.ndarray,
    alpha: float,
    config: PhaseBasedConfig | None = None,
    *,
    frames: Sequence[int] | None = None,
) -> np.ndarray:
    """Linear Eulerian magnification: ``frame + (alpha - 1) * bandpass(frames)``, pixel-wise.

    Args:
        video: frames (T, H, W) or (T, H, W, C), 0-255 scale.
        alpha: magnification factor (first-order: a filtered motion ``delta`` becomes ``alpha * delta``).
        config: the temporal filter (``fps``, ``low_hz``, ``high_hz``, ``taps``); the paper's by default.
        frames: output frames (all by default).

    Returns:
        float64 array (len(frames), H, W[, C]), not clipped.

    Raises:
        ConfigError: fewer frames than filter taps, or a frame index out of range.
    """
    config = config or PhaseBasedConfig()
    video = np.asarray(video, dtype=np.float64)
    n = video.shape[0]
    frames = list(range(n)) if frames is None else [int(t) for t in frames]
    bad = [t for t in frames if not 0 <= t < n]
    if bad:
        raise ConfigError(f"linear: frame indices {bad} outside the clip's 0..{n - 1}")
    transfer = fir_transfer(n, config).reshape((-1,) + (1,) * (video.ndim - 1))
    filtered = np.fft.irfft(np.fft.rfft(video, axis=0) * transfer, n=n, axis=0)
    return video[frames] + (alpha - 1.0) * filtered[frames]


def linear_frames(batches: Iterable[np.ndarray], settings: StreamSettings) -> Iterator[np.ndarray]:
    """Stream linear magnification over batches of uint8 frames ``(n, H, W, 3)``; yields uint8 batches."""
    from mmtrain.temporal.filters import make_streaming_filter

    s = settings
    temporal = make_streaming_filter(s.filter, s.band, s.fps, order=s.order) if s.mode == "temporal" else None
    ref: np.ndarray | None = None
    for frames in batches:
        x = frames.astype(np.float64)
        if temporal is not None:
            delta = temporal(torch.from_numpy(x)).numpy()
        elif s.mode == "static":
            ref = x[:1] if ref is None else ref
            delta = x - ref
        else:
            prev = x[:1] if ref is None else ref
            delta = x - np.concatenate([prev, x[:-1]])
            ref = x[-1:]
        yield np.clip(np.rint(x + (s.alpha - 1.0) * delta), 0, 255).astype(np.uint8)

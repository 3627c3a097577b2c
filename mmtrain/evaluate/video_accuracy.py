"""Physical accuracy of a magnified real video: tracked motion per frequency band, and flicker.

The paper checks the magnified motion of a real video against an accelerometer (Fig. 10). Without
one, the input video is its own reference: a method that magnifies by ``alpha`` in its pass band
should show, at every tracked point, ``alpha`` times the input's motion in that band (and the
input's motion, ratio 1, outside it), and should not add temporal noise where nothing moves.

* **Points**: textured points chosen automatically on the first input frame — the strongest
  Shi-Tomasi corners (``skimage.feature.corner_shi_tomasi`` + ``corner_peaks``), at least a patch
  apart and a patch from the edge.
* **Trajectories**: the displacement of every point's patch in every frame relative to the same
  patch in frame 0, measured with :func:`mmdata.render.measure.estimate_shift` (phase correlation
  refined by least squares), in the input and in the output alike.
* **Bands**: every trajectory (x and y) is band-passed per frequency band by keeping its DFT bins in
  the band (after removing its mean); the band's amplitude is the RMS of the 2-D band-passed motion.
  Per band the report gives the median over points of output / input amplitude (with its
  quartiles), and the input amplitude itself: a ratio is only meaningful where the input moves
  above the tracker's noise (``min_amplitude``; lower bands are flagged).
* **Flicker**: the temporal standard deviation of the intensity (per pixel and channel, ``ddof=1``,
  RMS over pixels) in still regions — the blocks of the first input frame with the weakest
  gradients, where a motion changes no intensity —, in the input and in the output.

:func:`measure_video_accuracy` works on two arrays; ``mmtrain evaluate video-accuracy`` decodes a
clip, magnifies it (or reads a magnified file) and writes ``accuracy.json``, ``accuracy.csv`` and
``accuracy.png`` (:mod:`mmtrain.evaluate.video_accuracy_cli`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
from skimage.feature import corner_peaks, corner_shi_tomasi

from mmdata.errors import ConfigError
from mmdata.render.measure import estimate_shift

__all__ = ["BandAccuracy", "VideoAccuracy", "choose_points", "track_points", "band_amplitudes", "still_mask",
           "flicker", "default_bands", "measure_video_accuracy"]


@dataclass(frozen=True)
class BandAccuracy:
    """The magnification measured in one frequency band."""

    low_hz: float
    high_hz: float
    input_amplitude: float  # median over points of the input's band RMS motion (px)
    output_amplitude: float  # the same in the output (px)
    ratio: float  # median over points of output / input amplitude
    ratio_q25: float  # its quartiles over points
    ratio_q75: float
    points: int  # points whose input amplitude exceeds min_amplitude (the ratio's sample)
    expected: float | None = None  # the method's nominal factor in this band, where known
    measurable: bool = True  # enough points move above the tracker's noise


@dataclass
class VideoAccuracy:
    """Everything :func:`measure_video_accuracy` measured on one clip."""

    fps: float
    frames: int
    points: list[tuple[float, float]]  # (x, y) of every tracked point (patch centres)
    bands: list[BandAccuracy]
    flicker_input: float  # temporal std in still regions (0-255)
    flicker_output: float
    still_fraction: float  # fraction of the frame counted as still
    input_amplitudes: list[list[float]] = field(default_factory=list)  # per point, per band (px; NaN: track lost)
    output_amplitudes: list[list[float]] = field(default_factory=list)
    min_amplitude: float = 0.02  # input amplitude (px) a point needs to count in a band's ratio
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["flicker_ratio"] = self.flicker_output / self.flicker_input if self.flicker_input > 0 else float("nan")
        return doc


def _gray(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames, dtype=np.float64)
    return frames.mean(axis=-1) if frames.ndim == 4 else frames


def choose_points(frame: np.ndarray, count: int, patch: int) -> np.ndarray:
    """The ``count`` strongest Shi-Tomasi corners of ``frame``, ``patch`` px apart and from the edges.

    Returns:
        int array (n, 2) of (row, col), n <= count, strongest first.

    Raises:
        ConfigError: no textured point (a flat frame, or a frame under three patches across).
    """
    gray = _gray(frame[None])[0]
    response = corner_shi_tomasi(gray, sigma=1.5)
    peaks = corner_peaks(response, min_distance=patch, exclude_border=patch + 1, num_peaks=count,
                         threshold_rel=0.01)
    if len(peaks) == 0:
        raise ConfigError(f"video accuracy: no textured point to track in a {gray.shape[1]}x{gray.shape[0]} frame "
                          f"(patches of {2 * patch + 1} px)")
    return np.asarray(peaks[:count], dtype=int)


def track_points(frames: np.ndarray, points: np.ndarray, patch: int) -> np.ndarray:
    """Displacement ``(dx, dy)`` of every point's patch in every frame, relative to frame 0.

    Args:
        frames: (T, H, W[, C]); channels are averaged.
        points: (n, 2) of (row, col).
        patch: half-size: patches are ``2 patch + 1`` px square.

    Returns:
        (n, T, 2) float64. A frame whose patch cannot be measured (too little texture, or a shift
        beyond the patch) is interpolated linearly from its neighbours in time when at most a tenth
        of the point's frames are missing; otherwise the whole trajectory is NaN.
    """
    gray = _gray(frames)
    out = np.full((len(points), len(gray), 2), np.nan)
    for k, (r, c) in enumerate(points):
        window = (slice(r - patch, r + patch + 1), slice(c - patch, c + patch + 1))
        ref = gray[0][window]
        guess = (0.0, 0.0)
        for t, frame in enumerate(gray):
            for start in (guess, None):  # from the previous frame's shift, else phase correlation
                try:
                    d = estimate_shift(ref, frame[window], border=2, guess=start)
                except ValueError:
                    continue
                if np.all(np.isfinite(d)):
                    guess = out[k, t] = d
                    break
        missing = np.isnan(out[k, :, 0])
        if missing.any() and missing.mean() <= 0.1:
            times = np.arange(len(gray))
            for axis in (0, 1):
                out[k, missing, axis] = np.interp(times[missing], times[~missing], out[k, ~missing, axis])
        elif missing.any():
            out[k] = np.nan
    return out


def default_bands(fps: float, frames: int) -> list[tuple[float, float]]:
    """Octave bands from 2 DFT bins of the clip up to the Nyquist frequency."""
    low, nyquist = 2.0 * fps / frames, fps / 2.0
    bands = []
    while low < nyquist:
        bands.append((low, min(2 * low, nyquist)))
        low *= 2
    return bands


def band_amplitudes(trajectories: np.ndarray, fps: float, bands: Sequence[tuple[float, float]]) -> np.ndarray:
    """RMS of the band-passed 2-D motion of every trajectory in every band.

    Args:
        trajectories: (n, T, 2) displacements; trajectories with a NaN are dropped (NaN out).
        bands: (low, high) in Hz; DFT bins with ``low <= f < high`` are kept (``f <= high`` at Nyquist).

    Returns:
        (n, len(bands)) amplitudes in pixels.
    """
    n = trajectories.shape[1]
    freqs = np.fft.rfftfreq(n, d=1.0 / fps)
    spec = np.fft.rfft(trajectories - trajectories.mean(axis=1, keepdims=True), axis=1)  # (n, F, 2)
    out = np.empty((len(trajectories), len(bands)))
    for j, (lo, hi) in enumerate(bands):
        keep = (freqs >= lo) & ((freqs < hi) | (np.isclose(hi, fps / 2) & (freqs <= hi)))
        band = np.fft.irfft(spec * keep[None, :, None], n=n, axis=1)
        out[:, j] = np.sqrt((band ** 2).sum(axis=2).mean(axis=1))
    return out


def still_mask(frame: np.ndarray, block: int = 16, fraction: float = 0.2) -> np.ndarray:
    """Pixels of the ``fraction`` of ``block``-px blocks of ``frame`` with the weakest gradients.

    Where the image is flat a motion changes no intensity, so any change over time there is noise.

    Returns:
        bool (H, W).
    """
    gray = _gray(frame[None])[0]
    gy, gx = np.gradient(gray)
    mag = np.hypot(gx, gy)
    h, w = (gray.shape[0] // block) * block, (gray.shape[1] // block) * block
    if h == 0 or w == 0:
        raise ConfigError(f"video accuracy: a {gray.shape[1]}x{gray.shape[0]} frame is smaller than one {block} px block")
    energy = mag[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3))
    chosen = energy <= np.quantile(energy, fraction)
    mask = np.zeros(gray.shape, bool)
    mask[:h, :w] = np.kron(chosen, np.ones((block, block), bool)).astype(bool)
    return mask


def flicker(frames: np.ndarray, mask: np.ndarray) -> float:
    """Temporal std of the intensity (``ddof=1``, every channel), RMS over the pixels of ``mask``."""
    x = np.asarray(frames, dtype=np.float64)[:, mask]  # (T, n[, C])
    return float(np.sqrt(x.var(axis=0, ddof=1).mean()))


def measure_video_accuracy(
    inputs: np.ndarray,
    outputs: np.ndarray,
    fps: float,
    *,
    bands: Sequence[tuple[float, float]] | None = None,
    expected: Sequence[float | None] | None = None,
    points: int = 24,
    patch: int = 12,
    min_amplitude: float = 0.02,
    still_block: int = 16,
    still_fraction: float = 0.2,
) -> VideoAccuracy:
    """Output / input motion amplitude per frequency band at tracked points, and the flicker, of one clip.

    Args:
        inputs: the input clip (T, H, W[, C]), 0-255.
        outputs: the magnified clip, same shape.
        fps: frame rate (Hz) the bands refer to.
        bands: (low, high) Hz per band; default octave bands (:func:`default_bands`).
        expected: the method's nominal factor per band (``None`` where not known), copied to the report.
        points: textured points tracked at most.
        patch: half-size of the tracked patches (px).
        min_amplitude: input band amplitude (px) below which a point does not count in the band's
            ratio (the tracker's noise would dominate it).
        still_block, still_fraction: block size and share of blocks of the still regions.

    Returns:
        The per-band table and the flicker figures.

    Raises:
        ConfigError: shapes differ, too few frames, no textured point, bad bands.
    """
    inputs, outputs = np.asarray(inputs), np.asarray(outputs)
    if inputs.shape != outputs.shape or inputs.ndim not in (3, 4):
        raise ConfigError(f"video accuracy: expected input and output clips of one shape (T, H, W[, C]), "
                          f"got {inputs.shape} and {outputs.shape}")
    if len(inputs) < 8:
        raise ConfigError(f"video accuracy: expected at least 8 frames, got {len(inputs)}")
    bands = list(bands) if bands is not None else default_bands(fps, len(inputs))
    for lo, hi in bands:
        if not 0 <= lo < hi <= fps / 2:
            raise ConfigError(f"video accuracy: band {lo:g}-{hi:g} Hz is not inside 0-{fps / 2:g} Hz (the clip's Nyquist)")
    expected = list(expected) if expected is not None else [None] * len(bands)
    chosen = choose_points(inputs[0], points, patch)
    amp_in = band_amplitudes(track_points(inputs, chosen, patch), fps, bands)
    amp_out = band_amplitudes(track_points(outputs, chosen, patch), fps, bands)
    rows = []
    for j, (lo, hi) in enumerate(bands):
        ok = np.isfinite(amp_in[:, j]) & np.isfinite(amp_out[:, j])
        moving = ok & (amp_in[:, j] > min_amplitude)
        ratios = amp_out[moving, j] / amp_in[moving, j]
        q25, med, q75 = np.quantile(ratios, [0.25, 0.5, 0.75]) if ratios.size else (np.nan,) * 3
        rows.append(BandAccuracy(float(lo), float(hi), float(np.median(amp_in[ok, j])) if ok.any() else np.nan,
                                 float(np.median(amp_out[ok, j])) if ok.any() else np.nan, float(med), float(q25),
                                 float(q75), int(moving.sum()), expected[j], bool(moving.sum() >= 3)))
    mask = still_mask(inputs[0], still_block, still_fraction)
    return VideoAccuracy(fps=float(fps), frames=len(inputs), points=[(float(c), float(r)) for r, c in chosen],
                         bands=rows, flicker_input=flicker(inputs, mask), flicker_output=flicker(outputs, mask),
                         still_fraction=float(mask.mean()), input_amplitudes=amp_in.tolist(),
                         output_amplitudes=amp_out.tolist(), min_amplitude=float(min_amplitude))

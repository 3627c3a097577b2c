"""The noise floor of an amplitude spectrum and the threshold over it that noise alone rarely exceeds.

The floor at a DFT bin is the running median of the bins' amplitudes around it (a peak covers about
three bins, so a wider median follows the broad-band noise and ignores the peaks); the threshold is
``k`` times the floor, with ``k`` calibrated by Monte Carlo for a stated false-alarm probability
(:func:`threshold_factor`). See :mod:`mmtrain.analysis.spectrum` for how they are used.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Literal

import numpy as np
from scipy import ndimage, signal

__all__ = ["floor_halfwidth", "noise_floor", "threshold_factor"]

log = logging.getLogger(__name__)


def floor_halfwidth(n: int, floor_bins: int | None = None) -> int:
    """Half-width (bins) of the running median for a clip of ``n`` frames: ``floor_bins``, else ``n // 16``
    kept within 8 to 32."""
    return floor_bins if floor_bins is not None else min(max(8, n // 16), 32)


def noise_floor(bin_amplitude: np.ndarray, halfwidth: int) -> np.ndarray:
    """Running median of the DFT bins' amplitudes over ``halfwidth`` bins either side (DC left out).

    Args:
        bin_amplitude: ``(B + 1,)`` amplitudes at bins 0 .. B.

    Returns:
        ``(B + 1,)``; bin 0 gets bin 1's value.
    """
    body = ndimage.median_filter(bin_amplitude[1:], size=2 * halfwidth + 1, mode="reflect")
    return np.concatenate([body[:1], body])


@functools.lru_cache(maxsize=64)
def threshold_factor(n: int, false_alarm: float, *, pad: int = 16, halfwidth: int = 8,
                     detrend: Literal["mean", "linear"] = "mean") -> float:
    """``k`` such that white noise alone exceeds ``k`` times its noise floor in one axis' spectrum with
    probability ``false_alarm``.

    Calibrated by Monte Carlo: the spectra of ``max(2000, 20 / false_alarm)`` white Gaussian waveforms
    of ``n`` samples go through the same spectrum and floor as the measurement; ``k`` is the
    ``1 - false_alarm`` quantile of each one's largest ratio (over the padded spectrum's local maxima,
    in the reported range) of amplitude to floor. The generator's seed is fixed, so ``k`` depends
    on ``(n, false_alarm, pad, halfwidth, detrend)`` only (and is cached).
    """
    rng = np.random.default_rng(2018)
    trials = int(max(2000, math.ceil(20 / false_alarm)))
    log.info("spectrum: calibrating the noise threshold on %d white-noise waveforms of %d samples", trials, n)
    w = signal.get_window("hann", n)
    freqs = np.fft.rfftfreq(pad * n)  # cycles per sample: the reported range is 1/n .. 1/2 - 1/(2n)
    keep = (freqs[1:-1] >= 1.0 / n) & (freqs[1:-1] <= 0.5 - 0.5 / n)
    j = np.arange(len(freqs))
    lo, frac = j // pad, (j % pad) / pad
    hi = np.minimum(lo + 1, n // 2)
    worst = []
    for start in range(0, trials, 256):
        x = rng.standard_normal((min(256, trials - start), n))
        if detrend == "linear":
            x = signal.detrend(x, axis=1, type="linear")
        x = x - (x @ w)[:, None] / w.sum()
        amp = np.abs(np.fft.rfft(x * w, n=pad * n, axis=1))
        bins = amp[:, ::pad]
        body = ndimage.median_filter(bins[:, 1:], size=(1, 2 * halfwidth + 1), mode="reflect")
        floor = np.concatenate([body[:, :1], body], axis=1)
        fine = floor[:, lo] * (1.0 - frac) + floor[:, hi] * frac  # np.interp onto the padded grid, per row
        mid = amp[:, 1:-1]
        local = (mid > amp[:, :-2]) & (mid >= amp[:, 2:]) & keep
        worst.append(np.where(local, mid / fine[:, 1:-1], 0.0).max(axis=1))
    return float(np.quantile(np.concatenate(worst), 1.0 - false_alarm))

"""The amplitude spectrum of a region's displacement waveform, its noise floor and its peaks.

For each region and axis (x, y) of a clip of ``N`` frames at ``fps`` Hz:

* **Spectrum.** The waveform minus its (window-weighted) mean — or minus a least-squares line with
  ``detrend="linear"`` — times a periodic Hann window ``w``, zero-padded to ``pad * N`` samples and
  Fourier transformed. The amplitude ``2 |X(f)| / sum(w)`` corrects for the window's coherent gain
  (``sum(w) / N = 1/2``), so that a sinusoid ``A sin(2 pi f t)`` reads ``A`` at its peak:
  ``amplitude_px`` is the sinusoid's amplitude, half its peak-to-peak.
* **Resolution.** ``fps / N`` Hz, the spacing of the clip's DFT bins (one cycle per clip length).
  Zero-padding only interpolates between those bins (it adds no information): two sinusoids closer
  than about two bins (the Hann main lobe's half-width) are not told apart. An isolated peak's
  frequency is found far more precisely than a bin: the maximum of the padded spectrum, refined by a
  parabola through its three samples. Peaks below one bin (less than a cycle in the clip) or within
  half a bin of the Nyquist frequency are not reported.
* **Noise floor.** At each DFT bin, the running median of the bins' amplitudes over
  ``floor_bins`` bins either side (default ``N // 16``, kept within 8 to 32): a peak covers about three bins, so a
  median over a wider window follows the broad-band level of the measurement noise (including noise
  that rises towards low frequencies) and ignores the peaks. A local maximum is reported as motion
  when it exceeds ``k`` times the floor, with ``k`` chosen so that white noise alone yields a peak
  anywhere in one axis' spectrum with probability ``false_alarm`` (default 1 %). ``k`` is calibrated
  by Monte Carlo on white Gaussian waveforms of the clip's length run through the same spectrum and
  floor (:func:`~mmtrain.analysis.floor.threshold_factor`; about 4.2 to 4.7 at 1 %), since the
  textbook Rayleigh bound on the bins underestimates it by 20-30 %: the padded spectrum peaks between bins, and a median over a few
  bins is itself noisy. A peak must also exceed ``min_amplitude`` px, below which the
  estimator's own systematic error (interpolation bias of sub-pixel shifts, a few thousandths of a
  pixel) could fake a motion.
* **Leakage.** A local maximum within two bins of a stronger peak of the same waveform (or of its
  mirror image at negative frequency) is not a separate peak, nor is one below twice the Hann
  window's side-lobe envelope ``1 / (pi D (D^2 - 1))`` of the stronger peaks at its distance ``D`` (bins).
* **Band.** ``band_hz`` spans the peak's half-power (-3 dB) width in the padded spectrum, widened to at
  least one bin either side of the peak, then rounded outward to three significant digits (numbers a
  person can type), kept above zero and below the Nyquist frequency: a band that
  ``mmtrain magnify --mode temporal --band LO HI`` accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal, Sequence

import numpy as np
from scipy import signal

from mmdata.errors import ConfigError
from mmtrain.analysis.displacement import Roi
from mmtrain.analysis.floor import floor_halfwidth, noise_floor, threshold_factor
from mmtrain.analysis.settings import SpectrumSettings

__all__ = ["MIN_FRAMES", "AXES", "SpectrumSettings", "Peak", "RoiSpectrum", "SpectrumResult", "amplitude_spectrum",
           "find_peaks", "analyse_displacements", "peak_band"]

#: The fewest frames a spectrum is computed from: eight DFT bins, for a noise floor to be estimated.
MIN_FRAMES = 16

AXES = ("x", "y")


@dataclass(frozen=True)
class Peak:
    """One spectral peak reported as motion.

    Attributes:
        freq_hz: its frequency.
        amplitude_px: the sinusoid's amplitude (half its peak-to-peak), in pixels of the selected clip.
        axis: ``x`` or ``y``.
        band_hz: ``(low, high)`` pass band around it for ``mmtrain magnify --band``.
        roi: the region ``(x, y, w, h)`` it was measured in.
        floor_px: the noise floor (running median) at its frequency.
        threshold_px: what it had to exceed: ``max(k * floor_px, min_amplitude)``.
    """

    freq_hz: float
    amplitude_px: float
    axis: str
    band_hz: tuple[float, float]
    roi: Roi
    floor_px: float
    threshold_px: float

    def to_json(self, scale_mm_per_px: float | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"freq_hz": self.freq_hz, "amplitude_px": self.amplitude_px, "axis": self.axis,
                               "band_hz": list(self.band_hz), "roi": list(self.roi), "floor_px": self.floor_px,
                               "threshold_px": self.threshold_px,
                               "snr": self.amplitude_px / self.floor_px if self.floor_px > 0 else None}
        if scale_mm_per_px is not None:
            doc["amplitude_mm"] = self.amplitude_px * scale_mm_per_px
        return doc


@dataclass
class RoiSpectrum:
    """The waveform and spectra of one region.

    Attributes:
        roi: ``(x, y, w, h)``.
        displacement: ``(T, 2)`` displacement (dx, dy) in px relative to the first frame.
        freqs: ``(F,)`` frequencies of the zero-padded spectrum (Hz).
        amplitude: ``(F, 2)`` its amplitude per axis (px).
        bin_freqs: ``(B + 1,)`` the clip's DFT bins, 0 to Nyquist (Hz).
        bin_amplitude: ``(B + 1, 2)`` the amplitude at those bins (px).
        floor: ``(B + 1, 2)`` the noise floor at those bins (px).
        threshold: ``(B + 1, 2)`` the detection threshold at those bins (px).
    """

    roi: Roi
    displacement: np.ndarray
    freqs: np.ndarray
    amplitude: np.ndarray
    bin_freqs: np.ndarray
    bin_amplitude: np.ndarray
    floor: np.ndarray
    threshold: np.ndarray


@dataclass
class SpectrumResult:
    """Everything the analysis of one clip found (:func:`analyse_displacements`).

    Attributes:
        fps: sampling rate of the waveforms (Hz).
        n_frames: frames in the clip.
        rois: the regions, in the order given.
        per_roi: their waveforms and spectra.
        peaks: peaks above the noise floor, largest amplitude first.
        settings: how they were found.
        factor: the threshold factor ``k`` over the noise floor.
        meta: where the clip came from (video, selection), copied to ``spectrum.json``.
    """

    fps: float
    n_frames: int
    rois: list[Roi]
    per_roi: list[RoiSpectrum]
    peaks: list[Peak]
    settings: SpectrumSettings
    factor: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution_hz(self) -> float:
        """``fps / N``: the spacing of the clip's DFT bins."""
        return self.fps / self.n_frames

    def to_json(self, scale_mm_per_px: float | None = None) -> dict[str, Any]:
        """The ``spectrum.json`` document."""
        s = self.settings
        return {
            "fps": self.fps, "frames": self.n_frames, "duration_s": self.n_frames / self.fps,
            "resolution_hz": self.resolution_hz, "roi": [list(r) for r in self.rois],
            "peaks": [p.to_json(scale_mm_per_px) for p in self.peaks],
            "scale_mm_per_px": scale_mm_per_px,
            "noise_floor": {"method": f"running median of the DFT bins' amplitudes over {self.floor_halfwidth} bins "
                                      "either side; threshold = max(factor * floor, min_amplitude_px), factor calibrated by Monte Carlo on white noise for the false-alarm probability",
                            "factor": self.factor, "false_alarm": s.false_alarm, "min_amplitude_px": s.min_amplitude},
            "spectrum": {"window": "hann (periodic), coherent gain corrected", "pad": s.pad, "detrend": s.detrend},
            "estimator": "mmdata.render.measure.estimate_shift (phase correlation + Gauss-Newton, quintic spline)",
            **self.meta,
        }

    @property
    def floor_halfwidth(self) -> int:
        return floor_halfwidth(self.n_frames, self.settings.floor_bins)


def amplitude_spectrum(x: np.ndarray, fps: float, *, pad: int = 16,
                       detrend: Literal["mean", "linear"] = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Window-corrected one-sided amplitude spectrum of a waveform, zero-padded ``pad`` times.

    Args:
        x: ``(N,)`` samples.
        fps: sampling rate (Hz).
        pad: zero-padding factor; every ``pad``-th point is a DFT bin of the clip.
        detrend: remove the window-weighted mean, or a least-squares line and then that mean.

    Returns:
        ``(freqs, amplitude)``, each ``(pad * N // 2 + 1,)``: a sinusoid of amplitude A at a bin reads A.

    Example:
        >>> t = np.arange(64) / 32.0
        >>> f, a = amplitude_spectrum(0.3 * np.sin(2 * np.pi * 4.0 * t), 32.0)
        >>> round(float(f[np.argmax(a)]), 6), round(float(a.max()), 6)
        (4.0, 0.3)
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if detrend == "linear":
        x = signal.detrend(x, type="linear")
    w = signal.get_window("hann", n)  # periodic: sum(w) = n / 2 exactly
    x = x - (w @ x) / w.sum()
    spec = np.fft.rfft(w * x, n=pad * n)
    return np.fft.rfftfreq(pad * n, d=1.0 / fps), 2.0 * np.abs(spec) / w.sum()


def _leak(delta: float) -> float:
    """Upper envelope of the Hann window's response ``delta`` bins from a unit peak (|delta| >= 2)."""
    d = abs(delta)
    return 1.0 / (math.pi * d * (d * d - 1.0))


def _round(v: float, digits: int, up: bool) -> float:
    d = Decimal(repr(float(v)))
    quantum = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return float(d.quantize(quantum, rounding=ROUND_CEILING if up else ROUND_FLOOR))


def _band(freqs: np.ndarray, amp: np.ndarray, i: int, f: float, a: float, res: float, fps: float,
          digits: int) -> tuple[float, float]:
    """Half-power width around padded index ``i``, at least a bin either side, rounded outward."""
    half = a / math.sqrt(2.0)
    edges = []
    for step in (-1, 1):
        j = i
        while 0 < j + step < len(amp) and amp[j + step] <= amp[j] and amp[j + step] > half:
            j += step
        k = j + step
        if 0 <= k < len(amp) and amp[k] <= half < amp[j]:  # interpolate the crossing
            edges.append(freqs[j] + (freqs[k] - freqs[j]) * (amp[j] - half) / (amp[j] - amp[k]))
        else:
            edges.append(freqs[j])
    nyquist = fps / 2.0
    lo = _round(max(min(edges[0], f - res), res / 2.0), digits, up=False)
    hi = _round(max(edges[1], f + res), digits, up=True)
    if hi >= nyquist:
        hi = _round(nyquist * (1 - 1e-9), digits, up=False)
        if hi <= f:
            hi = float(np.nextafter(nyquist, 0.0))
    return lo, hi


def find_peaks(freqs: np.ndarray, amp: np.ndarray, threshold: np.ndarray, n: int, fps: float,
               settings: SpectrumSettings) -> list[tuple[float, float, tuple[float, float], int]]:
    """Peaks of one axis' padded spectrum that are above ``threshold`` and not leakage.

    Args:
        freqs, amp: the padded spectrum (:func:`amplitude_spectrum`).
        threshold: ``(F,)`` the threshold at every padded frequency.
        n: frames in the clip (the bin spacing is ``fps / n``).

    Returns:
        ``(freq_hz, amplitude, band_hz, padded index)`` per peak, largest first.
    """
    res, nyquist = fps / n, fps / 2.0
    found: list[tuple[float, float, tuple[float, float], int]] = []
    candidates = []
    for i in signal.find_peaks(amp)[0]:
        y0, y1, y2 = amp[i - 1], amp[i], amp[i + 1]
        den = y0 - 2.0 * y1 + y2
        p = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        f, a = freqs[i] + p * (freqs[1] - freqs[0]), y1 - 0.25 * (y0 - y2) * p
        if res <= f <= nyquist - res / 2 and a > threshold[i]:
            candidates.append((float(f), float(a), int(i)))
    for f, a, i in sorted(candidates, key=lambda c: -c[1]):
        leak = 0.0
        near = False
        for fj, aj, _, _ in found:
            for delta in ((f - fj) / res, (f + fj) / res):
                if abs(delta) < 2.0:
                    near = True
                else:
                    leak += aj * _leak(delta)
        if near or a <= 2.0 * leak:
            continue
        found.append((f, a, _band(freqs, amp, i, f, a, res, fps, settings.band_digits), i))
    return found


def analyse_displacements(displacements: np.ndarray, fps: float, rois: Sequence[Roi],
                          settings: SpectrumSettings | None = None, meta: dict[str, Any] | None = None) -> SpectrumResult:
    """Spectra, noise floors and peaks of the regions' waveforms.

    Args:
        displacements: ``(R, T, 2)`` (dx, dy) per region and frame (:func:`~mmtrain.analysis.displacement.roi_displacements`).
        fps: their sampling rate (Hz).
        rois: the ``R`` regions.
        settings: defaults of :class:`SpectrumSettings` when ``None``.
        meta: copied to the result (and its JSON).

    Returns:
        The result; its ``peaks`` are the ``settings.max_peaks`` largest, over all regions and axes.

    Raises:
        ConfigError: fewer than :data:`MIN_FRAMES` frames, a bad frame rate or settings.
    """
    settings = (settings or SpectrumSettings()).check()
    displacements = np.asarray(displacements, dtype=np.float64)
    n = displacements.shape[1]
    if n < MIN_FRAMES:
        raise ConfigError(f"frames: a spectrum needs at least {MIN_FRAMES} frames, the clip has {n}")
    if not (fps > 0 and math.isfinite(fps)):
        raise ConfigError(f"fps: expected a positive frame rate, got {fps}")
    factor = threshold_factor(n, settings.false_alarm, pad=settings.pad, halfwidth=floor_halfwidth(n, settings.floor_bins),
                              detrend=settings.detrend)
    per_roi, peaks = [], []
    for roi, disp in zip(rois, displacements):
        spectra = [amplitude_spectrum(disp[:, c], fps, pad=settings.pad, detrend=settings.detrend) for c in (0, 1)]
        freqs = spectra[0][0]
        amp = np.stack([s[1] for s in spectra], axis=1)
        bins = amp[::settings.pad]
        floor = np.stack([noise_floor(bins[:, c], floor_halfwidth(n, settings.floor_bins)) for c in (0, 1)], axis=1)
        thresh = np.maximum(factor * floor, settings.min_amplitude)
        bin_freqs = freqs[::settings.pad]
        per_roi.append(RoiSpectrum(roi, disp, freqs, amp, bin_freqs, bins, floor, thresh))
        for c, axis in enumerate(AXES):
            fine_floor = np.interp(freqs, bin_freqs, floor[:, c])
            fine_thresh = np.maximum(factor * fine_floor, settings.min_amplitude)
            for f, a, band, i in find_peaks(freqs, amp[:, c], fine_thresh, n, fps, settings):
                peaks.append(Peak(f, a, axis, band, roi, float(fine_floor[i]), float(fine_thresh[i])))
    peaks.sort(key=lambda p: -p.amplitude_px)
    return SpectrumResult(float(fps), n, list(rois), per_roi, peaks[:settings.max_peaks],
                          settings, factor, dict(meta or {}))


def peak_band(result: SpectrumResult, k: int = 1) -> tuple[float, float]:
    """``band_hz`` of the ``k``-th largest peak (1-based).

    Raises:
        ConfigError: no such peak (none above the noise floor, or fewer than ``k``).
    """
    if k < 1:
        raise ConfigError(f"band: peak:{k} - peaks are numbered from 1 (the largest)")
    if len(result.peaks) < k:
        found = f"only {len(result.peaks)} peak(s)" if result.peaks else "no peak"
        raise ConfigError(f"band: peak:{k} asked for, but the clip's motion spectrum has {found} above its noise floor "
                          f"(see `mmtrain spectrum`); give the band as --band LOW HIGH")
    return result.peaks[k - 1].band_hz


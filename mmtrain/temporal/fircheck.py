"""Is an FIR band-pass over this clip what the user asked for? Its actual response, and a refusal.

The FIR of the temporal mode has as many taps as the clip has frames, so a short clip gets a short
filter whose frequency resolution (about ``fps / frames``) can be far wider than the band. Worse, a
short window-method band-pass passes DC: the whole shape representation, not just its motion, is then
multiplied by ``alpha - 1`` and the output comes out darker, blurred and doubled. Before any frame
goes through the network, :func:`check_fir` computes the response of exactly the filter that will be
applied (the same cyclic kernel, from :func:`mmtrain.temporal.filters.fir_response`, its DTFT on a dense
grid) and refuses the run when

* its **DC gain** ``|H(0)|`` exceeds :data:`MAX_DC_GAIN` (2 %: at ``alpha = 10`` the still image
  would be scaled by up to 18 % in the representation), or
* its **stop-band gain** — the largest ``|H(f)|`` at ``f <= low / 2`` or ``f >= 2 high`` (one octave
  from either edge) — exceeds :data:`MAX_STOP_GAIN` (10 %).

The **effective band** is where ``|H(f)|`` is at least ``1/sqrt(2)`` of its peak (-3 dB); it is
reported when it is wider than the requested band.

Example:
    >>> report = check_fir(90, (74.0, 78.0), 1900.0)
    >>> round(report.dc_gain, 3), report.ok
    (0.013, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from mmdata.errors import ConfigError
from mmtrain.temporal.filters import fir_response

__all__ = ["MAX_DC_GAIN", "MAX_STOP_GAIN", "FirReport", "fir_dense_response", "check_fir", "require_fir"]

#: Largest DC gain of the FIR band-pass that a run accepts.
MAX_DC_GAIN = 0.02
#: Largest gain one octave or more outside the band (below ``low / 2``, above ``2 high``).
MAX_STOP_GAIN = 0.10


@dataclass(frozen=True)
class FirReport:
    """The response of the FIR band-pass a clip gets.

    Attributes:
        n_frames: frames of the clip (T).
        band: the requested ``(low, high)`` in Hz.
        fps: sampling rate in Hz.
        dc_gain: ``|H(0)|``.
        stop_gain: largest ``|H(f)|`` at ``f <= low / 2`` or ``f >= 2 high``.
        effective_band: ``(low, high)`` in Hz where ``|H| >= peak / sqrt(2)``.
        peak_gain: the largest ``|H(f)|`` (below 1 when the band is narrower than the resolution:
            the in-band motion is then magnified by ``1 + (alpha - 1) peak`` at most, not ``alpha``).
    """

    n_frames: int
    band: tuple[float, float]
    fps: float
    dc_gain: float
    stop_gain: float
    effective_band: tuple[float, float]
    peak_gain: float = 1.0

    @property
    def ok(self) -> bool:
        """Whether both gains are within :data:`MAX_DC_GAIN` and :data:`MAX_STOP_GAIN`."""
        return self.dc_gain <= MAX_DC_GAIN and self.stop_gain <= MAX_STOP_GAIN

    @property
    def wider(self) -> bool:
        """Whether the effective band extends beyond the requested one (by more than 5 % of its width)."""
        slack = 0.05 * (self.band[1] - self.band[0])
        wide = self.effective_band[0] < self.band[0] - slack or self.effective_band[1] > self.band[1] + slack
        return wide or self.peak_gain < 0.9

    def describe(self) -> str:
        """One line: the effective band against the requested one."""
        lo, hi = self.effective_band
        peak = f", peak gain {self.peak_gain:.2f}" if self.peak_gain < 0.9 else ""
        return (f"the FIR over {self.n_frames} frames passes {lo:.3g}-{hi:.3g} Hz at -3 dB (requested "
                f"{self.band[0]:g}-{self.band[1]:g} Hz; resolution fps/frames = {self.fps / self.n_frames:.3g} Hz"
                f"{peak})")


def fir_dense_response(response: np.ndarray, fps: float, *, n_grid: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude of the DTFT of the cyclic kernel with frequency response ``response`` (T DFT bins).

    The kernel's lags are taken in ``[-T/2, T/2)`` (the zero-phase placement), so for a zero-phase
    FIR this equals ``|freqz(taps)|``; at the DFT bins it equals ``|response|``.

    Returns:
        ``(f, gain)``: frequencies 0..fps/2 in Hz and ``|H(f)|``.
    """
    t = len(response)
    kernel = np.roll(np.fft.ifft(response).real, t // 2)  # lags -T//2 .. T - 1 - T//2, a linear shift
    n_grid = n_grid or max(4096, 8 * t)
    f, h = signal.freqz(kernel, worN=n_grid, fs=fps, include_nyquist=True)
    return f, np.abs(h)


def check_fir(n_frames: int, band: tuple[float, float], fps: float, *, numtaps: int | None = None,
              official: bool = False) -> FirReport:
    """The DC gain, stop-band gain and effective band of the FIR a clip of ``n_frames`` gets.

    Raises:
        ConfigError: as :func:`mmtrain.temporal.filters.fir_response` (bad band, too few frames).
    """
    low, high = float(band[0]), float(band[1])
    response = fir_response(n_frames, (low, high), fps, numtaps=numtaps, official=official)
    f, gain = fir_dense_response(response, fps)
    stop = (f <= low / 2) | (f >= 2 * high)
    passed = f[gain >= gain.max() / math.sqrt(2)]
    return FirReport(n_frames=n_frames, band=(low, high), fps=float(fps), dc_gain=float(abs(response[0])),
                     stop_gain=float(gain[stop].max()), effective_band=(float(passed.min()), float(passed.max())),
                     peak_gain=float(gain.max()))


def _frames_needed(n_frames: int, band: tuple[float, float], fps: float, official: bool) -> int | None:
    """The smallest clip length (on a 1.1x grid) whose FIR passes the check, or ``None`` beyond 10^6."""
    t = n_frames
    while t < 1_000_000:
        t = max(t + 1, int(t * 1.1))
        if check_fir(t, band, fps, official=official).ok:
            return t
    return None


def require_fir(n_frames: int, band: tuple[float, float], fps: float, *, numtaps: int | None = None,
                official: bool = False) -> FirReport:
    """:func:`check_fir`, raising when the filter is not a band-pass worth the name.

    Raises:
        ConfigError: (key ``filter``) DC or stop-band gain above the limits; the message gives both
            gains, the frames a clip of this band needs, and the alternatives.
    """
    report = check_fir(n_frames, band, fps, numtaps=numtaps, official=official)
    if report.ok:
        return report
    need = None if numtaps is not None else _frames_needed(n_frames, band, fps, official)
    more = f"a clip of at least {need} frames" if need else "a longer clip"
    raise ConfigError(
        f"filter: an FIR band-pass over {n_frames} frames cannot isolate {band[0]:g}-{band[1]:g} Hz at "
        f"{fps:g} fps: DC gain {report.dc_gain:.2f} (limit {MAX_DC_GAIN:g}), gain {report.stop_gain:.2f} "
        f"an octave outside the band (limit {MAX_STOP_GAIN:g}); use {more} (--frames), or --filter butter, "
        f"or --allow-leaky-fir to run it anyway")

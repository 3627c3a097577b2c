"""Pixel-wise temporal filters for the temporal mode (paper Eq. 4, Table A.1).

Three band-pass filters select the motion to magnify from the time series of every element of the
shape representation:

* ``fir``: a windowed-sinc band-pass (:func:`scipy.signal.firwin`) with as many taps as frames
  (paper appendix A.1), applied in the frequency domain as a *cyclic* convolution over the whole
  clip. The taps are placed zero-phase on the circle (centre tap at lag 0, negative lags wrapped to
  the end), so the filter delays nothing. A zero-phase filter needs an odd tap count: with an even
  number of frames T it has T - 1 taps. ``official=True`` instead reproduces the authors' code,
  ``fft(ifftshift(taps), n=T)``, which places the negative lags wrongly when taps < T (a phase and a
  poor stop band) and truncates when taps > T.
* ``butter``: a Butterworth band-pass (:func:`scipy.signal.butter`, order 2 as passed to scipy,
  i.e. a 4th-order band-pass, as the authors' code with ``n_filter_tap=2``), run causally in the
  time domain as second-order sections with streaming state.
* ``diff-iir``: the difference of two first-order IIR low-passes of the Riesz-pyramid paper
  (Wadhwa et al. 2014), ``L_r[t] = L_r[t-1] + r (x[t] - L_r[t-1])``, output ``L_r1 - L_r2`` with
  ``r1 > r2``. The band ``(low, high)`` in Hz is turned into ``r2, r1`` so that each low-pass is
  exactly -3 dB at its cut-off (:func:`iir_lowpass_coefficient`); the authors' baby settings
  ``r = 0.04, 0.4`` at 30 fps are the band 0.195-2.49 Hz.

Streaming filters start in the steady state of a constant input equal to the first frame, so a
still video gives exactly zero output and nothing rings at the start.
"""

from __future__ import annotations

import math
from typing import Literal, Protocol

import numpy as np
import torch
from scipy import signal

from mmdata.errors import ConfigError

__all__ = [
    "FilterKind", "FILTER_KINDS", "validate_band", "iir_lowpass_coefficient", "iir_lowpass_cutoff",
    "StreamingFilter", "DiffIIRFilter", "ButterworthFilter", "make_streaming_filter",
    "fir_taps", "fir_response", "fir_filter",
]

FilterKind = Literal["fir", "butter", "diff-iir"]
FILTER_KINDS: tuple[str, ...] = ("fir", "butter", "diff-iir")


def validate_band(band: tuple[float, float] | list[float], fps: float, *, key: str = "band") -> tuple[float, float]:
    """Check a pass band against the sampling rate.

    Args:
        band: ``(low, high)`` cut-off frequencies in Hz.
        fps: sampling rate (frames per second).
        key: name of the option, used in error messages.

    Returns:
        ``(low, high)`` as floats.

    Raises:
        ConfigError: not two numbers, ``fps <= 0``, ``low <= 0``, ``low >= high`` or ``high`` at or
            above the Nyquist frequency ``fps / 2``.
    """
    if band is None or len(band) != 2:
        raise ConfigError(f"{key}: expected two frequencies LOW HIGH in Hz, got {band!r}")
    low, high = float(band[0]), float(band[1])
    if not fps or fps <= 0 or not math.isfinite(fps):
        raise ConfigError(f"fps: expected a positive frame rate, got {fps!r}")
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0:
        raise ConfigError(f"{key}: the low cut-off must be a positive frequency, got {low} Hz")
    if low >= high:
        raise ConfigError(f"{key}: the low cut-off {low} Hz must be below the high cut-off {high} Hz")
    if high >= fps / 2:
        raise ConfigError(f"{key}: the high cut-off {high} Hz is at or above the Nyquist frequency "
                          f"{fps / 2:g} Hz of {fps:g} fps")
    return low, high


# --------------------------------------------------------------------------------------------
# Streaming (time-domain) filters
# --------------------------------------------------------------------------------------------

def iir_lowpass_coefficient(cutoff: float, fs: float) -> float:
    """Coefficient ``r`` of ``y[t] = y[t-1] + r (x[t] - y[t-1])`` whose gain is -3 dB at ``cutoff``.

    Solves ``|r / (1 - (1 - r) e^{-iw})|^2 = 1/2`` at ``w = 2 pi cutoff / fs``.
    """
    c = 2.0 - math.cos(2.0 * math.pi * cutoff / fs)
    return 1.0 - (c - math.sqrt(c * c - 1.0))


def iir_lowpass_cutoff(r: float, fs: float) -> float:
    """The -3 dB frequency (Hz) of the first-order low-pass with coefficient ``r`` (inverse of
    :func:`iir_lowpass_coefficient`)."""
    q = 1.0 - r
    return math.acos((1.0 + q * q - 2.0 * r * r) / (2.0 * q)) * fs / (2.0 * math.pi)


class StreamingFilter(Protocol):
    """A causal filter fed consecutive frames; keeps its own state between calls."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x`` of shape ``(n, ...)``: ``n`` consecutive frames, time on axis 0."""
        ...


class DiffIIRFilter:
    """Difference of two first-order IIR low-passes (Wadhwa et al. 2014), streaming.

    Args:
        band: ``(low, high)`` -3 dB cut-offs in Hz of the two low-passes.
        fs: sampling rate in Hz.

    Shape:
        input and output ``(n, ...)``; state is kept in float64 on the input's device.

    Example:
        >>> f = DiffIIRFilter((0.5, 3.0), 30.0)
        >>> y = f(torch.zeros(8, 4))
    """

    def __init__(self, band: tuple[float, float], fs: float) -> None:
        low, high = validate_band(band, fs)
        self.r1 = iir_lowpass_coefficient(high, fs)
        self.r2 = iir_lowpass_coefficient(low, fs)
        self._lp1: torch.Tensor | None = None
        self._lp2: torch.Tensor | None = None

    def ba(self) -> tuple[np.ndarray, np.ndarray]:
        """Transfer function ``(b, a)`` of the whole filter (for analysis)."""
        r1, r2 = self.r1, self.r2
        return (np.array([r1 - r2, r2 - r1]),
                np.array([1.0, -(2.0 - r1 - r2), (1.0 - r1) * (1.0 - r2)]))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xd = x.to(torch.float64)
        if self._lp1 is None:
            self._lp1, self._lp2 = xd[0].clone(), xd[0].clone()
        out = torch.empty_like(xd)
        for t in range(xd.shape[0]):
            self._lp1 += self.r1 * (xd[t] - self._lp1)
            self._lp2 += self.r2 * (xd[t] - self._lp2)
            out[t] = self._lp1 - self._lp2
        return out.to(x.dtype)


class ButterworthFilter:
    """Butterworth band-pass as second-order sections, run causally with streaming state.

    Args:
        band: ``(low, high)`` cut-offs in Hz.
        fs: sampling rate in Hz.
        order: order passed to :func:`scipy.signal.butter` (the band-pass has twice this order).

    Shape:
        input and output ``(n, ...)``; state is kept in float64 on the input's device.
    """

    def __init__(self, band: tuple[float, float], fs: float, order: int = 2) -> None:
        low, high = validate_band(band, fs)
        if order < 1:
            raise ConfigError(f"order: expected a Butterworth order >= 1, got {order}")
        self.sos = signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
        self._zi = signal.sosfilt_zi(self.sos)  # (n_sections, 2), steady state for a unit step
        self._z: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        xd = x.to(torch.float64)
        sos = [tuple(float(v) for v in row) for row in self.sos]
        if self._z is None:  # (n_sections, 2, ...): steady state of a constant input x[0]
            zi = torch.as_tensor(self._zi, dtype=torch.float64, device=x.device)
            self._z = zi.reshape(zi.shape + (1,) * (xd.ndim - 1)) * xd[0]
        z = self._z
        out = torch.empty_like(xd)
        for t in range(xd.shape[0]):
            v = xd[t]
            for s, (b0, b1, b2, _a0, a1, a2) in enumerate(sos):  # direct form II transposed
                y = b0 * v + z[s, 0]
                z[s, 0] = b1 * v - a1 * y + z[s, 1]
                z[s, 1] = b2 * v - a2 * y
                v = y
            out[t] = v
        return out.to(x.dtype)


def make_streaming_filter(kind: str, band: tuple[float, float], fs: float, *, order: int = 2) -> StreamingFilter:
    """Build the streaming filter ``kind`` (``butter`` or ``diff-iir``).

    Raises:
        ConfigError: unknown kind (``fir`` is not streaming), or a bad band.
    """
    if kind == "butter":
        return ButterworthFilter(band, fs, order)
    if kind == "diff-iir":
        return DiffIIRFilter(band, fs)
    raise ConfigError(f"filter: {kind!r} is not a streaming filter (expected 'butter' or 'diff-iir')")


# --------------------------------------------------------------------------------------------
# FIR in the frequency domain
# --------------------------------------------------------------------------------------------

def fir_taps(n_frames: int, band: tuple[float, float], fs: float, *, numtaps: int | None = None) -> np.ndarray:
    """The band-pass taps: ``firwin(numtaps, band, fs=fs, pass_zero=False)`` (Hamming window).

    Args:
        n_frames: number of frames T of the clip.
        band: ``(low, high)`` in Hz.
        fs: sampling rate in Hz.
        numtaps: tap count; default T, or T - 1 when T is even (a zero-phase filter needs an odd count).

    Raises:
        ConfigError: fewer than 3 frames, a bad band or a tap count outside ``[3, T]``.
    """
    low, high = validate_band(band, fs)
    if n_frames < 3:
        raise ConfigError(f"filter: the FIR band-pass needs at least 3 frames, the video has {n_frames}")
    if numtaps is None:
        numtaps = n_frames if n_frames % 2 else n_frames - 1
    if numtaps < 3:
        raise ConfigError(f"fir_taps: expected at least 3 taps, got {numtaps}")
    return signal.firwin(numtaps, [low, high], fs=fs, pass_zero=False)


def fir_response(n_frames: int, band: tuple[float, float], fs: float, *, numtaps: int | None = None,
                 official: bool = False) -> np.ndarray:
    """Frequency response, on the T-point DFT grid, of the cyclic FIR band-pass.

    Args:
        n_frames: number of frames T.
        band: ``(low, high)`` in Hz.
        fs: sampling rate in Hz.
        numtaps: see :func:`fir_taps`; with ``official=True`` the default is T and any count is allowed.
        official: reproduce the authors' ``fft(ifftshift(taps), n=T)`` placement instead of zero phase.

    Returns:
        complex128 array ``(T,)``: multiply the DFT over time by it.

    Raises:
        ConfigError: as :func:`fir_taps`; an odd tap count above T for the zero-phase placement.
    """
    if official:
        taps = fir_taps(max(n_frames, 3), band, fs, numtaps=numtaps or n_frames)
        return np.fft.fft(np.fft.ifftshift(taps), n=n_frames)
    taps = fir_taps(n_frames, band, fs, numtaps=numtaps)
    n = len(taps)
    if n % 2 == 0 or n > n_frames:
        raise ConfigError(f"fir_taps: a zero-phase cyclic FIR needs an odd tap count <= {n_frames}, got {n}")
    half = n // 2
    kernel = np.zeros(n_frames)
    kernel[: half + 1] = taps[half:]          # lags 0 .. half
    kernel[n_frames - half:] = taps[:half]    # lags -half .. -1, wrapped to the end
    return np.fft.fft(kernel)


def fir_filter(x: np.ndarray, response: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Cyclic convolution of ``x`` along ``axis`` with the FIR of frequency response ``response``.

    The kernel is real, so the response is Hermitian and a real FFT suffices; the result equals the
    real part of ``ifft(fft(x) * response)``.

    Args:
        x: real array with T samples along ``axis``.
        response: ``(T,)`` from :func:`fir_response`.
        axis: the time axis.

    Returns:
        Array of ``x``'s shape and float dtype.
    """
    n = x.shape[axis]
    if response.shape != (n,):
        raise ValueError(f"response has shape {response.shape}, expected ({n},) for {n} frames")
    shape = [1] * x.ndim
    shape[axis] = n // 2 + 1
    half = response[: n // 2 + 1].reshape(shape)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    spectrum = np.fft.rfft(x, axis=axis)
    spectrum *= half.astype(spectrum.dtype)
    return np.fft.irfft(spectrum, n=n, axis=axis).astype(dtype, copy=False)

"""The phase-based motion magnification of Wadhwa et al. (SIGGRAPH 2013), on a clip and streaming on video.

The phase-based method of Wadhwa et al. (SIGGRAPH 2013), as the paper ran it in its quantitative
comparison (section 4.1, footnote 4):

1. every frame is decomposed by a complex steerable pyramid (``pyrtools.pyramids.SteerablePyramidFreq``
   with ``is_complex=True``; octave bandwidth, ``orientations`` orientations per level);
2. for every band, the local phase of every frame relative to the first frame is taken (wrapped to
   (-pi, pi]);
3. these phase signals are band-passed in time by a 30-tap FIR filter with a 0.5-7.5 Hz passband at
   30 fps, applied in the frequency domain over the whole clip (the paper's Table A.1 convention: an
   FIR filter is applied in the frequency domain). We apply the FIR's *zero-phase* amplitude response
   (its impulse response centred on the current frame): the causal 30-tap filter has a group delay of
   14.5 frames, which would otherwise shift the phase of a 3 Hz motion by a fraction of a period.
   Its DC gain is set to 0: a 30-tap window design cannot realise a 0.5 Hz edge at 30 fps and passes
   about half of the DC, which (phases being measured against the first frame) would add half of the
   first frame's displacement, times ``alpha - 1``, to every output frame;
4. the band-passed phase is smoothed spatially with a Gaussian weighted by the band's amplitude
   (``sigma`` in pixels of each level), which reduces noise in low-amplitude regions;
5. it is multiplied by the amplification ``alpha - 1`` and added to the phase of the frame's
   coefficients; the residual high- and low-pass bands are kept unchanged; the pyramid is inverted.

:func:`phase_based_magnify` is that method on a whole clip in memory (the evaluation's cases: 30
frames of a small crop). On video, :class:`PhaseBasedStream` (driven by
:func:`mmtrain.classical.phase_frames.phase_based_frames`) runs it one
frame at a time with the same pyramid, smoothing and amplification and the modes of the network:
``static`` (phase relative to the first frame), ``dynamic`` (relative to the previous frame) and
``temporal`` with a causal streaming filter (Butterworth or difference of IIR,
:mod:`mmtrain.temporal.filters`) of the phase unwrapped frame to frame. Its memory is one pyramid
plus the filter state per coefficient, whatever the clip's length.

A motion ``delta`` that passes the filter therefore appears as ``alpha * delta`` in the output, which is
the magnification convention of the whole toolkit (SPEC section 1). Colour frames are processed one
RGB channel at a time (the original works on the luma of YIQ and leaves the chroma unmagnified, which
would penalise it on coloured synthetic scenes). We use 8 orientations: with 4, the wide angular
support of each octave band makes a translation come out about 12 % short of ``alpha * delta``
(about 5 % with 8).

Example:
    >>> import numpy as np
    >>> video = np.random.default_rng(0).random((30, 32, 32, 3)) * 255
    >>> phase_based_magnify(video, alpha=10.0, frames=[0]).shape
    (1, 32, 32, 3)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import scipy.ndimage
import scipy.signal
import torch

from mmdata.errors import ConfigError

__all__ = ["StreamSettings", "PhaseBasedConfig", "fir_bandpass", "fir_transfer", "phase_based_magnify", "PhaseBasedStream"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseBasedConfig:
    """Parameters of the phase-based method (defaults: the paper's comparison, footnote 4)."""

    fps: float = 30.0  # frame rate of the clip
    low_hz: float = 0.5  # lower edge of the temporal passband
    high_hz: float = 7.5  # upper edge of the temporal passband
    taps: int = 30  # length of the FIR band-pass filter (window method, Hamming window)
    orientations: int = 8  # orientations per pyramid level
    levels: int | None = None  # pyramid height; None = as many as the frame size allows
    sigma: float = 2.0  # std (pixels of each level) of the amplitude-weighted phase smoothing; 0 = none

    def __post_init__(self) -> None:
        if not 0 < self.low_hz < self.high_hz < self.fps / 2:
            raise ConfigError(
                f"phase_based: need 0 < low_hz < high_hz < fps/2, got low_hz={self.low_hz}, "
                f"high_hz={self.high_hz}, fps={self.fps}"
            )
        if self.taps < 3:
            raise ConfigError(f"phase_based.taps: expected at least 3, got {self.taps}")
        if self.orientations < 1:
            raise ConfigError(f"phase_based.orientations: expected at least 1, got {self.orientations}")
        if self.sigma < 0:
            raise ConfigError(f"phase_based.sigma: expected >= 0, got {self.sigma}")


def fir_bandpass(config: PhaseBasedConfig) -> np.ndarray:
    """The FIR band-pass filter's taps (window method, Hamming window, unit gain mid-band).

    Args:
        config: filter parameters (``taps``, ``low_hz``, ``high_hz``, ``fps``).

    Returns:
        float64 array of shape ``(taps,)``, symmetric.
    """
    return scipy.signal.firwin(config.taps, [config.low_hz, config.high_hz], pass_zero=False, fs=config.fps)


def fir_transfer(n_frames: int, config: PhaseBasedConfig) -> np.ndarray:
    """Zero-phase frequency response of the FIR band-pass on the ``rfft`` bins of an ``n_frames`` clip.

    Args:
        n_frames: clip length; at least ``config.taps`` (the filter spans the clip, as in the paper).
        config: filter parameters.

    Returns:
        Real float64 array of shape ``(n_frames // 2 + 1,)``: the amplitude response (may be slightly
        negative in the stop band), i.e. the response of the filter centred on the current frame,
        with the DC bin set to 0.

    Raises:
        ConfigError: the clip is shorter than the filter.
    """
    if n_frames < config.taps:
        raise ConfigError(f"phase_based.taps: the clip has {n_frames} frames, fewer than the filter's {config.taps} taps")
    taps = fir_bandpass(config)
    omega = 2 * np.pi * np.fft.rfftfreq(n_frames)  # radians per frame
    response = np.real(np.fft.rfft(taps, n=n_frames) * np.exp(1j * omega * (config.taps - 1) / 2))
    response[0] = 0.0  # the passband starts above DC; the short window design leaks about half of it
    return response


def _steerable_pyramid(image: np.ndarray, height: int | str, order: int):
    """pyrtools' complex steerable pyramid of one image (pyrtools, which imports matplotlib, loads on first use)."""
    from pyrtools.pyramids import SteerablePyramidFreq

    return SteerablePyramidFreq(image, height=height, order=order, is_complex=True)


def _amplitude_weighted_blur(phase: np.ndarray, amplitude: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of ``phase`` weighted by ``amplitude`` (both (h, w))."""
    if sigma <= 0:
        return phase
    num = scipy.ndimage.gaussian_filter(phase * amplitude, sigma, mode="reflect")
    den = scipy.ndimage.gaussian_filter(amplitude, sigma, mode="reflect")
    return num / (den + np.finfo(np.float64).eps)


def _magnify_channel(
    video: np.ndarray, amplification: float, transfer: np.ndarray, config: PhaseBasedConfig, frames: Sequence[int]
) -> np.ndarray:
    """Phase-based magnification of one channel: (T, H, W) -> (len(frames), H, W)."""
    height = "auto" if config.levels is None else config.levels
    order = config.orientations - 1
    pyramids = [_steerable_pyramid(f, height, order) for f in video]
    new_coeffs = {t: dict(pyramids[t].pyr_coeffs) for t in frames}
    for key in pyramids[0].pyr_coeffs:
        if not isinstance(key, tuple):  # residual high/low-pass bands stay as they are
            continue
        coeffs = np.stack([p.pyr_coeffs[key] for p in pyramids])  # (T, h, w) complex
        phase = np.angle(coeffs * np.conj(coeffs[0]))  # phase relative to frame 0, wrapped
        n = len(video)
        filtered = np.fft.irfft(np.fft.rfft(phase, axis=0) * transfer[:, None, None], n=n, axis=0)
        for t in frames:
            shift = _amplitude_weighted_blur(filtered[t], np.abs(coeffs[t]), config.sigma)
            new_coeffs[t][key] = coeffs[t] * np.exp(1j * amplification * shift)
    out = np.empty((len(frames),) + video.shape[1:], dtype=np.float64)
    for i, t in enumerate(frames):
        pyramids[t].pyr_coeffs = new_coeffs[t]
        out[i] = pyramids[t].recon_pyr()
    return out


def phase_based_magnify(
    video: np.ndarray,
    alpha: float,
    config: PhaseBasedConfig | None = None,
    *,
    frames: Sequence[int] | None = None,
) -> np.ndarray:
    """Magnify the band-passed motion of a clip by ``alpha`` with the phase-based method.

    Args:
        video: frames, shape (T, H, W) or (T, H, W, C), any numeric dtype (0-255 scale expected).
        alpha: magnification factor: a filtered motion ``delta`` becomes ``alpha * delta``
            (so ``alpha = 1`` returns the input up to the pyramid's reconstruction error).
        config: method parameters; the paper's by default.
        frames: which output frames to reconstruct (all by default). Every frame of the clip is
            still analysed, since the temporal filter spans the clip.

    Returns:
        float64 array (len(frames), H, W[, C]), not clipped or rounded.

    Raises:
        ConfigError: bad shape, fewer frames than filter taps, or a frame index out of range.

    Shape:
        (T, H, W, C) -> (F, H, W, C)
    """
    config = config or PhaseBasedConfig()
    video = np.asarray(video, dtype=np.float64)
    if video.ndim not in (3, 4) or min(video.shape[1:3]) < 8:
        raise ConfigError(f"phase_based: expected a clip of shape (T, H, W[, C]) with H, W >= 8, got {video.shape}")
    squeeze = video.ndim == 3
    if squeeze:
        video = video[..., None]
    n = video.shape[0]
    frames = list(range(n)) if frames is None else [int(t) for t in frames]
    bad = [t for t in frames if not 0 <= t < n]
    if bad:
        raise ConfigError(f"phase_based: frame indices {bad} outside the clip's 0..{n - 1}")
    transfer = fir_transfer(n, config)
    out = np.stack(
        [_magnify_channel(video[..., c], alpha - 1.0, transfer, config, frames) for c in range(video.shape[-1])],
        axis=-1,
    )
    return out[..., 0] if squeeze else out


class StreamSettings(Protocol):
    """What the streamed classical methods read of a run's settings
    (:class:`mmtrain.magnify.pipeline.MagnifySettings` is one)."""

    @property
    def alpha(self) -> float: ...  # magnification factor

    @property
    def mode(self) -> str: ...  # static, dynamic or temporal

    @property
    def filter(self) -> str: ...  # temporal mode: fir, butter or diff-iir (the streamed ones: butter, diff-iir)

    @property
    def band(self) -> tuple[float, float] | None: ...  # temporal mode: pass band in Hz

    @property
    def fps(self) -> float | None: ...  # the sampling rate the band refers to

    @property
    def order(self) -> int: ...  # Butterworth order


class PhaseBasedStream:
    """The phase-based method one frame at a time, in the modes of :class:`StreamSettings`.

    For every band coefficient ``c_t`` of every RGB channel, the motion signal ``d_t`` is

    * ``static``: ``angle(c_t conj(c_0))`` (phase against the first frame);
    * ``dynamic``: ``angle(c_t conj(c_{t-1}))`` (against the previous frame);
    * ``temporal``: the streaming filter (``butter`` or ``diff-iir``) of the phase unwrapped frame to
      frame, ``phi_t = phi_{t-1} + angle(c_t conj(c_{t-1}))``;

    smoothed by the amplitude-weighted Gaussian and applied as ``c_t exp(i (alpha - 1) d_t)``, so a
    motion ``delta`` in ``d`` becomes ``alpha * delta``. Memory: one pyramid, the previous
    coefficients, and (temporal) the unwrapped phase and the filter state, per coefficient.

    Args:
        settings: resolved settings (method, mode, alpha, filter, band, fps, order).
        config: pyramid and smoothing (``orientations``, ``levels``, ``sigma``); its band is unused.
    """

    def __init__(self, settings: StreamSettings, config: PhaseBasedConfig | None = None) -> None:
        self.s, self.config = settings, config or PhaseBasedConfig()
        self._prev: dict[tuple, np.ndarray] = {}
        self._phase: dict[tuple, np.ndarray] = {}
        self._filters: dict[tuple, object] = {}

    def _signal(self, key: tuple, coeff: np.ndarray) -> np.ndarray:
        """The motion signal ``d_t`` of one band (see the class docstring)."""
        from mmtrain.temporal.filters import make_streaming_filter

        prev = self._prev.get(key, coeff)
        step = np.angle(coeff * np.conj(prev))
        if self.s.mode == "static":
            self._prev.setdefault(key, coeff)
            return step
        self._prev[key] = coeff
        if self.s.mode == "dynamic":
            return step
        phase = self._phase[key] = self._phase.get(key, 0.0) + step
        if key not in self._filters:
            self._filters[key] = make_streaming_filter(self.s.filter, self.s.band, self.s.fps, order=self.s.order)
        return self._filters[key](torch.from_numpy(np.asarray(phase, np.float64))[None])[0].numpy()

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Magnify the next frame ``(H, W, 3)`` (0-255); returns float64 ``(H, W, 3)``, not clipped."""
        height = "auto" if self.config.levels is None else self.config.levels
        out = np.empty(frame.shape, np.float64)
        for c in range(frame.shape[-1]):
            pyr = _steerable_pyramid(frame[..., c].astype(np.float64), height, self.config.orientations - 1)
            for key, coeff in list(pyr.pyr_coeffs.items()):
                if not isinstance(key, tuple):  # residual high/low-pass bands stay as they are
                    continue
                shift = _amplitude_weighted_blur(self._signal((c, key), coeff), np.abs(coeff), self.config.sigma)
                pyr.pyr_coeffs[key] = coeff * np.exp(1j * (self.s.alpha - 1.0) * shift)
            out[..., c] = pyr.recon_pyr()
        return out

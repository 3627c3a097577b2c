"""The phase-based and linear Eulerian methods on a whole clip in torch: the same numbers as numpy, on a GPU.

:func:`phase_based_magnify_torch` and :func:`linear_magnify_torch` are
:func:`mmtrain.classical.phase.phase_based_magnify` and :func:`mmtrain.classical.linear.linear_magnify`
step for step — the pyramid of :mod:`mmtrain.classical.steerable` (pyrtools' own filters), the phase
against frame 0, the zero-phase FIR of :func:`mmtrain.classical.phase.fir_transfer` over time (the
numpy methods' ``irfft(rfft(x) * transfer)``, evaluated at the output frames only, as rows of that
filter's circulant matrix), the amplitude-weighted Gaussian smoothing with the kernel and boundary of
``scipy.ndimage.gaussian_filter`` (``truncate=4``, ``mode="reflect"``), and ``alpha - 1`` times the
filtered phase — in float64 on any torch device, every RGB channel and frame at once, one band at a
time (memory: a few complex copies of the clip at full resolution). :class:`PhaseBasedStreamTorch`
is the streaming method of ``mmtrain magnify`` the same way.

Example:
    >>> import numpy as np
    >>> video = np.random.default_rng(0).random((30, 32, 32, 3)) * 255
    >>> phase_based_magnify_torch(video, alpha=10.0, frames=[0]).shape
    (1, 32, 32, 3)
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch

from mmdata.errors import ConfigError
from mmtrain.classical.phase import PhaseBasedConfig, StreamSettings, fir_transfer
from mmtrain.classical.steerable import SteerablePyramid

__all__ = ["gaussian_blur_reflect", "amplitude_weighted_blur", "phase_based_magnify_torch", "linear_magnify_torch",
           "PhaseBasedStreamTorch"]


@functools.lru_cache(maxsize=8)
def _gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """``scipy.ndimage``'s 1-D Gaussian: radius ``int(truncate sigma + 0.5)``, normalised to sum 1."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    return w / w.sum()


def _reflect_index(n: int, radius: int, device: torch.device) -> torch.Tensor:
    """Indices ``-radius .. n + radius - 1`` folded back half-sample symmetrically (``d c b a | a b c d | d c``)."""
    i = np.arange(-radius, n + radius) % (2 * n)
    return torch.as_tensor(np.where(i >= n, 2 * n - 1 - i, i), device=device)


def gaussian_blur_reflect(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``scipy.ndimage.gaussian_filter(x, sigma, mode="reflect")`` over the last two axes of ``x``.

    Args:
        x: real tensor ``(..., h, w)``.
        sigma: standard deviation in pixels; ``0`` returns ``x``.

    Returns:
        Tensor of the shape of ``x``.
    """
    if sigma <= 0:
        return x
    w = torch.as_tensor(_gaussian_kernel(float(sigma)), dtype=x.dtype, device=x.device)
    radius = (len(w) - 1) // 2
    for dim in (-2, -1):  # scipy filters axis by axis, first axis first
        n = x.shape[dim]
        padded = x.index_select(dim, _reflect_index(n, radius, x.device))
        x = (padded.unfold(dim, len(w), 1) * w).sum(-1)
    return x


def amplitude_weighted_blur(phase: torch.Tensor, amplitude: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian smoothing of ``phase`` weighted by ``amplitude`` (as the numpy method), over the last two axes."""
    if sigma <= 0:
        return phase
    num = gaussian_blur_reflect(phase * amplitude, sigma)
    den = gaussian_blur_reflect(amplitude, sigma)
    return num / (den + np.finfo(np.float64).eps)


def _check_clip(video: np.ndarray | torch.Tensor, frames: Sequence[int] | None, name: str) -> tuple[torch.Tensor, list[int]]:
    clip = torch.as_tensor(np.asarray(video, dtype=np.float64) if not torch.is_tensor(video) else video)
    if clip.ndim not in (3, 4) or min(clip.shape[1:3]) < 8:
        raise ConfigError(f"{name}: expected a clip of shape (T, H, W[, C]) with H, W >= 8, got {tuple(clip.shape)}")
    n = clip.shape[0]
    frames = list(range(n)) if frames is None else [int(t) for t in frames]
    bad = [t for t in frames if not 0 <= t < n]
    if bad:
        raise ConfigError(f"{name}: frame indices {bad} outside the clip's 0..{n - 1}")
    return clip, frames


def _bandpass_rows(n: int, frames: Sequence[int], config: PhaseBasedConfig, device: torch.device) -> torch.Tensor:
    """The rows ``frames`` of the circulant matrix of the zero-phase FIR band-pass (:func:`fir_transfer`).

    ``irfft(rfft(x) * transfer)[t] = sum_s g[(t - s) mod n] x[s]`` with ``g = irfft(transfer)``: the
    numpy methods' frequency-domain filtering, evaluated only at the output frames.
    """
    g = np.fft.irfft(fir_transfer(n, config), n=n)
    t, s = np.asarray(frames)[:, None], np.arange(n)[None, :]
    return torch.as_tensor(g[(t - s) % n], dtype=torch.float64, device=device)  # (F, T)


def _apply_rows(rows: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``rows @ x`` over axis 0 of ``x`` (T, ...) -> (F, ...)."""
    return (rows @ x.reshape(x.shape[0], -1)).reshape((rows.shape[0],) + x.shape[1:])


@torch.no_grad()
def phase_based_magnify_torch(
    video: np.ndarray | torch.Tensor,
    alpha: float,
    config: PhaseBasedConfig | None = None,
    *,
    frames: Sequence[int] | None = None,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """:func:`mmtrain.classical.phase.phase_based_magnify` in torch (float64, any device).

    Args:
        video: frames (T, H, W) or (T, H, W, C), 0-255 scale; H and W even.
        alpha: magnification factor (a filtered motion ``delta`` becomes ``alpha * delta``).
        config: method parameters; the paper's by default.
        frames: output frames (all by default); every frame is analysed.
        device: torch device of the computation.

    Returns:
        float64 numpy array (len(frames), H, W[, C]), not clipped or rounded.

    Raises:
        ConfigError: bad shape (or odd sides), fewer frames than filter taps, a frame out of range.

    Shape:
        (T, H, W, C) -> (F, H, W, C)
    """
    config = config or PhaseBasedConfig()
    clip, frames = _check_clip(video, frames, "phase_based")
    squeeze = clip.ndim == 3
    x = (clip[..., None] if squeeze else clip).to(device, torch.float64).permute(0, 3, 1, 2)  # (T, C, H, W)
    pyr = SteerablePyramid(tuple(x.shape[-2:]), config.levels, config.orientations, device=device)
    amplification = alpha - 1.0
    idx = torch.as_tensor(frames, device=pyr.device)
    rows = _bandpass_rows(x.shape[0], frames, config, pyr.device)
    spec = pyr.spectrum(x)
    lods = pyr.lowpass_spectra(spec)
    level_sums = []
    for level in range(pyr.levels):
        lod = torch.fft.ifftshift(lods[level], dim=(-2, -1))
        coeffs = torch.empty_like(lod)  # buffers reused by every orientation: (T, C, h, w)
        product = torch.empty_like(lod)
        phase = torch.empty(lod.shape, dtype=torch.float64, device=pyr.device)
        total = None
        for b in range(pyr.orientations):
            torch.fft.ifft2(torch.mul(lod, pyr.band_filters[level][b], out=product), out=coeffs)
            torch.angle(torch.mul(coeffs, coeffs[:1].conj(), out=product), out=phase)  # against frame 0, wrapped
            kept = coeffs.index_select(0, idx)
            shift = amplitude_weighted_blur(_apply_rows(rows, phase), kept.abs(), config.sigma)
            part = pyr.band_spectrum(kept * torch.exp(1j * amplification * shift), level, b)
            total = part if total is None else total + part
        level_sums.append(total)
    out = pyr.collapse(pyr.highpass(spec.index_select(0, idx)), level_sums, pyr.lowpass(lods[-1].index_select(0, idx)))
    out = out.permute(0, 2, 3, 1).cpu().numpy()  # (F, H, W, C)
    return out[..., 0] if squeeze else out


@torch.no_grad()
def linear_magnify_torch(
    video: np.ndarray | torch.Tensor,
    alpha: float,
    config: PhaseBasedConfig | None = None,
    *,
    frames: Sequence[int] | None = None,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """:func:`mmtrain.classical.linear.linear_magnify` in torch: ``frame + (alpha - 1) * bandpass(frames)``.

    Returns:
        float64 numpy array (len(frames), H, W[, C]), not clipped.

    Raises:
        ConfigError: bad shape, fewer frames than filter taps, or a frame index out of range.
    """
    config = config or PhaseBasedConfig()
    clip, frames = _check_clip(video, frames, "linear")
    x = clip.to(device, torch.float64)
    idx = torch.as_tensor(frames, device=x.device)
    rows = _bandpass_rows(x.shape[0], frames, config, x.device)
    return (x.index_select(0, idx) + (alpha - 1.0) * _apply_rows(rows, x)).cpu().numpy()


class PhaseBasedStreamTorch:
    """:class:`mmtrain.classical.phase.PhaseBasedStream` in torch: one frame at a time on ``device``.

    The same motion signal per band coefficient (``static``: phase against the first frame;
    ``dynamic``: against the previous one; ``temporal``: the streaming filter of the phase unwrapped
    frame to frame), the same amplitude-weighted smoothing and ``exp(i (alpha - 1) d_t)``, every RGB
    channel and orientation of a level at once. Memory: one pyramid, the previous coefficients and
    (temporal) the unwrapped phase and the filter state, per coefficient, on ``device``.

    Args:
        settings: resolved settings (method, mode, alpha, filter, band, fps, order).
        config: pyramid and smoothing (``orientations``, ``levels``, ``sigma``); its band is unused.
        device: torch device.
    """

    def __init__(self, settings: StreamSettings, config: PhaseBasedConfig | None = None,
                 device: torch.device | str = "cpu") -> None:
        self.s, self.config, self.device = settings, config or PhaseBasedConfig(), torch.device(device)
        self._pyr: SteerablePyramid | None = None
        self._prev: dict[int, torch.Tensor] = {}
        self._phase: dict[int, torch.Tensor] = {}
        self._filters: dict[int, object] = {}

    def _signal(self, level: int, coeff: torch.Tensor) -> torch.Tensor:
        """The motion signal ``d_t`` of one level's bands ``(C, K, h, w)``."""
        from mmtrain.temporal.filters import make_streaming_filter

        prev = self._prev.get(level, coeff)
        step = torch.angle(coeff * prev.conj())
        if self.s.mode == "static":
            self._prev.setdefault(level, coeff)
            return step
        self._prev[level] = coeff
        if self.s.mode == "dynamic":
            return step
        phase = self._phase[level] = self._phase.get(level, 0.0) + step
        if level not in self._filters:
            self._filters[level] = make_streaming_filter(self.s.filter, self.s.band, self.s.fps, order=self.s.order)
        return self._filters[level](phase[None])[0]

    @torch.no_grad()
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Magnify the next frame ``(H, W, 3)`` (0-255); returns float64 ``(H, W, 3)``, not clipped."""
        x = torch.as_tensor(np.asarray(frame, dtype=np.float64), device=self.device).permute(2, 0, 1)  # (C, H, W)
        if self._pyr is None:
            self._pyr = SteerablePyramid(tuple(x.shape[-2:]), self.config.levels, self.config.orientations,
                                         device=self.device)
        pyr = self._pyr
        spec = pyr.spectrum(x)
        lods = pyr.lowpass_spectra(spec)
        level_sums = []
        for level in range(pyr.levels):
            coeff = pyr.band(lods[level], level)  # (C, K, h, w)
            shift = amplitude_weighted_blur(self._signal(level, coeff), coeff.abs(), self.config.sigma)
            level_sums.append(pyr.band_spectrum(coeff * torch.exp(1j * (self.s.alpha - 1.0) * shift), level))
        out = pyr.collapse(pyr.highpass(spec), level_sums, pyr.lowpass(lods[-1]))
        return out.permute(1, 2, 0).cpu().numpy()

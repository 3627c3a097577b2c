"""The complex steerable pyramid of ``pyrtools.pyramids.SteerablePyramidFreq`` in torch (CPU or CUDA).

The numpy phase-based method (:mod:`mmtrain.classical.phase`) decomposes frames with pyrtools'
frequency-domain steerable pyramid. This module applies *the same frequency-domain filters*, taken
from pyrtools itself (the masks it builds for an image of the given shape: ``lo0``/``hi0``, and per
level the radial high-pass, the angular masks and the radial low-pass), to batches of frames in
torch, so that the decomposition and the reconstruction equal pyrtools' to float64 rounding:

* analysis (``SteerablePyramidFreq.__init__`` with ``is_complex=True``): ``lodft_0 = fftshift(fft2(x)) lo0``;
  band ``(i, b) = ifft2(ifftshift((-i)^order lodft_i himask_i angle_i,b))`` with the complex (one-sided,
  doubled) angular mask; ``lodft_{i+1} = crop(lodft_i) lomask_i``; the residuals are the real parts of
  ``ifft2(... hi0)`` and of ``ifft2(lodft_L)``;
* synthesis (``recon_pyr``): the real part of every band, filtered by ``i^order himask_i angle_i,b`` with
  the *real* (two-sided) angular mask, summed level by level from the coarsest, each level's sum
  embedded in the next finer one after its low-pass mask; finally ``lo0`` and the high-pass ``hi0``.

pyrtools reconstructs on a frequency grid that differs from its analysis grid by a fraction of a
bin when a side of the frame is odd (it warns that reconstruction is then not exact); frames must
therefore have even sides here, which keeps both grids, and so the filters, identical.

Example:
    >>> import torch
    >>> pyr = SteerablePyramid((32, 32), orientations=4)
    >>> x = torch.rand(2, 32, 32, dtype=torch.float64)
    >>> bool(torch.allclose(pyr.reconstruct(pyr.decompose(x)), x, atol=1e-6))
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from mmdata.errors import ConfigError

__all__ = ["SteerablePyramid", "Decomposition"]


@dataclass
class Decomposition:
    """A pyramid of a batch of frames ``(..., H, W)``: residuals and ``bands[level]`` of shape ``(..., K, h, w)``."""

    highpass: torch.Tensor  # (..., H, W) real
    bands: list[torch.Tensor]  # per level, (..., K, h_i, w_i) complex, fine to coarse
    lowpass: torch.Tensor  # (..., h_L, w_L) real


@functools.lru_cache(maxsize=16)
def _pyrtools_masks(shape: tuple[int, int], height: int | None, order: int) -> dict[str, object]:
    """pyrtools' own frequency-domain masks for frames of ``shape`` (analysis and synthesis)."""
    from pyrtools.pyramids import SteerablePyramidFreq  # on use: pyrtools imports matplotlib

    zeros = np.zeros(shape)
    h = "auto" if height is None else height
    try:
        analysis = SteerablePyramidFreq(zeros, height=h, order=order, is_complex=True)
        synthesis = SteerablePyramidFreq(zeros, height=h, order=order, is_complex=False)
    except ValueError as exc:
        raise ConfigError(f"steerable pyramid: {exc}") from exc
    levels = analysis.num_scales
    return {
        "levels": levels,
        "lo0": analysis._lo0mask.reshape(shape),
        "hi0": analysis._hi0mask.reshape(shape),
        "hi": [m.copy() for m in analysis._himasks],
        "lo": [m.copy() for m in analysis._lomasks],
        "angle": [np.stack(a) for a in analysis._anglemasks],  # (K, h, w): one-sided, for complex bands
        "angle_real": [np.stack(a) for a in synthesis._anglemasks],  # (K, h, w): two-sided, for synthesis
    }


def _crop(dims: tuple[int, int]) -> tuple[slice, slice]:
    """The centred low-pass region of an fftshifted spectrum of ``dims`` (pyrtools' ``lostart:loend``)."""
    dims_a = np.asarray(dims)
    ctr = np.ceil((dims_a + 0.5) / 2).astype(int)
    lodims = np.ceil((dims_a - 0.5) / 2).astype(int)
    lostart = ctr - np.ceil((lodims + 0.5) / 2).astype(int)
    loend = lostart + lodims
    return slice(int(lostart[0]), int(loend[0])), slice(int(lostart[1]), int(loend[1]))


def _spectrum(x: torch.Tensor) -> torch.Tensor:
    return torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1))


def _spatial(spec: torch.Tensor) -> torch.Tensor:
    return torch.fft.ifft2(torch.fft.ifftshift(spec, dim=(-2, -1)))


class SteerablePyramid:
    """pyrtools' complex steerable pyramid (``SteerablePyramidFreq``, ``twidth=1``) on batches of frames.

    Args:
        shape: frame size ``(H, W)``, both even, at least 8.
        height: levels; ``None`` = as many as pyrtools' ``'auto'`` (``floor(log2(min(H, W))) - 2``).
        orientations: orientations per level (pyrtools' ``order + 1``), at least 2.
        device: where the filters live and the transforms run.
        dtype: ``torch.float64`` (equals pyrtools to rounding) or ``torch.float32``.

    Raises:
        ConfigError: odd or too small frames, a bad height or orientation count.
    """

    def __init__(self, shape: tuple[int, int], height: int | None = None, orientations: int = 8, *,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64) -> None:
        shape = (int(shape[0]), int(shape[1]))
        if min(shape) < 8 or shape[0] % 2 or shape[1] % 2:
            raise ConfigError(f"steerable pyramid: expected even frame sides of at least 8 px, got {shape[1]}x{shape[0]}")
        if orientations < 2:
            raise ConfigError(f"steerable pyramid: a complex pyramid needs at least 2 orientations, got {orientations}")
        masks = _pyrtools_masks(shape, height, orientations - 1)

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.shape, self.levels, self.orientations, self.order = shape, int(masks["levels"]), orientations, orientations - 1
        self.device, self.dtype = torch.device(device), dtype
        self.lo0, self.hi0 = t(masks["lo0"]), t(masks["hi0"])
        self.hi = [t(m) for m in masks["hi"]]
        self.lo = [t(m) for m in masks["lo"]]
        self.angle_real = [t(m) for m in masks["angle_real"]]
        # analysis filter of every band, (-i)^order angle hi, in the unshifted (fft2) layout: (K, h, w) complex
        self.band_filters = [torch.fft.ifftshift(((-1j) ** self.order) * t(a) * t(h), dim=(-2, -1))
                             for a, h in zip(masks["angle"], masks["hi"])]
        self.crops: list[tuple[slice, slice]] = []
        dims = shape
        for _ in range(self.levels):
            self.crops.append(_crop(dims))
            dims = (self.crops[-1][0].stop - self.crops[-1][0].start, self.crops[-1][1].stop - self.crops[-1][1].start)

    # -- analysis ---------------------------------------------------------------------------------------
    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """Centred spectrum of real frames ``(..., H, W)``, the input of :meth:`highpass` and :meth:`lowpass_spectra`."""
        if tuple(x.shape[-2:]) != self.shape:
            raise ConfigError(f"steerable pyramid: built for {self.shape[1]}x{self.shape[0]} frames, got {x.shape[-1]}x{x.shape[-2]}")
        return _spectrum(x.to(self.device, self.dtype))

    def highpass(self, spec: torch.Tensor) -> torch.Tensor:
        """The residual high-pass band (real, ``(..., H, W)``)."""
        return _spatial(spec * self.hi0).real

    def lowpass_spectra(self, spec: torch.Tensor) -> list[torch.Tensor]:
        """``lodft_i`` for every level ``i`` (the input of :meth:`band`) and, last, ``lodft_L``."""
        out = [spec * self.lo0]
        for i in range(self.levels):
            rows, cols = self.crops[i]
            out.append(out[-1][..., rows, cols] * self.lo[i])
        return out

    def band(self, lodft: torch.Tensor, level: int, orientation: int | None = None, *,
             unshifted: bool = False) -> torch.Tensor:
        """Complex band coefficients of one level: ``(..., K, h, w)``, or ``(..., h, w)`` for one orientation.

        ``unshifted=True`` takes ``ifftshift(lodft)`` instead (computed once for a level's orientations).
        """
        spec = lodft if unshifted else torch.fft.ifftshift(lodft, dim=(-2, -1))
        if orientation is None:
            return torch.fft.ifft2(spec[..., None, :, :] * self.band_filters[level])
        return torch.fft.ifft2(spec * self.band_filters[level][orientation])

    def lowpass(self, lodft_last: torch.Tensor) -> torch.Tensor:
        """The residual low-pass band (real) from the last entry of :meth:`lowpass_spectra`."""
        return _spatial(lodft_last).real

    def decompose(self, x: torch.Tensor) -> Decomposition:
        """Every band of frames ``(..., H, W)`` at once (memory: about ``2 K`` complex frames per frame)."""
        spec = self.spectrum(x)
        lods = self.lowpass_spectra(spec)
        return Decomposition(self.highpass(spec), [self.band(lods[i], i) for i in range(self.levels)], self.lowpass(lods[-1]))

    # -- synthesis --------------------------------------------------------------------------------------
    def band_spectrum(self, coeffs: torch.Tensor, level: int, orientation: int | None = None) -> torch.Tensor:
        """The synthesis spectrum of band coefficients (their real part), summed over orientations.

        Args:
            coeffs: ``(..., K, h, w)`` (all orientations) or ``(..., h, w)`` with ``orientation``.

        Returns:
            ``(..., h, w)`` complex; add the spectra of a level and pass the sums to :meth:`collapse`.
        """
        spec = _spectrum(coeffs.real)
        if orientation is None:
            return (spec * self.angle_real[level]).sum(dim=-3)
        return spec * self.angle_real[level][orientation]

    def collapse(self, highpass: torch.Tensor, level_spectra: list[torch.Tensor], lowpass: torch.Tensor) -> torch.Tensor:
        """The frames ``(..., H, W)`` from the residuals and the per-level sums of :meth:`band_spectrum`."""
        res = _spectrum(lowpass) * self.lo[-1] if self.levels else _spectrum(lowpass)
        for i in reversed(range(self.levels)):
            level = (1j ** self.order) * level_spectra[i] * self.hi[i]
            rows, cols = self.crops[i]
            full = torch.zeros(level.shape, dtype=level.dtype, device=level.device)
            full[..., rows, cols] = res
            res = full + level
            if i > 0:
                res = res * self.lo[i - 1]
        return _spatial(res * self.lo0 + _spectrum(highpass) * self.hi0).real

    def reconstruct(self, pyr: Decomposition) -> torch.Tensor:
        """Inverse of :meth:`decompose` (pyrtools' ``recon_pyr``: the real part of every band)."""
        return self.collapse(pyr.highpass, [self.band_spectrum(b, i) for i, b in enumerate(pyr.bands)], pyr.lowpass)

"""Sensor noise of the rendered frames: Poisson photon noise, Gaussian read noise, stochastic 8-bit quantization.

Photon noise (paper section 3.3): a pixel of intensity I (0-255 units) is a photon count scaled by
``k``: ``k * Poisson(I / k)``, so its variance is ``k * I``. The strength is given as the standard
deviation at mid-gray, ``std_mid``: ``k = std_mid**2 / 127.5``. Counts are drawn exactly (numpy's
Poisson sampler) below ``NORMAL_ABOVE`` expected photons, so strong noise (few photons) is right; above
it, where the Poisson law is normal to within a skewness of 1/sqrt(1000) = 0.03, they are drawn from the
normal law of the same mean and variance, which is about ten times faster.

Read noise (``dataset.photometric.read_noise_std``, off by default): signal-independent Gaussian noise
of a given std, added after the photon noise.

Quantization: ``floor(x + U[0, 1))`` after clipping to [0, 255]; a pixel at 102.3 becomes 103 with
probability 0.3, so the expected 8-bit value equals the exact intensity and sub-level changes from
sub-pixel motion survive on average.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MID_GRAY", "NORMAL_ABOVE", "photon_noise", "read_noise", "stochastic_round"]

#: The intensity at which a noise strength is specified (0-255 scale).
MID_GRAY = 127.5
#: Expected photon counts from which the normal approximation of the Poisson law is used.
NORMAL_ABOVE = 1000.0


def photon_noise(img: np.ndarray, std_mid: float, rng: np.random.Generator) -> np.ndarray:
    """Add Poisson photon noise whose standard deviation at mid-gray is ``std_mid``.

    Args:
        img: float image, 0-255 units (negative values are treated as 0).
        std_mid: noise std at intensity 127.5; 0 returns a float32 copy unchanged.
        rng: the generator to draw from.

    Returns:
        float32 noisy image of the same shape.

    Raises:
        ValueError: negative or non-finite ``std_mid``.
    """
    if not np.isfinite(std_mid) or std_mid < 0:
        raise ValueError(f"noise_std: expected a finite value >= 0, got {std_mid!r}")
    img = np.asarray(img, dtype=np.float32)
    if std_mid == 0:
        return img.copy()
    k = std_mid * std_mid / MID_GRAY
    x = np.maximum(img, 0.0)
    out = rng.standard_normal(x.shape, dtype=np.float32)  # normal law: mean I, variance k * I
    scale = np.multiply(x, k)  # float32 k * I, as the product of a weak Python float
    out *= np.sqrt(scale, out=scale)
    out += x
    few = np.flatnonzero(x < NORMAL_ABOVE * k)  # exact Poisson counts where photons are few
    if few.size:
        lam = x.ravel()[few].astype(np.float64) / k
        out.ravel()[few] = (rng.poisson(lam) * k).astype(np.float32)
    return out


def read_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Add signal-independent Gaussian (read) noise of standard deviation ``std`` (0-255 units).

    Args:
        img: float image, 0-255 units.
        std: noise std; 0 returns a float32 copy unchanged.
        rng: the generator to draw from.

    Returns:
        float32 noisy image of the same shape.

    Raises:
        ValueError: negative or non-finite ``std``.
    """
    if not np.isfinite(std) or std < 0:
        raise ValueError(f"read_noise_std: expected a finite value >= 0, got {std!r}")
    out = np.array(img, dtype=np.float32)
    if std > 0:
        noise = rng.standard_normal(out.shape, dtype=np.float32)
        noise *= np.float32(std)
        out += noise
    return out


def stochastic_round(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clip to [0, 255], add uniform noise in [0, 1) and round down to uint8.

    Args:
        img: float image, 0-255 units.
        rng: the generator to draw from.

    Returns:
        uint8 image of the same shape whose expectation is ``clip(img, 0, 255)``.
    """
    x = np.clip(np.asarray(img, dtype=np.float32), 0.0, 255.0)
    x += rng.random(x.shape, dtype=np.float32)
    np.floor(x, out=x)
    np.minimum(x, 255.0, out=x)
    return x.astype(np.uint8)

"""The sRGB transfer functions (IEC 61966-2-1) on the renderer's 0-255 scale, for linear-light rendering.

Source photographs store sRGB-encoded values; light adds up (occlusion, blur, anti-aliasing) only in
linear light. With ``dataset.linear_light`` the renderer decodes every source pixel with
:func:`srgb_to_linear`, composites, blurs and decimates linear values, and encodes each frame with
:func:`linear_to_srgb` before noise and quantization. Both use the exact piecewise curve of the
standard (not a 2.2 power law)::

    decode(v) = v / 12.92                       for v <= 0.04045
                ((v + 0.055) / 1.055) ** 2.4    otherwise
    encode(l) = 12.92 * l                       for l <= 0.0031308
                1.055 * l ** (1 / 2.4) - 0.055  otherwise

on values scaled to [0, 1] (here 0-255 in and out). Both are extended as odd functions below 0 and
by the same power law above 1, so the spline's slight over- and undershoots at hard edges pass
through continuously and monotonically and are clipped only at quantization, as without linear light.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SRGB_DECODE_KNEE", "SRGB_ENCODE_KNEE", "srgb_to_linear", "linear_to_srgb"]

#: Encoded value (0-1) below which the sRGB curve is linear.
SRGB_DECODE_KNEE = 0.04045
#: Linear value (0-1) below which the sRGB curve is linear.
SRGB_ENCODE_KNEE = 0.0031308


def srgb_to_linear(img: np.ndarray) -> np.ndarray:
    """Decode sRGB values (0-255) to linear light (0-255: 255 is the white of the encoding).

    Args:
        img: float or integer array of sRGB values, any shape.

    Returns:
        float32 array of the same shape.
    """
    v = np.asarray(img, dtype=np.float64) / 255.0
    a = np.abs(v)
    lin = np.where(a <= SRGB_DECODE_KNEE, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return (np.copysign(lin, v) * 255.0).astype(np.float32)


def linear_to_srgb(img: np.ndarray) -> np.ndarray:
    """Encode linear light (0-255) to sRGB values (0-255); the inverse of :func:`srgb_to_linear`.

    Args:
        img: float array of linear values, any shape.

    Returns:
        float32 array of the same shape.
    """
    v = np.asarray(img, dtype=np.float64) / 255.0
    a = np.abs(v)
    enc = np.where(a <= SRGB_ENCODE_KNEE, 12.92 * a, 1.055 * a ** (1.0 / 2.4) - 0.055)
    return (np.copysign(enc, v) * 255.0).astype(np.float32)

"""Separable resampling operators of the renderer: cubic B-spline warps and Gaussian decimation.

A layer is reconstructed in the continuous domain as a cubic B-spline (the interpolating cubic
spline: coefficients from :func:`spline_coefficients`, kernel :func:`bspline3`; identical to
``scipy.ndimage.map_coordinates(order=3, mode="mirror")``). Scaling and translation are axis-aligned,
so sampling the spline on the render grid is separable: one sparse matrix per axis with four taps per
row (:func:`warp_matrix`), applied by :func:`apply_separable`. Decimation to the output grid is the
same kind of operator with Gaussian rows (:func:`gaussian_decimation`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

__all__ = [
    "bspline3",
    "spline_coefficients",
    "warp_matrix",
    "transpose_into",
    "separable_transposed",
    "apply_separable",
    "gaussian_decimation",
]


def bspline3(t: np.ndarray) -> np.ndarray:
    """Cubic B-spline kernel beta3(t) (support |t| < 2, sums to 1 over integer shifts)."""
    t = np.abs(t)
    inner = 2.0 / 3.0 - t * t + 0.5 * t * t * t
    outer = (2.0 - t) ** 3 / 6.0
    return np.where(t < 1.0, inner, np.where(t < 2.0, outer, 0.0))


def spline_coefficients(img: np.ndarray, mode: str = "mirror", *, planar: bool = False) -> np.ndarray:
    """Cubic B-spline coefficients of an (H, W[, C]) image along its first two axes.

    Args:
        img: float image; channels (if any) are processed independently.
        mode: how the image continues beyond its edges: ``"mirror"`` (whole-sample symmetric) or
            ``"grid-constant"`` (zeros, for a zero-padded object).
        planar: return an (H, W, C) image's coefficients row-planar, (H, C, W), the layout of
            :func:`apply_separable` (the same values, without a separate transposed copy).

    Returns:
        float32 coefficients, of the same shape (or (H, C, W) when ``planar``).
    """
    img = np.asarray(img)
    axes = (0, 1)
    if planar and img.ndim == 3:
        out = np.empty((img.shape[0], img.shape[2], img.shape[1]), dtype=np.float64)
        out[...] = img.transpose(0, 2, 1)
        axes = (0, 2)
    else:
        out = np.array(img, dtype=np.float64)  # a copy this function owns: filtered in place
    for axis in axes:
        if out.shape[axis] > 1:
            ndimage.spline_filter1d(out, order=3, axis=axis, mode=mode, output=out)
    return out.astype(np.float32)


def _fold(k: np.ndarray, n: int) -> np.ndarray:
    """Whole-sample mirror of indices into [0, n) (period 2(n-1)), as scipy's ``mirror`` mode."""
    if n == 1:
        return np.zeros_like(k)
    period = 2 * (n - 1)
    k = np.mod(k, period)
    return np.where(k >= n, period - k, k)


def warp_matrix(u: np.ndarray, n: int, *, outside: str = "mirror") -> sp.csr_matrix:
    """Sparse (len(u), n) matrix sampling a cubic spline with n coefficients at positions ``u``.

    Args:
        u: sample positions in index units (coefficient k sits at u = k).
        n: number of coefficients along the axis.
        outside: ``"mirror"`` folds taps beyond the ends back inside; ``"zero"`` drops them
            (coefficients outside are 0, e.g. a zero-padded object).

    Returns:
        float32 CSR matrix with four taps per row.
    """
    u = np.asarray(u, dtype=np.float64)
    k = np.floor(u).astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]  # (m, 4)
    w = bspline3(u[:, None] - k)
    if outside == "mirror":
        k = _fold(k, n)
    elif outside == "zero":
        valid = (k >= 0) & (k < n)
        w = np.where(valid, w, 0.0)
        k = np.minimum(np.maximum(k, 0), n - 1)
    else:
        raise ValueError(f"outside: expected 'mirror' or 'zero', got {outside!r}")
    m = len(u)
    # int32 indices (as scipy would choose for any image size) spare scipy a scan of their range
    return sp.csr_matrix(
        (w.astype(np.float32).ravel(), k.astype(np.int32).ravel(), np.arange(0, 4 * m + 1, 4, dtype=np.int32)),
        shape=(m, n),
    )


_TILE = (128, 512)  # (rows, columns) of the destination tiles a transposed copy is made in (measured best)


def transpose_into(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Copy the 2-D ``src`` (R, K) transposed into ``dst`` (K, R), tile by tile; returns ``dst``.

    A plain ``np.ascontiguousarray(src.T)`` walks one of the two arrays across its rows, a cache
    miss per element on large images; tiles keep both sides in cache. Values are copied, never
    computed, so the result is bit-identical.
    """
    view = src.T
    rows, cols = dst.shape
    ti, tj = _TILE
    for i in range(0, rows, ti):
        for j in range(0, cols, tj):
            dst[i : i + ti, j : j + tj] = view[i : i + ti, j : j + tj]
    return dst


def separable_transposed(wy: sp.csr_matrix, wx: sp.csr_matrix, arr: np.ndarray) -> np.ndarray:
    """``apply_separable`` without the final transpose: the (mx, my * C) column-major result.

    Row ``x`` holds output column ``x`` of every row and channel, ``[y * C + c]``.
    """
    h, c, w = arr.shape
    my = wy.shape[0]
    t = (wy @ np.ascontiguousarray(arr).reshape(h, c * w)).reshape(my * c, w)  # rows done
    return wx @ transpose_into(t, np.empty((w, my * c), dtype=t.dtype))  # columns done, transposed


def apply_separable(
    wy: sp.csr_matrix, wx: sp.csr_matrix, arr: np.ndarray, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Apply ``wy`` along the rows and ``wx`` along the columns of a row-planar (H, C, W) array.

    The row-planar layout (each image row holds its C channel rows one after the other) keeps both
    passes as sparse products over long contiguous runs, with only tiled 2-D transposes between
    them (:func:`transpose_into`). Every value is the float32 sum ``wx @ (wy @ arr)ᵀ`` computes, in
    the same order.

    Args:
        wy: (my, H) operator applied along the rows.
        wx: (mx, W) operator applied along the columns.
        arr: (H, C, W) float32, row-planar.
        out: optional (my, C, mx) float32 destination of any strides, e.g. some channels of a canvas.

    Returns:
        (my, C, mx) float32 array, row-planar: ``out`` when given.
    """
    c = arr.shape[1]
    my, mx = wy.shape[0], wx.shape[0]
    o = separable_transposed(wy, wx, arr)  # (mx, my*C)
    if out is None:
        out = np.empty((my, c, mx), dtype=o.dtype)
    if out.shape != (my, c, mx):
        raise ValueError(f"out: expected shape {(my, c, mx)}, got {out.shape}")
    if c == 1 or out.flags.c_contiguous:
        transpose_into(o, out.reshape(my * c, mx))
    else:
        for ch in range(c):  # (mx, my) strided view of one channel -> that channel's (my, mx) plane
            transpose_into(o[:, ch::c], out[:, ch, :])
    return out


@functools.lru_cache(maxsize=16)
def gaussian_decimation(n_out: int, factor: int, sigma: float, margin: int) -> sp.csr_matrix:
    """Sparse (n_out, factor*(n_out + 2*margin)) Gaussian anti-aliasing + decimation matrix.

    Render pixel j covers output coordinates [-margin + j/factor, -margin + (j+1)/factor); output pixel i
    is the Gaussian-weighted (std ``sigma`` output px, truncated at 4 std, rows sum to 1) average
    centred on output coordinate i + 0.5.

    Raises:
        ValueError: the margin is too small for the kernel's support.
    """
    s_r = sigma * factor
    radius = int(math.ceil(4.0 * s_r))
    n_in = factor * (n_out + 2 * margin)
    centres = factor * (np.arange(n_out) + 0.5 + margin) - 0.5  # in render index units
    k = np.round(centres).astype(np.int64)[:, None] + np.arange(-radius - 1, radius + 2)[None, :]
    if k.min() < 0 or k.max() >= n_in:
        raise ValueError(f"margin: {margin} output px is too small for an anti-aliasing sigma of {sigma}")
    w = np.exp(-0.5 * ((k - centres[:, None]) / s_r) ** 2)
    w[np.abs(k - centres[:, None]) > radius] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    m, t = k.shape
    mat = sp.csr_matrix((w.astype(np.float32).ravel(), k.ravel(), np.arange(0, m * t + 1, t)), shape=(n_out, n_in))
    mat.eliminate_zeros()
    return mat


def render_margin(factor: int, sigma: float) -> int:
    """Output pixels the render canvas extends beyond the frame so decimation never sees an edge."""
    return int(math.ceil(math.ceil(4.0 * sigma * factor) / factor)) + 1

"""Measure the translation between two images to a small fraction of a pixel.

:func:`estimate_shift` returns the displacement (dx, dy) that carries the content of ``a`` to where it
is in ``b`` (SPEC sign convention: +dx = content moved right, +dy = down), i.e. ``b(x) = a(x - d)``.

Method: an integer-plus-coarse estimate from phase correlation (scikit-image's
``phase_cross_correlation``), refined by Gauss-Newton least squares on the brightness-constancy
residual: ``b`` is resampled at ``x + d`` with a quintic spline and compared with ``a`` over the
interior (a border wider than the shift is ignored, so content entering the frame is not scored),
until the update falls below 1e-6 px. With ``mask`` (weights over ``a``'s pixels) the least squares
are restricted to a region, e.g. one layer of a composited scene; a ``guess`` is then required, since
phase correlation sees the whole frame.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.registration import phase_cross_correlation

__all__ = ["estimate_shift"]


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3:
        return img.mean(axis=2)
    if img.ndim != 2:
        raise ValueError(f"image: expected (H, W) or (H, W, C), got shape {img.shape}")
    return img


def estimate_shift(
    a: np.ndarray,
    b: np.ndarray,
    *,
    guess: tuple[float, float] | None = None,
    border: int = 4,
    max_iter: int = 30,
    tol: float = 1e-6,
    mask: np.ndarray | None = None,
) -> tuple[float, float]:
    """Displacement (dx, dy), in pixels, of the content of ``a`` in ``b``.

    Args:
        a: reference image (H, W) or (H, W, C); channels are averaged.
        b: the displaced image, same shape.
        guess: a starting (dx, dy) within about a pixel of the answer; by default phase correlation
            finds it (reliable for textured images and shifts up to about a quarter of the size).
        border: pixels ignored on each side in addition to the current shift.
        max_iter: Gauss-Newton iterations at most.
        tol: stop when the update is smaller than this (pixels).
        mask: optional (H, W) weights >= 0 over ``a``'s pixels: only where brightness constancy holds
            (one layer's support) counts. Needs ``guess``.

    Returns:
        (dx, dy) with +dx meaning the content moved right and +dy down.

    Raises:
        ValueError: the shapes differ, the images are too small for the shift, or flat; a mask
            without a guess or of another shape.
    """
    a, b = _gray(a), _gray(b)
    if a.shape != b.shape:
        raise ValueError(f"image: shapes differ, {a.shape} vs {b.shape}")
    if mask is not None:
        mask = np.asarray(mask, dtype=np.float64)
        if mask.shape != a.shape or guess is None:
            raise ValueError(f"mask: expected shape {a.shape} and a guess, got shape {mask.shape}, guess {guess}")
    if guess is None:
        shift, _, _ = phase_cross_correlation(a, b, upsample_factor=10, normalization=None)
        d = np.array([-shift[1], -shift[0]], dtype=np.float64)  # (dx, dy) of a's content in b
    else:
        d = np.array(guess, dtype=np.float64)
    ys, xs = np.mgrid[0 : a.shape[0], 0 : b.shape[1]].astype(np.float64)
    coef = ndimage.spline_filter(b, order=5, mode="mirror")
    gy, gx = np.gradient(a)
    for _ in range(max_iter):
        m = border + int(math.ceil(np.abs(d).max())) + 3
        if 2 * m >= min(a.shape):
            raise ValueError(f"image: {a.shape} is too small to measure a shift of {tuple(d)}")
        sl = (slice(m, a.shape[0] - m), slice(m, a.shape[1] - m))
        warped = ndimage.map_coordinates(
            coef, [ys[sl] + d[1], xs[sl] + d[0]], order=5, mode="mirror", prefilter=False
        )
        r = warped - a[sl]  # ~ grad(a) . (d - d_true)
        jx, jy = gx[sl].ravel(), gy[sl].ravel()
        if mask is not None:
            w = np.sqrt(mask[sl].ravel())
            r, jx, jy = r.ravel() * w, jx * w, jy * w
        mat = np.array([[jx @ jx, jx @ jy], [jx @ jy, jy @ jy]])
        if np.linalg.cond(mat) > 1e8:
            raise ValueError("image: too little texture to measure a shift")
        step = np.linalg.solve(mat, [jx @ r.ravel(), jy @ r.ravel()])
        d -= step
        if np.abs(step).max() < tol:
            break
    return float(d[0]), float(d[1])

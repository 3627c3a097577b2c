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

:func:`estimate_affine` fits an affine displacement field ``d(x) = t + G (x - centre)`` the same way
(Gauss-Newton on the brightness-constancy residual ``b(x + d(x)) - a(x)`` with a quintic spline),
coarse to fine over Gaussian-blurred copies so that displacements of several pixels converge, the
last level on the images themselves.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.registration import phase_cross_correlation

__all__ = ["estimate_shift", "estimate_affine", "affine_parts"]


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3:
        return img.mean(axis=2)
    if img.ndim != 2:
        raise ValueError(f"image: expected (H, W) or (H, W, C), got shape {img.shape}")
    return img


def _pair(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None, guess: object) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gray float64 versions of two images of one shape, and the mask checked against them."""
    a, b = _gray(a), _gray(b)
    if a.shape != b.shape:
        raise ValueError(f"image: shapes differ, {a.shape} vs {b.shape}")
    if mask is not None:
        mask = np.asarray(mask, dtype=np.float64)
        if mask.shape != a.shape or guess is None:
            raise ValueError(f"mask: expected shape {a.shape} and a guess, got shape {mask.shape}, guess {guess}")
    return a, b, mask


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
    a, b, mask = _pair(a, b, mask, guess)
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


def _affine_step(
    a: np.ndarray, coef: np.ndarray, p: np.ndarray, grids: tuple[np.ndarray, ...], border: int, w: np.ndarray | None
) -> np.ndarray:
    """One Gauss-Newton update of p = (tx, ty, gxx, gxy, gyx, gyy) (gradient in units of 1/length)."""
    ys, xs, u, v = grids
    dx = p[0] + p[2] * u + p[3] * v
    dy = p[1] + p[4] * u + p[5] * v
    m = border + int(math.ceil(max(np.abs(dx).max(), np.abs(dy).max()))) + 3
    if 2 * m >= min(a.shape):
        raise ValueError(f"image: {a.shape} is too small to measure displacements of {m - border - 3} px")
    sl = (slice(m, a.shape[0] - m), slice(m, a.shape[1] - m))
    warped = ndimage.map_coordinates(coef, [ys[sl] + dy[sl], xs[sl] + dx[sl]], order=5, mode="mirror", prefilter=False)
    r = (warped - a[sl]).ravel()
    gy, gx = np.gradient(a)
    gx, gy, uu, vv = gx[sl].ravel(), gy[sl].ravel(), u[sl].ravel(), v[sl].ravel()
    jac = np.stack([gx, gy, gx * uu, gx * vv, gy * uu, gy * vv], axis=1)  # (n, 6)
    if w is not None:
        ws = np.sqrt(w[sl].ravel())
        jac, r = jac * ws[:, None], r * ws
    mat = jac.T @ jac
    if np.linalg.cond(mat) > 1e10:
        raise ValueError("image: too little texture to measure an affine displacement")
    return np.linalg.solve(mat, jac.T @ r)


def estimate_affine(
    a: np.ndarray,
    b: np.ndarray,
    *,
    centre: tuple[float, float],
    guess: tuple[tuple[float, float], np.ndarray] | None = None,
    border: int = 4,
    mask: np.ndarray | None = None,
    levels: tuple[float, ...] = (4.0, 2.0, 1.0, 0.0),
    max_iter: int = 50,
    tol: float = 1e-6,
) -> tuple[tuple[float, float], np.ndarray]:
    """Affine displacement field of the content of ``a`` in ``b``: ``b(x + d(x)) = a(x)``.

    ``d(x) = t + G (x - centre)``, with x in output coordinates (pixel (i, j) has its centre at
    (j + 0.5, i + 0.5)) and the SPEC's sign convention (+dx right, +dy down).

    Args:
        a: reference image (H, W) or (H, W, C); channels are averaged.
        b: the displaced image, same shape.
        centre: (x, y) the gradient is taken about.
        guess: starting (t, G); by default t from phase correlation and G = 0.
        border: pixels ignored on each side in addition to the largest displacement.
        mask: optional (H, W) weights >= 0 over ``a``'s pixels (one layer's support); needs ``guess``.
        levels: Gaussian blur sigmas (px) of the coarse-to-fine passes; the last should be 0.
        max_iter: Gauss-Newton iterations per level at most.
        tol: stop a level when the update moves no point of the image by more than this (px).

    Returns:
        (t, G): t = (dx, dy) at ``centre`` and the (2, 2) gradient ((dxx, dxy), (dyx, dyy)).

    Raises:
        ValueError: the shapes differ, the images are too small for the displacement, or flat; a
            mask without a guess or of another shape.
    """
    a, b, mask = _pair(a, b, mask, guess)
    length = max(a.shape) / 2.0  # the gradient is solved for in units of 1/length (conditioning)
    ys, xs = np.mgrid[0 : a.shape[0], 0 : a.shape[1]].astype(np.float64)
    u, v = (xs + 0.5 - centre[0]) / length, (ys + 0.5 - centre[1]) / length
    if guess is None:
        t0 = estimate_shift(a, b, border=border, max_iter=1)
        p = np.array([t0[0], t0[1], 0.0, 0.0, 0.0, 0.0])
    else:
        g0 = np.asarray(guess[1], dtype=np.float64) * length
        p = np.array([guess[0][0], guess[0][1], g0[0, 0], g0[0, 1], g0[1, 0], g0[1, 1]])
    # the displacement at the centre is p[:2]; at the image corners it differs by at most |G| * reach
    reach = float(np.abs(u).max() + np.abs(v).max())
    for sigma in levels:
        la = ndimage.gaussian_filter(a, sigma) if sigma > 0 else a
        lb = ndimage.gaussian_filter(b, sigma) if sigma > 0 else b
        coef = ndimage.spline_filter(lb, order=5, mode="mirror")
        for _ in range(max_iter):
            step = _affine_step(la, coef, p, (ys, xs, u, v), border, mask)
            p -= step
            if max(abs(step[0]), abs(step[1])) + np.abs(step[2:]).max() * reach < tol:
                break
    return (float(p[0]), float(p[1])), np.array([[p[2], p[3]], [p[4], p[5]]]) / length


def affine_parts(gradient: tuple[float, float, float, float]) -> dict[str, float]:
    """A = I + G written as R(theta) [[sx, sx * h], [0, sy]]: rotation (degrees), scale changes sx - 1,
    sy - 1 and shear h (the sampler's (1 + s) R [[1, h], [0, 1]] has sx = sy = 1 + s)."""
    a = np.eye(2) + np.reshape(np.asarray(gradient, dtype=np.float64), (2, 2))
    theta = math.atan2(a[1, 0], a[0, 0])
    c, sn = math.cos(theta), math.sin(theta)
    sx = math.hypot(a[0, 0], a[1, 0])
    r12, sy = c * a[0, 1] + sn * a[1, 1], -sn * a[0, 1] + c * a[1, 1]
    return {"rotation_deg": math.degrees(theta), "scale_x": sx - 1.0, "scale_y": sy - 1.0, "shear": r12 / sx}

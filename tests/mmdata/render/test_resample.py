"""Separable resampling operators against scipy's reference spline interpolation and Gaussian moments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mmdata.render.resample import (
    apply_separable,
    bspline3,
    gaussian_decimation,
    spline_coefficients,
    transpose_into,
    warp_matrix,
)


def test_bspline_partition_of_unity():
    t = np.linspace(0.0, 1.0, 11)
    total = sum(bspline3(t - k) for k in range(-2, 3))
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


@pytest.mark.parametrize("outside", ["mirror", "zero"])
def test_warp_equals_scipy_cubic_spline(outside):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (23, 31, 2))
    if outside == "zero":
        img = np.pad(img, ((8, 8), (8, 8), (0, 0)))  # zero-padded, as an object is
    uy = np.sort(rng.uniform(-3.0, img.shape[0] + 2.0, 40))
    ux = np.sort(rng.uniform(-3.0, img.shape[1] + 2.0, 37))
    mode = "mirror" if outside == "mirror" else "grid-constant"
    coef = spline_coefficients(img, mode=mode)
    planar = np.ascontiguousarray(coef.transpose(0, 2, 1))
    ours = apply_separable(
        warp_matrix(uy, img.shape[0], outside=outside), warp_matrix(ux, img.shape[1], outside=outside), planar
    ).transpose(0, 2, 1)
    yy, xx = np.meshgrid(uy, ux, indexing="ij")
    for c in range(img.shape[2]):
        ref = ndimage.map_coordinates(img[:, :, c], [yy, xx], order=3, mode=mode)
        np.testing.assert_allclose(ours[:, :, c], ref, atol=2e-3 if outside == "mirror" else 0.02)


def test_integer_positions_reproduce_the_samples():
    img = np.random.default_rng(1).uniform(0, 255, (12, 9, 3))
    planar = np.ascontiguousarray(spline_coefficients(img).transpose(0, 2, 1))
    out = apply_separable(warp_matrix(np.arange(12.0), 12), warp_matrix(np.arange(9.0), 9), planar)
    np.testing.assert_allclose(out.transpose(0, 2, 1), img, atol=1e-3)


def test_gaussian_decimation_is_centred_and_normalised():
    size, factor, sigma, margin = 10, 2, 0.5, 3
    mat = gaussian_decimation(size, factor, sigma, margin).toarray()
    assert mat.shape == (size, factor * (size + 2 * margin))
    np.testing.assert_allclose(mat.sum(axis=1), 1.0, atol=1e-6)
    centres_out = -margin + (np.arange(mat.shape[1]) + 0.5) / factor  # render pixel centres, output units
    mean = mat @ centres_out
    np.testing.assert_allclose(mean, np.arange(size) + 0.5, atol=1e-6)
    var = mat @ centres_out**2 - mean**2
    np.testing.assert_allclose(np.sqrt(var), sigma, rtol=0.02)
    with pytest.raises(ValueError, match="margin"):
        gaussian_decimation(size, factor, 2.0, 1)


def _reference_separable(wy, wx, arr):
    """The operator product as first written: scipy's products on transposed copies."""
    h, c, w = arr.shape
    t = (wy @ arr.reshape(h, c * w)).reshape(wy.shape[0] * c, w)
    return np.ascontiguousarray((wx @ t.T).T).reshape(wy.shape[0], c, wx.shape[0])


@pytest.mark.parametrize("shape", [(300, 3, 290), (41, 4, 35), (1, 3, 7), (9, 1, 260)])
def test_apply_separable_is_bit_identical_to_the_plain_products(shape):
    rng = np.random.default_rng(3)
    arr = (rng.random(shape) * 255).astype(np.float32)
    wy = warp_matrix(np.linspace(-1.7, shape[0] + 0.3, 2 * shape[0] + 5), shape[0])
    wx = warp_matrix(np.linspace(2.2, shape[2] - 3.1, 3 * shape[2] // 2 + 1), shape[2], outside="zero")
    ref = _reference_separable(wy, wx, arr)
    assert apply_separable(wy, wx, arr).tobytes() == ref.tobytes()
    canvas = np.zeros((ref.shape[0], shape[1] + 2, ref.shape[2]), dtype=np.float32)
    apply_separable(wy, wx, arr, out=canvas[:, 1 : 1 + shape[1], :])  # a strided destination
    assert canvas[:, 1 : 1 + shape[1], :].tobytes() == ref.tobytes()
    assert not canvas[:, 0, :].any() and not canvas[:, -1, :].any()


def test_transpose_into_copies_every_tile():
    src = np.arange(301 * 257, dtype=np.float32).reshape(301, 257)
    assert np.array_equal(transpose_into(src, np.empty((257, 301), dtype=np.float32)), src.T)


@pytest.mark.parametrize("shape", [(37, 53, 3), (40, 29, 4), (1, 9, 3), (17, 1, 4), (25, 31)])
@pytest.mark.parametrize("mode", ["mirror", "grid-constant"])
def test_spline_coefficients_are_bit_identical_to_scipy_in_both_layouts(shape, mode):
    img = (np.random.default_rng(1).random(shape) * 255).astype(np.float32)
    ref = np.asarray(img, dtype=np.float64)
    for axis in (0, 1):
        if ref.shape[axis] > 1:
            ref = ndimage.spline_filter1d(ref, order=3, axis=axis, mode=mode, output=np.float64)
    ref = ref.astype(np.float32)
    assert spline_coefficients(img, mode).tobytes() == ref.tobytes()
    if img.ndim == 3:
        planar = spline_coefficients(img, mode, planar=True)
        assert planar.tobytes() == np.ascontiguousarray(ref.transpose(0, 2, 1)).tobytes()

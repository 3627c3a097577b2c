"""The displacement estimator against analytically shifted band-limited patterns."""

from __future__ import annotations

import numpy as np
import pytest

from mmdata.render.measure import estimate_shift


def _waves(shape: tuple[int, int], d: tuple[float, float], n: int = 60, seed: int = 0, fmax: float = 0.3) -> np.ndarray:
    """A sum of ``n`` random plane waves (frequencies <= fmax cycles/px) translated exactly by d = (dx, dy)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    out = np.full(shape, 128.0)
    for _ in range(n):
        f, th, ph = rng.uniform(0.01, fmax), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(1.0, 8.0) / (1.0 + 10 * f)
        out += amp * np.cos(2 * np.pi * f * ((xx - d[0]) * np.cos(th) + (yy - d[1]) * np.sin(th)) + ph)
    return out


@pytest.mark.parametrize(
    "d", [(0.0, 0.0), (0.01, 0.0), (0.0, -0.013), (0.25, 0.5), (-0.77, 0.31), (3.6, -2.2), (-10.4, 7.9), (21.2, -20.7)]
)
def test_exact_on_shifted_band_limited_patterns(d):
    a, b = _waves((96, 96), (0.0, 0.0)), _waves((96, 96), d)
    dx, dy = estimate_shift(a, b)
    assert abs(dx - d[0]) < 2e-3 and abs(dy - d[1]) < 2e-3, (dx, dy)


def test_sign_convention_and_colour_input():
    a = _waves((80, 80), (0.0, 0.0), seed=3)
    b = _waves((80, 80), (1.5, -0.5), seed=3)  # content moved right and up
    rgb_a, rgb_b = np.stack([a, a * 0.5, a + 3], axis=2), np.stack([b, b * 0.5, b + 3], axis=2)
    dx, dy = estimate_shift(rgb_a, rgb_b)
    assert dx == pytest.approx(1.5, abs=2e-3) and dy == pytest.approx(-0.5, abs=2e-3)
    back = estimate_shift(rgb_b, rgb_a)
    assert back[0] == pytest.approx(-1.5, abs=2e-3) and back[1] == pytest.approx(0.5, abs=2e-3)


def test_noise_does_not_bias_the_estimate():
    rng = np.random.default_rng(4)
    d = (0.137, -0.052)
    errors = []
    for seed in range(8):
        a = _waves((96, 96), (0, 0), seed=seed) + rng.normal(0, 1.0, (96, 96))
        b = _waves((96, 96), d, seed=seed) + rng.normal(0, 1.0, (96, 96))
        errors.append(np.subtract(estimate_shift(a, b), d))
    assert np.abs(np.mean(errors, axis=0)).max() < 5e-3


def test_guess_and_bad_input():
    a, b = _waves((64, 64), (0, 0), seed=2), _waves((64, 64), (0.4, 0.2), seed=2)
    assert estimate_shift(a, b, guess=(1.0, -0.5)) == pytest.approx((0.4, 0.2), abs=2e-3)
    with pytest.raises(ValueError, match="shapes differ"):
        estimate_shift(a, b[:-1])
    with pytest.raises(ValueError, match="texture"):
        estimate_shift(np.ones((32, 32)), np.ones((32, 32)))
    with pytest.raises(ValueError, match="too small"):
        estimate_shift(a[:12, :12], b[:12, :12], guess=(5.0, 0.0))


def _warped_waves(shape, t, g, centre, n: int = 60, seed: int = 0, fmax: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """The waves of :func:`_waves` (a) and the same pattern moved by d(x) = t + G (x - centre) (b)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    inv = np.linalg.inv(np.eye(2) + g)
    qx, qy = xx - centre[0] - t[0], yy - centre[1] - t[1]
    sx, sy = centre[0] + inv[0, 0] * qx + inv[0, 1] * qy, centre[1] + inv[1, 0] * qx + inv[1, 1] * qy  # b(y) = a(phi^-1(y))
    rng = np.random.default_rng(seed)
    a, b = np.full(shape, 128.0), np.full(shape, 128.0)
    for _ in range(n):
        f, th, ph = rng.uniform(0.01, fmax), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(1.0, 8.0) / (1.0 + 10 * f)
        a += amp * np.cos(2 * np.pi * f * (xx * np.cos(th) + yy * np.sin(th)) + ph)
        b += amp * np.cos(2 * np.pi * f * (sx * np.cos(th) + sy * np.sin(th)) + ph)
    return a, b


@pytest.mark.parametrize(
    "t, g",
    [((0.3, -0.2), ((0.01, -0.005), (0.007, 0.004))), ((2.5, 1.1), ((-0.05, 0.03), (-0.02, 0.06))), ((0.0, 0.0), ((0.0, 0.0), (0.0, 0.0)))],
)
def test_affine_fields_are_recovered(t, g):
    from mmdata.render.measure import estimate_affine

    centre = (40.0, 36.0)
    a, b = _warped_waves((80, 96), t, np.array(g), centre)
    t_fit, g_fit = estimate_affine(a, b, centre=centre)
    np.testing.assert_allclose(t_fit, t, atol=1e-3)
    np.testing.assert_allclose(g_fit, g, atol=1e-4)

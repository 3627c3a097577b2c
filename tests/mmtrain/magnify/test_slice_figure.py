"""The x-t slice figure: enlarged by nearest neighbour (every pixel a sharp square) and labelled."""

from __future__ import annotations

import numpy as np
import pytest

from mmtrain.magnify.slices import slice_figure


def _slice(seed: int, shape=(30, 96, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_a_small_slice_is_enlarged_by_an_integer_factor_with_nearest_neighbour():
    a, b = _slice(0), _slice(1)
    fig = slice_figure(a, b, gap=8)
    k = 7  # ceil(192 / 30)
    band = fig.shape[0] - 30 * k
    assert fig.shape == (band + 30 * k, 2 * 96 * k + 8, 3) and 0 < band < 40
    left = fig[band:, : 96 * k]
    right = fig[band:, 96 * k + 8 :]
    np.testing.assert_array_equal(left[::k, ::k], a)  # every source pixel is a k x k block
    np.testing.assert_array_equal(left[k - 1 :: k, k - 1 :: k], a)
    np.testing.assert_array_equal(right[::k, ::k], b)


def test_labels_are_drawn_above_each_slice():
    a = np.full((30, 96, 3), 128, np.uint8)
    fig = slice_figure(a, a, labels=("input", "output"))
    band = fig.shape[0] - 30 * 7
    top = fig[:band]
    half = 96 * 7
    assert (top[:, :half] < 128).any() and (top[:, half + 8 :] < 128).any()  # dark text on each white band
    unlabelled = slice_figure(a, a, labels=("", ""))
    assert (unlabelled[:band] == 255).all()


def test_a_large_slice_keeps_its_size():
    a = _slice(0, (300, 432, 3))
    fig = slice_figure(a, a, gap=4)
    assert fig.shape[1] == 2 * 432 + 4


def test_shapes_must_match():
    with pytest.raises(ValueError, match="differ"):
        slice_figure(_slice(0), _slice(1, (30, 95, 3)))

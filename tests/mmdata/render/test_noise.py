"""Photon noise and stochastic quantization against their analytic statistics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmdata.render.noise import MID_GRAY, photon_noise, read_noise, stochastic_round
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.composite import render_sample
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec


def test_stochastic_rounding_is_unbiased():
    img = np.full((1000, 1000), 102.3, dtype=np.float32)
    out = stochastic_round(img, np.random.default_rng(0))
    assert out.dtype == np.uint8
    assert set(np.unique(out)) == {102, 103}
    assert out.mean() == pytest.approx(102.3, abs=0.01)
    assert (out == 103).mean() == pytest.approx(0.3, abs=0.01)


def test_sub_level_changes_survive_on_average():
    ramp = 80.0 + np.linspace(0.0, 0.9, 10, dtype=np.float32)  # ten values within one 8-bit level
    out = stochastic_round(np.tile(ramp, (40000, 1)), np.random.default_rng(1)).astype(np.float64)
    np.testing.assert_allclose(out.mean(axis=0), ramp, atol=0.01)


def test_rounding_clips_to_the_8_bit_range():
    out = stochastic_round(np.array([-7.0, 0.0, 254.99, 255.0, 300.0]), np.random.default_rng(2))
    assert out[0] == 0 and out[1] == 0 and out[3] == 255 and out[4] == 255 and out[2] in (254, 255)


@pytest.mark.parametrize("std", [0.3, 1.0, 3.0])
def test_photon_noise_std_at_mid_gray(std):
    img = np.full((600, 600), MID_GRAY, dtype=np.float32)
    noisy = photon_noise(img, std, np.random.default_rng(3))
    assert noisy.std() == pytest.approx(std, rel=0.05)
    assert noisy.mean() == pytest.approx(MID_GRAY, abs=0.05)


def test_photon_noise_variance_is_proportional_to_intensity():
    rng = np.random.default_rng(4)
    for level in (10.0, 60.0, 255.0):
        noisy = photon_noise(np.full((500, 500), level, dtype=np.float32), 2.0, rng)
        assert noisy.var() == pytest.approx(4.0 * level / MID_GRAY, rel=0.05)
    assert np.array_equal(photon_noise(np.full((4, 4), 9.0), 0.0, rng), np.full((4, 4), 9.0, np.float32))
    with pytest.raises(ValueError, match="noise_std"):
        photon_noise(np.zeros((2, 2)), -1.0, rng)


def test_strong_noise_counts_discrete_photons():
    std = 40.0  # 127.5 / (40**2 / 127.5) = 10 expected photons at mid-gray
    k = std**2 / MID_GRAY
    noisy = photon_noise(np.full((400, 400), MID_GRAY, dtype=np.float32), std, np.random.default_rng(5))
    counts = noisy / k
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-3)  # whole photons
    assert counts.mean() == pytest.approx(10.0, rel=0.02) and counts.var() == pytest.approx(10.0, rel=0.05)
    assert (counts == 0).mean() == pytest.approx(np.exp(-10.0), abs=2e-4)  # Poisson P(0) = e^-10


@pytest.fixture(scope="module")
def gray() -> InMemoryCatalogue:
    return InMemoryCatalogue({"gray": np.full((200, 200, 3), MID_GRAY, dtype=np.float32)})


def _flat(std: float) -> SampleParams:
    bg = LayerParams("gray", 1.0, (-40.0, -40.0), (0.3, -0.2), (5.0, -5.0, 0.0))
    return SampleParams(part=2, index=0, seed=(1, 2, 0), alpha=10.0, noise_std=std, background_blur=0.0, background=bg)


@pytest.mark.parametrize("noisy_target", [False, True])
def test_rendered_noise_on_inputs_and_clean_targets(gray, noisy_target):
    spec = DatasetSpec.from_config({"dataset": {"image_size": 128, "noise": {"noisy_target": noisy_target}}})
    frames = render_sample(_flat(2.5), gray, spec)
    # Stochastic rounding of a continuous value adds variance E[r(1 - r)] = 1/6 on average.
    for field in ("frame_a", "frame_b", "frame_b_perturbed"):
        var = frames[field].astype(np.float64).var(axis=(0, 1)).mean()
        assert np.sqrt(var - 1.0 / 6.0) == pytest.approx(2.5, rel=0.05), field
    for field in ("frame_y", "frame_y_perturbed"):
        std = frames[field].astype(np.float64).std(axis=(0, 1)).mean()
        if noisy_target:
            assert np.sqrt(std**2 - 1.0 / 6.0) == pytest.approx(2.5, rel=0.05), field
        else:  # clean: only the rounding of x.5, std 0.5 on the gray channels
            assert std < 0.55, field
    np.testing.assert_allclose(frames["frame_y_perturbed"].mean(axis=(0, 1)), MID_GRAY + np.array([5.0, -5.0, 0.0]), atol=0.1)


def test_noise_is_independent_per_frame_and_reproducible(gray):
    spec = DatasetSpec.from_config({"dataset": {"image_size": 64}})
    first, again = render_sample(_flat(3.0), gray, spec), render_sample(_flat(3.0), gray, spec)
    for field in first:
        np.testing.assert_array_equal(first[field], again[field])
    a, b = first["frame_a"].astype(float) - MID_GRAY, first["frame_b"].astype(float) - MID_GRAY
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.05
    other = render_sample(dataclasses.replace(_flat(3.0), seed=(1, 2, 1)), gray, spec)
    assert not np.array_equal(other["frame_a"], first["frame_a"])


def test_read_noise_is_signal_independent_gaussian():
    img = np.concatenate([np.full((500, 500), 10.0, np.float32), np.full((500, 500), 200.0, np.float32)])
    out = read_noise(img, 2.5, np.random.default_rng(3))
    assert out.dtype == np.float32
    for half in (out[:500] - 10.0, out[500:] - 200.0):  # the same std at any intensity
        assert half.mean() == pytest.approx(0.0, abs=0.02) and half.std() == pytest.approx(2.5, rel=0.01)
    np.testing.assert_array_equal(read_noise(img, 0.0, np.random.default_rng(3)), img)
    with pytest.raises(ValueError, match="read_noise_std"):
        read_noise(img, -1.0, np.random.default_rng(3))

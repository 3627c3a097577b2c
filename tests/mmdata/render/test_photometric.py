"""Input-only photometric changes (``dataset.photometric``) against known statistics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.render.composite import render_clean, render_sample
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.sampling import sample_params
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec

GAIN_FLICKER = 0.1


def _spec(size: int, **photometric) -> DatasetSpec:
    return DatasetSpec.from_config({"seed": 7, "dataset": {"image_size": size, "photometric": photometric}})


def test_gain_flicker_changes_frame_b_only(catalogue):
    off, on = _spec(32), _spec(32, gain_flicker=GAIN_FLICKER)
    ratios, gains = [], []
    for index in range(12):
        p_off, p_on = (sample_params(s, "static", index, catalogue) for s in (off, on))
        assert dataclasses.replace(p_on, gain_b=1.0) == p_off  # the default draws are untouched
        assert 1 - GAIN_FLICKER <= p_on.gain_b <= 1 + GAIN_FLICKER
        clean = render_clean(p_on, catalogue, on)
        np.testing.assert_allclose(clean["frame_b"], p_on.gain_b * clean["frame_a"], rtol=1e-5, atol=1e-3)
        f_off, f_on = render_sample(p_off, catalogue, off), render_sample(p_on, catalogue, on)
        for field in ("frame_a", "frame_y", "frame_y_perturbed"):  # A and the targets: the same bytes
            np.testing.assert_array_equal(f_on[field], f_off[field], err_msg=field)
        ratio = f_on["frame_b"].astype(float).mean() / f_on["frame_a"].astype(float).mean()
        assert 1 - GAIN_FLICKER <= ratio <= 1 + GAIN_FLICKER
        assert abs(ratio - p_on.gain_b) < 0.01  # the stored B is the gained scene (up to noise and clipping)
        ratios.append(ratio)
        gains.append(p_on.gain_b)
    assert np.std(ratios) > 0.02 and len(set(np.round(ratios, 4))) == len(ratios)  # varies across samples
    assert np.std(gains) > 0.02


def test_gain_multiplies_light_before_the_offsets(catalogue):
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), (0.5, 0.2), (12.0, -8.0, 4.0))
    scene = SampleParams(part=2, index=0, seed=(7, 2, 0), alpha=2.0, noise_std=0.0, background_blur=0.0, background=bg)
    spec = _spec(32)
    plain, gained = render_clean(scene, catalogue, spec), render_clean(dataclasses.replace(scene, gain_b=1.07), catalogue, spec)
    np.testing.assert_allclose(gained["frame_b"], 1.07 * plain["frame_b"], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(gained["frame_b_perturbed"] - gained["frame_b"], plain["frame_b_perturbed"] - plain["frame_b"], atol=1e-4)
    for field in ("frame_a", "frame_y", "frame_y_perturbed"):
        np.testing.assert_array_equal(gained[field], plain[field])


@pytest.fixture(scope="module")
def flat_catalogue() -> InMemoryCatalogue:
    return InMemoryCatalogue({"gray": np.full((160, 160, 3), 100.0, np.float32), "mid": np.full((160, 160, 3), 127.5, np.float32)}, {})


def _flat(source_id: str, read_noise_std: float, noise_std: float = 0.0) -> SampleParams:
    bg = LayerParams(source_id, 1.0, (-30.0, -30.0), (0.0, 0.0), (0.0, 0.0, 0.0))
    return SampleParams(part=4, index=0, seed=(7, 4, 0), alpha=5.0, noise_std=noise_std, background_blur=0.0,
                        background=bg, read_noise_std=read_noise_std)


QUANT_VAR = 1.0 / 6.0  # stochastic rounding of a continuous value adds variance E[f (1 - f)] = 1/6


@pytest.mark.parametrize("std", [1.0, 2.5, 6.0])
def test_read_noise_has_the_requested_std(flat_catalogue, std):
    frames = render_sample(_flat("gray", std), flat_catalogue, _spec(96))
    for field in ("frame_a", "frame_b", "frame_b_perturbed"):
        x = frames[field].astype(float)
        measured = np.sqrt(x.var() - QUANT_VAR)
        assert abs(measured / std - 1) < 0.03, (field, measured)
        assert abs(x.mean() - 100.0) < 0.1
    for field in ("frame_y", "frame_y_perturbed"):  # clean targets (a rare 101 from float rounding of 100)
        assert frames[field].astype(float).std() < 0.05, field
    a, b = frames["frame_a"].astype(float).ravel(), frames["frame_b"].astype(float).ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.03  # independent per frame


def test_read_noise_adds_to_the_photon_noise(flat_catalogue):
    frames = render_sample(_flat("mid", 2.0, noise_std=3.0), flat_catalogue, _spec(96))
    x = frames["frame_a"].astype(float)
    expected = 3.0**2 + 2.0**2 + QUANT_VAR  # photon variance at mid-gray is noise_std^2, plus read noise
    assert abs(x.var() / expected - 1) < 0.05, x.var()


def test_photometric_draws_are_recorded_and_bounded(catalogue):
    spec = _spec(32, gain_flicker=0.05, read_noise_std={"min": 0.5, "max": 1.5})
    params = [sample_params(spec, part, 0, catalogue) for part in range(1, 6)]
    assert all(0.5 <= p.read_noise_std <= 1.5 and 0.95 <= p.gain_b <= 1.05 for p in params)
    assert SampleParams.from_dict(params[0].to_dict()) == params[0]
    default = sample_params(_spec(32), 1, 0, catalogue)
    assert "gain_b" not in default.to_dict() and "read_noise_std" not in default.to_dict()  # recorded only when on


@pytest.mark.parametrize(
    "photometric, key",
    [
        ({"gain_flicker": 1.0}, "dataset.photometric.gain_flicker"),
        ({"gain_flicker": -0.1}, "dataset.photometric.gain_flicker"),
        ({"read_noise_std": {"max": -1.0}}, "dataset.photometric.read_noise_std.max"),
        ({"read_noise_std": {"min": 2.0, "max": 1.0}}, "dataset.photometric.read_noise_std.min"),
        ({"flicker": 0.1}, "dataset.photometric.flicker"),
    ],
)
def test_bad_photometric_values_name_the_key(photometric, key):
    with pytest.raises(ConfigError) as info:
        DatasetSpec.from_config({"dataset": {"photometric": photometric}})
    assert str(info.value).startswith(key + ":"), str(info.value)

"""DatasetSpec: built from the validated config; bad values fail naming the key."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from mmdata.errors import ConfigError
from mmdata.spec import DatasetSpec


def test_defaults_are_the_paper_values():
    spec = DatasetSpec.from_config({})
    assert spec.image_size == 384 and spec.supersample >= 2
    assert spec.alpha.max == 100 and spec.motion.max == 10 and spec.motion.max_magnified == 30
    assert (spec.objects.count_min, spec.objects.count_max, spec.objects.scale_max) == (7, 15, 2)
    assert spec.noise.photon_std_max == 3 and spec.noise.noisy_target is False
    assert spec.linear_light is False  # generator options are off by default
    assert dict(spec.parts) == {"fg_bg": 20000, "bg_only": 20000, "blur_bg": 20000, "static": 20000, "fg_only": 20000}


def test_spec_is_frozen():
    spec = DatasetSpec.from_config({"seed": 3})
    assert spec.seed == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 4  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(spec)) == spec  # travels to worker processes


@pytest.mark.parametrize(
    "dataset, key",
    [
        ({"alpha": {"max": 0}}, "dataset.alpha.max"),
        ({"alpha": {"max": -3.0}}, "dataset.alpha.max"),
        ({"motion": {"max_magnified": 0}}, "dataset.motion.max_magnified"),
        ({"motion": {"max": -1}}, "dataset.motion.max"),
        ({"motion": {"min": -0.1}}, "dataset.motion.min"),
        ({"alpha": {"max": "lots"}}, "dataset.alpha.max"),
        ({"image_size": 64.5}, "dataset.image_size"),
        ({"supersample": 1}, "dataset.supersample"),
        ({"noise": {"noisy_target": "yes"}}, "dataset.noise.noisy_target"),
        ({"parts": {"moving": 4}}, "dataset.parts.moving"),
        ({"objects": {"scale_min": 1.5, "scale_max": 1.0}}, "dataset.objects.scale_min"),
        ({"background": {"scale_min": 2.0, "scale_max": 1.0}}, "dataset.background.scale_min"),
        ({"blur": {"sigma_min": 5.0, "sigma_max": 1.0}}, "dataset.blur.sigma_min"),
        ({"alpha": {"min": 10.0}, "motion": {"min": 5.0}}, "dataset.motion.max_magnified"),
        ({"linear_light": "yes"}, "dataset.linear_light"),
    ],
)
def test_bad_values_name_the_key(dataset, key):
    with pytest.raises(ConfigError) as info:
        DatasetSpec.from_config({"dataset": dataset})
    assert str(info.value).startswith(key + ":"), str(info.value)

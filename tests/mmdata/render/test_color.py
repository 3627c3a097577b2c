"""Linear-light rendering (``dataset.linear_light``) against analytic truth: the sRGB curve and a half-covered pixel."""

from __future__ import annotations

import numpy as np
import pytest

from mmdata.render.color import linear_to_srgb, srgb_to_linear
from mmdata.render.composite import render_clean, render_sample
from mmdata.scene import LayerParams, SampleParams
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec

SIZE = 32
EDGE_COLUMN = 16  # the output column a black/white edge cuts in half


def _decode(v: float) -> float:
    """IEC 61966-2-1 decoding of one value in [0, 1], written out from the standard."""
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _encode(v: float) -> float:
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


HALF = 255.0 * _encode(0.5)  # a pixel half white, half black, in linear light: 187.516...


def test_transfer_functions_follow_the_standard_curve():
    v = np.linspace(0.0, 255.0, 1021)
    np.testing.assert_allclose(srgb_to_linear(v), [255.0 * _decode(x / 255.0) for x in v], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(linear_to_srgb(v), [255.0 * _encode(x / 255.0) for x in v], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(v)), v, atol=1e-3)  # inverse of each other
    assert srgb_to_linear(np.array([0.0, 255.0])).tolist() == [0.0, 255.0]
    assert np.all(np.diff(linear_to_srgb(np.linspace(-5.0, 260.0, 2001))) > 0)  # odd / power-law extension: monotone
    assert linear_to_srgb(np.array([-1.0]))[0] == -linear_to_srgb(np.array([1.0]))[0]
    assert round(HALF) == 188


def _spec(linear: bool) -> DatasetSpec:
    return DatasetSpec.from_config({"dataset": {"image_size": SIZE, "linear_light": linear}})


@pytest.fixture(scope="module")
def edge_catalogue() -> InMemoryCatalogue:
    """A black/white step background (white from source column 100 on) and a white square object (48 px)."""
    step = np.zeros((200, 200, 3), dtype=np.float32)
    step[:, 100:] = 255.0
    white = (np.full((48, 48, 3), 255.0, dtype=np.float32), np.ones((48, 48), dtype=np.float32))
    return InMemoryCatalogue({"step": step, "black": np.zeros((200, 200, 3), np.float32)}, {"white": white})


def _scene(background: LayerParams, objects=()) -> SampleParams:
    return SampleParams(part=1, index=0, seed=(0, 1, 0), alpha=1.0, noise_std=0.0, background_blur=0.0,
                        background=background, objects=tuple(objects))


def _layer(source_id: str, position: tuple[float, float]) -> LayerParams:
    return LayerParams(source_id=source_id, scale=1.0, position=position, motion=(0.0, 0.0), color_offset=(0.0, 0.0, 0.0))


# the edge falls on the centre of output column 16 (x = 16.5): as a background step, and as an object's left side
SCENES = {
    "background edge": _scene(_layer("step", (EDGE_COLUMN + 0.5 - 100.0, -80.0))),
    "object edge": _scene(_layer("black", (-80.0, -80.0)), [_layer("white", (EDGE_COLUMN + 0.5, -8.0))]),
}


@pytest.mark.parametrize("name", sorted(SCENES))
def test_a_half_covered_pixel_is_half_the_light(edge_catalogue, name):
    rows = slice(10, 22)  # rows far (> 18 px) from the object's top and bottom sides
    srgb = render_clean(SCENES[name], edge_catalogue, _spec(False))["frame_a"]
    linear = render_clean(SCENES[name], edge_catalogue, _spec(True))["frame_a"]
    np.testing.assert_allclose(srgb[rows, EDGE_COLUMN], 127.5, atol=1e-3)  # sRGB values averaged: 128 of 255
    np.testing.assert_allclose(linear[rows, EDGE_COLUMN], HALF, atol=1e-3)  # light averaged: encode(0.5) = 188
    # black and white decode to themselves, so every pixel is the encoded sRGB-mode value
    np.testing.assert_allclose(linear, linear_to_srgb(srgb), atol=2e-3)
    stored = render_sample(SCENES[name], edge_catalogue, _spec(True))["frame_a"]
    assert abs(stored[rows, EDGE_COLUMN].astype(float).mean() - HALF) < 0.5  # stochastic rounding keeps it on average


def test_linear_light_changes_photographs_and_keeps_the_perturbation_additive(catalogue):
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), (0.7, -0.4), (10.0, -5.0, 3.0))
    obj = LayerParams("coffee-obj0", 1.5, (10.0, 8.0), (0.3, 0.2), (-7.0, 4.0, 12.0))
    scene = SampleParams(part=1, index=0, seed=(0, 1, 0), alpha=3.0, noise_std=0.0, background_blur=1.5,
                         background=bg, objects=(obj,))
    plain = render_clean(scene, catalogue, _spec(False))
    linear = render_clean(scene, catalogue, _spec(True))
    assert np.abs(linear["frame_a"] - plain["frame_a"]).max() > 1.0  # blur and edges mix light, not sRGB values
    for frame in ("b", "y"):  # offsets are added in the stored sRGB values, in both modes
        np.testing.assert_allclose(linear[f"frame_{frame}_perturbed"] - linear[f"frame_{frame}"],
                                   plain[f"frame_{frame}_perturbed"] - plain[f"frame_{frame}"], atol=1e-3)

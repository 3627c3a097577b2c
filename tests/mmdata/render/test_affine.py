"""Affine motion per layer (``dataset.motion.affine``) against analytic truth.

The displacement field of a layer is ``d(x) = delta + G (x - c)`` from A to B and ``alpha d(x)`` from
A to Y. An affine field is fitted to the rendered frames (:func:`estimate_affine`: Gauss-Newton on
brightness constancy, coarse to fine) and compared with the requested one at every pixel of the layer.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.render.composite import render_clean
from mmdata.render.measure import estimate_affine, estimate_shift
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.sampling import COVER_MARGIN, MAX_MAGNIFIED_STRAIN, sample_params
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec

SIZE = 96
TOL = 0.02  # px, anywhere in the layer (SPEC section 3's accuracy for translations)


def _gradient(rotation_deg: float, scale: float, shear: float) -> tuple[float, float, float, float]:
    """A - I of A = (1 + s) R(theta) [[1, h], [0, 1]] (the sampler's parametrization)."""
    th = math.radians(rotation_deg)
    a = (1 + scale) * np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]]) @ np.array([[1, shear], [0, 1]])
    return tuple(float(v) for v in (a - np.eye(2)).ravel())  # type: ignore[return-value]


def _field_error(layer: LayerParams, factor: float, t, g, box) -> float:
    """Largest |fitted - requested| displacement over the pixels of ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    want = np.stack(layer.displacement(xs, ys)) * factor
    c = layer.motion_centre
    got = np.stack([t[0] + g[0, 0] * (xs - c[0]) + g[0, 1] * (ys - c[1]), t[1] + g[1, 0] * (xs - c[0]) + g[1, 1] * (ys - c[1])])
    return float(np.hypot(*(got - want)).max())


def _scene(alpha, background, objects=()) -> SampleParams:
    return SampleParams(part=1, index=0, seed=(5, 1, 0), alpha=alpha, noise_std=0.0, background_blur=0.0,
                        background=background, objects=tuple(objects))


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return DatasetSpec.from_config({"dataset": {"image_size": SIZE}})


@pytest.mark.parametrize(
    "affine, motion, alpha",
    [
        ((0.4, 0.006, 0.004), (0.37, -0.21), 6.0),
        ((-0.8, -0.01, 0.0), (0.05, 0.02), 4.0),
        ((0.0, 0.0, -0.012), (-1.3, 2.1), 3.0),
    ],
)
def test_background_affine_field_and_its_magnification_are_exact(spec, catalogue, affine, motion, alpha):
    centre = (SIZE / 2, SIZE / 2)
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), motion, (0.0, 0.0, 0.0), _gradient(*affine), centre)
    frames = render_clean(_scene(alpha, bg), catalogue, spec)
    m = 12  # the border where content enters the frame is not scored
    for field, factor in (("frame_b", 1.0), ("frame_y", alpha)):
        t, g = estimate_affine(frames["frame_a"], frames[field], centre=centre)
        assert _field_error(bg, factor, t, g, (m, m, SIZE - m, SIZE - m)) < TOL, (field, t, g)


@pytest.fixture(scope="module")
def square_catalogue(catalogue) -> InMemoryCatalogue:
    """The photographs plus an opaque, strongly textured 64 x 64 px square object."""
    coffee = catalogue.background("coffee")
    objects = {"coffee-square": (coffee[150:214, 0:64], np.ones((64, 64), np.float32))}
    return InMemoryCatalogue({k: catalogue.background(k) for k in catalogue.background_ids}, objects)


def test_object_affine_field_and_its_magnification_are_exact(spec, square_catalogue):
    bg = LayerParams("astronaut", 1.0, (-150.0, -60.0), (0.23, -0.41), (0.0, 0.0, 0.0))
    pos, side = (8.3, 6.6), 64.0  # large enough for a 6-parameter fit to 0.01 px on its interior
    centre = (pos[0] + side / 2, pos[1] + side / 2)
    obj = LayerParams("coffee-square", 1.0, pos, (0.61, 0.37), (0.0, 0.0, 0.0), _gradient(1.5, 0.02, -0.01), centre)
    alpha = 4.0
    frames = render_clean(_scene(alpha, bg, [obj]), square_catalogue, spec)
    inner = 6  # px inside the square's sides in A: the spline's ringing at its edge is gone
    box = (math.ceil(pos[0]) + inner, math.ceil(pos[1]) + inner, math.floor(pos[0] + side) - inner, math.floor(pos[1] + side) - inner)
    mask = np.zeros((SIZE, SIZE))
    mask[box[1] : box[3], box[0] : box[2]] = 1.0
    for field, factor in (("frame_b", 1.0), ("frame_y", alpha)):
        guess = (tuple(factor * np.array(obj.motion)), np.zeros((2, 2)))
        t, g = estimate_affine(frames["frame_a"], frames[field], centre=centre, guess=guess, mask=mask, border=1)
        assert _field_error(obj, factor, t, g, box) < TOL, (field, t, g)
        # the background behind it keeps its pure translation
        bg_mask = np.zeros((SIZE, SIZE))  # an L right of and below the square, which never reaches it in Y
        bg_mask[:, 82:] = 1.0
        bg_mask[80:, :] = 1.0
        d = estimate_shift(frames["frame_a"], frames[field], guess=tuple(factor * np.array(bg.motion)), mask=bg_mask, border=1)
        np.testing.assert_allclose(d, factor * np.array(bg.motion), atol=TOL, err_msg=f"{field} background")


def test_the_affine_path_reproduces_a_translation(spec, catalogue):
    """A vanishing gradient sends a layer through the affine sampler: it must agree with the separable one."""
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), (0.37, -0.21), (5.0, 0.0, -3.0))
    obj = LayerParams("coffee-obj1", 1.3, (20.2, 30.7), (0.61, 0.33), (1.0, 2.0, 3.0))
    plain = _scene(7.0, bg, [obj])
    tiny = {"motion_gradient": (1e-12, 0.0, 0.0, 0.0), "motion_centre": (48.0, 48.0)}
    affine = dataclasses.replace(plain, background=dataclasses.replace(bg, **tiny), objects=(dataclasses.replace(obj, **tiny),))
    ref, out = render_clean(plain, catalogue, spec), render_clean(affine, catalogue, spec)
    for field in ref:
        np.testing.assert_allclose(out[field], ref[field], atol=2e-4, err_msg=field)
    np.testing.assert_array_equal(out["frame_a"], ref["frame_a"])  # A never moves


AFFINE = {"rotation_deg": 1.0, "scale": 0.02, "shear": 0.02}


def _corners(layer: LayerParams, size: int, catalogue) -> list[tuple[float, float]]:
    if layer.motion_centre == (size / 2, size / 2) and layer.source_id in catalogue.background_ids:
        return [(x, y) for x in (0.0, size) for y in (0.0, size)]
    _, mask = catalogue.object(layer.source_id)
    h, w = mask.shape
    x0, y0 = layer.position
    return [(x0 + dx, y0 + dy) for dx in (0.0, layer.scale * w) for dy in (0.0, layer.scale * h)]


def test_sampled_affine_motions_respect_the_caps_and_leave_the_default_draws(catalogue):
    base = {"image_size": 64, "objects": {"count_min": 2, "count_max": 4}}
    off = DatasetSpec.from_config({"seed": 7, "dataset": base})
    on = DatasetSpec.from_config({"seed": 7, "dataset": {**base, "motion": {"affine": AFFINE}}})
    affine_layers = 0
    for part in range(1, 6):
        for index in range(6):
            p_off, p_on = sample_params(off, part, index, catalogue), sample_params(on, part, index, catalogue)
            strip = {"motion_gradient": (0.0, 0.0, 0.0, 0.0), "motion_centre": (0.0, 0.0)}
            assert [dataclasses.replace(o, **strip) for o in p_on.objects] == list(p_off.objects)
            assert (p_on.alpha, p_on.noise_std, p_on.background.motion) == (p_off.alpha, p_off.noise_std, p_off.background.motion)
            top = min(on.motion.max, on.motion.max_magnified / p_on.alpha)
            for layer in (p_on.background, *p_on.objects):
                if layer.motion == (0.0, 0.0):  # a layer the part keeps still
                    assert not layer.is_affine
                    continue
                assert layer.is_affine
                affine_layers += 1
                g = np.reshape(layer.motion_gradient, (2, 2))
                assert p_on.alpha * np.linalg.norm(g, 2) <= MAX_MAGNIFIED_STRAIN + 1e-12
                largest = max(math.hypot(*layer.displacement(x, y)) for x, y in _corners(layer, 64, catalogue))
                assert largest <= top + 1e-9  # so alpha * largest <= max_magnified, and <= motion.max
    assert affine_layers > 20


def test_an_affine_background_still_covers_every_frame(catalogue):
    spec = DatasetSpec.from_config({"seed": 3, "dataset": {"image_size": 64, "motion": {"affine": {"rotation_deg": 5.0, "scale": 0.1}}}})
    for index in range(8):
        p = sample_params(spec, "bg_only", index, catalogue)
        bg = p.background
        h, w = catalogue.background(bg.source_id).shape[:2]
        g = np.eye(2) + np.reshape(bg.motion_gradient, (2, 2))
        for factor in (1.0, p.alpha):
            m = np.eye(2) + factor * (g - np.eye(2))
            c = np.asarray(bg.motion_centre)
            for q in [(x, y) for x in (-COVER_MARGIN, 64 + COVER_MARGIN) for y in (-COVER_MARGIN, 64 + COVER_MARGIN)]:
                x = c + np.linalg.solve(m, np.asarray(q) - c - factor * np.asarray(bg.motion))  # shown at q
                u = (x - np.asarray(bg.position)) / bg.scale
                assert 0.0 <= u[0] <= w and 0.0 <= u[1] <= h, (index, factor, q, u)


def test_affine_parameters_round_trip_and_stay_out_of_default_records(catalogue):
    spec = DatasetSpec.from_config({"dataset": {"image_size": 64, "motion": {"affine": AFFINE}}})
    p = sample_params(spec, 1, 0, catalogue)
    assert SampleParams.from_dict(p.to_dict()) == p and "motion_gradient" in p.to_dict()["background"]
    default = sample_params(DatasetSpec.from_config({"dataset": {"image_size": 64}}), 1, 0, catalogue)
    assert "motion_gradient" not in default.to_dict()["background"]


@pytest.mark.parametrize(
    "affine, key",
    [
        ({"rotation_deg": -1.0}, "dataset.motion.affine.rotation_deg"),
        ({"scale": 1.0}, "dataset.motion.affine.scale"),
        ({"shear": "a little"}, "dataset.motion.affine.shear"),
        ({"zoom": 0.1}, "dataset.motion.affine.zoom"),
    ],
)
def test_bad_affine_ranges_name_the_key(affine, key):
    with pytest.raises(ConfigError) as info:
        DatasetSpec.from_config({"dataset": {"motion": {"affine": affine}}})
    assert str(info.value).startswith(key + ":"), str(info.value)

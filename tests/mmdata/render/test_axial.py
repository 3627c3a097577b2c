"""Axial magnification targets (``dataset.axial``) against analytic truth.

The magnified frame Y shows every layer's displacement d (from A to B) as ``M d`` with
``M = R(theta) diag(alpha_x, alpha_y) R(theta)^T``: alpha_x along the unit vector (cos theta, sin theta),
alpha_y across it. Displacements are measured on the rendered frames (:func:`estimate_shift`,
:func:`estimate_affine`) and compared with M applied to the measured and to the requested A -> B
displacement, and their components along and across theta with alpha_x and alpha_y times B's.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.render.composite import render, render_clean
from mmdata.render.measure import estimate_affine, estimate_shift
from mmdata.scene import LayerParams, SampleParams, magnification
from mmdata.render.sampling import COVER_MARGIN, MAX_MAGNIFIED_STRAIN, sample_params
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec

SIZE = 96
TOL = 0.02  # px (SPEC section 3's accuracy for translations)


def _scene(alpha, background, objects=(), theta=0.0, alpha_y=None) -> SampleParams:
    return SampleParams(part=1, index=0, seed=(5, 1, 0), alpha=alpha, noise_std=0.0, background_blur=0.0,
                        background=background, objects=tuple(objects), theta=theta, alpha_y=alpha_y)


def _axes(theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along and across theta."""
    return np.array([math.cos(theta), math.sin(theta)]), np.array([-math.sin(theta), math.cos(theta)])


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return DatasetSpec.from_config({"dataset": {"image_size": SIZE}})


def test_the_magnification_matrix_is_alpha_x_along_theta_and_alpha_y_across():
    theta, ax, ay = math.radians(35.0), 9.0, 2.5
    m = magnification(ax, theta, ay)
    along, across = _axes(theta)
    np.testing.assert_allclose(m @ along, ax * along, atol=1e-12)
    np.testing.assert_allclose(m @ across, ay * across, atol=1e-12)
    np.testing.assert_array_equal(magnification(ax), ax * np.eye(2))


@pytest.mark.parametrize(
    "motion, alpha, theta_deg, alpha_y",
    [
        ((0.37, -0.21), 8.0, 30.0, 2.0),  # across theta shrinks to a quarter
        ((0.05, 0.31), 12.0, 100.0, 0.0),  # the motion across theta is removed
        ((-0.6, 0.45), 5.0, -45.0, 5.0),  # alpha_y = alpha_x: the scalar magnification
        ((1.3, -0.2), 3.0, 0.0, 1.0),  # across theta (the y axis) as in B
        ((2.0, 1.5), 10.0, 75.0, 3.0),  # the largest magnified motion, 24.6 px
        ((0.01, 0.0), 100.0, 20.0, 40.0),  # the smallest input motion at the largest alpha
    ],
)
def test_a_translated_background_is_magnified_per_axis(spec, catalogue, motion, alpha, theta_deg, alpha_y):
    theta = math.radians(theta_deg)
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), motion, (0.0, 0.0, 0.0))
    frames = render_clean(_scene(alpha, bg, theta=theta, alpha_y=alpha_y), catalogue, spec)
    m = magnification(alpha, theta, alpha_y)
    d_b = np.array(estimate_shift(frames["frame_a"], frames["frame_b"]))
    d_y = np.array(estimate_shift(frames["frame_a"], frames["frame_y"], guess=tuple(m @ np.array(motion))))
    np.testing.assert_allclose(d_b, motion, atol=TOL)
    np.testing.assert_allclose(d_y, m @ np.array(motion), atol=TOL)  # the requested motion, magnified
    np.testing.assert_allclose(d_y, m @ d_b, atol=TOL)  # the measured motion of B, magnified
    along, across = _axes(theta)
    assert abs(d_y @ along - alpha * (d_b @ along)) < TOL
    assert abs(d_y @ across - alpha_y * (d_b @ across)) < TOL
    np.testing.assert_allclose(frames["frame_y_perturbed"] - frames["frame_y"], frames["frame_b_perturbed"] - frames["frame_b"], atol=1e-3)


def _gradient(rotation_deg: float, scale: float) -> tuple[float, float, float, float]:
    th = math.radians(rotation_deg)
    a = (1 + scale) * np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    return tuple(float(v) for v in (a - np.eye(2)).ravel())  # type: ignore[return-value]


def test_an_affine_background_field_is_magnified_per_axis(spec, catalogue):
    """d(x) = delta + G (x - c) in B becomes M delta + M G (x - c) in Y, at every pixel."""
    centre = (SIZE / 2, SIZE / 2)
    alpha, theta, alpha_y = 6.0, math.radians(60.0), 1.5
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), (0.37, -0.21), (0.0, 0.0, 0.0), _gradient(0.5, 0.006), centre)
    frames = render_clean(_scene(alpha, bg, theta=theta, alpha_y=alpha_y), catalogue, spec)
    m = magnification(alpha, theta, alpha_y)
    (tb, gb) = estimate_affine(frames["frame_a"], frames["frame_b"], centre=centre)
    (ty, gy) = estimate_affine(frames["frame_a"], frames["frame_y"], centre=centre)
    g = np.reshape(bg.motion_gradient, (2, 2))
    b = 12  # the border where content enters the frame is not scored
    ys, xs = np.mgrid[b : SIZE - b, b : SIZE - b] + 0.5
    r = np.stack([xs - centre[0], ys - centre[1]])  # (2, h, w) relative to the centre

    def field(t, grad):
        return np.asarray(t)[:, None, None] + np.einsum("ij,jhw->ihw", grad, r)

    want = field(m @ np.array(bg.motion), m @ g)
    assert np.hypot(*(field(ty, gy) - want)).max() < TOL
    assert np.hypot(*(field(ty, gy) - np.einsum("ij,jhw->ihw", m, field(tb, gb)))).max() < TOL  # M times B's measured field


@pytest.fixture(scope="module")
def square_catalogue(catalogue) -> InMemoryCatalogue:
    """The photographs plus an opaque, strongly textured 48 x 48 px square object."""
    coffee = catalogue.background("coffee")
    objects = {"coffee-square": (coffee[150:198, 0:48], np.ones((48, 48), np.float32))}
    return InMemoryCatalogue({k: catalogue.background(k) for k in catalogue.background_ids}, objects)


def test_an_object_and_the_background_behind_it_share_the_axial_factors(spec, square_catalogue):
    bg = LayerParams("astronaut", 1.0, (-150.0, -60.0), (0.23, -0.41), (0.0, 0.0, 0.0))
    pos, side = (10.3, 8.6), 48.0
    obj = LayerParams("coffee-square", 1.0, pos, (0.61, 0.37), (0.0, 0.0, 0.0))
    alpha, theta, alpha_y = 5.0, math.radians(-20.0), 2.0
    frames = render_clean(_scene(alpha, bg, [obj], theta=theta, alpha_y=alpha_y), square_catalogue, spec)
    m = magnification(alpha, theta, alpha_y)
    inner = 6
    box = np.zeros((SIZE, SIZE))
    box[math.ceil(pos[1]) + inner : math.floor(pos[1] + side) - inner, math.ceil(pos[0]) + inner : math.floor(pos[0] + side) - inner] = 1.0
    bg_mask = np.zeros((SIZE, SIZE))  # an L right of and below the square, which never reaches it in Y
    bg_mask[:, 72:] = 1.0
    bg_mask[70:, :] = 1.0
    for layer, mask in ((obj, box), (bg, bg_mask)):
        want = m @ np.array(layer.motion)
        d = estimate_shift(frames["frame_a"], frames["frame_y"], guess=tuple(want), mask=mask, border=1)
        np.testing.assert_allclose(d, want, atol=TOL, err_msg=layer.source_id)


def test_theta_zero_and_equal_factors_reproduce_the_scalar_target_exactly(spec, catalogue):
    """alpha_y = alpha at theta 0 takes the axial path (M = alpha I) and gives the scalar frames bit for bit."""
    bg = LayerParams("astronaut", 1.0, (-151.3, -60.7), (0.37, -0.21), (5.0, 0.0, -3.0), _gradient(0.4, 0.005), (48.0, 48.0))
    obj = LayerParams("coffee-obj1", 1.3, (20.2, 30.7), (0.61, 0.33), (1.0, 2.0, 3.0))
    scalar = _scene(7.0, bg, [obj])
    axial = dataclasses.replace(scalar, theta=0.0, alpha_y=7.0)
    assert axial.is_axial and not scalar.is_axial
    ref, out = render_clean(scalar, catalogue, spec), render_clean(axial, catalogue, spec)
    for field in ref:
        np.testing.assert_array_equal(out[field], ref[field], err_msg=field)
    turned = render_clean(dataclasses.replace(axial, alpha_y=3.0), catalogue, spec)  # and alpha_y does matter
    assert np.abs(turned["frame_y"] - ref["frame_y"]).max() > 1.0


AXIAL = {"enabled": True, "theta_deg": {"min": 0.0, "max": 180.0}, "ratio": {"min": 0.0, "max": 1.0}}


def test_a_sampled_scalar_axial_dataset_renders_the_default_bytes(catalogue):
    """theta fixed at 0 and r at 1: every frame of every part equals the default dataset's, noise included."""
    base = {"image_size": 48, "objects": {"count_min": 1, "count_max": 3}}
    off = DatasetSpec.from_config({"seed": 7, "dataset": base})
    on = DatasetSpec.from_config({"seed": 7, "dataset": {**base, "axial": {"enabled": True, "theta_deg": {"min": 0, "max": 0}, "ratio": {"min": 1, "max": 1}}}})
    for part in (1, 2, 5):
        p_off, f_off = render(off, part, 0, catalogue)
        p_on, f_on = render(on, part, 0, catalogue)
        assert p_on == dataclasses.replace(p_off, alpha_y=p_off.alpha)
        for field in f_off:
            np.testing.assert_array_equal(f_on[field], f_off[field], err_msg=f"part {part} {field}")


def test_sampled_axial_targets_follow_their_ranges_and_keep_the_caps(catalogue):
    base = {"image_size": 64, "objects": {"count_min": 2, "count_max": 4}, "motion": {"affine": {"rotation_deg": 1.0, "scale": 0.02}}}
    off = DatasetSpec.from_config({"seed": 7, "dataset": base})
    on = DatasetSpec.from_config({"seed": 7, "dataset": {**base, "axial": {**AXIAL, "theta_deg": {"min": 10.0, "max": 70.0}, "ratio": {"min": 0.2, "max": 0.6}}}})
    thetas = []
    for part in range(1, 6):
        for index in range(5):
            p_off, p = sample_params(off, part, index, catalogue), sample_params(on, part, index, catalogue)
            assert (p.alpha, p.noise_std, p.objects, p.background.motion) == (p_off.alpha, p_off.noise_std, p_off.objects, p_off.background.motion)
            assert 10.0 <= math.degrees(p.theta) <= 70.0 and 0.2 * p.alpha <= p.alpha_y <= 0.6 * p.alpha
            thetas.append(p.theta)
            m = p.magnification
            for layer in (p.background, *p.objects):
                g = np.reshape(layer.motion_gradient, (2, 2))
                assert np.linalg.norm(m @ g, 2) <= MAX_MAGNIFIED_STRAIN + 1e-12
                corners = [(x, y) for x in (0.0, 64.0) for y in (0.0, 64.0)]  # the field is linear: the frame's corners bound it
                if layer is not p.background:
                    h, w = catalogue.object(layer.source_id)[1].shape
                    corners = [(layer.position[0] + dx, layer.position[1] + dy) for dx in (0.0, layer.scale * w) for dy in (0.0, layer.scale * h)]
                largest = max(float(np.hypot(*(m @ np.array(layer.displacement(x, y))))) for x, y in corners)
                assert largest <= on.motion.max_magnified + 1e-9
            _assert_background_covers(p, catalogue, 64)
    assert len(set(thetas)) == len(thetas)  # drawn per sample


def _assert_background_covers(p: SampleParams, catalogue, size: int) -> None:
    """Every corner of the widened frame of Y shows a point inside the background image."""
    bg = p.background
    h, w = catalogue.background(bg.source_id).shape[:2]
    m = np.eye(2) + p.magnification @ np.reshape(bg.motion_gradient, (2, 2))
    c = np.asarray(bg.motion_centre)
    t = np.asarray(p.magnify(bg.motion))
    for q in [(x, y) for x in (-COVER_MARGIN, size + COVER_MARGIN) for y in (-COVER_MARGIN, size + COVER_MARGIN)]:
        x = c + np.linalg.solve(m, np.asarray(q) - c - t) if bg.is_affine else np.asarray(q) - t
        u = (x - np.asarray(bg.position)) / bg.scale
        assert 0.0 <= u[0] <= w and 0.0 <= u[1] <= h, (p.part, p.index, q, u)


def test_axial_parameters_round_trip_and_stay_out_of_default_records(catalogue):
    spec = DatasetSpec.from_config({"dataset": {"image_size": 64, "axial": AXIAL}})
    p = sample_params(spec, 1, 0, catalogue)
    d = p.to_dict()
    assert SampleParams.from_dict(d) == p and {"theta", "alpha_y"} <= set(d)
    default = sample_params(DatasetSpec.from_config({"dataset": {"image_size": 64}}), 1, 0, catalogue)
    assert not default.is_axial and not {"theta", "alpha_y"} & set(default.to_dict())


@pytest.mark.parametrize(
    "axial, key",
    [
        ({"enabled": "yes"}, "dataset.axial.enabled"),
        ({"ratio": {"max": 1.5}}, "dataset.axial.ratio.max"),
        ({"ratio": {"min": 0.8, "max": 0.5}}, "dataset.axial.ratio.min"),
        ({"theta_deg": {"min": 90.0, "max": 10.0}}, "dataset.axial.theta_deg.min"),
        ({"theta_deg": {"min": -400.0}}, "dataset.axial.theta_deg.min"),
        ({"alpha_x": 3.0}, "dataset.axial.alpha_x"),
    ],
)
def test_bad_axial_settings_name_the_key(axial, key):
    with pytest.raises(ConfigError) as info:
        DatasetSpec.from_config({"dataset": {"axial": axial}})
    assert str(info.value).startswith(key + ":"), str(info.value)

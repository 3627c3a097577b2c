"""Rendering physics against analytic truth: exact sub-pixel motion, occlusion, perturbation, determinism."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from mmdata.render.measure import estimate_shift
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.composite import FRAME_FIELDS, render, render_clean, render_sample
from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec

SIZE = 96


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return DatasetSpec.from_config({"seed": 5, "dataset": {"image_size": SIZE}})


def _layer(source_id, position, motion=(0.0, 0.0), scale=1.0, offset=(0.0, 0.0, 0.0)) -> LayerParams:
    return LayerParams(source_id=source_id, scale=scale, position=position, motion=motion, color_offset=offset)


def _scene(alpha, background, objects=(), noise_std=0.0) -> SampleParams:
    return SampleParams(
        part=1, index=0, seed=(5, 1, 0), alpha=alpha, noise_std=noise_std, background_blur=0.0,
        background=background, objects=tuple(objects),
    )


def test_every_frame_is_uint8_of_the_configured_size(spec, catalogue):
    for part in range(1, 6):
        params, frames = render(spec, part, 3, catalogue)
        assert params.part == part
        assert tuple(frames) == FRAME_FIELDS
        for img in frames.values():
            assert img.dtype == np.uint8 and img.shape == (SIZE, SIZE, 3)
        assert frames["frame_a"].std() > 5  # real texture, not a blank frame


@pytest.mark.parametrize("magnitude", [0.01, 0.1, 0.37, 1.0, 3.3, 10.0])
@pytest.mark.parametrize("angle", [0.0, 45.0, 120.0, 250.0])
def test_background_displacement_is_exact(spec, catalogue, magnitude, angle):
    dx, dy = magnitude * math.cos(math.radians(angle)), magnitude * math.sin(math.radians(angle))
    alpha = min(100.0, 30.0 / magnitude)  # alpha * |delta| reaches 30 px from delta = 0.3 px on
    bg = _layer("astronaut", (-151.3, -60.7), (dx, dy))
    frames = render_sample(_scene(alpha, bg), catalogue, spec)
    mb = estimate_shift(frames["frame_a"], frames["frame_b"])
    my = estimate_shift(frames["frame_a"], frames["frame_y"])
    assert np.abs(np.subtract(mb, (dx, dy))).max() < 0.02, mb
    assert np.abs(np.subtract(my, (alpha * dx, alpha * dy))).max() < 0.02, my


@pytest.mark.parametrize("supersample, sigma", [(3, 0.5), (4, 1.0)])
def test_other_render_grids_are_exact_too(catalogue, supersample, sigma):
    spec = DatasetSpec.from_config({"dataset": {"image_size": 64, "supersample": supersample, "antialias_sigma": sigma}})
    bg = _layer("astronaut", (-151.3, -60.7), (2.3, -1.7))
    frames = render_sample(_scene(5.0, bg), catalogue, spec)
    np.testing.assert_allclose(estimate_shift(frames["frame_a"], frames["frame_b"]), (2.3, -1.7), atol=0.02)
    np.testing.assert_allclose(estimate_shift(frames["frame_a"], frames["frame_y"]), (11.5, -8.5), atol=0.02)


def _window_shift(fa: np.ndarray, fb: np.ndarray, box: tuple[int, int, int, int], expected) -> np.ndarray:
    """Shift of the content of window ``box`` = (x0, y0, x1, y1) of fa, found near ``expected`` in fb."""
    x0, y0, x1, y1 = box
    kx, ky = int(round(expected[0])), int(round(expected[1]))
    d = estimate_shift(fa[y0:y1, x0:x1], fb[y0 + ky : y1 + ky, x0 + kx : x1 + kx], border=2)
    return np.add(d, (kx, ky))


@pytest.fixture(scope="module")
def square_catalogue(catalogue) -> InMemoryCatalogue:
    """The test photographs plus two opaque, strongly textured square objects (40 x 40 px)."""
    coffee, astronaut = catalogue.background("coffee"), catalogue.background("astronaut")
    objects = {
        "coffee-square": (coffee[180:220, 0:40], np.ones((40, 40), np.float32)),
        "suit-square": (astronaut[340:380, 280:320], np.ones((40, 40), np.float32)),
    }
    return InMemoryCatalogue({k: catalogue.background(k) for k in catalogue.background_ids}, objects)


def test_objects_move_by_their_own_motion_and_still_ones_stay(spec, square_catalogue):
    bg = _layer("astronaut", (-150.0, -60.0), (0.23, -0.41))
    moving = _layer("coffee-square", (8.3, 10.6), (0.61, 0.37))
    still = _layer("suit-square", (52.2, 44.9), (0.0, 0.0))
    alpha = 4.0
    frames = render_sample(_scene(alpha, bg, [moving, still]), square_catalogue, spec)
    fa = frames["frame_a"]
    inside_moving = (12, 14, 44, 46)  # interior of the moving square in A, B and Y
    inside_still = (56, 49, 88, 81)
    for field, t in (("frame_b", 1.0), ("frame_y", alpha)):
        m = _window_shift(fa, frames[field], inside_moving, (t * 0.61, t * 0.37))
        s = _window_shift(fa, frames[field], inside_still, (0.0, 0.0))
        np.testing.assert_allclose(m, (t * 0.61, t * 0.37), atol=0.02)
        np.testing.assert_allclose(s, (0.0, 0.0), atol=0.02)
    background = _window_shift(fa, frames["frame_y"], (2, 60, 46, 94), (alpha * 0.23, alpha * -0.41))
    np.testing.assert_allclose(background, (alpha * 0.23, alpha * -0.41), atol=0.02)


def test_objects_occlude_the_background_and_each_other(spec, square_catalogue):
    front = _layer("suit-square", (30.0, 30.0), (0.4, 0.0))
    back = _layer("coffee-square", (10.0, 12.0), (0.0, 0.3))
    one = render_clean(_scene(3.0, _layer("astronaut", (-150.0, -60.0)), [back, front]), square_catalogue, spec)
    other = render_clean(_scene(3.0, _layer("chelsea", (-120.0, -90.0)), [back, front]), square_catalogue, spec)
    only_front = render_clean(_scene(3.0, _layer("astronaut", (-150.0, -60.0)), [front]), square_catalogue, spec)
    # The interpolating spline rings at a hard mask edge (decaying by 0.27 per source pixel), so 4 px
    # inside an opaque object the layers behind it contribute a small fraction of a level at most.
    for field in ("frame_a", "frame_b", "frame_y"):
        # Inside the objects the background does not show through; outside it does.
        np.testing.assert_allclose(one[field][16:46, 16:46], other[field][16:46, 16:46], atol=0.3)
        assert np.abs(one[field][80:, :20] - other[field][80:, :20]).mean() > 10
        # Where the squares overlap, the later (front) object hides the earlier one.
        np.testing.assert_allclose(one[field][36:48, 36:48], only_front[field][36:48, 36:48], atol=0.3)


def test_perturbed_frames_add_each_layers_offset(spec, square_catalogue):
    bg = _layer("astronaut", (-150.0, -60.0), (0.3, 0.2), offset=(10.0, -5.0, 2.5))
    obj = _layer("coffee-square", (20.0, 20.0), (-0.5, 0.1), offset=(-20.0, 7.0, 1.0))
    clean = render_clean(_scene(2.0, bg, [obj]), square_catalogue, spec)
    for frame in ("b", "y"):
        diff = clean[f"frame_{frame}_perturbed"] - clean[f"frame_{frame}"]
        np.testing.assert_allclose(diff[70:, 70:], np.broadcast_to([10.0, -5.0, 2.5], (26, 26, 3)), atol=0.01)
        np.testing.assert_allclose(diff[26:54, 26:54], np.broadcast_to([-20.0, 7.0, 1.0], (28, 28, 3)), atol=0.01)
    no_offsets = dataclasses.replace(
        _scene(2.0, bg, [obj]),
        background=dataclasses.replace(bg, color_offset=(0.0, 0.0, 0.0)),
        objects=(dataclasses.replace(obj, color_offset=(0.0, 0.0, 0.0)),),
    )
    again = render_clean(no_offsets, square_catalogue, spec)
    for field in ("frame_a", "frame_b", "frame_y"):  # offsets never leak into the unperturbed frames
        np.testing.assert_array_equal(again[field], clean[field])


def test_static_scene_has_no_drift(catalogue):
    spec128 = DatasetSpec.from_config({"seed": 5, "dataset": {"image_size": 128}})
    params, _ = render(spec128, "static", 0, catalogue)
    clean = render_clean(params, catalogue, spec128)
    for field in ("frame_b", "frame_y"):
        np.testing.assert_array_equal(clean[field], clean["frame_a"])
    frames = render_sample(dataclasses.replace(params, noise_std=0.0), catalogue, spec128)
    assert np.abs(estimate_shift(frames["frame_a"], frames["frame_b"])).max() < 0.002
    assert np.abs(estimate_shift(frames["frame_a"], frames["frame_y"])).max() < 0.002


def test_fg_only_background_stays_put(spec, catalogue):
    params, _ = render(spec, "fg_only", 2, catalogue)
    clean = render_clean(params, catalogue, spec)
    # Pixels at least 6 px (cubic support of 2 source px at scale <= 2, plus the anti-aliasing
    # support) from every object's box, in every frame; the spline's ringing leaves < 0.5 level there.
    far = np.ones((SIZE, SIZE), bool)
    for obj in params.objects:
        h, w = catalogue.object(obj.source_id)[1].shape
        for t in (0.0, 1.0, params.alpha):
            x0, y0 = obj.position[0] + t * obj.motion[0], obj.position[1] + t * obj.motion[1]
            xs = slice(max(0, int(x0) - 6), max(0, int(math.ceil(x0 + obj.scale * w)) + 6))
            ys = slice(max(0, int(y0) - 6), max(0, int(math.ceil(y0 + obj.scale * h)) + 6))
            far[ys, xs] = False
    assert far.sum() > 100
    np.testing.assert_allclose(clean["frame_y"][far], clean["frame_a"][far], atol=0.5)
    assert np.abs(clean["frame_y"] - clean["frame_a"]).max() > 10  # the objects did move


def test_hand_made_params_are_honoured(spec, catalogue):
    still = _scene(1000.0, _layer("coffee", (-100.5, -40.25)))
    clean = render_clean(still, catalogue, spec)
    for field in FRAME_FIELDS[1:]:
        np.testing.assert_array_equal(clean[field], clean["frame_a"])
    unit = _scene(1.0, _layer("coffee", (-100.5, -40.25), (0.7, -0.2)))
    clean = render_clean(unit, catalogue, spec)
    np.testing.assert_array_equal(clean["frame_y"], clean["frame_b"])  # alpha = 1 reproduces B
    far = _scene(1000.0, _layer("coffee", (-100.5, -40.25), (0.2, 0.15)))  # 200 px: past the image edge
    frames = render_sample(far, catalogue, spec)
    assert frames["frame_y"].shape == (SIZE, SIZE, 3)


def test_tiny_objects_are_band_limited_not_lost(spec, square_catalogue):
    obj = _layer("coffee-square", (30.0, 30.0), scale=0.2)  # 8 output px, 2.5x below the render grid
    clean = render_clean(_scene(1.0, _layer("astronaut", (-150.0, -60.0)), [obj]), square_catalogue, spec)
    bg_only = render_clean(_scene(1.0, _layer("astronaut", (-150.0, -60.0))), square_catalogue, spec)
    changed = np.abs(clean["frame_a"] - bg_only["frame_a"]).max(axis=2) > 1.0
    ys, xs = np.nonzero(changed)
    assert 28 <= xs.min() and xs.max() <= 40 and 28 <= ys.min() and ys.max() <= 40


def _digests(args) -> list[str]:
    spec, catalogue, jobs = args
    out = []
    for part, index in jobs:
        _, frames = render(spec, part, index, catalogue)
        out.append(hashlib.sha256(b"".join(frames[k].tobytes() for k in FRAME_FIELDS)).hexdigest())
    return out


def test_bytes_do_not_depend_on_order_or_process(small_spec, catalogue):
    jobs = [(1, 4), (3, 0), (5, 9), (4, 2)]
    here = _digests((small_spec, catalogue, jobs))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        there = pool.submit(_digests, (small_spec, catalogue, jobs[::-1])).result(timeout=120)
    assert there[::-1] == here
    assert len(set(here)) == len(here)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(4))
def test_full_size_background_motion_is_exact(catalogue, index):
    """At the paper's 384 x 384: sampled bg_only scenes (noise off) move by exactly delta and alpha * delta."""
    spec384 = DatasetSpec.from_config({"seed": 11, "dataset": {"image_size": 384}})
    params, _ = render(spec384, "bg_only", index, catalogue)
    frames = render_sample(dataclasses.replace(params, noise_std=0.0), catalogue, spec384)
    dx, dy = params.background.motion
    np.testing.assert_allclose(estimate_shift(frames["frame_a"], frames["frame_b"]), (dx, dy), atol=0.02)
    expected = (params.alpha * dx, params.alpha * dy)
    np.testing.assert_allclose(estimate_shift(frames["frame_a"], frames["frame_y"], guess=expected), expected, atol=0.02)
    for img in frames.values():
        assert img.shape == (384, 384, 3) and img.dtype == np.uint8

"""Per-sample parameters: seeded by (seed, part, index) only, within the paper's caps, per-part motion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmdata.errors import ConfigError, SourceError
from mmdata.scene import PART_NAMES, SampleParams
from mmdata.render.sampling import COVER_MARGIN, background_cover, sample_params
from mmdata.sources.base import InMemoryCatalogue

N_PER_PART = 150


@pytest.fixture(scope="module")
def drawn(small_spec, catalogue) -> dict[str, list[SampleParams]]:
    return {name: [sample_params(small_spec, name, i, catalogue) for i in range(N_PER_PART)] for name in PART_NAMES}


def _mag(motion) -> float:
    return math.hypot(*motion)


def test_seed_is_recorded_and_draws_are_reproducible(small_spec, catalogue):
    p = sample_params(small_spec, "blur_bg", 11, catalogue)
    assert p.seed == (7, 3, 11) and p.part == 3 and p.index == 11
    assert sample_params(small_spec, 3, 11, catalogue) == p  # by number or name
    assert sample_params(small_spec, "blur_bg", 12, catalogue) != p
    assert SampleParams.from_dict(p.to_dict()) == p


def test_draws_do_not_depend_on_order(small_spec, catalogue):
    forward = [sample_params(small_spec, 1, i, catalogue) for i in range(6)]
    backward = [sample_params(small_spec, 1, i, catalogue) for i in reversed(range(6))][::-1]
    assert forward == backward


def test_caps_hold_for_every_layer(drawn, small_spec):
    for samples in drawn.values():
        for p in samples:
            assert 1.0 <= p.alpha <= 100.0
            for layer in (p.background, *p.objects):
                assert _mag(layer.motion) <= 10.0 + 1e-9
                assert p.alpha * _mag(layer.motion) <= 30.0 + 1e-9
                assert all(abs(c) <= small_spec.color_max_offset for c in layer.color_offset)
            assert 0.0 <= p.noise_std <= 3.0


@pytest.mark.parametrize(
    "part, objects, bg_moves, objects_move, blurred",
    [
        ("fg_bg", True, True, True, False),
        ("bg_only", False, True, None, False),
        ("blur_bg", True, True, True, True),
        ("static", False, False, None, False),
        ("fg_only", True, False, True, True),
    ],
)
def test_parts(drawn, part, objects, bg_moves, objects_move, blurred):
    samples = drawn[part]
    for p in samples:
        assert (7 <= len(p.objects) <= 15) if objects else p.objects == ()
        assert (p.background.motion != (0.0, 0.0)) == bg_moves
        assert all((o.motion != (0.0, 0.0)) == objects_move for o in p.objects)
        assert (2.0 <= p.background_blur <= 6.0) if blurred else p.background_blur == 0.0
        assert all(0.5 <= o.scale <= 2.0 for o in p.objects)
    assert len({p.background.source_id for p in samples}) == 4  # every background gets used


def test_distributions_match_the_documented_ones(drawn):
    samples = [p for part in ("fg_bg", "bg_only", "blur_bg") for p in drawn[part]]
    alphas = np.array([p.alpha for p in samples])  # U[1, 100]: mean 50.5, std 28.6
    assert abs(alphas.mean() - 50.5) < 4 * 28.6 / math.sqrt(len(alphas))
    # |delta| ~ U[0, min(10, 30 / alpha)] given alpha: E[|delta| / cap] = 1/2, directions uniform.
    ratios, unit = [], []
    for p in samples:
        for layer in (p.background, *p.objects):
            ratios.append(_mag(layer.motion) / min(10.0, 30.0 / p.alpha))
            unit.append(np.array(layer.motion) / _mag(layer.motion))
    assert abs(np.mean(ratios) - 0.5) < 4 * (1 / math.sqrt(12)) / math.sqrt(len(ratios))
    assert np.linalg.norm(np.mean(unit, axis=0)) < 4 / math.sqrt(len(unit))


def test_background_covers_the_frame_in_a_b_and_y(drawn, small_spec, catalogue):
    size = small_spec.image_size
    for samples in drawn.values():
        for p in samples:
            bg = p.background
            h, w = catalogue.background(bg.source_id).shape[:2]
            for t in (0.0, 1.0, p.alpha):
                x0 = bg.position[0] + t * bg.motion[0]
                y0 = bg.position[1] + t * bg.motion[1]
                assert x0 <= -COVER_MARGIN + 1e-9 and y0 <= -COVER_MARGIN + 1e-9
                assert x0 + bg.scale * w >= size + COVER_MARGIN - 1e-9
                assert y0 + bg.scale * h >= size + COVER_MARGIN - 1e-9


def test_small_backgrounds_are_scaled_up_to_cover(small_spec):
    rng = np.random.default_rng(0)
    small = InMemoryCatalogue({"tall": rng.uniform(0, 255, (90, 41, 3)), "wide": rng.uniform(0, 255, (37, 77, 3))})
    size = small_spec.image_size
    for index in range(60):
        p = sample_params(small_spec, "bg_only", index, small)
        h, w = small.background(p.background.source_id).shape[:2]
        bg = p.background
        assert bg.scale > 1.0
        for t in (0.0, 1.0, p.alpha):
            x0, y0 = bg.position[0] + t * bg.motion[0], bg.position[1] + t * bg.motion[1]
            assert x0 <= -COVER_MARGIN + 1e-6 and x0 + bg.scale * w >= size + COVER_MARGIN - 1e-6
            assert y0 <= -COVER_MARGIN + 1e-6 and y0 + bg.scale * h >= size + COVER_MARGIN - 1e-6


@pytest.mark.parametrize("hw", [(41, 90), (90, 41), (77, 77)])
def test_background_cover_is_the_tightest_cover(hw):
    shifts = [(0.0, 0.0), (0.3, -0.1), (29.7, -9.9)]
    scale, ((x_lo, x_hi), (y_lo, y_hi)) = background_cover(64, hw, shifts, margin=4.0)
    assert x_lo <= x_hi and y_lo <= y_hi
    assert min(x_hi - x_lo, y_hi - y_lo) == pytest.approx(0.0, abs=1e-9)  # one axis binds exactly
    h, w = hw
    for x, y in ((x_lo, y_lo), (x_hi, y_hi)):  # both ends of the ranges cover every frame
        for dx, dy in shifts:
            assert x + dx <= -4.0 + 1e-9 and x + dx + scale * w >= 68.0 - 1e-9
            assert y + dy <= -4.0 + 1e-9 and y + dy + scale * h >= 68.0 - 1e-9


def test_objects_are_centred_in_the_frame_and_not_too_large(drawn, small_spec, catalogue):
    size = small_spec.image_size
    for p in drawn["fg_bg"]:
        for o in p.objects:
            h, w = catalogue.object(o.source_id)[1].shape
            cx, cy = o.position[0] + o.scale * w / 2, o.position[1] + o.scale * h / 2
            assert 0 <= cx <= size and 0 <= cy <= size
            assert o.scale * max(h, w) <= 0.75 * size + 1e-9


def test_unknown_part_and_bad_index(small_spec, catalogue):
    for bad in ("moving", 0, 6):
        with pytest.raises(ConfigError, match="^part:"):
            sample_params(small_spec, bad, 0, catalogue)
    with pytest.raises(ValueError, match="^index:"):
        sample_params(small_spec, 1, -1, catalogue)


def test_catalogue_without_objects_fails_clearly(small_spec, catalogue):
    only_bg = InMemoryCatalogue({"astronaut": catalogue.background("astronaut")})
    assert sample_params(small_spec, "bg_only", 0, only_bg).objects == ()
    with pytest.raises(SourceError, match="no foreground objects"):
        sample_params(small_spec, "fg_bg", 0, only_bg)

"""The slice figure: a sensible size (each axis resized by its own integer factor) and labelled axes."""

from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmtrain.video.slices import render_figure, scale_slice, slice_figure


def _slice(seed: int, shape=(30, 96, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_a_wide_short_clip_gives_a_readable_png_with_labelled_axes():
    """``--slice x:200`` of a 640 px, 30-frame clip: once 8968 x 233 px, now within sensible bounds."""
    a = _slice(0, (30, 640, 3))
    fig = slice_figure(a, _slice(1, (30, 640, 3)), axis="x", at=200, fps=30, labels=("input", "output (alpha 10, static)"))
    h, w, _ = render_figure(fig).shape
    assert 400 <= w <= 1200 and 300 <= h <= 1200 and 0.5 <= w / h <= 2.5, (h, w)
    top, bottom = fig.axes
    assert (top.get_title(), bottom.get_title()) == ("input", "output (alpha 10, static)")
    assert bottom.get_xlabel() == "x (px)" and top.get_ylabel() == bottom.get_ylabel() == "t (frames at 30 fps)"
    assert bottom.get_xlim() == (-0.5, 639.5) and sorted(bottom.get_ylim()) == [-0.5, 29.5]  # ticks in px and frames
    assert "row 200" in fig.texts[0].get_text()


def test_a_y_t_slice_stands_side_by_side_with_its_axes_labelled():
    a = _slice(0, (48, 8, 3))  # (H, T)
    fig = slice_figure(a, a, axis="y", at=3)
    left, right = fig.axes
    assert left.get_ylabel() == "y (px)" and left.get_xlabel() == right.get_xlabel() == "t (frames)"
    assert sorted(left.get_ylim()) == [-0.5, 47.5] and left.get_xlim() == (-0.5, 7.5)
    h, w, _ = render_figure(fig).shape
    assert w > h / 2 and h <= 600


def test_scaling_is_nearest_when_enlarging_and_area_when_shrinking():
    a = _slice(0, (8, 38, 3))
    big, space, time = scale_slice(a, "x")
    assert (space, time) == (6, 16) and big.shape == (8 * 16, 38 * 6, 3)  # 38 px -> 228 >= 192; time >= 128 px
    np.testing.assert_array_equal(big[::16, ::6], a)  # every pixel a 16 x 6 block
    np.testing.assert_array_equal(big[15::16, 5::6], a)
    wide = np.zeros((4, 3000, 3), np.uint8)
    wide[:, ::3] = 201  # one bright column in three: sampling would show stripes or nothing, area shows their mean
    small, space, _ = scale_slice(wide, "x")
    assert space == -3 and small.shape[1] == 1000 and np.all(small == 67)
    long = np.zeros((5000, 16, 3), np.uint8)  # a long clip: the time axis is bounded too
    assert scale_slice(long, "x")[0].shape[0] <= 1024


def test_the_figure_shows_the_slices_pixels():
    a = np.zeros((30, 96, 3), np.uint8)
    a[:, 40:56] = 255  # a bright band
    image = render_figure(slice_figure(a, a, axis="x"))
    assert (image == 255).all(axis=2).sum() > 2 * 16 * 2 * 128 * 0.9  # both panels show the band at full size


def test_shapes_and_axis_must_be_valid():
    with pytest.raises(ValueError, match="differ"):
        slice_figure(_slice(0), _slice(1, (30, 95, 3)), axis="x")
    with pytest.raises(ConfigError, match="'x' or 'y'"):
        slice_figure(_slice(0), _slice(0), axis="t")


def test_magnify_writes_a_bounded_labelled_slice_of_a_wide_clip(tmp_path):
    """The CLI case that wrote an 8968 x 233 px PNG: ``--slice x:200`` of a 640 px wide, 30-frame clip."""
    from PIL import Image

    from mmtrain.cli import main
    from mmtrain.video.io import write_video

    t, x = np.meshgrid(np.arange(30), np.arange(640), indexing="ij")
    row = (128 + 100 * np.sin((x + 2 * np.sin(t / 3)) / 7)).astype(np.uint8)  # a wiggling grating
    frames = np.repeat(np.repeat(row[:, None, :, None], 208, axis=1), 3, axis=3)
    write_video(tmp_path / "wide.mkv", frames, 30, codec="ffv1")
    assert main(["-q", "magnify", str(tmp_path / "wide.mkv"), "-o", str(tmp_path / "out.mkv"), "--codec", "ffv1",
                 "--method", "linear", "--alpha", "1", "--slice", "x:200"]) == 0
    (png,) = tmp_path.glob("out_xt-row200.png")
    w, h = Image.open(png).size
    assert 400 <= w <= 1200 and 300 <= h <= 1200, (w, h)
    image = np.asarray(Image.open(png))
    fig = slice_figure(frames[:, 200], frames[:, 200], axis="x", at=200, fps=30, labels=("input", "output (linear, alpha 1, static)"))
    np.testing.assert_array_equal(image, render_figure(fig))  # the figure whose axes the tests above check

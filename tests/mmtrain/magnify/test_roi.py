"""Magnifying a region of interest only (``--roi X Y W H``): the rest of every frame is the input's, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmdata.errors import ConfigError
from mmdata.render.measure import estimate_shift
from mmtrain.cli import main
from mmtrain.magnify import magnify
from mmtrain.magnify.demo import SinusoidVideo, demo_image
from mmtrain.magnify.roi import CONTEXT, Region
from mmtrain.video.io import VideoReader, write_video

FPS, N = 30.0, 10
AMPLITUDE, FREQ = 0.1, 3.0  # px, Hz: alpha * amplitude stays where linear magnification is accurate
ROI, FEATHER = (40, 28, 48, 40), 4


def _demo(size: tuple[int, int] = (128, 96), n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """A photograph translated by ``AMPLITUDE sin(2 pi FREQ t)`` px in x, and that displacement per frame."""
    video = SinusoidVideo(demo_image("astronaut"), size=size, amplitude=AMPLITUDE, freq=FREQ, fps=FPS)
    return np.stack(list(video.frames(n))), np.array([video.displacement(t)[0] for t in range(n)])


def _outside(shape: tuple[int, ...], roi: tuple[int, int, int, int], feather: int) -> np.ndarray:
    """True where a pixel lies outside the rectangle grown by ``feather`` on each side."""
    x, y, w, h = roi
    mask = np.ones(shape[1:3], bool)
    mask[max(y - feather, 0):y + h + feather, max(x - feather, 0):x + w + feather] = False
    return mask


def _gain(out: np.ndarray, d: np.ndarray, roi: tuple[int, int, int, int]) -> float:
    """Least-squares ratio of the motion measured in the region (against frame 0) to the input's."""
    x, y, w, h = roi
    measured = np.array([estimate_shift(out[0, y:y + h, x:x + w], f[y:y + h, x:x + w], border=4)[0] for f in out])
    return float(measured @ (d - d[0]) / ((d - d[0]) @ (d - d[0])))


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.network import make_model

    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)
    return save_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.pt", model)


def test_region_weights_are_one_inside_a_raised_cosine_across_the_feather_and_zero_beyond() -> None:
    region = Region(10, 5, 6, 4, feather=3)
    w = region.weights(40, 20)
    x0, y0, _, _ = region.window(40, 20)
    row = w[7 - y0]  # a row through the region: columns 10..15 inside
    assert np.all(row[10 - x0:16 - x0] == 1.0)
    expected = 0.5 * (1 + np.cos(np.pi * np.arange(1, 4) / 4))  # distances 1, 2, 3 of feather 3
    assert np.allclose(row[16 - x0:19 - x0], expected) and np.allclose(row[9 - x0:6 - x0:-1], expected)
    assert np.all(row[19 - x0:] == 0) and np.all(row[:7 - x0] == 0)
    assert w[0, 0] == 0 and 0 < w[5 - y0 - 2, 10 - x0 - 2] < 1  # a corner: Euclidean distance sqrt(8) < 4
    assert np.all(Region(10, 5, 6, 4, feather=0).weights(40, 20) == (np.pad(np.ones((4, 6)), ((5, 11), (10, 24))) == 1))


def test_the_window_is_the_region_grown_by_feather_and_context_clipped_to_the_frame() -> None:
    grow = 4 + CONTEXT
    assert Region(100, 60, 20, 10, feather=4).window(400, 300) == (100 - grow, 60 - grow, 120 + grow, 70 + grow)
    assert Region(0, 0, 20, 10, feather=4).window(50, 30) == (0, 0, 50, 30)


@pytest.mark.parametrize("xywh, what", [
    ((120, 10, 20, 20), "outside the 128x96 frame"),
    ((-1, 10, 20, 20), "outside the 128x96 frame"),
    ((10, 90, 20, 7), "rows 90..96"),
    ((10, 10, 0, 20), "at least 1 pixel"),
])
def test_a_region_outside_the_frame_is_refused_before_any_work(xywh, what) -> None:
    clip, _ = _demo(n=2)
    with pytest.raises(ConfigError, match=what):
        magnify(clip, 5, method="network", model="/no/such/model.pt", roi=xywh)  # before the model is looked for


def test_linear_in_a_region_magnifies_the_motion_there_and_leaves_the_rest_byte_identical() -> None:
    """The analytic truth: a translation d(t) becomes alpha d(t) inside, stays d(t) (the input) outside."""
    clip, d = _demo()
    alpha = 4.0
    out = magnify(clip, alpha, mode="static", method="linear", roi=ROI, feather=FEATHER)
    outside = _outside(clip.shape, ROI, FEATHER)
    assert np.array_equal(out[:, outside], clip[:, outside])
    assert abs(_gain(out, d, ROI) - alpha) < 0.15 * alpha  # linear's first-order accuracy at 0.4 px
    assert abs(_gain(clip, d, ROI) - 1.0) < 0.05  # the measurement itself: the input's motion is d
    band = ~outside & ~np.pad(np.ones((ROI[3], ROI[2]), bool), ((ROI[1], 96 - ROI[1] - ROI[3]), (ROI[0], 128 - ROI[0] - ROI[2])))
    assert not np.array_equal(out[:, band], clip[:, band])  # the feather blends, not a hard cut


@pytest.mark.parametrize("method", ["network", "linear", "phase_based"])
@pytest.mark.parametrize("mode", ["static", "dynamic", "temporal"])
def test_every_method_and_mode_keeps_the_outside_byte_identical(method, mode, tiny_checkpoint) -> None:
    clip, _ = _demo(size=(96, 64), n=6)
    roi, feather = (30, 20, 24, 16), 3
    temporal = {"filter": "butter", "band": (2.0, 6.0), "fps": FPS} if mode == "temporal" else {}
    out = magnify(clip, 8, mode=mode, method=method, model=tiny_checkpoint if method == "network" else None,
                  roi=roi, feather=feather, device="cpu", batch=4, **temporal)
    outside = _outside(clip.shape, roi, feather)
    assert out.shape == clip.shape and np.array_equal(out[:, outside], clip[:, outside])
    x, y, w, h = roi
    assert not np.array_equal(out[1:, y:y + h, x:x + w], clip[1:, y:y + h, x:x + w])  # the region was magnified


def test_the_region_is_magnified_as_in_a_whole_frame_run_away_from_its_window_edge(tiny_checkpoint) -> None:
    """The method sees the region with CONTEXT pixels around it: inside, the result is the whole frame's."""
    clip, _ = _demo(size=(192, 160), n=4)
    roi = (80, 64, 32, 32)
    whole = magnify(clip, 8, mode="static", model=tiny_checkpoint, device="cpu")
    part = magnify(clip, 8, mode="static", model=tiny_checkpoint, device="cpu", roi=roi, feather=0)
    x, y, w, h = roi
    diff = np.abs(whole[:, y:y + h, x:x + w].astype(int) - part[:, y:y + h, x:x + w].astype(int))
    assert diff.max() <= 2, diff.max()  # a random network's reach is wide; rounding of a few levels at most


def test_cli_roi_writes_a_lossless_output_identical_outside_and_magnified_inside(tmp_path, capsys) -> None:
    clip, d = _demo()
    source = tmp_path / "demo.mkv"
    write_video(source, clip, FPS, codec="ffv1")
    out = tmp_path / "out/"
    rc = main(["magnify", str(source), "-o", str(out) + "/", "--method", "linear", "--alpha", "4", "--mode", "static",
               "--roi", *map(str, ROI), "--feather", str(FEATHER)])
    assert rc == 0, capsys.readouterr().err
    frames = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("*.png"))])
    decoded = np.stack(list(VideoReader(source)))
    outside = _outside(clip.shape, ROI, FEATHER)
    assert frames.shape == decoded.shape and np.array_equal(frames[:, outside], decoded[:, outside])
    assert abs(_gain(frames, d, ROI) - 4.0) < 0.6


@pytest.mark.parametrize("args, message", [
    (["--roi", "100", "10", "40", "20"], "roi: X Y W H = 100 10 40 20 spans columns 100..139"),
    (["--roi", "10", "10", "40", "20", "--crop", "0", "0", "32", "32"], "outside the 32x32 frame"),
    (["--feather", "3"], "give --roi X Y W H"),
    (["--roi", "10", "10", "20", "20", "--feather", "-1"], "feather of 0 or more"),
])
def test_cli_bad_region_is_one_clear_line_and_exit_2(tmp_path, capsys, args, message) -> None:
    clip, _ = _demo(n=3)
    source = tmp_path / "demo.mkv"
    write_video(source, clip, FPS, codec="ffv1")
    rc = main(["magnify", str(source), "-o", str(tmp_path / "out.mp4"), "--method", "linear", "--alpha", "4", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out.mp4").exists()


def test_help_documents_the_region_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["magnify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--roi X Y W H" in text and "--feather PX" in text and "byte for byte" in text

"""Clip selection while decoding, display rotation, lossless outputs, and never overwriting the input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from mmdata.errors import ConfigError, VideoError
from mmtrain.cli import main
from mmtrain.video.clip import ClipSelection
from mmtrain.video.outputs import open_output
from mmtrain.video.slices import render_figure, slice_figure
from mmtrain.video.io import VideoReader, probe_video, write_video

H, W, N = 24, 40, 20


def _indexed_frames(n: int = N, height: int = H, width: int = W) -> np.ndarray:
    """Frame t, pixel (y, x) = (t, y, x) in its RGB channels: every selection is checkable exactly."""
    t, y, x = np.meshgrid(np.arange(n), np.arange(height), np.arange(width), indexing="ij")
    return np.stack([t * 10, y * 5, x * 5], axis=-1).astype(np.uint8)


@pytest.fixture(scope="module")
def lossless_clip(tmp_path_factory) -> tuple[Path, np.ndarray]:
    frames = _indexed_frames()
    path = tmp_path_factory.mktemp("clip") / "indexed.mkv"
    write_video(path, frames, 30, codec="ffv1")
    return path, frames


def test_ffv1_round_trips_bit_exactly(lossless_clip):
    path, frames = lossless_clip
    assert np.array_equal(np.stack(list(VideoReader(path))), frames)


def test_h264_default_is_lossy_where_ffv1_is_not(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (3, H, W, 3), dtype=np.uint8)
    write_video(tmp_path / "a.mp4", noise, 30)
    assert not np.array_equal(np.stack(list(VideoReader(tmp_path / "a.mp4"))), noise)


def test_png_sequence_round_trips_bit_exactly(tmp_path):
    frames = _indexed_frames(4)
    with open_output(tmp_path / "f_%03d.png", width=W, height=H, fps=30) as out:
        for frame in frames:
            out.write(frame)
    back = np.stack([np.asarray(Image.open(tmp_path / f"f_{i:03d}.png")) for i in range(4)])
    assert np.array_equal(back, frames)


@pytest.mark.parametrize("sel, want_t", [
    (ClipSelection(start=3, frames=5), [3, 4, 5, 6, 7]),
    (ClipSelection(start=2, stride=3), [2, 5, 8, 11, 14, 17]),
    (ClipSelection(start=1, frames=4, stride=5), [1, 6, 11, 16]),
    (ClipSelection(start=18, frames=10), [18, 19]),
])
def test_range_and_stride_select_exactly_those_frames(lossless_clip, sel, want_t):
    path, frames = lossless_clip
    reader = VideoReader(path, sel)
    got = np.stack(list(reader))
    assert np.array_equal(got, frames[want_t])
    assert reader.info.n_frames == len(want_t) and reader.info.fps == 30 / sel.stride


def test_crop_selects_exactly_those_pixels(lossless_clip):
    path, frames = lossless_clip
    reader = VideoReader(path, ClipSelection(crop=(7, 5, 16, 10), frames=3))
    got = np.stack(list(reader))
    assert (reader.info.width, reader.info.height) == (16, 10)
    assert np.array_equal(got, frames[:3, 5:15, 7:23])


def test_resize_keeps_a_linear_ramp_linear(tmp_path):
    """Downscaling by 2 samples a ramp x*5 at the new pixel centres 2i + 0.5: value 10 i + 2.5."""
    path = tmp_path / "ramp.mkv"
    write_video(path, _indexed_frames(2, 32, 48), 30, codec="ffv1")
    got = np.stack(list(VideoReader(path, ClipSelection(resize=(24, 16)))))
    assert got.shape == (2, 16, 24, 3)
    inner = got[0, 4:-4, 4:-4, 2].astype(float)
    np.testing.assert_allclose(inner, np.broadcast_to(10 * np.arange(4, 20) + 2.5, inner.shape), atol=1)
    assert np.stack(list(VideoReader(path, ClipSelection(scale=0.5)))).shape == (2, 16, 24, 3)


@pytest.mark.parametrize("sel, match", [
    (ClipSelection(start=20), "start: frame 20 is outside"),
    (ClipSelection(stride=0), "stride"),
    (ClipSelection(crop=(30, 0, 16, 8)), "crop: 30 0 16 8"),
    (ClipSelection(resize=(8, 8), scale=0.5), "not both"),
])
def test_bad_selections_name_the_option(lossless_clip, sel, match):
    with pytest.raises(ConfigError, match=match):
        VideoReader(lossless_clip[0], sel)


def _rotated_video(path: Path, frames: np.ndarray, degrees: int) -> None:
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
    stream.options = {"crf": "0"}
    stream.set_display_rotation(degrees)
    for frame in frames:
        container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
    container.mux(stream.encode(None))
    container.close()


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_input_comes_out_in_display_orientation(tmp_path, degrees):
    """Stored landscape with a white block top-left; the display matrix turns it counter-clockwise."""
    stored = np.zeros((2, 32, 48, 3), np.uint8)
    stored[:, :8, :8] = 255
    _rotated_video(tmp_path / "phone.mp4", stored, degrees)
    info = probe_video(tmp_path / "phone.mp4")
    assert info.rotation == degrees
    frames = np.stack(list(VideoReader(tmp_path / "phone.mp4")))
    expect = np.rot90(stored[0], degrees // 90)
    assert frames.shape[1:3] == expect.shape[:2] == (info.height, info.width)
    assert np.abs(frames[0].astype(int) - expect).max() <= 2
    # the CLI's output is in display orientation and carries no rotation flag
    assert main(["-q", "magnify", str(tmp_path / "phone.mp4"), "-o", str(tmp_path / "out.mkv"), "--codec", "ffv1",
                 "--method", "linear", "--alpha", "1"]) == 0
    out_info = probe_video(tmp_path / "out.mkv")
    assert (out_info.width, out_info.height, out_info.rotation) == (info.width, info.height, 0)
    assert np.array_equal(np.stack(list(VideoReader(tmp_path / "out.mkv"))), frames)


def test_cli_selection_and_lossless_output_are_bit_exact_at_alpha_1(lossless_clip, tmp_path, capsys):
    """Linear method at alpha 1 is the identity: the output must be the selected input, exactly."""
    path, frames = lossless_clip
    out = tmp_path / "sel.mkv"
    rc = main(["-q", "magnify", str(path), "-o", str(out), "--method", "linear", "--alpha", "1", "--codec", "ffv1",
               "--start", "2", "--frames", "4", "--stride", "2", "--crop", "4", "3", "16", "12",
               "--frames-png", "0,3", "--slice", "x:5", "--slice", "y:2"])
    assert rc == 0, capsys.readouterr().err
    want = frames[2:10:2, 3:15, 4:20]
    assert np.array_equal(np.stack(list(VideoReader(out))), want)
    assert probe_video(out).fps == 15
    assert np.array_equal(np.asarray(Image.open(tmp_path / "sel_frame00003.png")), want[3])
    label = ("input", "output (linear, alpha 1, static)")
    xt = np.asarray(Image.open(tmp_path / "sel_xt-row5.png"))
    yt = np.asarray(Image.open(tmp_path / "sel_yt-col2.png"))
    assert np.array_equal(xt, render_figure(slice_figure(want[:, 5], want[:, 5], axis="x", at=5, fps=15, labels=label)))
    assert np.array_equal(yt, render_figure(slice_figure(want[:, :, 2].transpose(1, 0, 2), want[:, :, 2].transpose(1, 0, 2),
                                                         axis="y", at=2, fps=15, labels=label)))


def test_cli_png_sequence_and_difference_panel(lossless_clip, tmp_path, capsys):
    path, frames = lossless_clip
    folder = tmp_path / "pngs"
    folder.mkdir()
    rc = main(["-q", "magnify", str(path), "-o", str(folder), "--method", "linear", "--alpha", "1", "--frames", "3",
               "--side-by-side", "--difference", "10"])
    assert rc == 0, capsys.readouterr().err
    pngs = sorted(folder.glob("*.png"))
    assert [p.name for p in pngs] == ["00000.png", "00001.png", "00002.png"]
    image = np.asarray(Image.open(pngs[1]))
    assert image.shape == (H, 3 * W, 3)
    assert np.array_equal(image[:, :W], frames[1]) and np.array_equal(image[:, W:2 * W], frames[1])
    assert len(np.unique(image[:, 2 * W:].reshape(-1, 3), axis=0)) == 1  # no difference: one colour


@pytest.mark.parametrize("same", ["path", "other-spelling"])
def test_output_equal_to_input_is_refused(tmp_path, capsys, same):
    video = tmp_path / "in.mp4"
    write_video(video, _indexed_frames(3), 30)
    before = hashlib.sha256(video.read_bytes()).hexdigest()
    target = str(video) if same == "path" else str(tmp_path / "." / ".." / tmp_path.name / "in.mp4")
    rc = main(["magnify", str(video), "-o", target, "--method", "linear", "--alpha", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "is the input video" in err[0] and "-o/--out" in err[0]
    assert hashlib.sha256(video.read_bytes()).hexdigest() == before


def test_ffv1_needs_a_container_that_holds_it(tmp_path):
    with pytest.raises(VideoError, match=r"needs a \.mkv or \.avi"):
        open_output(tmp_path / "x.mp4", width=8, height=8, fps=30, codec="ffv1")


def test_trim_drops_exactly_the_first_frames_from_every_output(lossless_clip, tmp_path, capsys):
    path, frames = lossless_clip
    out = tmp_path / "trim.mkv"
    rc = main(["-q", "magnify", str(path), "-o", str(out), "--method", "linear", "--alpha", "1", "--codec", "ffv1",
               "--frames", "9", "--batch", "4", "--trim", "5", "--slice", "x:3", "--frames-png", "6"])
    assert rc == 0, capsys.readouterr().err
    assert np.array_equal(np.stack(list(VideoReader(out))), frames[5:9])
    assert np.array_equal(np.asarray(Image.open(tmp_path / "trim_xt-row3.png")),
                          render_figure(slice_figure(frames[5:9, 3], frames[5:9, 3], axis="x", at=3, fps=30,
                                                     labels=("input", "output (linear, alpha 1, static)"))))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "trim_frame00006.png")), frames[6])

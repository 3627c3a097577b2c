"""Damaged input videos: a stream shorter than its declared length and unreadable files are named in words."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

from mmdata.errors import VideoError
from mmtrain.cli import main
from mmtrain.video.clip import ClipSelection
from mmtrain.magnify.pipeline import MagnifySettings
from mmtrain.video.io import VideoReader, probe_video
from mmtrain.magnify.videofile import magnify_video

DECLARED = 30


def _faststart_video(path: Path, n: int = DECLARED, size: int = 32) -> Path:
    """An MP4 with its index (moov) at the front, as cameras and web tools write them: noise frames."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(n):
            frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _counts(path: Path) -> tuple[int, int]:
    """(packets with payload, frames decoded) of a file, read with PyAV directly."""
    with av.open(str(path)) as c:
        packets = sum(1 for p in c.demux(video=0) if p.size > 0)
    decoded = 0
    with av.open(str(path)) as c:
        c.streams.video[0].thread_type = "AUTO"  # as the reader decodes
        try:
            for _ in c.decode(video=0):
                decoded += 1
        except av.FFmpegError:  # the cut packet
            pass
    return packets, decoded


@pytest.fixture(scope="module")
def truncated(tmp_path_factory) -> tuple[Path, int, int]:
    """An MP4 cut at 45 % of its bytes: its index still declares 30 frames; (path, packets, decoded)."""
    folder = tmp_path_factory.mktemp("truncated")
    raw = _faststart_video(folder / "full.mp4").read_bytes()
    path = folder / "cut.mp4"
    path.write_bytes(raw[: int(len(raw) * 0.45)])
    packets, decoded = _counts(path)
    assert probe_video(path).n_frames == DECLARED and 1 < decoded <= packets < DECLARED
    return path, packets, decoded


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from mmtrain.model.checkpoint import save_checkpoint
    from mmtrain.model.network import make_model

    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)
    return save_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.pt", model)


@pytest.mark.timeout(60)
def test_reader_refuses_a_stream_shorter_than_declared(truncated) -> None:
    path, packets, decoded = truncated
    with pytest.raises(VideoError, match=f"ends after {packets} of its {DECLARED} declared frames \\(frame packets counted\\)"):
        VideoReader(path).check_length()
    with pytest.raises(VideoError, match=f"ends after {decoded} of its {DECLARED} declared frames \\(frames decoded") as info:
        list(VideoReader(path))
    assert str(path) in str(info.value) and f"--frames {decoded}" in str(info.value)
    # a selection that ends before the damage reads normally
    short = VideoReader(path, ClipSelection(frames=decoded))
    short.check_length()
    assert len(list(short)) == decoded


@pytest.mark.timeout(120)
def test_magnify_cli_refuses_a_truncated_video_unless_frames_fit(truncated, tiny_checkpoint, tmp_path, capsys) -> None:
    path, packets, decoded = truncated
    out = tmp_path / "out.mp4"
    common = ["-q", "magnify", str(path), "-o", str(out), "--alpha", "5", "--checkpoint", str(tiny_checkpoint),
              "--device", "cpu"]
    for extra, how, n in (([], "frame packets counted", packets), (["--frames", str(packets)], "frames decoded", decoded)):
        assert main(common + extra) == 2  # without --frames: before any frame; with it: after decoding
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mmtrain magnify: error: "), err
        assert str(path) in err and f"ends after {n} of its {DECLARED} declared frames ({how}" in err
        assert not out.exists() and not list(tmp_path.glob(".out*"))
    assert main(common + ["--frames", str(decoded)]) == 0, capsys.readouterr().err
    assert probe_video(out).n_frames == decoded


@pytest.mark.timeout(60)
def test_magnify_api_refuses_a_truncated_video(truncated, tiny_checkpoint, tmp_path) -> None:
    path, _, decoded = truncated
    settings = MagnifySettings(alpha=5.0)
    with pytest.raises(VideoError, match=f"of its {DECLARED} declared frames"):
        magnify_video(path, tmp_path / "out.mp4", settings, checkpoint=tiny_checkpoint, device="cpu", progress=False)
    assert not (tmp_path / "out.mp4").exists()
    result = magnify_video(path, tmp_path / "ok.mp4", settings, checkpoint=tiny_checkpoint, device="cpu",
                           selection=ClipSelection(frames=decoded), progress=False)
    assert result.n_frames == decoded


@pytest.mark.timeout(30)
@pytest.mark.parametrize("content", [b"plain text, not a video", bytes(range(256)) * 4], ids=["text", "bytes"])
def test_unreadable_video_is_named_in_words_without_an_errno(content, tmp_path, capsys) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError) as info:
        probe_video(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a readable video file (") and "Errno" not in message
    assert not re.search(r"-?\d{5,}", message), message  # no raw FFmpeg error code
    assert main(["magnify", str(path), "-o", str(tmp_path / "out.mp4"), "--alpha", "5",
                 "--method", "linear"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "Errno" not in err, err


@pytest.mark.timeout(30)
def test_a_folder_given_as_the_input_video_is_named(tmp_path, capsys) -> None:
    assert main(["magnify", str(tmp_path), "-o", str(tmp_path / "out.mp4"), "--alpha", "2",
                 "--method", "linear"]) == 2
    assert capsys.readouterr().err == f"mmtrain magnify: error: {tmp_path}: is a folder, expected a video file\n"

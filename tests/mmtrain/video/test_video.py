"""Video I/O through PyAV: round trips keep size, frame rate and content; bad files fail clearly."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mmdata.errors import VideoError
from mmtrain.video.io import VideoReader, VideoWriter, batched, probe_video, write_video


def _frames(n: int, height: int, width: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth random frames of constant colour (4:2:0 chroma subsampling keeps them nearly exactly)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    out = []
    for _ in range(n):
        fx, fy, ph = rng.uniform(0.02, 0.1, size=3)
        img = 128 + 80 * np.sin(2 * np.pi * (fx * xx + fy * yy) + 10 * ph)
        out.append(np.stack([img, img - 10, img + 15], axis=-1).clip(0, 255).astype(np.uint8))
    return out


def make_zero_frame_video(path: Path) -> Path:
    """An AVI whose video stream holds no frame (MP4 would drop the empty track altogether)."""
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=30)
    stream.width, stream.height = 32, 32
    container.start_encoding()
    container.close()
    return path


def make_unknown_codec_video(path: Path) -> Path:
    """A valid MP4 whose codec tag is renamed to one FFmpeg does not know."""
    good = path.with_name("good_" + path.name)
    write_video(good, _frames(3, 32, 32), 30)
    data = good.read_bytes()
    assert data.count(b"avc1") >= 1
    path.write_bytes(data.replace(b"avc1", b"zzzz"))
    return path


@pytest.mark.parametrize("height, width", [(48, 64), (47, 65)])
def test_round_trip_keeps_size_fps_count_and_content(tmp_path, height, width):
    frames = _frames(9, height, width)
    path = tmp_path / "clip.mp4"
    fps = Fraction(30000, 1001)
    assert write_video(path, frames, fps, crf=0) == 9
    info = probe_video(path)
    assert (info.width, info.height, info.n_frames, info.fps, info.codec) == (width, height, 9, fps, "h264")
    decoded = list(VideoReader(path))
    assert len(decoded) == 9
    for a, b in zip(frames, decoded):
        assert b.shape == (height, width, 3) and b.dtype == np.uint8
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.5  # YUV conversion only


def test_reader_batches_cover_every_frame_in_order(tmp_path):
    frames = _frames(7, 16, 16)
    path = tmp_path / "clip.mkv"
    write_video(path, frames, 25, codec="ffv1")  # lossless up to the RGB -> YUV conversion
    batches = list(VideoReader(path).batches(3))
    assert [len(b) for b in batches] == [3, 3, 1]
    np.testing.assert_allclose(np.concatenate(batches), np.stack(frames), atol=3)
    assert [len(b) for b in batched(iter(frames), 4)] == [4, 3]


@pytest.mark.parametrize("maker, match", [
    (lambda p: p / "missing.mp4", "no such video file"),
    (lambda p: (p / "notes.txt").write_text("not a video") and p / "notes.txt", "not a readable video"),
    (lambda p: make_zero_frame_video(p / "empty.avi"), "zero frames"),
    (lambda p: make_unknown_codec_video(p / "weird.mp4"), "unsupported codec"),
])
def test_bad_inputs_fail_with_the_path_named(tmp_path, maker, match):
    path = maker(tmp_path)
    with pytest.raises(VideoError, match=match) as err:
        probe_video(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("target, kwargs, match", [
    ("nowhere/out.mp4", {}, "does not exist"),
    ("", {}, "is a folder"),
    ("out.mp4", {"codec": "no-such-encoder"}, "unsupported codec"),
    ("out.unknownext", {}, "unsupported video file name"),
    ("out.png", {}, "supported: .mp4, .m4v, .mov, .mkv, .avi"),
])
def test_unwritable_outputs_fail_before_any_frame(tmp_path, target, kwargs, match):
    with pytest.raises(VideoError, match=match):
        VideoWriter(tmp_path / target if target else tmp_path, width=32, height=32, fps=30, **kwargs)
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_failed_write_leaves_existing_output_untouched(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        with VideoWriter(path, width=32, height=32, fps=30) as writer:
            writer.write(_frames(1, 32, 32)[0])
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_writer_rejects_frames_of_the_wrong_size(tmp_path):
    with VideoWriter(tmp_path / "out.mp4", width=32, height=32, fps=30) as writer:
        with pytest.raises(VideoError, match="expected a uint8 frame"):
            writer.write(np.zeros((16, 32, 3), np.uint8))
        writer.write(np.zeros((32, 32, 3), np.uint8))
    assert probe_video(tmp_path / "out.mp4").n_frames == 1


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_writer_goes_through_the_shared_atomic_helper(tmp_path, monkeypatch):
    """A hidden .NAME.tmp-* sibling while open; fsynced, usual permissions and renamed on close."""
    import os

    path = tmp_path / "out.mp4"
    fsynced = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsynced.append(os.fstat(fd).st_ino), fsync(fd)))
    with VideoWriter(path, width=32, height=32, fps=30) as writer:
        writer.write(_frames(1, 32, 32)[0])
        (tmp,) = tmp_path.iterdir()
        assert tmp.name.startswith(".out.mp4.tmp-") and tmp.suffix == ".mp4" and not path.exists()
        inode = tmp.stat().st_ino
    assert inode in fsynced
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"] and probe_video(path).n_frames == 1


def test_writer_removes_the_temporaries_of_a_killed_earlier_run(tmp_path):
    stale = tmp_path / ".out.mp4.tmp-0badc0de.mp4"
    stale.write_bytes(b"half a video from a run that was killed")
    (tmp_path / ".other.mp4.tmp-0badc0de.mp4").write_bytes(b"another output's")
    write_video(tmp_path / "out.mp4", _frames(2, 16, 16), 30)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.mp4.tmp-0badc0de.mp4", "out.mp4"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, VideoError])
def test_an_interrupted_body_leaves_the_old_output_and_no_temporary(tmp_path, interrupt):
    path = tmp_path / "out.mkv"
    path.write_bytes(b"previous result")
    with pytest.raises(interrupt):
        with VideoWriter(path, width=16, height=16, fps=30, codec="ffv1") as writer:
            writer.write(_frames(1, 16, 16)[0])
            raise interrupt("stopped")
    assert path.read_bytes() == b"previous result" and sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]


def test_a_failed_commit_names_the_output_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import os

    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    writer = VideoWriter(path, width=16, height=16, fps=30)
    writer.write(_frames(1, 16, 16)[0])
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space") as err:
        writer.close()
    assert err.value.filename == str(path)
    assert path.read_bytes() == b"previous result" and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_real_full_disk_while_encoding_raises_enospc_and_keeps_the_old_video(small_tmpfs):
    import errno

    path = small_tmpfs / "out.mkv"
    path.write_bytes(b"previous result")
    noise = np.random.default_rng(0).integers(0, 256, (24, 128, 128, 3), dtype=np.uint8)  # ~1.2 MB, incompressible
    with pytest.raises(OSError) as err:
        write_video(path, list(noise) * 2, 30, codec="ffv1")
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == b"previous result" and sorted(p.name for p in small_tmpfs.iterdir()) == ["out.mkv"]


@pytest.mark.parametrize("name", ["out.xyz", "out.png", "out", "out.txt"])
def test_unsupported_extensions_are_refused_naming_the_supported_ones(tmp_path, name):
    with pytest.raises(VideoError) as err:
        VideoWriter(tmp_path / name, width=16, height=16, fps=30)
    assert str(tmp_path / name) in str(err.value) and ".mp4, .m4v, .mov, .mkv, .avi" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_an_output_inside_a_regular_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(VideoError, match="notes.txt is a file, not a folder"):
        VideoWriter(tmp_path / "notes.txt" / "out.mp4", width=16, height=16, fps=30)

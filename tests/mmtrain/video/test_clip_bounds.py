"""Resize factors that would need more memory than any machine has are refused before anything is allocated."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmtrain.video import clip
from mmtrain.video.clip import ClipSelection
from mmtrain.magnify.pipeline import MagnifySettings
from mmtrain.magnify.videofile import magnify_video

REPO = Path(__file__).resolve().parents[3]
LIMIT_BYTES = 3 * 2**30  # a 32000x32000 RGB frame alone needs 3 GiB


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "in.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(3):
            frame = np.full((32, 32, 3), 60 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.mark.timeout(10)
@pytest.mark.parametrize("selection, match", [
    (ClipSelection(scale=1000), r"scale: --scale 1000 of the 640x352 frame gives 640000x352000 frames"),
    (ClipSelection(scale=1e300), r"scale: --scale 1e\+300 .* above the limit of 35\.4 megapixels"),
    (ClipSelection(scale=12.8), r"gives 8192x4506 frames"),
    (ClipSelection(resize=(100_000, 100_000)), r"resize: --resize 100000 100000 gives 100000x100000 frames"),
    (ClipSelection(crop=(0, 0, 64, 32), scale=400), r"of the 64x32 frame gives 25600x12800"),
])
def test_oversized_selections_are_refused_with_size_and_limit(selection, match) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        selection.size(640, 352)
    assert "8192x4320" in str(info.value)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("scale", [float("inf"), float("nan"), 0.0, -2.0])
def test_non_finite_or_non_positive_scales_are_refused(scale) -> None:
    with pytest.raises(ConfigError, match="scale: expected a positive finite factor"):
        ClipSelection(scale=scale).size(640, 352)


@pytest.mark.timeout(10)
def test_the_largest_allowed_frame_is_accepted() -> None:
    assert ClipSelection(resize=(8192, 4320)).size(640, 352) == (8192, 4320)
    assert ClipSelection(scale=12.8).size(640, 337) == (8192, 4314)
    assert 8192 * 4320 == clip.MAX_FRAME_PIXELS


@pytest.mark.timeout(30)
def test_magnify_api_refuses_a_huge_scale_before_reading(video, tmp_path) -> None:
    with pytest.raises(ConfigError, match="scale: --scale 1000 of the 32x32 frame"):
        magnify_video(video, tmp_path / "out.mp4", MagnifySettings(alpha=5.0, method="linear"),
                      selection=ClipSelection(scale=1000), progress=False)
    assert not (tmp_path / "out.mp4").exists()


def _limited_cli(argv: list[str]) -> subprocess.CompletedProcess:
    """``mmtrain ARGV`` in a child whose address space is capped at LIMIT_BYTES."""
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_BYTES}, {LIMIT_BYTES}))
        from mmtrain.cli import main
        sys.exit(main({argv!r}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("option", [["--scale", "1000"], ["--resize", "32000", "32000"]], ids=["scale", "resize"])
def test_magnify_cli_refuses_a_huge_output_in_bounded_memory(video, tmp_path, option) -> None:
    out = tmp_path / "out.mp4"
    done = _limited_cli(["-q", "magnify", str(video), "-o", str(out), "--alpha", "5", "--method", "linear", *option])
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "MemoryError" not in done.stderr, done.stderr
    key = option[0][2:]
    assert done.stderr.startswith(f"mmtrain magnify: error: {key}: ") and "32000x32000 frames" in done.stderr
    assert "limit of 35.4 megapixels" in done.stderr and not out.exists()

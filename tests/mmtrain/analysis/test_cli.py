"""``mmtrain spectrum`` end to end on lossless videos of known motion, its errors, and ``magnify --band peak``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from motion_synth import frames, write_ffv1

from mmdata.errors import ConfigError
from mmtrain.analysis.peakband import PeakChoice, parse_band_choice
from mmtrain.analysis.report import OUTPUT_FILES
from mmtrain.cli import main

FPS = 30.0
MOTION = [("x", 0.4, 3.1, 0.0), ("y", 0.15, 6.4, 1.0)]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spectrum") / "moving.mkv"
    return write_ffv1(path, frames(MOTION, n=64, fps=FPS, size=(80, 64), noise=1.0, seed=3), FPS)


def test_the_command_writes_json_csv_and_plots(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["spectrum", str(video), "-o", str(out), "--roi", "0", "0", "80", "64", "--roi", "8", "8", "40", "40",
                 "--scale", "0.5"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    doc = json.loads((out / "spectrum.json").read_text())
    assert doc["fps"] == FPS and doc["roi"] == [[0, 0, 80, 64], [8, 8, 40, 40]]
    assert doc["resolution_hz"] == FPS / 64
    peaks = doc["peaks"]
    assert [p["amplitude_px"] for p in peaks] == sorted((p["amplitude_px"] for p in peaks), reverse=True)
    assert {(p["axis"], round(p["freq_hz"], 0)) for p in peaks} == {("x", 3.0), ("y", 6.0)}
    for p in peaks:
        want = 0.4 if p["axis"] == "x" else 0.15
        assert p["amplitude_px"] == pytest.approx(want, rel=0.1)
        assert p["amplitude_mm"] == pytest.approx(0.5 * p["amplitude_px"])
        assert p["band_hz"][0] < p["freq_hz"] < p["band_hz"][1] and p["roi"] in doc["roi"]
    rows = list(csv.DictReader((out / "spectrum.csv").open()))
    assert len(rows) == 2 * 2 * 33 and {"amplitude_mm", "floor_px", "threshold_px"} <= set(rows[0])
    assert len(list(csv.reader((out / "waveform.csv").open()))) == 65
    assert all((out / name).read_bytes()[:4] == b"\x89PNG" for name in ("waveform.png", "spectrum.png"))
    printed = capsys.readouterr().out
    assert "#1 3.1" in printed and "along x" in printed


@pytest.mark.parametrize("args, message", [
    (["--roi", "60", "0", "40", "40"], "not inside the 80x64 frame"),
    (["--frames", "10"], "at least 16 frames"),
    (["--crop", "0", "0", "200", "10"], "crop"),
    (["--false-alarm", "2"], "false_alarm"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          args: list[str], message: str) -> None:
    out = tmp_path / "out"
    assert main(["spectrum", str(video), "-o", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_an_unreadable_or_missing_video_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    for path in (junk, tmp_path / "missing.mp4"):
        assert main(["spectrum", str(path), "-o", str(tmp_path / "out")]) == 2
        assert str(path) in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    (tmp_path / "file").write_text("x")
    assert main(["spectrum", str(junk), "-o", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_a_still_video_reports_no_peak(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    still = write_ffv1(tmp_path / "still.mkv", frames([], n=48, fps=FPS, size=(64, 48), noise=3.0, seed=5), FPS)
    assert main(["spectrum", str(still), "-o", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "spectrum.json").read_text())["peaks"] == []
    assert "0 peak(s)" in capsys.readouterr().out


def test_band_choices_parse() -> None:
    assert parse_band_choice(None) is None
    assert parse_band_choice(["peak"]) == PeakChoice(1)
    assert parse_band_choice(["peak:3"]) == PeakChoice(3)
    assert parse_band_choice(["0.5", "2"]) == (0.5, 2.0)
    for bad in (["peak:0"], ["peak", "2"], ["1"], ["1", "2", "3"], ["low", "high"], ["peaks"]):
        with pytest.raises(ConfigError, match="peak:K"):
            parse_band_choice(bad)


def test_band_peak_magnifies_as_the_explicit_band(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    common = ["--method", "linear", "--alpha", "5", "--mode", "temporal", "--filter", "butter", "--start", "2",
              "--frames", "40"]
    assert main(["spectrum", str(video), "-o", str(tmp_path / "spec"), "--start", "2", "--frames", "40",
                 "--roi", "4", "4", "64", "48"]) == 0
    peaks = json.loads((tmp_path / "spec" / "spectrum.json").read_text())["peaks"]
    for k in (1, 2):
        lo, hi = peaks[k - 1]["band_hz"]
        chosen, explicit = tmp_path / f"peak{k}", tmp_path / f"explicit{k}"
        region = ["--peak-roi", "4", "4", "64", "48"] if k == 1 else ["--roi", "4", "4", "64", "48"]  # --roi: its peak
        assert main(["magnify", str(video), "-o", f"{chosen}/", *common, "--band", f"peak:{k}", *region]) == 0
        assert f"band {lo:g} {hi:g} Hz: peak {k}" in capsys.readouterr().out
        explicit_region = [] if k == 1 else ["--roi", "4", "4", "64", "48"]
        assert main(["magnify", str(video), "-o", f"{explicit}/", *common, "--band", repr(lo), repr(hi),
                     *explicit_region]) == 0
        names = sorted(p.name for p in chosen.iterdir())
        assert names == sorted(p.name for p in explicit.iterdir()) and len(names) == 40
        assert all((chosen / n).read_bytes() == (explicit / n).read_bytes() for n in names)


def test_band_peak_errors(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["magnify", str(video), "-o", f"{tmp_path}/o/", "--method", "linear", "--alpha", "5"]
    assert main([*base, "--mode", "static", "--band", "peak"]) == 2
    assert "needs --mode temporal" in capsys.readouterr().err
    assert main([*base, "--mode", "temporal", "--filter", "butter", "--band", "peak:9"]) == 2
    assert "peak:9" in capsys.readouterr().err
    assert main([*base, "--mode", "temporal", "--filter", "butter", "--band", "1", "3", "--peak-roi", "0", "0", "20",
                 "20"]) == 2
    assert "--peak-roi" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()



def test_band_peak_with_a_region_takes_the_peak_of_that_region(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--band peak --roi R``: the band comes from region R's spectrum (as ``--peak-roi R``, not the whole
    frame's), and only R is magnified."""
    left = frames([("x", 0.3, 3.1, 0.0)], n=64, fps=FPS, size=(96, 48), seed=1)
    right = frames([("x", 0.8, 6.4, 0.0)], n=64, fps=FPS, size=(96, 48), seed=2)
    video = write_ffv1(tmp_path / "two.mkv", np.concatenate([left[:, :, :48], right[:, :, 48:]], axis=2), FPS)
    common = ["--method", "linear", "--alpha", "5", "--mode", "temporal", "--filter", "butter", "--band", "peak"]

    def band_line(*args: str) -> str:
        assert main(["magnify", str(video), *common, *args]) == 0
        return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("band "))

    whole = band_line("-o", f"{tmp_path / 'whole'}/")
    region = band_line("-o", f"{tmp_path / 'peak'}/", "--peak-roi", "4", "8", "36", "32")
    assert "3.1" in region and region != whole  # the left half's 3.1 Hz, not the frame's stronger 6.4 Hz
    assert band_line("-o", f"{tmp_path / 'roi'}/", "--roi", "4", "8", "36", "32", "--feather", "4") == region
    from mmtrain.video.io import VideoReader

    source = np.stack(list(VideoReader(video)))
    out = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted((tmp_path / "roi").glob("*.png"))])
    far = np.ones(source.shape[1:3], bool)
    far[8 - 4:8 + 32 + 4, :4 + 36 + 4] = False
    assert np.array_equal(out[:, far], source[:, far]) and not np.array_equal(out, source)

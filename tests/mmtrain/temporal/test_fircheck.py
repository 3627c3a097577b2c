"""The FIR band-pass tells the truth: a clip too short for its band is refused, the effective band is said."""

from __future__ import annotations

import hashlib
import logging
import math

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmtrain.cli import main
from mmtrain.temporal.filters import fir_filter, fir_response
from mmtrain.temporal.fircheck import MAX_DC_GAIN, MAX_STOP_GAIN, check_fir, fir_dense_response, require_fir
from mmtrain.magnify.pipeline import MagnifySettings
from mmtrain.video.io import write_video

DRUM = ((74.0, 78.0), 1900.0)  # the paper's drum band (Table A.1)


@pytest.mark.parametrize("n_frames", [8, 16, 32, 48, 90, 301])
def test_dc_gain_is_what_the_filter_does_to_a_still_signal(n_frames):
    band, fps = DRUM
    still = np.full((n_frames, 3), 100.0)
    applied = fir_filter(still, fir_response(n_frames, band, fps))
    report = check_fir(n_frames, band, fps)
    assert applied[:, 0] / 100.0 == pytest.approx(np.full(n_frames, report.dc_gain * np.sign(applied[0, 0])), abs=1e-9)


@pytest.mark.parametrize("n_frames", [31, 48, 91])
def test_dense_response_equals_the_applied_gain_on_every_dft_bin(n_frames):
    band, fps = DRUM
    response = fir_response(n_frames, band, fps)
    f, gain = fir_dense_response(response, fps, n_grid=4 * n_frames + 1)  # spacing fps / 8T: bin k is point 8k
    on_bins = gain[::8]
    assert f[8] == pytest.approx(fps / n_frames)
    assert on_bins[: n_frames // 2] == pytest.approx(np.abs(response[: n_frames // 2]), abs=1e-9)


def test_effective_band_edges_are_minus_3db_of_a_filtered_sinusoid():
    band, fps, n = DRUM[0], DRUM[1], 91
    report = check_fir(n, band, fps)
    assert report.wider and report.effective_band[0] < band[0] < band[1] < report.effective_band[1]
    t = np.arange(n)
    for k in range(1, n // 2):   # sinusoids on DFT bins: the cyclic filter scales them by |H|
        f = k * fps / n
        x = np.cos(2 * np.pi * f * t / fps)
        gain = np.abs(fir_filter(x, fir_response(n, band, fps))).max()
        inside = report.effective_band[0] <= f <= report.effective_band[1]
        assert (gain >= 1 / math.sqrt(2) - 1e-6) == inside, (f, gain)


@pytest.mark.parametrize("n_frames, ok", [(3, False), (8, False), (16, False), (32, False), (48, False), (90, True),
                                          (300, True)])
def test_short_clips_are_refused_long_ones_accepted(n_frames, ok):
    band, fps = DRUM
    report = check_fir(n_frames, band, fps)
    assert report.ok == ok
    assert (report.dc_gain <= MAX_DC_GAIN and report.stop_gain <= MAX_STOP_GAIN) == ok
    if ok:
        require_fir(n_frames, band, fps)
    else:
        with pytest.raises(ConfigError, match=r"^filter: an FIR band-pass over .* DC gain .*--filter butter"):
            require_fir(n_frames, band, fps)


def test_refusal_names_a_length_that_passes():
    band, fps = DRUM
    with pytest.raises(ConfigError) as err:
        require_fir(32, band, fps)
    need = int(str(err.value).split("at least ")[1].split(" frames")[0])
    assert check_fir(need, band, fps).ok and not check_fir(32, band, fps).ok


def test_settings_refuse_or_log_the_effective_band(caplog):
    settings = MagnifySettings(alpha=10, mode="temporal", filter="fir", band=DRUM[0], fps=DRUM[1])
    with pytest.raises(ConfigError, match="DC gain"):
        settings.resolve(1900.0, 32)
    with caplog.at_level(logging.WARNING, logger="mmtrain.magnify.pipeline"):
        settings.resolve(1900.0, 91)
    assert "passes 6" in caplog.text and "requested 74-78 Hz" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmtrain.magnify.pipeline"):
        MagnifySettings(alpha=10, mode="temporal", filter="fir", band=DRUM[0], fps=DRUM[1],
                        allow_leaky_fir=True).resolve(1900.0, 32)
    assert "DC gain 0.55" in caplog.text


def test_cli_refuses_a_short_fir_clip_in_one_line_before_any_work(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    write_video(video, [np.full((16, 16, 3), 90 + i, np.uint8) for i in range(30)], 30)
    before = hashlib.sha256(video.read_bytes()).hexdigest()
    out = tmp_path / "out.mp4"
    rc = main(["magnify", str(video), "-o", str(out), "--alpha", "10", "--mode", "temporal", "--filter", "fir",
               "--band", "1", "2", "--checkpoint", str(tmp_path / "no-such-weights.npz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("mmtrain magnify: error: filter: an FIR band-pass over 30 frames")
    assert "--frames" in err[0] and "--filter butter" in err[0]
    assert not out.exists() and hashlib.sha256(video.read_bytes()).hexdigest() == before


def test_stride_divides_a_given_capture_rate(tmp_path, capsys, caplog):
    """--fps (or a preset's rate) is the file's capture rate: with --stride 2 the filter samples at half of it."""
    video = tmp_path / "clip.mp4"
    write_video(video, [np.full((16, 16, 3), 90 + i, np.uint8) for i in range(30)], 30)
    rc = main(["magnify", str(video), "-o", str(tmp_path / "out.mp4"), "--alpha", "10", "--mode", "temporal",
               "--filter", "fir", "--band", "70", "80", "--fps", "600", "--stride", "2",
               "--checkpoint", str(tmp_path / "no-such-weights.npz")])
    err = capsys.readouterr().err
    # at 300 fps the 15-frame FIR passes the check (at 600 fps it would not) and says its resolution
    assert check_fir(15, (70, 80), 300).ok and not check_fir(15, (70, 80), 600).ok
    assert "resolution fps/frames = 20 Hz" in caplog.text  # the warning (stderr when run from a shell)
    assert rc == 2 and err.strip().splitlines()[-1].endswith("no such weights file")


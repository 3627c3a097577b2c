"""Real-video physical accuracy against analytic truth: known sinusoidal motions, known factors, known noise."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.ndimage

from mmdata.errors import ConfigError
from mmtrain.cli import main
from mmtrain.evaluate.video_accuracy import (
    band_amplitudes,
    default_bands,
    flicker,
    measure_video_accuracy,
    still_mask,
    track_points,
)
from mmtrain.evaluate.video_report import nominal_factors
from mmtrain.classical.phase import PhaseBasedConfig, fir_transfer
from mmtrain.classical.phase_torch import linear_magnify_torch, phase_based_magnify_torch
from mmtrain.video.io import write_video

FPS = 30.0


def _texture(size: int, rng: np.random.Generator, flat: bool = False) -> np.ndarray:
    """Smooth random RGB texture (periodic), mean 128; ``flat``: its right third a flat gray."""
    tex = scipy.ndimage.gaussian_filter(rng.random((size, size, 3)), (1.5, 1.5, 0), mode="wrap")
    tex = (tex - tex.mean()) / tex.std() * 40 + 128
    if flat:
        tex[:, 2 * size // 3:] = 128.0
    return tex


def _translated(tex: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Frames of ``tex`` translated exactly (Fourier shift) by (dx[t], dy[t]); +dx moves content right."""
    ky, kx = np.fft.fftfreq(tex.shape[0])[:, None, None], np.fft.fftfreq(tex.shape[1])[None, :, None]
    spec = np.fft.fft2(tex, axes=(0, 1))
    return np.stack([np.real(np.fft.ifft2(spec * np.exp(-2j * np.pi * (kx * x + ky * y)), axes=(0, 1)))
                     for x, y in zip(dx, dy)])


def _two_tone(n: int) -> tuple[np.ndarray, np.ndarray]:
    """0.1 px at 3 Hz along x and 0.1 px at 9 Hz along y."""
    t = np.arange(n) / FPS
    return 0.1 * np.sin(2 * np.pi * 3.0 * t), 0.1 * np.sin(2 * np.pi * 9.0 * t)


def test_band_amplitudes_of_known_sinusoids():
    t = np.arange(60) / FPS
    traj = np.stack([0.3 * np.sin(2 * np.pi * 3 * t), 0.2 * np.cos(2 * np.pi * 10 * t)], axis=-1)[None]
    amp = band_amplitudes(traj, FPS, [(2, 4), (8, 12), (12, 15)])[0]
    np.testing.assert_allclose(amp, [0.3 / np.sqrt(2), 0.2 / np.sqrt(2), 0.0], atol=1e-12)


def test_a_lost_frame_is_interpolated_and_a_lost_track_dropped():
    """A dropped frame (NaN: nothing to measure) inside a known linear drift: filled in from its neighbours."""
    tex = _texture(48, np.random.default_rng(4))
    drift = 0.05 * np.arange(12)
    clip = _translated(tex, drift, np.zeros(12))
    clip[5] = np.nan
    traj = track_points(clip, np.array([[24, 24]]), 10)[0]
    np.testing.assert_allclose(traj[:, 0], drift, atol=0.01)
    clip[2:5] = np.nan  # a third of the frames lost: no trajectory
    assert np.isnan(track_points(clip, np.array([[24, 24]]), 10)).all()


def test_oracle_magnified_band_is_measured_at_its_factor():
    """The output shows alpha x the 3 Hz motion and the 9 Hz motion unchanged: ratios 10 and 1 within 2 %."""
    rng = np.random.default_rng(0)
    tex = _texture(96, rng)
    dx, dy = _two_tone(60)
    inputs, outputs = _translated(tex, dx, dy), _translated(tex, 10 * dx, dy)
    acc = measure_video_accuracy(inputs, outputs, FPS, bands=[(2, 4), (8, 10), (12, 15)])
    b3, b9, quiet = acc.bands
    assert b3.ratio == pytest.approx(10.0, rel=0.02) and b3.points >= 3 and b3.measurable
    assert b9.ratio == pytest.approx(1.0, rel=0.02)
    assert b3.input_amplitude == pytest.approx(0.1 / np.sqrt(2), rel=0.02)  # the tracker itself
    assert not quiet.measurable and quiet.points == 0  # no motion there: no ratio claimed


@pytest.mark.parametrize("method, tolerance", [(linear_magnify_torch, 0.05), (phase_based_magnify_torch, 0.10)])
def test_classical_methods_are_measured_at_their_transfer(method, tolerance):
    """Whole-clip FIR 2-5 Hz, alpha 5: the 3 Hz band is magnified 1 + 4 H(3 Hz), the 9 Hz band is left alone.

    (Linear is first-order, exact for this smooth texture and 0.5 px; phase-based with 8 orientations
    is documented as up to ~5 % short, both are allowed a margin above that.)"""
    rng = np.random.default_rng(1)
    tex = _texture(64, rng)
    n = 60
    dx, dy = _two_tone(n)
    clip = _translated(tex, dx, dy)
    config = PhaseBasedConfig(fps=FPS, low_hz=2.0, high_hz=5.0, taps=n)
    gain = 1 + 4.0 * fir_transfer(n, config)[np.fft.rfftfreq(n, 1 / FPS) == 3.0][0]
    out = method(clip, 5.0, config)
    acc = measure_video_accuracy(clip, out, FPS, bands=[(2, 4), (8, 10)], patch=10)
    assert gain == pytest.approx(5.0, rel=0.02)
    assert acc.bands[0].ratio == pytest.approx(gain, rel=tolerance)
    assert acc.bands[1].ratio == pytest.approx(1.0, rel=tolerance)


def test_flicker_of_known_noise_and_of_its_linear_magnification():
    """Static scene + Gaussian noise of std 3: input flicker 3; linear magnification multiplies the noise by
    sqrt(mean_f |1 + (alpha - 1) H(f)|^2) (H the zero-phase FIR over the clip's DFT bins)."""
    rng = np.random.default_rng(2)
    n, sigma, alpha = 60, 3.0, 5.0
    tex = _texture(64, rng, flat=True)
    clip = tex[None] + rng.normal(0.0, sigma, (n,) + tex.shape)
    mask = still_mask(clip[0], block=16, fraction=0.2)
    assert mask.any() and not mask[:, : 64 // 2].any()  # the flat third, and only there
    assert flicker(clip, mask) == pytest.approx(sigma, rel=0.03)
    config = PhaseBasedConfig(fps=FPS, low_hz=2.0, high_hz=5.0, taps=n)
    out = linear_magnify_torch(clip, alpha, config)
    h = np.fft.fft(np.fft.irfft(fir_transfer(n, config), n=n))  # the full-spectrum response (real, even)
    gain = np.sqrt(np.mean(np.abs(1 + (alpha - 1) * h) ** 2))
    assert gain > 1.5
    assert flicker(out, mask) == pytest.approx(sigma * gain, rel=0.05)


def test_default_bands_and_nominal_factors():
    assert default_bands(30.0, 60) == [(1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 15.0)]
    assert nominal_factors([(1, 2), (2, 4), (4, 8), (8, 15)], 10.0, (2.0, 5.0)) == [1.0, 10.0, None, 1.0]


def test_bad_input_is_a_clear_error():
    clip = np.zeros((10, 64, 64))
    with pytest.raises(ConfigError, match="one shape"):
        measure_video_accuracy(clip, clip[:, :32], FPS)
    with pytest.raises(ConfigError, match="at least 8 frames"):
        measure_video_accuracy(clip[:4], clip[:4], FPS)
    with pytest.raises(ConfigError, match="Nyquist"):
        measure_video_accuracy(clip, clip, FPS, bands=[(10, 20)])
    with pytest.raises(ConfigError, match="no textured point"):
        measure_video_accuracy(clip, clip, FPS)


def test_cli_writes_the_table_and_plot(tmp_path, capsys):
    """A synthetic video file magnified by the linear method: the report files, and a clear error on a bad call."""
    rng = np.random.default_rng(3)
    dx, dy = _two_tone(40)
    frames = np.clip(np.rint(_translated(_texture(64, rng), 2 * dx, 2 * dy)), 0, 255).astype(np.uint8)
    video = tmp_path / "in.mkv"
    write_video(video, frames, FPS, codec="ffv1")  # lossless: the file holds the known motion
    out = tmp_path / "acc"
    assert main(["-q", "evaluate", "video-accuracy", str(video), "--alpha", "4", "--band", "2", "5", "--method", "linear",
                 "--bands", "2-4", "8-10", "--patch", "8", "--device", "cpu", "-o", str(out)]) == 0
    doc = json.loads((out / "accuracy.json").read_text())
    assert [b["expected"] for b in doc["bands"]] == [4.0, 1.0]
    assert doc["bands"][0]["ratio"] == pytest.approx(4.0, rel=0.1)
    assert (out / "accuracy.png").stat().st_size > 0 and (out / "accuracy.csv").read_text().startswith("low_hz")
    assert "ratio" in capsys.readouterr().out
    assert main(["-q", "evaluate", "video-accuracy", str(video), "--alpha", "4", "-o", str(out)]) != 0
    assert "--band" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_band:  # argparse: usage and one line, exit 2
        main(["-q", "evaluate", "video-accuracy", str(video), "--alpha", "4", "--band", "2", "5", "--bands", "4-2", "-o", str(out)])
    assert bad_band.value.code == 2 and "expected LOW-HIGH" in capsys.readouterr().err

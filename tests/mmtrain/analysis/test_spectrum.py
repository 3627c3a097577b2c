"""The spectrum's physics against analytic truth: amplitudes, frequencies, the noise floor, bands."""

from __future__ import annotations

import numpy as np
import pytest
from motion_synth import frames, truth

from mmdata.errors import ConfigError
from mmtrain.analysis.api import analyse_frames
from mmtrain.analysis.displacement import check_rois, roi_displacements
from mmtrain.analysis.floor import threshold_factor
from mmtrain.analysis.spectrum import SpectrumSettings, amplitude_spectrum, analyse_displacements, peak_band
from mmtrain.temporal.filters import validate_band

FPS = 30.0
N = 120  # resolution 0.25 Hz
#: x: 0.5 px at 2.03 Hz and 0.05 px at 7.3 Hz; y: 0.2 px at 4.1 Hz and 0.08 px at 11.2 Hz (none on a bin)
MOTION = [("x", 0.5, 2.03, 0.0), ("x", 0.05, 7.3, 1.0), ("y", 0.2, 4.1, 0.3), ("y", 0.08, 11.2, 2.0)]


@pytest.mark.parametrize("freq", [3.0, 3.1, 3.125, 7.77])
@pytest.mark.parametrize("amp", [0.05, 1.3])
def test_a_sinusoid_reads_its_amplitude_at_its_frequency(freq: float, amp: float) -> None:
    t = np.arange(N) / FPS
    f, a = amplitude_spectrum(amp * np.sin(2 * np.pi * freq * t + 0.7) + 3.0, FPS)
    result = analyse_displacements(np.stack([amp * np.sin(2 * np.pi * freq * t + 0.7), 0 * t], axis=1)[None], FPS,
                                   [(0, 0, 16, 16)], SpectrumSettings(min_amplitude=0.0))
    assert abs(f[np.argmax(a)] - freq) <= FPS / N / 16  # the padded grid's spacing
    (peak,) = result.peaks
    assert peak.freq_hz == pytest.approx(freq, abs=0.01 * FPS / N)
    assert peak.amplitude_px == pytest.approx(amp, rel=0.01)


@pytest.mark.parametrize("noise", [0.0, 2.0])
def test_every_sinusoid_of_a_synthetic_video_is_found(noise: float) -> None:
    video = frames(MOTION, n=N, fps=FPS, noise=noise, seed=1)
    result = analyse_frames(video, FPS)
    assert result.resolution_hz == FPS / N
    found = {(p.axis, round(p.freq_hz)): p for p in result.peaks}
    assert len(result.peaks) == len(MOTION), [(p.axis, p.freq_hz, p.amplitude_px) for p in result.peaks]
    for axis, amp, freq, _ in MOTION:
        peak = found[(axis, round(freq))]
        assert abs(peak.freq_hz - freq) <= result.resolution_hz
        assert peak.amplitude_px == pytest.approx(amp, rel=0.10)
        lo, hi = peak.band_hz
        assert lo <= peak.freq_hz - result.resolution_hz and hi >= peak.freq_hz + result.resolution_hz  # a bin each side
        assert validate_band(peak.band_hz, FPS) == (lo, hi)
    amps = [p.amplitude_px for p in result.peaks]
    assert amps == sorted(amps, reverse=True)
    assert peak_band(result, 1) == result.peaks[0].band_hz


def test_the_estimator_follows_the_true_waveform() -> None:
    """Accuracy of the displacement itself, frame by frame (noise-free 8-bit frames, and sigma = 2)."""
    for noise, tol in ((0.0, 0.003), (2.0, 0.01)):
        video = frames(MOTION, n=60, fps=FPS, noise=noise, seed=2)
        disp = roi_displacements(video, check_rois(None, video.shape[2], video.shape[1]))[0]
        d = truth(MOTION, 60, FPS)
        err = (disp - disp[0]) - (d - d[0])
        assert np.sqrt((err ** 2).mean()) < tol


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_still_noisy_video_has_no_peak(seed: int) -> None:
    video = frames([], n=N, fps=FPS, noise=3.0, seed=seed, size=(64, 48))
    assert analyse_frames(video, FPS).peaks == []
    # the noise floor alone, without the absolute minimum, reports nothing either
    assert analyse_frames(video, FPS, settings=SpectrumSettings(min_amplitude=0.0)).peaks == []


@pytest.mark.parametrize("n", [40, 128])
def test_the_threshold_factor_gives_the_stated_false_alarm_rate(n: int) -> None:
    """White noise waveforms (not those of the calibration: another generator) yield peaks at the stated rate."""
    rng = np.random.default_rng(7)
    trials = 400
    disp = rng.standard_normal((trials, n, 2)) * 0.01
    result = analyse_displacements(disp, FPS, [(0, 0, 16, 16 + k) for k in range(trials)],
                                   SpectrumSettings(min_amplitude=0.0, max_peaks=10 ** 6, false_alarm=0.1))
    spectra_with_a_peak = {(p.roi, p.axis) for p in result.peaks}
    assert 0.06 < len(spectra_with_a_peak) / (2 * trials) < 0.14  # 0.1 +- 3.3 binomial sigma
    assert 3.0 < threshold_factor(n, 0.01, halfwidth=8) < 5.5


def test_leakage_of_a_strong_peak_is_not_a_peak() -> None:
    t = np.arange(N) / FPS
    x = 20.0 * np.sin(2 * np.pi * 5.1 * t)
    result = analyse_displacements(np.stack([x, 0 * x], axis=1)[None], FPS, [(0, 0, 16, 16)],
                                   SpectrumSettings(min_amplitude=0.0))
    assert [round(p.freq_hz, 1) for p in result.peaks] == [5.1]


def test_regions_and_sizes_are_checked() -> None:
    assert check_rois(None, 64, 48) == [(0, 0, 64, 48)]
    with pytest.raises(ConfigError, match="not inside the 64x48 frame"):
        check_rois([(50, 0, 20, 20)], 64, 48)
    with pytest.raises(ConfigError, match="smaller than 16x16"):
        check_rois([(0, 0, 8, 40)], 64, 48)
    with pytest.raises(ConfigError, match="at least 16 frames"):
        analyse_frames(frames([], n=10, size=(32, 32)), FPS)
    flat = np.full((20, 32, 32, 3), 100, np.uint8)
    with pytest.raises(ConfigError, match="more texture"):
        analyse_frames(flat, FPS)
    with pytest.raises(ConfigError, match="peak:3"):
        peak_band(analyse_frames(frames(MOTION[:2], n=N, size=(48, 48)), FPS), 3)

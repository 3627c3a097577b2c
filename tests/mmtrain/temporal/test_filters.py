"""Temporal filters against analytic truth: sinusoid gains vs scipy's frequency responses and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal

from mmdata.errors import ConfigError
from mmtrain.temporal.filters import (
    ButterworthFilter,
    DiffIIRFilter,
    fir_filter,
    fir_response,
    fir_taps,
    iir_lowpass_coefficient,
    iir_lowpass_cutoff,
    make_streaming_filter,
    validate_band,
)

FS = 30.0


def _amplitude(y: np.ndarray, f: float, fs: float) -> complex:
    """Complex amplitude of the sinusoid at ``f`` in ``y`` (least squares over whole cycles)."""
    t = np.arange(len(y))
    basis = np.exp(2j * np.pi * f * t / fs)
    return 2.0 * np.vdot(basis, y) / len(y)


def _stream(filt, x: np.ndarray, chunk: int) -> np.ndarray:
    """Feed ``x`` (T,) through a streaming filter in chunks, as (T, 1) tensors."""
    parts = [filt(torch.from_numpy(x[i:i + chunk, None])) for i in range(0, len(x), chunk)]
    return torch.cat(parts).numpy()[:, 0]


@pytest.mark.parametrize("f", [0.5, 2.0, 3.0, 6.0, 12.0])
def test_butterworth_steady_state_gain_matches_sosfreqz(f):
    filt = ButterworthFilter((1.5, 5.0), FS, order=2)
    t = np.arange(1200)
    y = _stream(filt, np.sin(2 * np.pi * f * t / FS), chunk=7)
    measured = abs(_amplitude(y[600:], f, FS))
    _, h = signal.sosfreqz(signal.butter(2, [1.5, 5.0], btype="bandpass", fs=FS, output="sos"), worN=[f], fs=FS)
    assert measured == pytest.approx(abs(h[0]), abs=2e-3)


def test_butterworth_streaming_equals_scipy_sosfilt_from_steady_state():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 3, 2)).cumsum(axis=0) + 5.0
    filt = ButterworthFilter((1.0, 4.0), FS, order=2)
    got = torch.cat([filt(torch.from_numpy(x[i:i + 8])) for i in range(0, 90, 8)]).numpy()
    sos = signal.butter(2, [1.0, 4.0], btype="bandpass", fs=FS, output="sos")
    zi = signal.sosfilt_zi(sos)[:, :, None, None] * x[0]
    want, _ = signal.sosfilt(sos, x, axis=0, zi=zi)
    np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("f", [0.1, 1.0, 2.0, 7.0, 14.0])
def test_diff_iir_gain_matches_closed_form(f):
    low, high = 0.4, 3.0
    filt = DiffIIRFilter((low, high), FS)
    t = np.arange(1500)
    y = _stream(filt, np.sin(2 * np.pi * f * t / FS), chunk=11)
    measured = _amplitude(y[900:], f, FS)
    # H = r1 / (1 - (1 - r1) z^-1) - r2 / (1 - (1 - r2) z^-1), z = e^{iw}
    zinv = np.exp(-2j * np.pi * f / FS)
    r1, r2 = filt.r1, filt.r2
    h = r1 / (1 - (1 - r1) * zinv) - r2 / (1 - (1 - r2) * zinv)
    assert abs(measured) == pytest.approx(abs(h), abs=2e-3)
    _, hz = signal.freqz(*filt.ba(), worN=[f], fs=FS)
    assert abs(hz[0]) == pytest.approx(abs(h), rel=1e-9)


def test_iir_lowpass_coefficient_is_minus_3db_at_cutoff():
    for cutoff, fs in [(0.2, 30.0), (2.5, 30.0), (40.0, 500.0)]:
        r = iir_lowpass_coefficient(cutoff, fs)
        z = np.exp(-2j * np.pi * cutoff / fs)
        assert abs(r / (1 - (1 - r) * z)) ** 2 == pytest.approx(0.5, rel=1e-12)
        assert iir_lowpass_cutoff(r, fs) == pytest.approx(cutoff, rel=1e-12)


def test_streaming_filters_give_zero_for_a_still_signal():
    x = torch.full((40, 2, 3), 0.7, dtype=torch.float32)
    for kind in ("butter", "diff-iir"):
        y = make_streaming_filter(kind, (1.0, 4.0), FS)(x)
        assert float(y.abs().max()) < 1e-6, kind


@pytest.mark.parametrize("n_frames", [30, 31])
def test_fir_gain_at_dft_bins_matches_freqz_of_its_taps_with_zero_phase(n_frames):
    band = (2.0, 6.0)
    taps = fir_taps(n_frames, band, FS)
    assert len(taps) % 2 == 1 and len(taps) in (n_frames, n_frames - 1)
    response = fir_response(n_frames, band, FS)
    t = np.arange(n_frames)
    for k in range(1, n_frames // 2):
        f = k * FS / n_frames
        x = np.cos(2 * np.pi * f * t / FS + 0.3)
        y = fir_filter(x, response)
        _, h = signal.freqz(taps, worN=[f], fs=FS)
        # zero phase: the output is the input scaled by the (real) amplitude response
        np.testing.assert_allclose(y, abs(h[0]) * np.sign(response[k].real) * x, atol=1e-9)
    passband = [abs(response[k]) for k in range(n_frames) if 3.0 <= k * FS / n_frames <= 5.0]
    stopband = [abs(response[k]) for k in range(n_frames // 2) if k * FS / n_frames >= 9 or k == 0]
    assert min(passband) > 0.9 and max(stopband) < 0.05


def test_fir_filter_is_the_cyclic_convolution_with_its_kernel():
    rng = np.random.default_rng(2)
    n = 17
    x = rng.normal(size=(n, 4)).astype(np.float32)
    response = fir_response(n, (2.0, 7.0), FS)
    kernel = np.fft.ifft(response).real
    want = np.stack([sum(kernel[m] * x[(t - m) % n] for m in range(n)) for t in range(n)])
    np.testing.assert_allclose(fir_filter(x, response, axis=0), want, atol=1e-5)
    assert fir_filter(x, response).dtype == np.float32


def test_two_frequencies_each_filter_keeps_the_in_band_one():
    """1 Hz + 9 Hz through a 0.5-2 Hz band: measured keep/reject amplitude ratios are FIR ~4000,
    Butterworth ~70 and difference-of-IIR ~3.2 (first-order slopes: a gentle band-pass)."""
    n = 270
    t = np.arange(n)
    x = np.sin(2 * np.pi * 1.0 * t / FS) + np.sin(2 * np.pi * 9.0 * t / FS)
    band = (0.5, 2.0)
    outputs = {
        "fir": fir_filter(x, fir_response(n, band, FS)),
        "butter": _stream(ButterworthFilter(band, FS), x, 16),
        "diff-iir": _stream(DiffIIRFilter(band, FS), x, 16),
    }
    min_ratio = {"fir": 100.0, "butter": 20.0, "diff-iir": 2.5}
    for kind, y in outputs.items():
        steady = y[150:] if kind != "fir" else y
        keep, reject = abs(_amplitude(steady, 1.0, FS)), abs(_amplitude(steady, 9.0, FS))
        assert keep > 0.5 and keep / reject > min_ratio[kind], (kind, keep, reject)


def test_official_fir_response_matches_the_authors_golden_files(shared_data):
    for name in ("case_d_baby_temporal_fir_amp20.npz", "case_d2_baby_temporal_fir_3to8hz_amp20.npz"):
        g = np.load(shared_data / "official_golden" / name)
        response = fir_response(16, (float(g["fl"]), float(g["fh"])), float(g["fs"]),
                                numtaps=int(g["n_filter_tap"]), official=True)
        np.testing.assert_allclose(response, g["filter_fft"], atol=1e-12)


@pytest.mark.parametrize("band, fps, match", [
    ((2.0, 15.0), 30.0, "Nyquist"),
    ((2.0, 20.0), 30.0, "Nyquist"),
    ((5.0, 5.0), 30.0, "below the high"),
    ((6.0, 3.0), 30.0, "below the high"),
    ((0.0, 3.0), 30.0, "positive"),
    ((1.0,), 30.0, "two frequencies"),
    ((1.0, 3.0), 0.0, "fps"),
])
def test_bad_bands_are_rejected_with_the_key_named(band, fps, match):
    with pytest.raises(ConfigError, match=match):
        validate_band(band, fps)


def test_fir_needs_enough_frames():
    with pytest.raises(ConfigError, match="at least 3 frames"):
        fir_response(2, (1.0, 4.0), FS)

"""The classical methods on video (phase-based, linear) and the one-call API, against known motions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from skimage import data as skdata
from skimage.transform import rescale

import mmtrain
from mmtrain.magnify import magnify
from fakes import _shift
from mmdata.errors import ConfigError
from mmdata.render.measure import estimate_shift
from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames
from mmtrain.classical.phase import PhaseBasedStream

FPS = 30.0


def _photo(size: int) -> np.ndarray:
    img = rescale(skdata.astronaut().astype(float), 0.25, channel_axis=-1, anti_aliasing=True, preserve_range=True)
    return img[20:20 + size, 30:30 + size]


def _gratings(size: int, rng: np.random.Generator) -> np.ndarray:
    """A periodic sum of gratings of 4-10 cycles per frame (periods 5-12 px at 48 px): the energy lies in
    the steerable pyramid's bands, whose motion the phase-based method magnifies (its residual low- and
    high-pass bands stay unmagnified by design, which shortens the motion of smooth photographs)."""
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.zeros((size, size))
    for _ in range(12):
        kx, ky = rng.integers(-10, 11, 2)
        if 4 <= np.hypot(kx, ky) <= 10:
            img += np.cos(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi))
    img = 128 + 60 * img / np.abs(img).max()
    return np.stack([img, 0.9 * img + 10, 0.8 * img + 20], axis=-1)


def _sinusoid_clip(size: int, n: int, amplitude: float, freq: float, *,
                   texture: str = "photo") -> tuple[np.ndarray, np.ndarray]:
    """Frames of a texture translated (exact periodic Fourier shift) by ``amplitude sin(2 pi f t)`` in x."""
    tex = _photo(size) if texture == "photo" else _gratings(size, np.random.default_rng(0))
    dx = amplitude * np.sin(2 * np.pi * freq * np.arange(n) / FPS)
    frames = np.stack([np.clip(np.rint(_shift(tex, 0.0, d)), 0, 255).astype(np.uint8) for d in dx])
    return frames, dx


def _amplitude(y: np.ndarray, f: float, t: np.ndarray) -> complex:
    """Complex amplitude of the sinusoid at ``f`` Hz in ``y(t)`` (least squares with an offset)."""
    design = np.stack([np.ones_like(t, float), np.cos(2 * np.pi * f * t / FPS), np.sin(2 * np.pi * f * t / FPS)], 1)
    _, c, s = np.linalg.lstsq(design, y, rcond=None)[0]
    return complex(c, -s)


def _shifts(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.array([estimate_shift(ref, o, border=6)[0] for o in out])


def test_phase_based_static_magnifies_a_subpixel_sinusoid_by_alpha():
    frames, dx = _sinusoid_clip(48, 8, 0.2, 2.0, texture="gratings")
    out = magnify(frames, 5.0, mode="static", method="phase-based")
    measured = _shifts(out, frames[0])
    t = np.arange(len(frames))
    assert abs(_amplitude(measured, 2.0, t)) == pytest.approx(5.0 * 0.2, rel=0.10)
    assert abs(_amplitude(_shifts(frames, frames[0]), 2.0, t)) == pytest.approx(0.2, rel=0.05)


def test_phase_based_temporal_butterworth_is_one_plus_alpha_minus_1_times_h():
    """In steady state the output motion is ``(1 + (alpha - 1) H(f)) * delta``, H the Butterworth response."""
    n, f, alpha = 40, 5.0, 5.0
    frames, dx = _sinusoid_clip(48, n, 0.2, f, texture="gratings")
    out = magnify(frames, alpha, mode="temporal", filter="butter", band=(3.0, 8.0), fps=FPS,
                          method="phase-based")
    t = np.arange(n)
    late = t >= 16  # the IIR start-up transient has decayed
    measured = _amplitude(_shifts(out, frames[0])[late], f, t[late])
    sos = signal.butter(2, [3.0, 8.0], btype="bandpass", fs=FPS, output="sos")
    h = signal.sosfreqz(sos, worN=[f], fs=FPS)[1][0]
    expected = (1 + (alpha - 1) * h) * _amplitude(dx[late], f, t[late])
    assert abs(measured) == pytest.approx(abs(expected), rel=0.10)


def test_phase_based_stream_state_does_not_grow_with_frames():
    frames, _ = _sinusoid_clip(32, 6, 0.2, 2.0)
    settings = MagnifySettings(alpha=3, method="phase-based", mode="temporal", filter="diff-iir",
                               band=(1.0, 4.0)).resolve(FPS, 6)
    stream = PhaseBasedStream(settings)
    sizes = []
    for frame in frames:
        stream(frame)
        sizes.append(sum(a.nbytes for d in (stream._prev, stream._phase) for a in d.values()))
    assert sizes[1] == sizes[-1] > 0


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_linear_method_is_first_order_magnification(mode):
    frames, _ = _sinusoid_clip(32, 8, 0.5, 2.0)
    out = magnify(frames, 3.0, mode=mode, method="linear").astype(float)
    x = frames.astype(float)
    ref = x[:1] if mode == "static" else np.concatenate([x[:1], x[:-1]])
    np.testing.assert_allclose(out, np.clip(np.rint(x + 2.0 * (x - ref)), 0, 255))


def test_one_call_api_equals_the_chained_calls(shared_data):
    from mmtrain.model.checkpoint import load_model

    model = load_model(shared_data / "official_checkpoint" / "weights.npz")
    frames, _ = _sinusoid_clip(32, 3, 0.3, 2.0)
    got = magnify(frames, 10, mode="dynamic", checkpoint=model, device="cpu", batch=2)
    settings = MagnifySettings(alpha=10, mode="dynamic").resolve(FPS, 3)
    chained = np.concatenate(list(magnify_frames(model, [frames[:2], frames[2:]], settings, n_frames=3)))
    assert got.dtype == np.uint8 and np.array_equal(got, chained)
    streamed = np.stack(list(mmtrain.magnify_iter(iter(frames), 10, n_frames=3, mode="dynamic", checkpoint=model,
                                                  device="cpu", batch=2)))
    assert np.array_equal(streamed, chained)


@pytest.mark.parametrize("kwargs, match", [
    (dict(mode="temporal", band=(1, 3), method="linear", filter="butter"), "fps: the temporal mode needs"),
    (dict(mode="temporal", band=(1, 3), fps=30, method="phase-based"), "streams with --filter butter"),
    (dict(mode="static", method="wavelet"), "method: expected one of"),
])
def test_api_errors_name_the_option(kwargs, match):
    frames, _ = _sinusoid_clip(16, 4, 0.3, 2.0)
    with pytest.raises(ConfigError, match=match):
        magnify(frames, 5, **kwargs)


def test_api_rejects_a_wrong_array():
    with pytest.raises(ConfigError, match=r"frames: expected a uint8 array \(T, H, W, 3\)"):
        magnify(np.zeros((4, 16, 16), np.uint8), 5, method="linear")

"""The phase-based baseline against analytic truth: known sinusoidal sub-pixel translations."""

from __future__ import annotations

import numpy as np
import pytest
from mmdata.errors import ConfigError
from mmdata.render.measure import estimate_shift
from mmtrain.evaluate.baselines import PhaseBasedConfig, fir_transfer, linear_magnify, phase_based_magnify

SIZE = 64


def _texture(rng: np.random.Generator, size: int = SIZE, band: tuple[float, float] = (0.05, 0.2)) -> np.ndarray:
    """Band-limited random texture (default 0.05-0.2 cycles/px, inside the pyramid's bands), mean 128."""
    ky = np.fft.fftfreq(size)[:, None]
    kx = np.fft.fftfreq(size)[None, :]
    radius = np.hypot(kx, ky)
    spectrum = np.fft.fft2(rng.standard_normal((size, size))) * ((radius > band[0]) & (radius < band[1]))
    tex = np.real(np.fft.ifft2(spectrum))
    return tex / tex.std() * 30.0 + 128.0


def _shifted(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Exact periodic translation by (dx, dy) (Fourier shift theorem); +dx moves content right."""
    ky = np.fft.fftfreq(img.shape[0])[:, None]
    kx = np.fft.fftfreq(img.shape[1])[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(img) * np.exp(-2j * np.pi * (kx * dx + ky * dy))))


def _displacement(moved: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Measured (dx, dy) of ``moved`` relative to ``reference`` (least-squares fit, mmdata.render.measure)."""
    return np.asarray(estimate_shift(reference, moved))


def test_transfer_passes_3hz_and_blocks_dc_and_nyquist() -> None:
    response = fir_transfer(30, PhaseBasedConfig())  # bins of 1 Hz at 30 fps
    assert response[0] == 0.0
    assert abs(response[3] - 1.0) < 0.02
    assert np.all(np.abs(response[13:]) < 0.05)


@pytest.mark.parametrize("delta, alpha, angle", [(0.1, 10.0, 30.0), (0.02, 50.0, 120.0)])
def test_magnifies_sinusoidal_subpixel_motion_by_alpha(delta: float, alpha: float, angle: float) -> None:
    tex = _texture(np.random.default_rng(1))
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    coeff = np.cos(2 * np.pi * 3.0 * np.arange(30) / 30.0)  # 3 Hz at 30 fps; mean position = tex
    clip = np.stack([_shifted(tex, *(c * delta * direction)) for c in coeff])
    assert np.allclose(_displacement(clip[0], tex), delta * direction, atol=0.006)  # the measurement itself
    out = phase_based_magnify(clip, alpha, frames=[0, 5])  # peaks: +delta and -delta
    for frame, sign in zip(out, (1.0, -1.0)):
        measured = _displacement(frame, tex)
        expected = sign * alpha * delta * direction
        assert np.linalg.norm(measured - expected) <= 0.1 * alpha * delta, (measured, expected)


def test_linear_eulerian_magnifies_small_motion_of_smooth_texture() -> None:
    """First-order magnification holds while alpha * delta is small against the wavelength (>= 16 px here)."""
    tex = _texture(np.random.default_rng(4), band=(0.02, 0.06))
    coeff = np.cos(2 * np.pi * 3.0 * np.arange(30) / 30.0)
    clip = np.stack([_shifted(tex, c * 0.05, 0.0) for c in coeff])
    out = linear_magnify(clip, 10.0, frames=[0, 5])
    for frame, sign in zip(out, (1.0, -1.0)):
        dx, dy = _displacement(frame, tex)
        assert abs(dx - sign * 0.5) <= 0.05 and abs(dy) <= 0.02


def test_alpha_one_and_static_clip_leave_frames_unchanged() -> None:
    short = PhaseBasedConfig(taps=10)  # one period of 3 Hz at 30 fps keeps the test cheap
    tex = _texture(np.random.default_rng(2), 32)
    moving = np.stack([_shifted(tex, 0.3 * np.cos(np.pi * t / 5), 0.0) for t in range(10)])
    assert np.abs(phase_based_magnify(moving, 1.0, short, frames=[0])[0] - moving[0]).max() < 0.05
    static = np.repeat(tex[None], 10, axis=0)
    assert np.abs(phase_based_magnify(static, 50.0, short, frames=[7])[0] - tex).max() < 0.05


def test_colour_clip_is_processed_per_channel() -> None:
    short = PhaseBasedConfig(taps=10)
    rng = np.random.default_rng(3)
    textures = [_texture(rng, 32) for _ in range(3)]
    clip = np.stack([np.stack([_shifted(x, 0.1 * np.cos(np.pi * t / 5), 0.0) for x in textures], axis=-1) for t in range(10)])
    out = phase_based_magnify(clip, 10.0, short, frames=[0])
    assert out.shape == (1, 32, 32, 3)
    gray = phase_based_magnify(clip[..., 1], 10.0, short, frames=[0])
    assert np.allclose(out[0, :, :, 1], gray[0])
    assert not np.allclose(out[0, :, :, 0], gray[0])


def test_bad_input_is_a_clear_error() -> None:
    clip = np.zeros((10, 32, 32))
    with pytest.raises(ConfigError, match="fewer than the filter's 30 taps"):
        phase_based_magnify(clip, 10.0)
    with pytest.raises(ConfigError, match="outside the clip"):
        phase_based_magnify(np.zeros((30, 32, 32)), 10.0, frames=[30])
    with pytest.raises(ConfigError, match="high_hz"):
        PhaseBasedConfig(high_hz=15.0)
    with pytest.raises(ConfigError, match="shape"):
        phase_based_magnify(np.zeros((30, 32)), 10.0)

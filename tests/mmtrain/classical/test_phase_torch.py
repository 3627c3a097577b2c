"""The torch steerable pyramid and the torch phase-based / linear methods equal pyrtools and numpy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch
from pyrtools.pyramids import SteerablePyramidFreq
from skimage.metrics import structural_similarity

from mmdata.errors import ConfigError
from mmtrain.video.clip import ClipSelection
from mmtrain.classical.linear import linear_magnify
from mmtrain.classical.phase import PhaseBasedConfig, phase_based_magnify
from mmtrain.classical.phase_torch import gaussian_blur_reflect, linear_magnify_torch, phase_based_magnify_torch
from mmtrain.classical.steerable import SteerablePyramid
from mmtrain.video.io import VideoReader

SHORT = PhaseBasedConfig(taps=10)  # one 3 Hz period at 30 fps keeps the tests cheap


@pytest.mark.parametrize("shape, orientations", [((32, 32), 8), ((48, 64), 4), ((70, 36), 8)])
def test_pyramid_equals_pyrtools_analysis_and_synthesis(shape, orientations):
    """Every band and residual of pyrtools' complex pyramid, and its reconstruction from changed bands
    (70 x 36: levels of odd size, 35 x 18 and 18 x 9, whose crops pyrtools centres its own way)."""
    rng = np.random.default_rng(0)
    image = rng.random(shape) * 255
    ref = SteerablePyramidFreq(image, height="auto", order=orientations - 1, is_complex=True)
    pyr = SteerablePyramid(shape, orientations=orientations)
    got = pyr.decompose(torch.from_numpy(image))
    assert pyr.levels == ref.num_scales and len(got.bands) == pyr.levels
    for (level, b), coeff in ((k, v) for k, v in ref.pyr_coeffs.items() if isinstance(k, tuple)):
        np.testing.assert_allclose(got.bands[level][b].numpy(), coeff, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.highpass.numpy(), ref.pyr_coeffs["residual_highpass"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.lowpass.numpy(), ref.pyr_coeffs["residual_lowpass"], rtol=0, atol=1e-9)
    for key, coeff in list(ref.pyr_coeffs.items()):  # change every band's phase: synthesis is tested beyond identity
        if isinstance(key, tuple):
            ref.pyr_coeffs[key] = coeff * np.exp(1j * rng.uniform(-3, 3, coeff.shape))
    got.bands = [torch.from_numpy(np.stack([ref.pyr_coeffs[(level, b)] for b in range(orientations)]))
                 for level in range(pyr.levels)]
    np.testing.assert_allclose(pyr.reconstruct(got).numpy(), ref.recon_pyr(), rtol=0, atol=1e-9)


def test_pyramid_batches_frames_and_refuses_odd_or_tiny_frames():
    x = torch.from_numpy(np.random.default_rng(1).random((2, 3, 16, 16)))
    pyr = SteerablePyramid((16, 16), orientations=4)
    d = pyr.decompose(x)
    assert d.bands[0].shape == (2, 3, 4, 16, 16) and d.bands[1].shape == (2, 3, 4, 8, 8)
    recon = pyr.reconstruct(d).numpy()  # a batch is its frames, one by one, as pyrtools reconstructs them
    expected = [SteerablePyramidFreq(f, order=3, is_complex=True).recon_pyr() for f in x.numpy().reshape(6, 16, 16)]
    np.testing.assert_allclose(recon.reshape(6, 16, 16), np.stack(expected), rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match="even frame sides"):
        SteerablePyramid((16, 15))
    with pytest.raises(ConfigError, match="at least 8"):
        SteerablePyramid((6, 6))
    with pytest.raises(ConfigError, match="at least 2 orientations"):
        SteerablePyramid((16, 16), orientations=1)
    with pytest.raises(ConfigError, match="built for 16x16"):
        pyr.spectrum(torch.zeros(1, 8, 8))


@pytest.mark.parametrize("shape", [(64, 64), (4, 6), (3, 3), (2, 40)])
def test_gaussian_blur_equals_scipy_reflect(shape):
    """Kernel (truncate 4) and boundary (half-sample reflection, folded again past the edge on tiny levels)."""
    x = np.random.default_rng(2).random((2,) + shape)
    expected = np.stack([scipy.ndimage.gaussian_filter(v, 2.0, mode="reflect") for v in x])
    np.testing.assert_allclose(gaussian_blur_reflect(torch.from_numpy(x), 2.0).numpy(), expected, rtol=0, atol=1e-12)


def _moving_clip(n: int, size: int, amplitude: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    tex = scipy.ndimage.gaussian_filter(rng.random((size, size, 3)) * 255, (1.5, 1.5, 0))
    kx = np.fft.fftfreq(size)[None, :, None]
    shifts = amplitude * np.cos(2 * np.pi * 3.0 * np.arange(n) / 30.0)
    return np.stack([np.real(np.fft.ifft2(np.fft.fft2(tex, axes=(0, 1)) * np.exp(-2j * np.pi * kx * d), axes=(0, 1)))
                     for d in shifts])


@pytest.mark.parametrize("sigma", [2.0, 0.0])
def test_phase_based_torch_equals_numpy(sigma):
    config = PhaseBasedConfig(taps=10, sigma=sigma)
    clip = _moving_clip(10, 32, 0.3)
    expected = phase_based_magnify(clip, 20.0, config, frames=[0, 4])
    got = phase_based_magnify_torch(clip, 20.0, config, frames=[0, 4])
    assert got.shape == expected.shape == (2, 32, 32, 3)
    assert np.abs(got - expected).max() < 1e-9
    assert np.abs(expected - clip[[0, 4]]).max() > 5  # it did magnify: the equality is not of two copies of the input
    gray = phase_based_magnify_torch(clip[..., 1], 20.0, config, frames=[0])
    np.testing.assert_allclose(gray[0], expected[0, ..., 1], atol=1e-9)


def test_linear_torch_equals_numpy():
    clip = _moving_clip(10, 16, 0.3)
    np.testing.assert_allclose(linear_magnify_torch(clip, 10.0, SHORT, frames=[0, 7]),
                               linear_magnify(clip, 10.0, SHORT, frames=[0, 7]), rtol=0, atol=1e-9)


def test_torch_methods_refuse_bad_input():
    with pytest.raises(ConfigError, match="fewer than the filter's 30 taps"):
        phase_based_magnify_torch(np.zeros((10, 32, 32)), 10.0)
    with pytest.raises(ConfigError, match="outside the clip"):
        phase_based_magnify_torch(np.zeros((10, 32, 32)), 10.0, SHORT, frames=[10])
    with pytest.raises(ConfigError, match="shape"):
        linear_magnify_torch(np.zeros((10, 32)), 10.0, SHORT)
    with pytest.raises(ConfigError, match="even frame sides"):
        phase_based_magnify_torch(np.zeros((10, 32, 33)), 10.0, SHORT)


def test_torch_equals_numpy_on_a_real_clip(shared_data):
    """30 frames of the crane sequence (64 x 64 crop), the paper's filter, alpha 20: SSIM within 1e-4."""
    reader = VideoReader(shared_data / "videos" / "crane_crop.mp4", ClipSelection(frames=30, crop=(108, 60, 64, 64)))
    clip = np.stack(list(reader)).astype(np.float64)
    frames = [0, 7, 15]
    expected = phase_based_magnify(clip, 20.0, frames=frames)
    got = phase_based_magnify_torch(clip, 20.0, frames=frames)
    assert np.abs(got - expected).max() < 1e-6
    for a, b in zip(np.clip(np.rint(got), 0, 255).astype(np.uint8), np.clip(np.rint(expected), 0, 255).astype(np.uint8)):
        assert abs(structural_similarity(a, b, channel_axis=-1, data_range=255) - 1.0) < 1e-4
    lin = linear_magnify_torch(clip, 20.0, frames=frames)
    assert np.abs(lin - linear_magnify(clip, 20.0, frames=frames)).max() < 1e-6


@pytest.mark.parametrize("mode, extra", [("static", {}), ("dynamic", {}),
                                         ("temporal", {"filter": "butter", "band": (2.0, 5.0)}),
                                         ("temporal", {"filter": "diff-iir", "band": (1.0, 4.0)})])
def test_torch_stream_equals_numpy_stream(mode, extra):
    """``mmtrain magnify --method phase-based``: the torch stream (default backend) gives numpy's frames."""
    from mmtrain.classical.phase_frames import phase_based_frames
    from mmtrain.magnify.pipeline import MagnifySettings

    clip = np.clip(np.rint(_moving_clip(6, 32, 0.3)), 0, 255).astype(np.uint8)
    settings = MagnifySettings(alpha=10.0, method="phase-based", mode=mode, **extra).resolve(30.0, len(clip))
    batches = [clip[:4], clip[4:]]
    expected = np.concatenate(list(phase_based_frames(iter(batches), settings)))
    got = np.concatenate(list(phase_based_frames(iter(batches), settings, device="cpu")))
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # uint8: a rounding tie at most
    assert (got != expected).mean() < 1e-3
    assert np.abs(expected.astype(int) - clip.astype(int))[1:].max() > 5  # it did magnify
    with pytest.raises(ConfigError, match="backend: expected one of torch, numpy, openvino, onnxruntime"):
        MagnifySettings(alpha=10.0, method="phase-based", backend="jax").resolve(30.0, 6)


def test_frames_with_an_odd_side_run_in_numpy_on_any_device(caplog):
    """A 33 x 30 video magnifies with the default (torch) backend: those frames go through numpy, said in the log."""
    import logging

    from mmtrain.classical.phase_frames import phase_based_frames
    from mmtrain.magnify.pipeline import MagnifySettings

    clip = np.clip(np.rint(_moving_clip(6, 32, 0.3)), 0, 255).astype(np.uint8)
    clip = np.concatenate([clip, clip[:, :1]], axis=1)[:, :, :30]  # 33 rows, 30 columns
    settings = MagnifySettings(alpha=10.0, method="phase-based").resolve(30.0, len(clip))
    expected = np.concatenate(list(phase_based_frames(iter([clip[:4], clip[4:]]), settings)))
    with caplog.at_level(logging.INFO, logger="mmtrain.classical.phase_frames"):
        got = np.concatenate(list(phase_based_frames(iter([clip[:4], clip[4:]]), settings, device="cpu")))
    assert np.array_equal(got, expected) and np.abs(expected.astype(int) - clip.astype(int))[1:].max() > 5
    assert any("30x33 frames have an odd side; running in numpy" in r.getMessage() for r in caplog.records)

"""The released reference model, loaded by name as a user would, magnifies a known sub-pixel motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fakes import _shift, single_thread  # noqa: F401 (autouse fixture)

from mmdata.render.measure import estimate_shift
from mmtrain.model import load_model
from mmtrain.model.frames import from_model_range, to_model_range
from mmtrain.model.released import RELEASES, card_path


def _texture(size: int, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """A smooth random texture (H, W, 3) on the 0-255 scale, periodic so that Fourier shifts are exact."""
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :]
    lowpass = np.exp(-(fy**2 + fx**2) * (2 * np.pi * sigma) ** 2 / 2)[..., None]
    tex = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size, 3)), axes=(0, 1)) * lowpass, axes=(0, 1)))
    return np.clip(128 + 60 * tex / tex.std(), 0, 255)


def test_the_reference_model_is_released_with_its_card() -> None:
    assert "motionmag-cpu-ref" in RELEASES
    card = card_path("motionmag-cpu-ref").read_text(encoding="utf-8")
    assert RELEASES["motionmag-cpu-ref"].sha256 in card and "**beats doing nothing**" in card


# Measured on this texture (magnified / asked): 0.05 px x 10: 0.33, 0.1 x 10: 0.37 (below half: the
# model under-magnifies the smallest motions at small alpha), 0.2 x 10: 0.54, 0.5 x 10: 0.92,
# 0.2 x 20: 0.78, 0.1 x 50: 0.60, 1.0 x 5: 0.96.
@pytest.mark.parametrize(("delta", "alpha"), [(0.2, 10.0), (0.5, 10.0), (0.2, 20.0), (0.1, 50.0)])
def test_the_reference_model_by_name_magnifies_a_known_subpixel_motion(delta: float, alpha: float) -> None:
    model = load_model("motionmag-cpu-ref")
    rng = np.random.default_rng(7)
    a = _texture(96, rng)
    b = _shift(a, 0.0, delta)  # content moves delta px to the right
    with torch.no_grad():
        out = model(to_model_range(np.round(a)[None]), to_model_range(np.round(b)[None]), alpha)
    y = from_model_range(out)[0].astype(np.float64)
    dx, dy = estimate_shift(a, y, border=16)
    assert dx > 0.5 * alpha * delta, f"magnified {delta} px x {alpha} to only {dx:.3f} px"
    assert abs(dy) < 0.25 * alpha * delta

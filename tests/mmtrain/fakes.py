"""A tiny in-memory stand-in for ``mmdata.open_dataset`` and an analytic motion generator for tests.

Samples are smooth random textures translated by exact sub-pixel shifts (Fourier shift theorem on a
periodic image): A = T, B = T shifted by d, Y = T shifted by alpha * d; B' and Y' add one random RGB
offset (the color perturbation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pytest
import torch


def _shift(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Periodic sub-pixel translation of (H, W, C): content moves by (+dy down, +dx right)."""
    h, w = img.shape[:2]
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    phase = np.exp(-2j * np.pi * (fy * dy + fx * dx))[..., None]
    return np.real(np.fft.ifft2(np.fft.fft2(img, axes=(0, 1)) * phase, axes=(0, 1)))


def make_samples(n: int, size: int, rng: np.random.Generator, *, max_motion: float = 1.0,
                 max_alpha: float = 5.0, sigma: float = 2.0) -> dict[str, np.ndarray]:
    """n analytic training samples (uint8 frames (n, size, size, 3) and alpha (n,))."""
    out = {k: np.zeros((n, size, size, 3), np.uint8) for k in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed", "frame_y")}
    alpha = rng.uniform(2.0, max_alpha, n).astype(np.float32)
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :]
    lowpass = np.exp(-(fy**2 + fx**2) * (2 * np.pi * sigma) ** 2 / 2)[..., None]  # Gaussian, std sigma px
    for i in range(n):
        noise = rng.standard_normal((size, size, 3))
        tex = np.real(np.fft.ifft2(np.fft.fft2(noise, axes=(0, 1)) * lowpass, axes=(0, 1)))
        tex = 128 + 70 * tex / tex.std()
        angle, mag = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, max_motion)
        dy, dx = mag * np.sin(angle), mag * np.cos(angle)
        b, y = _shift(tex, dy, dx), _shift(tex, alpha[i] * dy, alpha[i] * dx)
        offset = rng.uniform(-25, 25, 3)
        q = lambda v: np.clip(np.round(v), 0, 255).astype(np.uint8)  # noqa: E731
        out["frame_a"][i], out["frame_b"][i], out["frame_y"][i] = q(tex), q(b), q(y)
        out["frame_b_perturbed"][i], out["frame_y_perturbed"][i] = q(b + offset), q(y + offset)
    return {**out, "alpha": alpha}


@dataclass(frozen=True)
class FakeShard:
    path: Path
    part: int
    start: int
    count: int


class FakeDataset:
    """The store API subset mmtrain.train.data uses, over arrays in memory, with shards of ``shard_size``."""

    def __init__(self, arrays: dict[str, np.ndarray], shard_size: int, *, drop: Iterable[str] = ()) -> None:
        self.arrays = {k: v for k, v in arrays.items() if k not in set(drop)}
        n = len(next(iter(arrays.values())))
        self.shards = [FakeShard(Path(f"fake/shard-{i:04d}"), 1, s, min(shard_size, n - s))
                       for i, s in enumerate(range(0, n, shard_size))]
        self.manifest_hash = hashlib.sha256(b"".join(v.tobytes() for v in self.arrays.values())).hexdigest()
        self.reads: list[tuple[int, int, int]] = []

    def __len__(self) -> int:
        return sum(s.count for s in self.shards)

    @property
    def fields(self) -> dict[str, np.ndarray]:
        return self.arrays

    def read_run(self, shard_index: int, start: int, stop: int, fields=None) -> dict[str, np.ndarray]:
        shard = self.shards[shard_index]
        assert 0 <= start <= stop <= shard.count
        self.reads.append((shard_index, start, stop))
        names = list(fields) if fields is not None else list(self.arrays)
        return {k: self.arrays[k][shard.start + start:shard.start + stop].copy() for k in names}


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """One intra-op thread for these tests: small convolutions on a shared, loaded CPU run far faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def trained_pair() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A tiny ``paper`` network after one Adam step (non-trivial weights and optimizer state), seed 0."""
    from mmtrain.model.network import make_model

    torch.manual_seed(0)
    model = make_model("paper", n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(1, 3, 16, 16)
    model(x, x.flip(-1), 3.0).abs().mean().backward()
    opt.step()
    return model, opt

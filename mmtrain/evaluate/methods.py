"""The methods scored by the evaluation, behind one small interface.

Every method maps a case to an 8-bit RGB frame that should equal the ground truth ``frame_y``:

* ``oracle``: the ground truth itself (SSIM 1; proves the harness);
* ``do_nothing``: the input frame B unchanged (its SSIM is the paper's baseline);
* ``phase_based``: Wadhwa et al. 2013 on the case's clip, frame 0 (:mod:`mmtrain.evaluate.baselines`);
* ``linear``: linear Eulerian magnification (Wu et al. 2012) on the clip, same temporal filter;
  both in torch on a chosen device (``backend="torch"``, :mod:`mmtrain.classical.phase_torch`) or in
  numpy (``backend="numpy"``), with the same numbers;
* a network (:class:`NetworkMethod`): any of our checkpoints or the authors' weights, two frames
  (A, B) and alpha, no temporal filter, as the paper ran it.

Outputs are rounded and clipped to uint8, as a magnified video would be.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from mmdata.errors import ConfigError
from mmtrain.model.frames import from_model_range, to_model_range
from mmtrain.evaluate.baselines import PhaseBasedConfig, linear_magnify, phase_based_magnify
from mmtrain.classical.phase_torch import linear_magnify_torch, phase_based_magnify_torch

__all__ = ["Method", "Oracle", "DoNothing", "ClipMethod", "PhaseBased", "LinearEulerian", "NetworkMethod", "BUILTIN_METHODS",
           "BACKENDS", "make_builtin", "load_network", "to_uint8"]

#: Names of the methods that need no weights.
BUILTIN_METHODS: tuple[str, ...] = ("oracle", "do_nothing", "phase_based", "linear")
#: Implementations of the classical baselines (``phase_based``, ``linear``).
BACKENDS: tuple[str, ...] = ("torch", "numpy")


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Round and clip a float image (0-255 units) to uint8."""
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


class Method(Protocol):
    """A magnification method under test."""

    name: str
    needs_clip: bool  # whether it reads the case's clip (temporal filtering) rather than (A, B)

    def __call__(self, pair: dict[str, np.ndarray], clip: np.ndarray | None, alpha: float) -> np.ndarray:
        """The magnified frame, uint8 (H, W, 3), from ``pair`` (frame_a, frame_b, frame_y) or ``clip``."""


@dataclass
class Oracle:
    """Returns the ground truth: scores SSIM 1 by construction."""

    name: str = "oracle"
    needs_clip: bool = False

    def __call__(self, pair: dict[str, np.ndarray], clip: np.ndarray | None, alpha: float) -> np.ndarray:
        return pair["frame_y"]


@dataclass
class DoNothing:
    """Returns input frame B: its SSIM is the baseline SSIM(input, ground truth)."""

    name: str = "do_nothing"
    needs_clip: bool = False

    def __call__(self, pair: dict[str, np.ndarray], clip: np.ndarray | None, alpha: float) -> np.ndarray:
        return pair["frame_b"]


@dataclass
class ClipMethod:
    """A method that filters the case's clip in time; scored on frame 0 (= B's displacement)."""

    name: str
    magnify: Callable[..., np.ndarray]  # (clip, alpha, config, frames=[...]) -> float frames
    config: PhaseBasedConfig
    needs_clip: bool = True

    def __call__(self, pair: dict[str, np.ndarray], clip: np.ndarray | None, alpha: float) -> np.ndarray:
        if clip is None:
            raise ConfigError(f"{self.name}: needs the case's clip")
        return to_uint8(self.magnify(clip, alpha, self.config, frames=[0])[0])


def _backend(numpy_fn: Callable[..., np.ndarray], torch_fn: Callable[..., np.ndarray], backend: str,
             device: torch.device | str) -> Callable[..., np.ndarray]:
    if backend not in BACKENDS:
        raise ConfigError(f"evaluate.phase_based.backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    return numpy_fn if backend == "numpy" else functools.partial(torch_fn, device=str(device))


def PhaseBased(config: PhaseBasedConfig, backend: str = "numpy", device: torch.device | str = "cpu") -> ClipMethod:  # noqa: N802
    """The phase-based method with its temporal band-pass (:func:`mmtrain.evaluate.baselines.phase_based_magnify`,
    or :func:`mmtrain.classical.phase_torch.phase_based_magnify_torch` on ``device`` with ``backend="torch"``)."""
    return ClipMethod("phase_based", _backend(phase_based_magnify, phase_based_magnify_torch, backend, device), config)


def LinearEulerian(config: PhaseBasedConfig, backend: str = "numpy", device: torch.device | str = "cpu") -> ClipMethod:  # noqa: N802
    """Linear Eulerian magnification with the same band-pass (:func:`mmtrain.evaluate.baselines.linear_magnify`,
    or :func:`mmtrain.classical.phase_torch.linear_magnify_torch`)."""
    return ClipMethod("linear", _backend(linear_magnify, linear_magnify_torch, backend, device), config)


@dataclass
class NetworkMethod:
    """A trained network applied to (A, B) with alpha, without temporal filter."""

    name: str
    model: torch.nn.Module
    device: str = "cpu"
    needs_clip: bool = False

    @torch.no_grad()
    def __call__(self, pair: dict[str, np.ndarray], clip: np.ndarray | None, alpha: float) -> np.ndarray:
        def tensor(img: np.ndarray) -> torch.Tensor:  # (H, W, 3) uint8 -> (1, 3, H, W) in [-1, 1]
            return to_model_range(img[None], self.device)

        y = self.model.magnify(tensor(pair["frame_a"]), tensor(pair["frame_b"]), float(alpha))  # (1, 3, H, W)
        return from_model_range(y)[0]


def make_builtin(name: str, phase_config: PhaseBasedConfig, *, backend: str = "numpy",
                 device: torch.device | str = "cpu") -> Method:
    """A built-in method by name; ``backend`` and ``device`` choose how the classical baselines run.

    Raises:
        ConfigError: unknown name or backend.
    """
    if name == "oracle":
        return Oracle()
    if name == "do_nothing":
        return DoNothing()
    if name == "phase_based":
        return PhaseBased(phase_config, backend, device)
    if name == "linear":
        return LinearEulerian(phase_config, backend, device)
    raise ConfigError(f"evaluate.methods: unknown method {name!r}; expected one of {', '.join(BUILTIN_METHODS)}")


def load_network(spec: str, device: str = "cpu") -> NetworkMethod:
    """A network method from ``NAME=SPEC`` (or a bare SPEC, named after its file stem).

    SPEC is a model spec as everywhere (:func:`mmtrain.model.registry.resolve_model`): a released or
    registered model's name, our checkpoint, the authors' weights.

    Args:
        spec: e.g. ``official=weights.npz``, ``ref=motionmag-cpu-ref``, ``official`` or ``results/train/final.pt``.
        device: where to run it.

    Raises:
        ConfigError: the name is empty or clashes with a built-in method.
        CheckpointError: the weights do not load (:func:`mmtrain.model.checkpoint.load_model`).
    """
    from mmtrain.model.checkpoint import load_model

    name, sep, path = spec.partition("=")
    if not sep:
        name, path = Path(spec).stem, spec
    if not name or name in BUILTIN_METHODS:
        raise ConfigError(f"--model {spec!r}: expected NAME=SPEC with a name other than {', '.join(BUILTIN_METHODS)}")
    return NetworkMethod(name=name, model=load_model(path, device=device), device=device)

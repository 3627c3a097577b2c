"""One call to magnify an array of frames: :func:`magnify` (and :func:`magnify_iter` for long clips).

Both build the :class:`~mmtrain.magnify.pipeline.MagnifySettings`, load the network when the method
needs it, and run the method of choice — the network (:func:`~mmtrain.magnify.pipeline.magnify_frames`),
the phase-based method (:func:`~mmtrain.classical.phase_frames.phase_based_frames`) or linear Eulerian
magnification (:func:`~mmtrain.classical.linear.linear_frames`) — with every check of the command line
(for instance an FIR band-pass too short for its band is refused, see :mod:`mmtrain.temporal.fircheck`).

Example:
    >>> import numpy as np
    >>> from mmtrain.magnify import magnify
    >>> from mmtrain.magnify.demo import SinusoidVideo, demo_image
    >>> clip = np.stack(list(SinusoidVideo(demo_image("astronaut"), size=(32, 32), amplitude=0.2, freq=2,
    ...                                    fps=30).frames(6)))
    >>> magnify(clip, 5, mode="static", method="linear").shape
    (6, 32, 32, 3)

With the network: ``magnify(clip, 10)`` (the default model, ``motionmag-cpu-ref``, logged as
``model: motionmag-cpu-ref (default)``), ``magnify(clip, 10, model="official")`` or
``model="weights.npz"`` (any spec of :func:`mmtrain.model.registry.resolve_model`); a temporal band:
``magnify(clip, 20, mode="temporal", filter="butter", band=(1, 3), fps=30, model=...)``.
``checkpoint=`` is the deprecated name of ``model=``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from mmdata.errors import ConfigError
from mmtrain.magnify.pipeline import MagnifySettings, magnify_frames, select_device
from mmtrain.magnify.roi import Region

__all__ = ["load_for", "magnify_batches", "magnify", "magnify_iter"]

log = logging.getLogger(__name__)

ModelArg = str | os.PathLike[str] | torch.nn.Module | None

#: A region of interest: ``(x, y, w, h)`` or a :class:`~mmtrain.magnify.roi.Region` (with its feather).
RoiArg = Region | Sequence[int] | None


def _model_arg(model: ModelArg, checkpoint: ModelArg) -> ModelArg:
    """``model``, or the deprecated ``checkpoint`` (with a warning); both given and different is an error."""
    if checkpoint is None:
        return model
    log.warning("checkpoint= is deprecated; use model=")
    if model is not None and model is not checkpoint and str(model) != str(checkpoint):
        raise ConfigError(f"model: given twice, as model={model!s} and checkpoint={checkpoint!s}")
    return checkpoint


def load_for(settings: MagnifySettings, model: ModelArg, *,
             device: torch.device | str = "cpu", model_preset: str | None = None) -> torch.nn.Module | None:
    """The network the settings need (``None`` for the classical methods).

    Args:
        settings: the run's settings.
        model: a model spec (:func:`mmtrain.model.registry.resolve_model`: a path, a released or
            registered name), a loaded model, or ``None`` for the default model (logged).

    Raises:
        CheckpointError: the model cannot be found or loaded.
    """
    if settings.method != "network":
        return None
    if isinstance(model, torch.nn.Module):
        return model.to(device).eval()
    from mmtrain.model.checkpoint import load_model
    from mmtrain.model.registry import default_model_spec

    return load_model(default_model_spec(model), device=device, preset=model_preset)


def magnify_batches(model: torch.nn.Module | None, batches: Iterable[np.ndarray], settings: MagnifySettings, *,
                    n_frames: int, device: torch.device | str = "cpu", work_dir: str | os.PathLike[str] | None = None,
                    progress: bool = False) -> Iterator[np.ndarray]:
    """Magnify batches of uint8 frames ``(n, H, W, 3)`` with ``settings.method``; yields uint8 batches."""
    if settings.method == "phase_based":
        from mmtrain.classical.phase_frames import phase_based_frames

        return phase_based_frames(batches, settings, device=device if settings.backend == "torch" else None)
    if settings.method == "linear":
        from mmtrain.classical.linear import linear_frames

        return linear_frames(batches, settings)
    return magnify_frames(model, batches, settings, n_frames=n_frames, device=device, work_dir=work_dir,
                          progress=progress)


def _settings(alpha: float, n_frames: int, fps: float | None, options: dict) -> MagnifySettings:
    band = options.pop("band", None)
    settings = MagnifySettings(alpha=float(alpha), fps=fps, band=tuple(band) if band is not None else None,
                               **options)
    if settings.mode == "temporal" and fps is None:
        raise ConfigError("fps: the temporal mode needs the clip's frame rate (fps=...) for its band")
    return settings.resolve(float(fps or 1.0), n_frames)


def magnify_iter(frames: Iterable[np.ndarray], alpha: float, *, n_frames: int, model: ModelArg = None,
                 checkpoint: ModelArg = None, fps: float | None = None, device: str | None = "auto", model_preset: str | None = None,
                 work_dir: str | os.PathLike[str] | None = None, roi: RoiArg = None, feather: int | None = None,
                 **options) -> Iterator[np.ndarray]:
    """Magnify a stream of RGB uint8 frames ``(H, W, 3)``; yields magnified frames one by one.

    Args:
        frames: the frames, e.g. a :class:`~mmtrain.video.io.VideoReader`.
        alpha: magnification factor (a motion ``delta`` becomes ``alpha * delta``).
        n_frames: the clip's length (the FIR filter is designed for it; other modes only check it).
        model: a model spec (a path, ``motionmag-cpu-ref``, ``official``...) or a loaded model
            (``method="network"``); ``None``: the default model (``motionmag-cpu-ref``, logged).
        checkpoint: deprecated name of ``model``.
        fps: frame rate the band refers to (temporal mode).
        device: ``auto``, ``cpu``, ``cuda``...
        model_preset: the architecture the checkpoint must hold.
        work_dir: folder for the FIR mode's temporary store.
        roi: magnify only this region ``(x, y, w, h)`` (:mod:`mmtrain.magnify.roi`); every pixel farther
            than ``feather`` from it is the input's, byte for byte. The input frames wait for their
            output in memory: a few batches, the whole clip in the FIR mode.
        feather: width of the region's blended edge in pixels (default 16).
        **options: any :class:`MagnifySettings` field: ``method``, ``mode``, ``filter``, ``band``,
            ``order``, ``batch``, ``allow_leaky_fir``...

    Raises:
        ConfigError, CheckpointError: as :func:`magnify`.
    """
    from mmtrain.video.io import batched

    settings = _settings(alpha, n_frames, fps, dict(options))
    region = None if roi is None else Region.parse(roi, feather)
    dev = select_device(device)
    net = load_for(settings, _model_arg(model, checkpoint), device=dev, model_preset=model_preset)
    held: deque[np.ndarray] = deque()  # input frames waiting for their output (a region only)
    source = batched(frames, settings.batch)
    if region is not None:
        source = _windows(source, region, held)
    with contextlib.closing(magnify_batches(net, source, settings, n_frames=n_frames,
                                            device=dev, work_dir=work_dir)) as batches:  # FIR: spill removed at once
        for batch in batches:
            if region is not None:
                batch = region.paste(np.stack([held.popleft() for _ in range(len(batch))]), batch)
            yield from batch


def _windows(batches: Iterable[np.ndarray], region: Region, held: deque[np.ndarray]) -> Iterator[np.ndarray]:
    """The region's window of every batch, keeping the whole input frames in ``held``."""
    for frames in batches:
        region.check(frames.shape[2], frames.shape[1])
        held.extend(frames)
        yield np.ascontiguousarray(region.crop(frames))


def magnify(frames: np.ndarray, alpha: float, *, mode: str = "static", model: ModelArg = None,
            checkpoint: ModelArg = None, band: tuple[float, float] | None = None, fps: float | None = None, method: str = "network",
            **options) -> np.ndarray:
    """Magnify the motion in a clip held in memory.

    Args:
        frames: uint8 array ``(T, H, W, 3)``, RGB.
        alpha: magnification factor.
        mode: ``static`` (against the first frame), ``dynamic`` (the previous) or ``temporal``.
        model: a model spec (a path to our checkpoint or the authors' ``weights.npz``, a released
            or registered name) or a loaded model; network only. ``None``: the default model
            (``motionmag-cpu-ref``), logged as ``model: motionmag-cpu-ref (default)``.
        checkpoint: deprecated name of ``model``.
        band: ``(low, high)`` in Hz, temporal mode.
        fps: the clip's frame rate, temporal mode.
        method: ``network``, ``phase_based`` or ``linear`` (``phase-based``: deprecated spelling).
        roi: magnify only the region ``(x, y, w, h)`` with a feathered edge (``feather=PX``, default 16);
            the rest of every frame is the input's, byte for byte (:mod:`mmtrain.magnify.roi`).
        **options: further :func:`magnify_iter` / :class:`MagnifySettings` options (``filter``,
            ``order``, ``batch``, ``device``, ``allow_leaky_fir``...).

    Returns:
        uint8 array ``(T, H, W, 3)``.

    Raises:
        ConfigError: wrong array shape or type, or a bad setting (no band, FIR too short, a region
            outside the frame...).
        CheckpointError: the checkpoint cannot be loaded.

    Shape:
        ``(T, H, W, 3)`` -> ``(T, H, W, 3)``
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ConfigError(f"frames: expected a uint8 array (T, H, W, 3) with T >= 1, got {frames.dtype} {frames.shape}")
    if options.get("roi") is not None:  # before any model is loaded
        Region.parse(options["roi"], options.get("feather")).check(frames.shape[2], frames.shape[1])
    out = magnify_iter(iter(frames), alpha, n_frames=len(frames), model=_model_arg(model, checkpoint), fps=fps, mode=mode,
                       band=band, method=method, **options)
    return np.stack(list(out))

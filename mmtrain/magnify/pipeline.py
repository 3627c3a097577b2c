"""Magnify the motion in videos: static, dynamic and temporal-filter modes (paper section 3.2, Eq. 4).

* ``static``: every frame is magnified against the first frame (the reference),
  ``y_t = D(V_t, G_m(M_0, M_t, alpha))``.
* ``dynamic``: against the previous frame (velocity), ``y_t = D(V_t, G_m(M_{t-1}, M_t, alpha))``; the
  first frame is magnified against itself.
* ``temporal`` (Eq. 4): the difference of shape representations is replaced by a pixel-wise temporal
  band-pass ``T`` of the shape representation ``M``: ``y_t = D(V_t, M_t + H(T(M)_t, alpha))`` where
  ``H`` is the manipulator's added term (:meth:`MagNet.magnify_delta`: paper ``h(alpha g(.))``,
  official ``h((alpha - 1) g(.))``). Filters: ``fir``, ``butter``, ``diff-iir`` (see
  :mod:`mmtrain.temporal.filters`). FIR needs every frame first, so its representations go through a
  temporary Zarr store (:mod:`mmtrain.temporal.spill`); the other modes stream with one batch in memory.

Differences from the authors' code (``run_temporal``), kept available with ``official_fir=True``:
their FIR path decodes *every* frame against the *last* frame's shape, ``y_t = D(V_t, M_{T-1} +
H(F_t))``, not ``M_t``, and places the FIR taps with ``fft(ifftshift(taps), n=T)``, which is not zero
phase when there are fewer taps than frames. Their IIR paths (Butterworth, difference of IIR) use
``M_t`` as Eq. 4 does.

Writing a magnified video file is :func:`mmtrain.magnify.videofile.magnify_video`.

Frames of any size are reflect-padded to multiples of 4 and cropped back; the output is the network's
output clipped to [-1, 1] and rounded to uint8 (the authors truncate).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch

from mmdata.errors import ConfigError
from mmtrain.model.frames import from_model_range, pad_to_multiple, to_model_range
from mmtrain.temporal.filters import FILTER_KINDS, fir_response, make_streaming_filter, validate_band
from mmtrain.magnify.methodnames import DEPRECATED_METHODS, METHODS, MODES, canonical_method
from mmtrain.model.network import BORDERS, set_border
from mmtrain.model.exported import RUNTIMES
from mmtrain.model.runtime import (PRECISIONS, autocast, check_precision, maybe_compile, release_freed_memory,
                                  retain_freed_memory, to_channels_last)

__all__ = ["MODES", "PIPELINE_PRECISIONS", "METHODS", "DEPRECATED_METHODS", "canonical_method", "MagnifySettings", "select_device", "frames_to_tensor", "tensor_to_frames",
           "magnify_frames"]

log = logging.getLogger(__name__)

#: The backends that run an exported graph of the network (:mod:`mmtrain.model.exported`).
EXPORTED_BACKENDS: tuple[str, ...] = tuple(RUNTIMES)
#: What runs a method: torch (both), numpy (phase-based only), an exported runtime (the network only, on the CPU).
BACKENDS: tuple[str, ...] = ("torch", "numpy", *EXPORTED_BACKENDS)

#: The network precisions of the video modes: those of :mod:`mmtrain.model.runtime` and the decoder alone in bf16.
PIPELINE_PRECISIONS: tuple[str, ...] = (*PRECISIONS, "bf16-decoder")


@dataclass(frozen=True)
class MagnifySettings:
    """How to magnify a video (one object built at the edge from CLI flags or config).

    Attributes:
        alpha: magnification factor.
        method: ``network``, ``phase_based`` (Wadhwa et al. 2013) or ``linear`` (Wu et al. 2012);
            ``phase-based`` is accepted as a deprecated spelling.
        mode: ``static``, ``dynamic`` or ``temporal``.
        filter: temporal mode only: ``fir``, ``butter`` or ``diff-iir``.
        band: temporal mode only: ``(low, high)`` pass band in Hz.
        fps: sampling rate the band refers to; ``None`` = the video's frame rate.
        order: Butterworth order as passed to ``scipy.signal.butter``.
        batch: frames per network call.
        official_fir: FIR as the authors' code does it (last frame's shape as reference, their tap
            placement); reproduces their outputs.
        fir_taps: FIR tap count; ``None`` = as many as frames (odd: T or T - 1).
        fir_memory_mb: memory budget of the FIR filtering step (tiles are sized from it).
        call_pixels: pixels per network call: a batch is run in calls of as many whole frames as fit
            (at least one), since activations of larger calls fall out of the CPU's caches.
        channels_last: run the network in channels_last memory format (exact; faster on CPU and CUDA).
        precision: ``fp32``, ``bf16`` (autocast, CPU and CUDA), ``bf16-decoder`` (the decoder alone in
            bf16: the encoder and the manipulator, which multiplies their errors by alpha, stay float32)
            or ``fp16`` (autocast, CUDA only); see :mod:`mmtrain.model.runtime` for their accuracy.
        border: how the reflect-padded convolutions compute their border, ``copy`` (one padded copy;
            fewer operations, each of which waits for every thread) or ``strips`` (the reference;
            no copy); equal within float rounding (:data:`mmtrain.model.network.BORDERS`).
        compile: ``torch.compile`` the network's parts (slow first call per frame size).
        threads: CPU threads of the network; ``None`` = the CPUs this process may use.
        allow_leaky_fir: run an FIR whose DC or stop-band gain exceeds the limits of
            :mod:`mmtrain.temporal.fircheck` instead of refusing it.
        backend: what runs the method: ``torch`` (the phase-based method on the run's device,
            :class:`mmtrain.classical.phase_torch.PhaseBasedStreamTorch`; the network eager),
            ``numpy`` (phase-based only: pyrtools), or ``openvino`` / ``onnxruntime`` (network only, on
            the CPU: :class:`mmtrain.model.exported.ExportedNet`; ``compile`` and ``channels_last`` do
            not apply).
    """

    alpha: float
    method: str = "network"
    mode: str = "static"
    filter: str = "fir"
    band: tuple[float, float] | None = None
    fps: float | None = None
    order: int = 2
    batch: int = 4
    official_fir: bool = False
    fir_taps: int | None = None
    fir_memory_mb: float = 256.0
    call_pixels: int = 2**18
    channels_last: bool = True
    precision: str = "fp32"
    border: str = "copy"
    compile: bool = False
    threads: int | None = None
    allow_leaky_fir: bool = False
    backend: str = "torch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", canonical_method(self.method))

    def resolve(self, video_fps: float, n_frames: int) -> "MagnifySettings":
        """Check every value against the video and fill in the sampling rate.

        Raises:
            ConfigError: naming the offending option (unknown mode or filter, missing band, band
                above Nyquist or inverted, bad alpha/batch/taps, too few frames for FIR).
        """
        if self.method not in METHODS:
            raise ConfigError(f"method: expected one of {', '.join(METHODS)}, got {self.method!r}")
        if self.mode not in MODES:
            raise ConfigError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if not np.isfinite(self.alpha):
            raise ConfigError(f"alpha: expected a finite magnification factor, got {self.alpha}")
        if self.batch < 1:
            raise ConfigError(f"batch: expected at least 1 frame per batch, got {self.batch}")
        if self.call_pixels < 1:
            raise ConfigError(f"call_pixels: expected a positive pixel count, got {self.call_pixels}")
        if self.precision not in PIPELINE_PRECISIONS:
            raise ConfigError(f"precision: expected one of {', '.join(PIPELINE_PRECISIONS)}, got {self.precision!r}")
        if self.border not in BORDERS:
            raise ConfigError(f"border: expected one of {', '.join(BORDERS)}, got {self.border!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend: expected one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.backend in EXPORTED_BACKENDS and self.method != "network":
            raise ConfigError(f"backend: {self.backend} runs the network; {self.method} runs in torch or numpy")
        if self.backend in EXPORTED_BACKENDS and self.compile:
            raise ConfigError(f"compile: torch.compile does not apply to backend {self.backend}, which runs its own graph")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads: expected a positive thread count, got {self.threads}")
        if self.mode != "temporal":
            return self
        if self.filter not in FILTER_KINDS:
            raise ConfigError(f"filter: expected one of {', '.join(FILTER_KINDS)}, got {self.filter!r}")
        if self.band is None:
            raise ConfigError("band: the temporal mode needs a pass band LOW HIGH in Hz")
        fps = float(self.fps if self.fps is not None else video_fps)
        band = validate_band(self.band, fps)
        if self.filter == "fir" and self.method != "network":
            raise ConfigError(f"filter: the {self.method} method streams with --filter butter or diff-iir; "
                              "an FIR over the whole clip would hold every frame's pyramid in memory")
        if self.filter == "fir":
            if self.fir_memory_mb <= 0:
                raise ConfigError(f"fir_memory_mb: expected a positive budget, got {self.fir_memory_mb}")
            _check_fir(n_frames, band, fps, self)
        else:
            make_streaming_filter(self.filter, band, fps, order=self.order)
        return replace(self, fps=fps, band=band)


def _check_fir(n_frames: int, band: tuple[float, float], fps: float, s: MagnifySettings) -> None:
    """Refuse (or, with ``allow_leaky_fir``, warn about) an FIR that is no band-pass; log a wide band."""
    from mmtrain.temporal.fircheck import check_fir, require_fir

    kwargs = dict(numtaps=s.fir_taps, official=s.official_fir)
    if s.allow_leaky_fir:
        report = check_fir(n_frames, band, fps, **kwargs)
        if not report.ok:
            log.warning("FIR over %d frames: DC gain %.2f, stop-band gain %.2f (run anyway: allow_leaky_fir)",
                        n_frames, report.dc_gain, report.stop_gain)
    else:
        report = require_fir(n_frames, band, fps, **kwargs)
    if report.wider:
        log.warning("%s", report.describe())


def select_device(name: str | None = "auto") -> torch.device:
    """``auto``/``None`` picks CUDA when available, else CPU.

    Raises:
        ConfigError: CUDA requested but not available, or an unknown device name.
    """
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device: unknown device {name!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} requested but CUDA is not available")
    return device


def frames_to_tensor(frames: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB uint8 frames ``(n, H, W, 3)`` to network input ``(n, 3, H', W')`` in [-1, 1].

    ``H'``, ``W'`` are ``H``, ``W`` rounded up to multiples of 4 by reflect padding at the bottom and
    right (replicate for frames of 3 pixels or fewer).
    """
    return pad_to_multiple(to_model_range(frames, device), 4)


def tensor_to_frames(y: torch.Tensor, height: int, width: int) -> np.ndarray:
    """Network output ``(n, 3, H', W')`` to RGB uint8 frames ``(n, height, width, 3)`` (clip, round)."""
    return from_model_range(y[..., :height, :width])


@torch.no_grad()
def magnify_frames(model: torch.nn.Module, batches: Iterable[np.ndarray], settings: MagnifySettings, *,
                   n_frames: int, device: torch.device | str = "cpu", work_dir: str | os.PathLike[str] | None = None,
                   progress: bool = False) -> Iterator[np.ndarray]:
    """Magnify a clip given as batches of frames; yields the magnified batches in order.

    Args:
        model: a :class:`mmtrain.model.network.MagNet` (eval mode) on ``device``.
        batches: uint8 arrays ``(n, H, W, 3)`` of consecutive frames.
        settings: resolved settings (:meth:`MagnifySettings.resolve`).
        n_frames: number of frames in the clip (FIR sizes its store and filter from it).
        device: where the network runs.
        work_dir: folder for the FIR mode's temporary store.
        progress: show tqdm bars for the FIR mode's passes.

    Returns:
        Iterator of uint8 arrays ``(n, H, W, 3)``, one per input batch (FIR: per ``settings.batch``).
    """
    net = _Net(model, settings, torch.device(device))
    if settings.mode == "temporal" and settings.filter == "fir":
        yield from _magnify_fir(net, batches, settings, n_frames=n_frames, work_dir=work_dir, progress=progress)
        return
    step = _make_step(net.model, settings)
    for frames in batches:
        outs = []
        for chunk in net.chunks(frames):
            texture, shape = net.encode(chunk)
            outs.append(net.decode(texture, lambda: step(shape), size=frames.shape[1:3]))
        yield np.concatenate(outs) if len(outs) > 1 else outs[0]


class _Net:
    """The network as the video modes call it: sized calls, memory format, precision, compilation.

    ``encode`` takes uint8 frames; ``decode`` applies a manipulation to the shape and returns uint8
    frames. Every network call runs under the settings' autocast (``bf16-decoder``: the decoder's
    alone); the representations between calls are float32 (the temporal filters and the spill store
    see full precision).
    """

    def __init__(self, model: torch.nn.Module, s: MagnifySettings, device: torch.device) -> None:
        decoder_only = s.precision == "bf16-decoder"
        self.encode_precision = "fp32" if decoder_only else s.precision
        self.decode_precision = "bf16" if decoder_only else s.precision
        check_precision(self.decode_precision, device)
        set_border(model, s.border)  # in place, like the memory format: the same sums in another order
        if device.type == "cpu":
            retain_freed_memory()  # large activations reused, not page-faulted in again at every call
        self.settings, self.device = s, device
        self.exported = s.backend in EXPORTED_BACKENDS
        if self.exported:
            if device.type != "cpu":
                raise ConfigError(f"backend: {s.backend} runs on the CPU; use --device cpu, not {device}")
            from mmtrain.model.exported import ExportedNet
            from mmtrain.model.runtime import configure_threads

            # torch's count as configure_threads sets it: --threads, else OMP_NUM_THREADS or the CPUs allowed
            self.model: Any = ExportedNet(model, runtime=s.backend, threads=configure_threads(s.threads),
                                          encode_precision=self.encode_precision, decode_precision=self.decode_precision)
            return
        if s.channels_last:
            model.to(memory_format=torch.channels_last)  # in place: the weights' values are unchanged
        self.model = maybe_compile(model, s.compile)

    def chunks(self, frames: np.ndarray) -> Iterator[np.ndarray]:
        """Consecutive runs of ``frames`` of at most ``call_pixels`` pixels each (at least one frame)."""
        per_call = max(1, self.settings.call_pixels // max(1, frames.shape[1] * frames.shape[2]))
        for i in range(0, len(frames), per_call):
            yield frames[i:i + per_call]

    def tensor(self, a: np.ndarray | torch.Tensor) -> torch.Tensor:
        """A representation read back (numpy or tensor) on the device, in the network's memory format."""
        x = torch.from_numpy(a) if isinstance(a, np.ndarray) else a
        x = x.to(self.device)
        return to_channels_last(x) if self.settings.channels_last and not self.exported else x

    def encode(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Texture and shape (float32) of uint8 frames ``(n, H, W, 3)``."""
        with autocast(self.device, self.encode_precision):
            texture, shape = self.model.encode(self.tensor(frames_to_tensor(frames, self.device)))
        return texture.float(), shape.float()

    def decode(self, texture: torch.Tensor, manipulated: Callable[[], torch.Tensor], *,
               size: tuple[int, int]) -> np.ndarray:
        """uint8 frames ``(n, *size, 3)`` decoded from ``texture`` and the shape ``manipulated()`` returns."""
        if self.decode_precision != self.encode_precision:  # the manipulation outside the decoder's autocast
            shape = manipulated()
            with autocast(self.device, self.decode_precision):
                y = self.model.decode(self.tensor(texture), shape)
            return tensor_to_frames(y.float(), *size)
        with autocast(self.device, self.encode_precision):
            y = self.model.decode(self.tensor(texture), manipulated())
        return tensor_to_frames(y.float(), *size)


def _make_step(model: torch.nn.Module, s: MagnifySettings) -> Callable[[torch.Tensor], torch.Tensor]:
    """The streaming manipulation of one batch of shape representations (stateful closure)."""
    state: dict[str, torch.Tensor] = {}
    if s.mode == "static":
        def step(shape: torch.Tensor) -> torch.Tensor:
            ref = state.setdefault("ref", shape[:1].clone())  # not a view: frees the batch
            return model.manipulate(ref.expand_as(shape), shape, s.alpha)
    elif s.mode == "dynamic":
        def step(shape: torch.Tensor) -> torch.Tensor:
            ref = torch.cat([state.get("prev", shape[:1]), shape[:-1]])
            state["prev"] = shape[-1:].clone()
            return model.manipulate(ref, shape, s.alpha)
    else:
        temporal = make_streaming_filter(s.filter, s.band, s.fps, order=s.order)

        def step(shape: torch.Tensor) -> torch.Tensor:
            return shape + model.magnify_delta(temporal(shape), s.alpha)
    return step


def _magnify_fir(net: _Net, batches: Iterable[np.ndarray], s: MagnifySettings, *, n_frames: int,
                 work_dir: str | os.PathLike[str] | None, progress: bool) -> Iterator[np.ndarray]:
    """FIR temporal mode: encode and spill every frame, filter tile-wise, decode in batches."""
    from tqdm.auto import tqdm

    from mmtrain.temporal.spill import RepresentationSpill

    model = net.model
    spill: RepresentationSpill | None = None
    size: tuple[int, int] | None = None
    try:
        for frames in _rebatch(batches, s.batch):
            parts = [net.encode(chunk) for chunk in net.chunks(frames)]
            texture, shape = (np.concatenate([p[k].cpu().numpy() for p in parts]) for k in (0, 1))
            if spill is None:
                size = frames.shape[1:3]
                spill = RepresentationSpill(n_frames, tuple(texture.shape[1:]), tuple(shape.shape[1:]),
                                            batch=s.batch, memory_bytes=s.fir_memory_mb * 2**20,
                                            workers=torch.get_num_threads(), work_dir=work_dir)
            spill.append(texture, shape)
            del parts, texture, shape
        if spill is None:
            return
        t = spill.n_frames
        response = fir_response(t, s.band, s.fps, numtaps=s.fir_taps, official=s.official_fir)
        release_freed_memory()  # the encoding pass's buffers
        spill.filter(response, progress=progress)
        release_freed_memory()  # the filter workers' buffers, in heaps the decoding pass does not use
        last = net.tensor(spill.read(t - 1, t)[1])
        per_call = max(1, s.call_pixels // max(1, size[0] * size[1]))
        for start in tqdm(range(0, t, s.batch), desc="FIR decode", unit="batch", disable=None if progress else True):
            outs = []
            for i in range(start, min(start + s.batch, t), per_call):
                texture, shape, filtered = (net.tensor(a) for a in spill.read(i, min(i + per_call, start + s.batch, t)))
                base = last.expand_as(shape) if s.official_fir else shape
                outs.append(net.decode(texture, lambda: base + model.magnify_delta(filtered, s.alpha), size=size))
            yield np.concatenate(outs) if len(outs) > 1 else outs[0]
    finally:
        if spill is not None:
            spill.close()


def _rebatch(batches: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Regroup batches of frames into batches of exactly ``size`` frames (the last may be shorter)."""
    buf: list[np.ndarray] = []
    count = 0
    for frames in batches:
        buf.append(frames)
        count += len(frames)
        while count >= size:
            joined = np.concatenate(buf)
            yield joined[:size]
            rest = joined[size:]
            buf, count = ([rest] if len(rest) else []), len(rest)
    if count:
        yield np.concatenate(buf)

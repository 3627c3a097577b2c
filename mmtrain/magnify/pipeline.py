"""Magnify the motion in videos: static, dynamic and temporal-filter modes (paper section 3.2, Eq. 4).

* ``static``: every frame is magnified against the first frame (the reference),
  ``y_t = D(V_t, G_m(M_0, M_t, alpha))``.
* ``dynamic``: against the previous frame (velocity), ``y_t = D(V_t, G_m(M_{t-1}, M_t, alpha))``; the
  first frame is magnified against itself.
* ``temporal`` (Eq. 4): the difference of shape representations is replaced by a pixel-wise temporal
  band-pass ``T`` of the shape representation ``M``: ``y_t = D(V_t, M_t + H(T(M)_t, alpha))`` where
  ``H`` is the manipulator's added term (:meth:`MagNet.magnify_delta`: paper ``h(alpha g(.))``,
  official ``h((alpha - 1) g(.))``). Filters: ``fir``, ``butter``, ``diff-iir`` (see
  :mod:`mmtrain.magnify.filters`). FIR needs every frame first, so its representations go through a
  temporary Zarr store (:mod:`mmtrain.magnify.spill`); the other modes stream with one batch in memory.

Differences from the authors' code (``run_temporal``), kept available with ``official_fir=True``:
their FIR path decodes *every* frame against the *last* frame's shape, ``y_t = D(V_t, M_{T-1} +
H(F_t))``, not ``M_t``, and places the FIR taps with ``fft(ifftshift(taps), n=T)``, which is not zero
phase when there are fewer taps than frames. Their IIR paths (Butterworth, difference of IIR) use
``M_t`` as Eq. 4 does.

Frames of any size are reflect-padded to multiples of 4 and cropped back; the output is the network's
output clipped to [-1, 1] and rounded to uint8 (the authors truncate).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from mmdata.errors import ConfigError, VideoError
from mmtrain.magnify.filters import FILTER_KINDS, fir_response, make_streaming_filter, validate_band

__all__ = ["MODES", "MagnifySettings", "MagnifyResult", "select_device", "frames_to_tensor", "tensor_to_frames",
           "magnify_frames", "magnify_video", "default_slice_path"]

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("static", "dynamic", "temporal")


@dataclass(frozen=True)
class MagnifySettings:
    """How to magnify a video (one object built at the edge from CLI flags or config).

    Attributes:
        alpha: magnification factor.
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
    """

    alpha: float
    mode: str = "static"
    filter: str = "fir"
    band: tuple[float, float] | None = None
    fps: float | None = None
    order: int = 2
    batch: int = 4
    official_fir: bool = False
    fir_taps: int | None = None
    fir_memory_mb: float = 512.0

    def resolve(self, video_fps: float, n_frames: int) -> "MagnifySettings":
        """Check every value against the video and fill in the sampling rate.

        Raises:
            ConfigError: naming the offending option (unknown mode or filter, missing band, band
                above Nyquist or inverted, bad alpha/batch/taps, too few frames for FIR).
        """
        if self.mode not in MODES:
            raise ConfigError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if not np.isfinite(self.alpha):
            raise ConfigError(f"alpha: expected a finite magnification factor, got {self.alpha}")
        if self.batch < 1:
            raise ConfigError(f"batch: expected at least 1 frame per batch, got {self.batch}")
        if self.mode != "temporal":
            return self
        if self.filter not in FILTER_KINDS:
            raise ConfigError(f"filter: expected one of {', '.join(FILTER_KINDS)}, got {self.filter!r}")
        if self.band is None:
            raise ConfigError("band: the temporal mode needs a pass band LOW HIGH in Hz")
        fps = float(self.fps if self.fps is not None else video_fps)
        band = validate_band(self.band, fps)
        if self.filter == "fir":
            if self.fir_memory_mb <= 0:
                raise ConfigError(f"fir_memory_mb: expected a positive budget, got {self.fir_memory_mb}")
            fir_response(n_frames, band, fps, numtaps=self.fir_taps, official=self.official_fir)
        else:
            make_streaming_filter(self.filter, band, fps, order=self.order)
        return replace(self, fps=fps, band=band)


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
    right (replicate for frames under 4 pixels).
    """
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float()
    x = x / 127.5 - 1.0
    h, w = x.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > 4 else "replicate")
    return x


def tensor_to_frames(y: torch.Tensor, height: int, width: int) -> np.ndarray:
    """Network output ``(n, 3, H', W')`` to RGB uint8 frames ``(n, height, width, 3)`` (clip, round)."""
    y = y[..., :height, :width].clamp(-1.0, 1.0)
    y = torch.round((y + 1.0) * 127.5).to(torch.uint8)
    return y.permute(0, 2, 3, 1).cpu().numpy()


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
    if settings.mode == "temporal" and settings.filter == "fir":
        yield from _magnify_fir(model, batches, settings, n_frames=n_frames, device=device,
                                work_dir=work_dir, progress=progress)
        return
    step = _make_step(model, settings)
    for frames in batches:
        x = frames_to_tensor(frames, device)
        texture, shape = model.encode(x)
        yield tensor_to_frames(model.decode(texture, step(shape)), *frames.shape[1:3])


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


def _magnify_fir(model: torch.nn.Module, batches: Iterable[np.ndarray], s: MagnifySettings, *, n_frames: int,
                 device: torch.device | str, work_dir: str | os.PathLike[str] | None,
                 progress: bool) -> Iterator[np.ndarray]:
    """FIR temporal mode: encode and spill every frame, filter tile-wise, decode in batches."""
    from tqdm.auto import tqdm

    from mmtrain.magnify.spill import RepresentationSpill

    spill: RepresentationSpill | None = None
    size: tuple[int, int] | None = None
    try:
        for frames in _rebatch(batches, s.batch):
            texture, shape = model.encode(frames_to_tensor(frames, device))
            if spill is None:
                size = frames.shape[1:3]
                spill = RepresentationSpill(n_frames, tuple(texture.shape[1:]), tuple(shape.shape[1:]),
                                            batch=s.batch, memory_bytes=s.fir_memory_mb * 2**20,
                                            workers=torch.get_num_threads(), work_dir=work_dir)
            spill.append(texture.cpu().numpy(), shape.cpu().numpy())
        if spill is None:
            return
        t = spill.n_frames
        response = fir_response(t, s.band, s.fps, numtaps=s.fir_taps, official=s.official_fir)
        spill.filter(response, progress=progress)
        last = torch.from_numpy(spill.read(t - 1, t)[1]).to(device)
        for start in tqdm(range(0, t, s.batch), desc="FIR decode", unit="batch", disable=None if progress else True):
            texture, shape, filtered = (torch.from_numpy(a).to(device) for a in spill.read(start, start + s.batch))
            base = last.expand_as(shape) if s.official_fir else shape
            y = model.decode(texture, base + model.magnify_delta(filtered, s.alpha))
            yield tensor_to_frames(y, *size)
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


@dataclass(frozen=True)
class MagnifyResult:
    """What :func:`magnify_video` wrote.

    Attributes:
        output: the magnified video.
        n_frames: frames written.
        fps: its frame rate (the input's).
        seconds: wall time of the run.
        slice_image: the slice PNG, if one was asked for.
    """

    output: Path
    n_frames: int
    fps: Fraction
    seconds: float
    slice_image: Path | None = None


def default_slice_path(output: str | os.PathLike[str], axis: str, at: int) -> Path:
    """``OUT.mp4`` -> ``OUT_xt-row<at>.png`` (x-t) or ``OUT_yt-col<at>.png`` (y-t)."""
    output = Path(output)
    tag = f"xt-row{at}" if axis == "x" else f"yt-col{at}"
    return output.with_name(f"{output.stem}_{tag}.png")


def _refuse_same_file(input: str | os.PathLike[str], output: str | os.PathLike[str]) -> None:
    """The output replaces its path at the end: writing over the input would destroy it."""
    src, dst = Path(input), Path(output)
    if src.resolve() == dst.resolve() or (src.exists() and dst.exists() and os.path.samefile(src, dst)):
        raise VideoError(f"{dst}: the output is the input video; choose another -o/--out")


def magnify_video(input: str | os.PathLike[str], output: str | os.PathLike[str], settings: MagnifySettings, *,
                  checkpoint: str | os.PathLike[str], model_preset: str | None = None, device: str | None = "auto",
                  side_by_side: bool = False, slice_axis: str | None = None, slice_at: int | None = None,
                  slice_output: str | os.PathLike[str] | None = None, work_dir: str | os.PathLike[str] | None = None,
                  codec: str = "libx264", progress: bool = True) -> MagnifyResult:
    """Magnify a video file into another, keeping its frame rate and size.

    Every check (input readable, settings valid for it, slice line inside the frame, output and
    slice image writable, device available, checkpoint loadable) runs before any frame is processed.

    Args:
        input: the video to magnify.
        output: the video to write (atomically: a temporary name renamed at the end).
        settings: mode, alpha and filter (resolved against the video here).
        checkpoint: our checkpoint, the authors' ``weights.npz`` or a TF checkpoint prefix.
        model_preset: the architecture the checkpoint must hold (``paper``/``official``), or ``None``.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``...
        side_by_side: write input and magnified frames next to each other (twice the width).
        slice_axis: ``x`` (x-t slice along row ``slice_at``) or ``y`` (y-t slice along column ``slice_at``).
        slice_at: the row or column of the slice.
        slice_output: PNG of the input's slice (left) and the output's (right); default next to ``output``.
        work_dir: folder for the FIR mode's temporary store.
        codec: FFmpeg encoder of the output.
        progress: show tqdm progress bars.

    Returns:
        A :class:`MagnifyResult`.

    Raises:
        VideoError: unreadable input, zero frames, unsupported codec, unwritable output.
        ConfigError: a bad setting (e.g. band above Nyquist, line outside the frame).
        CheckpointError: the checkpoint cannot be loaded.
    """
    from tqdm.auto import tqdm

    from mmtrain.model.checkpoint import load_model
    from mmtrain.magnify.slices import SliceRecorder, check_slice, save_png, side_by_side as join, slice_figure
    from mmtrain.magnify.video import VideoReader, VideoWriter, check_writable

    start = time.perf_counter()
    _refuse_same_file(input, output)
    reader = VideoReader(input)
    info = reader.info
    s = settings.resolve(float(info.fps), info.n_frames)
    slice_path = None
    if slice_axis is not None:
        check_slice(slice_axis, 0 if slice_at is None else slice_at, info.height, info.width)
        slice_at = slice_at or 0
        slice_path = check_writable(slice_output or default_slice_path(output, slice_axis, slice_at))
    dev = select_device(device)
    width = 2 * info.width if side_by_side else info.width
    with VideoWriter(output, width=width, height=info.height, fps=info.fps, codec=codec) as writer:
        model = load_model(checkpoint, device=dev, preset=model_preset)
        log.info("magnifying %s (%dx%d, %d frames, %s fps) on %s: %s", info.path, info.width, info.height,
                 info.n_frames, info.fps, dev, s)
        fir = s.mode == "temporal" and s.filter == "fir"
        bar = tqdm(total=info.n_frames, unit="frame", desc="FIR encode" if fir else "magnify", disable=None if progress else True)
        batches = _counted(reader.batches(s.batch), bar)
        need_input = side_by_side or slice_axis is not None
        originals = _rebatch(VideoReader(input).batches(s.batch), s.batch) if need_input else None
        recorders = [SliceRecorder(slice_axis, slice_at) for _ in range(2)] if slice_axis else []
        with bar:
            for out in magnify_frames(model, batches, s, n_frames=info.n_frames, device=dev, work_dir=work_dir,
                                      progress=progress):
                original = next(originals) if originals is not None else None
                if recorders:
                    recorders[0].add(original)
                    recorders[1].add(out)
                for frame in (join(original, out) if side_by_side else out):
                    writer.write(frame)
        if slice_path is not None:
            a, b = (r.image() for r in recorders)
            save_png(slice_path, slice_figure(a, b, labels=("input", f"output (alpha {s.alpha:g}, {s.mode})")))
    return MagnifyResult(Path(output), writer.frames_written, info.fps, time.perf_counter() - start, slice_path)


def _counted(batches: Iterable[np.ndarray], bar: "tqdm") -> Iterator[np.ndarray]:  # noqa: F821
    """Pass batches through, advancing a progress bar by their frame counts."""
    for frames in batches:
        yield frames
        bar.update(len(frames))

"""Magnify a video file into another: clip selection, method, outputs and the views people judge by.

:func:`magnify_video` reads the selected frames (:class:`~mmtrain.video.clip.ClipSelection`,
display orientation), magnifies them with the network or a classical method
(:func:`mmtrain.magnify.api.magnify_batches`) and writes

* the output: a video (H.264 by default, lossy; FFV1 lossless) or a PNG sequence
  (:mod:`mmtrain.video.outputs`), optionally with the input beside it (``side_by_side``) and a
  difference panel (``difference=GAIN``: ``GAIN x |output - input|``, mean over RGB, as a heat map);
* any number of x-t / y-t slice images (:mod:`mmtrain.video.slices`), input left, output right;
* chosen frames as PNG (``frames_png``: indices into the selected clip), as they appear in the output.

``roi=Region(x, y, w, h, feather)`` magnifies that region of the selected frames only, with a feathered
edge (:mod:`mmtrain.magnify.roi`): the method sees the region's window, and every pixel farther than
``feather`` from the region is the input's, byte for byte (with a lossless output).

``trim=N`` magnifies every selected frame but writes none of the first ``N`` (to any output): the
start-up transient of the causal IIR filters (Butterworth, difference of IIR), which start in the
steady state of the first frame but still ring on the motion's own onset, is then not shown.

Every check (input readable, selection and settings valid for it, slices inside the frame, outputs
writable and not the input, device available, checkpoint loadable) runs before any frame is processed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np

from mmdata.errors import ConfigError
from mmtrain.model.runtime import configure_threads

if TYPE_CHECKING:  # annotations only
    from mmtrain.video.clip import ClipSelection
    from mmdata.progress import ProgressLike
    from mmtrain.magnify.pipeline import MagnifySettings
    from mmtrain.magnify.roi import Region

__all__ = ["MagnifyResult", "SliceSpec", "parse_slice", "default_slice_path", "frame_png_path", "difference_panel",
           "slice_label", "magnify_video"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SliceSpec:
    """One slice image: ``axis`` ``x`` (row ``at``, an x-t slice) or ``y`` (column ``at``), and its PNG."""

    axis: str
    at: int
    output: str | os.PathLike[str] | None = None


def parse_slice(text: str, at: int | None = None) -> SliceSpec:
    """``x:120`` / ``y:37`` (or ``x`` with ``at`` given separately) as a :class:`SliceSpec`.

    Raises:
        ConfigError: not ``x`` or ``y``, or no line.
    """
    axis, sep, line = text.partition(":")
    if axis not in ("x", "y"):
        raise ConfigError(f"slice: expected x:ROW or y:COLUMN, got {text!r}")
    try:
        index = int(line) if sep else (0 if at is None else int(at))
    except ValueError:
        raise ConfigError(f"slice: expected an integer line in {text!r}") from None
    return SliceSpec(axis, index)


@dataclass(frozen=True)
class MagnifyResult:
    """What :func:`magnify_video` wrote.

    Attributes:
        output: the magnified video (or PNG folder / pattern).
        n_frames: frames written.
        fps: its frame rate (the input's, divided by the stride).
        seconds: wall time of the run.
        slice_image: the first slice PNG, if any.
        slice_images: every slice PNG.
        frame_images: every exported frame PNG.
    """

    output: Path
    n_frames: int
    fps: Fraction
    seconds: float
    slice_image: Path | None = None
    slice_images: tuple[Path, ...] = field(default_factory=tuple)
    frame_images: tuple[Path, ...] = field(default_factory=tuple)


def _stem(output: str | os.PathLike[str]) -> Path:
    """``OUT.mp4`` -> ``OUT``; a PNG folder or pattern -> ``FOLDER/magnified``."""
    from mmtrain.video.outputs import is_png_sequence

    output = Path(output)
    if is_png_sequence(output):
        folder = output if output.is_dir() or os.fspath(output).endswith(os.sep) else output.parent
        return folder.parent / folder.name if folder.name else Path("magnified")
    return output.with_suffix("")


def default_slice_path(output: str | os.PathLike[str], axis: str, at: int) -> Path:
    """``OUT.mp4`` -> ``OUT_xt-row<at>.png`` (x-t) or ``OUT_yt-col<at>.png`` (y-t)."""
    stem = _stem(output)
    tag = f"xt-row{at}" if axis == "x" else f"yt-col{at}"
    return stem.with_name(f"{stem.name}_{tag}.png")


def frame_png_path(output: str | os.PathLike[str], index: int) -> Path:
    """``OUT.mp4`` -> ``OUT_frame00012.png``."""
    stem = _stem(output)
    return stem.with_name(f"{stem.name}_frame{index:05d}.png")


def difference_panel(original: np.ndarray, output: np.ndarray, gain: float) -> np.ndarray:
    """Heat map (matplotlib's ``inferno``) of ``gain * |output - input|``, mean over RGB, 0..255.

    Shape:
        ``(n, H, W, 3)`` uint8 twice -> ``(n, H, W, 3)`` uint8.
    """
    from matplotlib import colormaps

    lut = (colormaps["inferno"](np.arange(256))[:, :3] * 255).round().astype(np.uint8)
    diff = np.abs(output.astype(np.int16) - original.astype(np.int16)).mean(axis=-1)
    return lut[np.clip(np.rint(gain * diff), 0, 255).astype(np.uint8)]


def slice_label(s: "MagnifySettings") -> str:  # noqa: F821
    """The output slice's caption: ``output (alpha 10, static)``, with the method when not the network."""
    method = "" if s.method == "network" else f"{s.method}, "
    return f"output ({method}alpha {s.alpha:g}, {s.mode})"


def _compose(original: np.ndarray | None, out: np.ndarray, side_by_side: bool, difference: float | None) -> np.ndarray:
    from mmtrain.video.slices import side_by_side as join

    frames = join(original, out) if side_by_side else out
    if difference is not None:
        frames = join(frames, difference_panel(original, out, difference))
    return frames


def _check_outputs(input: Path, output: str | os.PathLike[str], slices: Sequence[SliceSpec],
                   frames_png: Sequence[int], n_frames: int, height: int, width: int) -> tuple[list[Path], list[Path]]:
    """Validate slices and exported frames; return their PNG paths (all writable, none the input)."""
    from mmtrain.video.outputs import check_not_input
    from mmtrain.video.slices import check_png_path, check_slice
    from mmtrain.video.io import check_writable

    check_not_input(output, input)
    slice_paths = []
    for spec in slices:
        check_slice(spec.axis, spec.at, height, width)
        path = check_png_path(spec.output or default_slice_path(output, spec.axis, spec.at), what="slice image")
        slice_paths.append(check_writable(path))
    if len(set(slice_paths)) < len(slice_paths):
        raise ConfigError("slice: two slices would be written to the same PNG; give different lines")
    bad = [i for i in frames_png if not 0 <= i < n_frames]
    if bad:
        raise ConfigError(f"frames_png: frame indices {bad} outside the selected clip's 0..{n_frames - 1}")
    frame_paths = [check_writable(frame_png_path(output, i)) for i in frames_png]
    for path in slice_paths + frame_paths:
        check_not_input(path, input)
    return slice_paths, frame_paths


def magnify_video(input: str | os.PathLike[str], output: str | os.PathLike[str], settings: "MagnifySettings", *,
                  model: str | os.PathLike[str] | None = None, model_preset: str | None = None,
                  device: str | None = "auto", checkpoint: str | os.PathLike[str] | None = None, selection: "ClipSelection | None" = None,
                  side_by_side: bool = False, difference: float | None = None,
                  slices: Sequence[SliceSpec] = (), frames_png: Sequence[int] = (),
                  slice_axis: str | None = None, slice_at: int | None = None,
                  slice_output: str | os.PathLike[str] | None = None, work_dir: str | os.PathLike[str] | None = None,
                  codec: str = "h264", crf: int = 17, trim: int = 0, roi: "Region | None" = None,
                  progress: bool = True) -> MagnifyResult:
    """Magnify (a selection of) a video file into another video or a PNG sequence.

    Args:
        input: the video to magnify.
        output: video file (written atomically) or PNG folder / ``%05d.png`` pattern; not the input.
        settings: method, mode, alpha and filter (resolved against the selected clip here).
        model: the network's model spec (``method="network"`` only; :func:`mmtrain.model.registry.resolve_model`);
            ``None``: the default model (logged).
        model_preset: the architecture the model must hold (``paper``/``official``), or ``None``.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``...
        checkpoint: deprecated name of ``model``.
        selection: frame range, stride, crop, resize; ``None`` = the whole video.
        side_by_side: write input and magnified frames next to each other.
        difference: also a heat-map panel of ``difference * |output - input|``.
        slices: slice images to write (:class:`SliceSpec`).
        frames_png: indices (into the selected clip) of output frames to export as PNG.
        slice_axis, slice_at, slice_output: one more slice, the older single-slice form.
        work_dir: folder for the FIR mode's temporary store.
        codec: ``h264`` (lossy, default) or ``ffv1`` (lossless, ``.mkv``/``.avi``).
        crf: H.264 quality (lower is better).
        trim: magnify but do not write the first ``trim`` frames (an IIR filter's start-up).
        roi: magnify only this region of the selected frames (:class:`~mmtrain.magnify.roi.Region`,
            in the coordinates after ``selection``'s crop and resize); the rest is the input's.
        progress: show progress (a tqdm bar on a terminal, periodic log lines otherwise; :mod:`mmdata.progress`).

    Raises:
        VideoError: unreadable input, output equal to the input, unwritable outputs; an input whose
            stream ends before the last selected frame (truncated: fewer frames than declared), unless
            the selection stops before the damage. No output video is left then.
        ConfigError: a bad setting or selection (e.g. FIR too short for its band, crop or region outside the frame).
        CheckpointError: the checkpoint cannot be loaded.
    """
    from mmdata.progress import progress_bar

    from mmtrain.magnify.api import _model_arg, load_for, magnify_batches
    from mmtrain.video.outputs import check_output, open_output
    from mmtrain.magnify.pipeline import _rebatch, select_device
    from mmtrain.video.slices import SliceRecorder, render_figure, save_png, slice_figure
    from mmtrain.video.io import VideoReader

    start = time.perf_counter()
    check_output(output, codec=codec, crf=crf)  # a name no writer takes fails before anything is read
    reader = VideoReader(input, selection)
    reader.check_length()  # a truncated file fails here, not after magnifying what it holds
    info = reader.info
    stride = reader.selection.stride
    if settings.fps is not None and stride > 1:  # a given rate (--fps, a preset) is the file's capture rate
        settings = replace(settings, fps=settings.fps / stride)
    s = settings.resolve(float(info.fps), info.n_frames)
    if not 0 <= trim < info.n_frames:
        raise ConfigError(f"trim: expected 0 <= trim < {info.n_frames} (the selected clip's frames), got {trim}")
    if any(i < trim for i in frames_png):
        raise ConfigError(f"frames_png: frames before --trim {trim} are not written")
    slices = list(slices) + ([SliceSpec(slice_axis, slice_at or 0, slice_output)] if slice_axis else [])
    slice_paths, frame_paths = _check_outputs(reader.source.path, output, slices, frames_png, info.n_frames,
                                              info.height, info.width)
    if roi is not None:
        roi.check(info.width, info.height)
    dev = select_device(device)
    if dev.type == "cpu":
        configure_threads(s.threads)
    panels = 1 + bool(side_by_side) + (difference is not None)
    with open_output(output, width=panels * info.width, height=info.height, fps=info.fps, codec=codec,
                     crf=crf) as writer:
        net = load_for(s, _model_arg(model, checkpoint), device=dev, model_preset=model_preset)
        log.info("magnifying %s (%dx%d, %d frames, %s fps) on %s: %s%s", info.path, info.width, info.height,
                 info.n_frames, info.fps, dev, s, "" if roi is None else f"; region {roi}")
        bar = progress_bar(info.n_frames, unit="frame", desc="magnify", enabled=progress)  # log lines when not a terminal
        need_input = side_by_side or difference is not None or bool(slices) or roi is not None
        originals = _rebatch(VideoReader(input, selection).batches(s.batch), s.batch) if need_input else None
        recorders = [(SliceRecorder(sp.axis, sp.at), SliceRecorder(sp.axis, sp.at)) for sp in slices]
        wanted = {i: p for i, p in zip(frames_png, frame_paths)}
        index = 0
        # closing(): the FIR mode's spill store goes as soon as anything fails, not when the generator is collected
        source = _counted(reader.batches(s.batch), bar)
        if roi is not None:  # the method sees the region's window; the input frames come from `originals`
            source = (np.ascontiguousarray(roi.crop(frames)) for frames in source)
        with bar, contextlib.closing(magnify_batches(net, source, s,
                                                     n_frames=info.n_frames, device=dev, work_dir=work_dir,
                                                     progress=progress)) as magnified:
            for out in magnified:
                original = next(originals) if originals is not None else None
                if roi is not None:
                    out = roi.paste(original, out)
                if index + len(out) <= trim:
                    index += len(out)
                    continue
                if index < trim:
                    out, original = out[trim - index:], None if original is None else original[trim - index:]
                    index = trim
                for rec_in, rec_out in recorders:
                    rec_in.add(original)
                    rec_out.add(out)
                for frame in _compose(original, out, side_by_side, difference):
                    writer.write(frame)
                    if index in wanted:
                        save_png(wanted[index], frame)
                    index += 1
        for sp, path, (rec_in, rec_out) in zip(slices, slice_paths, recorders):
            figure = slice_figure(rec_in.image(), rec_out.image(), axis=sp.axis, at=sp.at, fps=float(info.fps),
                                  labels=("input", slice_label(s)))
            save_png(path, render_figure(figure))
    return MagnifyResult(Path(output), writer.frames_written, info.fps, time.perf_counter() - start,
                         slice_paths[0] if slice_paths else None, tuple(slice_paths), tuple(frame_paths))


def _counted(batches: Iterable[np.ndarray], bar: ProgressLike) -> Iterator[np.ndarray]:
    """Pass batches through, advancing a progress bar by their frame counts."""
    for frames in batches:
        yield frames
        bar.update(len(frames))

"""The analysis of a clip in one call: frames (an array or a video file) in, :class:`SpectrumResult` out.

:func:`analyse_video` reads the clip exactly as ``mmtrain magnify`` does (the same
:class:`~mmtrain.video.clip.ClipSelection`: frame range, stride, crop, resize), streaming: only the
regions of the first frame are kept in memory, besides the waveforms. Every check (the file, the
selection, the regions, the number of frames) happens before the first frame is decoded.

Example:
    >>> from mmtrain.video.clip import ClipSelection
    >>> result = analyse_video("in.mp4", selection=ClipSelection(frames=120), rois=[(10, 10, 64, 64)])  # doctest: +SKIP
    >>> [(p.freq_hz, p.amplitude_px, p.axis, p.band_hz) for p in result.peaks]                           # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
from typing import Sequence

import numpy as np

from mmdata.errors import ConfigError
from mmtrain.analysis.displacement import check_rois, roi_displacements
from mmtrain.analysis.spectrum import MIN_FRAMES, SpectrumResult, SpectrumSettings, analyse_displacements
from mmtrain.video.clip import ClipSelection
from mmtrain.video.io import VideoReader

__all__ = ["analyse_frames", "analyse_video"]

log = logging.getLogger(__name__)


def _check_frames(n: int) -> None:
    if n < MIN_FRAMES:
        raise ConfigError(f"frames: a spectrum needs at least {MIN_FRAMES} frames, the clip has {n}")


def analyse_frames(frames: np.ndarray, fps: float, rois: Sequence[Sequence[int]] | None = None, *,
                   settings: SpectrumSettings | None = None, progress: bool = False) -> SpectrumResult:
    """Displacement waveforms, spectra and peaks of the regions of a clip held in memory.

    Args:
        frames: ``(T, H, W[, C])``, any numeric type (channels are averaged).
        fps: sampling rate (Hz).
        rois: regions ``(x, y, w, h)``; ``None``: the whole frame.
        settings: :class:`~mmtrain.analysis.spectrum.SpectrumSettings` (defaults when ``None``).
        progress: log progress lines.

    Raises:
        ConfigError: bad regions, too few frames, a region too flat to measure.
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4):
        raise ConfigError(f"frames: expected (T, H, W[, C]), got shape {frames.shape}")
    _check_frames(len(frames))
    regions = check_rois(rois, frames.shape[2], frames.shape[1])
    disp = roi_displacements(frames, regions, total=len(frames), progress=progress)
    return analyse_displacements(disp, fps, regions, settings)


def analyse_video(path: str | os.PathLike[str], *, selection: ClipSelection | None = None,
                  rois: Sequence[Sequence[int]] | None = None, fps: float | None = None,
                  settings: SpectrumSettings | None = None, progress: bool = False) -> SpectrumResult:
    """Displacement waveforms, spectra and peaks of the regions of a clip of a video file.

    Args:
        path: the video.
        selection: frame range, stride, crop, resize (``None``: every frame as it is).
        rois: regions ``(x, y, w, h)`` in pixels of the selected frames; ``None``: the whole frame.
        fps: the sampling rate the frequencies refer to (a high-speed capture stored at a lower frame
            rate); ``None``: the clip's (the file's divided by the stride).
        settings: :class:`~mmtrain.analysis.spectrum.SpectrumSettings` (defaults when ``None``).
        progress: log progress lines.

    Returns:
        The result; its ``meta`` names the video and the selection.

    Raises:
        VideoError: a missing, unreadable or truncated file.
        ConfigError: the selection or a region does not fit the video, too few frames, a bad fps,
            a region too flat to measure.
    """
    settings = (settings or SpectrumSettings()).check()
    reader = VideoReader(path, selection)
    info = reader.info
    regions = check_rois(rois, info.width, info.height)
    _check_frames(len(reader))
    if fps is not None and not (fps > 0 and math.isfinite(fps)):
        raise ConfigError(f"fps: expected a positive frame rate, got {fps}")
    reader.check_length()
    rate = float(fps) if fps is not None else float(info.fps)
    sel = reader.selection
    log.info("spectrum: %s, %d frames of %dx%d at %g fps, %d region(s)", path, len(reader), info.width, info.height,
             rate, len(regions))
    disp = roi_displacements(reader, regions, total=len(reader), progress=progress)
    meta = {"video": str(path), "selection": {"start": sel.start, "frames": sel.frames, "stride": sel.stride,
                                              "crop": list(sel.crop) if sel.crop else None,
                                              "resize": list(sel.resize) if sel.resize else None,
                                              "scale": sel.scale},
            "file_fps": float(reader.source.fps)}
    return analyse_displacements(disp, rate, regions, settings, meta)

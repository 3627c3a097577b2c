"""Regions of interest and their sub-pixel displacement waveforms.

A region of interest (ROI) is a rectangle ``(x, y, w, h)`` in pixels of the *selected* clip (after
``--crop`` and any resize, in display orientation): the pixels ``[y, y + h) x [x, x + w)``.

The displacement of a region in frame ``t`` is the translation ``(dx, dy)`` that carries the region's
content in the clip's first frame to where it is in frame ``t`` (the SPEC's sign convention: +dx right,
+dy down). It is measured with the project's own estimator, :func:`mmdata.render.measure.estimate_shift`
(the one ``mmtrain evaluate video-accuracy`` tracks points with): phase correlation for a first guess,
refined by Gauss-Newton least squares on the brightness-constancy residual with a quintic-spline warp,
over the region's interior (a margin of ``2 + ceil(|d|) + 3`` px on each side is not scored, so content
entering the region does not count). Each frame starts from the previous frame's answer, and falls back
to phase correlation when that fails. The iteration stops when an update is below :data:`SHIFT_TOL` px.
Channels are averaged (gray).

Example:
    >>> rng = np.random.default_rng(0)
    >>> frames = [rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)] * 3
    >>> roi_displacements(frames, [(0, 0, 48, 40)]).shape
    (1, 3, 2)
"""

from __future__ import annotations

import logging
from typing import Iterable, Sequence

import numpy as np

from mmdata.errors import ConfigError
from mmdata.progress import progress_bar
from mmdata.render.measure import estimate_shift

__all__ = ["Roi", "MIN_ROI_SIDE", "SHIFT_TOL", "check_rois", "roi_displacements"]

log = logging.getLogger(__name__)

#: A region of interest: ``(x, y, w, h)`` in pixels of the selected clip.
Roi = tuple[int, int, int, int]

#: The smallest width and height of a region (px): the estimator leaves a margin of at least 5 px on
#: each side unscored, and needs texture in what remains.
MIN_ROI_SIDE = 16

#: The estimator stops iterating when its update is below this (px): 50 times below the smallest
#: amplitude a peak may have by default (:attr:`~mmtrain.analysis.spectrum.SpectrumSettings.min_amplitude`).
SHIFT_TOL = 1e-4


def check_rois(rois: Sequence[Sequence[int]] | None, width: int, height: int) -> list[Roi]:
    """The regions as ``(x, y, w, h)`` tuples, each checked against a ``width x height`` frame.

    Args:
        rois: regions, or ``None`` / empty for the whole frame.
        width, height: size of the selected clip's frames.

    Returns:
        The regions (the whole frame when none are given).

    Raises:
        ConfigError: a region that is not four integers, leaves the frame, or is smaller than
            :data:`MIN_ROI_SIDE` px on a side.
    """
    if not rois:
        rois = [(0, 0, width, height)]
    out: list[Roi] = []
    for roi in rois:
        if len(roi) != 4:
            raise ConfigError(f"roi: expected four integers X Y W H, got {list(roi)}")
        x, y, w, h = (int(v) for v in roi)
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > width or y + h > height:
            raise ConfigError(f"roi: {x} {y} {w} {h} (X Y W H) is not inside the {width}x{height} frame of the "
                              "selected clip (coordinates are those after --crop)")
        if w < MIN_ROI_SIDE or h < MIN_ROI_SIDE:
            raise ConfigError(f"roi: {x} {y} {w} {h} (X Y W H) is smaller than {MIN_ROI_SIDE}x{MIN_ROI_SIDE} px; "
                              "the displacement estimator needs a larger region")
        out.append((x, y, w, h))
    return out


def _gray(frame: np.ndarray, roi: Roi) -> np.ndarray:
    x, y, w, h = roi
    patch = np.asarray(frame[y:y + h, x:x + w], dtype=np.float64)
    return patch.mean(axis=2) if patch.ndim == 3 else patch


def _measure(ref: np.ndarray, cur: np.ndarray, guess: tuple[float, float], roi: Roi, t: int,
             tol: float) -> tuple[float, float]:
    """``estimate_shift`` from ``guess``, else from phase correlation; a region it cannot measure is an error."""
    reason = ""
    for start in (guess, None):
        try:
            d = estimate_shift(ref, cur, border=2, guess=start, tol=tol)
        except ValueError as exc:
            reason = str(exc)
            continue
        if np.all(np.isfinite(d)):
            return d
    raise ConfigError(f"roi: cannot measure the displacement of region {' '.join(map(str, roi))} (X Y W H) in frame "
                      f"{t} of the clip ({reason or 'no finite estimate'}); choose a region with more texture")


def roi_displacements(frames: Iterable[np.ndarray], rois: Sequence[Roi], *, total: int | None = None,
                      tol: float = SHIFT_TOL, progress: bool = False) -> np.ndarray:
    """Displacement ``(dx, dy)`` of every region in every frame relative to the first frame.

    Args:
        frames: the clip's frames ``(H, W[, C])``, streamed (only the regions of the first are kept).
        rois: regions ``(x, y, w, h)``, already checked (:func:`check_rois`).
        total: number of frames, for the progress lines.
        tol: the estimator's convergence threshold (px).
        progress: log progress lines (or a bar on a terminal).

    Returns:
        float64 array ``(len(rois), T, 2)``; frame 0 is ``(0, 0)``.

    Raises:
        ConfigError: a region too flat to measure in some frame.

    Shape:
        frames: T x (H, W[, C]) -> (R, T, 2)
    """
    refs: list[np.ndarray] = []
    guesses: list[tuple[float, float]] = []
    rows: list[np.ndarray] = []
    for t, frame in enumerate(progress_bar(total, desc="spectrum: displacement", unit="frame", enabled=progress,
                                           iterable=frames)):
        row = np.zeros((len(rois), 2))
        if t == 0:
            refs = [_gray(frame, roi) for roi in rois]
            guesses = [(0.0, 0.0)] * len(rois)
        else:
            for r, roi in enumerate(rois):
                guesses[r] = _measure(refs[r], _gray(frame, roi), guesses[r], roi, t, tol)
                row[r] = guesses[r]
        rows.append(row)
    if not rows:
        return np.zeros((len(rois), 0, 2))
    return np.stack(rows, axis=1)

"""``mmtrain magnify --band peak[:K]``: the temporal band of the K-th peak of the clip's motion spectrum.

``--band`` takes either two frequencies ``LOW HIGH`` (Hz) or one word, ``peak`` (the largest peak)
or ``peak:K`` (the K-th largest, from 1). A peak's band is computed by the same analysis as
``mmtrain spectrum`` (:func:`~mmtrain.analysis.api.analyse_video`) of the same clip (``--start``,
``--frames``, ``--stride``, ``--crop``, ``--resize``/``--scale``), the same regions (``--peak-roi``,
default the magnified ``--roi`` region, else the whole frame) and the same sampling rate (``--fps`` or the preset's, else the clip's), so
``--band peak`` magnifies exactly as ``--band LOW HIGH`` with the numbers ``spectrum.json`` shows.

Example:
    >>> parse_band_choice(["peak:2"])
    PeakChoice(k=2)
    >>> parse_band_choice(["1", "3"])
    (1.0, 3.0)
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from dataclasses import dataclass
from typing import Sequence

from mmdata.errors import ConfigError
from mmtrain.analysis.api import analyse_video
from mmtrain.analysis.spectrum import Peak, peak_band
from mmtrain.video.clip import ClipSelection

__all__ = ["PeakChoice", "parse_band_choice", "band_from_peak", "add_roi_option"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeakChoice:
    """``--band peak:K``: the band of the ``k``-th largest peak (1-based)."""

    k: int = 1


def parse_band_choice(tokens: Sequence[str] | None) -> tuple[float, float] | PeakChoice | None:
    """The value of ``--band``: ``None``, ``(low, high)`` in Hz, or a :class:`PeakChoice`.

    Raises:
        ConfigError: anything but two numbers, ``peak`` or ``peak:K`` with ``K >= 1``.
    """
    if tokens is None:
        return None
    tokens = list(tokens)
    if len(tokens) == 2:
        try:
            return float(tokens[0]), float(tokens[1])
        except ValueError:
            pass
    elif len(tokens) == 1:
        match = re.fullmatch(r"peak(?::(\d+))?", tokens[0].strip().lower())
        if match and int(match.group(1) or 1) >= 1:
            return PeakChoice(int(match.group(1) or 1))
    raise ConfigError(f"band: expected two frequencies LOW HIGH in Hz, or peak, or peak:K (K = 1, 2, ...: the "
                      f"K-th largest peak of the clip's motion spectrum), got {' '.join(tokens)!r}")


def band_from_peak(path: str | os.PathLike[str], choice: PeakChoice, *, selection: ClipSelection | None = None,
                   rois: Sequence[Sequence[int]] | None = None, fps: float | None = None,
                   progress: bool = False) -> tuple[tuple[float, float], Peak]:
    """The band of the ``choice.k``-th peak of the motion spectrum of a clip, and the peak.

    Args:
        path, selection, rois, fps: as :func:`~mmtrain.analysis.api.analyse_video`.
        choice: which peak.
        progress: log progress lines.

    Raises:
        ConfigError: no such peak above the noise floor; as :func:`~mmtrain.analysis.api.analyse_video`.
        VideoError: as :func:`~mmtrain.analysis.api.analyse_video`.
    """
    result = analyse_video(path, selection=selection, rois=rois, fps=fps, progress=progress)
    band = peak_band(result, choice.k)
    peak = result.peaks[choice.k - 1]
    log.info("band: peak %d of the motion spectrum: %.4g Hz, %.4g px along %s -> %g-%g Hz", choice.k, peak.freq_hz,
             peak.amplitude_px, peak.axis, *band)
    return band, peak


def add_roi_option(p: argparse.ArgumentParser, flag: str = "--roi", *, what: str = "analyse",
                   default: str = "the whole frame") -> None:
    """``--roi X Y W H``, repeatable: regions in pixels of the selected clip."""
    p.add_argument(flag, type=int, nargs=4, action="append", metavar=("X", "Y", "W", "H"),
                   help=f"a region to {what}, in pixels of the selected clip (after --crop); repeat for several "
                        f"(default: {default})")

"""``mmtrain spectrum``: where a video moves, at which frequencies and by how much.

The command-line face of :func:`mmtrain.analysis.api.analyse_video` and
:func:`mmtrain.analysis.report.write_spectrum`; the clip is selected with the options of
``mmtrain magnify`` (``--start``, ``--frames``, ``--stride``, ``--crop``), so that a band read off
``spectrum.json`` refers to the same frames as the magnification that uses it.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from mmdata.errors import ConfigError

__all__ = ["register", "run_spectrum"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``spectrum`` sub-command."""
    from mmtrain.analysis.peakband import add_roi_option
    from mmtrain.analysis.settings import SpectrumSettings
    from mmtrain.magnify.cli import _add_clip_options

    d = SpectrumSettings()
    p = subparsers.add_parser(
        "spectrum", help="find the motion: displacement waveform, amplitude spectrum and peaks of video regions",
        description="Measure the sub-pixel displacement (x, y) of each region of a clip relative to its first "
                    "frame, its amplitude spectrum (Hann window, coherent gain corrected: a sinusoid of "
                    "amplitude A reads A) and the peaks above the noise floor, each with a pass band for "
                    "`mmtrain magnify --mode temporal --band LOW HIGH` (or use `--band peak` there). Writes "
                    "spectrum.json, spectrum.csv, waveform.csv, waveform.png and spectrum.png into the output "
                    "folder; nothing is written when the input is bad.")
    p.add_argument("input", help="video to analyse (a rotation flag is applied: frames in display orientation)")
    p.add_argument("-o", "--out", required=True, help="output folder (created when missing)")
    _add_clip_options(p, verb="analyse", resize=False)
    add_roi_option(p)
    p.add_argument("--fps", type=float,
                   help="sampling rate the frequencies refer to, e.g. of a high-speed capture stored at a lower "
                        "rate (default: the video's / --stride)")
    p.add_argument("--scale", type=float, metavar="MM_PER_PX",
                   help="millimetres per pixel of the selected clip: adds amplitude_mm to the peaks and the CSV")
    p.add_argument("--max-peaks", type=int, default=d.max_peaks, help="peaks reported at most, all regions and axes")
    p.add_argument("--false-alarm", type=float, default=d.false_alarm,
                   help="probability that noise alone yields a peak in one axis' spectrum; sets the threshold "
                        "over the noise floor (a running median of the spectrum)")
    p.add_argument("--min-amplitude", type=float, default=d.min_amplitude,
                   help="smallest amplitude (px) reported as motion, whatever the noise floor")
    p.add_argument("--detrend", choices=("mean", "linear"), default=d.detrend,
                   help="remove the mean, or a least-squares line (slow drift), before the spectrum")
    p.set_defaults(func=run_spectrum)


def _check_out(out: Path) -> None:
    """Fail before any work when ``out`` cannot become the output folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out: {out} is a file; expected a folder for spectrum.json and the plots")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(13, "Permission denied", str(parent))


def run_spectrum(args: argparse.Namespace) -> int:
    """Run ``mmtrain spectrum``; prints the peaks and the files written."""
    from mmtrain.analysis.api import analyse_video
    from mmtrain.analysis.report import write_spectrum
    from mmtrain.analysis.settings import SpectrumSettings
    from mmtrain.magnify.cli import clip_selection

    out = Path(args.out)
    _check_out(out)
    if args.scale is not None and not args.scale > 0:
        raise ConfigError(f"scale: expected a positive number of millimetres per pixel, got {args.scale}")
    settings = SpectrumSettings(max_peaks=args.max_peaks, false_alarm=args.false_alarm,
                                min_amplitude=args.min_amplitude, detrend=args.detrend).check()
    result = analyse_video(args.input, selection=clip_selection(args, resize=False), rois=args.roi, fps=args.fps,
                           settings=settings, progress=not args.quiet)
    paths = write_spectrum(result, out, scale_mm_per_px=args.scale, title=Path(args.input).name)
    print(f"{args.input}: {result.n_frames} frames at {result.fps:g} fps, resolution {result.resolution_hz:.3g} Hz, "
          f"{len(result.rois)} region(s), {len(result.peaks)} peak(s) above the noise floor")
    for k, p in enumerate(result.peaks, 1):
        mm = f" ({p.amplitude_px * args.scale:.4g} mm)" if args.scale else ""
        print(f"  #{k} {p.freq_hz:.4g} Hz, {p.amplitude_px:.4g} px{mm} along {p.axis}, band {p.band_hz[0]:g} "
              f"{p.band_hz[1]:g} Hz, region {' '.join(map(str, p.roi))}")
    for path in paths:
        print(path)
    return 0

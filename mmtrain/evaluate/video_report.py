"""``mmtrain evaluate video-accuracy``: magnify a real clip, measure its physical accuracy, write a table and a plot.

The clip (a frame range and crop of a video file) is magnified by one of

* ``phase_based`` / ``linear``: the evaluation's whole-clip methods in torch
  (:mod:`mmtrain.classical.phase_torch`), with the zero-phase FIR band-pass spanning the clip
  (``--band LOW HIGH``, taps = frames), so their nominal factor is ``alpha`` inside the band and 1 outside;
* ``network``: a checkpoint or the authors' weights through the video pipeline in temporal FIR mode
  (:func:`mmtrain.magnify.api.magnify`), with the same band;

or read from an already magnified file (``--magnified``, same frame range and crop), and compared
with the input by :func:`mmtrain.evaluate.video_accuracy.measure_video_accuracy`. Written into the
output folder: ``accuracy.json`` (everything), ``accuracy.csv`` (one row per band) and
``accuracy.png`` (ratio per band against the nominal factor; input and output amplitudes; flicker).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from mmdata.errors import ConfigError
from mmdata.fsutil import atomic_path, atomic_write_text
from mmtrain.evaluate.video_accuracy import VideoAccuracy, default_bands, measure_video_accuracy

__all__ = ["VIDEO_METHODS", "nominal_factors", "magnify_clip", "write_video_accuracy", "video_accuracy"]

#: Methods ``video-accuracy`` can run itself.
VIDEO_METHODS: tuple[str, ...] = ("phase_based", "linear", "network")


def nominal_factors(bands: Sequence[tuple[float, float]], alpha: float, passband: tuple[float, float] | None) -> list[float | None]:
    """``alpha`` for a band inside the pass band, 1 for one outside, ``None`` for one across an edge (or unknown)."""
    if passband is None:
        return [None] * len(bands)
    lo, hi = passband
    return [alpha if (b_lo >= lo and b_hi <= hi) else 1.0 if (b_hi <= lo or b_lo >= hi) else None for b_lo, b_hi in bands]


def magnify_clip(frames: np.ndarray, fps: float, *, method: str, alpha: float, band: tuple[float, float],
                 device: str = "auto", model: str | None = None) -> np.ndarray:
    """Magnify a whole uint8 clip ``(T, H, W, 3)`` in the band; returns uint8 frames of the same shape.

    ``model`` (the network method only) is a model spec (:func:`mmtrain.model.registry.resolve_model`);
    ``None``: the default model, named in the log.

    Raises:
        ConfigError: an unknown method, a band the clip cannot hold.
        CheckpointError: the model cannot be found or loaded.
    """
    from mmtrain.magnify.methodnames import canonical_method
    from mmtrain.magnify.pipeline import select_device

    method = canonical_method(method)

    if method not in VIDEO_METHODS:
        raise ConfigError(f"--method: expected one of {', '.join(VIDEO_METHODS)}, got {method!r}")
    dev = select_device(device)
    if method == "network":
        from mmtrain.magnify.api import magnify

        return magnify(frames, alpha, mode="temporal", filter="fir", band=band, fps=fps, model=model,
                       device=str(dev))
    from mmtrain.classical.phase import PhaseBasedConfig
    from mmtrain.classical.phase_torch import linear_magnify_torch, phase_based_magnify_torch

    config = PhaseBasedConfig(fps=fps, low_hz=band[0], high_hz=band[1], taps=len(frames))
    fn = phase_based_magnify_torch if method == "phase_based" else linear_magnify_torch
    return np.clip(np.rint(fn(frames, alpha, config, device=dev)), 0, 255).astype(np.uint8)


def _plot(acc: VideoAccuracy, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    centre = np.array([np.sqrt(max(b.low_hz, 1e-3) * b.high_hz) for b in acc.bands])
    ok = np.array([b.measurable for b in acc.bands])
    ratio = np.array([b.ratio for b in acc.bands])
    err = np.array([[b.ratio - b.ratio_q25 for b in acc.bands], [b.ratio_q75 - b.ratio for b in acc.bands]])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    if ok.any():
        ax1.errorbar(centre[ok], ratio[ok], yerr=err[:, ok], fmt="o-", capsize=3, label="measured (median, quartiles)")
    few = ~ok & np.isfinite(ratio)
    if few.any():
        ax1.plot(centre[few], ratio[few], "o", mfc="none", color="gray", label="fewer than 3 points (not measurable)")
    nominal = [(c, b.expected) for c, b in zip(centre, acc.bands) if b.expected is not None]
    if nominal:
        ax1.plot(*zip(*nominal), "k_", markersize=18, mew=2, label="nominal factor")
    ax1.set_xscale("log")
    if np.isfinite(ratio).any() and np.nanmin(ratio) > 0:
        ax1.set_yscale("log")
    ax1.set_xlabel("band centre (Hz)")
    ax1.set_ylabel("output / input motion amplitude")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7)
    amps = np.array([[b.input_amplitude, b.output_amplitude] for b in acc.bands], dtype=np.float64)
    ax2.plot(centre, amps[:, 0], "o-", label="input")
    ax2.plot(centre, amps[:, 1], "s-", label="output")
    ax2.set_xscale("log")
    if np.isfinite(amps).any() and np.nanmin(amps) > 0:
        ax2.set_yscale("log")
    ax2.set_xlabel("band centre (Hz)")
    ax2.set_ylabel("RMS motion in band (px, median over points)")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=7, title=f"flicker {acc.flicker_input:.2f} -> {acc.flicker_output:.2f} (0-255)", title_fontsize=7)
    for ax in (ax1, ax2):
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_video_accuracy(acc: VideoAccuracy, out: str | Path, *, title: str = "") -> list[Path]:
    """Write ``accuracy.json``, ``accuracy.csv`` and ``accuracy.png`` into ``out`` (created if needed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "accuracy.json", json.dumps(acc.to_json(), indent=1))
    fields = ["low_hz", "high_hz", "input_amplitude", "output_amplitude", "ratio", "ratio_q25", "ratio_q75", "points",
              "expected", "measurable"]
    with atomic_path(out / "accuracy.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            for b in acc.bands:
                writer.writerow({k: ("" if getattr(b, k) is None else getattr(b, k)) for k in fields})
    _plot(acc, out / "accuracy.png", title)
    return [out / "accuracy.json", out / "accuracy.csv", out / "accuracy.png"]


def video_accuracy(video: str | Path, out: str | Path, *, alpha: float, band: tuple[float, float] | None,
                   method: str = "phase_based", model: str | None = None, magnified: str | Path | None = None,
                   start: int = 0, frames: int | None = None, crop: tuple[int, int, int, int] | None = None,
                   bands: Sequence[tuple[float, float]] | None = None, points: int = 24, patch: int = 12,
                   min_amplitude: float = 0.02, device: str = "auto") -> tuple[VideoAccuracy, list[Path]]:
    """Decode a clip, magnify it (or read ``magnified``), measure and write the report (see the module docstring).

    Raises:
        ConfigError: a bad selection, method, band; VideoError: an unreadable file.
    """
    from mmtrain.video.clip import ClipSelection
    from mmtrain.video.io import VideoReader

    selection = ClipSelection(start=start, frames=frames, crop=crop)
    reader = VideoReader(video, selection)
    inputs = np.stack(list(reader))
    fps = float(reader.info.fps)
    if magnified is not None:
        outputs = np.stack(list(VideoReader(magnified, selection)))
        if outputs.shape != inputs.shape:
            raise ConfigError(f"--magnified: {magnified} gives frames {outputs.shape}, the input {inputs.shape}")
        label = f"{Path(magnified).name}"
    else:
        if band is None:
            raise ConfigError("--band: the method's pass band LOW HIGH (Hz) is needed to magnify the clip")
        outputs = magnify_clip(inputs, fps, method=method, alpha=alpha, band=band, device=device, model=model)
        label = f"{method}, alpha {alpha:g}, band {band[0]:g}-{band[1]:g} Hz"
    bands = list(bands) if bands else default_bands(fps, len(inputs))
    acc = measure_video_accuracy(inputs, outputs, fps, bands=bands, expected=nominal_factors(bands, alpha, band),
                                 points=points, patch=patch, min_amplitude=min_amplitude)
    acc.meta.update({"video": str(video), "start": start, "frames": len(inputs), "crop": list(crop) if crop else None,
                     "alpha": alpha, "band": list(band) if band else None, "method": None if magnified else method,
                     "magnified": str(magnified) if magnified else None})
    paths = write_video_accuracy(acc, out, title=f"{Path(video).name} ({inputs.shape[2]}x{inputs.shape[1]}, "
                                                 f"{len(inputs)} frames at {fps:g} fps): {label}")
    return acc, paths

"""Writing an analysis: ``spectrum.json``, ``spectrum.csv``, ``waveform.csv``, ``waveform.png``, ``spectrum.png``.

Every file is rendered in memory first and only then written, each atomically (a temporary name,
then a rename): a failure leaves no file behind, and an interrupted write no half-written one.

* ``spectrum.json`` — :meth:`~mmtrain.analysis.spectrum.SpectrumResult.to_json` (peaks largest first);
* ``spectrum.csv`` — one row per region, axis and DFT bin of the clip: ``roi`` (``x y w h``), ``axis``,
  ``freq_hz``, ``amplitude_px``, ``floor_px``, ``threshold_px`` (and ``amplitude_mm`` with a scale);
* ``waveform.csv`` — one row per frame: ``t_s`` and ``dx``/``dy`` (px) of every region;
* ``waveform.png`` — the displacement waveforms; ``spectrum.png`` — the zero-padded amplitude spectra
  (log scale) with the detection threshold and the reported peaks marked.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.fsutil import atomic_write_bytes
from mmtrain.analysis.spectrum import AXES, SpectrumResult

__all__ = ["OUTPUT_FILES", "render_spectrum", "write_spectrum"]

log = logging.getLogger(__name__)

#: The files :func:`write_spectrum` writes into its folder.
OUTPUT_FILES = ("spectrum.json", "spectrum.csv", "waveform.csv", "waveform.png", "spectrum.png")


def _roi_text(roi: tuple[int, ...]) -> str:
    return " ".join(str(v) for v in roi)


def _csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _spectrum_csv(result: SpectrumResult, scale: float | None) -> bytes:
    header = ["roi", "axis", "freq_hz", "amplitude_px", "floor_px", "threshold_px"] + (["amplitude_mm"] if scale else [])
    rows: list[list[Any]] = [header]
    for spec in result.per_roi:
        for c, axis in enumerate(AXES):
            for f, a, fl, th in zip(spec.bin_freqs, spec.bin_amplitude[:, c], spec.floor[:, c], spec.threshold[:, c]):
                rows.append([_roi_text(spec.roi), axis, f"{f:.6g}", f"{a:.6g}", f"{fl:.6g}", f"{th:.6g}"]
                            + ([f"{a * scale:.6g}"] if scale else []))
    return _csv(rows)


def _waveform_csv(result: SpectrumResult) -> bytes:
    header = ["t_s"] + [f"{name} ({_roi_text(s.roi)})" for s in result.per_roi for name in ("dx_px", "dy_px")]
    rows: list[list[Any]] = [header]
    for t in range(result.n_frames):
        rows.append([f"{t / result.fps:.6g}"] + [f"{v:.6g}" for s in result.per_roi for v in s.displacement[t]])
    return _csv(rows)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    return buf.getvalue()


def _plots(result: SpectrumResult, title: str) -> tuple[bytes, bytes]:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    n = len(result.per_roi)
    t = np.arange(result.n_frames) / result.fps
    wave = Figure(figsize=(8, 1.2 + 2.0 * n), layout="constrained")
    spec = Figure(figsize=(8, 1.2 + 2.6 * n), layout="constrained")
    for r, s in enumerate(result.per_roi):
        ax = wave.add_subplot(n, 1, r + 1)
        for c, axis in enumerate(AXES):
            ax.plot(t, s.displacement[:, c], lw=0.9, label=f"d{axis}")
        ax.set_ylabel("displacement (px)")
        ax.set_title(f"region {_roi_text(s.roi)} (x y w h)", fontsize=9)
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(alpha=0.3)
        ax2 = spec.add_subplot(n, 1, r + 1)
        for c, axis in enumerate(AXES):
            line, = ax2.semilogy(s.freqs[1:], np.maximum(s.amplitude[1:, c], 1e-6), lw=0.9, label=f"{axis}")
            ax2.semilogy(s.bin_freqs[1:], s.threshold[1:, c], "--", lw=0.8, color=line.get_color(),
                         label=f"{axis} threshold")
            for k, p in enumerate(result.peaks):
                if p.roi == s.roi and p.axis == axis:  # labels staggered so that close peaks stay readable
                    ax2.plot([p.freq_hz], [p.amplitude_px], "v", color=line.get_color(), ms=7)
                    ax2.annotate(f"#{k + 1} {p.freq_hz:.3g} Hz\n{p.amplitude_px:.3g} px", (p.freq_hz, p.amplitude_px),
                                 textcoords="offset points", xytext=(4, 6 + 18 * (k % 3)), fontsize=7)
        ax2.set_ylabel("amplitude (px)")
        ax2.set_title(f"region {_roi_text(s.roi)}: resolution {result.resolution_hz:.3g} Hz", fontsize=9)
        ax2.legend(fontsize=7, loc="upper right", ncol=2)
        ax2.grid(alpha=0.3, which="both")
    wave.axes[-1].set_xlabel("time (s)")
    spec.axes[-1].set_xlabel("frequency (Hz)")
    if title:
        wave.suptitle(title, fontsize=10)
        spec.suptitle(title, fontsize=10)
    return _png(wave), _png(spec)


def render_spectrum(result: SpectrumResult, *, scale_mm_per_px: float | None = None,
                    title: str = "") -> dict[str, bytes]:
    """The contents of every output file, by name (:data:`OUTPUT_FILES`), rendered in memory."""
    doc = result.to_json(scale_mm_per_px)
    wave_png, spec_png = _plots(result, title)
    return {"spectrum.json": (json.dumps(doc, indent=1) + "\n").encode("utf-8"),
            "spectrum.csv": _spectrum_csv(result, scale_mm_per_px),
            "waveform.csv": _waveform_csv(result),
            "waveform.png": wave_png, "spectrum.png": spec_png}


def write_spectrum(result: SpectrumResult, out: str | Path, *, scale_mm_per_px: float | None = None,
                   title: str = "") -> list[Path]:
    """Write :data:`OUTPUT_FILES` into the folder ``out`` (created when missing).

    Args:
        result: the analysis.
        out: the folder.
        scale_mm_per_px: adds millimetres (``amplitude_mm``) to the JSON and CSV.
        title: a title for the plots (the video's name).

    Returns:
        The paths written.

    Raises:
        OSError: the folder cannot be created or written (naming it).
    """
    files = render_spectrum(result, scale_mm_per_px=scale_mm_per_px, title=title)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [atomic_write_bytes(out / name, data) for name, data in files.items()]

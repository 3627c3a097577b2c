"""Finding the motion in a video: regions' displacement waveforms, their spectra and peaks.

A practitioner's first question about a video is where it moves and at which frequencies; the
answer chooses the temporal band of ``mmtrain magnify --mode temporal`` (``--band peak`` takes it
straight from this analysis). The network is not needed: only video decoding and the project's
sub-pixel shift estimator.

* :mod:`~mmtrain.analysis.displacement` — regions of interest and their displacement waveforms;
* :mod:`~mmtrain.analysis.spectrum` — amplitude spectrum, peaks and their bands;
* :mod:`~mmtrain.analysis.settings` — how they are computed (:class:`SpectrumSettings`, the command's defaults);
* :mod:`~mmtrain.analysis.floor` — the noise floor and the detection threshold over it;
* :mod:`~mmtrain.analysis.api` — :func:`analyse_video` (a file and a clip selection) and :func:`analyse_frames`;
* :mod:`~mmtrain.analysis.report` — ``spectrum.json``, the CSVs and the plots;
* :mod:`~mmtrain.analysis.peakband` — ``--band peak[:K]`` of ``mmtrain magnify``;
* :mod:`~mmtrain.analysis.cli` — ``mmtrain spectrum``.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562).
_EXPORTS = {
    "mmtrain.analysis.displacement": ["Roi", "MIN_ROI_SIDE", "SHIFT_TOL", "check_rois", "roi_displacements"],
    "mmtrain.analysis.spectrum": [
        "MIN_FRAMES", "Peak", "RoiSpectrum", "SpectrumResult", "amplitude_spectrum",
        "find_peaks", "analyse_displacements", "peak_band",
    ],
    "mmtrain.analysis.settings": ["SpectrumSettings"],
    "mmtrain.analysis.floor": ["floor_halfwidth", "noise_floor", "threshold_factor"],
    "mmtrain.analysis.api": ["analyse_frames", "analyse_video"],
    "mmtrain.analysis.report": ["OUTPUT_FILES", "render_spectrum", "write_spectrum"],
    "mmtrain.analysis.peakband": ["PeakChoice", "parse_band_choice", "band_from_peak", "add_roi_option"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]

"""The classical Eulerian methods the paper compares against: phase-based and linear magnification.

Nothing here needs the network.

* :mod:`~mmtrain.classical.phase` — the phase-based method of Wadhwa et al. 2013 (numpy, pyrtools):
  on a whole clip (the evaluation's) and streamed frame by frame (``mmtrain magnify``);
* :mod:`~mmtrain.classical.steerable` — pyrtools' complex steerable pyramid in torch (CPU or CUDA);
* :mod:`~mmtrain.classical.phase_torch` — the phase-based and linear methods in torch, the same numbers as numpy;
* :mod:`~mmtrain.classical.phase_frames` — the streamed phase-based method over batches, numpy or torch;
* :mod:`~mmtrain.classical.linear` — linear Eulerian magnification of Wu et al. 2012.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): pyrtools (which imports
#: matplotlib) loads only when a pyramid is built.
_EXPORTS = {
    "mmtrain.classical.phase": [
        "StreamSettings", "PhaseBasedConfig", "fir_bandpass", "fir_transfer", "phase_based_magnify", "PhaseBasedStream",
    ],
    "mmtrain.classical.steerable": ["SteerablePyramid", "Decomposition"],
    "mmtrain.classical.phase_torch": [
        "gaussian_blur_reflect", "amplitude_weighted_blur", "phase_based_magnify_torch", "linear_magnify_torch",
        "PhaseBasedStreamTorch",
    ],
    "mmtrain.classical.phase_frames": ["phase_based_frames"],
    "mmtrain.classical.linear": ["linear_magnify", "linear_frames"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]

"""Classical motion-magnification baselines the learned model is compared against.

The implementations live with the video tools, so that ``mmtrain magnify --method`` and the
evaluation run the same code: the phase-based method of Wadhwa et al. 2013
(:mod:`mmtrain.classical.phase`, with the paper's comparison settings as :class:`PhaseBasedConfig`'s
defaults) and linear Eulerian magnification of Wu et al. 2012 (:mod:`mmtrain.classical.linear`).

Example:
    >>> import numpy as np
    >>> video = np.random.default_rng(0).random((30, 32, 32, 3)) * 255
    >>> phase_based_magnify(video, alpha=10.0, frames=[0]).shape
    (1, 32, 32, 3)
"""

from __future__ import annotations

from mmtrain.classical.linear import linear_magnify
from mmtrain.classical.phase import PhaseBasedConfig, fir_bandpass, fir_transfer, phase_based_magnify

__all__ = ["PhaseBasedConfig", "fir_bandpass", "fir_transfer", "phase_based_magnify", "linear_magnify"]

"""What the command line and the presets need of the temporal filters, without numpy, scipy or torch.

The filter kinds (:mod:`mmtrain.temporal.filters`), the limits of the FIR check
(:mod:`mmtrain.temporal.fircheck`) and the first-order IIR low-pass's coefficient <-> cut-off formulas
(the presets express the authors' ``r`` as cut-offs): ``mmtrain magnify --help`` imports this module,
not the filters. Each name is also importable from the module that uses it.
"""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["FilterKind", "FILTER_KINDS", "MAX_DC_GAIN", "MAX_STOP_GAIN", "iir_lowpass_coefficient",
           "iir_lowpass_cutoff"]

FilterKind = Literal["fir", "butter", "diff-iir"]
FILTER_KINDS: tuple[str, ...] = ("fir", "butter", "diff-iir")

#: Largest DC gain of the FIR band-pass that a run accepts.
MAX_DC_GAIN = 0.02
#: Largest gain one octave or more outside the band (below ``low / 2``, above ``2 high``).
MAX_STOP_GAIN = 0.10


def iir_lowpass_coefficient(cutoff: float, fs: float) -> float:
    """Coefficient ``r`` of ``y[t] = y[t-1] + r (x[t] - y[t-1])`` whose gain is -3 dB at ``cutoff``.

    Solves ``|r / (1 - (1 - r) e^{-iw})|^2 = 1/2`` at ``w = 2 pi cutoff / fs``.
    """
    c = 2.0 - math.cos(2.0 * math.pi * cutoff / fs)
    return 1.0 - (c - math.sqrt(c * c - 1.0))


def iir_lowpass_cutoff(r: float, fs: float) -> float:
    """The -3 dB frequency (Hz) of the first-order low-pass with coefficient ``r`` (inverse of
    :func:`iir_lowpass_coefficient`)."""
    q = 1.0 - r
    return math.acos((1.0 + q * q - 2.0 * r * r) / (2.0 * q)) * fs / (2.0 * math.pi)

"""How spectra and peaks are computed (:mod:`mmtrain.analysis.spectrum`): plain settings, so that
``mmtrain spectrum --help`` shows their defaults without importing the numerical libraries."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from mmdata.errors import ConfigError

__all__ = ["SpectrumSettings"]


@dataclass(frozen=True)
class SpectrumSettings:
    """How spectra and peaks are computed (the defaults of ``mmtrain spectrum``).

    Attributes:
        pad: zero-padding factor of the interpolated spectrum (``pad * N`` points).
        false_alarm: the probability that noise alone yields a peak in one axis' spectrum.
        min_amplitude: the smallest amplitude (px) reported as motion.
        max_peaks: the most peaks reported (all regions and axes together, largest first).
        detrend: ``mean`` (remove the weighted mean) or ``linear`` (remove a least-squares line first).
        floor_bins: half-width (bins) of the noise floor's running median; ``None``: ``N // 16`` kept within 8 to 32.
        band_digits: significant digits of ``band_hz`` (rounded outward).
    """

    pad: int = 16
    false_alarm: float = 0.01
    min_amplitude: float = 0.005
    max_peaks: int = 10
    detrend: Literal["mean", "linear"] = "mean"
    floor_bins: int | None = None
    band_digits: int = 3

    def check(self) -> "SpectrumSettings":
        """This object, when every value makes sense.

        Raises:
            ConfigError: naming the setting and what it expects.
        """
        if self.pad < 1:
            raise ConfigError(f"pad: expected a zero-padding factor of at least 1, got {self.pad}")
        if not 0.001 <= self.false_alarm <= 0.5:
            raise ConfigError(f"false_alarm: expected a probability from 0.001 to 0.5, got {self.false_alarm}")
        if not (self.min_amplitude >= 0 and math.isfinite(self.min_amplitude)):
            raise ConfigError(f"min_amplitude: expected an amplitude >= 0 px, got {self.min_amplitude}")
        if self.max_peaks < 1:
            raise ConfigError(f"max_peaks: expected at least 1, got {self.max_peaks}")
        if self.detrend not in ("mean", "linear"):
            raise ConfigError(f"detrend: expected mean or linear, got {self.detrend!r}")
        if self.floor_bins is not None and self.floor_bins < 1:
            raise ConfigError(f"floor_bins: expected at least 1 bin, got {self.floor_bins}")
        return self

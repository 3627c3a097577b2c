"""The paper's settings for its sequences (Table A.1 of Oh et al. 2018), usable as ``--preset NAME``.

The sampling rate is that of the original capture (the band refers to it), which is not always the
frame rate stored in a file: the EVM ``guitar`` sample, for instance, is a 600 fps capture stored at
~30 fps. A preset's ``fps`` is therefore used for filtering whatever the file says; the output keeps the
file's frame rate.

The baby sequence uses the difference-of-IIR filter with the Riesz-pyramid paper's coefficients
``r = 0.04`` and ``0.4`` at 30 fps (the authors' ``run_temporal`` command line), expressed here as the
-3 dB cut-offs of the two low-passes (:func:`mmtrain.temporal.filters.iir_lowpass_cutoff`), 0.195-2.49 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmdata.errors import ConfigError
from mmtrain.temporal.filters import iir_lowpass_cutoff

__all__ = ["SequencePreset", "PRESETS", "get_preset"]


@dataclass(frozen=True)
class SequencePreset:
    """One row of Table A.1.

    Attributes:
        name: the preset's name (``--preset``).
        alpha: magnification factor.
        mode: ``static``, ``dynamic`` or ``temporal``.
        filter: temporal filter (``fir``, ``butter``, ``diff-iir``) or ``None``.
        band: pass band in Hz, or ``None``.
        fps: sampling rate the band refers to, or ``None``.
    """

    name: str
    alpha: float
    mode: str
    filter: str | None = None
    band: tuple[float, float] | None = None
    fps: float | None = None


def _t(name: str, alpha: float, filt: str, low: float, high: float, fps: float) -> SequencePreset:
    return SequencePreset(name, alpha, "temporal", filt, (low, high), fps)


PRESETS: dict[str, SequencePreset] = {p.name: p for p in [
    _t("crane", 75, "fir", 0.2, 0.25, 24),
    _t("balance", 10, "butter", 1, 8, 300),
    _t("throat", 100, "fir", 90, 110, 1900),
    _t("baby", 20, "diff-iir", iir_lowpass_cutoff(0.04, 30), iir_lowpass_cutoff(0.4, 30), 30),
    _t("tree-high", 25, "fir", 1.5, 2, 60),
    _t("tree-low", 25, "fir", 0.5, 1, 60),
    _t("camera", 75, "butter", 36, 62, 300),
    _t("eye", 75, "fir", 30, 50, 500),
    SequencePreset("gun", 8, "dynamic"),
    SequencePreset("cat-toy", 7, "dynamic"),
    SequencePreset("drone", 10, "dynamic"),
    SequencePreset("hot-coffee", 3, "dynamic"),
    _t("drum", 10, "fir", 74, 78, 1900),
    SequencePreset("drum-static", 10, "static"),
    _t("guitar", 25, "butter", 72, 92, 600),
    SequencePreset("guitar-static", 10, "static"),
]}


def get_preset(name: str) -> SequencePreset:
    """The preset called ``name``.

    Raises:
        ConfigError: no such preset (the message lists the known ones).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"preset: unknown sequence preset {name!r}; known: {', '.join(PRESETS)}") from None

"""Temporal filters: the band-passes of the temporal mode, their checks and their bounded-memory store.

Nothing here needs the network: the filters act on any per-pixel time series (the network's shape
representation, a pyramid's phases, a measured displacement waveform).

* :mod:`~mmtrain.temporal.filters` — FIR (frequency domain), Butterworth and difference-of-IIR band-passes;
* :mod:`~mmtrain.temporal.fircheck` — the FIR's actual response: refusal of a leaky filter, effective band;
* :mod:`~mmtrain.temporal.spill` — the on-disk store that lets the FIR filter run in bounded memory.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): the filters do not import
#: zarr and dask, which only the spill needs.
_EXPORTS = {
    "mmtrain.temporal.filters": [
        "FilterKind", "FILTER_KINDS", "validate_band", "iir_lowpass_coefficient", "iir_lowpass_cutoff",
        "StreamingFilter", "DiffIIRFilter", "ButterworthFilter", "make_streaming_filter", "fir_taps",
        "fir_response", "fir_filter",
    ],
    "mmtrain.temporal.fircheck": [
        "MAX_DC_GAIN", "MAX_STOP_GAIN", "FirReport", "fir_dense_response", "check_fir", "require_fir",
    ],
    "mmtrain.temporal.spill": ["RepresentationSpill", "SPILL_PREFIX", "remove_stale_spills", "tile_side"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]

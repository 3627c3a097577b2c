"""Rendering one training sample: scene parameters -> continuous-domain compositing -> noise.

In pipeline order:

* :mod:`~mmdata.scene` — the scene contract (:class:`SampleParams`, :class:`LayerParams`), plain data;
* :mod:`~mmdata.render.sampling` — draws a sample's parameters from its seed (global seed, part, index);
* :mod:`~mmdata.render.resample` — cubic-spline reconstruction, exact sub-pixel warps, anti-aliased decimation;
* :mod:`~mmdata.render.composite` — layers composited on the supersampled grid, the frames of a sample;
* :mod:`~mmdata.render.color` — the sRGB transfer functions of linear-light rendering (``dataset.linear_light``);
* :mod:`~mmdata.render.noise` — photon and read noise, stochastic rounding to 8 bits;
* :mod:`~mmdata.render.measure` — the sub-pixel shift estimator the tests and evaluation measure motion with;
* :mod:`~mmdata.render.preview` — contact sheets of rendered samples (``mmdata preview``, :mod:`~mmdata.render.cli`).

Only these modules (with the source decoding of :mod:`mmdata.sources`) decide a sample's bytes; their
code hash (:func:`mmdata.store.provenance.render_code_hash`) is what a shard records and the workflow
re-renders on.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562), so that importing one
#: module of this package does not import all the others and their dependencies.
_EXPORTS = {
    "mmdata.scene": ["PART_NAMES", "part_number", "part_name", "LayerParams", "SampleParams"],
    "mmdata.render.sampling": ["COVER_MARGIN", "sample_seed", "sample_params", "background_cover"],
    "mmdata.render.resample": [
        "bspline3", "spline_coefficients", "warp_matrix", "transpose_into", "separable_transposed",
        "apply_separable", "gaussian_decimation",
    ],
    "mmdata.render.composite": [
        "FRAME_FIELDS", "INPUT_FIELDS", "render_clean", "render_sample", "render", "prefilter_sigma",
    ],
    "mmdata.render.noise": ["MID_GRAY", "NORMAL_ABOVE", "photon_noise", "read_noise", "stochastic_round"],
    "mmdata.render.measure": ["estimate_shift"],
    "mmdata.render.preview": ["contact_sheet", "write_previews"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]

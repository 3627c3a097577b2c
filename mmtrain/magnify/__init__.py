"""Magnifying videos with a trained network (or the classical phase-based and linear methods).

The one-call API: ``from mmtrain.magnify import magnify``, then ``magnify(frames, alpha, mode=...,
model=..., band=..., fps=..., method=...)`` (:func:`mmtrain.magnify.api.magnify`).

* :mod:`~mmtrain.magnify.presets` — the paper's per-sequence settings (Table A.1);
* :mod:`~mmtrain.magnify.pipeline` — :func:`magnify_frames` with the network (static, dynamic, temporal);
* :mod:`~mmtrain.magnify.roi` — a region of interest: magnify a rectangle only, with a feathered edge;
* :mod:`~mmtrain.magnify.api` — the one-call :func:`magnify` on an array (and :func:`magnify_iter`);
* :mod:`~mmtrain.magnify.videofile` — :func:`magnify_video`: a file in, a video / PNGs / slices out;
* :mod:`~mmtrain.magnify.demo` — a synthetic demo video with a known sub-pixel motion;
* :mod:`~mmtrain.magnify.cli` — ``mmtrain magnify`` and ``mmtrain make-demo-video``.

Reading and writing videos is :mod:`mmtrain.video`'s, the temporal filters are :mod:`mmtrain.temporal`'s and
the phase-based and linear methods are :mod:`mmtrain.classical`'s.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562), so that importing one
#: module of this package does not import all the others and their dependencies.
_EXPORTS = {
    "mmtrain.magnify.presets": ["SequencePreset", "PRESETS", "get_preset"],
    "mmtrain.magnify.pipeline": [
        "MODES", "METHODS", "MagnifySettings", "select_device", "frames_to_tensor", "tensor_to_frames",
        "magnify_frames",
    ],
    "mmtrain.magnify.roi": ["CONTEXT", "DEFAULT_FEATHER", "Region"],
    "mmtrain.magnify.api": ["load_for", "magnify_batches", "magnify", "magnify_iter"],
    "mmtrain.magnify.videofile": [
        "MagnifyResult", "SliceSpec", "parse_slice", "default_slice_path", "frame_png_path",
        "difference_panel", "magnify_video",
    ],
    "mmtrain.magnify.demo": ["DEMO_IMAGES", "demo_image", "SinusoidVideo"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]


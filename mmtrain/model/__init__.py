"""The network and its weights.

* :mod:`~mmtrain.model.network` — :class:`MagNet` (encoder, manipulator, decoder; Fig. 2) and the
  ``paper``/``official`` presets of :class:`ModelConfig`;
* :mod:`~mmtrain.model.frames` — frames to and from the network's [-1, 1] range, padding to multiples of 4;
* :mod:`~mmtrain.model.official` — the authors' released TensorFlow weights, read without TensorFlow;
* :mod:`~mmtrain.model.checkpoint` — our checkpoints (plain dicts, atomic, exact resume) and
  :func:`load_model` for either kind;
* :mod:`~mmtrain.model.registry` — :func:`resolve_model`: what a ``--model`` spec names (a path, a released
  or a registered model; none: :data:`DEFAULT_MODEL`);
* :mod:`~mmtrain.model.runtime` — how it runs: CPU threads, channels_last, bf16/fp16 autocast, torch.compile.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562), so that importing one
#: module of this package does not import all the others and their dependencies.
_EXPORTS = {
    "mmtrain.model.frames": ["from_model_range", "pad_to_multiple", "to_model_range"],
    "mmtrain.model.network": ["InputShapeError", "ModelConfig", "MagNet", "make_model", "PRESETS"],
    "mmtrain.model.official": [
        "official_parameter_names", "read_npz_weights", "read_tf_checkpoint", "resolve_tf_prefix",
        "load_official_state", "load_official_weights",
    ],
    "mmtrain.model.checkpoint": [
        "FORMAT", "VERSION", "save_checkpoint", "load_checkpoint", "load_model", "check_finite", "is_official_weights",
    ],
    "mmtrain.model.registry": ["DEFAULT_MODEL", "ResolvedModel", "models_home", "registered_models", "resolve_model", "resolve_weights"],
    "mmtrain.model.runtime": ["PRECISIONS", "available_cpus", "configure_threads", "autocast", "maybe_compile"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]

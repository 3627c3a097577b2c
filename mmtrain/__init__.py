"""mmtrain: the motion-magnification network (Oh et al. 2018), training, video magnification, evaluation.

Subpackages in layer order, lowest first (each ``__init__`` lists what it offers; the first three need no network):

* :mod:`mmtrain.video` — video I/O: reading, clip selection, outputs, slice images;
* :mod:`mmtrain.temporal` — the temporal filters (FIR, Butterworth, difference of IIR) and their checks;
* :mod:`mmtrain.classical` — the phase-based and linear Eulerian methods (numpy and torch);
* :mod:`mmtrain.model` — the network, the authors' weights, checkpoints;
* :mod:`mmtrain.train` — the training stream over dataset shards, losses, the training loop
  (the function: ``from mmtrain.train import train``; ``mmtrain.train`` is always the subpackage);
* :mod:`mmtrain.magnify` — magnifying frames and videos (the network, or a classical method);
* :mod:`mmtrain.evaluate` — the paper's synthetic tests, baselines, scoring and report.

``mmtrain`` builds on :mod:`mmdata` (the base layer: config and its schema, errors, the dataset
store and the renderer); ``mmdata`` never imports ``mmtrain``.

The one-call API: ``from mmtrain.magnify import magnify``, then ``magnify(frames, alpha, mode=..., model=...,
band=..., fps=..., method=...)`` on a ``(T, H, W, 3)`` uint8 array (:func:`mmtrain.magnify.api.magnify`;
``mmtrain.magnify`` is the subpackage). ``mmtrain.magnify_iter`` streams a long clip.
"""

from __future__ import annotations

from mmdata import CheckpointError, VideoError
from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): ``import mmtrain.magnify.pipeline``
#: does not import training, evaluation or the classical methods.
_EXPORTS = {
    "mmdata.version": ["__version__"],
    "mmtrain.magnify.pipeline": ["MagnifySettings", "magnify_frames"],
    "mmtrain.magnify.api": ["magnify_iter"],
    "mmtrain.magnify.videofile": ["magnify_video"],
    "mmtrain.model.network": ["MagNet", "ModelConfig", "make_model"],
    "mmtrain.model.checkpoint": ["load_checkpoint", "load_model", "save_checkpoint"],
    "mmtrain.train.loop": ["TrainConfig"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "__version__",
    "CheckpointError",
    "VideoError",
    "MagNet",
    "ModelConfig",
    "make_model",
    "load_model",
    "load_checkpoint",
    "save_checkpoint",
    "TrainConfig",
    "magnify_iter",
    "MagnifySettings",
    "magnify_frames",
    "magnify_video",
]

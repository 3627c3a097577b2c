"""Training the network on dataset shards.

* :mod:`~mmtrain.train.data` — the shuffled, deterministic training stream read through :func:`mmdata.open_dataset`;
* :mod:`~mmtrain.train.dataset` — :class:`SampleDataset`, a map-style torch dataset for trainers of your own;
* :mod:`~mmtrain.train.losses` — the paper's and the authors' losses;
* :mod:`~mmtrain.train.loop` — :class:`TrainConfig` and :func:`train` (resumable, CPU/CUDA, DDP);
* :mod:`~mmtrain.train.cli` — ``mmtrain train`` and ``mmtrain convert-weights``.
"""

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562), so that importing one
#: module of this package does not import all the others and their dependencies.
_EXPORTS = {
    "mmtrain.train.data": [
        "StreamConfig", "TrainingStream", "check_fields", "make_loader", "to_model_range", "add_poisson_noise",
        "validation_batches", "epoch_runs",
    ],
    "mmtrain.train.dataset": ["SampleDataset"],
    "mmtrain.train.losses": ["LossConfig", "l1", "MagnificationLoss", "do_nothing_loss", "BATCH_FIELDS"],
    "mmtrain.train.loop": ["TrainConfig", "train", "evaluate_loss", "CHECKPOINT_NAME", "METRICS_NAME"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]

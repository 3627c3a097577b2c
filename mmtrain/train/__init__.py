"""Training the network on dataset shards.

* :mod:`~mmtrain.train.data` — the shuffled, deterministic training stream read through :func:`mmdata.open_dataset`;
* :mod:`~mmtrain.train.dataset` — :class:`SampleDataset`, a map-style torch dataset for trainers of your own;
* :mod:`~mmtrain.train.losses` — the paper's and the authors' losses;
* :mod:`~mmtrain.train.loop` — :class:`TrainConfig` and :func:`train` (resumable, CPU/CUDA, DDP);
* :mod:`~mmtrain.train.cli` — ``mmtrain train`` and ``mmtrain convert-weights``.
"""

from __future__ import annotations

from mmtrain.train.data import (
    StreamConfig,
    TrainingStream,
    check_fields,
    make_loader,
    to_model_range,
    add_poisson_noise,
    validation_batches,
    epoch_runs,
)
from mmtrain.train.dataset import (
    SampleDataset,
)
from mmtrain.train.losses import (
    LossConfig,
    l1,
    MagnificationLoss,
    do_nothing_loss,
    BATCH_FIELDS,
)
from mmtrain.train.loop import (
    TrainConfig,
    train,
    evaluate_loss,
    CHECKPOINT_NAME,
    METRICS_NAME,
)

__all__ = [
    "SampleDataset",
    "StreamConfig",
    "TrainingStream",
    "check_fields",
    "make_loader",
    "to_model_range",
    "add_poisson_noise",
    "validation_batches",
    "epoch_runs",
    "LossConfig",
    "l1",
    "MagnificationLoss",
    "do_nothing_loss",
    "BATCH_FIELDS",
    "TrainConfig",
    "train",
    "evaluate_loss",
    "CHECKPOINT_NAME",
    "METRICS_NAME",
]

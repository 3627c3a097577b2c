"""A map-style ``torch.utils.data.Dataset`` over an indexed dataset root, for trainers of your own.

Our own trainer streams contiguous runs (:mod:`mmtrain.train.data`); this class serves the other
common use: random access by sample number through a standard ``DataLoader``. Every read goes
through :func:`mmdata.open_dataset`'s reader, so it gets the same checks as our trainer.

Example:
    >>> from torch.utils.data import DataLoader
    >>> from mmtrain.train import SampleDataset
    >>> ds = SampleDataset("results/dataset", fields=("frame_a", "frame_b_perturbed", "frame_y_perturbed", "alpha"))  # doctest: +SKIP
    >>> batch = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))  # doctest: +SKIP
    >>> batch["frame_a"].shape  # (B, H, W, 3) uint8, as stored  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from mmdata.errors import StoreError
from mmdata.store import open_dataset

__all__ = ["SampleDataset"]


class SampleDataset(TorchDataset):
    """Sample ``i`` of the chosen parts of a dataset root as a dict of tensors.

    Args:
        root: the dataset root (``mmdata index --root ROOT`` wrote its manifest).
        parts: part numbers or names to include (default: every part), in the manifest's order.
        fields: the fields to return (default: every field the shards share), e.g. ``frame_a``.

    Returns (per item):
        field name -> tensor: frames ``(H, W, 3)`` uint8 exactly as stored, ``alpha`` a float32
        scalar, ``motion`` ``(layers, 2)`` float32, integer fields int64 scalars; text fields
        (``params``) stay ``str``.

    Raises:
        StoreNotFound, StoreError: as :func:`mmdata.open_dataset`; a field that is not stored.
        IndexError: an index outside ``[-len, len)``.
    """

    def __init__(self, root: str | Path, parts: Iterable[int | str] | None = None, fields: Iterable[str] | None = None) -> None:
        self._data = open_dataset(root, parts)
        available = list(self._data.reader(0).fields) if self._data.shards else []
        self.fields: tuple[str, ...] = tuple(fields) if fields is not None else tuple(available)
        missing = [f for f in self.fields if available and f not in available]
        if missing:
            raise StoreError(f"{root}: no field(s) {', '.join(missing)}; the dataset stores {', '.join(available)}")

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, i: int) -> dict[str, Any]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"sample {i} outside the dataset's {n} samples")
        shard, offset = self._data.locate(i % n)
        run = self._data.read_run(shard, offset, offset + 1, self.fields)
        return {name: _to_tensor(values[0]) for name, values in run.items()}


def _to_tensor(value: Any) -> Any:
    value = np.asarray(value)
    if value.dtype.kind in "OUT":
        return str(value)
    return torch.from_numpy(np.array(value, copy=True))

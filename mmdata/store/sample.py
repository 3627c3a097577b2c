"""One sample of an indexed dataset as :class:`mmdata.store.Dataset` returns it: its fields and where it came from.

``ds[i]`` is a :class:`Sample`: a read-only mapping of field name -> value (frames ``(H, W, 3)`` uint8
arrays, small fields as numpy scalars or small arrays, ``params_json`` as ``str``) with a
:class:`Provenance` attached. The provenance is cheap: it comes from the shard reference and the
sample's own ``params_json``; the catalogue is never opened (``mmdata explain`` describes sources).
The per-frame digests are not fields of a sample: verified reads have already checked every frame
against them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.scene import SampleParams
from mmdata.store.layout import DIGEST_FIELDS
from mmdata.store.provenance import params_from_json

__all__ = ["Provenance", "Sample", "split_runs", "samples_of_run"]


@dataclass(frozen=True)
class Provenance:
    """Where one sample of a dataset view lives, and how it was drawn."""

    position: int  # index of the sample in the dataset view (``ds[position]``)
    part: int  # part number (1-5, or a custom part's)
    part_name: str  # e.g. "fg_bg"
    index: int  # index of the sample within its part
    shard: Path  # the shard store holding it
    shard_number: int  # K of part{P}/shard-{K:04d}.zarr
    offset: int  # offset of the sample within the shard
    verified: bool  # whether every frame was checked against its recorded digest when read
    params: SampleParams | None = field(repr=False)  # the recorded rendering parameters (None: imported sample)

    def summary(self) -> dict[str, Any]:
        """A short JSON-able account (a subset of what ``mmdata explain`` prints, without source descriptions).

        Returns:
            part, part_name, index, shard, offset_in_shard, verified, and for a rendered sample its seed,
            alpha, noise_std, background_blur, the background's source id and motion, and the number of
            foreground objects (``"imported": True`` instead for a sample without rendering parameters).
        """
        out: dict[str, Any] = {
            "part": self.part,
            "part_name": self.part_name,
            "index": self.index,
            "shard": str(self.shard),
            "offset_in_shard": self.offset,
            "verified": self.verified,
        }
        p = self.params
        if p is None:
            return {**out, "imported": True}
        return {
            **out,
            "seed": list(p.seed),
            "alpha": p.alpha,
            **({"alpha_y": p.alpha_y, "theta": p.theta} if p.is_axial else {}),
            "noise_std": p.noise_std,
            "background_blur": p.background_blur,
            "background": {"source_id": p.background.source_id, "motion": list(p.background.motion)},
            "n_objects": len(p.objects),
        }


@dataclass(frozen=True, eq=False)
class Sample(Mapping[str, Any]):
    """One sample: field name -> value, plus :attr:`provenance`.

    Frames are ``(H, W, 3)`` uint8 arrays exactly as stored; ``alpha`` and the other per-sample numbers
    are numpy scalars of their stored dtype; ``motion`` is ``(layers, 2)`` float32 (NaN padded);
    ``params_json`` is a ``str``.
    """

    fields: Mapping[str, Any]
    provenance: Provenance

    def __getitem__(self, name: str) -> Any:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"no field {name!r} in this sample; it has {', '.join(self.fields)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        p = self.provenance
        return f"Sample(part={p.part_name!r}, index={p.index}, fields={list(self.fields)})"


def split_runs(locations: list[tuple[int, int]]) -> list[tuple[int, int, int, list[int]]]:
    """Group (shard, offset) locations into contiguous runs: (shard, start, stop, positions in ``locations``).

    Consecutive locations in the same shard with offsets increasing by one share a run, so a slice or an
    iteration reads each stretch with one plain slice per field.
    """
    runs: list[tuple[int, int, int, list[int]]] = []
    for k, (shard, offset) in enumerate(locations):
        if runs and runs[-1][0] == shard and runs[-1][2] == offset:
            s, start, stop, members = runs[-1]
            runs[-1] = (s, start, stop + 1, [*members, k])
        else:
            runs.append((shard, offset, offset + 1, [k]))
    return runs


def samples_of_run(data: Mapping[str, np.ndarray], *, first_position: int, part_name: str, shard: Path, shard_number: int,
                   start: int, verified: bool) -> list[Sample]:
    """Split one run's arrays (as :meth:`ShardReader.read` returns them) into :class:`Sample` objects.

    Args:
        data: field name -> array of the run's samples (digest arrays are left out of the samples).
        first_position: position in the dataset view of the run's first sample.
        part_name: the part's name.  shard, shard_number: the store and its number.
        start: offset within the shard of the run's first sample.  verified: whether the frames were checked.
    """
    names = [n for n in data if n not in DIGEST_FIELDS]
    count = len(next(iter(data.values()))) if data else 0
    out = []
    for k in range(count):
        fields = {n: _value(data[n][k]) for n in names}
        text = fields.get("params_json", "")
        params = params_from_json(text) if text else None
        part = int(fields["part"]) if "part" in fields else (params.part if params else -1)
        index = int(fields["index"]) if "index" in fields else (params.index if params else -1)
        out.append(Sample(fields, Provenance(first_position + k, part, part_name, index, shard, shard_number, start + k, verified, params)))
    return out


def _value(value: Any) -> Any:
    """One sample's value of a field: ``str`` for text, else the numpy scalar or array."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUT" and value.ndim == 0:
        return str(value)
    if isinstance(value, (str, np.str_)) or (isinstance(value, np.generic) and value.dtype.kind in "OUT"):
        return str(value)
    return value

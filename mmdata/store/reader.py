"""Reading shard stores: one shard (:class:`ShardReader`) or a whole indexed dataset (:class:`Dataset`).

Training reads contiguous runs inside one shard with plain slicing (:meth:`Dataset.read_run`);
analysis uses the lazy Dask arrays of :attr:`Dataset.fields`, which concatenate the same field of
every chosen shard in manifest order (part, then index).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import zarr

from mmdata.errors import IntegrityError, StoreError, StoreNotFound
from mmdata.render.params import part_number
from mmdata.store.layout import SMALL_FIELDS, ShardLayout
from mmdata.store.writer import read_marker

__all__ = ["ShardReader", "ShardRef", "Dataset", "open_dataset", "open_shard", "MANIFEST_NAME", "read_manifest", "manifest_digest"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"


def open_shard(path: str | Path) -> "ShardReader":
    """Open a complete shard store for reading.

    Raises:
        StoreNotFound: the path does not exist.
        StoreError: it is not a complete shard store written by mmdata.
    """
    return ShardReader(Path(path))


class ShardReader:
    """Read access to one complete shard store.

    Args:
        path: ``ROOT/part{P}/shard-{K:04d}.zarr``.

    Raises:
        StoreNotFound: the path does not exist.
        StoreError: it is not a complete shard store written by mmdata.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise StoreNotFound(f"{self.path}: shard store not found")
        attrs = read_marker(self.path)
        if attrs is None:
            raise StoreError(f"{self.path}: not a shard store written by mmdata")
        if not attrs.get("complete"):
            raise StoreError(f"{self.path}: shard store is incomplete (its writer did not finish)")
        self.attrs: dict[str, Any] = attrs
        self.layout = ShardLayout.from_dict(attrs["identity"]["layout"])
        self._group: zarr.Group | None = None
        self._arrays: dict[str, zarr.Array] = {}  # opened once, reused by every read
        self._fields: list[str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_group": None, "_arrays": {}}

    @property
    def group(self) -> zarr.Group:
        if self._group is None:
            self._group = zarr.open_group(str(self.path), mode="r")
        return self._group

    @property
    def count(self) -> int:
        return self.layout.count

    @property
    def part(self) -> int:
        return int(self.attrs["part"])

    @property
    def start(self) -> int:
        return int(self.attrs["start"])

    @property
    def fields(self) -> list[str]:
        """Names of the per-sample arrays (frames first)."""
        if self._fields is None:
            with warnings.catch_warnings():
                # files that are not zarr nodes (e.g. the .snakemake_timestamp a workflow writes
                # into a directory output) are not fields; zarr warns about each of them
                warnings.filterwarnings("ignore", message="Object at .* is not recognized", category=UserWarning)
                present = set(self.group.array_keys()) - {"blocks_done"}
            order = [*self.layout.frame_fields, *SMALL_FIELDS, "digest"]
            self._fields = [k for k in order if k in present] + sorted(present - set(order))
        return list(self._fields)

    def array(self, name: str) -> zarr.Array:
        """One zarr array of the store.

        Raises:
            StoreError: no such field in this store.
        """
        if name not in self._arrays:
            if name not in self.fields:
                raise StoreError(f"{self.path}: no field {name!r}; the store has {', '.join(self.fields)}")
            self._arrays[name] = self.group[name]
        return self._arrays[name]

    def read(self, start: int, stop: int, fields: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Read samples [start, stop) (offsets within the shard) of some or all fields.

        Raises:
            StoreError: a field is missing or the range is outside the shard.
        """
        if not 0 <= start <= stop <= self.count:
            raise StoreError(f"{self.path}: run [{start}, {stop}) outside the shard's {self.count} samples")
        names = list(fields) if fields is not None else self.fields
        return {name: np.asarray(self.array(name)[start:stop]) for name in names}

    def params_json(self, offset: int) -> str:
        """The recorded SampleParams JSON of one sample ("" for imported samples)."""
        return str(self.array("params_json")[offset])


@dataclass(frozen=True)
class ShardRef:
    """One shard of an indexed dataset, as the manifest lists it."""

    path: Path  # absolute path of the store
    part: int  # part number 1-5
    shard: int  # shard number within the part
    start: int  # index (within the part) of the shard's first sample
    count: int  # samples in the shard
    checksum: str  # shard checksum recorded at indexing time


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Load ``ROOT/manifest.json``.

    Raises:
        StoreNotFound: the manifest does not exist (run ``mmdata index --root ROOT``).
        StoreError: it is not valid JSON.
    """
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise StoreNotFound(f"{path}: dataset manifest not found; run `mmdata index --root {root}` first")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise StoreError(f"{path}: not valid JSON ({exc})") from exc


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's content, without its creation time and its own hash."""
    body = {k: v for k, v in manifest.items() if k not in ("created", "manifest_hash")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Dataset:
    """A lazy view over the shards of chosen parts of an indexed dataset (see :func:`open_dataset`)."""

    def __init__(self, root: Path, manifest: dict[str, Any], shards: Sequence[ShardRef]) -> None:
        self.root = root
        self.manifest = manifest
        self.manifest_hash: str = manifest.get("manifest_hash") or manifest_digest(manifest)
        self.shards: list[ShardRef] = list(shards)
        self._readers: dict[int, ShardReader] = {}
        offsets = np.cumsum([0] + [s.count for s in self.shards])
        self._offsets = offsets

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_readers"] = {}
        state.pop("fields", None)  # cached Dask arrays are rebuilt on demand
        return state

    def reader(self, shard_index: int) -> ShardReader:
        """The (cached) reader of one shard of this view."""
        if shard_index not in self._readers:
            ref = self.shards[shard_index]
            self._readers[shard_index] = ShardReader(ref.path)
        return self._readers[shard_index]

    def locate(self, i: int) -> tuple[int, int]:
        """(shard index, offset within it) of sample ``i`` of this view."""
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} outside the dataset's {len(self)} samples")
        s = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return s, int(i - self._offsets[s])

    def read_run(self, shard_index: int, start: int, stop: int, fields: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Read samples [start, stop) of one shard (offsets within the shard) with plain slicing.

        Args:
            shard_index: position in :attr:`shards`.
            start, stop: the run, ``0 <= start <= stop <= shards[shard_index].count``.
            fields: names to read (default all).

        Returns:
            field name -> array with ``stop - start`` samples.

        Raises:
            StoreNotFound: the shard vanished.  StoreError: a field is missing or the run is out of range.
        """
        return self.reader(shard_index).read(start, stop, fields)

    @functools.cached_property
    def fields(self) -> dict[str, Any]:
        """Field name -> lazy Dask array over every shard of the view (fields all shards share)."""
        import dask.array as da  # imported here: writers and plain readers do not need it

        if not self.shards:
            return {}
        readers = [self.reader(i) for i in range(len(self.shards))]
        names = [n for n in readers[0].fields if all(n in r.fields for r in readers[1:])]
        out: dict[str, Any] = {}
        for name in names:
            parts = []
            for r in readers:
                arr = r.array(name)
                chunks = (arr.shards or arr.chunks) if arr.ndim == 4 else arr.chunks
                parts.append(da.from_array(arr, chunks=chunks, name=f"{r.path}:{name}", asarray=True))
            shapes = {p.shape[1:] for p in parts}
            if len(shapes) > 1:
                raise StoreError(f"{self.root}: field {name!r} has different per-sample shapes across shards: {sorted(shapes)}")
            out[name] = da.concatenate(parts, axis=0)
        return out


def open_dataset(root: str | Path, parts: Iterable[int | str] | None = None, *, verify: bool = True) -> Dataset:
    """Open an indexed dataset (``mmdata index --root ROOT`` wrote its manifest) as one lazy view.

    Args:
        root: the dataset root.
        parts: part numbers or names to include (default: every part in the manifest).
        verify: compare each shard's recorded checksum with the manifest (reads only attributes).

    Returns:
        The :class:`Dataset`.

    Raises:
        StoreNotFound: the manifest or a listed shard is missing (the path is named).
        IntegrityError: a shard changed since it was indexed.
        ConfigError: an unknown part.
    """
    root = Path(root)
    manifest = read_manifest(root)
    wanted = None if parts is None else {part_number(p) for p in parts}
    refs = []
    for entry in manifest.get("shards", []):
        if wanted is not None and int(entry["part"]) not in wanted:
            continue
        path = (root / entry["path"]).resolve()
        if not path.exists():
            raise StoreNotFound(f"{path}: shard listed in {root / MANIFEST_NAME} is missing")
        refs.append(ShardRef(path, int(entry["part"]), int(entry["shard"]), int(entry["start"]), int(entry["count"]), entry["checksum"]))
    ds = Dataset(root, manifest, refs)
    if verify:
        for i, ref in enumerate(refs):
            recorded = ds.reader(i).attrs.get("shard_checksum")
            if recorded != ref.checksum:
                raise IntegrityError(f"{ref.path}: shard checksum {recorded} differs from the manifest's {ref.checksum}; re-run `mmdata index --root {root}`")
    return ds

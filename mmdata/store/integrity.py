"""Checks that stored bytes are the bytes that were written: the shared core of reading and auditing.

Three records written with every shard cover all of it:

* ``digest`` — the sha256 of every frame of every sample (over the decoded bytes in C order, see
  :func:`mmdata.store.provenance.sample_digest`); the audit compares every frame with it;
  ``fast_digest`` — an xxh3-128 of the same bytes (:func:`mmdata.store.provenance.fast_digest`);
  :func:`verify_frames` compares every frame read with it, or with the sha256 in shards written
  before it existed;
* ``checksums`` — sha256 of every small per-sample array (``alpha``, ``motion``, ``params_json``, ...,
  and the digest arrays themselves); :func:`check_small_arrays` recomputes them when a shard is opened;
* ``attrs_sha256`` — sha256 of the canonical JSON of every other root attribute (provenance, config,
  start, checksums); :func:`check_attributes` recomputes it. The manifest indexes it per shard.

Shards written before ``attrs_sha256`` existed have no such record: the check reports that instead
of failing (old datasets keep reading and auditing). Zarr's own decode errors (a truncated chunk, a
damaged shard index) become one :class:`~mmdata.errors.StoreError` naming the part, shard, sample
index and chunk file (:func:`read_checked`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import zarr

from mmdata.errors import IntegrityError, StoreError
from mmdata.store.layout import DIGEST_FIELDS, SMALL_FIELDS
from mmdata.store.provenance import bytes_checksum, fast_digest, sample_digest

__all__ = ["ATTRS_KEY", "attrs_digest", "check_attributes", "chunk_file", "read_checked", "check_small_arrays", "verify_frames", "Where"]

#: Root attribute holding the sha256 of all other attributes.
ATTRS_KEY = "attrs_sha256"


def attrs_digest(attrs: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON (sorted keys, no spaces) of ``attrs`` without :data:`ATTRS_KEY`."""
    body = {k: v for k, v in attrs.items() if k != ATTRS_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()).hexdigest()


class Where:
    """Names a shard in messages: ``part P shard K`` and its path."""

    def __init__(self, path: Path, attrs: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.part, self.shard, self.start = attrs.get("part"), attrs.get("shard"), attrs.get("start", 0)

    @property
    def label(self) -> str:
        """``part P shard K`` (what the store records of the two)."""
        return " ".join(f"{k} {v}" for k, v in (("part", self.part), ("shard", self.shard)) if v is not None) or "store"

    def sample(self, offset: int) -> str:
        """``part P shard K sample index I (offset O)``; the index is within the part."""
        try:
            index = int(self.start) + offset
        except (TypeError, ValueError):
            index = offset
        return f"{self.label} sample index {index} (offset {offset})"


def check_attributes(attrs: Mapping[str, Any], where: Where) -> str | None:
    """Recompute the attribute hash.

    Returns:
        None when it matches, or a note when this shard's writer recorded none.

    Raises:
        IntegrityError: the attributes changed after the shard was written.
    """
    recorded = attrs.get(ATTRS_KEY)
    if recorded is None:
        return f"{where.path}: attribute hash not recorded by this shard's writer (written before {ATTRS_KEY} existed)"
    if attrs_digest(attrs) != recorded:
        raise IntegrityError(
            f"{where.path / 'zarr.json'}: {where.label}: attributes do not match their recorded "
            f"{ATTRS_KEY} (provenance edited after writing)"
        )
    return None


def chunk_file(arr: zarr.Array, root: Path, offset: int) -> Path:
    """The file holding sample ``offset`` of ``arr`` (its zarr shard, or its chunk when unsharded)."""
    grid = arr.shards or arr.chunks
    coords = (offset // grid[0], *([0] * (arr.ndim - 1)))
    try:
        key = arr.metadata.encode_chunk_key(coords)
    except AttributeError:  # not Zarr v3 metadata
        key = "/".join(map(str, coords))
    return root / arr.basename / key if arr.basename else root / key


def read_checked(arr: zarr.Array, root: Path, where: Where, start: int, stop: int) -> np.ndarray:
    """``arr[start:stop]`` as numpy; a decode failure names the first sample that cannot be read.

    Raises:
        StoreError: a chunk or zarr shard cannot be decoded (truncated, damaged index, bad codec data).
    """
    try:
        return np.asarray(arr[start:stop])
    except Exception as first:  # zarr and its codecs raise ValueError, RuntimeError, KeyError, ...
        bad, error = start, first
        for offset in range(start, stop):  # find the sample (a damaged shard index fails all of its samples)
            try:
                np.asarray(arr[offset : offset + 1])
            except Exception as exc:
                bad, error = offset, exc
                break
        raise StoreError(
            f"{chunk_file(arr, root, bad)}: cannot decode {arr.basename} of {where.sample(bad)} "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no message'})"
        ) from first


def check_small_arrays(group: zarr.Group, root: Path, where: Where, recorded: Mapping[str, str], count: int,
                       names: Iterable[str] = SMALL_FIELDS) -> dict[str, np.ndarray]:
    """Read every small per-sample array (``names``: the layout's ``small_fields``) and the digest arrays
    and compare them with their recorded checksums.

    Returns:
        name -> values of the arrays read (``digest`` among them, ``fast_digest`` when the shard has it).

    Raises:
        IntegrityError: an array's bytes differ from its recorded checksum.
        StoreError: an array is missing or cannot be decoded.
    """
    out = {}
    for name in (*names, *DIGEST_FIELDS):
        try:
            arr = group[name]
        except KeyError as exc:
            if name == "fast_digest" and name not in recorded:  # a shard written before fast digests
                continue
            raise StoreError(f"{root / name}: array missing from {where.label}") from exc
        values = read_checked(arr, root, where, 0, count)
        if name in recorded and bytes_checksum(values) != recorded[name]:
            raise IntegrityError(f"{root / name}: {where.label}: array {name!r} does not match its recorded checksum")
        out[name] = values
    return out


#: Digest array -> (function over a frame's bytes, name in messages).
_DIGESTS = {"fast_digest": (fast_digest, "xxh3-128 digest"), "digest": (sample_digest, "sha256")}


def verify_frames(name: str, frames: np.ndarray, digests: np.ndarray, arr: zarr.Array, root: Path, where: Where, start: int,
                  kind: str = "fast_digest") -> None:
    """Compare frames ``[start, start + len(frames))`` with their recorded digests (``digests`` rows of the same range).

    Args:
        kind: which digest array ``digests`` comes from: ``"fast_digest"`` (xxh3-128) or ``"digest"`` (sha256).

    Raises:
        IntegrityError: a sample's bytes differ (edited, zeroed, or its chunk is missing); the sample and
            its file are named.
    """
    digest, label = _DIGESTS[kind]
    for i in range(len(frames)):
        if digest(frames[i]) != digests[i].tobytes():
            path = chunk_file(arr, root, start + i)
            state = "" if path.exists() else " (the file is missing)"
            raise IntegrityError(f"{path}: {name} of {where.sample(start + i)} does not match its recorded {label}{state}")

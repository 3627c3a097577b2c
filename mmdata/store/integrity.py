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
  start, checksums); :func:`check_attributes` recomputes it. The manifest indexes it per shard;
* ``array_metadata`` — sha256 of every array's own ``zarr.json`` (data type, shape, chunking, codecs:
  everything that decides how its bytes are read), a root attribute, so covered by ``attrs_sha256``;
  :func:`check_metadata` compares them when a shard is opened.

Before any of that, :func:`check_store_files` walks the store folder without following links: every
entry must be a folder or a regular file (a FIFO, a device or a symbolic link is refused, so no read
can hang or run forever), and every file that will be read is at most the size its metadata allows
(:func:`read_limited` reads metadata files that way), so a damaged store is one error in bounded
time and memory, never a hang or an exhausted machine.

Shards written before ``attrs_sha256`` existed have no such record: the check reports that instead
of failing (old datasets keep reading and auditing). Zarr's own decode errors (a truncated chunk, a
damaged shard index) become one :class:`~mmdata.errors.StoreError` naming the part, shard, sample
index and chunk file (:func:`read_checked`).
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

import numpy as np
import zarr

from mmdata.errors import IntegrityError, StoreError, StoreNotFound
from mmdata.identity import bytes_sha256, json_sha256
from mmdata.store.layout import DIGEST_FIELDS, SMALL_FIELDS
from mmdata.store.provenance import bytes_checksum, fast_digest, sample_digest

__all__ = ["ATTRS_KEY", "METADATA_KEY", "attrs_digest", "metadata_digests", "check_metadata", "check_store_files", "StoreFiles", "read_limited", "check_attributes", "chunk_file", "read_checked", "check_small_arrays", "open_array", "verify_frames", "Where"]

#: Root attribute holding the sha256 of all other attributes.
ATTRS_KEY = "attrs_sha256"
#: Root attribute holding the sha256 of every array's own ``zarr.json``, by array name.
METADATA_KEY = "array_metadata"

#: Largest root ``zarr.json`` read (its attributes hold the resolved config and the checksums).
ROOT_METADATA_MAX = 16 << 20
#: Largest ``zarr.json`` of one array (data type, shape, chunking and codecs: a few hundred bytes).
ARRAY_METADATA_MAX = 1 << 20
#: Bytes a stored string element may take (a sample's parameter JSON is a few kB).
STRING_ELEMENT_MAX = 1 << 20
#: Most entries a store folder may hold (a shard of 1000 samples in blocks of one has about 20,000).
MAX_ENTRIES = 1_000_000

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symbolic link", stat.S_IFDIR: "a folder"}


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, which must be a regular file (not a link) of at most ``limit`` bytes.

    Raises:
        StoreNotFound: the file does not exist.
        StoreError: it is a FIFO, device, socket, folder or link, or larger than ``limit`` bytes, or
            it cannot be read; the message names the file and ``what`` it should be.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError as exc:
        raise StoreNotFound(f"{path}: {what} not found") from exc
    except OSError as exc:
        raise StoreError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{path}: {_kind(st.st_mode)} where {what} should be a regular file; refused")
    if st.st_size > limit:
        raise StoreError(f"{path}: {st.st_size} bytes, more than {what} can be ({limit}); refused")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the lstat
                raise StoreError(f"{path}: not a regular file; refused")
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(limit + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise StoreError(f"{path}: more than {limit} bytes, more than {what} can be; refused")
    return data


def _file_limit(meta: Mapping[str, Any]) -> int:
    """The most bytes one chunk (or zarr shard) file of an array with metadata ``meta`` can take."""
    try:
        shape = [int(n) for n in meta["shape"]]
        grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
        inner = [int(n) for n in grid]
        codecs = meta.get("codecs") or []
        if codecs and isinstance(codecs[0], dict) and codecs[0].get("name") == "sharding_indexed":
            inner_chunks = [int(n) for n in codecs[0]["configuration"]["chunk_shape"]]
            per_file_chunks = math.prod(-(-o // i) for o, i in zip(inner, inner_chunks))
            elements, overhead = math.prod(inner), 16 * per_file_chunks + 1024 * per_file_chunks
        else:
            elements, overhead = math.prod(inner), 1024
        dtype = meta["data_type"]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StoreError(f"array metadata is malformed ({type(exc).__name__}: {exc})") from exc
    if not shape or any(n < 0 for n in shape) or any(n <= 0 for n in inner):
        raise StoreError(f"array metadata declares shape {shape} in chunks of {inner}")
    itemsize = STRING_ELEMENT_MAX if dtype in ("string", "str", "variable_length_utf8") else _itemsize(dtype)
    # lossless codecs can grow incompressible data a little; twice the raw bytes is far beyond any of them
    return 2 * elements * itemsize + overhead + 4096


def _itemsize(dtype: Any) -> int:
    try:
        return int(np.dtype(str(dtype)).itemsize)
    except TypeError:
        return 16


class StoreFiles(NamedTuple):
    """What :func:`check_store_files` read: every array's parsed ``zarr.json`` and the sha256 of its bytes."""

    metadata: dict[str, dict[str, Any]]  # array name -> parsed zarr.json
    digests: dict[str, str]  # array name -> sha256 of that zarr.json as read (what check_metadata compares)


def check_store_files(path: Path) -> StoreFiles:
    """Walk a store folder (links not followed) and refuse anything a read could hang or drown on.

    Every entry must be a folder or a regular file; symbolic links, FIFOs, devices and sockets are
    refused. Each array's ``zarr.json`` is read (bounded) and every file of its chunks must be at most
    what a chunk of that array can take (the root ``zarr.json`` is read, bounded, by :func:`read_limited`).

    Returns:
        Every array folder directly inside the store: its parsed ``zarr.json`` and that file's sha256,
        so that nothing reads the metadata twice.

    Raises:
        StoreNotFound: the folder does not exist.
        StoreError: the first offending entry, named, with what it is and what was expected.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise StoreNotFound(f"{path}: shard store not found") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{path}: {_kind(st.st_mode)}, expected a shard store folder")
    seen, arrays, digests = 0, {}, {}
    for entry in _scan(path):
        seen += 1
        if seen > MAX_ENTRIES:
            raise StoreError(f"{path}: more than {MAX_ENTRIES} entries; not a shard store")
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISDIR(mode):
            raise StoreError(f"{entry.path}: {_kind(mode)} inside the shard store where only regular files belong; refused")
        array = Path(entry.path)
        meta_path = array / "zarr.json"
        if not meta_path.exists() and not meta_path.is_symlink():
            _check_plain_files(array)
            continue
        raw = read_limited(meta_path, ARRAY_METADATA_MAX, "an array's zarr.json")
        try:
            meta = json.loads(raw)
        except ValueError as exc:
            raise StoreError(f"{meta_path}: not valid JSON ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("node_type") != "array":
            _check_plain_files(array)
            continue
        try:
            limit = _file_limit(meta)
        except StoreError as exc:
            raise StoreError(f"{meta_path}: {exc}") from exc
        _check_plain_files(array, limit, skip=meta_path)
        arrays[entry.name] = meta
        digests[entry.name] = bytes_sha256(raw)
    return StoreFiles(arrays, digests)


def _scan(path: Path) -> list[os.DirEntry[str]]:
    """The sub-folders (and anything that is not a regular file) directly inside ``path``."""
    out = []
    with os.scandir(path) as it:
        for entry in it:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISREG(mode):
                continue  # root-level files: zarr.json (checked by the caller), run.json, workflow stamps
            out.append(entry)
    return out


def _check_plain_files(folder: Path, limit: int | None = None, skip: Path | None = None) -> None:
    """Every entry under ``folder`` is a folder or a regular file of at most ``limit`` bytes."""
    stack, seen = [folder], 0
    while stack:
        current = stack.pop()
        with os.scandir(current) as it:
            for entry in it:
                seen += 1
                if seen > MAX_ENTRIES:
                    raise StoreError(f"{folder}: more than {MAX_ENTRIES} entries; not a shard store")
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(Path(entry.path))
                elif not stat.S_ISREG(st.st_mode):
                    raise StoreError(f"{entry.path}: {_kind(st.st_mode)} inside the shard store where only regular files belong; refused")
                elif limit is not None and st.st_size > limit and Path(entry.path) != skip:
                    raise StoreError(f"{entry.path}: {st.st_size} bytes, more than a chunk of this array can take ({limit}); refused")


def metadata_digests(path: Path, names: Iterable[str]) -> dict[str, str]:
    """sha256 of the ``zarr.json`` of each named array of the store at ``path``."""
    return {name: bytes_sha256(read_limited(Path(path) / name / "zarr.json", ARRAY_METADATA_MAX, "an array's zarr.json"))
            for name in names}


def check_metadata(attrs: Mapping[str, Any], where: "Where", digests: Mapping[str, str]) -> str | None:
    """Every array's ``zarr.json`` against its recorded digest (:data:`METADATA_KEY`).

    Args:
        digests: array name -> sha256 of its ``zarr.json`` as read (:attr:`StoreFiles.digests`).

    Returns:
        None when they match, or a note when this shard's writer recorded none (older shards).

    Raises:
        IntegrityError: an array's metadata (data type, shape, chunking, codecs) changed after writing,
            or an array it records is gone.
    """
    recorded = attrs.get(METADATA_KEY)
    if recorded is None:
        return f"{where.path}: array metadata digests not recorded by this shard's writer (written before {METADATA_KEY} existed)"
    if not isinstance(recorded, dict):
        raise IntegrityError(f"{where.path / 'zarr.json'}: {where.label}: {METADATA_KEY} is not a mapping")
    for name, digest in sorted(recorded.items()):
        meta = Path(where.path) / str(name) / "zarr.json"
        if str(name) not in digests:
            raise IntegrityError(f"{meta}: {where.label}: array {name!r} is missing")
        if digests[str(name)] != digest:
            raise IntegrityError(f"{meta}: {where.label}: array {name!r} metadata (data type, shape, chunks or codecs) "
                                 "does not match its recorded digest (edited after writing)")
    return None


def attrs_digest(attrs: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON (sorted keys, no spaces) of ``attrs`` without :data:`ATTRS_KEY`."""
    body = {k: v for k, v in attrs.items() if k != ATTRS_KEY}
    return json_sha256(body)


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
        StoreError: a chunk or zarr shard cannot be decoded (truncated, damaged index, bad codec data),
            or the array holds fewer samples than asked for (its ``zarr.json`` shape was edited).
    """
    held = arr.shape[0] if arr.ndim else 0
    if not 0 <= start <= stop <= held:
        raise StoreError(f"{root / arr.basename if arr.basename else root}: {arr.basename} of {where.label} holds {held} "
                         f"samples, cannot read [{start}, {stop}) (its zarr.json shape does not fit the shard)")
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


def open_array(group: zarr.Group, name: str, root: Path, where: Where) -> zarr.Array | None:
    """Array ``name`` of a store, or None when the store has no such array.

    Raises:
        StoreError: its ``zarr.json`` cannot be used by zarr (malformed data type, shape, chunking or
            codecs: zarr's own ``ValueError``, ``TypeError``, unknown-codec errors, ... never escape).
    """
    if not (Path(root) / name / "zarr.json").is_file():
        return None
    try:
        arr = group[name]
    except Exception as exc:  # zarr raises ValueError, TypeError, KeyError (unknown codec), its own errors ...
        first = str(exc).splitlines()[0] if str(exc) else "no message"
        raise StoreError(f"{Path(root) / name}: array {name!r} of {where.label} cannot be opened ({type(exc).__name__}: {first})") from exc
    if not isinstance(arr, zarr.Array):
        raise StoreError(f"{Path(root) / name}: {name!r} of {where.label} is not an array")
    return arr


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
        arr = open_array(group, name, root, where)
        if arr is None:
            if name == "fast_digest" and name not in recorded:  # a shard written before fast digests
                continue
            raise StoreError(f"{root / name}: array missing from {where.label}")
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

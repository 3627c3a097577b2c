"""Writing one shard store: create or resume a hidden partial store, fill blocks, rename atomically.

A :class:`ShardTarget` owns one output path. Entering it takes an exclusive lock (so two jobs never
write one shard), refuses a final path with foreign content, and creates the hidden partial store
``.shard-KKKK.zarr.partial`` or resumes it when it was left by an interrupted run with the same
identity (render config, catalogue, code, layout). Writers then fill whole blocks (= zarr shards)
with :func:`write_block`, which may run in any thread, process or Dask worker that sees the
filesystem; a block is marked done only after its data is written. :meth:`ShardTarget.finalize`
computes the checksums, marks the store complete and renames it into place.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence, cast

import numpy as np
import zarr
import zarr.codecs

from mmdata.errors import StoreError, StoreNotFound
from mmdata.identity import json_sha256
from mmdata.store.codec import IMAGE_FORMATS, ImageCodec
from mmdata.fsutil import atomic_write_text
from mmdata.store.integrity import ATTRS_KEY, METADATA_KEY, ROOT_METADATA_MAX, attrs_digest, metadata_digests, read_limited
from mmdata.store.provenance import RUN_RECORD_NAME, bytes_checksum, combine_digests, fast_digest, sample_digest, utc_now
from mmdata.store.layout import (
    DIGEST_FIELDS,
    STORE_FORMAT,
    SampleRecord,
    ShardLayout,
    StoreSettings,
    lock_path,
    partial_path,
    record_columns,
)

__all__ = ["ShardTarget", "frame_codecs", "write_block", "shard_checksum", "read_marker", "read_run_record"]

log = logging.getLogger(__name__)

_MARKER = "mmdata_store"


def shard_checksum(checksums: Mapping[str, str]) -> str:
    """One checksum of a whole shard from its per-array checksums."""
    return json_sha256(dict(checksums))


def read_marker(path: Path) -> dict[str, Any] | None:
    """Root attributes of a store written by this module, or None for anything else.

    Raises:
        StoreError: the store's ``zarr.json`` is not a regular file or is larger than one can be
            (a FIFO or a link to a device is refused, never read).
    """
    try:
        raw = read_limited(Path(path) / "zarr.json", ROOT_METADATA_MAX, "a store's zarr.json")
    except StoreNotFound:
        return None
    try:
        meta = json.loads(raw)
        attrs = meta.get("attributes", {})
    except (ValueError, AttributeError):
        return None
    if not isinstance(attrs, dict) or not isinstance(attrs.get(_MARKER), dict):
        return None
    if meta.get("zarr_format") != 3 or meta.get("node_type") != "group":  # outside the attributes' hash
        raise StoreError(f"{Path(path) / 'zarr.json'}: zarr_format {meta.get('zarr_format')!r}, node_type "
                         f"{meta.get('node_type')!r}; a shard store written by mmdata is a zarr v3 group")
    return attrs


def read_run_record(path: Path) -> dict[str, Any]:
    """The run record of a store (``run.json``: when, where, which checkout wrote it), or ``{}`` when
    it has none or it cannot be read (it is only a record; nothing depends on it)."""
    try:
        record = json.loads(read_limited(Path(path) / RUN_RECORD_NAME, 1 << 20, "a run record"))
    except (StoreError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _seconds(created: Any) -> float | None:
    """Seconds from an ISO time stamp (``utc_now``) to now, or None."""
    import datetime as dt

    try:
        start = dt.datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return round((dt.datetime.now(dt.timezone.utc) - start).total_seconds(), 1)


def _small_compressor(settings: StoreSettings) -> zarr.codecs.BloscCodec:
    """Blosc for the small arrays (zstd when the frames use an image format), and for Blosc frames."""
    image = settings.codec in IMAGE_FORMATS
    cname = zarr.codecs.BloscCname("zstd" if image else settings.codec)  # store.codec: an image format or a Blosc name
    return zarr.codecs.BloscCodec(cname=cname, clevel=1 if image else settings.compression_level, shuffle="noshuffle")


def _array(group: zarr.Group, name: str) -> zarr.Array:
    """The array ``name`` of a store this module created (every member of a shard store is an array)."""
    return cast(zarr.Array, group[name])


def frame_codecs(settings: StoreSettings) -> dict[str, Any]:
    """``zarr.create_array`` keyword arguments that compress a frame array as ``settings`` say."""
    if settings.codec not in IMAGE_FORMATS:
        return {"compressors": _small_compressor(settings)}
    level = settings.compression_level if settings.codec == "webp" else max(1, settings.compression_level)
    return {"serializer": ImageCodec(format=settings.codec, level=level), "compressors": None}


def _create_arrays(path: Path, layout: ShardLayout, settings: StoreSettings, attrs: dict[str, Any]) -> None:
    """Create the (empty) partial store with every array of ``layout``."""
    comp = _small_compressor(settings)
    frames = frame_codecs(settings)
    group = zarr.open_group(str(path), mode="w-", attributes=attrs)
    n, (h, w), b = layout.count, layout.image_shape, layout.block
    # Named dimensions (zarr v3 ``dimension_names``), so xarray.open_zarr reads a shard as a Dataset.
    for name in layout.frame_fields:
        group.create_array(
            name, shape=(n, h, w, 3), chunks=(1, h, w, 3), shards=(b, h, w, 3), dtype="uint8", fill_value=0,
            dimension_names=("sample", "y", "x", "channel"), **frames,
        )
    for name, dtype in layout.small_fields.items():
        if name == "motion":
            group.create_array(name, shape=(n, layout.max_layers, 2), chunks=(b, layout.max_layers, 2), dtype=dtype, compressors=comp,
                               dimension_names=("sample", "layer", "axis"))
        else:
            group.create_array(name, shape=(n,), chunks=(b,), dtype=str if dtype == "str" else dtype, compressors=comp,
                               dimension_names=("sample",))
    nf = len(layout.frame_fields)
    for name, size in DIGEST_FIELDS.items():  # one byte dimension per digest size (xarray needs one length per name)
        group.create_array(name, shape=(n, nf, size), chunks=(b, nf, size), dtype="uint8", compressors=comp,
                           dimension_names=("sample", "field", "byte" if name == "digest" else f"{name}_byte"))
    group.create_array("blocks_done", shape=(layout.n_blocks,), chunks=(1,), dtype="uint8", fill_value=0, dimension_names=("block",))


def write_block(path: str | Path, layout: ShardLayout, block_index: int, records: Sequence[SampleRecord]) -> int:
    """Write one whole block (zarr shard) of a partial store and mark it done.

    Args:
        path: the partial store (must exist, created by :class:`ShardTarget`).
        layout: the store's layout.
        block_index: which block; ``records`` must fill exactly its sample range.
        records: the samples, in order.

    Returns:
        The number of samples written.

    Raises:
        StoreError: the records do not fit the block.
    """
    lo, hi = layout.block_range(block_index)
    if len(records) != hi - lo:
        raise StoreError(f"{path}: block {block_index} needs {hi - lo} samples, got {len(records)}")
    group = zarr.open_group(str(path), mode="r+")
    digests = {name: np.zeros((hi - lo, len(layout.frame_fields), size), dtype=np.uint8) for name, size in DIGEST_FIELDS.items()}
    for f, name in enumerate(layout.frame_fields):
        stack = np.stack([np.asarray(r.frames[name], dtype=np.uint8) for r in records])
        if stack.shape[1:] != (*layout.image_shape, 3):
            raise StoreError(f"{path}: {name} has shape {stack.shape[1:]}, expected {(*layout.image_shape, 3)}")
        _array(group, name)[lo:hi] = stack
        for i in range(hi - lo):
            digests["digest"][i, f] = np.frombuffer(sample_digest(stack[i]), dtype=np.uint8)
            digests["fast_digest"][i, f] = np.frombuffer(fast_digest(stack[i]), dtype=np.uint8)
    try:
        columns = record_columns(records, layout)
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}") from exc
    for name, values in columns.items():
        _array(group, name)[lo:hi] = values
    for name, values in digests.items():
        _array(group, name)[lo:hi] = values
    _array(group, "blocks_done")[block_index] = 1
    return hi - lo


def _checksums(group: zarr.Group, layout: ShardLayout) -> dict[str, str]:
    """Per-array checksums: frames from their per-sample digests, other arrays from their bytes."""
    digest = np.asarray(_array(group, "digest")[:])
    out = {name: combine_digests(row.tobytes() for row in digest[:, f]) for f, name in enumerate(layout.frame_fields)}
    for name in (*layout.small_fields, *DIGEST_FIELDS):
        out[name] = bytes_checksum(np.asarray(_array(group, name)[:]))
    return out


class ShardTarget:
    """Exclusive, resumable, atomic writing of one shard store.

    Args:
        final: the store path, e.g. ``ROOT/part1/shard-0003.zarr``.
        layout: shapes of its arrays.
        identity: what must match for a partial store to be resumed or a complete one accepted
            (render config hash, catalogue identity, code source hash, part, range, ...).
        attrs: further attributes to record (code version, resolved config, ...): content only, so
            that writing the same shard again gives the same attributes byte for byte.
        settings: compression and zarr shard size.
        run: the run record (when, where, which checkout), written to the store's ``run.json``
            beside its ``zarr.json``; ``completed`` is added when the store is finished. No
            identity, checksum or manifest depends on it.

    Use as a context manager; on entry ``complete`` tells whether the shard already exists with
    the same identity (nothing to do) and ``pending_blocks`` which blocks still need writing.

    Raises:
        StoreError: the final path exists with foreign or different content, or another process
            holds the lock.
    """

    def __init__(
        self,
        final: Path,
        layout: ShardLayout,
        identity: Mapping[str, Any],
        attrs: Mapping[str, Any],
        settings: StoreSettings,
        *,
        run: Mapping[str, Any] | None = None,
    ) -> None:
        self.final = Path(final)
        self.partial = partial_path(self.final)
        self.layout = layout
        self.identity = json.loads(json.dumps({**identity, "layout": layout.to_dict(), "format": STORE_FORMAT}))
        self.attrs = dict(attrs)
        self.settings = settings
        self.run = dict(run or {})
        self.complete = False
        self.pending_blocks: list[int] = []
        self._lock_fd: int | None = None

    def __enter__(self) -> "ShardTarget":
        self._check_final()
        if self.complete:
            return self
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._check_final()  # another writer may have finished while we waited for the lock
            if not self.complete:
                self._prepare_partial()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._unlock()

    def _check_final(self) -> None:
        if not os.path.lexists(self.final):
            return
        attrs = read_marker(self.final)
        if attrs is None or not attrs.get("complete"):
            raise StoreError(f"{self.final}: exists and is not a complete shard store written by mmdata; remove it or choose another root")
        if attrs.get("identity") != self.identity:
            raise StoreError(
                f"{self.final}: exists with a different config, catalogue, code version or range; "
                "remove it to regenerate this shard"
            )
        log.info("%s: already complete", self.final)
        self.complete = True

    def _lock(self) -> None:
        fd = os.open(lock_path(self.final), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"{self.final}: another process is writing this shard (lock {lock_path(self.final)})") from exc
        try:
            same = os.stat(lock_path(self.final)).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder removed the lock file between our open and our lock
            os.close(fd)
            raise StoreError(f"{self.final}: another process was writing this shard just now; retry")
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            try:
                os.unlink(lock_path(self.final))  # while still held, so no one else can hold this inode
            except OSError:
                pass
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _prepare_partial(self) -> None:
        if os.path.lexists(self.partial):
            attrs = read_marker(self.partial)
            if attrs is None:
                raise StoreError(f"{self.partial}: exists and was not written by mmdata; remove it")
            done = self._blocks_done() if attrs.get("identity") == self.identity else None
            if done is not None:
                self.pending_blocks = [b for b in range(self.layout.n_blocks) if not done[b]]
                log.info("%s: resuming, %d of %d blocks left", self.partial, len(self.pending_blocks), self.layout.n_blocks)
                previous = read_run_record(self.partial)
                self._write_run({**self.run, "created": previous.get("created", self.run.get("created")),
                                 "resumed": [*previous.get("resumed", []), utc_now()]})
                return
            log.warning("%s: left by a run with another identity (or unreadable); starting over", self.partial)
            shutil.rmtree(self.partial)
        attrs = {
            _MARKER: {"format": STORE_FORMAT, "kind": "shard"},
            "complete": False,
            "identity": self.identity,
            "settings": self.settings.to_dict(),
            **self.attrs,
        }
        _create_arrays(self.partial, self.layout, self.settings, json.loads(json.dumps(attrs)))
        self._write_run(self.run)
        self.pending_blocks = list(range(self.layout.n_blocks))

    def _write_run(self, record: Mapping[str, Any]) -> None:
        atomic_write_text(self.partial / RUN_RECORD_NAME, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")

    def _blocks_done(self) -> np.ndarray | None:
        """Done flags of the partial store's blocks, or None when they cannot be read."""
        try:
            done = np.asarray(_array(zarr.open_group(str(self.partial), mode="r"), "blocks_done")[:])
        except Exception as exc:  # a run killed while writing the flags leaves anything behind
            log.warning("%s: cannot read the block flags (%s)", self.partial, exc)
            return None
        return done if done.shape == (self.layout.n_blocks,) else None

    def finalize(self) -> dict[str, str]:
        """Check every block is done, record checksums, mark complete and rename into place.

        Returns:
            The per-array checksums.

        Raises:
            StoreError: a block is missing or the final path appeared meanwhile.
        """
        group = zarr.open_group(str(self.partial), mode="r+")
        done = np.asarray(_array(group, "blocks_done")[:])
        if not done.all():
            raise StoreError(f"{self.partial}: blocks {np.flatnonzero(done == 0).tolist()} were not written")
        checksums = _checksums(group, self.layout)
        final: dict[str, Any] = {"complete": True, "checksums": checksums, "shard_checksum": shard_checksum(checksums),
                 METADATA_KEY: metadata_digests(self.partial, [*self.layout.frame_fields, *self.layout.small_fields, *DIGEST_FIELDS])}
        attrs = json.loads(json.dumps({**group.attrs.asdict(), **final}))  # as a reader will see them
        final[ATTRS_KEY] = attrs_digest(attrs)
        group.attrs.update(final)
        record = read_run_record(self.partial)
        self._write_run({**record, "completed": utc_now(), "seconds": _seconds(record.get("created"))})
        try:
            os.rename(self.partial, self.final)
        except OSError as exc:
            raise StoreError(f"{self.final}: cannot move the finished store into place ({exc})") from exc
        self.complete = True
        log.info("%s: complete (%d samples)", self.final, self.layout.count)
        return checksums

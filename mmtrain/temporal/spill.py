"""Bounded-memory FIR filtering: encoder outputs spilled to a temporary Zarr store.

The FIR band-pass of the temporal mode needs the whole time series of every element of the shape
representation, which for a long video does not fit in memory (a 1080p frame's shape representation
alone is 66 MB). :class:`RepresentationSpill` writes the encoder outputs of each batch of frames to a
temporary Zarr v3 store, filters them tile by tile along time with Dask, and reads them back one
batch at a time for decoding. Only a batch of frames and one time-series tile per Dask worker are
ever in memory.

Layout (every writer owns whole zarr shards, so concurrent writes cannot lose data):

* ``shape`` ``(T, C, h, w)`` float32: one shard per batch of frames, written once; inside it, one chunk
  per spatial tile, so each tile's time series is read as one small contiguous chunk per shard.
* ``filtered`` ``(T, C, h, w)`` float32: one shard per spatial tile holding its whole time series
  (written once by the Dask task of that tile); inside it, one chunk per batch of frames, so decoding
  reads one chunk per tile per batch.
* ``texture`` ``(T, Ct, h/2, w/2)`` float32: one chunk per batch, so decoding needs no re-encoding.

The tile side is chosen from the memory budget and the clip length: a longer clip gets smaller tiles,
so the peak memory does not grow with the number of frames.

The store lives in a folder ``mmtrain-fir-<pid>-XXXXXXXX`` of the work folder (the system's temporary
folder by default), deleted by :meth:`RepresentationSpill.close` (on success, on an error and on
Ctrl-C alike, when used as a context manager or closed in a ``finally``). A process that is killed
cannot delete it; the next spill created in that work folder removes every spill folder whose process
(the ``<pid>`` in its name) no longer runs (:func:`remove_stale_spills`).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import zarr
from tqdm.auto import tqdm

from mmdata.errors import StoreError
from mmtrain.temporal.filters import fir_filter

__all__ = ["RepresentationSpill", "SPILL_PREFIX", "remove_stale_spills", "tile_side"]

log = logging.getLogger(__name__)

#: Start of a spill folder's name; the owning process id follows: ``mmtrain-fir-<pid>-XXXXXXXX``.
SPILL_PREFIX = "mmtrain-fir-"
_SPILL_NAME = re.compile(rf"{re.escape(SPILL_PREFIX)}(\d+)-[^/]+")


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (one of another user counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_spills(folder: str | Path) -> list[Path]:
    """Delete the spill folders in ``folder`` left by processes that no longer run (killed runs).

    Only folders named ``mmtrain-fir-<pid>-*`` whose ``<pid>`` is not a running process are touched;
    those of this process and of other running ones (another magnification sharing the work folder)
    are kept.

    Returns:
        The folders removed.
    """
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _SPILL_NAME.fullmatch(path.name)
        if match and path.is_dir() and not path.is_symlink() and not _running(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed %s, the FIR spill store of a run that was killed", path)
            removed.append(path)
    return removed


def tile_side(n_frames: int, channels: int, height: int, width: int, budget_bytes: float) -> int:
    """Side of the square spatial tile whose float32 time series fit ``budget_bytes`` while filtered.

    Filtering one tile holds about eight copies of its ``n_frames * channels * side**2 * 4`` bytes at
    peak (measured): the chunks read from the store and their concatenation, the transposed copy and
    the real FFT (complex64) of pocketfft, the result, and the shard assembled for writing.
    """
    per_pixel = 8.0 * n_frames * channels * 4
    side = int(math.sqrt(max(budget_bytes, 1.0) / per_pixel))
    return max(1, min(side, height, width, 256))


def _filter_tile(block: np.ndarray, *, response: np.ndarray, bar: tqdm) -> np.ndarray:
    """FIR-filter one tile's time series (time on axis 0) and advance the progress bar."""
    out = fir_filter(block, response, axis=0)
    bar.update(1)
    return out


class RepresentationSpill:
    """A temporary Zarr store of a clip's texture and shape representations (FIR temporal mode).

    Args:
        n_frames: expected number of frames T (the store grows if more arrive).
        texture_shape: ``(Ct, h/2, w/2)`` of one frame's texture representation.
        shape_shape: ``(C, h, w)`` of one frame's shape representation.
        batch: frames per :meth:`append` call (all but the last call).
        memory_bytes: memory budget of the filtering step, shared by the Dask workers.
        workers: Dask threads for the filtering step.
        work_dir: folder for the temporary store (default: the system's temporary folder).

    Raises:
        StoreError: the temporary store cannot be created.

    Example:
        >>> with RepresentationSpill(60, (32, 16, 16), (32, 32, 32), batch=4, memory_bytes=64e6) as spill:
        ...     ...  # spill.append(tex, shp) per batch; spill.filter(response); spill.read(t0, t1)
    """

    def __init__(self, n_frames: int, texture_shape: tuple[int, int, int], shape_shape: tuple[int, int, int],
                 *, batch: int, memory_bytes: float, workers: int = 1, work_dir: str | Path | None = None) -> None:
        self.batch, self.workers, self.n_frames = batch, max(1, workers), 0
        c, h, w = shape_shape
        self.side = tile_side(max(n_frames, 1), c, h, w, memory_bytes / self.workers)
        folder = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
        remove_stale_spills(folder)
        try:
            self._dir = Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=folder))
        except OSError as exc:
            raise StoreError(f"{folder}: cannot create the FIR spill store ({exc})") from exc
        try:
            self._group = zarr.open_group(str(self._dir / "spill.zarr"), mode="w")
        except BaseException as exc:
            self.close()
            if isinstance(exc, OSError):
                raise StoreError(f"{folder}: cannot create the FIR spill store ({exc})") from exc
            raise
        s, cap = self.side, max(n_frames, 1)
        common = dict(dtype="float32", compressors=None, fill_value=0.0)
        try:
            self.shape = self._group.create_array(
                "shape", shape=(cap, c, h, w), chunks=(batch, c, s, s),
                shards=(batch, c, math.ceil(h / s) * s, math.ceil(w / s) * s), **common)
            self.texture = self._group.create_array(
                "texture", shape=(cap,) + tuple(texture_shape), chunks=(batch,) + tuple(texture_shape), **common)
        except BaseException:
            self.close()
            raise
        self.filtered: zarr.Array | None = None
        log.info("FIR spill store %s: %d frames expected, tiles of %dx%d", self._dir, n_frames, s, s)

    def append(self, texture: np.ndarray, shape: np.ndarray) -> None:
        """Store the next ``n`` frames' representations ``(n, Ct, h/2, w/2)`` and ``(n, C, h, w)``."""
        t0, n = self.n_frames, shape.shape[0]
        if t0 % self.batch:
            raise StoreError(f"{self._dir}: append after a short batch (frame {t0} is not a multiple of {self.batch})")
        if t0 + n > self.shape.shape[0]:  # the container under-reported its frame count
            grow = max(t0 + n, 2 * self.shape.shape[0])
            self.shape.resize((grow,) + self.shape.shape[1:])
            self.texture.resize((grow,) + self.texture.shape[1:])
        self.shape[t0:t0 + n] = shape
        self.texture[t0:t0 + n] = texture
        self.n_frames = t0 + n

    def filter(self, response: np.ndarray, *, progress: bool = True) -> None:
        """FIR-filter every element's time series (cyclic, frequency domain), tile by tile with Dask.

        Args:
            response: ``(T,)`` frequency response (see :func:`mmtrain.temporal.filters.fir_response`), T =
                the number of frames appended.
        """
        t = self.n_frames
        if response.shape != (t,):
            raise ValueError(f"response has shape {response.shape}, expected ({t},)")
        if self.shape.shape[0] != t:  # drop the unused tail of an over-estimated frame count
            self.shape.resize((t,) + self.shape.shape[1:])
            self.texture.resize((t,) + self.texture.shape[1:])
        _, c, h, w = self.shape.shape
        s = self.side
        self.filtered = self._group.create_array(
            "filtered", shape=(t, c, h, w), chunks=(self.batch, c, s, s),
            shards=(math.ceil(t / self.batch) * self.batch, c, s, s),
            dtype="float32", compressors=None, fill_value=0.0)
        src = da.from_array(self.shape, chunks=(t, c, s, s), asarray=True, lock=False, name="spill-shape")
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fir-filter")
        try:
            with tqdm(total=src.npartitions, desc="FIR filter (tiles)", unit="tile",
                      disable=None if progress else True) as bar, dask.config.set(scheduler="threads", pool=pool):
                out = src.map_blocks(functools.partial(_filter_tile, response=response, bar=bar), dtype=np.float32,
                                     meta=np.empty((0, 0, 0, 0), np.float32), name="fir-tiles")
                da.store(out, self.filtered, lock=False)
        finally:  # after a failure, no tile task may still write into the store that is deleted next
            pool.shutdown(wait=True, cancel_futures=True)

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Texture, shape and (after :meth:`filter`) filtered shape of frames ``start:stop``."""
        filtered = None if self.filtered is None else self.filtered[start:stop]
        return self.texture[start:stop], self.shape[start:stop], filtered

    @property
    def path(self) -> Path:
        """The spill folder (``mmtrain-fir-<pid>-XXXXXXXX``)."""
        return self._dir

    def close(self) -> None:
        """Delete the temporary store (closing twice is harmless)."""
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "RepresentationSpill":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

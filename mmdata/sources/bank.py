"""The object bank: every foreground cutout stored once in a Zarr v3 group (``objects.zarr``).

Layout (the only part of :mod:`mmdata.sources` that touches zarr):

- ``pixels``: one flat uint8 array holding every object's RGBA bytes back to back (row-major
  (h, w, 4) per object), in chunks of :data:`CHUNK_BYTES`, Blosc/zstd compressed. Reading one
  object decompresses the one or two chunks it spans, so random access stays cheap whatever the
  bank's size.
- ``index``: int64 (N, 3): the byte offset, height and width of object ``i``.
- group attributes: ``format``, ``version`` and ``count``.

The writer streams: it keeps less than one chunk in memory and writes whole chunks only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from mmdata.errors import SourceError, SourceNotFound

__all__ = ["CHUNK_BYTES", "ObjectBankWriter", "ObjectBankReader"]

CHUNK_BYTES = 1 << 19
_FORMAT = "mmdata-object-bank"
_VERSION = 1


def _compressor() -> BloscCodec:
    return BloscCodec(cname="zstd", clevel=3, shuffle="noshuffle")


class ObjectBankWriter:
    """Append RGBA cutouts to a new object bank.

    Args:
        path: the ``objects.zarr`` folder to create (must not exist yet).
    """

    def __init__(self, path: str | Path) -> None:
        self._group = zarr.open_group(str(path), mode="w-")
        self._pixels = self._group.create_array(
            "pixels", shape=(0,), chunks=(CHUNK_BYTES,), dtype="uint8", compressors=_compressor()
        )
        self._pending = bytearray()
        self._written = 0
        self._index: list[tuple[int, int, int]] = []

    def append(self, rgba: np.ndarray) -> int:
        """Add one object (uint8 (h, w, 4)); return its position in the bank."""
        if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise ValueError(f"expected uint8 (h, w, 4) RGBA, got {rgba.dtype} {rgba.shape}")
        offset = self._written + len(self._pending)
        self._index.append((offset, int(rgba.shape[0]), int(rgba.shape[1])))
        self._pending += np.ascontiguousarray(rgba).tobytes()
        full = len(self._pending) // CHUNK_BYTES * CHUNK_BYTES
        if full:
            self._flush(full)
        return len(self._index) - 1

    def _flush(self, n: int) -> None:
        start = self._written
        self._pixels.resize((start + n,))
        self._pixels[start : start + n] = np.frombuffer(bytes(self._pending[:n]), dtype=np.uint8)
        del self._pending[:n]
        self._written += n

    def close(self) -> int:
        """Write what is pending plus the index; return the number of objects."""
        if self._pending:
            self._flush(len(self._pending))
        index = np.asarray(self._index, dtype=np.int64).reshape(-1, 3)
        arr = self._group.create_array(
            "index",
            shape=index.shape,
            chunks=(max(1, min(len(index), 65536)), 3),
            dtype="int64",
            compressors=_compressor(),
        )
        if len(index):
            arr[...] = index
        self._group.attrs.update({"format": _FORMAT, "version": _VERSION, "count": len(index)})
        return len(index)


class ObjectBankReader:
    """Random access to the objects of a bank.

    Args:
        path: an ``objects.zarr`` folder written by :class:`ObjectBankWriter`.

    Raises:
        SourceNotFound: the folder does not exist.
        SourceError: it is not an object bank.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise SourceNotFound(f"{self.path}: object bank not found")
        try:
            group = zarr.open_group(str(self.path), mode="r")
            attrs = dict(group.attrs)
            self._pixels = group["pixels"]
            self._index = np.asarray(group["index"][...], dtype=np.int64).reshape(-1, 3)  # type: ignore[index]  # zarr types a member as Array | Group
        except (KeyError, ValueError, OSError, TypeError) as exc:
            raise SourceError(f"{self.path}: not a readable object bank ({exc})") from exc
        if attrs.get("format") != _FORMAT or attrs.get("version") != _VERSION:
            raise SourceError(f"{self.path}: not an object bank of format {_FORMAT} v{_VERSION} (attributes {attrs})")

    def __len__(self) -> int:
        return len(self._index)

    def rgba(self, i: int) -> np.ndarray:
        """The uint8 (h, w, 4) RGBA of object ``i``."""
        offset, h, w = (int(v) for v in self._index[i])
        flat = np.asarray(self._pixels[offset : offset + h * w * 4])  # type: ignore[index]  # zarr types a member as Array | Group
        if flat.size != h * w * 4:
            raise SourceError(f"{self.path}: object {i} is truncated ({flat.size} of {h * w * 4} bytes)")
        return flat.reshape(h, w, 4)

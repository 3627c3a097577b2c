"""Lossless image codecs for the frame arrays: a zarr v3 array-to-bytes codec around ``imagecodecs``.

A frame chunk is one sample of one frame field, ``(1, H, W, 3)`` uint8. Photographs with sensor
noise barely compress with a general-purpose compressor (Blosc/zstd keeps about 0.85 of the raw
bytes), while a lossless image codec keeps about half. :class:`ImageCodec` stores each chunk as one
lossless image of ``(prod(leading dims) * H, W, C)`` pixels, encoded and decoded by the well-kept
``imagecodecs`` package:

=========  =====================================================  ============================
format     encoder call                                           ``level``
=========  =====================================================  ============================
htj2k      ``htj2k_encode(img, reversible=True)`` (JPEG 2000 HT)   unused
jpegxl     ``jpegxl_encode(img, lossless=True, effort=level)``     effort 1 (fast) - 9 (small)
jpegls     ``jpegls_encode(img, level=0)`` (near = 0: lossless)    unused
webp       ``webp_encode(img, lossless=True, method=level)``       method 0 (fast) - 6 (small)
=========  =====================================================  ============================

Every format is lossless (the decoded bytes equal the stored ones), so the codec never changes a
pixel, and the audit's digests (over decoded bytes) are the same whatever codec a shard uses.

zarr encodes and decodes the chunks of a shard concurrently on threads, so the libraries must be
safe to call from several threads at once. They are, except on first use: OpenJPH (``htj2k``; at
least up to 0.26.3, upstream PR aous72/OpenJPH#243) builds its block coder's lookup tables on the
first encode behind a plain flag (check, clear the tables, fill them, set the flag). When the first
encodes of a process overlap, one thread can clear the tables while another codes with them, and
the codestream it writes fails to decode ("ojph error") or decodes to other pixels. So the first
encode and the first decode of each format in a process run alone (:func:`encode_image`,
:func:`decode_image`); every later call runs concurrently.

The codec's zarr name is :data:`CODEC_NAME`; its configuration (format and level) is written into
each array's ``zarr.json``, so a shard always decodes with the codec it was written with. Importing
this module registers it with zarr; the package also declares it as a ``zarr.codecs`` entry point,
so plain ``zarr.open_array`` reads a shard in any environment where ``mmdata`` and
``imagecodecs`` are installed.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import imagecodecs
import numpy as np
from zarr.abc.codec import ArrayBytesCodec
from zarr.core.common import JSON, parse_named_configuration
from zarr.registry import register_codec

if TYPE_CHECKING:
    from typing import Self

    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer

__all__ = ["CODEC_NAME", "IMAGE_FORMATS", "LEVELS", "ImageCodec", "decode_image", "encode_image"]

#: The codec's name in ``zarr.json`` (and its ``zarr.codecs`` entry point).
CODEC_NAME = "mmdata_image"


#: What an encoder returns (imagecodecs gives ``bytes`` or ``bytearray``).
Encoded = bytes | bytearray


def _encode_htj2k(img: np.ndarray, level: int | None) -> Encoded:
    return imagecodecs.htj2k_encode(img, reversible=True)


def _encode_jpegxl(img: np.ndarray, level: int | None) -> Encoded:
    return imagecodecs.jpegxl_encode(img, lossless=True, effort=1 if level is None else int(level), numthreads=1)


def _encode_jpegls(img: np.ndarray, level: int | None) -> Encoded:
    return imagecodecs.jpegls_encode(img, level=0)


def _encode_webp(img: np.ndarray, level: int | None) -> Encoded:
    # lossless WebP: ``level`` is libwebp's method 0-6 (effort); its quality setting, also an effort
    # for lossless coding, is fixed at 25 (higher costs encoding time for under 0.5 % of size)
    return imagecodecs.webp_encode(img, lossless=True, level=25, method=WEBP_DEFAULT_METHOD if level is None else int(level), numthreads=1)


#: libwebp method when no level is given.
WEBP_DEFAULT_METHOD = 2

#: format -> (encode(image, level), decode(bytes)); every one lossless.
IMAGE_FORMATS: dict[str, tuple[Callable[[np.ndarray, int | None], Encoded], Callable[[bytes], np.ndarray]]] = {
    "htj2k": (_encode_htj2k, lambda data: imagecodecs.htj2k_decode(data)),
    "jpegxl": (_encode_jpegxl, lambda data: imagecodecs.jpegxl_decode(data, numthreads=1)),
    "jpegls": (_encode_jpegls, lambda data: imagecodecs.jpegls_decode(data)),
    "webp": (_encode_webp, lambda data: imagecodecs.webp_decode(data)),
}

#: Formats that take a level, and its range (JPEG XL effort, WebP method); the others ignore it.
LEVELS: dict[str, range] = {"jpegxl": range(1, 10), "webp": range(0, 7)}

#: The (format, "encode" | "decode") pairs already called once in this process.
_USED: set[tuple[str, str]] = set()
_FIRST_USE = threading.Lock()


def _reset_first_use_lock() -> None:
    """A forked child gets a fresh lock: the parent's may have been held by another thread at the fork."""
    global _FIRST_USE
    _FIRST_USE = threading.Lock()


os.register_at_fork(after_in_child=_reset_first_use_lock)


def _call(key: tuple[str, str], fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; the first call of ``key`` in a process runs alone (libraries set up lazily)."""
    if key in _USED:
        return fn(*args)
    with _FIRST_USE:
        result = fn(*args)
        _USED.add(key)
    return result


def encode_image(format: str, img: np.ndarray, level: int | None) -> Encoded:
    """One ``(H, W, C)`` uint8 image as a lossless ``format`` image; thread-safe (see the module notes)."""
    return _call((format, "encode"), IMAGE_FORMATS[format][0], img, level)


def decode_image(format: str, data: bytes) -> np.ndarray:
    """The image of :func:`encode_image`'s bytes; thread-safe (see the module notes)."""
    return np.asarray(_call((format, "decode"), IMAGE_FORMATS[format][1], data))


@dataclass(frozen=True)
class ImageCodec(ArrayBytesCodec):
    """Array-to-bytes codec storing each uint8 ``(..., H, W, C)`` chunk as one lossless image.

    Args:
        format: one of :data:`IMAGE_FORMATS`.
        level: format-specific level (JPEG XL effort 1-9, WebP method 0-6); None for the format's default.

    Raises:
        ValueError: an unknown format or a level out of range.

    Example:
        >>> import numpy as np, zarr
        >>> a = zarr.create_array({}, shape=(2, 8, 8, 3), chunks=(1, 8, 8, 3), dtype="uint8",
        ...                       serializer=ImageCodec(format="jpegxl", level=1), compressors=None)
        >>> a[...] = np.arange(384, dtype=np.uint8).reshape(2, 8, 8, 3)
        >>> int(a[1, 7, 7, 2])
        127
    """

    is_fixed_size = False

    format: str
    level: int | None

    def __init__(self, *, format: str = "htj2k", level: int | None = None) -> None:
        if format not in IMAGE_FORMATS:
            raise ValueError(f"format: expected one of {sorted(IMAGE_FORMATS)}, got {format!r}")
        levels = LEVELS.get(format, range(1, 10))
        if level is not None and not (isinstance(level, int) and level in levels):
            raise ValueError(f"level: expected an integer {levels.start}-{levels.stop - 1} or None for {format}, got {level!r}")
        object.__setattr__(self, "format", format)
        object.__setattr__(self, "level", level if format in LEVELS else None)

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Self:
        _, config = parse_named_configuration(data, CODEC_NAME)
        return cls(**config)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, JSON]:
        return {"name": CODEC_NAME, "configuration": {"format": self.format, "level": self.level}}

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        native = np.dtype(dtype.to_native_dtype()) if hasattr(dtype, "to_native_dtype") else np.dtype(dtype)
        if native != np.uint8 or len(shape) < 3 or shape[-1] not in (1, 3, 4):
            raise ValueError(f"{CODEC_NAME}: expected uint8 (..., H, W, 1|3|4) images, got {native} {shape}")

    def _encode_sync(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer:
        arr = np.ascontiguousarray(chunk_array.as_numpy_array())
        img = arr.reshape(-1, arr.shape[-2], arr.shape[-1])  # (k * H, W, C): leading dims stacked
        data = encode_image(self.format, img, self.level)
        return chunk_spec.prototype.buffer.from_bytes(bytes(data))

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        img = decode_image(self.format, chunk_bytes.to_bytes())
        if img.size != int(np.prod(chunk_spec.shape)):
            raise ValueError(f"{CODEC_NAME}: decoded {img.shape} does not fill a chunk of {chunk_spec.shape}")
        return chunk_spec.prototype.nd_buffer.from_numpy_array(img.reshape(chunk_spec.shape))

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer | None:
        return await asyncio.to_thread(self._encode_sync, chunk_array, chunk_spec)

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: ArraySpec) -> int:
        raise NotImplementedError(f"{CODEC_NAME}: the encoded size depends on the image")


register_codec(CODEC_NAME, ImageCodec)

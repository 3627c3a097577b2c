"""Reading source image files: checksums, decoding to RGB, and the records a build produces.

Every reader of a source file goes through :func:`read_image`, so that a background is decoded
the same way when the catalogue is built and when the renderer reads it later: grayscale,
palette, CMYK and RGBA files all become 8-bit RGB (alpha dropped), and the file's sha256 is
checked against the one recorded in the catalogue.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmdata.errors import SourceError, SourceNotFound, SourceTooLarge
from mmdata.identity import bytes_sha256

__all__ = [
    "ImageRead",
    "BackgroundRecord",
    "CutoutRecord",
    "SkipRecord",
    "read_image",
    "open_bounded",
    "cutout",
]


@dataclass(frozen=True)
class ImageRead:
    """A decoded image file.

    Attributes:
        rgb: uint8 RGB pixels, shape (H, W, 3).
        sha256: sha256 of the file's bytes.
        nbytes: size of the file in bytes.
        mode: the file's original PIL mode (``"L"``, ``"CMYK"``, ``"RGB"``, ...).
    """

    rgb: np.ndarray
    sha256: str
    nbytes: int
    mode: str


def open_bounded(data: bytes, path: Path, max_side: int | None) -> Image.Image:
    """Open image bytes lazily (header only) and refuse a declared width or height above ``max_side``.

    The caller decodes (``load``) only what passed, so a small file declaring a huge image (a
    "decompression bomb") costs nothing. PIL's own bomb warning is silenced: this bound is tighter.

    Raises:
        SourceTooLarge: the header declares a side above ``max_side`` (``sources.max_image_side``).
        OSError, SyntaxError, ValueError: PIL cannot identify the image.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:  # PIL's own, looser bound, checked in open
            raise SourceTooLarge(f"{path}: declares too many pixels ({exc}); not decoded") from None
    w, h = img.size
    if max_side is not None and max(w, h) > max_side:
        img.close()
        raise SourceTooLarge(f"{path}: declares {w}x{h} pixels, more than sources.max_image_side ({max_side}); not decoded")
    return img


def read_image(path: str | Path, expected_sha256: str | None = None, *, max_side: int | None = None) -> ImageRead:
    """Read, checksum and fully decode an image file to 8-bit RGB.

    Args:
        path: the image file.
        expected_sha256: when given, the file's sha256 must equal it.
        max_side: when given, an image whose header declares a larger width or height is refused
            before it is decoded.

    Returns:
        The decoded image with its checksum, size and original mode.

    Raises:
        SourceNotFound: the file does not exist.
        SourceTooLarge: the header declares a side above ``max_side`` (nothing is decoded).
        SourceError: the file is not a decodable image (corrupt, truncated, not an image), or its
            checksum differs from ``expected_sha256``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceNotFound(f"{path}: image file not found") from exc
    except IsADirectoryError as exc:
        raise SourceError(f"{path}: expected an image file, found a folder") from exc
    digest = bytes_sha256(data)
    if expected_sha256 is not None and digest != expected_sha256:
        raise SourceError(
            f"{path}: file changed since the catalogue was built (sha256 {digest[:12]}..., expected {expected_sha256[:12]}...)"
        )
    try:
        with open_bounded(data, path, max_side) as img:
            img.load()
            mode = img.mode
            rgb = np.asarray(_to_rgb(img), dtype=np.uint8)
    except SourceTooLarge:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise SourceError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise SourceError(f"{path}: decoded to an unexpected shape {rgb.shape}")
    return ImageRead(rgb=np.ascontiguousarray(rgb), sha256=digest, nbytes=len(data), mode=mode)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (16-bit and float grayscale are rescaled to 0-255)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(np.round(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    return img.convert("RGB")


@dataclass
class BackgroundRecord:
    """One background image kept by a build (a reference to its file, not its pixels)."""

    id: str
    root: str
    file: str
    sha256: str
    nbytes: int
    width: int
    height: int
    mode: str
    source: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The catalogue.json entry."""
        return {
            "id": self.id,
            "root": self.root,
            "file": self.file,
            "sha256": self.sha256,
            "bytes": self.nbytes,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "source": self.source,
        }


@dataclass
class CutoutRecord:
    """One foreground object: its RGBA pixels cropped to the object's box, plus provenance.

    ``rgba`` is uint8 (h, w, 4); the fourth channel is the mask scaled to 0-255.
    """

    id: str
    rgba: np.ndarray
    cls: str | None
    source: dict[str, Any] = field(default_factory=dict)


@dataclass
class SkipRecord:
    """Something a build left out, and why (kept in catalogue.json)."""

    what: str
    ref: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """The catalogue.json entry."""
        return {"what": self.what, "ref": self.ref, "reason": self.reason}


def cutout(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Crop an image and a boolean mask to the mask's bounding box.

    Args:
        rgb: uint8 RGB image (H, W, 3).
        mask: boolean mask (H, W) with at least one True pixel.

    Returns:
        (uint8 RGBA (h, w, 4) whose alpha is 255 inside the mask and 0 outside,
        box ``[x0, y0, x1, y1]`` with exclusive ends, in image pixels).
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    rgba = np.empty((y1 - y0, x1 - x0, 4), dtype=np.uint8)
    rgba[..., :3] = rgb[y0:y1, x0:x1]
    rgba[..., 3] = np.where(mask[y0:y1, x0:x1], 255, 0)
    return rgba, [x0, y0, x1, y1]

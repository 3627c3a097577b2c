"""The interface every source catalogue offers the renderer.

A catalogue is a read-only collection of background images and foreground objects with stable
string ids. The renderer only ever calls the methods of :class:`Catalogue`; the COCO, VOC and
built-in readers (and their stored object bank) implement it.
"""

from __future__ import annotations

import hashlib
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = ["Catalogue", "InMemoryCatalogue", "background_shape", "object_shape"]


@runtime_checkable
class Catalogue(Protocol):
    """Read-only access to backgrounds and foreground objects by stable id."""

    @property
    def identity(self) -> str:
        """A hash that changes whenever any id or pixel of the catalogue changes."""

    @property
    def background_ids(self) -> Sequence[str]:
        """Ids of the background images, in a stable order."""

    @property
    def object_ids(self) -> Sequence[str]:
        """Ids of the foreground objects, in a stable order."""

    def background(self, bg_id: str) -> np.ndarray:
        """Background image as float32 RGB, shape (H, W, 3), values 0-255 (treat as read-only)."""

    def object(self, obj_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Foreground object cropped to its box: (float32 RGB (h, w, 3) 0-255, float32 alpha (h, w) 0-1) (read-only)."""

    def describe(self, source_id: str) -> dict:
        """Human-readable provenance of one id (file name, original dataset id, class, ...)."""


class InMemoryCatalogue:
    """A catalogue over arrays held in memory (tests, small demos).

    Args:
        backgrounds: id -> uint8 or float RGB (H, W, 3).
        objects: id -> (RGB (h, w, 3), alpha (h, w) in 0-1).
        info: optional id -> description dict.
    """

    def __init__(
        self,
        backgrounds: dict[str, np.ndarray],
        objects: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
        info: dict[str, dict] | None = None,
    ) -> None:
        self._bg = {k: np.asarray(v, dtype=np.float32) for k, v in backgrounds.items()}
        self._obj = {
            k: (np.asarray(rgb, dtype=np.float32), np.asarray(a, dtype=np.float32)) for k, (rgb, a) in (objects or {}).items()
        }
        self._info = dict(info or {})
        h = hashlib.sha256()
        for k in sorted(self._bg):
            h.update(k.encode())
            h.update(np.ascontiguousarray(self._bg[k]).tobytes())
        for k in sorted(self._obj):
            h.update(k.encode())
            h.update(np.ascontiguousarray(self._obj[k][0]).tobytes())
            h.update(np.ascontiguousarray(self._obj[k][1]).tobytes())
        self._identity = h.hexdigest()

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def background_ids(self) -> Sequence[str]:
        return sorted(self._bg)

    @property
    def object_ids(self) -> Sequence[str]:
        return sorted(self._obj)

    def background(self, bg_id: str) -> np.ndarray:
        return self._bg[bg_id]

    def object(self, obj_id: str) -> tuple[np.ndarray, np.ndarray]:
        return self._obj[obj_id]

    def describe(self, source_id: str) -> dict:
        return dict(self._info.get(source_id, {"id": source_id}))

    def background_shape(self, bg_id: str) -> tuple[int, int]:
        """(H, W) of a background."""
        return self._bg[bg_id].shape[:2]

    def object_shape(self, obj_id: str) -> tuple[int, int]:
        """(h, w) of an object's box."""
        return self._obj[obj_id][1].shape[:2]


def background_shape(catalogue: Catalogue, bg_id: str) -> tuple[int, int]:
    """(H, W) of a background without decoding it when the catalogue knows it (``background_shape``)."""
    method = getattr(catalogue, "background_shape", None)
    if callable(method):
        h, w = method(bg_id)
        return int(h), int(w)
    h, w = catalogue.background(bg_id).shape[:2]
    return int(h), int(w)


def object_shape(catalogue: Catalogue, obj_id: str) -> tuple[int, int]:
    """(h, w) of an object's box without decoding it when the catalogue knows it (``object_shape``)."""
    method = getattr(catalogue, "object_shape", None)
    if callable(method):
        h, w = method(obj_id)
        return int(h), int(w)
    h, w = catalogue.object(obj_id)[1].shape[:2]
    return int(h), int(w)

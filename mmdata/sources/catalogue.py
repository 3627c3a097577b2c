"""A built catalogue on disk: ``catalogue.json`` plus the object bank ``objects.zarr``.

``catalogue.json`` records every background (a reference to its file: root, relative file,
sha256, size, original dataset ids), every object (id, class, box, source ids and the sha256 of
its stored pixels), what the build skipped and why, the thresholds used, and the catalogue's
identity: a sha256 over the sorted ids and checksums of everything it holds, which dataset shards
record in their provenance.

:class:`StoredCatalogue` implements :class:`mmdata.sources.base.Catalogue` over such a folder. It
is cheap to pickle (only the folder's path travels) and re-opens lazily in a worker process; the
parsed ``catalogue.json`` is shared by the catalogues of one process through a small cache keyed
by the file's path, size and modification time. Each catalogue also keeps the last few decoded
backgrounds and objects (:data:`CACHED_BACKGROUNDS`, :data:`CACHED_OBJECTS`), returned as
read-only arrays, so that sampling a scene and then rendering it decodes each source once; the
sizes are known without decoding at all (:meth:`StoredCatalogue.background_shape`,
:meth:`StoredCatalogue.object_shape`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from mmdata.errors import SourceError, SourceNotFound
from mmdata.identity import json_sha256
from mmdata.sources.bank import ObjectBankReader
from mmdata.sources.images import read_image

__all__ = [
    "CATALOGUE_FILE",
    "BANK_DIR",
    "FORMAT",
    "VERSION",
    "StoredCatalogue",
    "open_catalogue",
    "compute_identity",
    "resolve_root",
]

CATALOGUE_FILE = "catalogue.json"
BANK_DIR = "objects.zarr"
FORMAT = "mmdata-catalogue"
VERSION = 1
PACKAGE_ROOT_PREFIX = "package:"
CACHED_BACKGROUNDS = 4
CACHED_OBJECTS = 64


#: Keys of ``catalogue.json`` that say where the sources lie or how the build ran, not what they hold.
_LOCATION_KEYS = frozenset({"roots", "config", "skipped"})


def compute_identity(backgrounds: Iterable[tuple[str, str]], objects: Iterable[tuple[str, str]]) -> str:
    """Identity hash of a catalogue from its (id, sha256) pairs, independent of order and paths.

    Args:
        backgrounds: (background id, file sha256) pairs.
        objects: (object id, sha256 of the stored RGBA bytes and shape) pairs.

    Returns:
        Hex sha256.
    """
    h = hashlib.sha256(f"{FORMAT} v{VERSION}\n".encode())
    for tag, pairs in (("background", backgrounds), ("object", objects)):
        for item_id, digest in sorted(pairs):
            h.update(f"{tag}\t{item_id}\t{digest}\n".encode())
    return h.hexdigest()


def resolve_root(root: str) -> Path:
    """Folder of a catalogue root: an absolute path, or ``package:<pkg>/<sub>`` inside an installed package."""
    if root.startswith(PACKAGE_ROOT_PREFIX):
        package, _, sub = root[len(PACKAGE_ROOT_PREFIX) :].partition("/")
        return Path(str(resources.files(package))) / sub
    return Path(root)


@functools.lru_cache(maxsize=8)
def _load_index(path: str, _size: int, _mtime_ns: int) -> dict[str, Any]:
    """Parse and index a catalogue.json (cached per process; the file is never modified in place)."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not a readable catalogue ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise SourceError(f"{path}: not a {FORMAT} v{VERSION} catalogue")
    try:
        doc["_bg"] = {e["id"]: e for e in doc["backgrounds"]}
        doc["_obj"] = {e["id"]: e for e in doc["objects"]}
        doc["_bg_ids"] = tuple(e["id"] for e in doc["backgrounds"])
        doc["_obj_ids"] = tuple(e["id"] for e in doc["objects"])
        roots = {k: resolve_root(v) for k, v in doc["roots"].items()}
        doc["_roots"] = roots
        str(doc["identity"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise SourceError(f"{path}: malformed catalogue (missing {exc})") from exc
    return doc


class StoredCatalogue:
    """A catalogue folder opened for reading (see the module docstring).

    Args:
        path: the catalogue folder (or its ``catalogue.json``).

    Raises:
        SourceNotFound: the folder, its catalogue.json or its object bank does not exist.
        SourceError: the catalogue is malformed.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if path.name == CATALOGUE_FILE:
            path = path.parent
        self.path = path
        json_path = path / CATALOGUE_FILE
        if not json_path.is_file():
            raise SourceNotFound(f"{json_path}: catalogue not found (build one with `mmdata sources build`)")
        if not (path / BANK_DIR).is_dir():
            raise SourceNotFound(f"{path / BANK_DIR}: object bank of the catalogue not found")
        self._doc = self._index()
        self._bank: ObjectBankReader | None = None
        self._lock = threading.Lock()
        self._bg_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._obj_cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def _index(self) -> dict[str, Any]:
        json_path = self.path / CATALOGUE_FILE
        try:
            st = json_path.stat()
        except FileNotFoundError as exc:
            raise SourceNotFound(f"{json_path}: catalogue not found") from exc
        return _load_index(str(json_path), st.st_size, st.st_mtime_ns)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"StoredCatalogue({str(self.path)!r}, kind={self.kind!r}, backgrounds={len(self.background_ids)}, objects={len(self.object_ids)})"

    @property
    def identity(self) -> str:
        """sha256 over the sorted ids and checksums of all backgrounds and objects."""
        return str(self._doc["identity"])

    @property
    def content_digest(self) -> str:
        """sha256 of what ``catalogue.json`` says about the content (canonical JSON, sorted keys).

        Everything but where the files lie and how the build was invoked (``roots``, ``config``,
        ``skipped``): a rebuild from the same sources in another folder gives the same digest, any
        change to an id, a checksum, a box, a class or a threshold gives another. Shards record it
        and the manifest indexes it.
        """
        body = {k: v for k, v in self._doc.items() if not k.startswith("_") and k not in _LOCATION_KEYS}
        return json_sha256(body)

    @property
    def kind(self) -> str:
        """The source kind the catalogue was built from (``builtin`` or ``coco_voc``)."""
        return str(self._doc.get("kind", ""))

    @property
    def background_ids(self) -> Sequence[str]:
        """Background ids in catalogue order."""
        return self._doc["_bg_ids"]

    @property
    def object_ids(self) -> Sequence[str]:
        """Object ids in catalogue order."""
        return self._doc["_obj_ids"]

    @property
    def summary(self) -> dict[str, Any]:
        """Counts, thresholds, classes and skip reasons (no per-item lists)."""
        keys = ("kind", "identity", "counts", "thresholds", "classes", "roots")
        return {k: self._doc.get(k) for k in keys}

    @property
    def skipped(self) -> list[dict[str, str]]:
        """What the build left out, one dict (what, ref, reason) each."""
        return list(self._doc.get("skipped", []))

    def _background_entry(self, bg_id: str) -> dict[str, Any]:
        try:
            return self._doc["_bg"][bg_id]
        except KeyError:
            raise SourceError(f"{self.path}: no background with id {bg_id!r} in this catalogue") from None

    def _object_entry(self, obj_id: str) -> dict[str, Any]:
        try:
            return self._doc["_obj"][obj_id]
        except KeyError:
            raise SourceError(f"{self.path}: no object with id {obj_id!r} in this catalogue") from None

    def background_path(self, bg_id: str) -> Path:
        """The file a background is read from."""
        entry = self._background_entry(bg_id)
        return self._doc["_roots"][entry["root"]] / entry["file"]

    def background_shape(self, bg_id: str) -> tuple[int, int]:
        """(H, W) of a background, from the catalogue (no decoding)."""
        entry = self._background_entry(bg_id)
        return int(entry["height"]), int(entry["width"])

    def object_shape(self, obj_id: str) -> tuple[int, int]:
        """(h, w) of an object's box, from the catalogue (no decoding)."""
        entry = self._object_entry(obj_id)
        return int(entry["height"]), int(entry["width"])

    def background(self, bg_id: str) -> np.ndarray:
        """Background as read-only float32 RGB (H, W, 3) 0-255, read from its file and checked against its sha256.

        Raises:
            SourceError: unknown id, unreadable file or changed checksum (SourceNotFound if missing).
        """
        with self._lock:
            if bg_id in self._bg_cache:
                self._bg_cache.move_to_end(bg_id)
                return self._bg_cache[bg_id]
        entry = self._background_entry(bg_id)
        image = read_image(self.background_path(bg_id), expected_sha256=entry["sha256"])
        rgb = image.rgb.astype(np.float32)
        rgb.flags.writeable = False
        _remember(self._bg_cache, bg_id, rgb, CACHED_BACKGROUNDS, self._lock)
        return rgb

    def object_rgba(self, obj_id: str) -> np.ndarray:
        """The stored uint8 RGBA (h, w, 4) of an object, checked against its sha256."""
        entry = self._object_entry(obj_id)
        if self._bank is None:
            bank = ObjectBankReader(self.path / BANK_DIR)
            if len(bank) != len(self._doc["_obj_ids"]):
                raise SourceError(
                    f"{bank.path}: holds {len(bank)} objects, catalogue.json lists {len(self._doc['_obj_ids'])}"
                )
            self._bank = bank
        rgba = self._bank.rgba(int(entry["index"]))
        if rgba_sha256(rgba) != entry["sha256"]:
            raise SourceError(f"{self.path / BANK_DIR}: stored pixels of object {obj_id!r} do not match their checksum")
        return rgba

    def object(self, obj_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Object cropped to its box: (float32 RGB (h, w, 3) 0-255, float32 alpha (h, w) 0-1).

        The RGB outside the mask keeps the photograph's own pixels (useful to interpolation near
        the boundary); only alpha says what belongs to the object.
        """
        with self._lock:
            if obj_id in self._obj_cache:
                self._obj_cache.move_to_end(obj_id)
                return self._obj_cache[obj_id]
        rgba = self.object_rgba(obj_id)
        rgb, alpha = rgba[..., :3].astype(np.float32), rgba[..., 3].astype(np.float32) / np.float32(255.0)
        rgb.flags.writeable = False
        alpha.flags.writeable = False
        _remember(self._obj_cache, obj_id, (rgb, alpha), CACHED_OBJECTS, self._lock)
        return rgb, alpha

    def describe(self, source_id: str) -> dict[str, Any]:
        """Human-readable provenance of a background or object id (file, dataset ids, class, ...)."""
        if source_id in self._doc["_bg"]:
            entry = dict(self._doc["_bg"][source_id])
            out = {"id": source_id, "kind": "background", "file": str(self.background_path(source_id))}
            out.update({k: entry[k] for k in ("width", "height", "mode", "sha256")})
            out.update(entry.get("source", {}))
            return out
        if source_id in self._doc["_obj"]:
            entry = dict(self._doc["_obj"][source_id])
            out = {"id": source_id, "kind": "object", "class": entry.get("class")}  # type: ignore[dict-item]  # a class may be absent (None)
            out.update({k: entry[k] for k in ("width", "height", "area", "sha256")})
            source = dict(entry.get("source", {}))
            if "root" in source and "file" in source:
                source["file"] = str(self._doc["_roots"].get(source.pop("root"), Path(".")) / source["file"])
            out.update(source)
            return out
        raise SourceError(f"{self.path}: no background or object with id {source_id!r} in this catalogue")


def _remember(cache: OrderedDict, key: str, value: Any, size: int, lock: threading.Lock) -> None:
    """Put ``value`` in a least-recently-used ``cache`` of at most ``size`` entries."""
    with lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)


def rgba_sha256(rgba: np.ndarray) -> str:
    """sha256 of an object's stored RGBA bytes and shape."""
    h = hashlib.sha256(f"{rgba.shape[0]}x{rgba.shape[1]}x4\n".encode())
    h.update(np.ascontiguousarray(rgba, dtype=np.uint8).tobytes())
    return h.hexdigest()


def open_catalogue(path: str | Path) -> StoredCatalogue:
    """Open a catalogue folder written by :func:`mmdata.sources.build_catalogue`.

    Args:
        path: the catalogue folder (or its ``catalogue.json``).

    Returns:
        A :class:`StoredCatalogue` (implements :class:`mmdata.sources.base.Catalogue`).

    Raises:
        SourceNotFound: nothing there.
        SourceError: not a catalogue of this format.
    """
    return StoredCatalogue(path)

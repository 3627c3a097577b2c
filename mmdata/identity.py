"""Content identity: the one canonical JSON form and the sha256 digests built on it.

Every content digest of the project (config hashes, shard attributes, shard checksums, the
manifest hash, the catalogue's content digest, checksums of string arrays) is the sha256 of
:func:`canonical_json`: sorted keys, no spaces, ASCII escapes for non-ASCII characters, ``NaN`` and
``Infinity`` written as JavaScript literals (Python's ``json`` defaults). Changing any of these
changes every recorded digest, so existing datasets would stop auditing: the format is fixed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["canonical_json", "json_sha256", "bytes_sha256", "file_sha256"]

_BLOCK = 1 << 20


def canonical_json(obj: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """The canonical JSON bytes of ``obj``: sorted keys, ``","``/``":"`` separators, ASCII only.

    Args:
        obj: JSON-native data (dicts, lists, strings, numbers, booleans, None).
        default: called for values JSON cannot represent (e.g. ``str``); without it they raise.

    Raises:
        TypeError: a value is not JSON-native and no ``default`` was given.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default).encode()


def json_sha256(obj: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """Hex sha256 of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj, default=default)).hexdigest()


def bytes_sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (bounded memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()

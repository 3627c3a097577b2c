"""Containment of the files a source listing names (COCO ``file_name``, VOC image-set lines).

A listing is input, not trusted: an entry may be absolute, climb out with ``..``, be a link to
somewhere else, or name a special file (``/dev/zero``, a FIFO) that would be read forever.
:func:`contained_file` accepts only a regular file that resolves inside its folder and is not
larger than the configured cap (``sources.max_file_bytes``); anything else is skipped by the caller
with the reason, like an undecodable image.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mmdata.errors import SourceError, SourceNotFound

__all__ = ["contained_file"]


def contained_file(folder: Path, name: str, max_bytes: int) -> Path:
    """The file ``folder / name``, checked before anything opens it.

    Args:
        folder: the (resolved) folder the listing is relative to.
        name: the listed relative path.
        max_bytes: the largest file accepted.

    Returns:
        The resolved path.

    Raises:
        SourceNotFound: there is no such file.
        SourceError: ``name`` is empty or absolute, resolves outside ``folder`` (``..``, a link), is not
            a regular file, or is larger than ``max_bytes``.
    """
    if not isinstance(name, str) or not name or "\0" in name:
        raise SourceError(f"{folder}: listed file name {name!r} is empty or not a path")
    if os.path.isabs(name):
        raise SourceError(f"{name}: absolute path in a listing; expected a path relative to {folder}")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise SourceError(f"{folder / name}: resolves to {path}, outside {folder}")
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise SourceNotFound(f"{path}: listed file not found") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot be inspected ({exc})") from exc
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(f"{path}: not a regular file")
    if st.st_size > max_bytes:
        raise SourceError(f"{path}: {st.st_size} bytes, more than sources.max_file_bytes ({max_bytes})")
    return path

"""Atomic writes: every file and folder the toolkit produces appears complete or not at all.

* :func:`atomic_path` — a context manager yielding a temporary path in the target's folder; write
  the file there (with any library), and on a clean exit it is fsynced, given the usual permissions
  (``0o666`` minus the umask, not ``mkstemp``'s ``0o600``) and renamed over the target; on an
  exception the temporary file is removed and the target is untouched;
* :func:`atomic_write_bytes` / :func:`atomic_write_text` — the same for data in memory;
* :func:`tmp_name` + :func:`commit` (or :func:`discard`) — the two halves of :func:`atomic_path`, for a
  writer that stays open across many calls (a video encoder): write to ``tmp_name(path)``, then
  ``commit(tmp, path)`` on success or ``discard(tmp)`` on failure;
* :func:`os_errors_named` — a context manager turning an ``OSError`` raised inside (a full disk, a
  read-only folder) into the toolkit's error naming the file or folder being written;
* :func:`replace_dir` — swap a finished temporary folder in for a final one with no moment at which
  the final path is missing: the old folder is renamed aside, the new one renamed in, then the old
  one deleted (an interruption between the two renames leaves the old folder beside the final path,
  under a hidden ``.NAME.old-*`` name, and never a half-written one).

Temporary names start with ``.NAME.tmp-`` so that a crash leaves an obviously stale, hidden file,
which :func:`remove_stale` can clear.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator, Sequence

from mmdata.errors import ConfigError, MotionMagError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "commit", "discard", "replace_dir", "remove_stale",
           "tmp_name", "check_suffix", "os_errors_named"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def tmp_name(path: str | Path, kind: str = "tmp") -> Path:
    """A hidden, unique sibling of ``path``: ``DIR/.NAME.{kind}-XXXXXXXX`` (the suffix is kept last)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}-{uuid.uuid4().hex[:8]}{path.suffix}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems do not support fsync on folders
        pass
    finally:
        os.close(fd)


def commit(tmp: str | Path, path: str | Path, *, mode: int | None = None) -> Path:
    """Move the finished temporary file ``tmp`` (from :func:`tmp_name`) to ``path``, durably.

    The file is fsynced, given the usual permissions and renamed over ``path``, then the folder is
    fsynced; when any of it fails the temporary file is removed and ``path`` is untouched.

    Args:
        tmp: the complete temporary file, in ``path``'s folder.
        path: the final file.
        mode: permission bits (default ``0o666`` minus the umask, as ``open`` would create it).

    Returns:
        ``path``.

    Raises:
        OSError: fsync, chmod or rename failed (naming ``path`` when the system gave no file name).
    """
    tmp, path = Path(tmp), Path(path)
    try:
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
        os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        raise _naming(exc, path, tmp) from exc
    except BaseException:
        discard(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def discard(tmp: str | Path) -> None:
    """Remove the temporary file ``tmp`` if it exists (a writer failed or was interrupted)."""
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _naming(exc: OSError, path: Path, tmp: Path | None = None) -> OSError:
    """``exc`` itself, or (when it names no file, as a failed ``write`` does, or only the temporary
    ``tmp``, as a read-only folder does) the same error naming ``path``."""
    if exc.errno is None or (exc.filename is not None and (tmp is None or str(exc.filename) != str(tmp))):
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))  # the errno's subclass, e.g. PermissionError


@contextlib.contextmanager
def atomic_path(path: str | Path, *, mode: int | None = None) -> Iterator[Path]:
    """Write ``path`` through a temporary sibling that is renamed into place on success.

    Args:
        path: the final file.
        mode: permission bits (default ``0o666`` minus the umask, as ``open`` would create it).

    Yields:
        The temporary path (:func:`tmp_name`); create the file there.

    Raises:
        Whatever the body raises (the temporary file is removed first; an ``OSError`` naming no file,
        such as a full disk during ``write``, is raised again naming ``path``); OSError from
        :func:`commit`.

    Example:
        >>> with atomic_path(out / "table.csv") as tmp:  # doctest: +SKIP
        ...     frame.to_csv(tmp)
    """
    path = Path(path)
    tmp = tmp_name(path)
    try:
        yield tmp
    except OSError as exc:
        discard(tmp)
        raise _naming(exc, path, tmp) from exc
    except BaseException:
        discard(tmp)
        raise
    commit(tmp, path, mode=mode)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``."""
    with atomic_path(path, mode=mode) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8", mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``."""
    return atomic_write_bytes(path, text.encode(encoding), mode=mode)


def replace_dir(tmp_dir: str | Path, final_dir: str | Path) -> Path:
    """Move the finished folder ``tmp_dir`` to ``final_dir``, replacing what is there.

    The final path always holds either the old or the new folder: the old one is renamed aside
    first, the new one renamed in, and only then is the old one deleted. Both folders must be on one
    filesystem (create ``tmp_dir`` beside ``final_dir``).

    Raises:
        OSError: a rename failed (the old folder is moved back when the second rename fails).
    """
    tmp_dir, final_dir = Path(tmp_dir), Path(final_dir)
    old = None
    if os.path.lexists(final_dir):
        old = tmp_name(final_dir, "old")
        os.rename(final_dir, old)
    try:
        os.rename(tmp_dir, final_dir)
    except BaseException:
        if old is not None:
            os.rename(old, final_dir)
        raise
    _fsync_dir(final_dir.parent)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(old)
    return final_dir


def remove_stale(folder: str | Path, name: str) -> list[Path]:
    """Remove the temporaries (``.NAME.tmp-*``, ``.NAME.old-*``) an interrupted writer left in ``folder``.

    Returns:
        The paths removed.
    """
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for kind in ("tmp", "old"):
        for p in folder.glob(f".{name}.{kind}-*"):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
            removed.append(p)
    return removed


def check_suffix(path: str | Path, suffixes: Sequence[str], *, what: str, hint: str = "",
                 error: type[Exception] = ConfigError) -> Path:
    """Refuse an output file name whose extension is not one of ``suffixes`` (case-insensitive).

    Call it before any work, so that a run never computes a result it cannot write.

    Args:
        path: the output file.
        suffixes: the accepted extensions, with their dots (``(".png",)``).
        what: what the file is, for the message (``"slice image"``).
        hint: appended to the message (another form the output may take).
        error: the exception class to raise (a :class:`~mmdata.errors.MotionMagError`).

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        ``error``: naming the path, its extension and the supported ones.
    """
    path = Path(path)
    if path.suffix.lower() not in {s.lower() for s in suffixes}:
        got = f"extension {path.suffix!r}" if path.suffix else "no extension"
        raise error(f"{path}: unsupported {what} file name ({got}); supported: {', '.join(suffixes)}{hint}")
    return path


@contextlib.contextmanager
def os_errors_named(path: str | Path, error: type[MotionMagError], doing: str) -> Iterator[None]:
    """Raise an ``OSError`` from the body again as ``error``, naming ``path`` (and the file the system named).

    A failed ``write`` (``[Errno 28] No space left on device``) names no file; wrapped in this, the
    message says what was being written, e.g. ``ROOT/part1/shard-0000.zarr: cannot write the shard
    store ([Errno 28] No space left on device)``. Errors of the toolkit (``SourceNotFound`` is also
    a ``FileNotFoundError``) and a closed pipe pass through unchanged.

    Args:
        path: the file or folder the body writes.
        error: the error class raised (``StoreError``, ``SourceError``, ...).
        doing: what the body does, e.g. ``"cannot write the shard store"``.
    """
    try:
        yield
    except (MotionMagError, BrokenPipeError):
        raise
    except OSError as exc:
        reason = f"[Errno {exc.errno}] {exc.strerror}" if exc.errno is not None and exc.strerror else str(exc)
        named = exc.filename if exc.filename is not None and str(exc.filename) != str(path) else None
        raise error(f"{path}: {doing} ({f'{named}: ' if named else ''}{reason})") from exc

"""Provenance of generated data: code version, the config that determines pixels, checksums.

Every shard store records (SPEC section 4):

* the code version: package version, git commit and dirty flag of the checkout the package was
  imported from (``None`` when it is not a git checkout), and a hash of the package's source files;
* the full resolved config and the hash of its *render* part (the keys that change pixels:
  ``seed`` and ``dataset`` without the sizes of parts and shards and the choice of stored
  fields; the sources are covered by the catalogue identity); two shards with the same render hash
  and catalogue identity are parts of one dataset;
* the catalogue identity;
* per-sample sha256 digests of every frame and per-array checksums.

Per-sample parameters are stored as the JSON of :meth:`mmdata.params.SampleParams.to_dict`, which
round-trips every float exactly (``json`` writes the shortest repr), so re-rendering from stored
values reproduces the bytes.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import logging
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from mmdata.config import config_hash
from mmdata.params import SampleParams

__all__ = [
    "RENDER_CONFIG_KEYS",
    "code_version",
    "source_hash",
    "render_config",
    "render_config_hash",
    "utc_now",
    "params_to_json",
    "params_from_json",
    "sample_digest",
    "combine_digests",
    "bytes_checksum",
]

log = logging.getLogger(__name__)

#: Top-level config keys that determine the pixels of a sample (everything else is execution).
RENDER_CONFIG_KEYS: tuple[str, ...] = ("seed", "dataset")
#: Keys of ``dataset`` that decide how many samples exist and where they are stored, not their pixels.
LAYOUT_DATASET_KEYS: tuple[str, ...] = ("parts", "shard_size", "store_frame_y")

_PACKAGE_DIR = Path(__file__).resolve().parent


def _git(args: list[str], cwd: Path) -> str | None:
    """Run one git command; return its stripped stdout, or None when git or the repo is absent."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 over the relative paths and bytes of every ``.py``/``.yaml`` file of ``mmdata``.

    Returns:
        The hex digest; it changes whenever the dataset code changes (committed or not).
    """
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(_PACKAGE_DIR)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The version of the code that renders samples.

    Returns:
        ``{"package": "motionmag", "version", "git_commit", "git_dirty", "source_hash"}``.
        ``git_dirty`` is true when tracked files of the package differ from the commit;
        ``git_commit``/``git_dirty`` are None outside a git checkout.
    """
    from mmdata import __version__

    commit = _git(["rev-parse", "HEAD"], _PACKAGE_DIR)
    dirty: bool | None = None
    if commit is not None:
        status = _git(["status", "--porcelain", "--untracked-files=no", "--", "."], _PACKAGE_DIR)
        dirty = None if status is None else bool(status)
    return {
        "package": "motionmag",
        "version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "source_hash": source_hash(),
    }


def render_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that determines pixels (see :data:`RENDER_CONFIG_KEYS`)."""
    out = {k: config[k] for k in RENDER_CONFIG_KEYS if k in config}
    if isinstance(out.get("dataset"), Mapping):
        out["dataset"] = {k: v for k, v in out["dataset"].items() if k not in LAYOUT_DATASET_KEYS}
    return out


def render_config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of :func:`render_config`; equal for every shard of one dataset."""
    return config_hash(render_config(config))


def utc_now() -> str:
    """Current UTC time in ISO 8601 with seconds, e.g. ``2026-11-25T16:00:00Z``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def params_to_json(params: SampleParams) -> str:
    """Serialize one sample's parameters exactly (shortest float repr, sorted keys)."""
    return json.dumps(params.to_dict(), sort_keys=True, separators=(",", ":"))


def params_from_json(text: str) -> SampleParams:
    """Inverse of :func:`params_to_json`.

    Raises:
        ValueError: the text is empty or not a parameter record (e.g. an imported sample).
    """
    if not text:
        raise ValueError("no rendering parameters recorded for this sample")
    return SampleParams.from_dict(json.loads(text))


def sample_digest(frame: np.ndarray) -> bytes:
    """sha256 digest (32 bytes) of one sample's array in C order."""
    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).digest()


def combine_digests(digests: Iterable[bytes]) -> str:
    """Checksum of an array from its per-sample digests: sha256 of their concatenation (hex)."""
    h = hashlib.sha256()
    for d in digests:
        h.update(bytes(d))
    return h.hexdigest()


def bytes_checksum(values: np.ndarray) -> str:
    """sha256 (hex) of a small per-sample array: raw little-endian bytes, or the JSON of strings."""
    values = np.asarray(values)
    if values.dtype.kind in "OUT":
        blob = json.dumps([str(v) for v in values.ravel()], separators=(",", ":")).encode()
    else:
        blob = np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"), copy=False)).tobytes()
    return hashlib.sha256(blob).hexdigest()

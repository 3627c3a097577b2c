"""Provenance of generated data: code version, the config that determines pixels, checksums.

Every shard store records (SPEC section 4):

* the code version: package version, git commit and dirty flag of the checkout the package was
  imported from (``None`` when it is not a git checkout), a hash of the package's source files (for
  the record), and the *render code hash* (:func:`render_code_hash`): a hash of exactly the code that
  can change a sample's bytes, as syntax trees without docstrings and comments. Shards of one dataset
  share it, resuming a shard requires it, and the workflow re-renders shards when, and only when, it
  changes;
* the full resolved config and the hash of its *render* part (the keys that change pixels:
  ``seed`` and ``dataset`` without the sizes of parts and shards and the choice of stored
  fields; the sources are covered by the catalogue identity); two shards with the same render hash
  and catalogue identity are parts of one dataset;
* the catalogue identity;
* per-sample sha256 digests of every frame (what the audit checks), a fast xxh3-128 digest of every
  frame (what verified reads check: about 30 times cheaper to compute than sha256, see
  :func:`fast_digest`) and per-array checksums.

Per-sample parameters are stored as the JSON of :meth:`mmdata.scene.SampleParams.to_dict`, which
round-trips every float exactly (``json`` writes the shortest repr), so re-rendering from stored
values reproduces the bytes.
"""

from __future__ import annotations

import ast
import datetime as _dt
import functools
import importlib.util
import hashlib
import json
import logging
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import xxhash

from mmdata.config import config_hash
from mmdata.identity import bytes_sha256, canonical_json
from mmdata.scene import SampleParams

__all__ = [
    "PART_SIZE_DATASET_KEYS",
    "GENERATOR_OPTIONS",
    "LAYOUT_DATASET_KEYS",
    "RENDER_CONFIG_KEYS",
    "RENDER_MODULES",
    "code_version",
    "content_code_version",
    "CONTENT_CODE_KEYS",
    "RUN_RECORD_NAME",
    "run_record",
    "code_hash",
    "package_code_hash",
    "render_code_hash",
    "source_hash",
    "render_config",
    "render_config_hash",
    "shard_job_config",
    "utc_now",
    "without_options_off",
    "params_to_json",
    "params_from_json",
    "sample_digest",
    "fast_digest",
    "combine_digests",
    "bytes_checksum",
]

log = logging.getLogger(__name__)

#: Top-level config keys that determine the pixels of a sample (everything else is execution).
RENDER_CONFIG_KEYS: tuple[str, ...] = ("seed", "dataset")
#: Keys of ``dataset`` that decide only how many samples each part has (``total`` and ``mix`` resolve
#: into ``parts``): growing a part changes none of the existing samples.
PART_SIZE_DATASET_KEYS: tuple[str, ...] = ("parts", "total", "mix")
#: Keys of ``dataset`` that decide how many samples exist and where they are stored, not their pixels.
LAYOUT_DATASET_KEYS: tuple[str, ...] = (*PART_SIZE_DATASET_KEYS, "shard_size", "store_frame_y")
#: Generator options of ``dataset`` added after the paper's generator (off by default; ``motion.affine``
#: besides): the render config leaves them out while they are off (:func:`without_options_off`).
GENERATOR_OPTIONS: tuple[str, ...] = ("linear_light", "photometric", "axial", "custom_parts")

_PACKAGE_DIR = Path(__file__).resolve().parents[1]

#: The modules whose code decides a sample's bytes: the dataset spec built from the config, the scene
#: parameters and their sampling, resampling, colour transfer, compositing and noise, and the decoding of source
#: images and object cutouts. Nothing else (store, audit, CLI, workflow, docs) can change a pixel.
RENDER_MODULES: tuple[str, ...] = (
    "mmdata.spec",
    "mmdata.scene",
    "mmdata.render.sampling",
    "mmdata.render.resample",
    "mmdata.render.composite",
    "mmdata.render.color",
    "mmdata.render.noise",
    "mmdata.sources.base",
    "mmdata.sources.images",
    "mmdata.sources.catalogue",
    "mmdata.sources.bank",
)


def _git(args: list[str], cwd: Path) -> str | None:
    """Run one git command; return its stripped stdout, or None when git or the repo is absent."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """Remove the docstring of the module and of every class and function (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _code_text(path: Path) -> str:
    """The code of a Python file without comments, docstrings or layout: its syntax tree, unparsed."""
    return ast.unparse(_strip_docstrings(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))


def code_hash(modules: Iterable[str]) -> str:
    """sha256 over the names and the syntax trees (without docstrings and comments) of ``modules``.

    Editing a comment, a docstring or the layout of a file leaves it unchanged; editing code changes it.
    The trees are compared as unparsed source, so the hash does not depend on the Python version's
    AST fields.

    Args:
        modules: dotted module names, e.g. ``("mmdata.render.noise",)``.

    Returns:
        The hex digest.
    """
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"no module named {name!r}")
        h.update(name.encode() + b"\0" + _code_text(Path(spec.origin)).encode() + b"\0")
    return h.hexdigest()


def package_code_hash(*packages: str) -> str:
    """:func:`code_hash` of every module of the given packages (sub-packages included)."""
    modules = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"no package named {package!r}")
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = [package, *rel.parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append(".".join(parts))
    return code_hash(modules)


@functools.lru_cache(maxsize=1)
def render_code_hash() -> str:
    """:func:`code_hash` of :data:`RENDER_MODULES`: what a shard records and is re-rendered on."""
    return code_hash(RENDER_MODULES)


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """:func:`package_code_hash` of the whole ``mmdata`` package (recorded for the record).

    Returns:
        The hex digest; it changes whenever any code of the package changes (not its comments or
        docstrings).
    """
    return package_code_hash("mmdata")


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The version of the code that renders samples.

    Returns:
        ``{"package": "motionmag", "version", "git_commit", "git_dirty", "source_hash",
        "render_code_hash", "numpy", "scipy"}``. ``git_dirty`` is true when tracked files of the
        package differ from the commit; ``git_commit``/``git_dirty`` are None outside a git checkout.
        ``source_hash`` covers the code of every module of ``mmdata`` (for the record);
        ``render_code_hash`` only the code that decides pixels.
    """
    from mmdata.version import __version__

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
        "render_code_hash": render_code_hash(),
        "numpy": np.__version__,
        "scipy": _scipy_version(),
    }


#: The entries of :func:`code_version` that a shard's content records: what can change its bytes.
#: The rest (package version, git commit and dirty flag, whole-package source hash) say which
#: checkout ran, and go to the run record (:func:`run_record`), where no content identity depends on them.
CONTENT_CODE_KEYS: tuple[str, ...] = ("package", "render_code_hash", "numpy", "scipy")

#: File name of a store's run record (inside the store folder, beside its root ``zarr.json``).
RUN_RECORD_NAME = "run.json"


def content_code_version() -> dict[str, Any]:
    """The part of :func:`code_version` that decides a sample's bytes (:data:`CONTENT_CODE_KEYS`).

    Regenerating a shard from another commit whose rendering code is the same gives the same value,
    so the shard's attributes, and the manifest, come out byte-identical.
    """
    full = code_version()
    return {k: full[k] for k in CONTENT_CODE_KEYS}


def run_record(**fields: Any) -> dict[str, Any]:
    """The wall-clock record of one run: when, where, by which checkout; never part of any identity.

    Returns:
        ``{"host", "pid", "python", "code": code_version(), **fields}``; callers add ``created``,
        ``completed``, ``seconds``, the workers and the catalogue folder.
    """
    import os
    import platform
    import socket

    return {"host": socket.gethostname(), "pid": os.getpid(), "python": platform.python_version(),
            "machine": platform.machine(), "code": code_version(), **fields}


def _scipy_version() -> str:
    import scipy

    return scipy.__version__


def _is_off(key: str, value: Any) -> bool:
    """Whether the generator option ``dataset.<key>`` is switched off (so that it changes no pixel)."""
    if key == "linear_light":
        return value is False
    if key == "axial":
        return isinstance(value, Mapping) and value.get("enabled") is False
    if key == "photometric":
        noise = value.get("read_noise_std", {}) if isinstance(value, Mapping) else None
        return isinstance(noise, Mapping) and value.get("gain_flicker") == 0 and noise.get("min") == 0 and noise.get("max") == 0
    if key == "custom_parts":
        return not value
    return False


def without_options_off(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """``dataset`` without the generator options that are off (:data:`GENERATOR_OPTIONS`, ``motion.affine``).

    An option that is off draws nothing and changes no pixel, so leaving it out keeps the render
    config (and its hash) of a dataset the same as before the option existed: adding an option to the
    toolkit never makes existing datasets look like another configuration.
    """
    out = {k: v for k, v in dataset.items() if not (k in GENERATOR_OPTIONS and _is_off(k, v))}
    motion = out.get("motion")
    affine = motion.get("affine") if isinstance(motion, Mapping) else None
    if isinstance(motion, Mapping) and isinstance(affine, Mapping) and affine and all(v == 0 for v in affine.values()):
        out["motion"] = {k: v for k, v in motion.items() if k != "affine"}
    return out


def render_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that determines pixels (see :data:`RENDER_CONFIG_KEYS`).

    Layout keys (part sizes, shard size, stored fields) and generator options that are off are left out.
    """
    out = {k: config[k] for k in RENDER_CONFIG_KEYS if k in config}
    if isinstance(out.get("dataset"), Mapping):
        out["dataset"] = without_options_off({k: v for k, v in out["dataset"].items() if k not in LAYOUT_DATASET_KEYS})
    return out


def shard_job_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What decides a shard's bytes, and what a shard job reads, from a resolved config.

    Returns:
        ``(key, job)``: ``key`` is ``seed``, ``store`` and ``dataset`` without the part sizes and without
        the generator options that are off: the same for every config that renders a given shard (its own
        sample range aside), so a workflow may name the file the job reads by it; ``job`` is what the
        job reads: the render config keys, ``store`` and the whole ``dataset`` (part sizes included, which
        the shards record), options that are off left out (the job fills their defaults back in).
    """
    dataset = without_options_off(config["dataset"])
    key = {"seed": config["seed"], "store": config["store"],
           "dataset": {k: v for k, v in dataset.items() if k not in PART_SIZE_DATASET_KEYS}}
    job = {**{k: config[k] for k in (*RENDER_CONFIG_KEYS, "store")}, "dataset": dataset}
    return key, job


def render_config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of :func:`render_config`; equal for every shard of one dataset."""
    return config_hash(render_config(config))


def utc_now() -> str:
    """Current UTC time in ISO 8601 with seconds, e.g. ``2026-11-25T16:00:00Z``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def params_to_json(params: SampleParams) -> str:
    """Serialize one sample's parameters exactly (shortest float repr, sorted keys)."""
    return canonical_json(params.to_dict()).decode()


def params_from_json(text: str) -> SampleParams:
    """Inverse of :func:`params_to_json`.

    Raises:
        ValueError: the text is empty or not a parameter record (e.g. an imported sample).
    """
    if not text:
        raise ValueError("no rendering parameters recorded for this sample")
    return SampleParams.from_dict(json.loads(text))


def sample_digest(frame: np.ndarray) -> bytes:
    """sha256 digest (32 bytes) of one sample's array in C order (hashed in place, without a copy)."""
    arr = np.ascontiguousarray(frame)
    return hashlib.sha256(arr.reshape(-1).view(np.uint8).data if arr.size else b"").digest()


def fast_digest(frame: np.ndarray) -> bytes:
    """xxh3-128 digest (16 bytes) of one sample's array in C order, the bytes :func:`sample_digest` hashes.

    Not a cryptographic hash: it finds damaged or edited bytes on every verified read at memory speed
    (tens of GB/s against sha256's ~2 GB/s), while the audit keeps checking sha256.
    """
    arr = np.ascontiguousarray(frame)
    return xxhash.xxh3_128(arr.reshape(-1).view(np.uint8).data if arr.size else b"").digest()


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
        blob = canonical_json([str(v) for v in values.ravel()])
    else:
        blob = np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"), copy=False)).tobytes()
    return bytes_sha256(blob)

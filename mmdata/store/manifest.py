"""The dataset manifest: which shards exist, their ranges and checksums, and what produced them.

``ROOT/manifest.json``::

    {"format": 1, "created": ..., "manifest_hash": ...,
     "render_config_hash": ..., "catalogue_identity": ..., "image_shape": [H, W], "frame_fields": [...],
     "code_versions": [{...}, ...],
     "parts": {"1": {"name": "fg_bg", "expected": 20000, "count": 20000, "shards": 200, "missing": []}, ...},
     "shards": [{"path": "part1/shard-0000.zarr", "part": 1, "shard": 0, "start": 0, "count": 100,
                 "checksum": ..., "bytes": ...}, ...]}

``missing`` lists the shard numbers the config asks for that are absent. Shards of one root must agree
on the render config hash, the catalogue identity, the frame fields and the image shape.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from mmdata.errors import StoreError, StoreNotFound
from mmdata.fsutil import atomic_write_text
from mmdata.render.params import PART_NAMES, part_name
from mmdata.store.provenance import utc_now
from mmdata.store.layout import STORE_FORMAT
from mmdata.store.reader import MANIFEST_NAME, ShardReader, manifest_digest

__all__ = ["find_shards", "build_manifest", "write_manifest", "dir_bytes"]

log = logging.getLogger(__name__)

_PART_RE = re.compile(r"^part([1-5])$")
_SHARD_RE = re.compile(r"^shard-(\d{4,})\.zarr$")


def dir_bytes(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def find_shards(root: str | Path) -> list[tuple[int, int, Path]]:
    """Every complete-looking ``ROOT/part{P}/shard-{K}.zarr``, as (part, shard, path), sorted.

    Raises:
        StoreNotFound: the root does not exist.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: is a file, expected a dataset root folder")
    if not root.is_dir():
        raise StoreNotFound(f"{root}: dataset root not found")
    found = []
    for pdir in sorted(root.iterdir()):
        m = _PART_RE.match(pdir.name)
        if not (m and pdir.is_dir()):
            continue
        for sdir in pdir.iterdir():
            s = _SHARD_RE.match(sdir.name)
            if s:
                found.append((int(m.group(1)), int(s.group(1)), sdir))
    return sorted(found)


def _same(key: str, value: Any, first: dict[str, Any], path: Path) -> None:
    if key not in first:
        first[key] = (value, path)
    elif first[key][0] != value:
        raise StoreError(f"{path}: {key} {value!r} differs from {first[key][1]}'s {first[key][0]!r}; shards of different datasets share one root")


def build_manifest(root: str | Path) -> dict[str, Any]:
    """Scan a dataset root and describe it (see the module docstring).

    Raises:
        StoreNotFound: no root or no shard in it.
        StoreError: a shard is incomplete or foreign, shards disagree on config/catalogue/layout, or
            two shards overlap.
    """
    root = Path(root)
    found = find_shards(root)
    if not found:
        raise StoreNotFound(f"{root}: no shard stores (part*/shard-*.zarr) found")
    first: dict[str, Any] = {}
    shards, code_versions, parts = [], [], {}
    for part, shard, path in found:
        reader = ShardReader(path)
        a = reader.attrs
        _same("render_config_hash", a["render_config_hash"], first, path)
        _same("catalogue_identity", a["catalogue"]["identity"], first, path)
        _same("render_code_hash", (a.get("code_version") or {}).get("render_code_hash"), first, path)
        _same("frame_fields", list(reader.layout.frame_fields), first, path)
        _same("image_shape", list(reader.layout.image_shape), first, path)
        if int(a["part"]) != part or int(a["shard"]) != shard:
            raise StoreError(f"{path}: records part {a['part']} shard {a['shard']}, not what its path says")
        if a["code_version"] not in code_versions:
            code_versions.append(a["code_version"])
        shards.append(
            {
                "path": str(path.relative_to(root)),
                "part": part,
                "shard": shard,
                "start": int(a["start"]),
                "count": reader.count,
                "checksum": a["shard_checksum"],
                "attrs_sha256": a.get("attrs_sha256"),
                "bytes": dir_bytes(path),
            }
        )
        info = parts.setdefault(str(part), {"name": part_name(part), "expected": int(a.get("part_size", 0)), "count": 0, "shards": 0, "present": []})
        info["expected"] = max(info["expected"], int(a.get("part_size", 0)))  # a grown part: the newest size
        info["count"] += reader.count
        info["shards"] += 1
        info["present"].append((int(a["start"]), reader.count, shard, int(a.get("shard_size", reader.count))))
    for part, info in parts.items():
        info["missing"] = _missing(root, int(part), info.pop("present"), info["expected"])
    _add_absent_parts(parts, ShardReader(found[0][2], verify=False).attrs.get("config"))
    manifest = {
        "format": STORE_FORMAT,
        "created": utc_now(),
        **{k: v[0] for k, v in first.items()},
        "code_versions": code_versions,
        "parts": parts,
        "shards": shards,
    }
    manifest["manifest_hash"] = manifest_digest(manifest)
    return manifest


def _add_absent_parts(parts: dict[str, Any], config: dict[str, Any] | None) -> None:
    """Parts the config asks for but no shard of which exists: every shard of them is missing."""
    dataset = (config or {}).get("dataset", {})
    sizes, shard_size = dataset.get("parts", {}), int(dataset.get("shard_size", 0) or 0)
    for number, name in enumerate(PART_NAMES, start=1):
        n = int(sizes.get(name, 0))
        if str(number) not in parts and n > 0 and shard_size > 0:
            parts[str(number)] = {"name": name, "expected": n, "count": 0, "shards": 0, "missing": list(range(-(-n // shard_size)))}


def _missing(root: Path, part: int, present: list[tuple[int, int, int, int]], expected: int) -> list[int]:
    """Shard numbers absent from [0, expected); raises on overlapping shards."""
    present.sort()
    end = 0
    for start, count, shard, _ in present:
        if start < end:
            raise StoreError(f"{root}/part{part}: shard {shard} starts at {start}, inside the previous shard (ends at {end})")
        end = start + count
    if not present or expected <= 0:
        return []
    size = present[0][3]
    have = {shard for _, _, shard, _ in present}
    return [k for k in range(-(-expected // size)) if k not in have]


def write_manifest(root: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``ROOT/manifest.json`` atomically (temporary name, then rename)."""
    path = Path(root) / MANIFEST_NAME
    atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    log.info("%s: %d shards, %d samples", path, len(manifest["shards"]), sum(s["count"] for s in manifest["shards"]))
    return path

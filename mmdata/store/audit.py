"""Audit a dataset against its provenance, and explain where one sample came from.

:func:`audit_dataset` checks, for a dataset root:

* every shard the manifest lists (or the config asks for) exists and still has the indexed checksum;
* every shard's arrays match the checksums recorded when it was written;
* for K random samples (or all): the stored frame bytes match their recorded sha256, the recorded
  parameters equal a fresh draw from the sample's seed, and re-rendering from the recorded
  parameters reproduces every frame byte for byte.

Each problem names the part, shard, sample index and path. :func:`explain_sample` turns one sample's
recorded provenance into a readable account (sources via ``catalogue.describe``).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from mmdata.errors import MotionMagError, StoreError, StoreNotFound
from mmdata.render.params import part_name, part_number
from mmdata.store.provenance import bytes_checksum, combine_digests, params_from_json, render_code_hash, sample_digest
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec
from mmdata.store import ShardReader, find_shards, read_manifest
from mmdata.store.writer import shard_checksum

__all__ = ["AuditProblem", "AuditReport", "audit_dataset", "open_recorded_catalogue", "locate_sample", "explain_sample"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditProblem:
    """One finding: where (part, shard, index within the part, path) and what."""

    part: int | None
    shard: int | None
    index: int | None
    path: str
    what: str

    def __str__(self) -> str:
        where = []
        if self.part is not None:
            where.append(f"part {self.part} ({part_name(self.part)})")
        if self.shard is not None:
            where.append(f"shard {self.shard:04d}")
        if self.index is not None:
            where.append(f"index {self.index}")
        return f"{' '.join(where) or 'dataset'} [{self.path}]: {self.what}"


@dataclass
class AuditReport:
    """What an audit checked and found."""

    shards: int = 0
    samples_checked: int = 0
    samples_rendered: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # context that is not a failure by itself

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = (
            f"audit {'PASSED' if self.ok else 'FAILED'}: {self.shards} shards, {self.samples_checked} samples checked, "
            f"{self.samples_rendered} re-rendered, {len(self.problems)} problem(s)"
        )
        return "\n".join([head, *(f"  {p}" for p in self.problems), *(f"  note: {n}" for n in self.notes)])


def open_recorded_catalogue(reader: ShardReader, override: str | Path | None = None) -> Catalogue:
    """Open the catalogue a shard was rendered from (``override`` or its recorded path) and check it.

    Raises:
        StoreError: no catalogue given or recorded, or its identity differs from the recorded one.
        SourceError/SourceNotFound: the folder is not a catalogue.
    """
    from mmdata.sources import open_catalogue

    recorded = reader.attrs.get("catalogue", {})
    path = override or recorded.get("path")
    if not path:
        raise StoreError(f"{reader.path}: no catalogue path recorded; pass --catalogue DIR")
    cat = open_catalogue(path)
    if cat.identity != recorded.get("identity"):
        raise StoreError(f"{path}: catalogue identity {cat.identity[:12]} differs from the one {reader.path} was rendered from ({str(recorded.get('identity'))[:12]})")
    return cat


@functools.lru_cache(maxsize=8)
def _spec_from_json(config_json: str) -> DatasetSpec:
    import json

    return DatasetSpec.from_config(json.loads(config_json))


def _spec(reader: ShardReader) -> DatasetSpec:
    import json

    return _spec_from_json(json.dumps(reader.attrs["config"], sort_keys=True))


def _check_shard_arrays(reader: ShardReader, expected: str | None, report: AuditReport) -> None:
    """Recorded per-array checksums vs. the stored bytes (small arrays) and digests (frames)."""
    a, where = reader.attrs, dict(part=reader.part, shard=int(reader.attrs["shard"]), index=None, path=str(reader.path))
    if expected is not None and a.get("shard_checksum") != expected:
        report.problems.append(AuditProblem(**where, what="shard checksum differs from the manifest (changed since `mmdata index`)"))
    recorded = a.get("checksums", {})
    if shard_checksum(recorded) != a.get("shard_checksum"):
        report.problems.append(AuditProblem(**where, what="recorded array checksums do not match the recorded shard checksum"))
    digest = np.asarray(reader.array("digest")[:])
    actual = {f: combine_digests(row.tobytes() for row in digest[:, i]) for i, f in enumerate(reader.layout.frame_fields)}
    for name in recorded:
        if name not in actual:
            actual[name] = bytes_checksum(np.asarray(reader.array(name)[:]))
        if actual[name] != recorded[name]:
            report.problems.append(AuditProblem(**where, what=f"array {name!r} does not match its recorded checksum"))


def _check_sample(reader: ShardReader, offset: int, catalogue: Catalogue | None, report: AuditReport) -> None:
    """Digest and re-render check of one sample."""
    from mmdata.render.composite import render_sample
    from mmdata.render.sampling import sample_params

    data = reader.read(offset, offset + 1)
    index = int(data["index"][0])
    where = dict(part=reader.part, shard=int(reader.attrs["shard"]), index=index, path=f"{reader.path}[{offset}]")
    report.samples_checked += 1
    for i, name in enumerate(reader.layout.frame_fields):
        if sample_digest(data[name][0]) != data["digest"][0, i].tobytes():
            report.problems.append(AuditProblem(**where, what=f"{name}: stored bytes do not match the recorded sha256"))
    text = str(data["params_json"][0])
    if not text or catalogue is None:
        return
    params = params_from_json(text)
    spec = _spec(reader)
    if (params.part, params.index) != (reader.part, index):
        report.problems.append(AuditProblem(**where, what=f"recorded parameters are of part {params.part} index {params.index}"))
    if sample_params(spec, params.part, params.index, catalogue) != params:
        report.problems.append(AuditProblem(**where, what="recorded parameters differ from a fresh draw from the sample's seed"))
    frames = render_sample(params, catalogue, spec)
    report.samples_rendered += 1
    for name in reader.layout.frame_fields:
        stored, fresh = data[name][0], frames[name]
        if not np.array_equal(stored, fresh):
            diff = np.abs(stored.astype(np.int16) - fresh.astype(np.int16))
            report.problems.append(
                AuditProblem(**where, what=f"{name}: {int(np.count_nonzero(diff))} byte(s) differ from the re-render (max |diff| {int(diff.max())})")
            )


def _shard_list(root: Path, report: AuditReport) -> list[tuple[Path, str | None, int, int]]:
    """(path, manifest checksum, part, shard) of every shard to audit; missing ones become problems."""
    try:
        manifest = read_manifest(root)
    except StoreNotFound:
        log.warning("%s: no manifest; auditing the shards found on disk", root)
        return [(path, None, part, shard) for part, shard, path in find_shards(root)]
    out = []
    for entry in manifest.get("shards", []):
        out.append((root / entry["path"], entry["checksum"], int(entry["part"]), int(entry["shard"])))
    for part, info in manifest.get("parts", {}).items():
        for shard in info.get("missing", []):
            report.problems.append(AuditProblem(int(part), int(shard), None, str(root / f"part{part}"), "shard missing (the config asks for it)"))
    listed = {p.resolve() for p, *_ in out}
    for part, shard, path in find_shards(root):
        if path.resolve() not in listed:
            report.problems.append(AuditProblem(part, shard, None, str(path), "shard on disk is not in the manifest (re-run `mmdata index`)"))
    return out


def audit_dataset(
    root: str | Path,
    *,
    samples: int | None = None,
    catalogue: str | Path | None = None,
    rng: np.random.Generator,
    progress: bool = False,
) -> AuditReport:
    """Audit a dataset root (see the module docstring).

    Args:
        root: the dataset root.
        samples: how many random samples to re-render (None: all).
        catalogue: catalogue folder (default: the one each shard recorded).
        rng: draws the random samples.
        progress: show a tqdm progress bar.

    Returns:
        The :class:`AuditReport`; ``report.ok`` is False when anything is wrong.

    Raises:
        StoreNotFound: the root does not exist.
    """
    root = Path(root)
    report = AuditReport()
    readers: list[ShardReader] = []
    for path, expected, part, shard in _shard_list(root, report):
        try:
            reader = ShardReader(path)
        except MotionMagError as exc:
            report.problems.append(AuditProblem(part, shard, None, str(path), str(exc).removeprefix(f"{path}: ")))
            continue
        readers.append(reader)
        _check_shard_arrays(reader, expected, report)
        recorded = (reader.attrs.get("code_version") or {}).get("render_code_hash")
        note = f"shards were written by rendering code with hash {str(recorded)[:12]}, not the current {render_code_hash()[:12]}; re-render differences may come from code changes"
        if reader.attrs.get("origin") == "generate" and recorded != render_code_hash() and note not in report.notes:
            report.notes.append(note)
    report.shards = len(readers)
    pairs = [(r, o) for r in readers for o in range(r.count)]
    if samples is not None and samples < len(pairs):
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), size=samples, replace=False))]
    catalogues: dict[str, Catalogue | None] = {}
    for reader, offset in tqdm(pairs, desc="audit", unit="sample", disable=None if progress else True):
        key = str(reader.attrs.get("catalogue", {}).get("identity"))
        if key not in catalogues and reader.attrs.get("origin") == "generate":
            try:
                catalogues[key] = open_recorded_catalogue(reader, catalogue)
            except MotionMagError as exc:
                catalogues[key] = None
                report.problems.append(AuditProblem(reader.part, None, None, str(reader.path), f"cannot re-render: {exc}"))
        _check_sample(reader, offset, catalogues.get(key), report)
    return report


def locate_sample(root: str | Path, part: int | str, index: int) -> tuple[ShardReader, int]:
    """The shard holding sample ``index`` of ``part`` and the sample's offset in it.

    Raises:
        StoreNotFound: no shard of that part holds the index.
    """
    p = part_number(part)
    for q, _, path in find_shards(root):
        if q != p:
            continue
        reader = ShardReader(path)
        if reader.start <= index < reader.start + reader.count:
            return reader, index - reader.start
    raise StoreNotFound(f"{Path(root) / f'part{p}'}: no shard holds index {index} of part {p} ({part_name(p)})")


def _describe(catalogue: Catalogue | None, source_id: str) -> dict[str, Any]:
    if catalogue is None:
        return {"id": source_id}
    try:
        return dict(catalogue.describe(source_id))
    except MotionMagError as exc:
        return {"id": source_id, "error": str(exc)}


def _layer(catalogue: Catalogue | None, layer: Any, alpha: float) -> dict[str, Any]:
    d = layer.to_dict()
    dx, dy = layer.motion
    d["motion_px"] = float(np.hypot(dx, dy))
    d["magnified_motion_px"] = float(alpha * np.hypot(dx, dy))
    d["source"] = _describe(catalogue, layer.source_id)
    return d


def explain_sample(root: str | Path, part: int | str, index: int, catalogue: str | Path | None = None) -> dict[str, Any]:
    """The provenance of one sample in plain terms.

    Args:
        root: dataset root.
        part: part number or name.
        index: sample index within the part.
        catalogue: catalogue folder for source descriptions (default: the recorded one; without a
            usable catalogue, only ids are given).

    Returns:
        A JSON-able dict: part, index, shard path, seed, alpha, noise, blur, background and objects
        (ids, source descriptions, scale, position, motion, colour offset), code version, config hash,
        catalogue identity, creation time.

    Raises:
        StoreNotFound: no shard holds the sample.
        StoreError: the sample was imported and carries no rendering parameters.
    """
    reader, offset = locate_sample(root, part, index)
    text = reader.params_json(offset)
    if not text:
        raise StoreError(f"{reader.path}[{offset}]: sample {index} was imported ({reader.attrs.get('origin')}) and has no rendering parameters")
    params = params_from_json(text)
    try:
        cat: Catalogue | None = open_recorded_catalogue(reader, catalogue)
    except MotionMagError as exc:
        log.warning("source descriptions unavailable: %s", exc)
        cat = None
    a = reader.attrs
    return {
        "part": params.part,
        "part_name": part_name(params.part),
        "index": params.index,
        "shard": str(reader.path),
        "offset_in_shard": offset,
        "seed": list(params.seed),
        "alpha": params.alpha,
        "noise_std": params.noise_std,
        "background_blur": params.background_blur,
        "background": _layer(cat, params.background, params.alpha),
        "objects": [_layer(cat, o, params.alpha) for o in params.objects],
        "code_version": a.get("code_version"),
        "config_hash": a.get("config_hash"),
        "render_config_hash": a.get("render_config_hash"),
        "catalogue": a.get("catalogue"),
        "created": a.get("created"),
    }

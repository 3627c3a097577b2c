"""Audit a dataset against its provenance.

:func:`audit_dataset` checks, for a dataset root, always (sampled or not):

* the manifest: its hash is recomputed, every shard path lies inside the root, the part counts agree
  with its entries, and every shard it lists (or the config asks for) exists and is the one indexed
  (checksum, attribute hash, part and range); shards on disk that it does not list are problems;
* every shard: its attributes against the ``attrs_sha256`` recorded at write time, its small arrays
  against their recorded checksums, and the sha256 (and, where recorded, the xxh3-128) of **every
  frame of every sample** against the recorded digests (hashing is cheap);
* then, for K random samples (``--samples``, default all): the recorded parameters equal a fresh draw
  from the sample's seed, and re-rendering them reproduces every frame byte for byte.

Damaged data never raises: each problem is one line of the report, naming the part, shard, sample
index and path. A root without a complete shard fails. :func:`explain_sample` (re-exported from
:mod:`mmdata.store.explain`) turns one sample's recorded provenance into a readable account.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from mmdata.errors import ConfigError, IntegrityError, MotionMagError, StoreError, StoreNotFound
from mmdata.store.provenance import RENDER_CONFIG_KEYS, combine_digests, fast_digest, params_from_json, render_code_hash, sample_digest
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec
from mmdata.scene import part_number
from mmdata.store.layout import SampleRecord, shard_path
from mmdata.store.manifest import find_shards
from mmdata.store.reader import MANIFEST_NAME, ShardReader, ShardRef, read_manifest
from mmdata.store.layout import DIGEST_FIELDS, record_columns
from mmdata.store.audit_report import AuditProblem, AuditReport, read_shard_report
from mmdata.store.integrity import ATTRS_KEY, METADATA_KEY, check_attributes, check_metadata, check_small_arrays, chunk_file, read_checked
from mmdata.store.reader import check_shard_against_entry, dataset_fields, manifest_problems, shard_entry_path
from mmdata.store.writer import shard_checksum
from mmdata.store.explain import explain_sample, locate_sample, open_recorded_catalogue

__all__ = ["AuditProblem", "AuditReport", "audit_dataset", "audit_shard", "merge_shard_reports", "shard_seed", "open_recorded_catalogue", "locate_sample", "explain_sample"]

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _spec_from_json(config_json: str) -> DatasetSpec:
    """The dataset spec of a recorded config: only its pixel-relevant sections are read, so a shard
    stays auditable when a later version of the schema changes sections that cannot change pixels."""
    import json

    recorded = json.loads(config_json)
    return DatasetSpec.from_config({k: recorded[k] for k in RENDER_CONFIG_KEYS if k in recorded})


def _spec(reader: ShardReader) -> DatasetSpec:
    import json

    return _spec_from_json(json.dumps(reader.attrs["config"], sort_keys=True))


def _where(reader: ShardReader, index: int | None = None, path: str | None = None) -> dict[str, Any]:
    name = reader.attrs.get("part_name")
    return dict(part=reader.part, shard=_int(reader.attrs.get("shard")), index=index, path=path or str(reader.path),
                part_name=str(name) if name else None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _check_shard_records(reader: ShardReader, entry: ShardRef | None, manifest_path: Path, report: AuditReport) -> dict[str, np.ndarray] | None:
    """Attribute hash, manifest entry, recorded checksums and small arrays of one shard.

    Returns:
        The recorded frame digests, ``"digest"`` ``(N, F, 32)`` and (when the shard has them)
        ``"fast_digest"`` ``(N, F, 16)``, or None when they cannot be read (a problem is recorded).
    """
    a, where = reader.attrs, _where(reader)
    try:
        note = check_attributes(a, reader.where)
        if note and note.removeprefix(f"{reader.path}: ") not in " ".join(report.notes):
            report.add_note(f"{note.removeprefix(f'{reader.path}: ')} (e.g. {reader.path})")
    except IntegrityError as exc:
        report.problems.append(AuditProblem(**where, what=f"attributes do not match their recorded {ATTRS_KEY} (provenance edited after writing)"))
        log.debug("%s", exc)
    try:
        note = check_metadata(a, reader.where, reader.metadata_digests)
        if note:
            report.add_note(f"array metadata digests not recorded by this shard's writer (written before {METADATA_KEY} existed), e.g. {reader.path}")
    except MotionMagError as exc:
        report.problems.append(AuditProblem(**where, what=str(exc).split(": ", 1)[-1].removeprefix(f"{reader.where.label}: ")))
    if entry is not None:
        try:
            check_shard_against_entry(reader, entry, manifest_path)
        except IntegrityError as exc:
            report.problems.append(AuditProblem(**where, what=str(exc).removeprefix(f"{reader.path}: ")))
    recorded = a.get("checksums", {})
    if shard_checksum(recorded) != a.get("shard_checksum"):
        report.problems.append(AuditProblem(**where, what="recorded array checksums do not match the recorded shard checksum"))
    try:
        small = check_small_arrays(reader.group, reader.path, reader.where, recorded, reader.count, reader.layout.small_fields)
    except MotionMagError as exc:
        report.problems.append(AuditProblem(**where, what=str(exc)))
        return None
    digest = small["digest"]
    expected_index = reader.start + np.arange(reader.count)
    if not np.array_equal(small["index"], expected_index) or not np.all(small["part"] == reader.part):
        report.problems.append(AuditProblem(**where, what=f"stored part/index arrays do not match the recorded part {reader.part} start {reader.start}"))
    for f, name in enumerate(reader.layout.frame_fields):
        if name in recorded and combine_digests(row.tobytes() for row in digest[:, f]) != recorded[name]:
            report.problems.append(AuditProblem(**where, what=f"array {name!r} does not match its recorded checksum"))
    return {name: small[name] for name in DIGEST_FIELDS if name in small}


def _hash_frames(reader: ShardReader, digests: dict[str, np.ndarray], report: AuditReport, fast_only: bool = False) -> None:
    """Hash every frame of every sample of a shard against its recorded sha256 and fast digest (one problem per bad frame).

    ``fast_only``: check the recorded xxh3-128 digests only (where the shard has them), not the sha256.
    """
    digest, fast = digests["digest"], digests.get("fast_digest")
    fast_only = fast_only and fast is not None
    layout = reader.layout
    for f, name in enumerate(layout.frame_fields):
        try:
            arr = reader.array(name)
        except MotionMagError as exc:
            report.problems.append(AuditProblem(**_where(reader), what=str(exc)))
            continue
        for block in range(layout.n_blocks):
            lo, hi = layout.block_range(block)
            try:
                frames = list(read_checked(arr, reader.path, reader.where, lo, hi))  # the block decoded once
            except StoreError:  # read the block sample by sample to name each one that cannot be decoded
                frames = []
                for o in range(lo, hi):
                    try:
                        frames.append(read_checked(arr, reader.path, reader.where, o, o + 1)[0])
                    except StoreError as exc:
                        frames.append(None)
                        what = f"{name}: cannot be decoded ({str(exc).split(': cannot decode ', 1)[-1]})"
                        report.problems.append(AuditProblem(**_where(reader, reader.start + o, str(chunk_file(arr, reader.path, o))), what=what))
            for i, frame in enumerate(frames):
                o = lo + i
                if frame is None:
                    continue
                if fast_only and fast is not None:
                    if fast_digest(frame) != fast[o, f].tobytes():
                        report.problems.append(AuditProblem(**_where(reader, reader.start + o, f"{reader.path}[{o}]"),
                                                            what=f"{name}: stored bytes do not match the recorded xxh3-128 digest"))
                    continue
                if sample_digest(frame) != digest[o, f].tobytes():
                    path = chunk_file(arr, reader.path, o)
                    gone = "" if path.exists() else " (its chunk file is missing)"
                    report.problems.append(AuditProblem(**_where(reader, reader.start + o, f"{reader.path}[{o}]"), what=f"{name}: stored bytes do not match the recorded sha256{gone}"))
                elif fast is not None and fast_digest(frame) != fast[o, f].tobytes():
                    report.problems.append(AuditProblem(**_where(reader, reader.start + o, f"{reader.path}[{o}]"),
                                                        what=f"{name}: the recorded xxh3-128 digest does not match the bytes (their sha256 does)"))


def _check_render(reader: ShardReader, offset: int, catalogue: Catalogue, report: AuditReport) -> None:
    """Re-render one sample from its recorded parameters and compare every frame byte for byte."""
    from mmdata.render.composite import render_sample
    from mmdata.render.sampling import sample_params

    index = reader.start + offset
    where = _where(reader, index, f"{reader.path}[{offset}]")
    try:
        data = reader.read(offset, offset + 1, [*reader.layout.frame_fields, "params_json"])
    except MotionMagError:
        return  # already reported by the byte check
    text = str(data["params_json"][0])
    if not text:
        return
    params = params_from_json(text)
    spec = _spec(reader)
    if (params.part, params.index) != (reader.part, index):
        report.problems.append(AuditProblem(**where, what=f"recorded parameters are of part {params.part} index {params.index}"))
    if sample_params(spec, params.part, params.index, catalogue) != params:
        report.problems.append(AuditProblem(**where, what="recorded parameters differ from a fresh draw from the sample's seed"))
    _check_columns(reader, offset, params, where, report)
    frames = render_sample(params, catalogue, spec)
    report.samples_rendered += 1
    for name in reader.layout.frame_fields:
        stored, fresh = data[name][0], frames[name]
        if not np.array_equal(stored, fresh):
            diff = np.abs(stored.astype(np.int16) - fresh.astype(np.int16))
            report.problems.append(
                AuditProblem(**where, what=f"{name}: {int(np.count_nonzero(diff))} byte(s) differ from the re-render (max |diff| {int(diff.max())})")
            )


def _check_columns(reader: ShardReader, offset: int, params: Any, where: dict[str, Any], report: AuditReport) -> None:
    """The sample's stored parameter arrays (alpha, motion, ..., theta/alpha_x/alpha_y) are its recorded parameters'."""
    layout = reader.layout
    names = [n for n in layout.small_fields if n not in ("part", "index", "params_json")]
    stored = reader.read(offset, offset + 1, names)
    record = SampleRecord(part=params.part, index=params.index, frames={}, alpha=params.alpha, params=params)
    try:
        expected = record_columns([record], layout)
    except ValueError as exc:
        report.problems.append(AuditProblem(**where, what=f"stored arrays do not fit the recorded parameters ({exc})"))
        return
    differ = [n for n in names if not np.array_equal(stored[n], expected[n], equal_nan=stored[n].dtype.kind == "f")]
    if differ:
        report.problems.append(AuditProblem(**where, what=f"stored array(s) {', '.join(differ)} differ from the recorded parameters"))


def _manifest_shards(root: Path, manifest: dict[str, Any], report: AuditReport) -> list[tuple[Path, ShardRef | None, int | None, int | None]]:
    """The shards a manifest lists; its own problems (:func:`manifest_problems`), entries that leave the
    root or are malformed, and shards it lists as missing become problems."""
    manifest_path = root / MANIFEST_NAME
    for problem in manifest_problems(manifest, manifest_path):
        report.problems.append(AuditProblem(None, None, None, str(manifest_path), problem))
    entries = manifest.get("shards")
    if not isinstance(entries, list):
        return []
    out: list[tuple[Path, ShardRef | None, int | None, int | None]] = []
    seen: set[Path] = set()
    for entry in entries:
        part, shard = (_int(entry.get("part")), _int(entry.get("shard"))) if isinstance(entry, dict) else (None, None)
        try:
            path = shard_entry_path(root, entry, manifest_path)
            ref = ShardRef(path, int(entry["part"]), int(entry["shard"]), int(entry["start"]), int(entry["count"]), str(entry["checksum"]),
                           entry.get("attrs_sha256"), dataset_fields(manifest))
        except (MotionMagError, KeyError, TypeError, ValueError) as exc:
            report.problems.append(AuditProblem(part, shard, None, str(manifest_path), f"bad shard entry, not followed: {str(exc).removeprefix(f'{manifest_path}: ')}"))
            continue
        if path not in seen:  # a duplicated entry is a manifest problem already; audit the shard once
            seen.add(path)
            out.append((path, ref, part, shard))
    for key, info in (manifest.get("parts") or {}).items():
        name = str(info.get("name")) if isinstance(info, dict) and info.get("name") else None
        for shard in (info.get("missing", []) if isinstance(info, dict) else []):
            report.problems.append(AuditProblem(_int(key), _int(shard), None, str(root / f"part{key}"), "shard missing (the config asks for it)", name))
    return out


def _shard_list(root: Path, report: AuditReport) -> tuple[list[tuple[Path, ShardRef | None, int | None, int | None]], Path]:
    """(path, manifest entry, part, shard) of every shard to audit; a missing manifest or shard is a problem.

    Without a readable manifest the shards found on disk are still audited (so that the report says
    what else is wrong), but the audit fails: a dataset is what its manifest indexes.
    """
    manifest_path = root / MANIFEST_NAME
    on_disk = find_shards(root)
    partial = sorted(p for p in root.glob("part*/.shard-*.zarr.partial"))
    if partial:
        report.add_note(f"{len(partial)} partial shard(s) whose writer did not finish, e.g. {partial[0]}")
    try:
        manifest = read_manifest(root)
    except StoreError as exc:
        what = (f"no manifest: the dataset is not indexed (run `mmdata index --root {root}`)" if isinstance(exc, StoreNotFound)
                else str(exc).removeprefix(f"{manifest_path}: "))
        report.problems.append(AuditProblem(None, None, None, str(manifest_path), what))
        return [(path, None, part, shard) for part, shard, path in on_disk], manifest_path
    out = _manifest_shards(root, manifest, report)
    listed = {p for p, *_ in out}
    for part, shard, path in on_disk:
        if path.resolve() not in listed:
            report.problems.append(AuditProblem(part, shard, None, str(path), "shard on disk is not in the manifest (re-run `mmdata index --root ROOT`)"))
    return out, manifest_path


def _open(path: Path, part: int | None, shard: int | None, report: AuditReport) -> ShardReader | None:
    try:
        return ShardReader(path, verify=False)
    except MotionMagError as exc:
        report.problems.append(AuditProblem(part, shard, None, str(path), str(exc).removeprefix(f"{path}: ")))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        report.problems.append(AuditProblem(part, shard, None, str(path), f"cannot be opened as a shard store ({type(exc).__name__}: {exc})"))
    return None


def _check_bytes(reader: ShardReader, entry: ShardRef | None, manifest_path: Path, report: AuditReport, fast: bool) -> None:
    """Every record and every frame of one shard (see the module docstring)."""
    digests = _check_shard_records(reader, entry, manifest_path, report)
    if digests is not None:
        _hash_frames(reader, digests, report, fast_only=fast)
    report.samples_checked += reader.count
    report.shards += 1
    recorded = (reader.attrs.get("code_version") or {}).get("render_code_hash")
    if reader.attrs.get("origin") == "generate" and recorded != render_code_hash():
        report.add_note(f"shards were written by rendering code with hash {str(recorded)[:12]}, not the current "
                        f"{render_code_hash()[:12]}; re-render differences may come from code changes")


def audit_dataset(
    root: str | Path,
    *,
    samples: int | None = None,
    catalogue: str | Path | None = None,
    rng: np.random.Generator,
    progress: bool = False,
    fast: bool = False,
) -> AuditReport:
    """Audit a dataset root (see the module docstring).

    Every audit hashes every frame of every shard and checks every recorded hash; ``samples`` only
    limits how many samples are re-rendered. Damaged data never raises: each finding is a line of the
    report. A root without a manifest or without any complete shard fails.

    Args:
        root: the dataset root.
        samples: how many random samples to re-render (None: all; 0: none).
        catalogue: catalogue folder (default: the one each shard recorded).
        rng: draws the random samples.
        progress: show a tqdm progress bar.
        fast: check every frame against its recorded xxh3-128 digest only, not its sha256 as well.

    Returns:
        The :class:`AuditReport`; ``report.ok`` is False when anything is wrong.

    Raises:
        StoreNotFound: the root does not exist.
        ConfigError: ``samples`` is negative.
    """
    root = Path(root)
    if samples is not None and samples < 0:
        raise ConfigError(f"samples: expected a count >= 0, got {samples}")
    report = AuditReport(mode="fast" if fast else "full")
    readers: list[ShardReader] = []
    shard_list, manifest_path = _shard_list(root, report)
    for path, entry, part, shard in tqdm(shard_list, desc="audit bytes", unit="shard", disable=None if progress else True):
        reader = _open(path, part, shard, report)
        if reader is not None:
            readers.append(reader)
            _check_bytes(reader, entry, manifest_path, report, fast)
    if not readers:
        report.problems.append(AuditProblem(None, None, None, str(root), "no complete shard store to audit (empty or interrupted root)"))
    _rerender(readers, samples, catalogue, rng, report, progress)
    return report


def shard_seed(seed: int, part: int, shard: int) -> np.random.Generator:
    """The generator that picks the samples a shard's audit re-renders: the same for the same shard."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(part), int(shard)]))


def audit_shard(
    root: str | Path,
    part: int | str,
    shard: int,
    *,
    samples: int | None = None,
    catalogue: str | Path | None = None,
    seed: int = 0,
    fast: bool = False,
    progress: bool = False,
) -> tuple[AuditReport, dict[str, Any] | None]:
    """Audit one indexed shard: what :func:`audit_dataset` checks of it, against its manifest entry.

    The samples re-rendered are drawn by :func:`shard_seed`, so auditing the same shard again writes the
    same report. The checks of the dataset as a whole are :func:`merge_shard_reports`'.

    Returns:
        (report, the manifest entry audited, or None when the manifest does not list the shard).

    Raises:
        StoreNotFound: the root or the manifest does not exist.
        StoreError: the manifest cannot be read.
        ConfigError: ``samples`` is negative, or an unknown part.
    """
    root = Path(root)
    if samples is not None and samples < 0:
        raise ConfigError(f"samples: expected a count >= 0, got {samples}")
    manifest = read_manifest(root)
    manifest_path = root / MANIFEST_NAME
    number = part_number_of(part, manifest)
    report = AuditReport(mode="fast" if fast else "full")
    entries = [e for e in (manifest.get("shards") or []) if isinstance(e, dict) and _int(e.get("part")) == number and _int(e.get("shard")) == int(shard)]
    path = shard_path(root, number, int(shard))
    if len(entries) != 1:
        what = "not in the manifest" if not entries else "listed more than once in the manifest"
        report.problems.append(AuditProblem(number, int(shard), None, str(path), f"shard {what} ({manifest_path})"))
        return report, None
    entry = entries[0]
    try:
        ref = ShardRef(shard_entry_path(root, entry, manifest_path), number, int(shard), int(entry["start"]), int(entry["count"]),
                       str(entry["checksum"]), entry.get("attrs_sha256"), dataset_fields(manifest))
    except (MotionMagError, KeyError, TypeError, ValueError) as exc:
        report.problems.append(AuditProblem(number, int(shard), None, str(manifest_path), f"bad shard entry, not followed: {exc}"))
        return report, entry
    reader = _open(ref.path, number, int(shard), report)
    if reader is not None:
        _check_bytes(reader, ref, manifest_path, report, fast)
        _rerender([reader], samples, catalogue, shard_seed(seed, number, int(shard)), report, progress)
    return report, entry


def part_number_of(part: int | str, manifest: dict[str, Any]) -> int:
    """A part's number by number or name, custom parts of an indexed dataset included."""
    from mmdata.store.reader import _custom_parts

    return part_number(part, _custom_parts(manifest))


def merge_shard_reports(root: str | Path, reports: list[str | Path]) -> AuditReport:
    """The dataset's audit from its shards' reports (``audit_shard``) and the checks of the whole.

    The manifest is checked by itself; shards on disk that it does not list, and shards it lists as
    missing, are problems; every shard it lists must have exactly one report, written for the same
    manifest entry (checksum and attribute hash), so a report of an earlier version of a shard is refused.

    Raises:
        StoreNotFound: the root does not exist.
        StoreError: a report cannot be read.
    """
    root = Path(root)
    report = AuditReport()
    shard_list, _ = _shard_list(root, report)
    by_key: dict[tuple[int | None, int | None], tuple[AuditReport, dict[str, Any], Path]] = {}
    for path in reports:
        shard_report, entry = read_shard_report(path)
        key = (_int((entry or {}).get("part")), _int((entry or {}).get("shard")))
        if entry is None:
            report.merge(shard_report)  # a shard the manifest did not list: its report says so
            continue
        if key in by_key:
            report.problems.append(AuditProblem(key[0], key[1], None, str(path), f"a second report of this shard (first: {by_key[key][2]})"))
            continue
        by_key[key] = (shard_report, entry, Path(path))
    for path, ref, part, shard in shard_list:
        if ref is None:
            continue
        found = by_key.pop((ref.part, ref.shard), None)
        if found is None:
            report.problems.append(AuditProblem(ref.part, ref.shard, None, str(path), "no audit report for this shard"))
            continue
        shard_report, entry, report_path = found
        if (entry.get("checksum"), entry.get("attrs_sha256"), entry.get("start"), entry.get("count")) != (ref.checksum, ref.attrs_sha256, ref.start, ref.count):
            report.problems.append(AuditProblem(ref.part, ref.shard, None, str(report_path), "the report audited another version of this shard than the manifest indexes"))
            continue
        report.merge(shard_report)
    for (part, shard), (_, _, report_path) in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        report.problems.append(AuditProblem(part, shard, None, str(report_path), "report of a shard the manifest does not list"))
    if report.shards == 0 and report.ok:
        report.problems.append(AuditProblem(None, None, None, str(root), "no shard audited"))
    return report


def _rerender(readers: list[ShardReader], samples: int | None, catalogue: str | Path | None, rng: np.random.Generator,
              report: AuditReport, progress: bool) -> None:
    pairs = [(r, o) for r in readers if r.attrs.get("origin") == "generate" for o in range(r.count)]
    if samples is not None and samples < len(pairs):
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), size=samples, replace=False))]
    catalogues: dict[str, Catalogue | None] = {}
    for reader, offset in tqdm(pairs, desc="audit re-render", unit="sample", disable=None if progress else True):
        key = str(reader.attrs.get("catalogue", {}).get("identity"))
        if key not in catalogues:
            try:
                catalogues[key] = open_recorded_catalogue(reader, catalogue)
            except MotionMagError as exc:
                catalogues[key] = None
                report.problems.append(AuditProblem(reader.part, None, None, str(reader.path), f"cannot re-render: {exc}"))
        recorded = catalogues[key]
        if recorded is not None:
            try:
                _check_render(reader, offset, recorded, report)
            except (MotionMagError, KeyError, TypeError, ValueError) as exc:
                report.problems.append(AuditProblem(**_where(reader, reader.start + offset), what=f"cannot re-render: {exc}"))

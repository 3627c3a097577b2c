"""Reading shard stores: one shard (:class:`ShardReader`) or a whole indexed dataset (:class:`Dataset`).

Training reads contiguous runs inside one shard with plain slicing (:meth:`Dataset.read_run`);
analysis uses the lazy Dask arrays of :attr:`Dataset.fields`, which concatenate the same field of
every chosen shard in manifest order (part, then index).
"""

from __future__ import annotations

import functools
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import zarr

from mmdata.errors import IntegrityError, StoreError, StoreNotFound
from mmdata.identity import json_sha256
from mmdata.scene import PART_NAMES, part_number
from mmdata.store.integrity import METADATA_KEY, Where, check_attributes, check_metadata, check_small_arrays, check_store_files, open_array, read_checked, read_limited, verify_frames
from mmdata.store.layout import DIGEST_FIELDS, ShardLayout
from mmdata.store.sample import Sample, samples_of_run, split_runs
from mmdata.store.writer import read_marker

__all__ = [
    "ShardReader",
    "ShardRef",
    "Dataset",
    "open_dataset",
    "dataset_from_manifest",
    "open_shard",
    "MANIFEST_NAME",
    "read_manifest",
    "manifest_digest",
    "check_manifest_hash",
    "check_manifest",
    "manifest_problems",
    "check_shard_against_entry",
    "shard_entry_path",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"


def open_shard(path: str | Path, *, verify: bool = True) -> "ShardReader":
    """Open a complete shard store for reading (see :class:`ShardReader`).

    Raises:
        StoreNotFound: the path does not exist.
        StoreError: it is not a complete shard store written by mmdata.
        IntegrityError: (``verify``) its attributes or small arrays differ from their recorded hashes.
    """
    return ShardReader(Path(path), verify=verify)


class ShardReader:
    """Read access to one complete shard store.

    Args:
        path: ``ROOT/part{P}/shard-{K:04d}.zarr``.
        verify: check the attributes and the small arrays against their recorded hashes now, and every
            frame read by :meth:`read` against its recorded xxh3-128 digest (the sha256 in shards written
            before fast digests existed; see :mod:`mmdata.store.integrity`).
            ``verify=False`` reads whatever is on disk; only for people who know why.

    Raises:
        StoreNotFound: the path does not exist.
        StoreError: it is not a complete shard store written by mmdata, or a small array cannot be decoded.
        IntegrityError: (``verify``) its attributes or small arrays differ from their recorded hashes.
    """

    def __init__(self, path: Path, *, verify: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise StoreNotFound(f"{self.path}: shard store not found")
        files = check_store_files(self.path)  # no FIFO, device, link or oversized file is ever read (verified or not)
        self.metadata_digests: dict[str, str] = files.digests  # sha256 of each array's zarr.json, as read
        attrs = read_marker(self.path)
        if attrs is None:
            raise StoreError(f"{self.path}: not a shard store written by mmdata")
        if not attrs.get("complete"):
            raise StoreError(f"{self.path}: shard store is incomplete (its writer did not finish)")
        self.attrs: dict[str, Any] = attrs
        self.where = Where(self.path, attrs)
        if verify:  # an edited attribute is named as such before anything is taken from the attributes
            attrs_note = check_attributes(attrs, self.where)
        self.layout = _layout(self.path, attrs, files.metadata)
        self._group: zarr.Group | None = None
        self._arrays: dict[str, zarr.Array] = {}  # opened once, reused by every read
        self._fields: list[str] | None = None
        self.verify = verify
        self._digest: np.ndarray | None = None
        self._fast: np.ndarray | None = None
        self.note: str | None = None  # why a check could not be made (e.g. an old shard's missing record)
        if verify:
            notes = [attrs_note, check_metadata(attrs, self.where, self.metadata_digests)]
            self.note = "; ".join(n for n in notes if n) or None
            small = check_small_arrays(self.group, self.path, self.where, attrs.get("checksums", {}), self.count, self.layout.small_fields)
            self._digest = small["digest"]
            self._fast = small.get("fast_digest")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_group": None, "_arrays": {}}

    @property
    def group(self) -> zarr.Group:
        if self._group is None:
            try:
                self._group = zarr.open_group(str(self.path), mode="r")
            except Exception as exc:  # zarr's own errors on a malformed zarr.json
                raise StoreError(f"{self.path}: cannot be opened as a zarr group ({type(exc).__name__}: {str(exc)[:200]})") from exc
        return self._group

    @property
    def count(self) -> int:
        return self.layout.count

    @property
    def part(self) -> int:
        return int(self.attrs["part"])

    @property
    def start(self) -> int:
        return int(self.attrs["start"])

    @property
    def fields(self) -> list[str]:
        """Names of the per-sample arrays (frames first): those the shard's writer recorded (in
        ``array_metadata``; every array of shards written before it), never an array added later."""
        if self._fields is None:
            with warnings.catch_warnings():
                # files that are not zarr nodes (e.g. the .snakemake_timestamp a workflow writes
                # into a directory output) are not fields; zarr warns about each of them
                warnings.filterwarnings("ignore", message="Object at .* is not recognized", category=UserWarning)
                try:
                    present = set(self.group.array_keys()) - {"blocks_done"}
                except Exception as exc:  # zarr's own errors on a malformed array zarr.json
                    raise StoreError(f"{self.path}: cannot list its arrays ({type(exc).__name__}: {str(exc)[:200]})") from exc
            recorded = self.attrs.get(METADATA_KEY)
            if isinstance(recorded, dict):
                present &= set(recorded)
            order = [*self.layout.frame_fields, *self.layout.small_fields, *DIGEST_FIELDS]
            self._fields = [k for k in order if k in present] + sorted(present - set(order))
        return list(self._fields)

    def array(self, name: str) -> zarr.Array:
        """One zarr array of the store.

        Raises:
            StoreError: no such field in this store.
        """
        if name not in self._arrays:
            if name not in self.fields:
                raise StoreError(f"{self.path}: no field {name!r}; the store has {', '.join(self.fields)}")
            arr = open_array(self.group, name, self.path, self.where)
            if arr is None:
                raise StoreError(f"{self.path}: no field {name!r}; the store has {', '.join(self.fields)}")
            self._arrays[name] = arr
        return self._arrays[name]

    def read(self, start: int, stop: int, fields: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Read samples [start, stop) (offsets within the shard) of some or all fields.

        Raises:
            StoreError: a field is missing, the range is outside the shard, or a chunk cannot be decoded
                (the sample and the file are named).
            IntegrityError: (``verify``) a frame differs from its recorded digest.
        """
        if not 0 <= start <= stop <= self.count:
            raise StoreError(f"{self.path}: run [{start}, {stop}) outside the shard's {self.count} samples")
        names = list(fields) if fields is not None else self.fields
        out = {name: read_checked(self.array(name), self.path, self.where, start, stop) for name in names}
        if self.verify:
            # the fast digest where the shard has one, else (older shards) the sha256
            kind, digests = ("fast_digest", self._fast) if self._fast is not None else ("digest", self.digests())
            for name in names:
                if name in self.layout.frame_fields:
                    f = self.layout.frame_fields.index(name)
                    verify_frames(name, out[name], digests[start:stop, f], self.array(name), self.path, self.where, start, kind)
        return out

    def digests(self) -> np.ndarray:
        """The recorded sha256 of every frame, ``(N, F, 32)`` uint8 (read once)."""
        if self._digest is None:
            self._digest = read_checked(self.array("digest"), self.path, self.where, 0, self.count)
        return self._digest

    def params_json(self, offset: int) -> str:
        """The recorded SampleParams JSON of one sample ("" for imported samples)."""
        return str(self.array("params_json")[offset])


def _layout(path: Path, attrs: dict[str, Any], arrays: dict[str, dict[str, Any]]) -> ShardLayout:
    """The shard's layout from its attributes, checked to be usable and to fit its arrays.

    Raises:
        StoreError: the attributes lack a valid layout, part or start, ``checksums`` is not a mapping,
            or an array holds another number of samples than the layout counts.
    """
    try:
        layout = ShardLayout.from_dict(attrs["identity"]["layout"])
        int(attrs["part"]), int(attrs["start"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise StoreError(f"{path}: shard attributes lack a valid layout, part or start ({type(exc).__name__}: {exc})") from exc
    if layout.count < 0 or layout.block < 1 or min(layout.image_shape) < 1 or not layout.frame_fields:
        raise StoreError(f"{path}: shard attributes declare an impossible layout ({layout.count} samples in blocks of {layout.block}, "
                         f"{layout.image_shape} px, frames {list(layout.frame_fields)})")
    if not isinstance(attrs.get("checksums", {}), dict):
        raise StoreError(f"{path}: shard attribute 'checksums' is not a mapping")
    for name, meta in sorted(arrays.items()):
        shape = meta.get("shape")
        held = shape[0] if isinstance(shape, list) and shape else None
        if name != "blocks_done" and held != layout.count:
            raise StoreError(f"{path / name}: array holds {held} samples, the shard's layout counts {layout.count}")
    return layout


@dataclass(frozen=True)
class ShardRef:
    """One shard of an indexed dataset, as the manifest lists it."""

    path: Path  # absolute path of the store
    part: int  # part number (1-5, or a custom part's)
    shard: int  # shard number within the part
    start: int  # index (within the part) of the shard's first sample
    count: int  # samples in the shard
    checksum: str  # shard checksum recorded at indexing time
    attrs_sha256: str | None = None  # the shard's attribute hash at indexing time (None: not indexed)
    dataset: tuple[tuple[str, Any], ...] = ()  # what the manifest says every shard shares (dataset_fields)


#: Largest manifest read (a paper-size dataset's is well under 1 MB).
MANIFEST_MAX = 64 << 20


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Load ``ROOT/manifest.json`` (a regular file of at most :data:`MANIFEST_MAX` bytes).

    Raises:
        StoreNotFound: the manifest does not exist (run ``mmdata index --root ROOT``).
        StoreError: it is not a regular file, too large, or not a JSON object.
    """
    path = Path(root) / MANIFEST_NAME
    try:
        raw = read_limited(path, MANIFEST_MAX, "the dataset manifest")
    except StoreNotFound:
        raise StoreNotFound(f"{path}: dataset manifest not found; run `mmdata index --root {root}` first") from None
    try:
        manifest = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise StoreError(f"{path}: expected a JSON object, found {type(manifest).__name__}")
    return manifest


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's content, without its creation time and its own hash."""
    body = {k: v for k, v in manifest.items() if k not in ("created", "manifest_hash")}
    return json_sha256(body)


class Dataset:
    """A lazy view over the shards of chosen parts of an indexed dataset (see :func:`open_dataset`).

    A map-style collection: ``len(ds)`` samples in manifest order (part, then index); ``ds[i]`` is one
    :class:`~mmdata.store.sample.Sample` (every field, frames as ``(H, W, 3)`` uint8) with its
    :class:`~mmdata.store.sample.Provenance`; negative ``i`` counts from the end; ``ds[a:b]`` is a list of
    samples; ``for sample in ds`` reads contiguous runs. Reads of a verified view check every frame
    against its recorded digest. Training reads runs with :meth:`read_run`; analysis uses :attr:`fields`.

    Example (``root`` is a dataset folder indexed by ``mmdata index --root ROOT``):
        >>> from mmdata import open_dataset
        >>> ds = open_dataset(root)
        >>> len(ds) == sum(ref.count for ref in ds.shards)
        True
        >>> sample = ds[0]
        >>> sample["frame_a"].dtype, sample["frame_a"].shape[2]
        (dtype('uint8'), 3)
        >>> sample.provenance.part_name, sample.provenance.index, sample.provenance.offset
        ('fg_bg', 0, 0)
        >>> ds[-1].provenance.position == len(ds) - 1
        True
        >>> sorted(sample.provenance.summary())[:4]
        ['alpha', 'background', 'background_blur', 'index']
        >>> [s.provenance.index for s in ds[1:3]]
        [1, 2]
        >>> run = ds.read_run(ds.shards[0], 0, 2, ["alpha"])  # a ShardRef or its position in ds.shards
        >>> run["alpha"].shape
        (2,)
        >>> sum(1 for _ in ds) == len(ds)
        True
    """

    def __init__(self, root: Path, manifest: dict[str, Any], shards: Sequence[ShardRef], *, verify: bool = True) -> None:
        self.root = root
        self.manifest = manifest
        self.manifest_hash: str = manifest_digest(manifest)  # recomputed, never trusted
        self.shards: list[ShardRef] = list(shards)
        self.verify = verify
        self._readers: dict[int, ShardReader] = {}
        offsets = np.cumsum([0] + [s.count for s in self.shards])
        self._offsets = offsets

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_readers"] = {}
        state.pop("fields", None)  # cached Dask arrays are rebuilt on demand
        return state

    def shard_index(self, shard: int | ShardRef) -> int:
        """Position in :attr:`shards` of a shard given by position or by its :class:`ShardRef`.

        Raises:
            IndexError: a position outside ``[-len(shards), len(shards))``.
            StoreError: a ShardRef that is not one of this view's shards.
            TypeError: anything else.
        """
        if isinstance(shard, ShardRef):
            try:
                return self.shards.index(shard)
            except ValueError:
                raise StoreError(f"{shard.path}: not a shard of this view of {self.root}") from None
        if isinstance(shard, bool) or not isinstance(shard, (int, np.integer)):
            raise TypeError(f"a shard is given by its position in Dataset.shards (int) or its ShardRef, not {type(shard).__name__}")
        n = len(self.shards)
        if not -n <= shard < n:
            raise IndexError(f"shard {shard} outside the view's {n} shards")
        return int(shard) % n

    def reader(self, shard: int | ShardRef) -> ShardReader:
        """The (cached) reader of one shard of this view, given by position in :attr:`shards` or :class:`ShardRef`."""
        s = self.shard_index(shard)
        if s not in self._readers:
            self._readers[s] = ShardReader(self.shards[s].path, verify=self.verify)
        return self._readers[s]

    def locate(self, i: int) -> tuple[int, int]:
        """(shard index, offset within it) of sample ``i`` of this view."""
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} outside the dataset's {len(self)} samples")
        s = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return s, int(i - self._offsets[s])

    def read_run(self, shard: int | ShardRef, start: int, stop: int, fields: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Read samples [start, stop) of one shard (offsets within the shard) with plain slicing.

        Args:
            shard: position in :attr:`shards`, or one of its :class:`ShardRef` entries.
            start, stop: the run, ``0 <= start <= stop <= count`` of that shard.
            fields: names to read (default all).

        Returns:
            field name -> array with ``stop - start`` samples.

        Raises:
            StoreNotFound: the shard vanished.  StoreError: a field is missing or the run is out of range.
            IntegrityError: (verified view) a frame differs from its recorded digest.
        """
        return self.reader(shard).read(start, stop, fields)

    def __getitem__(self, key: int | slice) -> Sample | list[Sample]:
        """Sample ``key`` (negative counts from the end), or a list of samples for a slice.

        Raises:
            IndexError: an int outside ``[-len(ds), len(ds))``.
            TypeError: a key that is neither an int nor a slice.
        """
        if isinstance(key, slice):
            return self._samples(range(len(self))[key])
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"a Dataset is indexed by an int or a slice, not {type(key).__name__}; "
                            "for one shard's samples use ds.read_run(shard, start, stop)")
        n = len(self)
        if not -n <= key < n:
            raise IndexError(f"sample {key} outside the dataset's {n} samples")
        return self._samples([int(key) % n])[0]

    def __iter__(self) -> Iterator[Sample]:
        """Every sample in order, read one zarr shard (the store's block of samples) at a time."""
        for s, ref in enumerate(self.shards):
            block = self.reader(s).layout.block
            for start in range(0, ref.count, block):
                stop = min(start + block, ref.count)
                yield from self._run_samples(s, start, stop, int(self._offsets[s]) + start)

    def _samples(self, positions: Sequence[int]) -> list[Sample]:
        """The samples at some positions of the view, reading contiguous stretches with one slice each."""
        out: list[Sample | None] = [None] * len(positions)
        for s, start, stop, members in split_runs([self.locate(i) for i in positions]):
            for k, sample in zip(members, self._run_samples(s, start, stop, positions[members[0]])):
                out[k] = sample
        return [x for x in out if x is not None]

    def _run_samples(self, s: int, start: int, stop: int, first_position: int) -> list[Sample]:
        ref = self.shards[s]
        reader = self.reader(s)
        return samples_of_run(reader.read(start, stop), first_position=first_position, part_name=self._part_name(ref.part),
                              shard=ref.path, shard_number=ref.shard, start=start, verified=reader.verify)

    def _part_name(self, part: int) -> str:
        info = (self.manifest.get("parts") or {}).get(str(part))
        if isinstance(info, dict) and info.get("name"):
            return str(info["name"])
        return PART_NAMES[part - 1] if 1 <= part <= len(PART_NAMES) else f"part{part}"

    @functools.cached_property
    def fields(self) -> dict[str, Any]:
        """Field name -> lazy Dask array over every shard of the view (fields all shards share)."""
        import dask.array as da  # imported here: writers and plain readers do not need it

        if not self.shards:
            return {}
        readers = [self.reader(i) for i in range(len(self.shards))]
        names = [n for n in readers[0].fields if all(n in r.fields for r in readers[1:])]
        out: dict[str, Any] = {}
        for name in names:
            parts = []
            for r in readers:
                arr = r.array(name)
                chunks = (arr.shards or arr.chunks) if arr.ndim == 4 else arr.chunks
                parts.append(da.from_array(arr, chunks=chunks, name=f"{r.path}:{name}", asarray=True))
            shapes = {p.shape[1:] for p in parts}
            if len(shapes) > 1:
                raise StoreError(f"{self.root}: field {name!r} has different per-sample shapes across shards: {sorted(shapes)}")
            out[name] = da.concatenate(parts, axis=0)
        return out


def shard_entry_path(root: Path, entry: Any, manifest_path: Path) -> Path:
    """The store a manifest entry names, resolved; it must be a relative path inside ``root``.

    Raises:
        StoreError: the entry is malformed, absolute, or resolves outside the root (``..``, a link).
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        raise StoreError(f"{manifest_path}: shard entry {entry!r} has no path")
    rel = entry["path"]
    path = (root / rel).resolve()
    if Path(rel).is_absolute() or not path.is_relative_to(root.resolve()):
        raise StoreError(f"{manifest_path}: shard path {rel!r} is outside the dataset root {root}; expected part{{P}}/shard-{{K}}.zarr")
    return path


def _ref(root: Path, entry: dict[str, Any], manifest_path: Path, manifest: Mapping[str, Any]) -> ShardRef:
    path = shard_entry_path(root, entry, manifest_path)
    if not path.exists():
        raise StoreNotFound(f"{path}: shard listed in {manifest_path} is missing")
    try:
        return ShardRef(path, int(entry["part"]), int(entry["shard"]), int(entry["start"]), int(entry["count"]), str(entry["checksum"]),
                        entry.get("attrs_sha256"), dataset_fields(manifest))
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{manifest_path}: shard entry {entry.get('path')!r} lacks a valid part/shard/start/count/checksum ({exc})") from exc


def check_manifest_hash(manifest: dict[str, Any], manifest_path: Path) -> None:
    """Recompute the manifest's hash, which must be recorded.

    Raises:
        IntegrityError: no ``manifest_hash``, or it differs from the content (the manifest was edited).
    """
    recorded = manifest.get("manifest_hash")
    if recorded is None:
        raise IntegrityError(f"{manifest_path}: no manifest_hash (removed, or not written by `mmdata index`); "
                             f"re-run `mmdata index --root {manifest_path.parent}`")
    if recorded != manifest_digest(manifest):
        raise IntegrityError(f"{manifest_path}: content does not match its manifest_hash (edited after `mmdata index`); re-run `mmdata index --root {manifest_path.parent}`")


def manifest_problems(manifest: dict[str, Any], manifest_path: Path) -> list[str]:
    """What is wrong with a manifest by itself, one sentence each (empty when nothing is).

    The hash must be recorded and match; every shard entry is well formed, at its layout path
    ``part{P}/shard-{K:04d}.zarr``, listed once and in (part, shard) order (the order `mmdata index`
    writes, which numbers the samples of a :class:`Dataset`); each part's count and shard count are the sums of
    its entries; within a part, consecutive shards hold contiguous sample ranges from 0, and a gap
    between shards is exactly the shards the part lists as missing.
    """
    problems = []
    try:
        check_manifest_hash(manifest, manifest_path)
    except IntegrityError as exc:
        problems.append(str(exc).removeprefix(f"{manifest_path}: "))
    entries = manifest.get("shards")
    if not isinstance(entries, list):
        return [*problems, "'shards' is not a list"]
    by_part: dict[int, list[tuple[int, int, int]]] = {}
    seen: set[tuple[int, int]] = set()
    previous_key: tuple[int, int] | None = None
    for entry in entries:
        try:
            part, shard, start, count = (int(entry[k]) for k in ("part", "shard", "start", "count"))
            path = str(entry["path"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"shard entry {str(entry)[:120]} lacks a valid path/part/shard/start/count")
            continue
        if path != f"part{part}/shard-{shard:04d}.zarr":
            problems.append(f"shard entry {path!r} says part {part} shard {shard}, which lives at part{part}/shard-{shard:04d}.zarr")
        if (part, shard) in seen:
            problems.append(f"part {part} shard {shard} is listed more than once")
            continue
        if previous_key is not None and (part, shard) < previous_key:  # the view's sample i is the i-th in this order
            problems.append(f"part {part} shard {shard} is listed after part {previous_key[0]} shard {previous_key[1]}; entries are in (part, shard) order")
        previous_key = (part, shard)
        seen.add((part, shard))
        by_part.setdefault(part, []).append((shard, start, count))
    parts = manifest.get("parts")
    parts = parts if isinstance(parts, dict) else {}
    for part, listed in sorted(by_part.items()):
        info = parts.get(str(part))
        if not isinstance(info, dict):
            problems.append(f"part {part} has shard entries but no entry under 'parts'")
            continue
        total = sum(c for _, _, c in listed)
        if (info.get("count"), info.get("shards")) != (total, len(listed)):
            problems.append(f"part {part} counts {info.get('count')} samples in {info.get('shards')} shards, but its entries list {total} in {len(listed)}")
        missing = set(info.get("missing") or []) if isinstance(info.get("missing"), list) else set()
        end, previous = 0, -1
        for shard, start, count in sorted(listed):
            gap = set(range(previous + 1, shard))
            if not gap <= missing:
                problems.append(f"part {part}: shard(s) {sorted(gap - missing)} before shard {shard} are neither listed nor missing")
            elif not gap and start != end:
                problems.append(f"part {part} shard {shard} starts at sample {start}, not where the previous shard ends ({end})")
            if count <= 0 or start < end:
                problems.append(f"part {part} shard {shard} holds samples [{start}, {start + count}), overlapping or empty")
            end, previous = start + count, shard
    for key, info in parts.items():
        if str(key).isdigit() and int(key) not in by_part and isinstance(info, dict) and (info.get("count") or info.get("shards")):
            problems.append(f"part {key} counts {info.get('count')} samples in {info.get('shards')} shards, but no entry lists it")
    return problems


def check_manifest(manifest: dict[str, Any], manifest_path: Path) -> None:
    """:func:`manifest_problems`, as an error.

    Raises:
        IntegrityError: naming the manifest and its first problems.
    """
    problems = manifest_problems(manifest, manifest_path)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise IntegrityError(f"{manifest_path}: {'; '.join(problems[:3])}{more}")


#: Manifest keys that every shard of the dataset shares, and how to read each from a shard.
_SHARED: dict[str, Any] = {
    "render_config_hash": lambda r: r.attrs.get("render_config_hash"),
    "catalogue_identity": lambda r: (r.attrs.get("catalogue") or {}).get("identity"),
    "catalogue_content_sha256": lambda r: (r.attrs.get("catalogue") or {}).get("content_sha256"),
    "render_code_hash": lambda r: (r.attrs.get("code_version") or {}).get("render_code_hash"),
    "frame_fields": lambda r: list(r.layout.frame_fields),
    "image_shape": lambda r: list(r.layout.image_shape),
}


def dataset_fields(manifest: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The dataset-wide values a manifest records (render config, catalogue, code, frames, shape)."""
    return tuple((k, manifest[k]) for k in _SHARED if k in manifest)


def check_shard_against_entry(reader: ShardReader, ref: ShardRef, manifest_path: Path) -> None:
    """The shard on disk is the one the manifest indexed (checksum, attribute hash, part, range, and the
    dataset-wide values the manifest records: render config, catalogue, rendering code, frames, shape).

    Raises:
        IntegrityError: they differ.
    """
    a = reader.attrs
    problems = []
    if a.get("shard_checksum") != ref.checksum:
        problems.append(f"shard checksum {a.get('shard_checksum')} differs from the manifest's {ref.checksum}")
    if ref.attrs_sha256 is not None and a.get("attrs_sha256") != ref.attrs_sha256:
        problems.append("attribute hash differs from the manifest's")
    if (reader.part, reader.start, reader.count) != (ref.part, ref.start, ref.count):
        problems.append(f"holds part {reader.part} samples [{reader.start}, {reader.start + reader.count}), the manifest says "
                        f"part {ref.part} [{ref.start}, {ref.start + ref.count})")
    for key, value in ref.dataset:
        if _SHARED[key](reader) != value:
            problems.append(f"{key} {_SHARED[key](reader)!r} differs from the manifest's {value!r}")
    if problems:
        raise IntegrityError(f"{ref.path}: {'; '.join(problems)} ({manifest_path}); re-run `mmdata index --root {manifest_path.parent}`")


def _custom_parts(manifest: dict[str, Any]) -> dict[str, int]:
    """Custom part name -> number of an indexed dataset (the parts numbered above 5 in its manifest)."""
    parts = manifest.get("parts") or {}
    return {str(info.get("name")): int(k) for k, info in parts.items() if str(k).isdigit() and int(k) > 5 and isinstance(info, dict)}


def open_dataset(root: str | Path, parts: Iterable[int | str] | None = None, *, verify: bool = True) -> Dataset:
    """Open an indexed dataset (``mmdata index --root ROOT`` wrote its manifest) as one lazy view.

    Args:
        root: the dataset root.
        parts: part numbers or names to include (default: every part in the manifest).
        verify: recompute the manifest hash, check every chosen shard against its manifest entry and
            its own recorded hashes, and every frame read against its recorded digest
            (see :class:`ShardReader`). Shard paths must lie inside ``root`` whatever ``verify`` is.

    Returns:
        The :class:`Dataset`.

    Raises:
        StoreNotFound: the manifest or a listed shard is missing (the path is named).
        StoreError: a shard path leaves the root, or an entry is malformed.
        IntegrityError: the manifest or a shard changed since it was indexed.
        ConfigError: an unknown part.
    """
    return dataset_from_manifest(root, read_manifest(root), parts, verify=verify)


def dataset_from_manifest(root: str | Path, manifest: dict[str, Any], parts: Iterable[int | str] | None = None, *,
                          verify: bool = True) -> Dataset:
    """:func:`open_dataset` over a manifest given as a dict (e.g. one about to be written by ``mmdata index``)."""
    root = Path(root)
    manifest_path = root / MANIFEST_NAME
    if verify:
        check_manifest(manifest, manifest_path)
    wanted = None if parts is None else {part_number(p, _custom_parts(manifest)) for p in parts}
    entries = manifest.get("shards", [])
    if not isinstance(entries, list):
        raise StoreError(f"{manifest_path}: 'shards' is not a list")
    refs = [_ref(root, e, manifest_path, manifest) for e in entries if wanted is None or (isinstance(e, dict) and int(e.get("part", 0)) in wanted)]
    ds = Dataset(root, manifest, refs, verify=verify)
    if verify:
        for i, ref in enumerate(refs):
            check_shard_against_entry(ds.reader(i), ref, manifest_path)
    return ds

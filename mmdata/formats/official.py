"""Export to, and import from, the layout of the authors' released training set (Oh et al. 2018).

The layout (one PNG per frame, numbered ``%06d.png`` from 0 across the whole set)::

    DIR/frameA/000000.png     X_a                       <- frame_a
    DIR/frameB/000000.png     X'_b (colour-perturbed B) <- frame_b_perturbed
    DIR/frameC/000000.png     X_b (unperturbed B)       <- frame_b
    DIR/amplified/000000.png  Y' (perturbed magnified)  <- frame_y_perturbed
    DIR/meta/000000.json      {"amplification_factor": alpha, ...}
    DIR/train_mf.txt          one alpha per line, line i = sample i

The unperturbed target ``frame_y`` has no place in that layout and is not exported. Export writes
samples in manifest order (part, then index); its ``meta`` also records the part, the part's name and
the index, which import uses to restore them (a set without them is imported into one part), custom
parts (numbers 6-255, ``dataset.custom_parts``) included. Alpha is written with the shortest repr of
the stored float32, so export -> import reproduces frames and alpha exactly.

A dataset of axial targets (``dataset.axial``) adds, in a layout of our own beside the authors'::

    DIR/axial/000000.npy      (H, W, 2) float32 per-pixel factor maps: [..., 0] alpha_x, [..., 1] alpha_y
    DIR/train_axial.txt       "alpha_x alpha_y theta" per line (theta in radians from +x towards +y)

and ``meta`` gets ``alpha_x``, ``alpha_y`` and ``theta``; ``amplification_factor`` (and train_mf.txt) is
alpha_x, the factor along theta. The maps are constant over the frame (every layer of a sample shares
its factors); theta is one number per sample. Import reads train_axial.txt back into an axial store.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from mmdata.errors import ConfigError, SourceError, SourceNotFound, StoreError
from mmdata.identity import file_sha256
from mmdata.scene import PART_NAMES, part_name, part_number
from mmdata.store.provenance import code_version, utc_now
from mmdata.fsutil import remove_stale, replace_dir, tmp_name
from mmdata.store import (
    AXIAL_FIELDS,
    Dataset,
    SampleRecord,
    ShardLayout,
    ShardTarget,
    StoreSettings,
    axial_maps,
    open_dataset,
    shard_path,
    write_block,
)

__all__ = ["FOLDERS", "export_official", "import_official"]

log = logging.getLogger(__name__)

#: A custom part's name (as dataset.custom_parts allows).
_CUSTOM_NAME = re.compile(r"[a-z][a-z0-9_]*")

#: Folder of the authors' layout -> our frame field.
FOLDERS: dict[str, str] = {
    "frameA": "frame_a",
    "frameB": "frame_b_perturbed",
    "frameC": "frame_b",
    "amplified": "frame_y_perturbed",
}


def _fresh_dir(out: Path) -> Path:
    """A temporary sibling of ``out`` to write into; refuses when ``out`` exists and is not empty."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise StoreError(f"{out}: exists and is not empty; choose a new output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out.parent, out.name)  # left by an export that was killed
    tmp = tmp_name(out)
    for sub in (*FOLDERS, "meta"):
        (tmp / sub).mkdir(parents=True)
    return tmp


#: The folder of the per-pixel factor maps and the per-sample factor list of an axial export.
AXIAL_DIR, AXIAL_LIST = "axial", "train_axial.txt"


def _save_png(path: Path, frame: np.ndarray) -> None:
    Image.fromarray(np.ascontiguousarray(frame), mode="RGB").save(path, compress_level=1)


def export_official(root: str | Path, out: str | Path, *, parts: Sequence[int | str] | None = None, workers: int = 1, progress: bool = False) -> int:
    """Write an indexed dataset in the authors' layout (see the module docstring).

    Args:
        root: dataset root (indexed by ``mmdata index``).
        out: the output folder (must not exist or be empty); written under a temporary name first.
        parts: parts to export (default all).
        workers: threads encoding PNGs.
        progress: show a progress bar.

    Returns:
        The number of samples written.

    Raises:
        StoreNotFound/StoreError: the dataset is not indexed, or ``out`` holds something already.
    """
    out = Path(out)
    if int(workers) < 1:
        raise ConfigError(f"workers: expected at least 1 thread, got {workers}")
    ds = open_dataset(root, parts=parts)
    tmp = _fresh_dir(out)
    try:
        n = _export_into(ds, tmp, progress=progress, workers=workers)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: exported %d samples", out, n)
    return n


def _export_into(ds: Dataset, tmp: Path, *, progress: bool, workers: int) -> int:
    """Write every sample of ``ds`` into the (fresh) folder ``tmp``; returns the count."""
    factors: list[str] = []
    axial_rows: list[str] = []
    fields = list(FOLDERS.values())
    axial = bool(ds.shards) and all(ds.reader(i).layout.axial for i in range(len(ds.shards)))
    if axial:
        fields += list(AXIAL_FIELDS)
        (tmp / AXIAL_DIR).mkdir()
    names = {int(k): str(info["name"]) for k, info in (ds.manifest.get("parts") or {}).items()}  # custom parts too
    with ThreadPoolExecutor(max(1, workers)) as pool, tqdm(total=len(ds), desc="export", unit="sample", disable=None if progress else True) as bar:
        n = 0
        for s, ref in enumerate(ds.shards):
            for lo in range(0, ref.count, 16):
                run = ds.read_run(s, lo, min(lo + 16, ref.count), [*fields, "alpha", "part", "index"])
                jobs = []
                for i in range(len(run["alpha"])):
                    name = f"{n:06d}"
                    for folder, field in FOLDERS.items():
                        jobs.append(pool.submit(_save_png, tmp / folder / f"{name}.png", run[field][i]))
                    alpha = repr(float(run["alpha"][i]))
                    meta = {"amplification_factor": float(alpha), "part": int(run["part"][i]), "part_name": names[int(run["part"][i])], "index": int(run["index"][i])}
                    if axial:
                        values = {k: repr(float(run[k][i])) for k in AXIAL_FIELDS}
                        meta.update({k: float(v) for k, v in values.items()})
                        axial_rows.append(f"{values['alpha_x']} {values['alpha_y']} {values['theta']}\n")
                        maps = axial_maps(float(run["alpha_x"][i]), float(run["alpha_y"][i]), run["frame_a"][i].shape[:2])
                        jobs.append(pool.submit(np.save, tmp / AXIAL_DIR / f"{name}.npy", maps))
                    (tmp / "meta" / f"{name}.json").write_text(json.dumps(meta) + "\n")
                    factors.append(alpha)
                    n += 1
                for job in jobs:
                    job.result()
                bar.update(len(run["alpha"]))
    (tmp / "train_mf.txt").write_text("".join(f"{a}\n" for a in factors))
    if axial:
        (tmp / AXIAL_LIST).write_text("".join(axial_rows))
    return n


def _read_png(path: Path) -> np.ndarray:
    if not path.is_file():
        raise SourceNotFound(f"{path}: frame missing")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"{path}: not a readable image ({exc})") from exc


def _meta_part(meta: dict[str, Any], path: Path, default_part: int, names: dict[int, str]) -> int:
    """The part a sample's meta names (a built-in part, or a custom one by number and name), recording its name."""
    if "part" not in meta:
        names.setdefault(default_part, part_name(default_part))
        return default_part
    part, name = meta["part"], meta.get("part_name")
    if isinstance(part, int) and not isinstance(part, bool) and 5 < part <= 255:  # a custom part: its name comes along
        if not isinstance(name, str) or not _CUSTOM_NAME.fullmatch(name) or name in PART_NAMES:
            raise SourceError(f"{path}: part {part} is a custom part, but part_name {name!r} is not a custom part's name")
    else:
        part = part_number(part)
        name = part_name(part)
    if names.setdefault(part, name) != name:
        raise SourceError(f"{path}: part {part} is named {name!r} here and {names[part]!r} elsewhere")
    return part


def _axial_list(src: Path, count: int) -> np.ndarray | None:
    """(N, 3) rows (alpha_x, alpha_y, theta) of an axial export's train_axial.txt; None for a scalar one."""
    path = src / AXIAL_LIST
    if not path.is_file():
        if (src / AXIAL_DIR).is_dir():
            raise SourceNotFound(f"{path}: not found, but {src / AXIAL_DIR} holds factor maps; expected one 'alpha_x alpha_y theta' line per sample")
        return None
    try:
        rows = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise SourceError(f"{path}: expected 'alpha_x alpha_y theta' per line ({exc})") from exc
    if rows.shape != (count, 3):
        raise SourceError(f"{path}: expected {count} lines of 'alpha_x alpha_y theta', got shape {rows.shape}")
    return rows


def _scan(src: Path, default_part: int) -> tuple[np.ndarray, dict[int, list[tuple[int, int]]], dict[int, str]]:
    """Alphas of every sample, per part (index, file number) pairs sorted by index, and part names."""
    mf = src / "train_mf.txt"
    if not mf.is_file():
        raise SourceNotFound(f"{mf}: not found; expected the authors' layout (frameA/, frameB/, frameC/, amplified/, train_mf.txt)")
    try:
        alphas = np.atleast_1d(np.loadtxt(mf, dtype=np.float64, ndmin=1))
    except ValueError as exc:
        raise SourceError(f"{mf}: expected one amplification factor per line ({exc})") from exc
    by_part: dict[int, list[tuple[int, int]]] = {}
    names: dict[int, str] = {}
    for k in range(len(alphas)):
        meta_path = src / "meta" / f"{k:06d}.json"
        meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        part = _meta_part(meta, meta_path, default_part, names)
        by_part.setdefault(part, []).append((int(meta.get("index", -1)), k))
    for part, items in by_part.items():
        if any(i < 0 for i, _ in items) or sorted(i for i, _ in items) != list(range(len(items))):
            by_part[part] = [(j, k) for j, (_, k) in enumerate(sorted(items, key=lambda t: t[1]))]
        else:
            by_part[part] = sorted(items)
    return alphas, by_part, names


def _records(src: Path, part: int, items: Sequence[tuple[int, int]], alphas: np.ndarray, axial: np.ndarray | None,
             pool: ThreadPoolExecutor) -> Iterator[SampleRecord]:
    for index, k in items:
        futures = {field: pool.submit(_read_png, src / folder / f"{k:06d}.png") for folder, field in FOLDERS.items()}
        targets = None if axial is None else (float(axial[k, 2]), float(axial[k, 0]), float(axial[k, 1]))  # theta, alpha_x, alpha_y
        yield SampleRecord(part=part, index=index, frames={f: fut.result() for f, fut in futures.items()}, alpha=float(np.float32(alphas[k])),
                           axial=targets)


def import_official(src: str | Path, root: str | Path, *, part: int | str = 1, shard_size: int = 100, settings: StoreSettings | None = None, workers: int = 1, progress: bool = False) -> list[Path]:
    """Read the authors' layout into shard stores under ``root`` (``origin: import-official``).

    Args:
        src: the folder with frameA/, frameB/, frameC/, amplified/, train_mf.txt (meta/ optional; a custom
            part's samples need its number and name there; train_axial.txt makes an axial store).
        root: dataset root to write ``part{P}/shard-{K}.zarr`` into (then run ``mmdata index``).
        part: part for samples whose meta does not name one.
        shard_size: samples per shard store.
        settings: compression and zarr shard size.
        workers: threads decoding PNGs.
        progress: show a progress bar.

    Returns:
        The shard stores written.

    Raises:
        SourceNotFound/SourceError: a missing or unreadable file, a custom part without its name, axial maps
            without train_axial.txt.  StoreError: a target exists with other content.
    """
    src, settings = Path(src), settings or StoreSettings()
    alphas, by_part, names = _scan(src, part_number(part))
    axial = _axial_list(src, len(alphas))
    first = _read_png(src / "frameA" / "000000.png")
    dataset_id = "import:" + file_sha256(src / "train_mf.txt")
    written = []
    with ThreadPoolExecutor(max(1, workers)) as pool, tqdm(total=len(alphas), desc="import", unit="sample", disable=None if progress else True) as bar:
        for p, items in sorted(by_part.items()):
            for shard, lo in enumerate(range(0, len(items), shard_size)):
                chunk = items[lo : lo + shard_size]
                layout = ShardLayout(len(chunk), first.shape[:2], tuple(FOLDERS.values()), 1, max(1, min(settings.zarr_shard_samples, len(chunk))),
                                     axial=axial is not None)
                identity = {"render_config_hash": dataset_id, "catalogue_identity": None, "part": p, "shard": shard, "start": lo, "count": len(chunk)}
                attrs = {
                    "origin": "import-official", "source_dir": str(src.resolve()), "part": p, "part_name": names[p], "shard": shard,
                    "start": lo, "part_size": len(items), "shard_size": shard_size, "render_config_hash": dataset_id,
                    "config_hash": None, "config": None, "catalogue": {"identity": None, "path": None},
                    "code_version": code_version(), "created": utc_now(),
                }
                final = shard_path(root, p, shard)
                with ShardTarget(final, layout, identity, attrs, settings) as target:
                    if not target.complete:
                        records = _records(src, p, chunk, alphas, axial, pool)
                        for b in range(layout.n_blocks):
                            b_lo, b_hi = layout.block_range(b)
                            block = [next(records) for _ in range(b_hi - b_lo)]
                            if b in target.pending_blocks:
                                write_block(target.partial, layout, b, block)
                            bar.update(len(block))
                        target.finalize()
                written.append(final)
    return written

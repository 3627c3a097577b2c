"""Building a catalogue folder from the ``sources`` config section.

A build has two phases. *Planning* (cheap, in this process) checks that every named folder and
file exists (a missing one is a :class:`~mmdata.errors.SourceNotFound` naming it, before any work),
reads the annotation files and turns the source into a list of small, picklable per-image tasks.
*Processing* runs a worker function over the tasks, in this process or in a pool of ``workers``
processes, and streams the results back **in task order**: backgrounds become references in
``catalogue.json``, cutouts are appended to the object bank, and anything wrong with one image
(corrupt or truncated file, missing file, too small, empty mask, ...) becomes a skip record with
its reason. So the output is the same whatever the number of workers, and never more than a few
images per worker are held in memory.

Everything is written to a temporary folder beside ``out_dir`` and renamed into place at the end;
a failed build removes it, and the next build removes one a killed build left behind. A source
that lists no image at all is an error, not an empty catalogue.
"""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import shutil
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tqdm import tqdm

from mmdata.config import validate_config
from mmdata.errors import SourceError
from mmdata.fsutil import os_errors_named, remove_stale, replace_dir, tmp_name
from mmdata.sources.bank import ObjectBankWriter
from mmdata.sources.catalogue import BANK_DIR, CATALOGUE_FILE, FORMAT, VERSION, compute_identity, rgba_sha256
from mmdata.sources.images import BackgroundRecord, CutoutRecord, SkipRecord
from mmdata.sources.plan import Record, SourcePlan

__all__ = ["build_catalogue", "resolve_sources_config"]

log = logging.getLogger(__name__)

def resolve_sources_config(sources_cfg: dict[str, Any] | None) -> dict[str, Any]:
    """Fill in the schema defaults of a (partial) ``sources`` section and validate it.

    Raises:
        ConfigError: naming the offending key, e.g. ``sources.min_background_size``.
    """
    return validate_config({"sources": dict(sources_cfg or {})})["sources"]


def _plans(cfg: dict[str, Any]) -> list[SourcePlan]:
    if cfg["kind"] == "builtin":
        from mmdata.sources import builtin

        return [builtin.plan(cfg)]
    from mmdata.sources import coco, voc

    plans = []
    if cfg["coco"].get("annotations") or cfg["coco"].get("images"):
        plans.append(coco.plan(cfg))
    if cfg["voc"].get("root"):
        plans.append(voc.plan(cfg))
    if not plans:
        raise SourceError(
            "sources.coco.annotations / sources.voc.root: kind coco_voc needs a COCO annotation file and image folder, a VOC root, or both"
        )
    return plans


def _guarded(worker: Callable[[Any], list[Record]], task: Any) -> list[Record]:
    """Run one task; an unexpected failure on one image becomes a skip record, never a crashed build."""
    try:
        return worker(task)
    except Exception as exc:  # noqa: BLE001 - one odd file must not end a 200k-image build
        ref = str(task.get("ref", task)) if isinstance(task, dict) else str(task)
        log.warning("%s: skipped after an unexpected %s: %s", ref, type(exc).__name__, exc)
        return [SkipRecord("image", ref, f"unexpected {type(exc).__name__}: {exc}")]


def ordered_map(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int, ahead: int = 4) -> Iterator[Any]:
    """``map(fn, tasks)`` over ``workers`` processes, results in task order, at most ``ahead`` per worker in flight.

    Workers come from a fork server (not a plain fork of this process, which may already run
    threads, e.g. zarr's I/O loop or a Dask worker's), preloaded with the source readers.
    """
    if workers <= 1:
        yield from map(fn, tasks)
        return
    it = iter(tasks)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mmdata.sources.builtin", "mmdata.sources.coco", "mmdata.sources.voc"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future] = deque(pool.submit(fn, t) for t in itertools.islice(it, workers * ahead))
        while pending:
            result = pending.popleft().result()
            for t in itertools.islice(it, 1):
                pending.append(pool.submit(fn, t))
            yield result


def _run_plans(plans: list[SourcePlan], bank: ObjectBankWriter, workers: int, progress: bool = True) -> dict[str, Any]:
    backgrounds: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    skipped: list[SkipRecord] = []
    seen: set[str] = set()
    for plan in plans:
        skipped.extend(plan.skipped)
        jobs = ((plan.worker, t) for t in plan.tasks)
        results = ordered_map(_star_guarded, jobs, workers)
        n_before, n_skipped = len(backgrounds), len(skipped)
        for records in tqdm(results, total=len(plan.tasks), desc=f"sources {plan.name}", unit="img", disable=None if progress else True):
            for rec in records:
                if isinstance(rec, SkipRecord):
                    skipped.append(rec)
                elif rec.id in seen:
                    skipped.append(
                        SkipRecord(
                            "background" if isinstance(rec, BackgroundRecord) else "object", rec.id, "duplicate id"
                        )
                    )
                elif isinstance(rec, BackgroundRecord):
                    seen.add(rec.id)
                    backgrounds.append(rec.to_json())
                else:
                    seen.add(rec.id)
                    objects.append(_object_entry(rec, bank.append(rec.rgba)))
        if plan.expects_backgrounds and plan.tasks and len(backgrounds) == n_before:
            reasons = Counter(_reason_key(s.reason) for s in skipped[n_skipped:]).most_common(3)
            raise SourceError(
                f"{plan.origin}: none of the {len(plan.tasks)} listed images could be used as a background ({reasons})"
            )
    return {"backgrounds": backgrounds, "objects": objects, "skipped": skipped}


def _star_guarded(job: tuple[Callable[[Any], list[Record]], Any]) -> list[Record]:
    return _guarded(*job)


def _object_entry(rec: CutoutRecord, index: int) -> dict[str, Any]:
    alpha = rec.rgba[..., 3]
    return {
        "id": rec.id,
        "index": index,
        "class": rec.cls,
        "width": int(rec.rgba.shape[1]),
        "height": int(rec.rgba.shape[0]),
        "area": int((alpha > 0).sum()),
        "sha256": rgba_sha256(rec.rgba),
        "source": rec.source,
    }


def build_catalogue(sources_cfg: dict[str, Any], out_dir: str | Path, *, workers: int = 1, progress: bool = True) -> Path:
    """Build a catalogue folder (``catalogue.json`` + ``objects.zarr``) from a ``sources`` config.

    Args:
        sources_cfg: the ``sources`` config section (missing keys take the schema defaults).
        out_dir: the catalogue folder to write; an existing catalogue there is replaced atomically,
            any other non-empty folder is refused.
        workers: processes decoding images in parallel (1: in this process). The result does not
            depend on it.

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: a bad ``sources`` key.
        SourceNotFound: a named folder or annotation file does not exist.
        SourceError: an annotation file is not valid, a source lists no usable image,
            ``out_dir`` holds something else, or writing failed (a full disk, ...; naming ``out_dir``).
    """
    cfg = resolve_sources_config(sources_cfg)
    out_dir = Path(out_dir)
    _check_target(out_dir)
    plans = _plans(cfg)
    _check_not_empty(plans)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale(out_dir.parent, out_dir.name):  # left by a build that was killed
        log.warning("%s: removed the temporary folder of an interrupted build", stale)
    tmp = tmp_name(out_dir)
    try:
        with os_errors_named(out_dir, SourceError, "cannot write the catalogue"):
            tmp.mkdir()
            bank = ObjectBankWriter(tmp / BANK_DIR)
            found = _run_plans(plans, bank, max(1, int(workers)), progress)
            bank.close()
            doc = _document(cfg, plans, found)
            with open(tmp / CATALOGUE_FILE, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1)
            _replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for what in ("backgrounds", "objects"):
        if not found[what]:
            log.warning("catalogue %s has no %s: parts that need them cannot be rendered from it", out_dir, what)
    log.info(
        "catalogue %s: %d backgrounds, %d objects, %d skipped",
        out_dir,
        len(found["backgrounds"]),
        len(found["objects"]),
        len(found["skipped"]),
    )
    return out_dir


def _document(cfg: dict[str, Any], plans: list[SourcePlan], found: dict[str, Any]) -> dict[str, Any]:
    skipped: list[SkipRecord] = found["skipped"]
    identity = compute_identity(
        ((b["id"], b["sha256"]) for b in found["backgrounds"]), ((o["id"], o["sha256"]) for o in found["objects"])
    )
    roots: dict[str, str] = {}
    for plan in plans:
        roots.update(plan.roots)
    thresholds = {k: v for k, v in cfg.items() if k.startswith("min_")}
    if cfg["kind"] == "builtin":
        thresholds.update({f"builtin.{k}": v for k, v in cfg["builtin"].items() if k != "images"})
    elif cfg["coco"].get("use_masks"):
        thresholds["coco.mask_min_area"] = cfg["coco"]["mask_min_area"]
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": cfg["kind"],
        "identity": identity,
        "config": cfg,
        "thresholds": thresholds,
        "counts": {
            "backgrounds": len(found["backgrounds"]),
            "objects": len(found["objects"]),
            "skipped": len(skipped),
            "skipped_by_reason": dict(sorted(Counter(_reason_key(s.reason) for s in skipped).items())),
        },
        "classes": {plan.name: plan.classes for plan in plans if plan.classes is not None},
        "roots": roots,
        "backgrounds": found["backgrounds"],
        "objects": found["objects"],
        "skipped": [s.to_json() for s in skipped],
    }


def _reason_key(reason: str) -> str:
    """Group skip reasons by their leading phrase (before any ':' or '(' detail, numbers dropped)."""
    head = reason.split(":")[0].split("(")[0]
    return " ".join(w for w in head.split() if not any(c.isdigit() for c in w)).strip() or reason


def _check_not_empty(plans: list[SourcePlan]) -> None:
    """A source that lists no image at all (or none that planning kept) is an error, not an empty catalogue."""
    for plan in plans:
        if not plan.tasks:
            what = plan.origin or ", ".join(plan.roots.values()) or plan.name
            dropped = f" (all {len(plan.skipped)} entries skipped: {Counter(_reason_key(s.reason) for s in plan.skipped).most_common(3)})" if plan.skipped else ""
            raise SourceError(f"{what}: lists no usable images{dropped}")


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise SourceError(f"{out_dir}: output exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / CATALOGUE_FILE).is_file():
        raise SourceError(f"{out_dir}: refusing to replace a non-empty folder that is not a catalogue")


def _replace(tmp: Path, out_dir: Path) -> None:
    """Move the finished ``tmp`` folder to ``out_dir``, replacing an old catalogue or empty folder."""
    replace_dir(tmp, out_dir)

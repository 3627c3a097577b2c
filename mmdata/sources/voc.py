"""The PASCAL VOC object bank: every object instance cut out with its mask.

Reads a ``VOCdevkit/VOC20xx``-style folder: ``JPEGImages/<name>.jpg``, ``SegmentationObject/<name>.png``
(palette PNG of instance ids: 0 is background, 255 the void border, which is *not* object) and
``SegmentationClass/<name>.png`` (class index per pixel, same conventions). Each instance id ``k``
of a mask becomes one object ``voc:<name>:<k>``: the photograph cropped to the instance's box with
alpha 1 exactly where the mask equals ``k``; its class is the majority class of its pixels in
``SegmentationClass`` (names from the folder's ``class_names.txt`` when present, else the 20 VOC
classes). Instances with fewer than ``min_object_area`` pixels or a box thinner than
``min_object_size`` are skipped and listed, as are masks without any instance, corrupt or missing
files and masks whose size differs from their photograph.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import SourceError, SourceNotFound, SourceTooLarge
from mmdata.identity import bytes_sha256
from mmdata.sources.plan import SourcePlan
from mmdata.sources.paths import contained_file
from mmdata.sources.images import CutoutRecord, SkipRecord, cutout, open_bounded, read_image

__all__ = ["VOC_CLASSES", "ROOT_NAME", "plan", "process", "read_label_png"]

log = logging.getLogger(__name__)

ROOT_NAME = "voc"
VOID = 255
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


def _folder(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise SourceNotFound(f"{path}: VOC {what} folder not found (sources.voc.root)")
    return path


def _stems(root: Path, obj_dir: Path, image_set: str | None) -> list[str]:
    if image_set is None:
        return sorted(p.stem for p in obj_dir.glob("*.png"))
    listing = root / "ImageSets" / "Segmentation" / f"{image_set}.txt"
    if not listing.is_file():
        raise SourceNotFound(f"{listing}: VOC image set not found (sources.voc.image_set)")
    return sorted({line.split()[0] for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()})


def _class_names(root: Path) -> list[str]:
    path = root / "class_names.txt"
    if path.is_file():
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if names:
            return names
    return list(VOC_CLASSES)


def plan(cfg: dict[str, Any]) -> SourcePlan:
    """Plan a VOC build: one task per mask (or per image of ``voc.image_set``), sorted by name.

    Raises:
        SourceNotFound: the root, ``JPEGImages/``, ``SegmentationObject/`` or the image set is missing.
    """
    root = Path(cfg["voc"]["root"]).expanduser().resolve()
    _folder(root, "root")
    jpg_dir = _folder(root / "JPEGImages", "JPEGImages")
    obj_dir = _folder(root / "SegmentationObject", "SegmentationObject")
    cls_dir = root / "SegmentationClass"
    if not cls_dir.is_dir():
        log.warning("%s: no SegmentationClass folder; VOC objects will have no class", cls_dir)
    names = _class_names(root)
    params = {
        "min_object_area": cfg["min_object_area"],
        "min_object_size": cfg["min_object_size"],
        "max_image_side": cfg["max_image_side"],
        "names": names,
    }
    tasks, skipped = [], []
    for stem in _stems(root, obj_dir, cfg["voc"].get("image_set")):
        try:
            files = [_listed(d, f"{stem}{ext}", int(cfg["max_file_bytes"])) for d, ext in ((jpg_dir, ".jpg"), (obj_dir, ".png"))]
            cls = _listed(cls_dir, f"{stem}.png", int(cfg["max_file_bytes"])) if cls_dir.is_dir() else None
        except SourceError as exc:
            skipped.append(SkipRecord("image", stem, f"file not used: {exc}"))
            continue
        tasks.append({"ref": stem, "stem": stem, "jpg": str(files[0]), "obj": str(files[1]), "cls": None if cls is None else str(cls), **params})
    origin = f"{obj_dir}" + (f" (image set {cfg['voc']['image_set']})" if cfg["voc"].get("image_set") else "")
    return SourcePlan(name="voc", tasks=tasks, worker=process, roots={ROOT_NAME: str(root)}, classes=names, skipped=skipped, origin=origin)  # type: ignore[arg-type]  # a plan of cutouts only; typing it would change this module's code hash


def _listed(folder: Path, name: str, max_bytes: int) -> Path:
    """A listed file, contained in ``folder`` (see :func:`contained_file`); a missing one is left to the worker."""
    try:
        return contained_file(folder, name, max_bytes)
    except SourceNotFound:
        return folder / name


def read_label_png(path: str | Path, *, max_side: int | None = None) -> tuple[np.ndarray, str]:
    """Read a VOC label PNG (palette or 8-bit grayscale) as its raw indices.

    ``max_side``: when given, a mask whose header declares a larger side is refused undecoded.

    Returns:
        (uint8 (H, W) label indices, sha256 of the file).

    Raises:
        SourceNotFound: no such file.
        SourceTooLarge: the header declares a side above ``max_side``.
        SourceError: not a readable single-channel label image.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceNotFound(f"{path}: mask file not found") from exc
    try:
        with open_bounded(data, path, max_side) as img:
            if img.mode not in ("P", "L"):
                raise SourceError(f"{path}: mask is a {img.mode} image, expected a palette or 8-bit label PNG")
            img.load()
            labels = np.array(img, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"{path}: not a readable mask ({type(exc).__name__}: {exc})") from exc
    return labels, bytes_sha256(data)


def process(task: dict[str, Any]) -> list[CutoutRecord | SkipRecord]:
    """Cut every instance of one VOC image out (or say why not)."""
    stem = task["stem"]
    try:
        side = task["max_image_side"]
        image = read_image(task["jpg"], max_side=side)
        objects, mask_sha = read_label_png(task["obj"], max_side=side)
        classes = read_label_png(task["cls"], max_side=side)[0] if task["cls"] and Path(task["cls"]).is_file() else None
    except SourceError as exc:
        reason = "file not found" if isinstance(exc, SourceNotFound) else "image too large" if isinstance(exc, SourceTooLarge) else "unreadable file"
        return [SkipRecord("image", stem, f"{reason}: {exc}")]
    h, w = image.rgb.shape[:2]
    for what, arr in (("SegmentationObject", objects), ("SegmentationClass", classes)):
        if arr is not None and arr.shape != (h, w):
            return [
                SkipRecord(
                    "image",
                    stem,
                    f"mask size differs from the photograph: {what} mask is {arr.shape[1]}x{arr.shape[0]}, photograph is {w}x{h}",
                )
            ]
    counts = np.bincount(objects.ravel(), minlength=256)
    instance_ids = [k for k in np.flatnonzero(counts).tolist() if k not in (0, VOID)]
    if not instance_ids:
        return [SkipRecord("image", stem, "empty mask: no object instances (only background / void)")]
    records: list[CutoutRecord | SkipRecord] = []
    for k in instance_ids:
        mask = objects == k
        obj_id = f"voc:{stem}:{k}"
        area = int(mask.sum())
        if area < task["min_object_area"]:
            records.append(
                SkipRecord(
                    "object", obj_id, f"mask smaller than min_object_area ({area} < {task['min_object_area']} px)"
                )
            )
            continue
        rgba, box = cutout(image.rgb, mask)
        if min(rgba.shape[:2]) < task["min_object_size"]:
            records.append(SkipRecord("object", obj_id, f"box thinner than min_object_size ({box})"))
            continue
        cls_index = _majority_class(classes, mask)
        name = (
            None
            if cls_index is None
            else (task["names"][cls_index] if cls_index < len(task["names"]) else f"class_{cls_index}")
        )
        source = {
            "dataset": "voc",
            "image": stem,
            "instance": k,
            "class_index": cls_index,
            "root": ROOT_NAME,
            "file": f"JPEGImages/{stem}.jpg",
            "mask": f"SegmentationObject/{stem}.png",
            "image_sha256": image.sha256,
            "mask_sha256": mask_sha,
            "box": box,
        }
        records.append(CutoutRecord(id=obj_id, rgba=rgba, cls=name, source=source))
    return records


def _majority_class(classes: np.ndarray | None, mask: np.ndarray) -> int | None:
    """Most frequent class index under ``mask``, ignoring background and void; None if there is none."""
    if classes is None:
        return None
    values = classes[mask]
    values = values[(values != 0) & (values != VOID)]
    if values.size == 0:
        return None
    return int(np.bincount(values).argmax())

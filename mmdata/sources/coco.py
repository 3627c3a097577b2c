"""COCO backgrounds (and, optionally, COCO instance masks as extra foreground objects).

Reads a COCO-format instances JSON with :mod:`pycocotools` and the image folder its
``file_name`` entries are relative to. Every listed image that decodes and is large enough
(``min_background_size``, shorter side in source pixels) becomes a background, kept as a reference
to its file with its sha256. With ``coco.use_masks``, every non-crowd instance whose decoded mask
has at least ``coco.mask_min_area`` pixels (and a box of at least ``min_object_size``) is cut out
with its mask as an object.

Bad input never stops a build half-way: duplicate image or annotation ids, annotations of unknown
images or categories, missing or corrupt image files, images whose size differs from the JSON,
crowd, empty, tiny or malformed masks are all skipped and listed with their reason. A missing
JSON or folder, or a JSON that is not a COCO instances file, is an error naming the path.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmdata.errors import SourceError, SourceNotFound, SourceTooLarge
from mmdata.sources.paths import contained_file
from mmdata.sources.plan import SourcePlan
from mmdata.sources.images import BackgroundRecord, CutoutRecord, SkipRecord, cutout, read_image

__all__ = ["ROOT_NAME", "plan", "process", "load_coco"]

ROOT_NAME = "coco_images"


def _existing(value: str | None, key: str, want_dir: bool) -> Path:
    if not value:
        raise SourceError(f"sources.coco.{key}: required for a COCO source (got nothing)")
    path = Path(value).expanduser().resolve()
    ok = path.is_dir() if want_dir else path.is_file()
    if not ok:
        what = "image folder" if want_dir else "annotation JSON"
        raise SourceNotFound(f"{path}: COCO {what} not found (sources.coco.{key})")
    return path


def load_coco(path: Path, use_masks: bool) -> tuple[COCO, list[SkipRecord]]:
    """Parse a COCO instances JSON, drop duplicate or malformed entries, and index it with pycocotools.

    Args:
        path: the JSON file.
        use_masks: also check the annotations (only needed when masks become objects).

    Returns:
        (the indexed :class:`pycocotools.coco.COCO`, skip records of what was dropped).

    Raises:
        SourceError: the file is not JSON, or not a mapping with an ``images`` list.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise SourceError(f"{path}: not a COCO instances file (expected a mapping with an 'images' list)")
    skipped: list[SkipRecord] = []
    images = _unique(data["images"], ("id", "file_name"), "image", skipped)
    seen_files: dict[str, Any] = {}
    kept = []
    for img in images:
        if img["file_name"] in seen_files:
            skipped.append(
                SkipRecord(
                    "image",
                    f"coco:{img['id']}",
                    f"duplicate file_name: {img['file_name']!r} is already image id {seen_files[img['file_name']]}",
                )
            )
        else:
            seen_files[img["file_name"]] = img["id"]
            kept.append(img)
    images = kept
    categories = _unique(data.get("categories") or [], ("id",), "category", skipped)
    annotations: list[dict[str, Any]] = []
    if use_masks:
        annotations = _checked_annotations(data.get("annotations") or [], images, categories, skipped)
    coco = COCO()
    coco.dataset = {"images": images, "annotations": annotations, "categories": categories}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco, skipped


def _unique(entries: list[Any], keys: tuple[str, ...], what: str, skipped: list[SkipRecord]) -> list[dict[str, Any]]:
    """Entries that are mappings with ``keys``, first occurrence of each id only; the rest are reported."""
    out, seen = [], set()
    for n, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or any(entry.get(k) is None for k in keys)
            or not isinstance(entry["id"], (int, str))
        ):
            skipped.append(SkipRecord(what, f"{what}s[{n}]", f"malformed {what} entry (needs {', '.join(keys)})"))
        elif entry["id"] in seen:
            skipped.append(SkipRecord(what, f"{what}s[{n}]", f"duplicate {what} id {entry['id']!r}"))
        else:
            seen.add(entry["id"])
            out.append(entry)
    return out


def _checked_annotations(
    anns: list[Any], images: list[dict], categories: list[dict], skipped: list[SkipRecord]
) -> list[dict]:
    image_ids = {img["id"] for img in images}
    cat_ids = {cat["id"] for cat in categories}
    out = []
    for ann in _unique(anns, ("id", "image_id", "category_id", "segmentation"), "annotation", skipped):
        ref = f"annotation {ann['id']}"
        if ann["image_id"] not in image_ids:
            skipped.append(SkipRecord("object", ref, f"unknown image_id {ann['image_id']!r}"))
        elif ann["category_id"] not in cat_ids:
            skipped.append(SkipRecord("object", ref, f"unknown category_id {ann['category_id']!r}"))
        elif ann.get("iscrowd", 0):
            skipped.append(SkipRecord("object", ref, "crowd annotation"))
        else:
            out.append(ann)
    return out


def plan(cfg: dict[str, Any]) -> SourcePlan:
    """Plan a COCO build: one task per listed image, in ascending image-id order.

    Raises:
        SourceNotFound: the JSON or the image folder does not exist.
        SourceError: the JSON is not a COCO instances file.
    """
    c = cfg["coco"]
    ann_path = _existing(c.get("annotations"), "annotations", want_dir=False)
    img_dir = _existing(c.get("images"), "images", want_dir=True)
    coco, skipped = load_coco(ann_path, bool(c["use_masks"]))
    names = {cat_id: cat.get("name", str(cat_id)) for cat_id, cat in coco.cats.items()}
    params = {
        "min_background_size": cfg["min_background_size"],
        "min_object_size": cfg["min_object_size"],
        "mask_min_area": c["mask_min_area"],
        "max_image_side": cfg["max_image_side"],
    }
    tasks = []
    for image_id in sorted(coco.imgs, key=lambda i: (str(type(i)), i)):
        img = coco.imgs[image_id]
        anns = [
            {
                "id": a["id"],
                "segmentation": a["segmentation"],
                "category_id": a["category_id"],
                "class": names[a["category_id"]],
            }
            for a in coco.imgToAnns.get(image_id, [])
        ]
        entry = {k: img.get(k) for k in ("id", "file_name", "width", "height")}
        try:
            path = contained_file(img_dir, img["file_name"], int(cfg["max_file_bytes"]))
        except SourceNotFound:
            path = img_dir / str(img["file_name"])  # reported as a missing file by the worker, as before
        except SourceError as exc:
            skipped.append(SkipRecord("background", f"coco:{image_id}", f"file not used: {exc}"))
            continue
        tasks.append({"ref": img["file_name"], "path": str(path), "image": entry, "anns": anns, **params})
    classes = {str(k): v for k, v in sorted(names.items(), key=lambda kv: str(kv[0]))}
    return SourcePlan(
        name="coco",
        tasks=tasks,
        worker=process,
        roots={ROOT_NAME: str(img_dir)},
        classes=classes,
        skipped=skipped,
        origin=f"{ann_path} with images in {img_dir}",
        expects_backgrounds=True,
    )


def process(task: dict[str, Any]) -> list[BackgroundRecord | CutoutRecord | SkipRecord]:
    """Read one COCO image: its background record and its instance cutouts (or the reasons why not)."""
    img = task["image"]
    ref = f"coco:{img['id']}"
    try:
        image = read_image(task["path"], max_side=task["max_image_side"])
    except SourceError as exc:
        reason = "file not found" if isinstance(exc, SourceNotFound) else "image too large" if isinstance(exc, SourceTooLarge) else "unreadable image"
        extra = f" (and its {len(task['anns'])} annotations)" if task["anns"] else ""
        return [SkipRecord("background", img["file_name"], f"{reason}{extra}: {exc}")]
    h, w = image.rgb.shape[:2]
    records: list[BackgroundRecord | CutoutRecord | SkipRecord] = []
    if min(h, w) < task["min_background_size"]:
        records.append(
            SkipRecord("background", ref, f"smaller than min_background_size ({w}x{h} < {task['min_background_size']})")
        )
    else:
        source = {"dataset": "coco", "image_id": img["id"], "file_name": img["file_name"]}
        records.append(
            BackgroundRecord(ref, ROOT_NAME, img["file_name"], image.sha256, image.nbytes, w, h, image.mode, source)
        )
    if not task["anns"]:
        return records
    jw, jh = img.get("width"), img.get("height")
    if (jw is not None and jw != w) or (jh is not None and jh != h):
        records.append(
            SkipRecord(
                "object",
                ref,
                f"size differs from the JSON: image is {w}x{h}, the JSON says {jw}x{jh}; its {len(task['anns'])} masks would not align",
            )
        )
        return records
    for ann in task["anns"]:
        records.append(_cut(image.rgb, image.sha256, img, ann, task))
    return records


#: How far, in pixels, polygon vertices may lie outside the image (COCO outlines overshoot by a little).
POLYGON_MARGIN = 16.0
#: Longest total outline of one annotation's polygons, in multiples of the image's width + height
#: (pycocotools rasterizes every edge point by point, so its memory grows with the outline).
MAX_OUTLINE = 64


def _polygons(segmentation: list[Any], h: int, w: int) -> list[list[float]]:
    """The usable polygons of a COCO polygon list, checked to lie near the image before pycocotools sees them."""
    out, outline = [], 0.0
    for p in segmentation:
        if not isinstance(p, list) or len(p) < 6 or len(p) % 2:
            continue
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p):
            raise ValueError("polygon coordinates must be numbers")
        xy = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(xy).all():
            raise ValueError("polygon coordinates must be finite")
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        if lo.min() < -POLYGON_MARGIN or hi[0] > w + POLYGON_MARGIN or hi[1] > h + POLYGON_MARGIN:
            raise ValueError(
                f"polygon reaches ({lo[0]:.4g}, {lo[1]:.4g})-({hi[0]:.4g}, {hi[1]:.4g}), outside the {w}x{h} image "
                f"(by more than {POLYGON_MARGIN:g} px)"
            )
        outline += float(np.abs(np.diff(xy, axis=0, append=xy[:1])).max(axis=1).sum())
        if outline > MAX_OUTLINE * (w + h):
            raise ValueError(f"polygon outline longer than {MAX_OUTLINE} x (width + height) of the {w}x{h} image")
        out.append([float(v) for v in p])
    return out


def rle_string_counts(counts: bytes) -> list[int]:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``, in Python and bounds-checked).

    Raises:
        ValueError: the string is cut short or holds characters outside COCO's alphabet.
    """
    out: list[int] = []
    p = 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            if p >= len(counts):
                raise ValueError("compressed RLE counts end in the middle of a number")
            c = counts[p] - 48
            if not 0 <= c < 64:
                raise ValueError(f"compressed RLE counts hold the character {chr(counts[p])!r}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def _rle_counts(segmentation: dict[str, Any], h: int, w: int) -> list[int]:
    """An RLE's run lengths, checked before anything is decoded: its size is the image's, the runs cover it exactly."""
    size = segmentation.get("size")
    if not isinstance(size, (list, tuple)) or len(size) != 2 or [type(v) for v in size] != [int, int]:
        raise ValueError(f"RLE size {size!r} is not [height, width]")
    if list(size) != [h, w]:
        raise ValueError(f"RLE size {size[1]}x{size[0]} (width x height) differs from the {w}x{h} image")
    counts = segmentation["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    if isinstance(counts, bytes):
        runs = rle_string_counts(counts)
    elif isinstance(counts, list) and all(type(v) is int for v in counts):
        runs = list(counts)
    else:
        raise ValueError("RLE counts must be a list of integers or a compressed string")
    if any(v < 0 for v in runs) or sum(runs) != h * w:
        raise ValueError(f"RLE runs sum to {sum(runs)} (or are negative); the {w}x{h} image has {h * w} pixels")
    return runs


def _decode(segmentation: Any, h: int, w: int) -> np.ndarray:
    """Decode a COCO polygon list, uncompressed RLE or compressed RLE to a boolean (h, w) mask.

    Nothing reaches pycocotools' C code unchecked (it neither bounds its allocations nor its
    writes): polygons must lie near the image (:data:`POLYGON_MARGIN`) with a bounded outline
    (:data:`MAX_OUTLINE`); an RLE must have the image's size and runs that sum to its pixel count.
    """
    if isinstance(segmentation, list):
        polygons = _polygons(segmentation, h, w)
        if not polygons:
            return np.zeros((h, w), dtype=bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))
    elif isinstance(segmentation, dict) and "counts" in segmentation:
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": _rle_counts(segmentation, h, w)}, h, w)
    else:
        raise ValueError(f"unsupported segmentation of type {type(segmentation).__name__}")
    with warnings.catch_warnings():  # pycocotools' decode trips a numpy 2 copy= DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        decoded = mask_utils.decode(rle)
    if decoded.shape[:2] != (h, w):
        raise ValueError(f"mask is {decoded.shape[1]}x{decoded.shape[0]}, image is {w}x{h}")
    return decoded.astype(bool)


def _cut(rgb: np.ndarray, image_sha: str, img: dict, ann: dict, task: dict) -> CutoutRecord | SkipRecord:
    obj_id = f"coco:{img['id']}:{ann['id']}"
    h, w = rgb.shape[:2]
    try:
        mask = _decode(ann["segmentation"], h, w)
    except (ValueError, TypeError, KeyError, UnicodeEncodeError) as exc:
        return SkipRecord("object", obj_id, f"malformed segmentation: {exc}")
    area = int(mask.sum())
    if area == 0:
        return SkipRecord("object", obj_id, "empty mask")
    if area < task["mask_min_area"]:
        return SkipRecord("object", obj_id, f"mask smaller than mask_min_area ({area} < {task['mask_min_area']} px)")
    rgba, box = cutout(rgb, mask)
    if min(rgba.shape[:2]) < task["min_object_size"]:
        return SkipRecord("object", obj_id, f"box thinner than min_object_size ({box})")
    source = {
        "dataset": "coco",
        "image_id": img["id"],
        "annotation_id": ann["id"],
        "category_id": ann["category_id"],
        "root": ROOT_NAME,
        "file": img["file_name"],
        "image_sha256": image_sha,
        "box": box,
    }
    return CutoutRecord(id=obj_id, rgba=rgba, cls=ann["class"], source=source)

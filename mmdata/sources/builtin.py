"""The built-in demo source: real photographs bundled inside the scikit-image wheel.

Backgrounds are the photographs themselves (read from ``skimage/data`` inside the installed
package; nothing is downloaded). Foreground objects are cut out of the same photographs by
Felzenszwalb and Huttenlocher's graph-based segmentation
(:func:`skimage.segmentation.felzenszwalb`) run on a copy downscaled to
``builtin.segment_max_side``; a segment becomes an object when it does not touch the image
border, covers between ``min_area_fraction`` and ``max_area_fraction`` of the image, is solid
enough (area / convex-hull area >= ``min_solidity``) and passes the global object thresholds.
The largest ``max_objects_per_image`` qualifying segments are kept, so objects carry real texture
and irregular boundaries.

This is a demo source for running the whole pipeline out of the box. It is not the paper's data:
a faithful reproduction needs COCO backgrounds and the PASCAL VOC object bank.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from skimage.measure import regionprops
from skimage.segmentation import felzenszwalb

from mmdata.sources.plan import SourcePlan
from mmdata.sources.catalogue import resolve_root
from mmdata.sources.images import BackgroundRecord, CutoutRecord, SkipRecord, cutout, read_image

__all__ = ["ROOT", "plan", "process"]

ROOT = "package:skimage/data"
_ROOT_NAME = "skimage"


def plan(cfg: dict[str, Any]) -> SourcePlan:
    """Plan a built-in build: one task per bundled photograph named in ``cfg['builtin']['images']``.

    Args:
        cfg: the resolved ``sources`` config section.

    Returns:
        The plan (tasks in the configured order).
    """
    folder = resolve_root(ROOT)
    b = cfg["builtin"]
    params = {
        "min_background_size": cfg["min_background_size"],
        "min_object_area": cfg["min_object_area"],
        "min_object_size": cfg["min_object_size"],
        **{k: v for k, v in b.items() if k != "images"},
    }
    tasks = [{"ref": name, "path": str(folder / name), "file": name, **params} for name in b["images"]]
    return SourcePlan(name="builtin", tasks=tasks, worker=process, roots={_ROOT_NAME: ROOT})


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def process(task: dict[str, Any]) -> list[BackgroundRecord | CutoutRecord | SkipRecord]:
    """Read one bundled photograph: its background record and the objects segmented from it."""
    name = task["file"]
    image = read_image(task["path"])
    h, w = image.rgb.shape[:2]
    records: list[BackgroundRecord | CutoutRecord | SkipRecord] = []
    if min(h, w) < task["min_background_size"]:
        records.append(
            SkipRecord(
                "background", name, f"smaller than min_background_size ({w}x{h} < {task['min_background_size']})"
            )
        )
    else:
        records.append(
            BackgroundRecord(
                id=f"builtin:{_stem(name)}",
                root=_ROOT_NAME,
                file=name,
                sha256=image.sha256,
                nbytes=image.nbytes,
                width=w,
                height=h,
                mode=image.mode,
                source={"dataset": "scikit-image", "file_name": name},
            )
        )
    records.extend(_objects(image.rgb, name, image.sha256, task))
    return records


def _downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def _objects(rgb: np.ndarray, name: str, image_sha: str, task: dict[str, Any]) -> list[CutoutRecord | SkipRecord]:
    small = _downscale(rgb, task["segment_max_side"])
    h, w = small.shape[:2]
    labels = felzenszwalb(
        small, scale=task["segment_scale"], sigma=task["segment_sigma"], min_size=max(1, task["min_object_area"])
    )
    candidates = []
    for region in regionprops(labels + 1):
        y0, x0, y1, x1 = region.bbox
        if y0 == 0 or x0 == 0 or y1 == h or x1 == w:
            continue
        frac = region.area / (h * w)
        if not task["min_area_fraction"] <= frac <= task["max_area_fraction"]:
            continue
        if region.area < task["min_object_area"] or min(y1 - y0, x1 - x0) < task["min_object_size"]:
            continue
        if region.solidity < task["min_solidity"]:
            continue
        candidates.append((int(region.area), int(region.label)))
    keep = sorted(
        label for _, label in sorted(candidates, key=lambda c: (-c[0], c[1]))[: task["max_objects_per_image"]]
    )
    out: list[CutoutRecord | SkipRecord] = []
    for k, label in enumerate(keep):
        rgba, box = cutout(small, labels + 1 == label)
        source = {
            "dataset": "scikit-image",
            "root": _ROOT_NAME,
            "file": name,
            "image_sha256": image_sha,
            "segment": label,
            "segmented_size": [w, h],
            "box": box,
        }
        out.append(CutoutRecord(id=f"builtin:{_stem(name)}:{k:02d}", rgba=rgba, cls="segment", source=source))
    return out

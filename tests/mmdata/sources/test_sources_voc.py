"""The PASCAL VOC object bank, on the real samples in ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmdata.sources import build_catalogue, open_catalogue


def _instances(root):
    """Instances per image, counted straight from the SegmentationObject PNGs (0 background, 255 void)."""
    out = {}
    for png in sorted((root / "SegmentationObject").glob("*.png")):
        labels = np.asarray(Image.open(png))
        for k in np.unique(labels):
            if k not in (0, 255):
                out[f"voc:{png.stem}:{k}"] = (png.stem, labels == k)
    return out


def _build(shared_data, tmp_path, name, **cfg):
    base = {"kind": "coco_voc", "voc": {"root": str(shared_data / name)}, "min_object_area": 1, "min_object_size": 1}
    return open_catalogue(build_catalogue({**base, **cfg}, tmp_path / "cat"))


@pytest.mark.parametrize("name", ["voc_labelme", "voc_icevision"])
def test_every_instance_is_cut_out_with_its_mask(shared_data, tmp_path, name):
    root = shared_data / name
    cat = _build(shared_data, tmp_path, name)
    expected = _instances(root)
    assert len(expected) >= 2
    assert sorted(cat.object_ids) == sorted(expected)
    for obj_id, (stem, mask) in expected.items():
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        rgb, alpha = cat.object(obj_id)
        np.testing.assert_array_equal(alpha, mask[box].astype(np.float32))
        photo = np.asarray(Image.open(root / "JPEGImages" / f"{stem}.jpg").convert("RGB"))
        np.testing.assert_array_equal(rgb, photo[box].astype(np.float32))
        desc = cat.describe(obj_id)
        assert desc["image"] == stem and desc["file"] == str(root / "JPEGImages" / f"{stem}.jpg")
        assert desc["area"] == int(mask.sum())


def test_void_border_is_not_object(shared_data, tmp_path):
    root = shared_data / "voc_icevision"
    labels = np.asarray(Image.open(root / "SegmentationObject" / "2007_000063.png"))
    assert (labels == 255).sum() > 1000  # the sample really has a void border
    cat = _build(shared_data, tmp_path, "voc_icevision")
    covered = np.zeros(labels.shape, dtype=bool)
    for obj_id in cat.object_ids:
        x0, y0, x1, y1 = cat.describe(obj_id)["box"]
        covered[y0:y1, x0:x1] |= cat.object(obj_id)[1] > 0
    assert not covered[labels == 255].any()
    assert covered.sum() == ((labels != 0) & (labels != 255)).sum()


def test_classes_come_from_segmentation_class(shared_data, tmp_path):
    # VOC2007 image 2007_000063: a dog (class 12) and a chair (class 9); instance 1 is the dog.
    cat = _build(shared_data, tmp_path, "voc_icevision")
    assert cat.describe("voc:2007_000063:1")["class"] == "dog"
    assert cat.describe("voc:2007_000063:2")["class"] == "chair"
    assert cat.describe("voc:2007_000063:2")["class_index"] == 9


def test_labelme_class_names_file_is_used(shared_data, tmp_path):
    root = shared_data / "voc_labelme"
    names = [line.strip() for line in (root / "class_names.txt").read_text().splitlines() if line.strip()]
    cat = _build(shared_data, tmp_path, "voc_labelme")
    for obj_id, (stem, mask) in _instances(root).items():
        classes = np.asarray(Image.open(root / "SegmentationClass" / f"{stem}.png"))[mask]
        classes = classes[(classes != 0) & (classes != 255)]
        assert cat.describe(obj_id)["class"] == names[np.bincount(classes).argmax()]


def test_small_instances_are_filtered_and_listed(shared_data, tmp_path):
    root = shared_data / "voc_labelme"
    cat = _build(shared_data, tmp_path, "voc_labelme", min_object_area=1000)
    areas = {k: int(m.sum()) for k, (_, m) in _instances(root).items()}
    assert sorted(cat.object_ids) == sorted(k for k, a in areas.items() if a >= 1000)
    listed = {s["ref"] for s in cat.skipped if "min_object_area" in s["reason"]}
    assert listed == {k for k, a in areas.items() if a < 1000} and listed
    assert cat.summary["counts"]["skipped"] == len(listed)

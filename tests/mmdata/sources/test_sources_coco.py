"""COCO backgrounds and COCO instance masks, on the real samples in ../shared/data."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from mmdata.sources import build_catalogue, open_catalogue

# pycocotools' mask decoding trips a numpy 2 DeprecationWarning inside the library.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

DATASETS = {
    "coco_clarifai": ("coco_clarifai/annotations/instances_val2017_subset.json", "coco_clarifai/images"),
    "coco_icevision": ("coco_icevision/annotations.json", "coco_icevision/images"),
    "coco_labelme": ("coco_labelme/annotations.json", "coco_labelme"),
}


def _cfg(shared_data, name, **coco):
    ann, images = DATASETS[name]
    return {
        "kind": "coco_voc",
        "min_object_size": 1,
        "coco": {"annotations": str(shared_data / ann), "images": str(shared_data / images), "use_masks": True, **coco},
    }


def _reference(shared_data, name):
    """pycocotools' own reading of the file (COCO.annToMask), independent of the catalogue's decoding."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(shared_data / DATASETS[name][0]))
    return coco


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_image_is_a_background_with_its_checksum(shared_data, tmp_path, name):
    cat = open_catalogue(build_catalogue(_cfg(shared_data, name, use_masks=False), tmp_path / "cat"))
    ref = _reference(shared_data, name)
    assert sorted(cat.background_ids) == sorted(f"coco:{i}" for i in ref.getImgIds())
    assert cat.object_ids == ()
    images_dir = shared_data / DATASETS[name][1]
    for image_id in ref.getImgIds():
        info = ref.loadImgs(image_id)[0]
        path = images_dir / info["file_name"]
        desc = cat.describe(f"coco:{image_id}")
        assert desc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert desc["image_id"] == image_id and desc["file_name"] == info["file_name"]
        assert (desc["width"], desc["height"]) == (info["width"], info["height"])
    some = ref.getImgIds()[0]
    path = images_dir / ref.loadImgs(some)[0]["file_name"]
    np.testing.assert_array_equal(
        cat.background(f"coco:{some}"), np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    )


@pytest.fixture(scope="module")
def all_masks(shared_data, tmp_path_factory):
    """Catalogue of each sample with every non-crowd mask as an object (built once per module)."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name) / "cat"
            cache[name] = open_catalogue(build_catalogue(_cfg(shared_data, name, mask_min_area=1), out))
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_instance_masks_become_objects_whose_alpha_is_the_mask(shared_data, all_masks, name):
    cat = all_masks(name)
    ref = _reference(shared_data, name)
    expected = {}
    for ann in ref.loadAnns(ref.getAnnIds()):
        if not ann["iscrowd"]:
            expected[f"coco:{ann['image_id']}:{ann['id']}"] = ann
    assert sorted(cat.object_ids) == sorted(expected)
    images_dir = shared_data / DATASETS[name][1]
    for obj_id, ann in expected.items():
        mask = ref.annToMask(ann).astype(bool)
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        rgb, alpha = cat.object(obj_id)
        np.testing.assert_array_equal(alpha, mask[box].astype(np.float32))
        photo = np.asarray(Image.open(images_dir / ref.loadImgs(ann["image_id"])[0]["file_name"]).convert("RGB"))
        np.testing.assert_array_equal(rgb, photo[box].astype(np.float32))
        desc = cat.describe(obj_id)
        assert desc["class"] == ref.loadCats(ann["category_id"])[0]["name"]
        assert (desc["annotation_id"], desc["category_id"]) == (ann["id"], ann["category_id"])


def test_crowd_rle_is_reported_not_used(shared_data, all_masks):
    cat = all_masks("coco_clarifai")
    ref = _reference(shared_data, "coco_clarifai")
    crowd = ref.loadAnns(ref.getAnnIds(iscrowd=True))
    assert len(crowd) == 1 and isinstance(crowd[0]["segmentation"], dict)
    assert not any(o.endswith(f":{crowd[0]['id']}") for o in cat.object_ids)
    assert {"what": "object", "ref": f"annotation {crowd[0]['id']}", "reason": "crowd annotation"} in cat.skipped


def test_image_without_annotations_is_still_a_background(shared_data, all_masks):
    cat = all_masks("coco_icevision")
    assert "coco:89" in cat.background_ids
    assert not [o for o in cat.object_ids if o.startswith("coco:89:")]


def test_zero_is_a_real_image_annotation_and_category_id(shared_data, all_masks):
    cat = all_masks("coco_labelme")
    assert "coco:0" in cat.background_ids
    assert "coco:0:0" in cat.object_ids
    assert cat.describe("coco:0:0")["image_id"] == 0
    assert cat.summary["classes"]["coco"]["0"] == "_background_"


def test_mask_area_threshold_filters_and_lists(shared_data, tmp_path):
    cat = open_catalogue(build_catalogue(_cfg(shared_data, "coco_labelme", mask_min_area=1000), tmp_path / "cat"))
    ref = _reference(shared_data, "coco_labelme")
    areas = {f"coco:{a['image_id']}:{a['id']}": int(ref.annToMask(a).sum()) for a in ref.loadAnns(ref.getAnnIds())}
    assert sorted(cat.object_ids) == sorted(k for k, v in areas.items() if v >= 1000)
    small = {s["ref"] for s in cat.skipped if "mask_min_area" in s["reason"]}
    assert small == {k for k, v in areas.items() if v < 1000} and small
    assert all(cat.describe(o)["area"] >= 1000 for o in cat.object_ids)


def test_ids_and_checksums_are_stable_across_runs_and_workers(shared_data, tmp_path):
    cfg = _cfg(shared_data, "coco_clarifai")
    cfg["voc"] = {"root": str(shared_data / "voc_labelme")}
    paths = [build_catalogue(cfg, tmp_path / f"c{k}", workers=w) for k, w in enumerate((1, 2))]
    docs = [json.loads((p / "catalogue.json").read_text()) for p in paths]
    assert docs[0] == docs[1]
    cats = [open_catalogue(p) for p in paths]
    assert cats[0].identity == cats[1].identity
    assert len(cats[0].object_ids) > 20
    for obj_id in cats[0].object_ids[::5]:
        np.testing.assert_array_equal(cats[0].object(obj_id)[0], cats[1].object(obj_id)[0])

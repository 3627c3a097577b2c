"""The built-in demo source: scikit-image's bundled photographs and objects segmented from them."""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.measure import label

from mmdata.errors import SourceError, SourceNotFound
from mmdata.sources import Catalogue, InMemoryCatalogue, background_shape, build_catalogue, object_shape, open_catalogue

SKIMAGE_DATA = Path(str(resources.files("skimage"))) / "data"


def test_default_catalogue_holds_the_bundled_photographs(builtin_catalogue):
    cat = open_catalogue(builtin_catalogue)
    assert isinstance(cat, Catalogue)
    assert len(cat.background_ids) == 9
    assert "builtin:astronaut" in cat.background_ids
    # Independent route to the same photograph: scikit-image's public loader.
    np.testing.assert_array_equal(cat.background("builtin:astronaut"), skimage.data.astronaut().astype(np.float32))
    np.testing.assert_array_equal(cat.background("builtin:coffee"), skimage.data.coffee().astype(np.float32))
    bg = cat.background("builtin:rocket")
    assert bg.dtype == np.float32 and bg.ndim == 3 and bg.shape[2] == 3


def test_default_catalogue_objects_are_real_irregular_cutouts(builtin_catalogue):
    cat = open_catalogue(builtin_catalogue)
    assert len(cat.object_ids) >= 30
    sources = {i.split(":")[1] for i in cat.object_ids}
    assert len(sources) >= 5  # objects come from many photographs
    for obj_id in cat.object_ids:
        rgb, alpha = cat.object(obj_id)
        assert rgb.dtype == np.float32 and alpha.dtype == np.float32
        assert rgb.shape[:2] == alpha.shape and rgb.shape[2] == 3
        assert set(np.unique(alpha)) <= {0.0, 1.0}
        mask = alpha > 0
        # Cropped to the object's box: every border row and column touches the object.
        assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
        assert mask.sum() >= 64 and min(mask.shape) >= 8
        assert label(mask, connectivity=2).max() == 1  # one piece
        assert rgb[mask].std() > 0  # real texture, not a flat fill
    # Irregular boundaries: many objects are far from their box (not rectangles).
    fill = [cat.object(i)[1].mean() for i in cat.object_ids]
    assert np.median(fill) < 0.9


def test_cutout_pixels_are_the_photograph_pixels(tmp_path):
    """Without downscaling, each object's RGB inside and outside its mask is the photograph's own box."""
    cfg = {"builtin": {"images": ["chelsea.png"], "segment_max_side": 512}}
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "cat"))
    photo = np.asarray(Image.open(SKIMAGE_DATA / "chelsea.png").convert("RGB"))
    assert cat.object_ids
    for obj_id in cat.object_ids:
        info = cat.describe(obj_id)
        x0, y0, x1, y1 = info["box"]
        rgb, alpha = cat.object(obj_id)
        np.testing.assert_array_equal(rgb, photo[y0:y1, x0:x1].astype(np.float32))
        assert info["area"] == int(alpha.sum())
        assert info["file"].endswith("chelsea.png") and info["class"] == "segment"


def test_builds_are_identical_across_runs_and_worker_counts(tmp_path):
    cfg = {"builtin": {"images": ["chelsea.png", "rocket.jpg"], "segment_max_side": 256}}
    a = build_catalogue(cfg, tmp_path / "a", workers=1)
    b = build_catalogue(cfg, tmp_path / "b", workers=1)
    c = build_catalogue(cfg, tmp_path / "c", workers=2)
    docs = [json.loads((p / "catalogue.json").read_text()) for p in (a, b, c)]
    assert docs[0] == docs[1] == docs[2]
    cats = [open_catalogue(p) for p in (a, b, c)]
    assert cats[0].identity == cats[1].identity == cats[2].identity
    assert len(cats[0].object_ids) >= 3
    for obj_id in cats[0].object_ids:
        np.testing.assert_array_equal(cats[0].object(obj_id)[1], cats[2].object(obj_id)[1])


def _object_in_worker(cat, obj_id):
    rgb, alpha = cat.object(obj_id)
    return cat.identity, rgb, alpha


def test_catalogue_is_picklable_and_reopens_in_a_worker_process(builtin_catalogue):
    cat = open_catalogue(builtin_catalogue)
    blob = pickle.dumps(cat)
    assert len(blob) < 1000  # only the path travels
    obj_id = cat.object_ids[len(cat.object_ids) // 2]
    with ProcessPoolExecutor(max_workers=1) as pool:
        identity, rgb, alpha = pool.submit(_object_in_worker, cat, obj_id).result()
    assert identity == cat.identity
    np.testing.assert_array_equal(rgb, cat.object(obj_id)[0])
    np.testing.assert_array_equal(alpha, cat.object(obj_id)[1])


def test_small_photographs_are_skipped_by_the_documented_threshold(tmp_path):
    # chelsea is 451 x 300: below a 400-pixel minimum shorter side, above 256 (the default).
    cfg = {"min_background_size": 400, "builtin": {"images": ["chelsea.png", "rocket.jpg"]}}
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "cat"))
    assert cat.background_ids == ("builtin:rocket",)
    skipped = [s for s in cat.skipped if s["ref"] == "chelsea.png"]
    assert len(skipped) == 1 and "min_background_size" in skipped[0]["reason"]
    assert cat.summary["counts"]["skipped"] == len(cat.skipped) == 1
    assert cat.summary["thresholds"]["min_background_size"] == 400


def test_unknown_ids_and_missing_catalogues_raise_source_errors(builtin_catalogue, tmp_path):
    cat = open_catalogue(builtin_catalogue)
    with pytest.raises(SourceError, match="no background with id 'nope'"):
        cat.background("nope")
    with pytest.raises(SourceError, match="no object"):
        cat.object("builtin:astronaut")
    with pytest.raises(SourceNotFound, match=str(tmp_path / "missing")):
        open_catalogue(tmp_path / "missing")
    bad = tmp_path / "bad"
    (bad / "objects.zarr").mkdir(parents=True)
    (bad / "catalogue.json").write_text("{not json")
    with pytest.raises(SourceError, match="catalogue.json"):
        open_catalogue(bad)


def test_shapes_are_known_without_decoding_and_arrays_are_read_only(builtin_catalogue):
    cat = open_catalogue(builtin_catalogue)
    for bg_id in cat.background_ids[:3]:
        assert background_shape(cat, bg_id) == cat.background(bg_id).shape[:2]
    for obj_id in cat.object_ids[:10]:
        assert object_shape(cat, obj_id) == cat.object(obj_id)[1].shape
    rgb, alpha = cat.object(cat.object_ids[0])
    with pytest.raises(ValueError):
        rgb[0, 0, 0] = 1.0  # cached arrays are shared: read-only
    again = cat.object(cat.object_ids[0])
    np.testing.assert_array_equal(again[0], rgb)
    # The helpers also serve catalogues that only implement the protocol.
    mem = InMemoryCatalogue({"b": np.zeros((5, 7, 3))}, {"o": (np.zeros((2, 3, 3)), np.ones((2, 3)))})
    assert background_shape(mem, "b") == (5, 7) and object_shape(mem, "o") == (2, 3)

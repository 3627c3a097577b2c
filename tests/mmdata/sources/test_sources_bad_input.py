"""Bad sources, built in a temporary folder: clear errors for what is missing, skips for the rest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmdata.errors import ConfigError, SourceError, SourceNotFound
from mmdata.sources import build_catalogue, open_catalogue

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SIZE = 64


def _texture(rng: np.random.Generator, h: int = SIZE, w: int = SIZE) -> np.ndarray:
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _coco(tmp_path: Path, images: list[dict], annotations: list[dict] | None = None) -> dict:
    """Write a COCO JSON listing ``images``; return the sources config pointing at it."""
    (tmp_path / "images").mkdir(exist_ok=True)
    doc = {"images": images, "annotations": annotations or [], "categories": [{"id": 1, "name": "thing"}]}
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    return {
        "kind": "coco_voc",
        "min_background_size": 32,
        "coco": {
            "annotations": str(tmp_path / "ann.json"),
            "images": str(tmp_path / "images"),
            "use_masks": True,
            "mask_min_area": 16,
        },
    }


def _jpeg(path: Path, rgb: np.ndarray, mode: str = "RGB") -> None:
    Image.fromarray(rgb).convert(mode).save(path, format="JPEG", quality=95)


def _img(i: int, name: str, h: int = SIZE, w: int = SIZE) -> dict:
    return {"id": i, "file_name": name, "width": w, "height": h}


def _square(i: int, image_id: int, x0: int, y0: int, side: int) -> dict:
    poly = [x0, y0, x0 + side, y0, x0 + side, y0 + side, x0, y0 + side]
    return {"id": i, "image_id": image_id, "category_id": 1, "iscrowd": 0, "segmentation": [poly], "area": side * side}


def _reasons(cat) -> dict[str, str]:
    return {s["ref"]: s["reason"] for s in cat.skipped}


# --- missing things: clear errors naming the path -------------------------------------------------


def test_missing_json_and_folders_name_the_path(tmp_path):
    cfg = _coco(tmp_path, [])
    with pytest.raises(SourceNotFound, match="nope.json"):
        build_catalogue({**cfg, "coco": {**cfg["coco"], "annotations": str(tmp_path / "nope.json")}}, tmp_path / "out")
    with pytest.raises(SourceNotFound, match="no_images"):
        build_catalogue({**cfg, "coco": {**cfg["coco"], "images": str(tmp_path / "no_images")}}, tmp_path / "out")
    with pytest.raises(SourceNotFound, match="no_voc"):
        build_catalogue({"kind": "coco_voc", "voc": {"root": str(tmp_path / "no_voc")}}, tmp_path / "out")
    (tmp_path / "voc" / "JPEGImages").mkdir(parents=True)
    with pytest.raises(SourceNotFound, match="SegmentationObject"):
        build_catalogue({"kind": "coco_voc", "voc": {"root": str(tmp_path / "voc")}}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", '{"annotations": []}'])
def test_bad_json_is_an_error_naming_the_file(tmp_path, text):
    cfg = _coco(tmp_path, [])
    (tmp_path / "ann.json").write_text(text)
    with pytest.raises(SourceError, match="ann.json"):
        build_catalogue(cfg, tmp_path / "out")


# --- bad files: skipped, counted and listed; the build goes on -----------------------------------


def test_corrupt_truncated_and_non_image_files_are_skipped_and_listed(tmp_path):
    rng = np.random.default_rng(0)
    cfg = _coco(
        tmp_path,
        [_img(1, "good.jpg"), _img(2, "noise.jpg"), _img(3, "truncated.jpg"), _img(4, "text.jpg"), _img(5, "gone.jpg")],
    )
    images = tmp_path / "images"
    _jpeg(images / "good.jpg", _texture(rng))
    (images / "noise.jpg").write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _jpeg(images / "full.jpg", _texture(rng))
    data = (images / "full.jpg").read_bytes()
    (images / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (images / "text.jpg").write_text("this is not an image\n")
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert cat.background_ids == ("coco:1",)
    reasons = _reasons(cat)
    for name in ("noise.jpg", "truncated.jpg", "text.jpg"):
        assert reasons[name].startswith("unreadable image") and name in reasons[name]
    assert reasons["gone.jpg"].startswith("file not found")
    assert cat.summary["counts"]["skipped"] == 4
    assert cat.summary["counts"]["skipped_by_reason"] == {"file not found": 1, "unreadable image": 3}


def test_grayscale_and_cmyk_images_become_rgb(tmp_path):
    rng = np.random.default_rng(1)
    cfg = _coco(tmp_path, [_img(1, "gray.jpg"), _img(2, "cmyk.jpg"), _img(3, "gray.png")])
    images = tmp_path / "images"
    _jpeg(images / "gray.jpg", _texture(rng), mode="L")
    _jpeg(images / "cmyk.jpg", _texture(rng), mode="CMYK")
    Image.fromarray(_texture(rng)[..., 0]).save(images / "gray.png")
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert set(cat.background_ids) == {"coco:1", "coco:2", "coco:3"}
    for bg_id, mode in (("coco:1", "L"), ("coco:2", "CMYK"), ("coco:3", "L")):
        rgb = cat.background(bg_id)
        assert rgb.shape == (SIZE, SIZE, 3) and rgb.dtype == np.float32
        assert cat.describe(bg_id)["mode"] == mode
    gray = cat.background("coco:1")
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
    np.testing.assert_array_equal(gray[..., 0], np.asarray(Image.open(images / "gray.jpg"), dtype=np.float32))
    cmyk = Image.open(images / "cmyk.jpg")
    assert cmyk.mode == "CMYK"
    np.testing.assert_array_equal(cat.background("coco:2"), np.asarray(cmyk.convert("RGB"), dtype=np.float32))


def test_small_images_are_filtered_by_min_background_size(tmp_path):
    rng = np.random.default_rng(2)
    cfg = _coco(tmp_path, [_img(1, "big.jpg"), _img(2, "small.jpg", h=20, w=100)])
    _jpeg(tmp_path / "images" / "big.jpg", _texture(rng))
    _jpeg(tmp_path / "images" / "small.jpg", _texture(rng, 20, 100))
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert cat.background_ids == ("coco:1",)
    assert "min_background_size" in _reasons(cat)["coco:2"] and "100x20" in _reasons(cat)["coco:2"]


def test_duplicate_ids_missing_files_and_bad_annotations_are_reported(tmp_path):
    rng = np.random.default_rng(3)
    images = [_img(1, "a.jpg"), _img(1, "b.jpg"), _img(2, "a.jpg"), _img(3, "c.jpg"), {"file_name": "no_id.jpg"}]
    anns = [
        _square(10, 1, 4, 4, 20),
        _square(10, 1, 30, 30, 20),  # duplicate annotation id
        _square(11, 99, 4, 4, 20),  # unknown image
        {**_square(12, 1, 4, 4, 20), "category_id": 7},  # unknown category
        _square(13, 1, 40, 40, 2),  # 4 px: below mask_min_area
        {**_square(14, 1, 4, 4, 20), "segmentation": [[1, 2, 3]]},  # degenerate polygon: empty mask
        _square(15, 3, 4, 4, 20),  # its image file is missing
    ]
    cfg = _coco(tmp_path, images, anns)
    _jpeg(tmp_path / "images" / "a.jpg", _texture(rng))
    _jpeg(tmp_path / "images" / "b.jpg", _texture(rng))
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert cat.background_ids == ("coco:1",)
    assert cat.object_ids == ("coco:1:10",)
    reasons = [s["reason"] for s in cat.skipped]
    for expected in (
        "duplicate image id 1",
        "duplicate file_name: 'a.jpg'",
        "malformed image entry",
        "duplicate annotation id 10",
        "unknown image_id 99",
        "unknown category_id 7",
        "mask smaller than mask_min_area (4 < 16 px)",
        "empty mask",
    ):
        assert any(expected in r for r in reasons), expected
    assert "file not found (and its 1 annotations)" in _reasons(cat)["c.jpg"]
    np.testing.assert_array_equal(cat.object("coco:1:10")[1], np.ones((20, 20), np.float32))


def test_json_size_mismatch_skips_the_masks_not_the_background(tmp_path):
    rng = np.random.default_rng(4)
    cfg = _coco(tmp_path, [_img(1, "a.jpg", h=48, w=SIZE)], [_square(1, 1, 4, 4, 20)])
    _jpeg(tmp_path / "images" / "a.jpg", _texture(rng))
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert cat.background_ids == ("coco:1",) and cat.object_ids == ()
    assert "JSON says 64x48" in _reasons(cat)["coco:1"]
    assert cat.summary["counts"]["skipped_by_reason"] == {"size differs from the JSON": 1}


def test_no_usable_image_at_all_is_an_error(tmp_path):
    cfg = _coco(tmp_path, [_img(1, "a.jpg"), _img(2, "b.jpg")])
    with pytest.raises(SourceError, match="none of the 2 listed images"):
        build_catalogue(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- VOC ---------------------------------------------------------------------------------------------


def _voc(tmp_path: Path, masks: dict[str, np.ndarray], rng: np.random.Generator) -> dict:
    root = tmp_path / "VOC2012"
    for sub in ("JPEGImages", "SegmentationObject", "SegmentationClass"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for stem, labels in masks.items():
        _jpeg(root / "JPEGImages" / f"{stem}.jpg", _texture(rng, *labels.shape))
        for sub in ("SegmentationObject", "SegmentationClass"):
            img = Image.fromarray(labels.astype(np.uint8), mode="P")
            img.putpalette([0, 0, 0, 128, 0, 0] * 128)
            img.save(root / sub / f"{stem}.png")
    return {"kind": "coco_voc", "voc": {"root": str(root)}, "min_object_area": 50}


def test_voc_empty_tiny_and_broken_masks_are_skipped(tmp_path):
    rng = np.random.default_rng(5)
    good = np.zeros((SIZE, SIZE), np.uint8)
    good[10:30, 10:30] = 1
    good[40:42, 40:42] = 2  # 4 px: below min_object_area
    good[9, 9:31] = 255  # void border around instance 1
    empty = np.zeros((SIZE, SIZE), np.uint8)
    empty[0:5] = 255  # only background and void
    masks = {"good": good, "empty": empty, "nojpeg": good, "rgbmask": good, "corrupt": good, "sizediff": good[:32]}
    cfg = _voc(tmp_path, masks, rng)
    root = Path(cfg["voc"]["root"])
    _jpeg(root / "JPEGImages" / "sizediff.jpg", _texture(rng))
    (root / "JPEGImages" / "nojpeg.jpg").unlink()
    Image.fromarray(np.stack([good * 100] * 3, -1)).save(root / "SegmentationObject" / "rgbmask.png")
    (root / "SegmentationObject" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert cat.object_ids == ("voc:good:1",)
    np.testing.assert_array_equal(cat.object("voc:good:1")[1], np.ones((20, 20), np.float32))
    reasons = _reasons(cat)
    assert reasons["empty"].startswith("empty mask")
    assert "min_object_area (4 < 50 px)" in reasons["voc:good:2"]
    assert reasons["nojpeg"].startswith("file not found") and "nojpeg.jpg" in reasons["nojpeg"]
    assert "expected a palette or 8-bit label PNG" in reasons["rgbmask"]
    assert reasons["corrupt"].startswith("unreadable file") and "corrupt.png" in reasons["corrupt"]
    assert "SegmentationObject mask is 64x32, photograph is 64x64" in reasons["sizediff"]
    assert cat.summary["counts"]["skipped"] == 6
    assert cat.summary["counts"]["skipped_by_reason"]["mask size differs from the photograph"] == 1


def test_voc_image_set_restricts_the_images(tmp_path):
    rng = np.random.default_rng(6)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[5:25, 5:25] = 1
    cfg = _voc(tmp_path, {"a": mask, "b": mask}, rng)
    cfg["voc"]["image_set"] = "val"
    with pytest.raises(SourceNotFound, match="val.txt"):
        build_catalogue(cfg, tmp_path / "out")
    sets = Path(cfg["voc"]["root"]) / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "val.txt").write_text("b\n")
    assert open_catalogue(build_catalogue(cfg, tmp_path / "out")).object_ids == ("voc:b:1",)


# --- the output folder and checksums --------------------------------------------------------------


def test_output_is_atomic_and_never_clobbers_foreign_folders(tmp_path):
    rng = np.random.default_rng(7)
    cfg = _coco(tmp_path, [_img(1, "a.jpg")])
    _jpeg(tmp_path / "images" / "a.jpg", _texture(rng))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SourceError, match="refusing to replace"):
        build_catalogue(cfg, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    out = build_catalogue(cfg, tmp_path / "out")
    identity = open_catalogue(out).identity
    (tmp_path / "ann.json").write_text("{broken")
    with pytest.raises(SourceError):
        build_catalogue(cfg, out)  # a failed rebuild leaves the old catalogue as it was
    assert open_catalogue(out).identity == identity
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.json", "images", "mine", "out"]


def test_a_changed_background_file_is_detected(tmp_path):
    rng = np.random.default_rng(8)
    cfg = _coco(tmp_path, [_img(1, "a.jpg")])
    _jpeg(tmp_path / "images" / "a.jpg", _texture(rng))
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    cat.background("coco:1")
    _jpeg(tmp_path / "images" / "a.jpg", _texture(rng))
    with pytest.raises(SourceError, match="changed since the catalogue was built"):
        open_catalogue(tmp_path / "out").background("coco:1")
    (tmp_path / "images" / "a.jpg").unlink()
    with pytest.raises(SourceNotFound, match="a.jpg"):
        open_catalogue(tmp_path / "out").background("coco:1")


# --- the sources config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg, key",
    [
        ({"min_background_size": 0}, "sources.min_background_size"),
        ({"cocoo": {}}, "sources.cocoo"),
        ({"kind": "imagenet"}, "sources.kind"),
        ({"coco": {"use_masks": "yes"}}, "sources.coco.use_masks"),
        ({"builtin": {"images": ["lena.png"]}}, "sources.builtin.images"),
    ],
)
def test_bad_sources_config_names_the_key(tmp_path, cfg, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build_catalogue(cfg, tmp_path / "out")


def test_coco_voc_needs_something_to_read(tmp_path):
    with pytest.raises(SourceError, match="sources.coco.annotations"):
        build_catalogue({"kind": "coco_voc"}, tmp_path / "out")
    with pytest.raises(SourceError, match="sources.coco.annotations"):
        build_catalogue({"kind": "coco_voc", "coco": {"images": str(tmp_path)}}, tmp_path / "out")


def test_an_unexpected_failure_on_one_image_is_listed_not_fatal(tmp_path, monkeypatch):
    import mmdata.sources.coco as coco

    rng = np.random.default_rng(9)
    cfg = _coco(tmp_path, [_img(1, "a.jpg"), _img(2, "b.jpg")], [_square(1, 2, 4, 4, 20)])
    _jpeg(tmp_path / "images" / "a.jpg", _texture(rng))
    _jpeg(tmp_path / "images" / "b.jpg", _texture(rng))

    def explode(*args, **kwargs):
        raise RuntimeError("decoder bug")

    monkeypatch.setattr(coco, "_decode", explode)
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out"))
    assert cat.background_ids == ("coco:1",)
    assert _reasons(cat)["b.jpg"] == "unexpected RuntimeError: decoder bug"


# --- listed files must stay inside their folder, be regular and not too large --------------------


def _spy_reads(monkeypatch) -> list[Path]:
    """Record every path read with Path.read_bytes or opened with open() in this process."""
    import builtins

    seen: list[Path] = []
    real_read, real_open = Path.read_bytes, builtins.open

    def read_bytes(self):
        seen.append(Path(self).resolve())
        return real_read(self)

    def spy_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            seen.append(Path(file).resolve())
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(builtins, "open", spy_open)
    return seen


def test_coco_file_names_outside_the_folder_or_special_are_skipped_unopened(tmp_path, monkeypatch):
    import os

    rng = np.random.default_rng(11)
    outside = tmp_path / "secret.jpg"
    _jpeg(outside, _texture(rng))  # a decodable image: following the name would "work"
    names = {
        1: "good.jpg",
        2: "../secret.jpg",
        3: str(outside),
        4: "/etc/shadow",
        5: "/proc/self/environ",
        6: "/dev/zero",
        7: "link.jpg",  # a link inside the folder that points outside
        8: "fifo.jpg",  # a special file inside the folder (reading it would block)
        9: "big.jpg",
    }
    cfg = _coco(tmp_path, [_img(i, n) for i, n in names.items()])
    cfg["max_file_bytes"] = 20_000
    images = tmp_path / "images"
    _jpeg(images / "good.jpg", _texture(rng))
    os.symlink("/dev/zero", images / "link.jpg")
    os.mkfifo(images / "fifo.jpg")
    Image.fromarray(_texture(rng, 256, 256)).save(images / "big.jpg", format="PNG")  # > 20 kB
    seen = _spy_reads(monkeypatch)
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out", workers=1))
    assert cat.background_ids == ("coco:1",)
    reasons = _reasons(cat)
    assert "outside" in reasons["coco:2"] and "absolute path" in reasons["coco:3"]
    for i in (4, 5, 6):
        assert "absolute path" in reasons[f"coco:{i}"]
    assert "outside" in reasons["coco:7"] and "not a regular file" in reasons["coco:8"]
    assert "more than sources.max_file_bytes (20000)" in reasons["coco:9"]
    assert (images / "good.jpg").resolve() in seen  # the spy sees the reads of this build
    for path in (outside, Path("/etc/shadow"), Path("/proc/self/environ"), Path("/dev/zero"), images / "fifo.jpg", images / "big.jpg"):
        assert path.resolve() not in seen, path


def test_voc_image_set_lines_outside_the_folders_are_skipped_unopened(tmp_path, monkeypatch):
    rng = np.random.default_rng(12)
    good = np.zeros((SIZE, SIZE), np.uint8)
    good[10:30, 10:30] = 1
    cfg = _voc(tmp_path, {"a": good}, rng)
    root = Path(cfg["voc"]["root"])
    escaped = tmp_path / "x"
    _jpeg(tmp_path / "x.jpg", _texture(rng))
    Image.fromarray(good, mode="P").save(tmp_path / "x.png")
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "trainval.txt").write_text(f"a\n../../x\n{escaped}\n/dev/zero\n")
    cfg["voc"]["image_set"] = "trainval"
    seen = _spy_reads(monkeypatch)
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "out", workers=1))
    assert cat.object_ids == ("voc:a:1",)
    reasons = _reasons(cat)
    assert "outside" in reasons["../../x"] and "absolute path" in reasons[str(escaped)] and "absolute path" in reasons["/dev/zero"]
    assert (root / "JPEGImages" / "a.jpg").resolve() in seen
    for path in (tmp_path / "x.jpg", tmp_path / "x.png", Path("/dev/zero")):
        assert path.resolve() not in seen, path

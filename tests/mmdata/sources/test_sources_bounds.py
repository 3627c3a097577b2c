"""Sizes read from annotations and image headers are bounded before anything is allocated.

Hostile COCO annotations (polygons far outside the image, RLE masks of 100000 x 100000 pixels or
with runs past the image's end), images whose header declares 12000 x 12000 pixels, and source
lists without any image, each through ``mmdata sources build`` the way a user runs it; the cases
whose risk is memory run in a child process with a memory limit.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

import mmdata
from mmdata.cli import main
from mmdata.errors import SourceError, SourceTooLarge
from mmdata.sources import build_catalogue, open_catalogue
from mmdata.sources.coco import _decode, rle_string_counts
from mmdata.sources.images import read_image
from mmdata.sources.voc import read_label_png

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SIZE = 64
MEMORY_LIMIT = 1536 * 2**20  # address space of the child: ample for a build of 64-px images


def _jpeg(path: Path, seed: int) -> None:
    rgb = np.random.default_rng(seed).integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, format="JPEG", quality=95)


def _coco(tmp_path: Path, annotations: list[dict], images: list[dict] | None = None) -> Path:
    """Two 64x64 COCO images (ids 1, 2) and ``annotations`` on them; returns the JSON's path."""
    (tmp_path / "images").mkdir(exist_ok=True)
    if images is None:
        images = [{"id": i, "file_name": f"{i}.jpg", "width": SIZE, "height": SIZE} for i in (1, 2)]
        for i in (1, 2):
            _jpeg(tmp_path / "images" / f"{i}.jpg", seed=i)
    doc = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "thing"}]}
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    return path


def _ann(i: int, segmentation) -> dict:
    return {"id": i, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": segmentation, "area": 1}


def _square(x0: float, y0: float, side: float) -> list[list[float]]:
    return [[x0, y0, x0 + side, y0, x0 + side, y0 + side, x0, y0 + side]]


def _build_argv(tmp_path: Path, ann: Path) -> list[str]:
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  min_background_size: 32\n  coco: {mask_min_area: 16}\n")
    return ["sources", "build", "--config", str(config), "--coco-json", str(ann), "--coco-images", str(tmp_path / "images"),
            "--coco-masks", "-o", str(tmp_path / "cat")]


def _run_limited(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """``mmdata ARGV`` in a child process limited to :data:`MEMORY_LIMIT` of address space."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    root = str(Path(mmdata.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mmdata.cli", "-q", *argv], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=env)


def _skips(cat_dir: Path) -> dict[str, str]:
    return {s["ref"]: s["reason"] for s in open_catalogue(cat_dir).skipped}


# --- COCO segmentations ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_polygon_far_outside_the_image_is_skipped_not_a_crash(tmp_path):
    ann = _coco(tmp_path, [_ann(10, _square(1e12, 1e12, 1e12)), _ann(11, _square(4, 4, 40))])
    run = _run_limited(_build_argv(tmp_path, ann))
    assert run.returncode == 0, run.stderr
    assert "1 objects, 1 skipped" in run.stdout, run.stdout
    reason = _skips(tmp_path / "cat")["coco:1:10"]
    assert reason.startswith("malformed segmentation: polygon reaches (1e+12, 1e+12)") and "outside the 64x64 image" in reason


@pytest.mark.parametrize(
    "segmentation, message",
    [
        ([[0, 0, 10, 0, float("nan"), 10]], "finite"),
        ([[0, 0, 10, 0, "10", 10]], "numbers"),
        (_square(-20, 0, 10), "outside the 64x64 image"),
        ([[0, 0, 64, 64] * 200], "outline longer than"),
    ],
)
def test_bad_polygons_are_refused_before_pycocotools(segmentation, message):
    with pytest.raises(ValueError, match=message):
        _decode(segmentation, SIZE, SIZE)


def test_polygons_near_the_image_still_decode():
    mask = _decode(_square(-2, -2, 20) + _square(50, 50, 20), SIZE, SIZE)  # overshooting by a little
    assert mask[:18, :18].all() and mask[50:, 50:].all() and mask.sum() == 18 * 18 + 14 * 14


@pytest.mark.timeout(60)
def test_huge_rle_mask_is_skipped_within_a_memory_limit(tmp_path):
    huge = {"size": [100000, 100000], "counts": [0, 100000 * 100000]}
    ann = _coco(tmp_path, [_ann(10, huge), _ann(11, _square(4, 4, 40))])
    run = _run_limited(_build_argv(tmp_path, ann))
    assert run.returncode == 0, run.stderr
    reason = _skips(tmp_path / "cat")["coco:1:10"]
    assert reason == "malformed segmentation: RLE size 100000x100000 (width x height) differs from the 64x64 image"


@pytest.mark.parametrize(
    "counts, message",
    [
        ([0, SIZE * SIZE * 50], "runs sum to 204800"),  # pycocotools would write past its buffer
        ([10, -5, SIZE * SIZE - 5], "negative"),
        ("0\x7f", "character"),
        ("0h", "middle of a number"),
        ([1.5, 2], "list of integers"),
    ],
)
def test_bad_rle_runs_are_refused(counts, message):
    with pytest.raises(ValueError, match=message):
        _decode({"size": [SIZE, SIZE], "counts": counts}, SIZE, SIZE)


def test_compressed_rle_decodes_as_pycocotools_does():
    rng = np.random.default_rng(3)
    mask = np.asfortranarray(rng.random((SIZE, 48)) < 0.3, dtype=np.uint8)
    rle = mask_utils.encode(mask)
    assert mask_utils.frPyObjects({"size": [SIZE, 48], "counts": rle_string_counts(rle["counts"])}, SIZE, 48) == rle
    np.testing.assert_array_equal(_decode({"size": rle["size"], "counts": rle["counts"].decode()}, SIZE, 48), mask.astype(bool))
    runs = rle_string_counts(rle["counts"])
    assert sum(runs) == SIZE * 48 and all(r >= 0 for r in runs)
    np.testing.assert_array_equal(_decode({"size": [SIZE, 48], "counts": runs}, SIZE, 48), mask.astype(bool))


# --- image headers -------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_declaring(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header declares ``width`` x ``height`` grayscale pixels (its data is a few rows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 8, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))


@pytest.mark.timeout(60)
def test_png_declaring_12000_squared_is_skipped_before_decoding(tmp_path):
    (tmp_path / "images").mkdir()
    _png_declaring(tmp_path / "images" / "bomb.png", 12000, 12000)
    assert (tmp_path / "images" / "bomb.png").stat().st_size < 2048
    _jpeg(tmp_path / "images" / "ok.jpg", seed=5)
    images = [{"id": 1, "file_name": "bomb.png", "width": 12000, "height": 12000},
              {"id": 2, "file_name": "ok.jpg", "width": SIZE, "height": SIZE}]
    ann = _coco(tmp_path, [], images=images)
    run = _run_limited(_build_argv(tmp_path, ann))
    assert run.returncode == 0, run.stderr
    assert "1 backgrounds, 0 objects, 1 skipped" in run.stdout, run.stdout
    reason = _skips(tmp_path / "cat")["bomb.png"]
    assert reason.startswith("image too large: ") and "declares 12000x12000 pixels, more than sources.max_image_side (8192)" in reason
    assert open_catalogue(tmp_path / "cat").summary["counts"]["skipped_by_reason"] == {"image too large": 1}


def test_max_image_side_is_a_config_key(tmp_path):
    _png_declaring(tmp_path / "wide.png", 300, 20)
    with pytest.raises(SourceTooLarge, match=r"wide\.png: declares 300x20 pixels, more than sources.max_image_side \(256\)"):
        read_image(tmp_path / "wide.png", max_side=256)
    with pytest.raises(SourceTooLarge, match="declares 300x20"):
        read_label_png(tmp_path / "wide.png", max_side=256)
    Image.fromarray(np.full((20, 300), 7, np.uint8)).save(tmp_path / "fine.png")
    assert read_image(tmp_path / "fine.png", max_side=300).rgb.shape == (20, 300, 3)  # within the bound
    assert read_label_png(tmp_path / "fine.png", max_side=300)[0].shape == (20, 300)


def test_voc_mask_declaring_a_huge_size_is_skipped(tmp_path):
    root = tmp_path / "VOC2012"
    for d in ("JPEGImages", "SegmentationObject"):
        (root / d).mkdir(parents=True)
    _jpeg(root / "JPEGImages" / "a.jpg", seed=1)
    _png_declaring(root / "SegmentationObject" / "a.png", 20000, 20000)  # beyond PIL's own bomb limit too
    cfg = {"kind": "coco_voc", "voc": {"root": str(root)}}
    cat = open_catalogue(build_catalogue(cfg, tmp_path / "cat", progress=False))
    assert cat.summary["counts"]["skipped_by_reason"] == {"image too large": 1}
    assert "a.png: declares too many pixels" in _skips(tmp_path / "cat")["a"]


# --- empty sources and the temporary folder -----------------------------------------------------------


@pytest.mark.timeout(30)
def test_empty_image_list_is_an_error(tmp_path, capsys):
    ann = _coco(tmp_path, [], images=[])
    assert main(_build_argv(tmp_path, ann)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mmdata sources: error: "), err
    assert "lists no usable images" in err and str(ann) in err, err
    assert not (tmp_path / "cat").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.json", "images", "sources.yaml"]  # no temporary folder


def test_image_list_of_only_bad_entries_is_an_error(tmp_path):
    ann = _coco(tmp_path, [], images=[{"id": 1}, {"id": 1, "file_name": "../x.jpg"}])
    with pytest.raises(SourceError, match=r"lists no usable images \(all 2 entries skipped"):
        build_catalogue({"kind": "coco_voc", "coco": {"annotations": str(ann), "images": str(tmp_path / "images")}}, tmp_path / "cat")


def test_empty_voc_folder_is_an_error(tmp_path):
    root = tmp_path / "VOC2012"
    for d in ("JPEGImages", "SegmentationObject"):
        (root / d).mkdir(parents=True)
    with pytest.raises(SourceError, match=r"SegmentationObject: lists no usable images"):
        build_catalogue({"kind": "coco_voc", "voc": {"root": str(root)}}, tmp_path / "cat")


def test_a_crashed_build_leaves_no_temporary_folder(tmp_path, monkeypatch):
    from mmdata.sources import build as build_module

    ann = _coco(tmp_path, [_ann(11, _square(4, 4, 40))])
    stale = tmp_path / ".cat.tmp-0badc0de"  # left by a build that was killed (SIGKILL, OOM)
    (stale / "objects.zarr").mkdir(parents=True)
    cfg = {"kind": "coco_voc", "min_background_size": 32,
           "coco": {"annotations": str(ann), "images": str(tmp_path / "images"), "use_masks": True}}

    def crash(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(build_module, "_document", crash)
    with pytest.raises(MemoryError):
        build_catalogue(cfg, tmp_path / "cat", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.json", "images"]  # the stale one removed too
    monkeypatch.undo()
    assert open_catalogue(build_catalogue(cfg, tmp_path / "cat", progress=False)).summary["counts"]["backgrounds"] == 2


# --- OS errors name the catalogue -----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_full_disk_during_build_names_the_catalogue(tmp_path, capsys, monkeypatch):
    import errno

    from mmdata.sources.bank import ObjectBankWriter

    def enospc(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ObjectBankWriter, "append", enospc)
    ann = _coco(tmp_path, [_ann(11, _square(4, 4, 40))])
    assert main(_build_argv(tmp_path, ann)) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"mmdata sources: error: {tmp_path / 'cat'}: cannot write the catalogue ([Errno 28] No space left on device)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.json", "images", "sources.yaml"]  # no temporary folder

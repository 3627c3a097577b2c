"""``mmdata sources build`` / ``mmdata sources show`` driven as a user does, through ``main``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from mmdata.cli import main
from mmdata.sources import open_catalogue

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_build_coco_and_voc_from_the_command_line(shared_data, tmp_path, capsys):
    out = tmp_path / "cat"
    coco = shared_data / "coco_clarifai"
    argv = [
        "sources",
        "build",
        "--coco-json",
        str(coco / "annotations" / "instances_val2017_subset.json"),
        "--coco-images",
        str(coco / "images"),
        "--voc-root",
        str(shared_data / "voc_icevision"),
        "-o",
        str(out),
        "--workers",
        "2",
    ]
    assert main(argv) == 0
    cat = open_catalogue(out)
    assert cat.kind == "coco_voc"
    assert len(cat.background_ids) == 10
    assert sorted(cat.object_ids) == ["voc:2007_000063:1", "voc:2007_000063:2"]  # COCO masks are off by default
    printed = capsys.readouterr().out
    assert "10 backgrounds, 2 objects" in printed and cat.identity in printed


def test_build_reads_the_sources_section_of_a_config(shared_data, tmp_path):
    config = tmp_path / "config.yaml"
    sources = {
        "kind": "coco_voc",
        "min_object_size": 1,
        "coco": {
            "annotations": str(shared_data / "coco_labelme" / "annotations.json"),
            "images": str(shared_data / "coco_labelme"),
            "use_masks": True,
            "mask_min_area": 1000,
        },
    }
    config.write_text(yaml.safe_dump({"sources": sources}))
    assert main(["sources", "build", "--config", str(config), "-o", str(tmp_path / "cat")]) == 0
    cat = open_catalogue(tmp_path / "cat")
    assert len(cat.background_ids) == 3 and len(cat.object_ids) == 10
    assert cat.summary["thresholds"]["coco.mask_min_area"] == 1000


def test_show_prints_counts_and_writes_a_contact_sheet(builtin_catalogue, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert main(["sources", "show", "--catalogue", str(builtin_catalogue), "--sheet", str(sheet), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    cat = open_catalogue(builtin_catalogue)
    assert f"backgrounds: {len(cat.background_ids)}" in printed and f"objects:     {len(cat.object_ids)}" in printed
    img = np.asarray(Image.open(sheet))
    assert img.shape[1] == 8 * 128 and img.shape[0] == 5 * (128 + 14)  # 8 backgrounds + 32 objects, 8 a row
    assert img.std() > 20  # real pictures, not a blank page
    again = tmp_path / "again.png"
    assert main(["sources", "show", "--catalogue", str(builtin_catalogue), "--sheet", str(again), "--seed", "3"]) == 0
    assert again.read_bytes() == sheet.read_bytes()
    capsys.readouterr()
    assert main(["sources", "show", "--catalogue", str(builtin_catalogue), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["identity"] == cat.identity


@pytest.mark.parametrize(
    "argv_tail, fragment",
    [
        (["--coco-json", "{missing}/x.json", "--coco-images", "{missing}"], "x.json"),
        (["--voc-root", "{missing}/VOC2012"], "VOC2012"),
        (["--config", "{missing}/c.yaml"], "c.yaml"),
    ],
)
def test_bad_paths_exit_2_with_the_path_named(tmp_path, capsys, argv_tail, fragment):
    argv = ["sources", "build", "-o", str(tmp_path / "out")] + [
        a.format(missing=tmp_path / "missing") for a in argv_tail
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err and fragment in err and str(tmp_path / "missing") in err
    assert not (tmp_path / "out").exists()
    assert main(["sources", "show", "--catalogue", str(tmp_path / "missing")]) == 2
    assert "catalogue not found" in capsys.readouterr().err

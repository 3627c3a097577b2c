"""Export to the authors' layout and import from it: exact round trip of frames and alpha."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from store_helpers import small_config, tree_snapshot

from mmdata import open_dataset
from mmdata.cli import main
from mmdata.store.generate import GenerateSpec, generate_shard
from mmdata.store.provenance import params_from_json

CONFIG = small_config(dataset={"shard_size": 3, "parts": {"fg_bg": 5, "bg_only": 2, "blur_bg": 0, "static": 0, "fg_only": 0}})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, catalogue) -> Path:
    root = tmp_path_factory.mktemp("official") / "ds"
    for part, shard in ((1, 0), (1, 1), (2, 0)):
        generate_shard(GenerateSpec.from_config(CONFIG), catalogue, root, part, shard)
    assert main(["-q", "index", "--root", str(root)]) == 0
    return root


def test_export_writes_the_authors_layout(dataset, tmp_path):
    out = tmp_path / "official"
    assert main(["-q", "export-official", "--root", str(dataset), "-o", str(out)]) == 0
    ds = open_dataset(dataset)
    fields = ds.fields
    for n in range(7):
        for folder, field in (("frameA", "frame_a"), ("frameB", "frame_b_perturbed"), ("frameC", "frame_b"), ("amplified", "frame_y_perturbed")):
            png = np.asarray(Image.open(out / folder / f"{n:06d}.png"))
            np.testing.assert_array_equal(png, fields[field][n].compute())
        meta = json.loads((out / "meta" / f"{n:06d}.json").read_text())
        assert np.float32(meta["amplification_factor"]) == fields["alpha"][n].compute()
    factors = np.loadtxt(out / "train_mf.txt")  # as the authors' readers load it
    np.testing.assert_array_equal(factors.astype(np.float32), fields["alpha"].compute())
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_export_import_round_trip_is_exact(dataset, tmp_path):
    out, root = tmp_path / "official", tmp_path / "imported"
    assert main(["-q", "export-official", "--root", str(dataset), "-o", str(out)]) == 0
    assert main(["-q", "import-official", str(out), "--root", str(root), "--shard-size", "2"]) == 0
    assert main(["-q", "index", "--root", str(root)]) == 0
    before, after = open_dataset(dataset), open_dataset(root)
    assert len(after) == len(before) == 7
    for name in ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed", "alpha", "part", "index"):
        np.testing.assert_array_equal(after.fields[name].compute(), before.fields[name].compute(), err_msg=name)
    assert "frame_y" not in after.fields  # the authors' layout has no unperturbed target
    assert main(["-q", "audit", "--root", str(root)]) == 0  # checksums of imported samples


def test_import_without_meta_goes_to_one_part_in_file_order(dataset, tmp_path):
    out, root = tmp_path / "official", tmp_path / "imported"
    assert main(["-q", "export-official", "--root", str(dataset), "-o", str(out)]) == 0
    shutil.rmtree(out / "meta")
    assert main(["-q", "import-official", str(out), "--root", str(root), "--part", "3"]) == 0
    assert main(["-q", "index", "--root", str(root)]) == 0
    ds = open_dataset(root)
    assert [s.part for s in ds.shards] == [3] and list(ds.fields["index"].compute()) == list(range(7))
    np.testing.assert_array_equal(ds.fields["frame_a"].compute(), open_dataset(dataset).fields["frame_a"].compute())


def test_bad_inputs(dataset, tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert main(["-q", "export-official", "--root", str(dataset), "-o", str(busy)]) == 2
    assert f"{busy}: exists and is not empty" in capsys.readouterr().err
    assert tree_snapshot(busy) == {"keep.txt": b"mine"}
    assert main(["-q", "import-official", str(tmp_path / "nothing"), "--root", str(tmp_path / "r")]) == 2
    assert "train_mf.txt: not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


CUSTOM_CONFIG = small_config(dataset={
    "shard_size": 2, "parts": {"fg_bg": 2, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0, "still_bg": 3},
    "custom_parts": {"still_bg": {"number": 6, "recipe": "fg_bg", "background_moves": False}},
})


def test_custom_parts_survive_export_and_import(catalogue, tmp_path):
    """A custom part (number 6) goes out with its number and name in meta and comes back as that part."""
    root, out, back = tmp_path / "ds", tmp_path / "official", tmp_path / "imported"
    for part, shard in ((1, 0), (6, 0), (6, 1)):
        generate_shard(GenerateSpec.from_config(CUSTOM_CONFIG), catalogue, root, part, shard)
    assert main(["-q", "index", "--root", str(root)]) == 0
    assert main(["-q", "export-official", "--root", str(root), "-o", str(out)]) == 0
    assert json.loads((out / "meta" / "000002.json").read_text())["part_name"] == "still_bg"
    assert main(["-q", "import-official", str(out), "--root", str(back)]) == 0
    assert main(["-q", "index", "--root", str(back)]) == 0
    manifest = json.loads((back / "manifest.json").read_text())
    assert {k: (v["name"], v["count"]) for k, v in manifest["parts"].items()} == {"1": ("fg_bg", 2), "6": ("still_bg", 3)}
    before, after = open_dataset(root, parts=["still_bg"]), open_dataset(back, parts=["still_bg"])
    for name in ("frame_a", "frame_y_perturbed", "alpha", "part", "index"):
        np.testing.assert_array_equal(after.fields[name].compute(), before.fields[name].compute(), err_msg=name)


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"part": 6}, "part 6 is a custom part, but part_name None"),
        ({"part": 6, "part_name": "fg_bg"}, "part 6 is a custom part, but part_name 'fg_bg'"),
        ({"part": 300, "part_name": "big"}, "unknown part 300"),
    ],
)
def test_a_custom_part_needs_its_name_in_meta(dataset, tmp_path, capsys, meta, message):
    out = tmp_path / "official"
    assert main(["-q", "export-official", "--root", str(dataset), "-o", str(out)]) == 0
    (out / "meta" / "000000.json").write_text(json.dumps({"amplification_factor": 2.0, "index": 0, **meta}))
    assert main(["-q", "import-official", str(out), "--root", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err


AXIAL_CONFIG = small_config(dataset={
    "shard_size": 3, "parts": {"fg_bg": 3, "bg_only": 2, "blur_bg": 0, "static": 0, "fg_only": 0},
    "axial": {"enabled": True, "theta_deg": {"min": 0.0, "max": 180.0}, "ratio": {"min": 0.0, "max": 0.8}},
})


@pytest.fixture(scope="module")
def axial_dataset(tmp_path_factory: pytest.TempPathFactory, catalogue) -> Path:
    root = tmp_path_factory.mktemp("axial") / "ds"
    for part in (1, 2):
        generate_shard(GenerateSpec.from_config(AXIAL_CONFIG), catalogue, root, part, 0)
    assert main(["-q", "index", "--root", str(root)]) == 0
    return root


def test_an_axial_export_writes_per_pixel_factor_maps(axial_dataset, tmp_path):
    out = tmp_path / "official"
    assert main(["-q", "export-official", "--root", str(axial_dataset), "-o", str(out)]) == 0
    fields = open_dataset(axial_dataset).fields
    rows = np.loadtxt(out / "train_axial.txt", ndmin=2)
    assert rows.shape == (5, 3)
    for n in range(5):
        params = params_from_json(str(fields["params_json"][n].compute()))
        maps = np.load(out / "axial" / f"{n:06d}.npy")
        assert maps.shape == (32, 32, 2) and maps.dtype == np.float32
        assert np.all(maps[..., 0] == np.float32(params.alpha)) and np.all(maps[..., 1] == np.float32(params.alpha_y))
        meta = json.loads((out / "meta" / f"{n:06d}.json").read_text())
        assert (np.float32(meta["theta"]), np.float32(meta["alpha_x"]), np.float32(meta["alpha_y"])) == (
            np.float32(params.theta), np.float32(params.alpha), np.float32(params.alpha_y))
        assert meta["amplification_factor"] == meta["alpha_x"]  # the authors' readers see the factor along theta
        np.testing.assert_array_equal(rows[n].astype(np.float32), np.float32([params.alpha, params.alpha_y, params.theta]))


def test_an_axial_export_imports_back_exactly(axial_dataset, tmp_path, capsys):
    out, back = tmp_path / "official", tmp_path / "imported"
    assert main(["-q", "export-official", "--root", str(axial_dataset), "-o", str(out)]) == 0
    assert main(["-q", "import-official", str(out), "--root", str(back)]) == 0
    assert main(["-q", "index", "--root", str(back)]) == 0
    before, after = open_dataset(axial_dataset).fields, open_dataset(back).fields
    for name in ("frame_a", "frame_b_perturbed", "alpha", "theta", "alpha_x", "alpha_y"):
        np.testing.assert_array_equal(after[name].compute(), before[name].compute(), err_msg=name)
    assert main(["-q", "audit", "--root", str(back)]) == 0
    (out / "train_axial.txt").unlink()  # maps without their factor list are refused, not imported as scalar
    assert main(["-q", "import-official", str(out), "--root", str(tmp_path / "r")]) == 2
    assert "train_axial.txt: not found" in capsys.readouterr().err

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
from mmdata.store.generate import generate_shard

CONFIG = small_config(dataset={"shard_size": 3, "parts": {"fg_bg": 5, "bg_only": 2, "blur_bg": 0, "static": 0, "fg_only": 0}})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, catalogue) -> Path:
    root = tmp_path_factory.mktemp("official") / "ds"
    for part, shard in ((1, 0), (1, 1), (2, 0)):
        generate_shard(CONFIG, catalogue, root, part, shard)
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

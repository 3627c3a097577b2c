"""Custom parts (dataset.custom_parts) go through the store like the built-in ones, driven as a user does:
generate, index, open, audit (byte for byte, and failing on a changed recipe) and explain."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from store_helpers import builtin_catalogue_dir, small_config, write_config

import mmdata
from mmdata.cli import main
from mmdata.store import shard_path
from mmdata.store.audit import audit_dataset
from mmdata.store.integrity import ATTRS_KEY, attrs_digest
from mmdata.store.provenance import params_from_json

CUSTOM = {"still_bg": {"number": 6, "recipe": "fg_bg", "background_moves": False, "count_min": 1}}
PARTS = {"fg_bg": 2, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0, "still_bg": 2}


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builtin_catalogue_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, catalogue_dir: Path) -> Path:
    tmp = tmp_path_factory.mktemp("custom")
    config = write_config(tmp / "c.yaml", small_config(dataset={"shard_size": 2, "parts": PARTS, "custom_parts": CUSTOM}))
    out = tmp / "ds"
    for part in ("still_bg", "1"):
        assert main(["-q", "generate", "--config", str(config), "--catalogue", str(catalogue_dir),
                     "--part", part, "--shard", "0", "--root", str(out)]) == 0
    assert main(["-q", "index", "--root", str(out)]) == 0
    return out


def test_a_custom_part_is_stored_indexed_and_opened_by_name(root):
    assert shard_path(root, 6, 0).is_dir()
    ds = mmdata.open_dataset(root, parts=["still_bg"])
    assert len(ds) == 2 and ds.manifest["parts"]["6"]["name"] == "still_bg"
    run = ds.read_run(0, 0, 2, ["part", "index", "params_json"])
    assert list(run["part"]) == [6, 6] and list(run["index"]) == [0, 1]
    for text in run["params_json"]:
        params = params_from_json(str(text))
        assert params.seed == (3, 6, params.index) and params.background.motion == (0.0, 0.0)
        assert 1 <= len(params.objects) <= 3 and any(o.motion != (0.0, 0.0) for o in params.objects)
    assert len(mmdata.open_dataset(root)) == 4 and len(mmdata.open_dataset(root, parts=[6, 1])) == 4


def test_a_custom_part_audits_byte_for_byte_and_is_explained_with_its_recipe(root, capsys):
    report = audit_dataset(root, rng=np.random.default_rng(0))
    assert report.ok, report.text()
    assert report.samples_rendered >= 2
    capsys.readouterr()
    assert main(["-q", "explain", "--root", str(root), "--part", "still_bg", "--index", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sample 1 of part 6 (still_bg)")
    assert "  custom part still_bg: recipe fg_bg with background_moves false, objects 1-3" in out


def test_a_changed_recipe_fails_the_audit(root, tmp_path):
    flipped = tmp_path / "ds"
    shutil.copytree(root, flipped)
    group = zarr.open_group(str(shard_path(flipped, 6, 0)), mode="r+")
    attrs = copy.deepcopy(group.attrs.asdict())
    attrs["config"]["dataset"]["custom_parts"]["still_bg"]["background_moves"] = True
    attrs[ATTRS_KEY] = attrs_digest(attrs)
    group.attrs.update(attrs)
    report = audit_dataset(flipped, rng=np.random.default_rng(0), samples=4)
    assert not report.ok
    custom = [p for p in report.problems if p.part == 6]
    assert custom and all("part 6 (still_bg)" in str(p) for p in custom), report.text()
    assert {p.index for p in custom if "recorded parameters differ from a fresh draw" in p.what} == {0, 1}, report.text()

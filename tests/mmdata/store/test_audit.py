"""Audit and explain, driven through the ``mmdata`` CLI as a user runs them."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import zarr
from store_helpers import builtin_catalogue_dir, small_config, write_config

from mmdata.cli import main
from mmdata.sources import open_catalogue
from mmdata.store import shard_path

CONFIG = small_config(dataset={"shard_size": 4, "parts": {"fg_bg": 8, "bg_only": 4, "blur_bg": 0, "static": 0, "fg_only": 0}})


@pytest.fixture(scope="module")
def catalogue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builtin_catalogue_dir(tmp_path_factory)


def _generate(cfg_path: Path, catalogue_dir: Path, root: Path, part: int, shard: int) -> None:
    args = ["-q", "generate", "--config", str(cfg_path), "--catalogue", str(catalogue_dir), "--part", str(part), "--shard", str(shard), "--root", str(root)]
    assert main(args) == 0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, catalogue_dir: Path) -> Path:
    """Part 1 as two shards of 4, part 2 as one shard of 4; indexed."""
    base = tmp_path_factory.mktemp("audit")
    cfg_path = write_config(base / "c.yaml", CONFIG)
    root = base / "ds"
    for part, shard in ((1, 0), (1, 1), (2, 0)):
        _generate(cfg_path, catalogue_dir, root, part, shard)
    assert main(["-q", "index", "--root", str(root)]) == 0
    return root


def test_audit_passes_on_a_fresh_dataset(dataset, capsys):
    assert main(["-q", "audit", "--root", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit PASSED: 3 shards, 12 samples checked, 12 re-rendered, 0 problem(s)")
    assert main(["-q", "audit", "--root", str(dataset), "--samples", "3", "--seed", "5"]) == 0
    assert "12 samples checked, 3 re-rendered" in capsys.readouterr().out  # every sample's bytes, always


def test_audit_names_the_sample_whose_frame_lost_one_byte(dataset, tmp_path, capsys):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    frame_b = zarr.open_group(str(shard_path(root, 1, 1)), mode="r+")["frame_b"]
    value = int(frame_b[1, 5, 7, 2])
    frame_b[1, 5, 7, 2] = (value + 1) % 256  # one byte of one frame of sample 5 (shard 1, offset 1)
    assert main(["-q", "audit", "--root", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("audit FAILED")
    problems = [line for line in lines[1:] if not line.strip().startswith("note:")]
    assert problems and all("part 1 (fg_bg) shard 0001 index 5 " in line for line in problems)
    assert any("frame_b: 1 byte(s) differ from the re-render" in line for line in problems)
    assert any("frame_b: stored bytes do not match the recorded sha256" in line for line in problems)


def test_audit_reports_a_missing_shard(dataset, tmp_path, capsys):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    gone = shard_path(root, 2, 0)
    shutil.rmtree(gone)
    assert main(["-q", "audit", "--root", str(root), "--samples", "1"]) == 1
    out = capsys.readouterr().out
    assert f"part 2 (bg_only) shard 0000 [{gone}]: shard store not found" in out
    # re-indexed without it, the config still asks for the part: the shard is reported missing
    assert main(["-q", "index", "--root", str(root)]) == 0
    assert json.loads((root / "card" / "card.json").read_text())["parts"]["2"]["samples"] == 0
    assert main(["-q", "audit", "--root", str(root), "--samples", "1"]) == 1
    assert f"part 2 (bg_only) shard 0000 [{root / 'part2'}]: shard missing (the config asks for it)" in capsys.readouterr().out


def test_explain_names_the_sources_the_test_chose(tmp_path, catalogue_dir, monkeypatch, capsys):
    """Replace the sampler's choice of sources for every sample; explain must name exactly those."""
    import mmdata.render.composite

    catalogue = open_catalogue(catalogue_dir)
    bg_id, obj_ids = catalogue.background_ids[-1], list(catalogue.object_ids[-2:])
    draw = mmdata.render.composite.sample_params

    def chosen(spec, part, index, cat):
        p = draw(spec, part, index, cat)
        objects = tuple(dataclasses.replace(p.objects[0], source_id=obj_id) for obj_id in obj_ids)
        return dataclasses.replace(p, background=dataclasses.replace(p.background, source_id=bg_id), objects=objects)

    monkeypatch.setattr(mmdata.render.composite, "sample_params", chosen)
    cfg_path = write_config(tmp_path / "c.yaml", CONFIG)
    root = tmp_path / "ds"
    _generate(cfg_path, catalogue_dir, root, 1, 1)
    capsys.readouterr()
    assert main(["-q", "explain", "--root", str(root), "--part", "fg_bg", "--index", "6"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("sample 6 of part 1 (fg_bg)")
    for source_id in (bg_id, *obj_ids):
        assert source_id in text
        assert Path(catalogue.describe(source_id)["file"]).name in text  # the source file, in human terms
    assert "git commit" in text and "SeedSequence([3, 1, 6])" in text
    assert main(["-q", "explain", "--root", str(root), "--part", "1", "--index", "6", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["background"]["source_id"] == bg_id and [o["source_id"] for o in doc["objects"]] == obj_ids
    assert doc["background"]["source"]["file"] == catalogue.describe(bg_id)["file"]
    # the audit notices that these parameters are not what the seed draws
    monkeypatch.setattr(mmdata.render.composite, "sample_params", draw)
    assert main(["-q", "index", "--root", str(root)]) == 0
    assert main(["-q", "audit", "--root", str(root), "--samples", "1"]) == 1
    assert "recorded parameters differ from a fresh draw" in capsys.readouterr().out
    assert main(["-q", "explain", "--root", str(root), "--part", "1", "--index", "99"]) == 2
    assert "no shard holds index 99" in capsys.readouterr().err


def test_index_writes_manifest_and_card(dataset):
    from PIL import Image

    from mmdata import open_dataset

    manifest = json.loads((dataset / "manifest.json").read_text())
    assert [(s["part"], s["shard"], s["start"], s["count"]) for s in manifest["shards"]] == [(1, 0, 0, 4), (1, 1, 4, 4), (2, 0, 0, 4)]
    assert manifest["catalogue_identity"] == open_catalogue(manifest_catalogue(dataset)).identity
    card = json.loads((dataset / "card" / "card.json").read_text())
    ds = open_dataset(dataset, parts=[1])
    alpha = ds.fields["alpha"].compute().astype(float)
    assert card["parts"]["1"]["samples"] == 8 and card["parts"]["2"]["samples"] == 4
    assert card["parts"]["1"]["alpha"]["mean"] == pytest.approx(alpha.mean()) and card["parts"]["1"]["alpha"]["max"] == pytest.approx(alpha.max())
    n_objects = ds.fields["n_objects"].compute()
    assert card["parts"]["1"]["n_objects"]["mean"] == pytest.approx(n_objects.mean()) and card["parts"]["2"]["n_objects"]["max"] == 0
    on_disk = sum(f.stat().st_size for f in (dataset / "part1").rglob("*") if f.is_file() and f.name != "run.json")  # not the run records
    assert card["parts"]["1"]["bytes_per_sample"] == pytest.approx(on_disk / 8)
    for name in ("alpha.png", "motion.png", "objects.png", "bytes_per_sample.png"):
        assert Image.open(dataset / "card" / name).size[0] > 100
    md = (dataset / "card" / "card.md").read_text()
    assert "| 1 | fg_bg | 8 / 8 |" in md and "| 2 | bg_only | 4 / 4 |" in md


def manifest_catalogue(root: Path) -> str:
    """The catalogue folder recorded in the first shard of a dataset."""
    from mmdata.store import open_shard

    from mmdata.store.writer import read_run_record

    return read_run_record(shard_path(root, 1, 0))["catalogue_path"]


@pytest.mark.parametrize("fast", [True, False])
def test_the_byte_check_decodes_each_block_once(dataset, fast, monkeypatch):
    """Every frame array is read one zarr block at a time, once (not once per sample of the block)."""
    import mmdata.store.audit as audit
    from mmdata.store import ShardReader

    calls: list[tuple[str, int, int]] = []
    real = audit.read_checked

    def counting(arr, root, where, start, stop):
        calls.append((arr.basename, start, stop))
        return real(arr, root, where, start, stop)

    monkeypatch.setattr(audit, "read_checked", counting)
    report, _ = audit.audit_shard(dataset, 1, 0, samples=0, fast=fast)
    assert report.ok, report.text()
    layout = ShardReader(shard_path(dataset, 1, 0), verify=False).layout
    expected = [(name, *layout.block_range(b)) for name in layout.frame_fields for b in range(layout.n_blocks)]
    assert calls == expected

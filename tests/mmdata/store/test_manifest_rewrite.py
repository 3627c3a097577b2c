"""Content identity and run records are apart: regenerating an unchanged shard changes no byte that
anything downstream reads (its zarr files, its attributes, the manifest), only its run record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from store_helpers import builtin_catalogue_dir, reindex, small_config, write_config

from mmdata.cli import main
from mmdata.store import MANIFEST_NAME, build_manifest, shard_path
from mmdata.store.writer import read_run_record


def _zarr_files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file() and p.name != "run.json"}


def test_regenerating_an_unchanged_shard_changes_no_content_byte(tmp_path, tmp_path_factory):
    cfg = write_config(tmp_path / "c.yaml", small_config(dataset={"shard_size": 2, "parts": {"fg_bg": 4, "bg_only": 0}}))
    catalogue = builtin_catalogue_dir(tmp_path_factory)
    root = tmp_path / "ds"

    def generate(shard: int) -> None:
        assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", "1",
                     "--shard", str(shard), "--root", str(root)]) == 0

    for shard in (0, 1):
        generate(shard)
    reindex(root)
    store = shard_path(root, 1, 1)
    files, manifest = _zarr_files(store), (root / MANIFEST_NAME).read_bytes()
    run = read_run_record(store)
    assert run["created"] and run["completed"] and run["code"]["version"] and run["catalogue_path"] == str(catalogue.resolve())
    attrs = json.loads((store / "zarr.json").read_text())["attributes"]
    assert not {"created", "completed"} & set(attrs) and "git_commit" not in attrs["code_version"]  # no run facts in the content
    assert b'"created"' not in manifest

    shutil.rmtree(store)
    generate(1)
    assert _zarr_files(store) == files  # chunks, the root zarr.json and every array's zarr.json
    assert build_manifest(root) == json.loads(manifest)
    reindex(root)
    assert (root / MANIFEST_NAME).read_bytes() == manifest


def test_the_manifest_indexes_the_catalogue_content(tmp_path, tmp_path_factory):
    cfg = write_config(tmp_path / "c.yaml", small_config(dataset={"shard_size": 2, "parts": {"fg_bg": 2, "bg_only": 0}}))
    catalogue = builtin_catalogue_dir(tmp_path_factory)
    assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", "1", "--shard", "0",
                 "--root", str(tmp_path / "ds")]) == 0
    manifest = build_manifest(tmp_path / "ds")
    from mmdata.sources import open_catalogue

    assert manifest["catalogue_content_sha256"] == open_catalogue(catalogue).content_digest
    moved = tmp_path / "elsewhere"
    shutil.copytree(catalogue, moved)
    doc = json.loads((moved / "catalogue.json").read_text())
    assert open_catalogue(moved).content_digest == manifest["catalogue_content_sha256"]  # where it lies is not content
    doc["thresholds"]["min_object_area"] += 1
    (moved / "catalogue.json").write_text(json.dumps(doc))
    assert open_catalogue(moved).content_digest != manifest["catalogue_content_sha256"]

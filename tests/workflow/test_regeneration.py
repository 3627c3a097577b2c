"""Regenerating unchanged data re-plans nothing: the whole workflow at toy size, then one shard and one
part regenerated (`snakemake dataset --forcerun ...`, as README.md shows), and `snakemake -n all`.

A regenerated shard comes out byte for byte (its chunks, its zarr.json, every array's zarr.json), so the
manifest does, and Snakemake, which compares the checksum of a small input file newer than a job's
outputs with the one it recorded, re-plans no training, magnification or evaluation. Only the run
records (run.json) say that something ran again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wf_helpers import TINY_ALL_CONFIG, make_workdir, planned_counts, planned_outputs, snakemake

PART1 = ["results/dataset/part1/shard-0000.zarr", "results/dataset/part1/shard-0001.zarr"]
PART3 = ["results/dataset/part3/shard-0000.zarr"]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow folder in which `snakemake --cores 2 all` has run to completion."""
    workdir = make_workdir(tmp_path_factory.mktemp("regen") / "wf", TINY_ALL_CONFIG)
    snakemake(workdir, "--cores", "2", "all", timeout=900)
    return workdir


def _content(workdir: Path) -> dict[str, bytes]:
    """Every file a downstream rule reads or that identifies content: the stores (run records aside) and the manifest."""
    root = workdir / "results/dataset"
    files = {"manifest.json": (root / "manifest.json").read_bytes()}
    for store in (*PART1, *PART3):
        for path in sorted((workdir / store).rglob("*")):
            if path.is_file() and path.name not in ("run.json", ".snakemake_timestamp"):
                files[str(path.relative_to(workdir))] = path.read_bytes()
    return files


@pytest.mark.parametrize("regenerate", [PART1[1:], PART1], ids=["one shard", "one part"])
def test_regenerating_unchanged_shards_changes_no_byte_and_plans_nothing(whole_run: Path, regenerate: list[str]) -> None:
    before, stamps = _content(whole_run), {s: (whole_run / s / "run.json").read_bytes() for s in PART1}
    run = snakemake(whole_run, "--cores", "2", "dataset", "--forcerun", *regenerate)
    assert planned_outputs(run.stdout)["shard"] == sorted(regenerate)  # they did run again
    assert [s for s in PART1 if (whole_run / s / "run.json").read_bytes() != stamps[s]] == regenerate  # and say so
    after = _content(whole_run)
    assert after.keys() == before.keys()
    assert [name for name in before if after[name] != before[name]] == []  # byte-identical, manifest included
    assert "PASSED" in (whole_run / "results/dataset/audit.txt").read_text()
    plan = snakemake(whole_run, "--dry-run", "all")
    assert planned_counts(plan.stdout) == {}, plan.stdout


def test_a_changed_shard_replans_training_and_what_follows(whole_run: Path, tmp_path: Path) -> None:
    # a shard that does differ (here: a sample's stored bytes and records rewritten by hand, then re-indexed)
    # changes the manifest, and then everything downstream of it is planned again
    manifest = whole_run / "results/dataset/manifest.json"
    saved = manifest.read_bytes()
    doc = json.loads(saved)
    doc["shards"][0]["bytes"] += 1  # as a re-rendered shard of another size would
    from mmdata.store.reader import manifest_digest

    doc["manifest_hash"] = manifest_digest(doc)
    try:
        manifest.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        plan = planned_counts(snakemake(whole_run, "--dry-run", "all").stdout)
    finally:
        manifest.write_bytes(saved)
    assert plan["train_model"] == 1 and plan["magnify_video"] == 1 and plan["evaluate_shard"] == 1
    assert plan["audit_shard"] == 3 and "shard" not in plan  # nothing upstream of the manifest

"""What the workflow plans for part sizes given as a mix and for custom parts (dry runs, as a user runs them)."""

from __future__ import annotations

import copy
from pathlib import Path

from wf_helpers import TINY_CONFIG, make_workdir, planned_outputs, snakemake


def _config(**dataset) -> dict:
    cfg = copy.deepcopy(TINY_CONFIG)
    cfg["dataset"].update(dataset)
    return cfg


def test_a_mix_of_a_total_plans_each_parts_shards(tmp_path: Path) -> None:
    # parts: null drops the counts of config/config.yaml, which config/test.yaml is merged over
    cfg = _config(parts=None, total=7, mix={"fg_bg": 0.5, "static": 0.5})  # 4 and 3 samples: 2 + 2 shards
    out = snakemake(make_workdir(tmp_path / "wf", cfg), "--dry-run", "shards").stdout
    assert planned_outputs(out)["shard"] == [f"results/dataset/part{p}/shard-{k:04d}.zarr" for p in (1, 4) for k in (0, 1)]


def test_a_custom_part_is_planned_built_by_name_and_bounded(tmp_path: Path) -> None:
    custom = {"still_bg": {"number": 6, "recipe": "fg_bg", "background_moves": False}}
    parts = {**TINY_CONFIG["dataset"]["parts"], "still_bg": 3}
    workdir = make_workdir(tmp_path / "wf", _config(custom_parts=custom, parts=parts))
    out = snakemake(workdir, "--dry-run", "shards", "--config", "workflow={parts: [still_bg]}").stdout
    assert planned_outputs(out)["shard"] == ["results/dataset/part6/shard-0000.zarr", "results/dataset/part6/shard-0001.zarr"]
    everything = planned_outputs(snakemake(workdir, "--dry-run", "dataset").stdout)["shard"]
    assert "results/dataset/part6/shard-0001.zarr" in everything and len(everything) == 4
    result = snakemake(workdir, "--dry-run", "results/dataset/part6/shard-0002.zarr", check=False)
    assert result.returncode != 0 and "part 6 has only 2 shard(s) with dataset.parts.still_bg=3" in result.stdout

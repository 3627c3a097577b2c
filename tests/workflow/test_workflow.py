"""The Snakemake workflow, run the way a user runs it: `snakemake --cores 2 dataset` in a folder.

One tiny dataset (parts 1 and 3, one shard of 2 samples of 32 x 32 px each) is built once per module;
the tests then check its outputs and what Snakemake plans or re-runs after a change. The last
test kills a run mid-way (SIGKILL to its process group) and restarts it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from wf_helpers import BIN_DIR, TINY_CONFIG, job_resources, make_workdir, planned_counts, planned_outputs, snakemake

from mmdata.cli import main as mmdata_main

STORES = ["results/dataset/part1/shard-0000.zarr", "results/dataset/part3/shard-0000.zarr"]
RUN = ("--cores", "2", "--set-threads", "shard=1")  # two shard jobs side by side


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow folder in which `snakemake --cores 2 dataset` has run to completion."""
    workdir = make_workdir(tmp_path_factory.mktemp("tiny") / "wf", TINY_CONFIG)
    snakemake(workdir, "dataset", *RUN)
    return workdir


def _mtimes(workdir: Path) -> dict[str, int]:
    return {s: (workdir / s / "zarr.json").stat().st_mtime_ns for s in STORES}


def test_dataset_stage_builds_an_audited_dataset(tiny_run: Path) -> None:
    manifest = json.loads((tiny_run / "results/dataset/manifest.json").read_text())
    counts = {info["name"]: info["count"] for info in manifest["parts"].values() if info["count"]}
    assert counts == {"fg_bg": 2, "blur_bg": 2}
    assert all(not info["missing"] for info in manifest["parts"].values())
    audit = (tiny_run / "results/dataset/audit.txt").read_text()
    assert audit.startswith("audit PASSED: 2 shards, 4 samples checked (fast digests), 4 re-rendered"), audit  # 2 per shard
    for store in STORES:  # one audit job per shard, each with its own report
        report = json.loads((tiny_run / store.replace("dataset/", "dataset/audit/").replace(".zarr", ".json")).read_text())
        assert report["entry"]["path"] == store.removeprefix("results/dataset/") and report["problems"] == []
    assert (tiny_run / "results/dataset/card/card.md").is_file()
    for rule in ("catalogue", "index", "audit"):  # and one log per audit_shard job
        assert (tiny_run / f"logs/{rule}/{rule}.log").is_file()
        assert (tiny_run / f"logs/benchmarks/{rule}/{rule}.tsv").is_file()
    assert (tiny_run / "logs/shard/part3/shard-0000.log").is_file()
    assert (tiny_run / "logs/audit_shard/part3/shard-0000.log").is_file()
    assert not (tiny_run / "results/dataset/part2").exists()  # a part of 0 samples has no shards
    # the user's own check of the result: every sample re-rendered byte for byte
    root, catalogue = tiny_run / "results/dataset", tiny_run / "results/sources/catalogue"
    assert mmdata_main(["-q", "audit", "--root", str(root), "--catalogue", str(catalogue)]) == 0


def test_second_run_has_nothing_to_do(tiny_run: Path) -> None:
    result = snakemake(tiny_run, "dataset", *RUN)
    assert planned_counts(result.stdout) == {}
    assert "Nothing to be done" in result.stdout


def test_forcerun_one_shard_rerenders_that_shard_only(tiny_run: Path) -> None:
    before = _mtimes(tiny_run)
    target = "results/dataset/part3/shard-0000.zarr"
    result = snakemake(tiny_run, "dataset", *RUN, "--forcerun", target)
    out = result.stdout
    assert planned_counts(out) == {"shard": 1, "index": 1, "audit_shard": 2, "audit": 1, "dataset": 1}
    assert planned_outputs(out)["shard"] == [target]
    after = _mtimes(tiny_run)
    assert [s for s in STORES if after[s] != before[s]] == [target]
    assert "PASSED" in (tiny_run / "results/dataset/audit.txt").read_text()


def test_shards_target_rebuilds_a_deleted_shard_only(tiny_run: Path, tmp_path: Path) -> None:
    store = tiny_run / STORES[1]
    shutil.move(store, tmp_path / "moved.zarr")
    try:
        out = snakemake(tiny_run, "--dry-run", "shards").stdout
    finally:
        shutil.move(tmp_path / "moved.zarr", store)
    assert planned_outputs(out)["shard"] == [STORES[1]]
    assert planned_counts(out) == {"shard": 1, "shards": 1}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        # a setting only the audit reads re-runs only the audit
        ({"workflow": {"audit_samples": 3}}, {"audit_shard": 2, "audit": 1, "dataset": 1}),
        ({"workflow": {"audit_fast": False}}, {"audit_shard": 2, "audit": 1, "dataset": 1}),
        # a render setting changes every shard (not the catalogue), then the index and the audit
        ({"dataset": {"noise": {"photon_std_max": 2.5}}}, {"shard": 2, "index": 1, "audit_shard": 2, "audit": 1, "dataset": 1}),
        # growing one part renders only its new shard: the existing shards keep their bytes
        ({"dataset": {"parts": {"blur_bg": 4}}}, {"shard": 1, "index": 1, "audit_shard": 3, "audit": 1, "dataset": 1}),
    ],
)
def test_a_config_change_plans_exactly_the_jobs_that_read_it(tiny_run: Path, override: dict, expected: dict) -> None:
    try:
        out = snakemake(tiny_run, "--dry-run", "dataset", overrides=override).stdout
    finally:
        (tiny_run / "config" / "override.yaml").unlink()
    assert planned_counts(out) == expected


def test_slurm_profile_dry_run_plans_the_same_jobs_with_resources(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "wf", TINY_CONFIG)
    local = snakemake(workdir, "--dry-run", "all").stdout
    slurm = snakemake(workdir, "--dry-run", "all", "--workflow-profile", "workflow/profiles/slurm").stdout
    assert planned_outputs(slurm) == planned_outputs(local)
    profile = yaml.safe_load((workdir / "workflow/profiles/slurm/config.yaml").read_text())
    threads, resources = profile["set-threads"], profile["set-resources"]
    shards = job_resources(slurm, "shard")
    assert len(shards) == len(STORES)
    for job in shards:
        assert job["cpus_per_task"] == str(threads["shard"])
        assert f"--workers {threads['shard']}" in job["shell"]  # Dask inside the job uses exactly its CPUs
        assert job["runtime"] == str(resources["shard"]["runtime"])
        assert int(job["mem_mb"]) > 0
    (catalogue,) = job_resources(slurm, "catalogue")
    assert catalogue["mem_mb"] == str(resources["catalogue"]["mem_mb"])
    (train,) = job_resources(slurm, "train_model")
    assert train["gpu"] == "1" and train["cpus_per_task"] == str(threads["train_model"])
    assert train["runtime"] == str(resources["train_model"]["runtime"])


def test_shards_target_builds_the_chosen_parts(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "wf", TINY_CONFIG)
    # on the command line, as README.md shows; the numbers arrive as strings
    out = snakemake(workdir, "--dry-run", "shards", "--config", "workflow={parts: [3, fg_only]}").stdout
    assert planned_outputs(out)["shard"] == [STORES[1]]  # part 5 (fg_only) has no samples here


def test_a_shard_outside_the_dataset_is_refused(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "wf", TINY_CONFIG)
    result = snakemake(workdir, "--dry-run", "results/dataset/part1/shard-0007.zarr", check=False)
    assert result.returncode != 0
    assert "part 1 has only 1 shard(s)" in result.stdout


def test_a_bad_config_fails_before_anything_runs_naming_the_key(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "wf", {"dataset": {"alpha": {"max": -1}}})
    result = snakemake(workdir, "--dry-run", "all", check=False)
    assert result.returncode != 0
    assert "dataset.alpha.max" in result.stdout
    assert not (workdir / "results").exists()


@pytest.mark.slow  # about a minute: runs in the slow stage of .ci/run
def test_killed_run_restarts_to_an_audited_dataset(tmp_path: Path) -> None:
    parts = {**TINY_CONFIG["dataset"]["parts"], "fg_bg": 4, "blur_bg": 4}
    config = {**TINY_CONFIG, "dataset": {**TINY_CONFIG["dataset"], "parts": parts}}
    workdir = make_workdir(tmp_path / "wf", config)  # 4 shards of 2 samples
    args = ["dataset", "--cores", "2", "--set-threads", "shard=1"]
    env = {**os.environ, "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}
    output = tmp_path / "first-run.txt"
    with open(output, "w") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "snakemake", *args, "--configfile", "config/test.yaml"],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600
            while "(Rule: shard)" not in output.read_text() and run.poll() is None:
                assert time.monotonic() < deadline, "no shard finished in 10 minutes"
                time.sleep(0.2)
        finally:
            os.killpg(run.pid, signal.SIGKILL)  # snakemake and every job it started
            run.wait()
    finished = output.read_text().count("(Rule: shard)")
    assert not (workdir / "results/dataset/manifest.json").exists(), "the run ended before the kill"

    snakemake(workdir, "--unlock")
    restart = snakemake(workdir, *args, "--rerun-incomplete")
    assert planned_counts(restart.stdout)["shard"] <= 4 - finished  # finished shards are kept

    root = workdir / "results/dataset"
    manifest = json.loads((root / "manifest.json").read_text())
    assert {i["name"]: i["count"] for i in manifest["parts"].values() if i["count"]} == {"fg_bg": 4, "blur_bg": 4}
    catalogue = workdir / "results/sources/catalogue"
    assert mmdata_main(["-q", "audit", "--root", str(root), "--catalogue", str(catalogue)]) == 0  # every sample

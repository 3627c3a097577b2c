"""Slow workflow tests: the whole default workflow end to end, and a killed run restarted.

Run with ``python -m pytest -m slow tests/workflow`` (each takes minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
import torch
import yaml
from wf_helpers import BIN_DIR, TINY_CONFIG, make_workdir, planned_counts, snakemake

from mmdata.cli import main as mmdata_main

pytestmark = pytest.mark.slow


def test_whole_default_workflow_end_to_end(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "wf")  # the demo config/config.yaml, unchanged
    snakemake(workdir, "--cores", "2", "all", "--report", "results/report.html", "--report-after-run", timeout=1800)
    demo = yaml.safe_load((workdir / "config/config.yaml").read_text())
    results = workdir / "results"

    assert (results / "sources/sheet.png").stat().st_size > 0
    manifest = json.loads((results / "dataset/manifest.json").read_text())
    counts = {info["name"]: info["count"] for info in manifest["parts"].values()}
    assert counts == demo["dataset"]["parts"]
    assert "PASSED" in (results / "dataset/audit.txt").read_text()

    checkpoint = torch.load(results / "train/checkpoint.pt", map_location="cpu", weights_only=False)
    assert checkpoint["step"] == demo["train"]["steps"]
    steps = [json.loads(line)["step"] for line in (results / "train/metrics.jsonl").read_text().splitlines()]
    assert max(steps) == demo["train"]["steps"]

    with av.open(str(results / "magnify/demo-magnified.mp4")) as container:
        frames = [f for f in container.decode(video=0)]
    assert len(frames) == demo["magnify"]["demo"]["frames"]
    assert frames[0].width == 2 * demo["magnify"]["demo"]["width"]  # input | magnified
    assert (results / "magnify/demo-magnified-xt.png").stat().st_size > 0

    scores = (results / "evaluate/scores/results.csv").read_text()
    for method in ("ours", *demo["evaluate"]["methods"]):
        assert f",{method}," in scores
    assert list((results / "evaluate/scores").glob("*.png"))

    report = (results / "report.html").read_text(errors="replace")
    for item in ("manifest.json", "summary.md", "demo-magnified-xt.png", "sheet.png"):
        assert item in report

    again = snakemake(workdir, "--dry-run", "all")
    assert planned_counts(again.stdout) == {}


def test_killed_run_restarts_to_an_audited_dataset(tmp_path: Path) -> None:
    config = {**TINY_CONFIG, "dataset": {**TINY_CONFIG["dataset"], "parts": {"fg_bg": 6, "blur_bg": 6}}}
    workdir = make_workdir(tmp_path / "wf", config)  # 6 shards of 2 samples
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
    assert planned_counts(restart.stdout)["shard"] <= 6 - finished  # finished shards are kept

    root = workdir / "results/dataset"
    manifest = json.loads((root / "manifest.json").read_text())
    assert {i["name"]: i["count"] for i in manifest["parts"].values() if i["count"]} == {"fg_bg": 6, "blur_bg": 6}
    catalogue = workdir / "results/sources/catalogue"
    assert mmdata_main(["-q", "audit", str(root), "--catalogue", str(catalogue)]) == 0  # every sample

"""Slow workflow test: the whole default workflow end to end (a few minutes on 2 cores).

Run with ``python -m pytest -m slow tests/workflow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
import torch
import yaml
from wf_helpers import make_workdir, planned_counts, snakemake


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
    card = [p.name for p in (results / "dataset/card").iterdir() if p.suffix in (".png", ".md")]
    for item in ("manifest.json", "audit.txt", "summary.md", "demo-magnified-xt.png", "sheet.png", *card):
        assert item in report

    again = snakemake(workdir, "--dry-run", "all")
    assert planned_counts(again.stdout) == {}

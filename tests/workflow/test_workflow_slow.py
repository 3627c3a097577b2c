"""Slow workflow test: the whole default workflow end to end (a few minutes on 2 cores).

Run with ``python -m pytest -m slow tests/workflow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import yaml
from wf_helpers import make_workdir, planned_counts, snakemake

from mmdata.render.measure import estimate_shift


# the whole demo workflow: about 6 minutes on 2 quiet cores, several times that on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


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

    val = [json.loads(line) for line in (results / "train/metrics.jsonl").read_text().splitlines()]
    last = [m for m in val if m["split"] == "val"][-1]
    assert last["step"] == demo["train"]["steps"]
    assert last["recon"] < last["baseline"]  # the trained network beats doing nothing on held-out samples

    with av.open(str(results / "magnify/demo-magnified.mp4")) as container:
        frames = [f for f in container.decode(video=0)]
    assert len(frames) == demo["magnify"]["demo"]["frames"]
    assert frames[0].width == 2 * demo["magnify"]["demo"]["width"]  # input | magnified
    moved_in, moved_out = motion_amplitudes(np.stack([f.to_ndarray(format="rgb24") for f in frames]))
    amplitude = demo["magnify"]["demo"]["amplitude"]
    assert abs(moved_in - amplitude) < 0.1 * amplitude  # the measurement itself: the known input motion
    assert moved_out > 2 * moved_in  # the magnified video visibly moves more than the input
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


def motion_amplitudes(side_by_side: np.ndarray) -> tuple[float, float]:
    """Half the peak-to-peak x displacement (px) over time of the input and the output halves.

    ``side_by_side`` is ``(T, H, 2W, 3)``: input | output. Each frame is measured against the first
    with :func:`mmdata.render.measure.estimate_shift`, the output's content kept off the border it can move in.
    """
    width = side_by_side.shape[2] // 2
    amplitudes = []
    for half in (side_by_side[..., :width, :], side_by_side[..., width:, :]):
        dx = np.array([estimate_shift(half[0], frame, border=12)[0] for frame in half])
        amplitudes.append(float(dx.max() - dx.min()) / 2)
    return amplitudes[0], amplitudes[1]

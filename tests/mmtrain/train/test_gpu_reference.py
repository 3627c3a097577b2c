"""benchmarks/gpu_reference.py run as a user does: its --tiny CPU mode end to end, and its refusals."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "benchmarks" / "gpu_reference.py"


def _script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("gpu-reference") / "x.json"
    proc = _script("--tiny", "--out", str(out), "--keep", str(out.parent / "kept"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc


def test_tiny_run_records_every_phase(tiny_report) -> None:
    data, proc = tiny_report
    assert data["tiny"] is True and data["environment"]["torch"] == torch.__version__
    assert data["environment"]["device_name"] == "cpu"
    assert set(data["phases"]) == {"dataset", "train_step", "loader", "inference", "reference_training"}
    assert all(p["ok"] for p in data["phases"].values()), data["phases"]
    assert 0 < data["elapsed_s"] <= data["budget_s"]
    assert data["dataset"]["samples"] == 8 and data["dataset"]["image_size"] == 32
    assert "| figure | value |" in proc.stdout and "reference training" in proc.stdout  # the summary table


def test_tiny_train_step_configurations(tiny_report) -> None:
    step = tiny_report[0]["train_step"]
    assert (step["size"], step["batch"]) == (32, 2)
    configs = step["configs"]
    assert sorted((c["precision"], c["channels_last"], c["compile"]) for c in configs) == sorted(
        (p, cl, c) for p in ("fp32", "fp16", "bf16") for cl in (True, False) for c in (True, False))
    for c in configs:
        if c["compile"]:
            assert c["status"] == "skipped" and ("cpu" in c["reason"] or "CUDA" in c["reason"]), c
        elif c["precision"] == "fp16":
            assert c["status"] == "skipped" and "CUDA" in c["reason"], c
        else:  # fp32 and bf16 eager, channels_last on and off: measured
            assert c["status"] == "ok", c
            assert _finite_positive(c["steps_per_s"]) and c["timed_steps"] == 2, c
            assert c["s_per_step"] * c["steps_per_s"] == pytest.approx(1.0)
            assert c["peak_mem_mb"] is None  # CUDA only


def test_tiny_loader_and_inference_figures(tiny_report) -> None:
    data = tiny_report[0]
    runs = data["loader"]["runs"]
    assert [r["workers"] for r in runs] == [0, 1]
    for r in runs:
        assert r["steps"] > 0 and 0.0 <= r["wait_fraction"] <= 1.0, r
        assert 0.0 <= r["wait_mean_s"] <= r["wait_max_s"] and _finite_positive(r["compute_mean_s"]), r
        assert r["starved"] == (r["wait_mean_s"] > 0.1 * r["compute_mean_s"])
    configs = data["inference"]["configs"]
    assert sorted((c["size"], c["precision"], c["kind"]) for c in configs) == sorted(
        ("64x48", p, k) for p in ("fp32", "bf16") for k in ("pipeline", "pair"))
    assert all(_finite_positive(c["frames_per_s"]) for c in configs), configs


def test_tiny_reference_training(tiny_report) -> None:
    ref = tiny_report[0]["reference_training"]
    assert ref["preset"] == "paper" and ref["crop"] == 32
    assert ref["steps"] == 4 and _finite_positive(ref["steps_per_s"])
    for loss in (ref["train_loss"], ref["val_loss"], ref["val"]["recon"], ref["val"]["baseline"]):
        assert _finite_positive(loss), ref
    assert ref["val_start"]["step"] == 0


def test_tiny_reference_training_kept(tiny_report) -> None:
    """--keep: the trained checkpoint outlives the run's temporary folder, at the step it reports."""
    kept = Path(tiny_report[0]["reference_training"]["kept"])
    state = torch.load(kept / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert state["step"] == tiny_report[0]["reference_training"]["steps"] == 4
    rows = [json.loads(line) for line in (kept / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in rows) == 4


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_asked_without_cuda_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    proc = _script("--device", "cuda", "--out", str(out), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "CUDA is not available" in proc.stderr, proc.stderr
    assert not out.exists()


def test_a_child_case_reports_or_is_killed_at_its_time_limit(tmp_path: Path, monkeypatch) -> None:
    """The compiled configurations run in children: a result comes back, a child past its limit is killed."""
    spec = importlib.util.spec_from_file_location("gpu_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_reference", module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    plan = module.make_plan(module.parse_args(["--tiny"]))
    root = module.render_dataset(tmp_path, plan)["root"]
    case = {"precision": "fp32", "channels_last": True, "compile": False}
    result = module._child_case(plan, root, case, 0.0, timeout=120)
    assert _finite_positive(result.get("steps_per_s")), result
    killed = module._child_case(plan, root, case, 0.0, timeout=0.2)
    assert "did not finish within" in killed["error"]

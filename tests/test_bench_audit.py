"""benchmarks/bench_audit.py at toy size, run as a user does, so that it cannot rot."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench_audit.py"


def test_toy_run_prints_the_table_and_the_extrapolation(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    out = tmp_path / "audit.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--samples", "2", "--size", "32", "--repeats", "1", "--json", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CPU " in proc.stdout and "load " in proc.stdout
    assert "byte check, fast" in proc.stdout and "workflow default" in proc.stdout
    data = json.loads(out.read_text())
    assert data["scale"]["samples"] == 100_000 and data["scale"]["shards"] == 500  # config/paper.yaml
    assert all(math.isfinite(v) for k, v in data["per_sample"].items() if k != "rounds")
    assert data["per_sample"]["render"] > 0 and data["per_sample"]["job"] > 0
    default, *_, single = data["extrapolation"]
    assert default["rendered"] == 500 * data["scale"]["default_audit_samples"] and default["jobs"] == 500
    assert single["jobs"] == 1 and single["rendered"] == 100_000 and math.isclose(single["wall_h"], single["cpu_h"])

"""Shared by the benchmarks: the previous release's code beside the current one, child processes, the table.

``--baseline REF`` (a git tag, branch or commit) is unpacked with ``git archive`` into a temporary
folder; every measurement runs in a fresh child process whose ``PYTHONPATH`` points at either that
folder ("previous") or this checkout ("current"), in alternating rounds, so both see the same machine
load; ratios are medians of the per-round ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def unpack(ref: str, into: Path) -> Path:
    """The ``mmdata`` and ``mmtrain`` packages of git ``ref`` unpacked under ``into``."""
    archive = into / "baseline.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), ref, "mmdata", "mmtrain"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "src", filter="data")
    return into / "src"


def child(script: str, src: Path, *args: object, threads: int | None = None) -> dict:
    """Run ``script --child ARGS`` with ``src`` first on the path; its last stdout line, parsed as JSON."""
    env = dict(os.environ, PYTHONPATH=str(src))
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, script, "--child", *map(str, args)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    """The 1/5/15-minute load averages."""
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def median_ratio(new: list[float], old: list[float]) -> float:
    """Median of the per-round ratios new/old."""
    return statistics.median(n / o for n, o in zip(new, old))


def table(rows: list[tuple[str, str, str, str]], title: str) -> None:
    """Print rows of (figure, previous, current, current/previous) as a Markdown table."""
    print(f"\n{title} (load {load()}, {os.cpu_count()} CPUs)\n")
    print("| figure | previous | current | current / previous |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


__all__ = ["REPO", "unpack", "child", "load", "median_ratio", "table"]

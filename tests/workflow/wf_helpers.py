"""Running the Snakemake workflow from tests, in a scratch folder, and reading what it planned.

A scratch folder gets links to the repository's ``Snakefile`` and ``workflow/`` and a ``config/``
folder of its own (the demo config plus the test's overrides), so every output lands in the
scratch folder and the checkout is never written to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent

#: A dataset small enough for a unit test: parts 1 and 3, 2 samples of 32 x 32 px each (one shard
#: per part); the other parts are disabled.
TINY_CONFIG: dict[str, Any] = {
    "dataset": {
        "image_size": 32,
        "shard_size": 2,
        "parts": {"fg_bg": 2, "bg_only": 0, "blur_bg": 2, "static": 0, "fg_only": 0},
        "objects": {"count_min": 1, "count_max": 2},
    },
    "workflow": {"audit_samples": 2},
}


#: The whole workflow (`all`) at toy size, under a minute on 2 cores: part 1 in two shards and part 3 in
#: one, two training steps from the released model, a 4-frame demo video, one evaluation scene.
TINY_ALL_CONFIG: dict[str, Any] = {
    **TINY_CONFIG,
    "dataset": {**TINY_CONFIG["dataset"], "parts": {**TINY_CONFIG["dataset"]["parts"], "fg_bg": 4}},
    "workflow": {"audit_samples": 1},
    "train": {"steps": 2, "val_samples": 2, "val_interval": 0, "log_interval": 1, "checkpoint_interval": 2},
    "magnify": {"demo": {"frames": 4, "width": 32, "height": 32, "amplitude": 0.5, "freq": 2.0, "fps": 30}},
    "evaluate": {
        "size": "demo", "tests": ["subpixel"], "methods": ["do_nothing"],
        "sizes": {"demo": {"image_size": 32, "samples": 1, "subpixel_motions": [0.2], "noise_factors": [1.0],
                           "magnification_alphas": [10], "input_motions": [1], "store_videos": False}},
    },
}


def make_workdir(path: Path, config: dict[str, Any] | None = None) -> Path:
    """Prepare ``path`` to run the workflow; ``config`` is written as ``config/test.yaml``."""
    path.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow"):
        (path / name).symlink_to(REPO_ROOT / name)
    (path / "config").mkdir()
    (path / "config" / "config.yaml").symlink_to(REPO_ROOT / "config" / "config.yaml")
    if config is not None:
        (path / "config" / "test.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def snakemake(
    workdir: Path, *args: str, overrides: dict[str, Any] | None = None, check: bool = True, timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``snakemake ARGS`` in ``workdir`` (with config/test.yaml when it exists); return the result.

    ``overrides`` go to a further config file given after config/test.yaml (``--config`` on the
    command line would pass nested values as strings).
    The package's CLIs (``mmdata``, ``mmtrain``) are found beside the running Python; ``env`` adds
    environment variables (e.g. ``PYTHONPATH`` of a modified copy of the packages). Snakemake's
    messages (job blocks, errors) are all in ``result.stdout`` (stderr is merged into it).
    """
    configs = ["config/test.yaml"] if (workdir / "config" / "test.yaml").is_file() else []
    if overrides is not None:
        (workdir / "config" / "override.yaml").write_text(yaml.safe_dump(overrides), encoding="utf-8")
        configs.append("config/override.yaml")
    extra = ["--configfile", *configs] if configs else []
    env = {**os.environ, "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args, *extra],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} exited {result.returncode}:\n{result.stdout}")
    return result


def planned_outputs(output: str) -> dict[str, list[str]]:
    """Rule name -> sorted outputs of its jobs, from the job blocks Snakemake prints (dry runs too).

    Sorted: Snakemake's order among independent jobs is not fixed.
    """
    jobs: dict[str, list[str]] = {}
    rule = None
    for line in output.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            rule = m.group(1)
            jobs.setdefault(rule, [])
        elif rule and (m := re.match(r"^output: (.+)$", line.strip())):
            jobs[rule].extend(s.strip() for s in m.group(1).split(","))
            rule = None
    return {name: sorted(outputs) for name, outputs in jobs.items()}


def planned_counts(output: str) -> Counter[str]:
    """Rule name -> number of jobs, from the job blocks of Snakemake's output."""
    counts: Counter[str] = Counter()
    for line in output.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            counts[m.group(1)] += 1
    return counts


def job_resources(output: str, rule: str) -> list[dict[str, str]]:
    """The ``resources:`` line and shell command of every job of ``rule``, as dicts."""
    jobs, current = [], None
    for line in output.splitlines():
        text = line.strip()
        if m := re.match(r"^(?:local)?rule (\w+):$", text):
            current = {} if m.group(1) == rule else None
            if current is not None:
                jobs.append(current)
        elif current is not None and text.startswith("resources:"):
            for item in text.removeprefix("resources:").split(","):
                key, _, value = item.strip().partition("=")
                current[key] = value
        elif current is not None and text.startswith("Shell command:"):
            current["shell"] = text.removeprefix("Shell command:").strip()
    return jobs

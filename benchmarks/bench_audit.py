"""Cost of auditing a dataset: CPU seconds per sample of each check, and what the paper's dataset costs.

Builds a small dataset of part 1 (``fg_bg``) from the built-in catalogue at ``--size`` px, with the
dataset settings of ``config/paper.yaml`` and the default store codec, indexes it, and times in this
process, per sample, over ``--repeats`` alternating rounds (medians):

* the byte check in fast mode (``audit_shard(..., samples=0, fast=True)``: the shard's records, and
  every frame decoded and hashed with xxh3-128), what ``workflow.audit_fast: true`` runs;
* the byte check in full mode (``fast=False``: the sha256 of every frame as well);
* a re-render (``audit_shard`` with every sample re-rendered, less its fast byte check, per
  re-rendered sample): the fresh draw of the parameters, the render and the byte-for-byte comparison;
* the start-up of one ``audit_shard`` job (``mmdata audit --part 1 --shard 0 --samples 0 --fast`` in a
  child process, less the in-process byte check of that shard): imports and opening the store.

All figures are CPU seconds (this process, and the finished child for the job start-up): on a machine
shared with other work they are steadier than wall time. It then extrapolates to the paper's dataset
(part sizes and ``dataset.shard_size`` of ``config/paper.yaml``; ``workflow.audit_samples`` and
``workflow.audit_fast`` of the schema defaults): CPU hours, and wall hours on ``--cores`` cores, since
the workflow runs one single-threaded ``audit_shard`` job per shard. Usage::

    python benchmarks/bench_audit.py [--samples 16] [--shards 2] [--size 384] [--repeats 3] [--cores 32] [--json out.json]

Without ``--catalogue`` the built-in catalogue is built into a temporary folder first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "config" / "paper.yaml"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def paper_dataset() -> dict[str, Any]:
    """The ``dataset`` and ``workflow`` sections of ``config/paper.yaml`` (as written, not validated)."""
    from mmdata.yamlfile import read_yaml

    return read_yaml(PAPER) or {}


def build(root: Path, catalogue_dir: Path | None, work: Path, *, samples: int, shards: int, size: int) -> Path:
    """A dataset of ``samples`` samples of part 1 in ``shards`` shards at ``size`` px, indexed; returns the catalogue folder.

    The other parts are empty, so the manifest lists no missing shards."""
    from mmdata.cli import main as mmdata
    from mmdata.config import load_config
    from mmdata.sources import open_catalogue
    from mmdata.store.generate import GenerateSpec, generate_shard

    if catalogue_dir is None:
        catalogue_dir = work / "catalogue"
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            if mmdata(["-q", "sources", "build", "--kind", "builtin", "--out", str(catalogue_dir)]) not in (0, None):
                raise SystemExit("mmdata sources build failed")
    dataset = {k: v for k, v in (paper_dataset().get("dataset") or {}).items() if k not in ("parts", "shard_size", "image_size")}
    config = load_config(overrides={"dataset": {**dataset, "image_size": size, "shard_size": math.ceil(samples / shards),
                                                "parts": {"fg_bg": samples, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}}})
    catalogue = open_catalogue(catalogue_dir)
    for k in range(shards):
        generate_shard(GenerateSpec.from_config(config), catalogue, root, 1, k, workers=1, catalogue_path=catalogue_dir)
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        if mmdata(["-q", "index", "--root", str(root)]) not in (0, None):
            raise SystemExit("mmdata index failed")
    return catalogue_dir


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    c0 = time.process_time()
    out = fn()
    return time.process_time() - c0, out


def audit_all(root: Path, catalogue: Path, shards: int, *, samples: int | None, fast: bool, times: int = 1) -> tuple[float, int, int]:
    """(CPU seconds, samples checked, samples re-rendered) of ``audit_shard`` over every shard, per pass of
    ``times`` passes; a problem fails."""
    from mmdata.store.audit import audit_shard

    cpu, checked, rendered = 0.0, 0, 0
    for k in [k for _ in range(times) for k in range(shards)]:
        dt, (report, _) = timed(lambda: audit_shard(root, 1, k, samples=samples, catalogue=catalogue, fast=fast))
        if not report.ok:
            raise SystemExit(f"the audit of shard {k} failed:\n{report.text()}")
        cpu, checked, rendered = cpu + dt, checked + report.samples_checked, rendered + report.samples_rendered
    return cpu / times, checked // times, rendered // times


def job_cpu(root: Path, catalogue: Path, out: Path) -> float:
    """CPU seconds of one ``mmdata audit`` job of shard 0 (byte check only, fast), in a child process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "mmdata.cli", "-q", "audit", "--root", str(root), "--part", "1", "--shard", "0",
                    "--samples", "0", "--fast", "--catalogue", str(catalogue), "--json", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(root: Path, one: Path, catalogue: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Medians over ``--repeats`` rounds of CPU seconds per sample, per shard and per job.

    A shard's byte check costs a fixed part (records, small arrays, opening the store) plus a part per
    sample; the two are told apart by also auditing ``one``, a root of one shard of one sample. Its
    first re-render also opens the catalogue, once per job.
    """
    from mmdata.store.audit import audit_shard

    audit_shard(root, 1, 0, samples=1, catalogue=catalogue, fast=False)  # imports, codecs, caches: not timed
    audit_shard(one, 1, 0, samples=1, catalogue=catalogue, fast=False)
    size = math.ceil(args.samples / args.shards)
    rounds: dict[str, list[float]] = {k: [] for k in ("fast", "full", "render", "shard_fast", "shard_full", "catalogue", "job")}
    for _ in range(args.repeats):
        fast, n, _ = audit_all(root, catalogue, args.shards, samples=0, fast=True)
        full, _, _ = audit_all(root, catalogue, args.shards, samples=0, fast=False)
        both, _, rendered = audit_all(root, catalogue, args.shards, samples=None, fast=True)
        one_fast, _, _ = audit_all(one, catalogue, 1, samples=0, fast=True, times=5)
        one_full, _, _ = audit_all(one, catalogue, 1, samples=0, fast=False, times=5)
        one_both, _, _ = audit_all(one, catalogue, 1, samples=1, fast=True, times=3)
        job = job_cpu(root, catalogue, work / "shard-0000.json")
        # per shard of `size` samples: F + size * b; of one sample: F + b
        b_fast = (fast / args.shards - one_fast) / (size - 1) if size > 1 else fast / n
        b_full = (full / args.shards - one_full) / (size - 1) if size > 1 else full / n
        render = ((both - fast) / args.shards - (one_both - one_fast)) / (size - 1) if size > 1 else (both - fast) / rendered
        rounds["fast"].append(b_fast)
        rounds["full"].append(b_full)
        rounds["shard_fast"].append(one_fast - b_fast)
        rounds["shard_full"].append(one_full - b_full)
        rounds["render"].append(render)
        rounds["catalogue"].append(one_both - one_fast - render)
        rounds["job"].append(job - fast / args.shards)
    return {k: statistics.median(v) for k, v in rounds.items()} | {"rounds": rounds}


def extrapolate(per: dict[str, float], cores: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """CPU and wall hours of auditing the paper's dataset: the workflow's default, paper.yaml's setting, a full audit."""
    from mmdata.config import load_config

    paper = paper_dataset()
    parts = dict(paper["dataset"]["parts"])
    shard_size = int(paper["dataset"]["shard_size"])
    defaults = load_config()["workflow"]
    shards = sum(math.ceil(int(n) / shard_size) for n in parts.values())
    total = sum(int(n) for n in parts.values())
    scale = {"samples": total, "shards": shards, "shard_size": shard_size, "cores": cores,
             "default_audit_samples": defaults["audit_samples"], "default_audit_fast": defaults["audit_fast"],
             "paper_audit_samples": (paper.get("workflow") or {}).get("audit_samples")}

    def case(name: str, fast: bool, rendered_per_shard: int | None, jobs: int) -> dict[str, Any]:
        sizes = [min(shard_size, int(n) - k * shard_size) for n in parts.values() for k in range(math.ceil(int(n) / shard_size))]
        rendered = total if rendered_per_shard is None else sum(min(rendered_per_shard, s) for s in sizes)
        mode = "fast" if fast else "full"
        fixed = shards * per[f"shard_{mode}"] + jobs * per["job"] + (jobs if rendered else 0) * per["catalogue"]
        cpu = total * per[mode] + rendered * per["render"] + fixed
        wall = cpu / min(cores, jobs)
        return {"case": name, "mode": "fast" if fast else "full", "rendered": rendered, "jobs": jobs, "cpu_h": cpu / 3600, "wall_h": wall / 3600}

    cases = [
        case(f"workflow default (audit_fast {str(defaults['audit_fast']).lower()}, audit_samples {defaults['audit_samples']})",
             bool(defaults["audit_fast"]), int(defaults["audit_samples"]), shards),
    ]
    if scale["paper_audit_samples"] is not None:
        n = int(scale["paper_audit_samples"])
        cases.append(case(f"config/paper.yaml as written (audit_samples {n})", bool(defaults["audit_fast"]), n, shards))
    cases.append(case("full audit, per shard (audit_fast false, every sample re-rendered)", False, None, shards))
    cases.append(case("full audit, one `mmdata audit` process", False, None, 1))
    return scale, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--samples", type=int, default=16, help="samples of part 1 in the benchmark dataset")
    parser.add_argument("--shards", type=int, default=2, help="shards they are split into")
    parser.add_argument("--size", type=int, default=384, help="image size in pixels (the paper: 384)")
    parser.add_argument("--repeats", type=int, default=3, help="timing rounds (the figures are their medians)")
    parser.add_argument("--cores", type=int, default=32, help="cores the extrapolation runs audit_shard jobs on")
    parser.add_argument("--catalogue", type=Path, default=None, help="catalogue folder (default: build the built-in one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")
    args = parser.parse_args()
    if args.samples < 1 or not 1 <= args.shards <= args.samples or args.repeats < 1 or args.cores < 1 or args.size < 16:
        parser.error("need --samples >= --shards >= 1, --repeats >= 1, --cores >= 1 and --size >= 16")
    model = cpu_model()
    print(f"CPU {model}, {os.cpu_count()} cores; load {load()} (1/5/15 min) at start")
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        root = work / "ds"
        t0 = time.process_time()
        catalogue = build(root, args.catalogue, work, samples=args.samples, shards=args.shards, size=args.size)
        one = work / "one"
        build(one, catalogue, work, samples=1, shards=1, size=args.size)
        print(f"built {args.samples} samples of part 1 at {args.size} px in {args.shards} shards, and a shard of 1 sample ({time.process_time() - t0:.1f} CPU s); "
              f"load {load()}")
        per = measure(root, one, catalogue, args, work)
    end_load = load()
    print(f"\nCPU seconds, median of {args.repeats} rounds; CPU {model}; load {end_load} (1/5/15 min) at end")
    print("| check | CPU s |\n|---|---|")
    print(f"| per sample: byte check, fast (decode, xxh3-128 of every frame) | {per['fast']:.4f} |")
    print(f"| per sample: byte check, full (decode, sha256 and xxh3-128) | {per['full']:.4f} |")
    print(f"| per re-rendered sample: draw, render, compare | {per['render']:.4f} |")
    print(f"| per shard: records, small arrays, opening the store (fast / full) | {per['shard_fast']:.3f} / {per['shard_full']:.3f} |")
    print(f"| per job: opening the catalogue for its first re-render | {per['catalogue']:.3f} |")
    print(f"| per job: start-up of an `mmdata audit` process (imports) | {per['job']:.2f} |")
    scale, cases = extrapolate(per, args.cores)
    print(f"\nThe paper's dataset: {scale['samples']:,} samples in {scale['shards']} shards of {scale['shard_size']} "
          f"(config/paper.yaml), one audit_shard job per shard on {args.cores} cores; CPU {model}; load {end_load}")
    print("| audit | frames checked | samples re-rendered | CPU hours | wall hours |\n|---|---|---|---|---|")
    for c in cases:
        cores = min(args.cores, c["jobs"])
        print(f"| {c['case']} | {c['mode']} | {c['rendered']:,} | {c['cpu_h']:.2f} | {c['wall_h']:.2f} ({cores} core{'s' * (cores > 1)}) |")
    if args.json:
        args.json.write_text(json.dumps({"cpu": model, "load_end": end_load, "size": args.size, "samples": args.samples,
                                         "shards": args.shards, "repeats": args.repeats, "per_sample": per, "scale": scale,
                                         "extrapolation": cases}, indent=2))


if __name__ == "__main__":
    main()

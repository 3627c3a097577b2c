"""Start-up of the ``mmtrain`` and ``mmdata`` commands: wall time and import time of fresh processes.

Usage::

    python benchmarks/bench_startup.py [--rounds 5] [--data ../shared/data] [--baseline REF]

Each case runs in a fresh interpreter with ``python -X importtime`` (the import time is the sum of the
top-level imports' cumulative times, as ``-X importtime`` prints them), ``--rounds`` times, the cases
alternating; the table prints medians with the CPU and the machine's load averages (on a shared
machine, compare the cases of one run, not runs of different times). Cases: ``mmtrain --help``,
``mmtrain magnify --help``, ``mmtrain spectrum --help``, ``mmtrain evaluate --help``, ``mmdata --help``,
``mmdata generate --help``, and a one-frame ``mmtrain magnify`` of a tiny demo video (written once,
before the rounds) with the authors' weights from ``--data`` (skipped when they are missing).
``--baseline REF`` (a git tag, branch or commit) unpacks that commit's packages into a temporary folder
(``benchmarks/_baseline.py``): each case then also runs from it, in the same rounds, alternating, and the
table shows both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _baseline as bl  # noqa: E402


def _cli(program: str) -> list[str]:
    return [sys.executable, "-X", "importtime", "-c", f"import sys; from {program}.cli import main; sys.exit(main())"]


def _run(args: list[str], tree: Path = REPO) -> tuple[float, float, set[str]]:
    """Wall seconds, import seconds and the imported top-level packages of one fresh ``PROGRAM ARGS`` of ``tree``
    (``args[0]`` names the program, ``mmtrain`` or ``mmdata``)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    out = subprocess.run(_cli(args[0]) + args[1:], env=env, cwd=tree, capture_output=True, text=True)  # `-c` puts the cwd first
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {out.stderr.strip().splitlines()[-1:]}")
    imports, packages = 0.0, set()
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        packages.add(name.split(".")[0])
        if cumulative.isdigit() and not line.split("|")[2].startswith("  "):
            imports += int(cumulative) / 1e6  # a top-level import (no indentation): its cumulative time
    return wall, imports, packages


def _cpu() -> str:
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per case")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared data folder (the authors' weights for the one-frame case)")
    parser.add_argument("--baseline", metavar="REF", help="a git ref whose code runs each case as well (default: none)")
    args = parser.parse_args()
    weights = args.data / "official_checkpoint" / "weights.npz"
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"": REPO} | ({"baseline: ": bl.unpack(args.baseline, Path(tmp))} if args.baseline else {})
        cases = {name: name.split() for name in ("mmtrain --help", "mmtrain magnify --help", "mmtrain spectrum --help",
                                                 "mmtrain evaluate --help", "mmdata --help", "mmdata generate --help")}
        if weights.is_file():
            demo = Path(tmp) / "demo.mp4"
            _run(["mmtrain", "make-demo-video", "-o", str(demo), "--frames", "2", "--size", "64", "48"])
            cases["mmtrain magnify, one frame 64x48"] = [
                "mmtrain", "-q", "magnify", str(demo), "-o", str(Path(tmp) / "out.mp4"), "--alpha", "5", "--frames", "1",
                "--model", str(weights)]
        results: dict[str, list[tuple[float, float, set[str]]]] = {}
        for i in range(args.rounds):
            order = list(trees.items()) if i % 2 == 0 else list(trees.items())[::-1]  # alternate who goes first
            for name, argv in cases.items():
                for label, tree in order:
                    results.setdefault(label + name, []).append(_run(argv, tree))
    print(f"\nStart-up, {args.rounds} fresh processes per case; {_cpu()}, {os.cpu_count()} CPUs, "
          f"load {'/'.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print("| command | wall s | imports s | heavy packages imported |")
    print("|---|---|---|---|")
    heavy = ("torch", "scipy", "matplotlib", "skimage", "pyrtools", "zarr", "dask", "av", "numpy", "jsonschema")
    for name, runs in ((label + case, results[label + case]) for case in cases for label in sorted(trees, reverse=True)):
        wall = statistics.median(r[0] for r in runs)
        imports = statistics.median(r[1] for r in runs)
        found = sorted(set().union(*(r[2] for r in runs)) & set(heavy))
        print(f"| {name} | {wall:.2f} | {imports:.2f} | {', '.join(found) or '-'} |")


if __name__ == "__main__":
    main()

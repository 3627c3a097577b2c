"""Rendering speed: samples per second per core for each part (default 384 x 384).

Runs in one process with every numeric library limited to one thread, so the figure is per core.
Prints the wall-clock rate and the rate per CPU-second of this process (the two agree on an idle
machine; on a shared one the second is the per-core speed).
Usage::

    python benchmarks/bench_render.py [--size 384] [--samples 8] [--catalogue DIR] [--config CFG]

Without ``--catalogue`` the config's sources (built-in photographs by default) are built into a
temporary folder first (not timed).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from mmdata.config import load_config  # noqa: E402
from mmdata.scene import PART_NAMES  # noqa: E402
from mmdata.render.composite import render  # noqa: E402
from mmdata.sources import build_catalogue, open_catalogue  # noqa: E402
from mmdata.spec import DatasetSpec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384, help="output frame size (default 384)")
    parser.add_argument("--samples", type=int, default=8, help="samples timed per part (default 8)")
    parser.add_argument("--catalogue", help="catalogue folder (default: build the config's sources)")
    parser.add_argument("--config", help="YAML config (default: all defaults)")
    args = parser.parse_args()
    config = load_config(args.config, overrides={"dataset": {"image_size": args.size}})
    spec = DatasetSpec.from_config(config)
    with tempfile.TemporaryDirectory() as scratch:
        path = args.catalogue or build_catalogue(config["sources"], Path(scratch) / "catalogue")
        catalogue = open_catalogue(path)
        render(spec, 1, 10_000, catalogue)  # warm caches (decimation matrices, catalogue reads)
        print(f"render speed at {args.size}x{args.size}, supersample {spec.supersample}, one core, {args.samples} samples per part")
        for number, name in enumerate(PART_NAMES, start=1):
            objects = 0
            start, cpu_start = time.perf_counter(), time.process_time()
            for index in range(args.samples):
                params, _ = render(spec, number, index, catalogue)
                objects += len(params.objects)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            print(
                f"part {number} {name:8s}: {args.samples / elapsed:6.2f} samples/s per core wall-clock, "
                f"{args.samples / cpu:6.2f} per CPU-second ({1000 * cpu / args.samples:5.0f} ms CPU/sample, "
                f"{objects / args.samples:4.1f} objects/sample)"
            )


if __name__ == "__main__":
    main()

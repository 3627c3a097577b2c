"""The performance figures of rendering and storage in one table, beside the previous release's.

Figures (part 1, ``fg_bg``; default 384 x 384 frames, every numeric library on one thread):

* render: samples per CPU-second of a one-thread process (the per-core speed; on an idle machine
  it equals samples/s of wall-clock);
* store, bytes per sample on disk (five frames and the small arrays, zarr metadata included);
* decode: samples per CPU-second reading every frame array back from a finished shard;
* end to end (``generate_shard``) with 1 worker and with 2 threads, wall-clock samples/s, and the
  parallel efficiency ``sps(2) / (2 * sps(1))``; and the CPU seconds per sample of both runs with
  their ratio (CPU efficiency: 100 % when the second thread adds no work, which is what a 2-thread
  run reaches on two free cores; on a machine shared with other work the wall-clock efficiency is
  bounded by the cores left to this process, the CPU efficiency is not).

With ``--baseline REF`` (a git commit or tag) the same figures are measured for the code of REF
in the same run: the two are measured in alternating rounds (REF, current, REF, current, ...),
each in a fresh process, and the table prints the medians and their ratio, so that a change in the
machine's load hits both alike. The recorded column holds the figures the previous release printed
(``RECORDED``). The machine's load average is printed with the table. Usage::

    python benchmarks/bench_perf.py [--baseline 86a809c] [--rounds 3] [--samples 8] [--size 384]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

#: Figures of the previous release (issue #15, measured on the shared 2-core box, 384 x 384, part 1).
RECORDED = {
    "render_sps": 8.97,
    "bytes_per_sample": 1.92e6,
    "decode_sps": None,  # not measured then
    "e2e_1_sps": 8.40,
    "e2e_2_sps": 12.74,
    "efficiency": 0.76,
    "e2e_1_cpu": None,
    "e2e_2_cpu": None,
    "cpu_efficiency": None,
    "e2e_2p_sps": None,  # not measured then
    "efficiency_p": None,
}
ROWS = [
    ("render_sps", "render, samples/s per core", "{:.2f}"),
    ("bytes_per_sample", "disk, MB per sample", "{:.3f}"),
    ("decode_sps", "decode, samples/s per core", "{:.1f}"),
    ("e2e_1_sps", "end to end, 1 worker, samples/s", "{:.2f}"),
    ("e2e_2_sps", "end to end, 2 threads, samples/s", "{:.2f}"),
    ("efficiency", "parallel efficiency at 2 threads", "{:.0%}"),
    ("e2e_1_cpu", "end to end, 1 worker, CPU s/sample", "{:.3f}"),
    ("e2e_2_cpu", "end to end, 2 threads, CPU s/sample", "{:.3f}"),
    ("cpu_efficiency", "CPU efficiency at 2 threads", "{:.0%}"),
    ("e2e_2p_sps", "end to end, 2 processes, samples/s", "{:.2f}"),
    ("efficiency_p", "parallel efficiency at 2 processes", "{:.0%}"),
]


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def measure(catalogue_dir: str, samples: int, size: int, work: Path) -> dict[str, float]:
    """One round of every figure, for the ``mmdata`` on ``sys.path`` (run in a fresh process)."""
    import zarr

    from mmdata.config import load_config
    from mmdata.render.composite import render
    from mmdata.sources import open_catalogue
    from mmdata.spec import DatasetSpec
    from mmdata.store import GenerateSpec, dir_bytes, generate_shard

    cfg = {"dataset": {"image_size": size, "shard_size": samples, "parts": {"fg_bg": samples}}, "store": {"zarr_shard_samples": 4}}
    config = load_config(overrides=cfg)
    spec = DatasetSpec.from_config(config)
    catalogue = open_catalogue(catalogue_dir)
    for i in range(4):
        render(spec, 1, 1000 + i, catalogue)  # warm caches (decimation operators, catalogue reads)
    cpu = time.process_time()
    for i in range(samples):
        render(spec, 1, i, catalogue)
    out = {"render_sps": samples / (time.process_time() - cpu)}
    warm = load_config(overrides={"dataset": {"image_size": 32, "shard_size": 2, "parts": {"fg_bg": 2}}, "store": {"zarr_shard_samples": 1}})
    generate_shard(GenerateSpec.from_config(warm), catalogue, work / "warm", 1, 0, workers=2, catalogue_path=catalogue_dir)  # first-use costs
    try:  # store.pool: processes (not in every release)
        processes = load_config(overrides={**cfg, "store": {**cfg["store"], "pool": "processes"}})
    except Exception:  # noqa: BLE001 (an older release's config schema)
        processes = None
    for label, workers in (("e2e_1_sps", 1), ("e2e_2_sps", 2), ("e2e_2p_sps", 2)):
        run_config = processes if label == "e2e_2p_sps" else config
        if run_config is None:
            out[label] = None
            continue
        root = work / label
        t, cpu = time.perf_counter(), _cpu()  # CPU of this process and its finished children
        path = generate_shard(GenerateSpec.from_config(run_config), catalogue, root, 1, 0, workers=workers, catalogue_path=catalogue_dir)
        out[label] = samples / (time.perf_counter() - t)
        out[label.replace("_sps", "_cpu")] = (_cpu() - cpu) / samples
        out["bytes_per_sample"] = dir_bytes(path) / samples
        if workers == 1:
            group = zarr.open_group(str(path), mode="r")
            arrays = [group[name] for name in group.array_keys() if name.startswith("frame_")]
            cpu = _cpu()
            for i in range(samples):  # per-sample reads, as a training loader does
                for array in arrays:
                    array[i]
            out["decode_sps"] = samples / (_cpu() - cpu)
        shutil.rmtree(root)
    out["efficiency"] = out["e2e_2_sps"] / (2 * out["e2e_1_sps"])
    out["cpu_efficiency"] = out["e2e_1_cpu"] / out["e2e_2_cpu"]
    out["efficiency_p"] = out["e2e_2p_sps"] / (2 * out["e2e_1_sps"]) if out["e2e_2p_sps"] else None
    out.pop("e2e_2p_cpu", None)
    return out


def _round(code: Path, args: argparse.Namespace, catalogue_dir: Path, work: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", str(catalogue_dir), "--samples", str(args.samples),
           "--size", str(args.size), "--work", str(work)]
    done = subprocess.run(cmd, env=env, cwd=str(work), check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _table(current: dict[str, float], baseline: dict[str, float] | None, ref: str | None) -> list[str]:
    head = f"{'figure':36s} {'recorded':>10s}"
    head += f" {ref[:10]:>10s}" if baseline else ""
    head += f" {'current':>10s} {'ratio':>7s}"
    lines = [head]
    for key, label, fmt in ROWS:
        scale = 1e-6 if key == "bytes_per_sample" else 1.0
        rec = RECORDED[key]
        line = f"{label:36s} {fmt.format(rec * scale) if rec is not None else '-':>10s}"
        ref_value = baseline.get(key) if baseline else rec
        value = current.get(key)
        if baseline:
            line += f" {fmt.format(ref_value * scale) if ref_value is not None else '-':>10s}"
        line += f" {fmt.format(value * scale) if value is not None else '-':>10s}"
        line += f" {value / ref_value:7.2f}" if ref_value and value else f" {'-':>7s}"
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git commit or tag to measure beside the current code")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians reported)")
    parser.add_argument("--samples", type=int, default=8, help="samples per figure and round")
    parser.add_argument("--size", type=int, default=384, help="output frame size")
    parser.add_argument("--catalogue", type=Path, help="catalogue folder (default: build the built-in one)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one round for the code on PYTHONPATH
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.samples, args.size, args.work)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        work = Path(tmp)
        catalogue_dir = args.catalogue
        if catalogue_dir is None:
            from mmdata.sources import build_catalogue, resolve_sources_config

            catalogue_dir = build_catalogue(resolve_sources_config({"kind": "builtin"}), work / "catalogue", workers=2)
        codes = {"current": REPO}
        if args.baseline:
            codes["baseline"] = work / "baseline"
            codes["baseline"].mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline, "mmdata"], check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", str(codes["baseline"])], input=archive.stdout, check=True)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
        for r in range(args.rounds):
            for name, code in codes.items():  # alternating: baseline, current, baseline, current, ...
                (work / name).mkdir(exist_ok=True)
                runs[name].append(_round(code, args, Path(catalogue_dir), work / name))
                print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.3g}" for k, v in runs[name][-1].items() if v is not None),
                      flush=True)
        med = {name: {k: (statistics.median(run[k] for run in rs) if rs[0][k] is not None else None) for k in rs[0]}
               for name, rs in runs.items()}
    print(f"\npart 1 at {args.size}x{args.size}, {args.samples} samples per figure, medians of {args.rounds} rounds; "
          f"ratio = current / {'baseline ' + args.baseline if args.baseline else 'recorded'}")
    print("\n".join(_table(med["current"], med.get("baseline"), args.baseline)))
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

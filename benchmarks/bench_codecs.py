"""Frame codecs side by side: MB per sample, encode and decode samples per CPU-second, through zarr.

Renders part-1 samples (default 16 at 384 x 384, five frames) once, then stores their frames with
every choice of ``store.codec`` (and a few levels) the way the dataset writer does (one sample per
chunk inside zarr shards of 4), and reads them back sample by sample as a training loader does.
Every numeric library runs on one thread, so the rates are per core; the machine's load is printed.
Every decoded frame is compared with the rendered one (the codecs are lossless). Usage::

    python benchmarks/bench_codecs.py [--samples 16] [--size 384] [--catalogue DIR]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

#: (store.codec, store.compression_level) pairs measured.
CHOICES = [("zstd", 1), ("htj2k", 1), ("jpegls", 1), ("jpegxl", 1), ("jpegxl", 2), ("jpegxl", 3), ("webp", 0), ("webp", 1), ("webp", 2)]


def render_frames(catalogue_dir: Path | None, samples: int, size: int) -> dict[str, np.ndarray]:
    """Frame field -> ``(samples, size, size, 3)`` uint8 of part-1 samples 0..samples-1."""
    from mmdata.config import load_config
    from mmdata.render.composite import render
    from mmdata.sources import build_catalogue, open_catalogue
    from mmdata.spec import DatasetSpec

    config = load_config(overrides={"dataset": {"image_size": size, "shard_size": samples, "parts": {"fg_bg": samples}}})
    if catalogue_dir is None:
        catalogue_dir = Path(tempfile.mkdtemp(prefix="bench-codecs-cat-")) / "builtin"
        build_catalogue({"kind": "builtin"}, catalogue_dir, progress=False)
    spec, catalogue = DatasetSpec.from_config(config), open_catalogue(catalogue_dir)
    rendered = [render(spec, 1, i, catalogue)[1] for i in range(samples)]
    return {name: np.stack([r[name] for r in rendered]) for name in rendered[0]}


def measure(frames: dict[str, np.ndarray], codec: str, level: int, folder: Path) -> dict[str, float]:
    """MB per sample on disk, encode and decode samples per CPU-second for one codec choice."""
    import zarr

    from mmdata.store import IMAGE_FORMATS, StoreSettings, dir_bytes
    from mmdata.store.writer import frame_codecs

    settings = StoreSettings(codec=codec, compression_level=level)
    n = len(next(iter(frames.values())))
    group = zarr.open_group(str(folder), mode="w")
    arrays = {}
    cpu = time.process_time()
    for name, data in frames.items():
        arrays[name] = group.create_array(name, shape=data.shape, chunks=(1, *data.shape[1:]), shards=(4, *data.shape[1:]),
                                          dtype="uint8", **frame_codecs(settings))
        arrays[name][...] = data
    encode = n / (time.process_time() - cpu)
    cpu = time.process_time()
    for i in range(n):
        for name, arr in arrays.items():
            if not np.array_equal(arr[i], frames[name][i]):
                raise AssertionError(f"{codec} level {level}: {name} of sample {i} did not round-trip")
    decode = n / (time.process_time() - cpu)
    return {"mb": dir_bytes(folder) / n / 1e6, "encode": encode, "decode": decode, "image": codec in IMAGE_FORMATS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--catalogue", type=Path, help="catalogue folder (default: build the built-in one)")
    args = parser.parse_args()
    frames = render_frames(args.catalogue, args.samples, args.size)
    raw = sum(a[0].nbytes for a in frames.values()) / 1e6
    print(f"load average {os.getloadavg()[0]:.2f} (1 min); {args.samples} part-1 samples, {args.size} px, "
          f"{len(frames)} frames, {raw:.2f} MB raw per sample; one thread")
    print("| store.codec | level | MB per sample | of raw | encode, samples/CPU s | decode, samples/CPU s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-codecs-") as tmp:
        for codec, level in CHOICES:
            r = measure(frames, codec, level, Path(tmp) / f"{codec}-{level}.zarr")
            print(f"| {codec} | {level} | {r['mb']:.3f} | {r['mb'] / raw:.2f} | {r['encode']:.1f} | {r['decode']:.1f} |", flush=True)


if __name__ == "__main__":
    main()

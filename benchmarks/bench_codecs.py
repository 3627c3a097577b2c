"""Frame codecs side by side: MB per sample, encode and decode samples per CPU-second, through zarr.

Renders part-1 samples (default 16 at 384 x 384, five frames) once, then stores their frames with
every choice of ``store.codec`` (and a few levels) the way the dataset writer does (one sample per
chunk inside zarr shards of 4), and reads them back sample by sample as a training loader does.
Every numeric library runs on one thread, so the rates are per core; the CPU model and the machine's
load are printed. Every decoded frame is compared with the rendered one (the codecs are lossless).
A second table measures lossless codecs ``store.codec`` does not offer, called directly on the same
frames (one image per frame, no zarr): PNG, QOI, and zstd / LZ4 after a per-channel horizontal delta
(a predictor filter), for comparison.

``--race N`` instead runs N fresh processes whose first HTJ2K encodes overlap on 8 threads, calling
OpenJPH directly and through :func:`mmdata.store.codec.encode_image`, and counts the processes with
a codestream that does not decode to its image (see the notes of ``mmdata/store/codec.py``). Usage::

    python benchmarks/bench_codecs.py [--samples 16] [--size 384] [--catalogue DIR] [--race N]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

#: (store.codec, store.compression_level) pairs measured.
CHOICES = [("zstd", 1), ("htj2k", 1), ("jpegls", 1), ("jpegxl", 1), ("jpegxl", 2), ("jpegxl", 3), ("webp", 0), ("webp", 1), ("webp", 2)]


def _delta(img: np.ndarray) -> bytes:
    import imagecodecs

    return imagecodecs.delta_encode(img, axis=1).tobytes()  # each pixel minus its left neighbour, per channel


def _undelta(raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    import imagecodecs

    return imagecodecs.delta_decode(np.frombuffer(raw, np.uint8).reshape(shape), axis=1)


def _others() -> dict[str, tuple]:
    """name -> (encode(image), decode(bytes, shape)) of lossless codecs that store.codec does not offer."""
    import imagecodecs as ic

    return {
        "png (zlib level 1)": (lambda x: ic.png_encode(x, level=1), lambda b, s: ic.png_decode(b)),
        "qoi": (ic.qoi_encode, lambda b, s: ic.qoi_decode(b)),
        "delta + zstd 1": (lambda x: ic.zstd_encode(_delta(x), level=1), lambda b, s: _undelta(ic.zstd_decode(b), s)),
        "delta + lz4": (lambda x: ic.lz4_encode(_delta(x)), lambda b, s: _undelta(ic.lz4_decode(b), s)),
    }


def measure_direct(frames: dict[str, np.ndarray], encode, decode) -> dict[str, float]:
    """MB per sample, encode and decode samples per CPU-second of direct per-frame calls."""
    n = len(next(iter(frames.values())))
    cpu = time.process_time()
    blobs = {name: [encode(np.ascontiguousarray(data[i])) for i in range(n)] for name, data in frames.items()}
    encode_rate = n / (time.process_time() - cpu)
    cpu = time.process_time()
    for i in range(n):
        for name, data in frames.items():
            if np.asarray(decode(blobs[name][i], data[i].shape)).tobytes() != data[i].tobytes():
                raise AssertionError(f"{name} of sample {i} did not round-trip")
    decode_rate = n / (time.process_time() - cpu)
    return {"mb": sum(len(b) for bs in blobs.values() for b in bs) / n / 1e6, "encode": encode_rate, "decode": decode_rate}


def machine() -> str:
    """The CPU model, the cores and the load averages (1, 5, 15 min)."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU") if Path("/proc/cpuinfo").exists() else "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, load " + "/".join(f"{x:.2f}" for x in os.getloadavg())


_RACE_CHILD = """
import sys, threading, numpy as np, imagecodecs
from mmdata.store.codec import encode_image
guarded = sys.argv[1] == "guarded"
rng = np.random.default_rng(int(sys.argv[2]))
imgs = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for i in range(8)]  # noisy 32 px images
enc = (lambda im: encode_image("htj2k", im, None)) if guarded else (lambda im: imagecodecs.htj2k_encode(im, reversible=True))
barrier, out = threading.Barrier(8), [None] * 8
def work(i):
    barrier.wait()
    out[i] = bytes(enc(imgs[i]))
threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
bad = 0
for blob, im in zip(out, imgs):
    try:
        bad += not np.array_equal(imagecodecs.htj2k_decode(blob), im)
    except Exception:
        bad += 1
print(bad)
"""


def race(runs: int) -> None:
    """Fresh processes whose first HTJ2K encodes overlap: how many wrote a bad codestream."""
    print(f"{machine()}; {runs} fresh processes each, 8 threads, first encodes at once")
    for mode in ("direct", "guarded"):
        failed = sum(subprocess.run([sys.executable, "-c", _RACE_CHILD, mode, str(seed)], capture_output=True, text=True,
                                    check=True).stdout.strip() != "0" for seed in range(runs))
        print(f"htj2k {mode}: {failed} of {runs} processes wrote a codestream that does not decode to its image", flush=True)


def render_frames(catalogue_dir: Path | None, samples: int, size: int) -> tuple[dict[str, np.ndarray], float]:
    """Frame field -> ``(samples, size, size, 3)`` uint8 of part-1 samples 0..samples-1, and samples per CPU-second."""
    from mmdata.config import load_config
    from mmdata.render.composite import render
    from mmdata.sources import build_catalogue, open_catalogue
    from mmdata.spec import DatasetSpec

    config = load_config(overrides={"dataset": {"image_size": size, "shard_size": samples, "parts": {"fg_bg": samples}}})
    if catalogue_dir is None:
        catalogue_dir = Path(tempfile.mkdtemp(prefix="bench-codecs-cat-")) / "builtin"
        build_catalogue({"kind": "builtin"}, catalogue_dir, progress=False)
    spec, catalogue = DatasetSpec.from_config(config), open_catalogue(catalogue_dir)
    render(spec, 1, 0, catalogue)  # warm-up: first-use set-up (catalogue images, caches) is not rendering
    cpu = time.process_time()
    rendered = [render(spec, 1, i, catalogue)[1] for i in range(samples)]
    rate = samples / (time.process_time() - cpu)
    return {name: np.stack([r[name] for r in rendered]) for name in rendered[0]}, rate


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
    parser.add_argument("--race", type=int, metavar="N", help="count bad HTJ2K first encodes in N fresh processes instead")
    args = parser.parse_args()
    if args.race:
        race(args.race)
        return
    from mmdata.store import StoreSettings

    default = StoreSettings()
    frames, render_rate = render_frames(args.catalogue, args.samples, args.size)
    raw = sum(a[0].nbytes for a in frames.values()) / 1e6
    print(f"{machine()}; {args.samples} part-1 samples, {args.size} px, {len(frames)} frames ({', '.join(frames)}), "
          f"{raw:.2f} MB raw per sample; one thread; rendering {render_rate:.1f} samples/CPU s")
    print("| store.codec | level | MB per sample | of raw | encode, samples/CPU s | decode, samples/CPU s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-codecs-") as tmp:
        for codec, level in CHOICES:
            r = measure(frames, codec, level, Path(tmp) / f"{codec}-{level}.zarr")
            name = f"{codec} (default)" if (codec, level) == (default.codec, default.compression_level) else codec
            print(f"| {name} | {level} | {r['mb']:.3f} | {r['mb'] / raw:.2f} | {r['encode']:.1f} | {r['decode']:.1f} |", flush=True)
    print(f"\nNot offered by store.codec, called directly on each frame (no zarr); {machine()}")
    print("| codec | MB per sample | of raw | encode, samples/CPU s | decode, samples/CPU s |")
    print("|---|---|---|---|---|")
    for name, (encode, decode) in _others().items():
        r = measure_direct(frames, encode, decode)
        print(f"| {name} | {r['mb']:.3f} | {r['mb'] / raw:.2f} | {r['encode']:.1f} | {r['decode']:.1f} |", flush=True)
    print(f"end: {machine()}")


if __name__ == "__main__":
    main()

"""Catalogue build throughput (images/s) and object-bank random access (objects/s).

Synthesizes, in a temporary folder, a COCO-style dataset of ``--images`` JPEGs (COCO-sized,
640x480, smooth random texture, three polygon instances each) and a VOC-style folder of the same
photographs with instance masks, then builds the catalogue with each worker count and reads random
objects back. Prints one line per measurement.

    python benchmarks/bench_sources.py --images 300 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from mmdata.sources import build_catalogue, open_catalogue


def _photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    noise = rng.normal(size=(h // 4, w // 4, 3))
    smooth = gaussian_filter(noise, sigma=(3, 3, 0))
    img = np.kron(smooth, np.ones((4, 4, 1)))[:h, :w]
    img = (img - img.min()) / (np.ptp(img) + 1e-9) * 255
    return img.astype(np.uint8)


def synthesize(root: Path, n: int, rng: np.random.Generator, h: int = 480, w: int = 640) -> dict:
    """Write ``n`` JPEGs with COCO annotations and VOC masks under ``root``; return a sources config."""
    jpg = root / "VOC" / "JPEGImages"
    seg = root / "VOC" / "SegmentationObject"
    jpg.mkdir(parents=True)
    seg.mkdir(parents=True)
    images, anns = [], []
    for i in range(n):
        name = f"{i:06d}.jpg"
        Image.fromarray(_photo(rng, h, w)).save(jpg / name, quality=90)
        labels = np.zeros((h, w), np.uint8)
        for k in range(1, 4):
            x0, y0 = int(rng.integers(0, w - 150)), int(rng.integers(0, h - 150))
            side = int(rng.integers(40, 150))
            labels[y0 : y0 + side, x0 : x0 + side] = k
            poly = [x0, y0, x0 + side, y0, x0 + side, y0 + side, x0, y0 + side]
            anns.append(
                {
                    "id": len(anns),
                    "image_id": i,
                    "category_id": 1,
                    "iscrowd": 0,
                    "segmentation": [poly],
                    "area": side * side,
                }
            )
        Image.fromarray(labels, mode="L").save(seg / f"{i:06d}.png")
        images.append({"id": i, "file_name": name, "width": w, "height": h})
    (root / "ann.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "box"}]})
    )
    return {
        "kind": "coco_voc",
        "coco": {"annotations": str(root / "ann.json"), "images": str(jpg), "use_masks": True},
        "voc": {"root": str(root / "VOC")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--reads", type=int, default=500, help="random object reads")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        cfg = synthesize(root, args.images, rng)
        print(f"synthesized {args.images} JPEGs 640x480 in {time.perf_counter() - t0:.1f} s")
        # Each image is read twice per build: once as a COCO background (+ masks), once as a VOC photograph.
        for workers in args.workers:
            t0, c0 = time.perf_counter(), time.process_time()
            out = build_catalogue(cfg, root / f"cat{workers}", workers=workers)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            cat = open_catalogue(out)
            print(
                f"build coco+voc, workers={workers}: {2 * args.images / dt:.1f} images/s "
                f"({args.images} COCO + {args.images} VOC images, {len(cat.object_ids)} objects, {dt:.1f} s; "
                f"{2 * args.images / cpu:.1f} images per CPU-second of the main process)"
            )
        cat = open_catalogue(root / f"cat{args.workers[0]}")
        ids = list(cat.object_ids)
        picks = rng.integers(0, len(ids), args.reads)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in picks:
            cat.object(ids[i])
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"object bank random access: {args.reads / dt:.0f} objects/s ({dt / args.reads * 1e3:.2f} ms each, "
            f"{cpu / args.reads * 1e3:.2f} ms CPU)"
        )
        bg = list(cat.background_ids)
        fresh = open_catalogue(root / f"cat{args.workers[0]}")  # its own cache, so every read decodes
        t0 = time.perf_counter()
        for i in range(min(100, len(bg))):
            fresh.background(bg[i])
        dt = time.perf_counter() - t0
        print(f"background read (decode + sha256 check): {min(100, len(bg)) / dt:.0f} images/s")


if __name__ == "__main__":
    main()

"""What a shard store holds: settings, paths, per-sample records and their columns.

A dataset root holds one Zarr v3 store per (part, shard)::

    ROOT/part{P}/shard-{K:04d}.zarr        # a complete shard (renamed into place when finished)
    ROOT/part{P}/.shard-{K:04d}.zarr.partial  # being written (resumed by a rerun)
    ROOT/manifest.json                     # written by ``mmdata index``
    ROOT/card/                             # dataset card

Arrays of a shard store (N samples, H x W frames, L = 1 + max objects layers):

=================  ==============  =========  ==============================================
name               shape           dtype      meaning
=================  ==============  =========  ==============================================
frame_*            (N, H, W, 3)    uint8      the frames (one sample per chunk, zarr shards)
alpha              (N,)            float32    magnification factor
part, index        (N,)            u1, i8     part number (1-5, custom parts 6-255) and index within the part
noise_std          (N,)            float32    photon-noise std at mid-gray (NaN: unknown)
background_blur    (N,)            float32    background blur sigma (NaN: unknown)
n_objects          (N,)            int16      foreground objects (-1: unknown)
motion             (N, L, 2)       float32    (dx, dy) per layer, background first, NaN pad
params_json        (N,)            string     exact SampleParams JSON ("" when imported)
theta              (N,)            float32    axial stores only: direction of alpha_x, radians from +x towards +y
alpha_x, alpha_y   (N,)            float32    axial stores only: factors along and across theta (alpha_x = alpha)
digest             (N, F, 32)      uint8      sha256 of each frame field, in frame_fields order
fast_digest        (N, F, 16)      uint8      xxh3-128 of the same bytes (checked by verified reads;
                                              absent from shards written before it existed)
blocks_done        (n_blocks,)     uint8      1 when a writer finished that zarr shard
=================  ==============  =========  ==============================================

A store of axial targets (``dataset.axial``; ``ShardLayout.axial``) has the three arrays theta, alpha_x
and alpha_y: every layer of a sample shares them, so they are stored per sample, and the per-pixel
factor maps (constant over the frame) are made from them on export (:func:`axial_maps`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from mmdata.errors import ConfigError
from mmdata.scene import SampleParams
from mmdata.store.provenance import params_to_json

__all__ = [
    "STORE_FORMAT",
    "StoreSettings",
    "ShardLayout",
    "SampleRecord",
    "SMALL_FIELDS",
    "AXIAL_FIELDS",
    "axial_maps",
    "DIGEST_FIELDS",
    "part_dir",
    "shard_path",
    "partial_path",
    "shard_count",
    "shard_range",
    "lock_path",
    "record_columns",
]

#: Version of the store layout; bumped on incompatible changes.
STORE_FORMAT = 1

#: Per-sample arrays besides the frames and the digests: name -> (dtype, trailing shape kind).
SMALL_FIELDS: dict[str, str] = {
    "part": "uint8",
    "index": "int64",
    "alpha": "float32",
    "noise_std": "float32",
    "background_blur": "float32",
    "n_objects": "int16",
    "motion": "float32",
    "params_json": "str",
}

#: The per-sample arrays of an axial store (``ShardLayout.axial``), besides SMALL_FIELDS.
AXIAL_FIELDS: dict[str, str] = {"theta": "float32", "alpha_x": "float32", "alpha_y": "float32"}

#: Per-frame digest arrays: name -> bytes per digest ("fast_digest" may be absent from older shards).
DIGEST_FIELDS: dict[str, int] = {"digest": 32, "fast_digest": 16}


@dataclass(frozen=True)
class StoreSettings:
    """How shards are written (the ``store`` config section); never changes any sample's pixels."""

    zarr_shard_samples: int = 50  # samples per zarr shard inside a store (the unit one writer owns)
    codec: str = "jpegxl"  # frames: a lossless image format (mmdata.store.codec) or a Blosc compressor name
    compression_level: int = 2  # JPEG XL effort 1-9, WebP method 0-6 or Blosc level 0-9; unused by htj2k and jpegls
    pool: str = "threads"  # local Dask pool: "threads" or "processes"

    def __post_init__(self) -> None:
        if self.codec == "webp" and not 0 <= self.compression_level <= 6:
            raise ConfigError(f"store.compression_level: WebP's method is 0-6, got {self.compression_level}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "StoreSettings":
        """Build from a resolved config (its ``store`` section; missing keys keep the defaults)."""
        section = dict(config.get("store", {}) or {})
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in section.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ShardLayout:
    """Shapes of one shard store's arrays."""

    count: int  # samples N
    image_shape: tuple[int, int]  # (H, W)
    frame_fields: tuple[str, ...]  # frame array names, in digest order
    max_layers: int  # L: background + the most foreground objects a sample may have
    block: int  # samples per zarr shard (one writer owns one block)
    axial: bool = False  # whether the samples have axial targets (arrays AXIAL_FIELDS)

    @property
    def small_fields(self) -> dict[str, str]:
        """The per-sample arrays besides the frames and the digests: SMALL_FIELDS (+ AXIAL_FIELDS)."""
        return {**SMALL_FIELDS, **AXIAL_FIELDS} if self.axial else dict(SMALL_FIELDS)

    @property
    def n_blocks(self) -> int:
        return -(-self.count // self.block)

    def block_range(self, block_index: int) -> tuple[int, int]:
        """[lo, hi) sample offsets (within the store) of one block."""
        lo = block_index * self.block
        return lo, min(lo + self.block, self.count)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "image_shape": list(self.image_shape),
            "frame_fields": list(self.frame_fields),
            "max_layers": self.max_layers,
            "block": self.block,
            **({"axial": True} if self.axial else {}),  # left out otherwise: the layouts of earlier shards
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ShardLayout":
        return cls(
            count=int(d["count"]),
            image_shape=(int(d["image_shape"][0]), int(d["image_shape"][1])),
            frame_fields=tuple(str(f) for f in d["frame_fields"]),
            max_layers=int(d["max_layers"]),
            block=int(d["block"]),
            axial=bool(d.get("axial", False)),
        )


@dataclass(frozen=True)
class SampleRecord:
    """One rendered (or imported) sample on its way to the store."""

    part: int
    index: int
    frames: dict[str, np.ndarray]  # frame field -> uint8 (H, W, 3)
    alpha: float
    params: SampleParams | None = None  # None for samples imported from another layout
    axial: tuple[float, float, float] | None = None  # (theta, alpha_x, alpha_y) of an imported axial sample


def part_dir(root: str | Path, part: int) -> Path:
    """``ROOT/part{P}``."""
    return Path(root) / f"part{int(part)}"


def shard_path(root: str | Path, part: int, shard: int) -> Path:
    """``ROOT/part{P}/shard-{K:04d}.zarr``: where a complete shard lives."""
    return part_dir(root, part) / f"shard-{int(shard):04d}.zarr"


def shard_count(part_size: int, shard_size: int) -> int:
    """Shard stores of a part of ``part_size`` samples in shards of ``shard_size``: the ceiling of the ratio."""
    return -(-int(part_size) // int(shard_size))


def shard_range(part_size: int, shard_size: int, shard: int) -> tuple[int, int]:
    """Sample indices ``[start, stop)`` of shard ``shard`` of a part (the last shard may hold fewer).

    Raises:
        ConfigError: ``shard`` is not a shard of the part.
    """
    n = shard_count(part_size, shard_size)
    if isinstance(shard, bool) or not isinstance(shard, (int, np.integer)) or not 0 <= shard < n:
        last = f"shards 0-{n - 1}" if n else "no shards"
        raise ConfigError(f"shard: {shard} is beyond the part's {part_size} samples in shards of {shard_size} ({last})")
    start = int(shard) * int(shard_size)
    return start, min(start + int(shard_size), int(part_size))


def partial_path(final: Path) -> Path:
    """Hidden temporary name a shard is written under before the atomic rename."""
    return final.with_name(f".{final.name}.partial")


def lock_path(final: Path) -> Path:
    """Lock file that keeps two writers off one shard."""
    return final.with_name(f".{final.name}.lock")


def record_columns(records: Sequence[SampleRecord], layout: ShardLayout) -> dict[str, np.ndarray]:
    """Stack the per-sample small fields of ``records`` into arrays (see the module table).

    Raises:
        ValueError: a sample has more layers than ``layout.max_layers``.
    """
    n = len(records)
    cols: dict[str, np.ndarray] = {
        "part": np.array([r.part for r in records], dtype=np.uint8),
        "index": np.array([r.index for r in records], dtype=np.int64),
        "alpha": np.array([r.alpha for r in records], dtype=np.float32),
        "noise_std": np.full(n, np.nan, dtype=np.float32),
        "background_blur": np.full(n, np.nan, dtype=np.float32),
        "n_objects": np.full(n, -1, dtype=np.int16),
        "motion": np.full((n, layout.max_layers, 2), np.nan, dtype=np.float32),
        "params_json": np.array([""] * n, dtype=object),
    }
    if layout.axial:
        cols.update(_axial_columns(records))
    for i, rec in enumerate(records):
        p = rec.params
        if p is None:
            continue
        layers = (p.background, *p.objects)
        if len(layers) > layout.max_layers:
            raise ValueError(
                f"part {rec.part} index {rec.index}: {len(layers)} layers exceed the store's {layout.max_layers}"
            )
        cols["noise_std"][i] = p.noise_std
        cols["background_blur"][i] = p.background_blur
        cols["n_objects"][i] = len(p.objects)
        cols["motion"][i, : len(layers)] = [layer.motion for layer in layers]
        cols["params_json"][i] = params_to_json(p)
    return cols


def _axial_columns(records: Sequence[SampleRecord]) -> dict[str, np.ndarray]:
    """theta, alpha_x, alpha_y of every record (from its parameters, or an imported sample's ``axial``).

    Raises:
        ValueError: a record has no axial targets.
    """
    rows = []
    for rec in records:
        if rec.params is not None and rec.params.is_axial:
            rows.append((rec.params.theta, rec.params.alpha, rec.params.alpha_y))
        elif rec.params is None and rec.axial is not None:
            rows.append(rec.axial)
        else:
            raise ValueError(f"part {rec.part} index {rec.index}: has no axial targets, but the store is one of axial targets")
    values = np.asarray(rows, dtype=np.float32).reshape(len(records), 3)
    return {name: values[:, k] for k, name in enumerate(AXIAL_FIELDS)}


def axial_maps(alpha_x: float, alpha_y: float, shape: tuple[int, int]) -> np.ndarray:
    """The per-pixel factor maps of one axial sample: (H, W, 2) float32, channel 0 alpha_x, 1 alpha_y.

    Every pixel gets the sample's factors: the background and every object share them.
    """
    out = np.empty((*shape, 2), dtype=np.float32)
    out[..., 0], out[..., 1] = alpha_x, alpha_y
    return out

"""Typed, frozen description of the dataset section of the configuration.

:class:`DatasetSpec` is built once, at the edge, from the resolved configuration
(:func:`mmdata.config.load_config`) and handed to sampling and rendering, which then never look at
the raw config dict again. Every field mirrors a key of ``dataset`` in
``mmdata/schema/config.schema.yaml``, where each key is described and has its paper default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from mmdata.config import validate_config
from mmdata.render.params import PART_NAMES

__all__ = ["Range", "AffineSpec", "MotionSpec", "ObjectSpec", "NoiseSpec", "PhotometricSpec", "DatasetSpec"]


@dataclass(frozen=True)
class Range:
    """A closed interval [min, max] a value is drawn uniformly from."""

    min: float
    max: float


@dataclass(frozen=True)
class AffineSpec:
    """Ranges of each moving layer's affine motion about identity (all 0: translations only, the default)."""

    rotation_deg: float  # rotation ~ U[-rotation_deg, rotation_deg] degrees
    scale: float  # isotropic scale change ~ U[-scale, scale] (A = (1 + s) R Sh)
    shear: float  # shear ~ U[-shear, shear]

    @property
    def active(self) -> bool:
        """Whether layers get an affine part at all."""
        return self.rotation_deg > 0 or self.scale > 0 or self.shear > 0


@dataclass(frozen=True)
class MotionSpec:
    """Per-layer input motion |delta| (output pixels) and the cap on the magnified motion."""

    min: float  # smallest |delta| of a moving layer
    max: float  # largest |delta| (paper: 10 px); with affine motion, of the displacement anywhere in the layer
    max_magnified: float  # largest alpha * |delta| of any layer (paper: 30 px), likewise
    affine: AffineSpec = AffineSpec(0.0, 0.0, 0.0)  # optional affine part of each moving layer's motion


@dataclass(frozen=True)
class ObjectSpec:
    """Foreground objects of the parts fg_bg, blur_bg and fg_only."""

    count_min: int  # fewest objects per sample (paper: 7)
    count_max: int  # most objects per sample (paper: 15)
    scale_min: float  # smallest scale (output px per source px)
    scale_max: float  # largest scale (paper: 2, to avoid blurry texture)
    max_extent: float  # largest side of a scaled object as a fraction of image_size


@dataclass(frozen=True)
class NoiseSpec:
    """Photon noise of the input frames."""

    photon_std_max: float  # largest std at mid-gray, 0-255 units (paper: 3)
    noisy_target: bool  # also add photon noise to Y and Y' (default: clean targets)


@dataclass(frozen=True)
class PhotometricSpec:
    """Input-only photometric changes (off by default): the network must learn to ignore them."""

    gain_flicker: float  # exposure gain of frame B ~ U[1 - g, 1 + g] per sample; 0 = off
    read_noise: Range  # Gaussian read-noise std (0-255 units) ~ U[min, max] per sample; max 0 = off

    @property
    def active(self) -> bool:
        """Whether any per-sample photometric parameter is drawn."""
        return self.gain_flicker > 0 or self.read_noise.max > 0


@dataclass(frozen=True)
class DatasetSpec:
    """Everything sampling and rendering need to know about the dataset."""

    seed: int  # global seed; sample draws use SeedSequence([seed, part, index])
    image_size: int  # output frame side, pixels
    supersample: int  # render grid is this many times finer than the output grid
    antialias_sigma: float  # Gaussian anti-aliasing std before decimation, output pixels
    store_frame_y: bool  # whether training shards keep the unperturbed magnified frame
    shard_size: int  # samples per shard store
    parts: dict[str, int]  # part name -> number of samples (0 disables a part)
    alpha: Range  # magnification factor
    motion: MotionSpec
    objects: ObjectSpec
    background_scale: Range  # scale of the background before the cover constraint
    color_max_offset: float  # per-layer RGB offsets of the perturbed frames are in +-this
    noise: NoiseSpec
    blur: Range  # background blur sigma (output px) of parts blur_bg and fg_only
    linear_light: bool = False  # composite, blur and decimate in linear light (sRGB decoded, re-encoded)
    photometric: PhotometricSpec = PhotometricSpec(0.0, Range(0.0, 0.0))  # input-only gain and read noise

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "DatasetSpec":
        """Build the spec from a resolved configuration (or a partial dict, which is validated first).

        Args:
            cfg: the configuration; only ``seed`` and ``dataset`` are read.

        Returns:
            The frozen spec.

        Raises:
            ConfigError: a value is missing, of the wrong type, out of range or inconsistent with
                another; the message starts with the dotted key.
        """
        resolved = validate_config(cfg)
        ds = resolved["dataset"]
        spec = cls(
            seed=int(resolved["seed"]),
            image_size=int(ds["image_size"]),
            supersample=int(ds["supersample"]),
            antialias_sigma=float(ds["antialias_sigma"]),
            store_frame_y=bool(ds["store_frame_y"]),
            shard_size=int(ds["shard_size"]),
            parts={name: int(ds["parts"][name]) for name in PART_NAMES},
            alpha=Range(float(ds["alpha"]["min"]), float(ds["alpha"]["max"])),
            motion=MotionSpec(
                float(ds["motion"]["min"]),
                float(ds["motion"]["max"]),
                float(ds["motion"]["max_magnified"]),
                AffineSpec(*(float(ds["motion"]["affine"][k]) for k in ("rotation_deg", "scale", "shear"))),
            ),
            objects=ObjectSpec(
                count_min=int(ds["objects"]["count_min"]),
                count_max=int(ds["objects"]["count_max"]),
                scale_min=float(ds["objects"]["scale_min"]),
                scale_max=float(ds["objects"]["scale_max"]),
                max_extent=float(ds["objects"]["max_extent"]),
            ),
            background_scale=Range(float(ds["background"]["scale_min"]), float(ds["background"]["scale_max"])),
            color_max_offset=float(ds["color_perturbation"]["max_offset"]),
            noise=NoiseSpec(float(ds["noise"]["photon_std_max"]), bool(ds["noise"]["noisy_target"])),
            blur=Range(float(ds["blur"]["sigma_min"]), float(ds["blur"]["sigma_max"])),
            linear_light=bool(ds["linear_light"]),
            photometric=PhotometricSpec(
                gain_flicker=float(ds["photometric"]["gain_flicker"]),
                read_noise=Range(float(ds["photometric"]["read_noise_std"]["min"]), float(ds["photometric"]["read_noise_std"]["max"])),
            ),
        )
        return spec

    def part_size(self, part: str) -> int:
        """Number of samples of a part, by name."""
        return int(self.parts[part])

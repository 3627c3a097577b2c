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
from mmdata.scene import PART_NAMES, RECIPES, PartRecipe, part_name, part_number

__all__ = ["custom_part_numbers", "CustomPart", "Range", "AffineSpec", "MotionSpec", "ObjectSpec", "NoiseSpec", "PhotometricSpec", "AxialSpec", "DatasetSpec"]


def custom_part_numbers(dataset: Mapping[str, Any] | None) -> dict[str, int]:
    """Custom part name -> number of a (resolved or recorded) ``dataset`` config section; {} without any."""
    return {str(name): int(cp["number"]) for name, cp in ((dataset or {}).get("custom_parts") or {}).items()}


@dataclass(frozen=True)
class CustomPart:
    """A part of ``dataset.custom_parts``: a built-in part's recipe with some knobs overridden."""

    name: str  # its name (a key of dataset.parts)
    number: int  # its part number (>= 6): its folder part<number>/ and part of its samples' seeds
    base: str  # the built-in part whose recipe it starts from
    recipe: PartRecipe  # the recipe with the overrides applied

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], objects: "ObjectSpec") -> "CustomPart":
        """Build from one entry of ``dataset.custom_parts`` (validated); ``objects`` fills a count range given by one end."""
        base = RECIPES[cfg["recipe"]]
        count = None
        if "count_min" in cfg or "count_max" in cfg:
            count = (int(cfg.get("count_min", objects.count_min)), int(cfg.get("count_max", objects.count_max)))
        recipe = PartRecipe(
            objects=base.objects,
            background_moves=bool(cfg.get("background_moves", base.background_moves)),
            objects_move=bool(cfg.get("objects_move", base.objects_move)),
            blur=bool(cfg.get("blur", base.blur)),
            count=count,
        )
        return cls(name=name, number=int(cfg["number"]), base=str(cfg["recipe"]), recipe=recipe)

    def overrides(self) -> dict[str, Any]:
        """The knobs that differ from the base recipe, e.g. ``{"background_moves": False}``."""
        base = RECIPES[self.base]
        out: dict[str, Any] = {k: getattr(self.recipe, k) for k in ("background_moves", "objects_move", "blur")
                               if getattr(self.recipe, k) != getattr(base, k)}
        if self.recipe.count is not None:
            out["count"] = list(self.recipe.count)
        return out


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
class AxialSpec:
    """Axial magnification targets (off by default): alpha_x = alpha along theta, alpha_y = r * alpha across it."""

    enabled: bool  # draw (theta, r) per sample and magnify per axis
    theta_deg: Range  # direction theta of alpha_x, degrees from +x towards +y
    ratio: Range  # r = alpha_y / alpha_x, within [0, 1]

    @property
    def active(self) -> bool:
        """Whether samples get axial targets."""
        return self.enabled


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
    custom_parts: tuple[CustomPart, ...] = ()  # dataset.custom_parts, by number
    axial: AxialSpec = AxialSpec(False, Range(0.0, 180.0), Range(0.0, 1.0))  # per-axis magnification targets

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
        objects = ObjectSpec(
            count_min=int(ds["objects"]["count_min"]),
            count_max=int(ds["objects"]["count_max"]),
            scale_min=float(ds["objects"]["scale_min"]),
            scale_max=float(ds["objects"]["scale_max"]),
            max_extent=float(ds["objects"]["max_extent"]),
        )
        spec = cls(
            seed=int(resolved["seed"]),
            image_size=int(ds["image_size"]),
            supersample=int(ds["supersample"]),
            antialias_sigma=float(ds["antialias_sigma"]),
            store_frame_y=bool(ds["store_frame_y"]),
            shard_size=int(ds["shard_size"]),
            parts={name: int(ds["parts"].get(name, 0)) for name in (*PART_NAMES, *sorted(ds.get("custom_parts") or {}))},
            alpha=Range(float(ds["alpha"]["min"]), float(ds["alpha"]["max"])),
            motion=MotionSpec(
                float(ds["motion"]["min"]),
                float(ds["motion"]["max"]),
                float(ds["motion"]["max_magnified"]),
                AffineSpec(*(float(ds["motion"]["affine"][k]) for k in ("rotation_deg", "scale", "shear"))),
            ),
            objects=objects,
            background_scale=Range(float(ds["background"]["scale_min"]), float(ds["background"]["scale_max"])),
            color_max_offset=float(ds["color_perturbation"]["max_offset"]),
            noise=NoiseSpec(float(ds["noise"]["photon_std_max"]), bool(ds["noise"]["noisy_target"])),
            blur=Range(float(ds["blur"]["sigma_min"]), float(ds["blur"]["sigma_max"])),
            linear_light=bool(ds["linear_light"]),
            photometric=PhotometricSpec(
                gain_flicker=float(ds["photometric"]["gain_flicker"]),
                read_noise=Range(float(ds["photometric"]["read_noise_std"]["min"]), float(ds["photometric"]["read_noise_std"]["max"])),
            ),
            axial=AxialSpec(
                enabled=bool(ds["axial"]["enabled"]),
                theta_deg=Range(float(ds["axial"]["theta_deg"]["min"]), float(ds["axial"]["theta_deg"]["max"])),
                ratio=Range(float(ds["axial"]["ratio"]["min"]), float(ds["axial"]["ratio"]["max"])),
            ),
            custom_parts=tuple(sorted((CustomPart.from_config(n, c, objects) for n, c in (ds.get("custom_parts") or {}).items()), key=lambda c: c.number)),
        )
        return spec

    @property
    def custom_numbers(self) -> dict[str, int]:
        """Custom part name -> number ({} without custom parts)."""
        return {c.name: c.number for c in self.custom_parts}

    @property
    def part_numbers(self) -> tuple[int, ...]:
        """Every part's number: 1-5, then the custom parts' in order."""
        return (*range(1, len(PART_NAMES) + 1), *(c.number for c in self.custom_parts))

    def part_number(self, part: int | str) -> int:
        """The number of a part given by number or name, custom parts included (ConfigError if unknown)."""
        return part_number(part, self.custom_numbers)

    def part_name(self, part: int | str) -> str:
        """The name of a part given by number or name, custom parts included (ConfigError if unknown)."""
        return part_name(part, self.custom_numbers)

    def recipe(self, part: int | str) -> PartRecipe:
        """What the scenes of a part consist of and which layers move."""
        name = self.part_name(part)
        for c in self.custom_parts:
            if c.name == name:
                return c.recipe
        return RECIPES[name]

    def part_size(self, part: str) -> int:
        """Number of samples of a part, by name (custom parts included)."""
        return int(self.parts.get(part, 0)) if part in self.custom_numbers else int(self.parts[part])

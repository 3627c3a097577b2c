"""The quantitative tests of the paper (section 4.1, Fig. 8, Table A.2): what each test case is.

Four tests, each a list of *levels* (the x axis of its plot), optionally in *groups* (one plot each):

==============  ====================  ======================================  ==============  ==========
test            level (x axis)        alpha, input motion delta               noise factor    background
==============  ====================  ======================================  ==============  ==========
subpixel        delta, 0.01-1 px      alpha = M / delta                       0 (none)        moves
noise           noise factor 0.01-100 delta fixed per group (0.05, 0.5 px),   the level       still
                                      alpha = M / delta
magnification   alpha, 1-1000         delta = min(cap, M / alpha)             0               moves
input_motion    delta, 1-10 px        alpha = min(cap, M / delta)             0               moves
alpha_sweep     alpha, 5-100          delta fixed (``sweep_motion``)          0               moves
==============  ====================  ======================================  ==============  ==========

``M`` is the magnified motion (10 px). Every foreground object of a case moves by the same ``delta``
in one random direction; where the background moves, it moves by ``|delta|`` too, in a direction at
least 60 degrees away, so that no method can score well by replicating the background.

Noise factor (the paper's definition): a noise image whose variance equals each pixel's value is
scaled by the factor ``f`` and added. The paper does not say on which scale pixel values are, so the
scale is a setting (:data:`NOISE_SCALES`, :func:`noise_std_of_factor`): ``photon_255`` (pixels in
0-255: photon noise of variance ``f**2 * I``, std ``f * sqrt(127.5)`` = 11.3 f at mid-gray; default)
or ``photon_unit`` (pixels in 0-1: std ``255 f sqrt(I / 255)`` = 180 f at mid-gray). It is added to
the input frames only (the ground truth is clean).

The scene (background, objects, placements, directions) of sample ``i`` of a test is the same at
every level and group, so the curves compare levels on the same scenes; noise draws differ per case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from mmdata.errors import ConfigError
from mmdata.render.noise import MID_GRAY
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.sampling import background_cover
from mmdata.sources.base import Catalogue, background_shape, object_shape
from mmdata.spec import DatasetSpec
from mmtrain.evaluate.baselines import PhaseBasedConfig
from mmtrain.magnify.methodnames import canonical_method

__all__ = [
    "TEST_NAMES",
    "VideoSpec",
    "EvalSpec",
    "Case",
    "NOISE_SCALES",
    "noise_std_of_factor",
    "build_cases",
]

#: The tests, in report order; the number is part of every case's seed.
TEST_NAMES: tuple[str, ...] = ("subpixel", "noise", "magnification", "input_motion", "alpha_sweep")
#: How the paper's noise factor maps to a noise strength (see the module docstring).
NOISE_SCALES: tuple[str, ...] = ("photon_255", "photon_unit")
#: Label of each test's x axis.
LEVEL_LABELS: dict[str, str] = {
    "subpixel": "input motion (px)",
    "noise": "noise factor",
    "magnification": "magnification factor",
    "input_motion": "input motion (px)",
    "alpha_sweep": "magnification factor",
}


def noise_std_of_factor(factor: float, scale: str = "photon_255") -> float:
    """The renderer's photon-noise std at mid-gray (0-255 units) for the paper's noise factor.

    Args:
        factor: the noise factor f.
        scale: ``photon_255`` (variance f**2 * I, I in 0-255) or ``photon_unit`` (I in 0-1).

    Raises:
        ConfigError: unknown scale.
    """
    if scale == "photon_255":
        return float(factor) * math.sqrt(MID_GRAY)
    if scale == "photon_unit":
        return float(factor) * 255.0 * math.sqrt(MID_GRAY / 255.0)
    raise ConfigError(f"evaluate.noise_scale: unknown scale {scale!r}; expected one of {', '.join(NOISE_SCALES)}")


@dataclass(frozen=True)
class VideoSpec:
    """The short clips the temporal-filter methods see: a sinusoidal motion of amplitude delta."""

    frames: int = 30  # clip length (the FIR filter spans the clip)
    fps: float = 30.0  # frame rate
    frequency_hz: float = 3.0  # frequency of the motion

    def coefficients(self) -> np.ndarray:
        """Displacement of every frame as a multiple of delta: cos(2 pi f t / fps); frame 0 shows B."""
        t = np.arange(self.frames)
        return np.cos(2.0 * np.pi * self.frequency_hz * t / self.fps)


@dataclass(frozen=True)
class EvalSpec:
    """Everything the tests need, built once from the ``evaluate`` config section."""

    size: str  # "quick" or "paper"
    tests: tuple[str, ...]  # which tests to run
    image_size: int  # frame side, pixels
    samples: int  # samples per level (and group)
    seed: int  # seed of every scene and noise draw
    border: int  # pixels cropped from every side before SSIM
    magnified_motion: float  # M, the magnified motion of the tests (px)
    objects: tuple[int, int]  # fewest, most foreground objects per scene
    subpixel_motions: tuple[float, ...]
    noise_factors: tuple[float, ...]
    noise_motions: tuple[float, ...]
    magnification_alphas: tuple[float, ...]
    magnification_motion_cap: float  # largest delta of the magnification test
    input_motions: tuple[float, ...]
    input_motion_alpha_cap: float  # largest alpha of the input-motion test
    store_videos: bool  # keep the clips in the test sets (else re-rendered when needed)
    methods: tuple[str, ...]  # built-in methods to run besides the checkpoints given
    models: tuple[tuple[str, str], ...]  # (name, weights path) of networks to score
    video: VideoSpec = field(default_factory=VideoSpec)
    phase_based: PhaseBasedConfig = field(default_factory=PhaseBasedConfig)
    baseline_backend: str = "torch"  # implementation of phase_based and linear: torch or numpy
    sweep_alphas: tuple[float, ...] = (5.0, 10.0, 20.0, 50.0, 100.0)  # levels of the alpha sweep
    sweep_motion: float = 0.1  # input motion of the alpha sweep (px)
    noise_scale: str = "photon_255"  # how the noise factor maps to a strength (NOISE_SCALES)
    ssim_variant: str = "gaussian11"  # the SSIM reported as `ssim` (metrics.SSIM_VARIANTS)
    protocol: str | None = None  # the evaluate.protocols entry these levels come from, if any

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], size: str | None = None, protocol: str | None = None) -> "EvalSpec":
        """Build from a resolved configuration (its ``evaluate`` section).

        Without a protocol, the levels and scale come from the size (``evaluate.sizes``) and the other
        settings from the section. A protocol (``evaluate.protocols``) fixes the tests, levels, sample
        count, image size, SSIM variant, border, noise motions and noise scale; a size given together
        with it only changes the image size, sample count and clip storage (its levels are ignored).

        Args:
            cfg: the resolved config (:func:`mmdata.config.load_config`).
            size: a ``evaluate.sizes`` entry; default ``evaluate.size``.
            protocol: a ``evaluate.protocols`` entry; default ``evaluate.protocol`` (none).

        Raises:
            ConfigError: unknown size, protocol or test name, or inconsistent values.
        """
        ev = cfg["evaluate"]
        protocol = protocol or ev.get("protocol")
        explicit_size = size is not None
        size = size or ev["size"]
        if size not in ev["sizes"]:
            raise ConfigError(f"evaluate.size: unknown size {size!r}; expected one of {', '.join(ev['sizes'])}")
        merged: dict[str, Any] = {**ev, **ev["sizes"][size]}
        if protocol:
            if protocol not in ev["protocols"]:
                raise ConfigError(f"evaluate.protocol: unknown protocol {protocol!r}; expected one of {', '.join(ev['protocols'])}")
            merged.update({k: v for k, v in ev["protocols"][protocol].items() if k != "description"})
            if explicit_size:
                merged.update({k: ev["sizes"][size][k] for k in ("image_size", "samples", "store_videos")})
        tests = tuple(merged["tests"])
        check_test_names(tests)
        pb = ev["phase_based"]
        video = VideoSpec(frames=int(ev["video"]["frames"]), fps=float(ev["video"]["fps"]), frequency_hz=float(ev["video"]["frequency_hz"]))
        spec = cls(
            size=size,
            tests=tests,
            image_size=int(merged["image_size"]),
            samples=int(merged["samples"]),
            seed=int(ev["seed"]),
            border=int(merged["border"]),
            magnified_motion=float(ev["magnified_motion"]),
            objects=(int(ev["objects"]["count_min"]), int(ev["objects"]["count_max"])),
            subpixel_motions=tuple(float(v) for v in merged["subpixel_motions"]),
            noise_factors=tuple(float(v) for v in merged["noise_factors"]),
            noise_motions=tuple(float(v) for v in merged["noise_motions"]),
            magnification_alphas=tuple(float(v) for v in merged["magnification_alphas"]),
            magnification_motion_cap=float(ev["magnification_motion_cap"]),
            input_motions=tuple(float(v) for v in merged["input_motions"]),
            input_motion_alpha_cap=float(ev["input_motion_alpha_cap"]),
            store_videos=bool(merged["store_videos"]),
            methods=tuple(dict.fromkeys(canonical_method(m) for m in ev["methods"])),
            models=tuple((str(k), str(v)) for k, v in ev["models"].items()),
            video=video,
            phase_based=PhaseBasedConfig(
                fps=video.fps, low_hz=float(pb["low_hz"]), high_hz=float(pb["high_hz"]), taps=int(pb["taps"]),
                orientations=int(pb["orientations"]), sigma=float(pb["sigma"]),
            ),
            baseline_backend=str(pb["backend"]),
            sweep_alphas=tuple(float(v) for v in merged["sweep_alphas"]),
            sweep_motion=float(ev["sweep_motion"]),
            noise_scale=str(merged["noise_scale"]),
            ssim_variant=str(merged["ssim"]),
            protocol=protocol or None,
        )
        noise_std_of_factor(1.0, spec.noise_scale)  # a bad scale fails here, not mid-run
        if spec.objects[0] > spec.objects[1]:
            raise ConfigError(f"evaluate.objects.count_min: {spec.objects[0]} exceeds evaluate.objects.count_max ({spec.objects[1]})")
        if 2 * spec.border + 8 > spec.image_size:
            raise ConfigError(f"evaluate.border: {spec.border} px leaves less than 8 px of a {spec.image_size} px frame")
        return spec

    def levels(self, test: str) -> tuple[float, ...]:
        """The x values of a test."""
        return {
            "subpixel": self.subpixel_motions,
            "noise": self.noise_factors,
            "magnification": self.magnification_alphas,
            "input_motion": self.input_motions,
            "alpha_sweep": self.sweep_alphas,
        }[test]

    def groups(self, test: str) -> tuple[float | None, ...]:
        """The groups (one plot each) of a test: the input motions of the noise test, else one."""
        return self.noise_motions if test == "noise" else (None,)

    def case_motion(self, test: str, level: float, group: float | None) -> tuple[float, float, bool, float]:
        """(alpha, delta, background moves, noise factor) of one case."""
        m = self.magnified_motion
        if test == "subpixel":
            return m / level, level, True, 0.0
        if test == "noise":
            assert group is not None
            return m / group, group, False, level
        if test == "magnification":
            delta = min(self.magnification_motion_cap, m / level)
            return level, delta, True, 0.0
        if test == "input_motion":
            return min(self.input_motion_alpha_cap, m / level), level, True, 0.0
        if test == "alpha_sweep":
            return level, self.sweep_motion, True, 0.0
        raise ConfigError(f"evaluate.tests: unknown test {test!r}; expected one of {', '.join(TEST_NAMES)}")

    def reach(self, test: str) -> float:
        """Largest displacement of any layer in any frame (A, B, Y and the clip) of a test."""
        out = 0.0
        for group in self.groups(test):
            for level in self.levels(test):
                alpha, delta, _, _ = self.case_motion(test, level, group)
                out = max(out, abs(delta), abs(alpha * delta))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-native description of the whole spec."""
        import dataclasses

        return json_native(dataclasses.asdict(self))

    def set_description(self, test: str) -> dict[str, Any]:
        """JSON-native description of what a test set's pixels depend on (not the methods or border)."""
        return json_native({
            "test": test, "size": self.size, "image_size": self.image_size, "samples": self.samples, "seed": self.seed,
            "magnified_motion": self.magnified_motion, "objects": self.objects, "levels": self.levels(test),
            "groups": self.groups(test), "magnification_motion_cap": self.magnification_motion_cap,
            "input_motion_alpha_cap": self.input_motion_alpha_cap, "store_videos": self.store_videos,
            "noise_scale": self.noise_scale, "sweep_motion": self.sweep_motion,
            "video": {"frames": self.video.frames, "fps": self.video.fps, "frequency_hz": self.video.frequency_hz},
        })


def json_native(value: Any) -> Any:
    """Tuples to lists, recursively (JSON round-trips compare equal)."""
    if isinstance(value, dict):
        return {str(k): json_native(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_native(v) for v in value]
    return value


def check_test_names(tests: tuple[str, ...] | list[str]) -> None:
    """Raise ConfigError naming any unknown test."""
    bad = [t for t in tests if t not in TEST_NAMES]
    if bad:
        raise ConfigError(f"evaluate.tests: unknown test {bad[0]!r}; expected one of {', '.join(TEST_NAMES)}")


@dataclass(frozen=True)
class Case:
    """One scored example: the scene with its motions, and where it sits on the test's plot."""

    test: str
    group: float | None  # the noise test's input motion, else None
    level: float  # x value
    sample: int  # scene number within the test (same scene at every level)
    params: SampleParams


@dataclass(frozen=True)
class _Scene:
    background: LayerParams  # motion filled in per case
    objects: tuple[LayerParams, ...]
    fg_angle: float
    bg_angle: float


def _draw_scene(rng: np.random.Generator, ev: EvalSpec, ds: DatasetSpec, catalogue: Catalogue, reach: float) -> _Scene:
    """Background and objects of one scene; the background covers the frame up to ``reach`` px of motion."""
    bg_ids, obj_ids = list(catalogue.background_ids), list(catalogue.object_ids)
    if not bg_ids:
        raise ConfigError("sources: the catalogue has no background images")
    size = ev.image_size
    bg_id = bg_ids[int(rng.integers(len(bg_ids)))]
    h, w = background_shape(catalogue, bg_id)
    cover, ((x_lo, x_hi), (y_lo, y_hi)) = background_cover(size, (h, w), [(-reach, -reach), (reach, reach)])
    scale = max(float(rng.uniform(ds.background_scale.min, ds.background_scale.max)), cover)
    x_lo -= (scale - cover) * w
    y_lo -= (scale - cover) * h
    position = (float(rng.uniform(x_lo, x_hi)), float(rng.uniform(y_lo, y_hi)))
    background = LayerParams(bg_id, scale, position, (0.0, 0.0), (0.0, 0.0, 0.0))
    count = int(rng.integers(ev.objects[0], ev.objects[1] + 1)) if obj_ids else 0
    objects = []
    for _ in range(count):
        obj_id = obj_ids[int(rng.integers(len(obj_ids)))]
        oh, ow = object_shape(catalogue, obj_id)
        hi = min(ds.objects.scale_max, ds.objects.max_extent * size / max(oh, ow))
        lo = min(ds.objects.scale_min, hi)
        s = float(rng.uniform(lo, hi))
        cx, cy = rng.uniform(0.0, size, size=2)
        objects.append(LayerParams(obj_id, s, (float(cx - s * ow / 2), float(cy - s * oh / 2)), (0.0, 0.0), (0.0, 0.0, 0.0)))
    fg_angle = float(rng.uniform(0.0, 2.0 * math.pi))
    bg_angle = fg_angle + float(rng.uniform(math.pi / 3.0, 5.0 * math.pi / 3.0))
    return _Scene(background, tuple(objects), fg_angle, bg_angle)


def _case_params(scene: _Scene, seed: tuple[int, ...], index: int, alpha: float, delta: float, bg_moves: bool, noise: float,
                 noise_scale: str) -> SampleParams:
    fg = (delta * math.cos(scene.fg_angle), delta * math.sin(scene.fg_angle))
    bg = (delta * math.cos(scene.bg_angle), delta * math.sin(scene.bg_angle)) if bg_moves else (0.0, 0.0)
    return SampleParams(
        part=1,
        index=index,
        seed=seed,
        alpha=float(alpha),
        noise_std=noise_std_of_factor(noise, noise_scale),
        background_blur=0.0,
        background=LayerParams(scene.background.source_id, scene.background.scale, scene.background.position, bg, (0.0, 0.0, 0.0)),
        objects=tuple(LayerParams(o.source_id, o.scale, o.position, fg, (0.0, 0.0, 0.0)) for o in scene.objects),
    )


def build_cases(test: str, ev: EvalSpec, ds: DatasetSpec, catalogue: Catalogue) -> list[Case]:
    """Every case of one test, ordered by group, level, sample.

    Args:
        test: one of :data:`TEST_NAMES`.
        ev: the evaluation spec (levels, samples, seed).
        ds: the dataset spec the renderer uses (image size, object scales, background scales).
        catalogue: backgrounds and objects.

    Returns:
        ``len(groups) * len(levels) * samples`` cases; case ``k`` has SampleParams index ``k`` and seed
        ``(seed, test number, group, level, sample)``.

    Raises:
        ConfigError: unknown test, or a catalogue without backgrounds.
    """
    check_test_names([test])
    code = TEST_NAMES.index(test)
    reach = ev.reach(test)
    scenes = [
        _draw_scene(np.random.default_rng(np.random.SeedSequence([ev.seed, code, i])), ev, ds, catalogue, reach)
        for i in range(ev.samples)
    ]
    cases: list[Case] = []
    for g, group in enumerate(ev.groups(test)):
        for j, level in enumerate(ev.levels(test)):
            alpha, delta, bg_moves, noise = ev.case_motion(test, level, group)
            for i, scene in enumerate(scenes):
                params = _case_params(scene, (ev.seed, code, g, j, i), len(cases), alpha, delta, bg_moves, noise, ev.noise_scale)
                cases.append(Case(test, group, float(level), i, params))
    return cases

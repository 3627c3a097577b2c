"""Plain, validated data describing one training sample (the scene description).

These records are the contract between sampling (which draws them from a seed), rendering (which
turns them into frames), the store (which records them per sample as provenance) and evaluation
(which builds them by hand for test cases). They hold everything needed to re-render a sample.

Geometry conventions (SPEC section 1):
    * Continuous output coordinates: pixel (i, j) of the output covers [j, j+1) x [i, i+1) in (x, y);
      its centre is (j + 0.5, i + 0.5).
    * A layer is its source image resized by ``scale`` (output pixels per source pixel) and placed
      so that the source's top-left corner lies at ``position`` = (x, y) in frame A.
    * In frame B the layer is translated by ``motion`` = (dx, dy); in the magnified frame Y by
      ``alpha * motion``. +dx moves content right, +dy moves it down. With an affine part
      (``motion_gradient`` G != 0), the layer's point x of frame A moves by
      ``d(x) = motion + G (x - motion_centre)`` in B and by ``alpha * d(x)`` in Y.
    * Axial targets (``dataset.axial``; ``alpha_y`` not None): Y shows every layer's ``d(x)`` as
      ``M d(x)``, ``M = R(theta) diag(alpha, alpha_y) R(theta)^T`` (:attr:`SampleParams.magnification`):
      alpha (= alpha_x) along the unit vector (cos theta, sin theta) and alpha_y across it. Every layer
      of a sample shares M.

Fields of the optional generator changes (``dataset.photometric``, ...) have the value that means
"off" as their default and are left out of :meth:`SampleParams.to_dict` while off, so the recorded
parameters of a default sample are what they were before the options existed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PART_NAMES", "PartRecipe", "RECIPES", "part_number", "part_name", "LayerParams", "SampleParams", "magnification", "magnify"]

#: The five parts of the dataset (SPEC section 2), numbered 1..5 in this order.
PART_NAMES: tuple[str, ...] = ("fg_bg", "bg_only", "blur_bg", "static", "fg_only")


@dataclass(frozen=True)
class PartRecipe:
    """What a part's scenes consist of and which of their layers move."""

    objects: bool  # whether the scenes have foreground objects
    background_moves: bool  # whether the background gets a motion (else exactly 0)
    objects_move: bool  # whether the objects get motions (else exactly 0)
    blur: bool  # whether the background is blurred (sigma from dataset.blur)
    count: tuple[int, int] | None = None  # (fewest, most) objects; None: dataset.objects' range


#: The recipes of the five built-in parts (SPEC section 2).
RECIPES: dict[str, PartRecipe] = {
    "fg_bg": PartRecipe(objects=True, background_moves=True, objects_move=True, blur=False),
    "bg_only": PartRecipe(objects=False, background_moves=True, objects_move=False, blur=False),
    "blur_bg": PartRecipe(objects=True, background_moves=True, objects_move=True, blur=True),
    "static": PartRecipe(objects=False, background_moves=False, objects_move=False, blur=False),
    "fg_only": PartRecipe(objects=True, background_moves=False, objects_move=True, blur=True),
}


def part_number(part: int | str, custom: Mapping[str, int] | None = None) -> int:
    """Return the part number of a part given by number or name.

    Args:
        part: 1-5 or a built-in name, or a custom part's number or name.
        custom: custom part name -> number (``dataset.custom_parts``; none by default).

    Raises:
        ConfigError: an unknown part.
    """
    from mmdata.errors import ConfigError

    custom = dict(custom or {})
    known = ", ".join([*PART_NAMES, *custom]) + f" or {_numbers(custom)}"
    if isinstance(part, str):
        if part in PART_NAMES:
            return PART_NAMES.index(part) + 1
        if part in custom:
            return int(custom[part])
        if part.isdigit():
            part = int(part)
        else:
            raise ConfigError(f"part: unknown part {part!r}; expected one of {known}")
    if isinstance(part, bool) or not isinstance(part, int) or not (1 <= part <= len(PART_NAMES) or part in custom.values()):
        raise ConfigError(f"part: unknown part {part!r}; expected one of {known}")
    return part


def _numbers(custom: Mapping[str, int]) -> str:
    return ", ".join(["1-5", *(str(n) for n in sorted(custom.values()))])


def part_name(part: int | str, custom: Mapping[str, int] | None = None) -> str:
    """Return the name (e.g. ``"blur_bg"``) of a part given by number or name (see :func:`part_number`)."""
    number = part_number(part, custom)
    if number <= len(PART_NAMES):
        return PART_NAMES[number - 1]
    return next(name for name, n in (custom or {}).items() if int(n) == number)


@dataclass(frozen=True)
class LayerParams:
    """One layer of a scene: the background or one foreground object."""

    source_id: str  # stable catalogue id of the background image or object
    scale: float  # output pixels per source pixel
    position: tuple[float, float]  # (x, y) of the source's top-left corner in frame A, output pixels
    motion: tuple[float, float]  # (dx, dy) displacement from A to B, output pixels
    color_offset: tuple[float, float, float]  # additive RGB offset (0-255 units) of perturbed frames
    # affine part (dataset.motion.affine; zero = a pure translation): the displacement from A to B of the
    # layer's point x (output px) is motion + G (x - motion_centre), G = A - I = ((gxx, gxy), (gyx, gyy))
    motion_gradient: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # (gxx, gxy, gyx, gyy), row-major
    motion_centre: tuple[float, float] = (0.0, 0.0)  # (x, y) the affine part is about, output px in A

    @property
    def is_affine(self) -> bool:
        """Whether the motion has an affine part (otherwise it is the translation ``motion``)."""
        return any(v != 0.0 for v in self.motion_gradient)

    def displacement(self, x: float, y: float) -> tuple[float, float]:
        """(dx, dy) from A to B of the layer's point (x, y) of frame A (the magnified frame: alpha times it)."""
        gxx, gxy, gyx, gyy = self.motion_gradient
        u, v = x - self.motion_centre[0], y - self.motion_centre[1]
        return (self.motion[0] + gxx * u + gxy * v, self.motion[1] + gyx * u + gyy * v)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if not self.is_affine:  # a translation is recorded as it always was
            del d["motion_gradient"], d["motion_centre"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LayerParams":
        return cls(
            source_id=str(d["source_id"]),
            scale=float(d["scale"]),
            position=tuple(float(v) for v in d["position"]),  # type: ignore[arg-type]
            motion=tuple(float(v) for v in d["motion"]),  # type: ignore[arg-type]
            color_offset=tuple(float(v) for v in d["color_offset"]),  # type: ignore[arg-type]
            motion_gradient=tuple(float(v) for v in d.get("motion_gradient", (0.0, 0.0, 0.0, 0.0))),  # type: ignore[arg-type]
            motion_centre=tuple(float(v) for v in d.get("motion_centre", (0.0, 0.0))),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class SampleParams:
    """Everything needed to render one two-frame magnification example."""

    part: int  # 1..5 (see PART_NAMES), or a custom part's number (6..255)
    index: int  # sample index within the part
    seed: tuple[int, ...]  # SeedSequence entropy the draws came from, e.g. (global_seed, part, index)
    alpha: float  # magnification factor
    noise_std: float  # photon-noise std at mid-gray (127.5), 0-255 units; 0 = noiseless
    background_blur: float  # Gaussian blur sigma of the background, output pixels; 0 = none
    background: LayerParams
    objects: tuple[LayerParams, ...] = ()  # back to front: later objects occlude earlier ones
    gain_b: float = 1.0  # exposure factor of the input frame B (X_b and X'_b) only; 1 = off
    read_noise_std: float = 0.0  # Gaussian read-noise std on the noisy frames, 0-255 units; 0 = off
    # axial targets (dataset.axial): alpha is alpha_x, the factor along theta; alpha_y the one across it
    theta: float = 0.0  # direction of alpha_x, radians from +x towards +y (output coordinates)
    alpha_y: float | None = None  # factor across theta; None = not axial (alpha in every direction)

    @property
    def is_axial(self) -> bool:
        """Whether the magnified frames have axial targets (a factor per axis)."""
        return self.alpha_y is not None

    @property
    def magnification(self) -> np.ndarray:
        """(2, 2) M with Y's displacement = M d (:func:`magnification`)."""
        return magnification(self.alpha, self.theta, self.alpha_y)

    def magnify(self, d: tuple[float, float]) -> tuple[float, float]:
        """The magnified frame's displacement of a layer point displaced by ``d`` in B (:func:`magnify`)."""
        return magnify(d, self.alpha, self.theta, self.alpha_y)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["background"] = self.background.to_dict()
        d["objects"] = tuple(o.to_dict() for o in self.objects)
        return _without_off(d, _SAMPLE_OFF)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SampleParams":
        return cls(
            part=int(d["part"]),
            index=int(d["index"]),
            seed=tuple(int(v) for v in d["seed"]),
            alpha=float(d["alpha"]),
            noise_std=float(d["noise_std"]),
            background_blur=float(d["background_blur"]),
            background=LayerParams.from_dict(d["background"]),
            objects=tuple(LayerParams.from_dict(o) for o in d["objects"]),
            gain_b=float(d.get("gain_b", _SAMPLE_OFF["gain_b"])),
            read_noise_std=float(d.get("read_noise_std", _SAMPLE_OFF["read_noise_std"])),
            theta=float(d.get("theta", _SAMPLE_OFF["theta"])),
            alpha_y=None if d.get("alpha_y") is None else float(d["alpha_y"]),
        )


def magnification(alpha: float, theta: float = 0.0, alpha_y: float | None = None) -> np.ndarray:
    """(2, 2) M with the magnified displacement = M d: alpha I, or R(theta) diag(alpha, alpha_y) R(theta)^T
    when ``alpha_y`` is given (axial targets; theta in radians from +x towards +y)."""
    import numpy as np  # here: the scene contract is plain data, read by commands that need no arrays

    if alpha_y is None:
        return alpha * np.eye(2)
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    return rot @ np.diag([alpha, alpha_y]) @ rot.T


def magnify(d: tuple[float, float], alpha: float, theta: float = 0.0, alpha_y: float | None = None) -> tuple[float, float]:
    """The magnified displacement (dx, dy) of a displacement ``d`` = (dx, dy) from A to B (see :func:`magnification`)."""
    if alpha_y is None:  # exactly the scalar products every dataset was rendered with
        return (alpha * d[0], alpha * d[1])
    m = magnification(alpha, theta, alpha_y)
    return (float(m[0, 0] * d[0] + m[0, 1] * d[1]), float(m[1, 0] * d[0] + m[1, 1] * d[1]))


#: Optional fields of SampleParams and the value that means "off" (left out of its dict then).
_SAMPLE_OFF: dict[str, Any] = {"gain_b": 1.0, "read_noise_std": 0.0, "theta": 0.0, "alpha_y": None}


def _without_off(d: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    """``d`` without the optional keys that hold their "off" value."""
    return {k: v for k, v in d.items() if not (k in off and v == off[k])}

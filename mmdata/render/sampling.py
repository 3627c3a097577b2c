"""Per-sample scene parameters, drawn from a seed derived from (global seed, part, index) only.

Every draw of sample ``index`` of part ``p`` comes from
``numpy.random.default_rng(numpy.random.SeedSequence([spec.seed, p, index]))``, in a fixed order, so
a sample never depends on which other samples were drawn, in which order, or in which process. The
entropy is recorded in :attr:`mmdata.scene.SampleParams.seed`.

Distributions (defaults in the ``dataset`` section of the config schema, paper section 3.3):

* alpha ~ U[alpha.min, min(alpha.max, motion.max_magnified / motion.min)], drawn first;
* each moving layer: direction ~ U[0, 2 pi), |delta| ~ U[motion.min, min(motion.max, max_magnified / alpha)],
  so alpha * |delta| <= max_magnified for every layer; layers the part keeps still get exactly (0, 0)
  (static: every layer; fg_only: the background);
* objects (fg_bg, blur_bg, fg_only): count ~ U{count_min..count_max}, ids drawn with replacement, scale
  ~ U[scale_min, min(scale_max, max_extent * image_size / longest side)], centre uniform in the frame;
* background: id uniform, scale ~ U[background.scale_min, scale_max] raised to the smallest scale that
  covers the frame (plus a margin) in A, B and Y, position uniform among the covering ones;
* colour offsets ~ U[-max_offset, max_offset] per channel per layer; photon noise std ~ U[0, photon_std_max];
  background blur sigma ~ U[blur.sigma_min, sigma_max] in blur_bg and fg_only, else 0.

Which layers a part has, which of them move and whether the background is blurred is the part's
recipe (:data:`mmdata.scene.RECIPES`; a custom part's is a built-in one with overrides,
:meth:`mmdata.spec.DatasetSpec.recipe`); the draws are the same whatever the recipe says, only
their use differs (a still layer draws its motion and gets exactly 0).

Optional changes (off by default) draw from streams of their own, only when on, so that the draws
above, and hence every default sample, stay exactly as they are:

* ``dataset.photometric`` (:data:`PHOTOMETRIC_STREAM`): gain of frame B ~ U[1 - gain_flicker,
  1 + gain_flicker], then the read-noise std ~ U[read_noise_std.min, max].
* ``dataset.motion.affine`` (:data:`AFFINE_STREAM`): per layer, background first, then each object,
  rotation, scale change and shear (three draws, made for still layers too): ``A = (1 + s) R(theta)
  [[1, h], [0, 1]]`` about the layer's centre (an object's box centre; the frame centre for the
  background). ``A - I`` is then scaled by the largest k <= 1 for which |delta + k (A - I) r| <= the
  layer's cap min(motion.max, max_magnified / alpha) at every corner r of the layer's region (its box;
  the frame for the background; the field is linear, so the corners bound it everywhere) and
  ``alpha * k * |A - I| <= MAX_MAGNIFIED_STRAIN``. The background's cover then accounts for the
  largest displacements near the frame.
* ``dataset.axial`` (:data:`AXIAL_STREAM`): theta ~ U[theta_deg.min, max] (degrees, recorded in
  radians), then r ~ U[ratio.min, max], alpha_y = r * alpha. They are drawn before the layers, since
  the background's cover in Y depends on M = R(theta) diag(alpha, alpha_y) R(theta)^T; every cap
  above is computed with alpha, the largest factor (r <= 1, so |M| = alpha), and holds unchanged.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mmdata.errors import SourceError
from mmdata.scene import LayerParams, SampleParams, magnification, magnify
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec

__all__ = [
    "COVER_MARGIN",
    "PHOTOMETRIC_STREAM",
    "AFFINE_STREAM",
    "AXIAL_STREAM",
    "MAX_MAGNIFIED_STRAIN",
    "sample_seed",
    "sample_params",
    "background_cover",
    "cap_gradient",
]

#: Output pixels by which the background must extend beyond the frame on every side, in every frame
#: (covers the render margin, the anti-aliasing support and the cubic kernel).
COVER_MARGIN = 4.0

#: spawn_key of the SeedSequence the photometric options draw from (the frames' noise uses (1, frame)).
PHOTOMETRIC_STREAM = (2,)
#: spawn_key of the SeedSequence the affine motions of a sample's layers draw from.
AFFINE_STREAM = (3,)
#: spawn_key of the SeedSequence the axial targets (theta, alpha_y) draw from ((4, frame) is the read noise).
AXIAL_STREAM = (5,)
#: Largest spectral norm of the magnified displacement gradient alpha * (A - I): the magnified map
#: I + alpha (A - I) keeps singular values in [0.5, 1.5], so it never folds a layer over.
MAX_MAGNIFIED_STRAIN = 0.5


def sample_seed(spec: DatasetSpec, part: int | str, index: int) -> tuple[int, int, int]:
    """The SeedSequence entropy of one sample: (global seed, part number, index)."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"index: expected a non-negative integer, got {index!r}")
    return (int(spec.seed), spec.part_number(part), int(index))


def _motion(rng: np.random.Generator, spec: DatasetSpec, alpha: float, still: bool) -> tuple[float, float]:
    """Draw one layer's (dx, dy); both draws are made even for a still layer (stable stream)."""
    theta = rng.uniform(0.0, 2.0 * math.pi)
    top = min(spec.motion.max, spec.motion.max_magnified / alpha)
    mag = rng.uniform(spec.motion.min, max(top, spec.motion.min))
    if still:
        return (0.0, 0.0)
    return (float(mag * math.cos(theta)), float(mag * math.sin(theta)))


def _top(spec: DatasetSpec, alpha: float) -> float:
    """Largest displacement a layer may have in B: min(motion.max, max_magnified / alpha)."""
    return min(spec.motion.max, spec.motion.max_magnified / alpha)


def cap_gradient(
    gradient: np.ndarray, motion: tuple[float, float], corners: Sequence[tuple[float, float]], top: float, alpha: float
) -> np.ndarray:
    """Scale a layer's displacement gradient G = A - I down until the layer's caps hold.

    Args:
        gradient: (2, 2) G as drawn.
        motion: the layer's translation delta (|delta| <= top).
        corners: the corners of the layer's region relative to its centre, output px.
        top: the largest displacement allowed in B (``min(motion.max, max_magnified / alpha)``).
        alpha: the magnification factor.

    Returns:
        k * G for the largest k in [0, 1] with |delta + k G r| <= top at every corner r and
        alpha * k * |G| <= MAX_MAGNIFIED_STRAIN.
    """
    g = np.asarray(gradient, dtype=np.float64)
    t = np.asarray(motion, dtype=np.float64)
    norm = float(np.linalg.norm(g, 2))
    k = 1.0 if norm == 0 else min(1.0, MAX_MAGNIFIED_STRAIN / (alpha * norm))
    rest = max(0.0, top * top - float(t @ t))
    for r in corners:
        v = g @ np.asarray(r, dtype=np.float64)
        vv, vt = float(v @ v), float(v @ t)
        if vv > 0:  # the positive root of |t + k v|^2 = top^2
            k = min(k, (-vt + math.sqrt(vt * vt + vv * rest)) / vv)
    return k * g


def _affine(
    rng: np.random.Generator | None,
    spec: DatasetSpec,
    alpha: float,
    motion: tuple[float, float],
    half: tuple[float, float],
    still: bool,
) -> tuple[tuple[float, float, float, float], bool]:
    """One layer's capped gradient (gxx, gxy, gyx, gyy) from the affine stream (three draws when on).

    ``half`` is the half width and height of the layer's region (about its centre). Returns zeros
    without drawing when the option is off (``rng`` None); a still layer draws but stays still.
    """
    if rng is None:
        return (0.0, 0.0, 0.0, 0.0), False
    af = spec.motion.affine
    theta = math.radians(rng.uniform(-af.rotation_deg, af.rotation_deg))
    s = rng.uniform(-af.scale, af.scale)
    h = rng.uniform(-af.shear, af.shear)
    if still:
        return (0.0, 0.0, 0.0, 0.0), False
    c, sn = math.cos(theta), math.sin(theta)
    a = (1.0 + s) * np.array([[c, -sn], [sn, c]]) @ np.array([[1.0, h], [0.0, 1.0]])
    hx, hy = half
    corners = [(hx, hy), (hx, -hy), (-hx, hy), (-hx, -hy)]
    g = cap_gradient(a - np.eye(2), motion, corners, _top(spec, alpha), alpha)
    return (float(g[0, 0]), float(g[0, 1]), float(g[1, 0]), float(g[1, 1])), True


def _cover_shifts(
    size: int, motion: tuple[float, float], gradient: tuple[float, float, float, float], alpha: "float | np.ndarray"
) -> list[tuple[float, float]]:
    """Displacements in A, B and Y that bound an affine background's field near the frame (corners of the
    frame widened by the cover margin and the largest displacement there: the field is linear). ``alpha``
    is Y's factor, or its (2, 2) magnification M (axial targets)."""
    g = np.reshape(gradient, (2, 2))
    half = size / 2.0
    out = [(0.0, 0.0)]
    for factor in (1.0, alpha):
        def disp(r: tuple[float, float]) -> np.ndarray:
            d = np.asarray(motion) + g @ np.asarray(r)
            return factor @ d if isinstance(factor, np.ndarray) else factor * d
        reach = max(float(np.hypot(*disp((sx * half, sy * half)))) for sx in (-1, 1) for sy in (-1, 1))
        e = half + COVER_MARGIN + reach + 1.0
        out += [tuple(float(v) for v in disp((sx * e, sy * e))) for sx in (-1, 1) for sy in (-1, 1)]  # type: ignore[misc]  # pairs of floats (tuple() of a 2-vector)
    return out  # type: ignore[return-value]


def _offset(rng: np.random.Generator, spec: DatasetSpec) -> tuple[float, float, float]:
    m = spec.color_max_offset
    r, g, b = rng.uniform(-m, m, size=3)
    return (float(r), float(g), float(b))


def background_cover(
    size: int, src_hw: tuple[int, int], shifts: Sequence[tuple[float, float]], margin: float = COVER_MARGIN
) -> tuple[float, tuple[tuple[float, float], tuple[float, float]]]:
    """Smallest scale, and the range of positions, at which a background covers every frame.

    Args:
        size: output frame side in pixels.
        src_hw: (height, width) of the background source image.
        shifts: the layer's translations (dx, dy) in the frames rendered (e.g. 0, delta, alpha*delta).
        margin: output pixels the image must extend beyond the frame on each side.

    Returns:
        (min_scale, ((x_lo, x_hi), (y_lo, y_hi))) where the position ranges are valid for
        ``min_scale`` and widen with any larger scale s by ``(s - min_scale) * width`` (resp. height)
        on the low side.
    """
    xs = [float(s[0]) for s in shifts]
    ys = [float(s[1]) for s in shifts]
    h, w = src_hw
    need_x = size + 2 * margin + (max(xs) - min(xs))
    need_y = size + 2 * margin + (max(ys) - min(ys))
    min_scale = max(need_x / w, need_y / h)
    x_hi, y_hi = -margin - max(xs), -margin - max(ys)
    # At min_scale one range is a single point; min() keeps rounding from inverting it.
    x_rng = (min(size + margin - min(xs) - min_scale * w, x_hi), x_hi)
    y_rng = (min(size + margin - min(ys) - min_scale * h, y_hi), y_hi)
    return min_scale, (x_rng, y_rng)


def _shape(catalogue: Catalogue, kind: str, source_id: str) -> tuple[int, int]:
    """(H, W) of a background or object; from the catalogue's index when it offers one (no decoding)."""
    index = getattr(catalogue, f"{kind}_shape", None)
    if index is not None:
        return tuple(int(v) for v in index(source_id))  # type: ignore[return-value]
    if kind == "background":
        return catalogue.background(source_id).shape[:2]
    return catalogue.object(source_id)[1].shape[:2]


def _background(
    rng: np.random.Generator,
    spec: DatasetSpec,
    catalogue: Catalogue,
    alpha: float,
    still: bool,
    affine_rng: np.random.Generator | None = None,
    axial: tuple[float, float | None] = (0.0, None),
) -> LayerParams:
    """The background layer; ``axial`` = (theta, alpha_y) of the sample (alpha_y None: not axial)."""
    ids = list(catalogue.background_ids)
    if not ids:
        raise SourceError("catalogue: has no background images; cannot sample a scene")
    bg_id = ids[int(rng.integers(len(ids)))]
    motion = _motion(rng, spec, alpha, still)
    offset = _offset(rng, spec)
    h, w = _shape(catalogue, "background", bg_id)
    half = spec.image_size / 2.0
    gradient, affine = _affine(affine_rng, spec, alpha, motion, (half, half), still)
    theta, alpha_y = axial
    shifts = [(0.0, 0.0), motion, magnify(motion, alpha, theta, alpha_y)]
    if affine:
        shifts = _cover_shifts(spec.image_size, motion, gradient, alpha if alpha_y is None else magnification(alpha, theta, alpha_y))
    cover, ((x_lo, x_hi), (y_lo, y_hi)) = background_cover(spec.image_size, (h, w), shifts)
    scale = max(float(rng.uniform(spec.background_scale.min, spec.background_scale.max)), cover)
    x_lo -= (scale - cover) * w
    y_lo -= (scale - cover) * h
    u, v = rng.uniform(size=2)  # positions uniform among the covering ones (the range may be a point)
    position = (float(x_lo + u * max(0.0, x_hi - x_lo)), float(y_lo + v * max(0.0, y_hi - y_lo)))
    return LayerParams(source_id=bg_id, scale=scale, position=position, motion=motion, color_offset=offset,
                       motion_gradient=gradient, motion_centre=(half, half) if affine else (0.0, 0.0))


def _objects(
    rng: np.random.Generator,
    spec: DatasetSpec,
    catalogue: Catalogue,
    alpha: float,
    still: bool,
    affine_rng: np.random.Generator | None = None,
    count_range: tuple[int, int] | None = None,
) -> tuple[LayerParams, ...]:
    ids = list(catalogue.object_ids)
    lo, hi = count_range if count_range is not None else (spec.objects.count_min, spec.objects.count_max)
    count = int(rng.integers(lo, hi + 1))
    if count and not ids:
        raise SourceError("catalogue: has no foreground objects, but the part needs them")
    size = spec.image_size
    out = []
    for _ in range(count):
        obj_id = ids[int(rng.integers(len(ids)))]
        h, w = _shape(catalogue, "object", obj_id)
        cap = spec.objects.max_extent * size / max(h, w)
        u = float(rng.uniform())
        lo, hi = spec.objects.scale_min, min(spec.objects.scale_max, cap)  # type: ignore[assignment]  # names reused for the scale range
        scale = lo + u * (hi - lo) if hi >= lo else hi
        cx, cy = rng.uniform(0.0, size, size=2)
        motion = _motion(rng, spec, alpha, still)
        offset = _offset(rng, spec)
        position = (float(cx - scale * w / 2.0), float(cy - scale * h / 2.0))
        gradient, affine = _affine(affine_rng, spec, alpha, motion, (scale * w / 2.0, scale * h / 2.0), still)
        out.append(LayerParams(source_id=obj_id, scale=scale, position=position, motion=motion, color_offset=offset,
                               motion_gradient=gradient,
                               motion_centre=(float(cx), float(cy)) if affine else (0.0, 0.0)))
    return tuple(out)


def _photometric(spec: DatasetSpec, seed: tuple[int, ...]) -> tuple[float, float]:
    """(gain of frame B, read-noise std) of one sample: (1, 0) without drawing anything when off."""
    ph = spec.photometric
    if not ph.active:
        return 1.0, 0.0
    rng = np.random.default_rng(np.random.SeedSequence(list(seed), spawn_key=PHOTOMETRIC_STREAM))
    gain = float(rng.uniform(1.0 - ph.gain_flicker, 1.0 + ph.gain_flicker))
    read_noise = float(rng.uniform(ph.read_noise.min, ph.read_noise.max))
    return gain, read_noise


def _axial(spec: DatasetSpec, seed: tuple[int, ...], alpha: float) -> tuple[float, float | None]:
    """(theta in radians, alpha_y) of one sample: (0, None) without drawing anything when off."""
    ax = spec.axial
    if not ax.active:
        return 0.0, None
    rng = np.random.default_rng(np.random.SeedSequence(list(seed), spawn_key=AXIAL_STREAM))
    theta = math.radians(rng.uniform(ax.theta_deg.min, ax.theta_deg.max))
    ratio = float(rng.uniform(ax.ratio.min, ax.ratio.max))
    return theta, ratio * alpha


def sample_params(spec: DatasetSpec, part: int | str, index: int, catalogue: Catalogue) -> SampleParams:
    """Draw the scene of sample ``index`` of ``part``.

    Args:
        spec: the dataset spec (distributions, image size, global seed).
        part: part number or name (``"fg_bg"``, ..., or one of ``spec.custom_parts``); its recipe
            (:meth:`DatasetSpec.recipe`) decides which layers exist, move and are blurred.
        index: sample index within the part (>= 0).
        catalogue: where backgrounds and objects come from (ids and image sizes are read).

    Returns:
        The sample's parameters; ``seed`` holds the SeedSequence entropy they were drawn from.

    Raises:
        ConfigError: unknown part.
        SourceError: the catalogue has no backgrounds, or no objects for a part that needs them.
        ValueError: negative or non-integer index.
    """
    seed = sample_seed(spec, part, index)
    recipe = spec.recipe(part)
    rng = np.random.default_rng(np.random.SeedSequence(list(seed)))
    a_top = spec.alpha.max
    if spec.motion.min > 0:
        a_top = min(a_top, spec.motion.max_magnified / spec.motion.min)
    alpha = float(rng.uniform(spec.alpha.min, max(a_top, spec.alpha.min)))
    noise_std = float(rng.uniform(0.0, spec.noise.photon_std_max))
    blur = float(rng.uniform(spec.blur.min, spec.blur.max))
    affine_rng = None
    if spec.motion.affine.active:
        affine_rng = np.random.default_rng(np.random.SeedSequence(list(seed), spawn_key=AFFINE_STREAM))
    axial = _axial(spec, seed, alpha)
    background = _background(rng, spec, catalogue, alpha, not recipe.background_moves, affine_rng, axial)
    objects: tuple[LayerParams, ...] = ()
    if recipe.objects:
        objects = _objects(rng, spec, catalogue, alpha, not recipe.objects_move, affine_rng, recipe.count)
    gain_b, read_noise_std = _photometric(spec, seed)
    return SampleParams(
        part=spec.part_number(part),
        index=int(index),
        seed=seed,
        alpha=alpha,
        noise_std=noise_std,
        background_blur=blur if recipe.blur else 0.0,
        background=background,
        objects=objects,
        gain_b=gain_b,
        read_noise_std=read_noise_std,
        theta=axial[0],
        alpha_y=axial[1],
    )

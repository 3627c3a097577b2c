"""Render one training sample: continuous-domain warping, compositing, anti-aliasing, noise.

Pipeline (SPEC section 3, paper section 3.3; choices documented in README "Rendering"):

1. Every layer (background; each object's premultiplied texture and its alpha mask) is reconstructed in
   the continuous domain as an interpolating cubic B-spline of its source pixels.
2. The spline is sampled, with its scale and exact sub-pixel translation, on a render grid
   ``supersample`` times finer than the output (plus a margin): separable sparse operators, and only
   over each object's bounding box. Geometry is evaluated once per frame (A: 0, B: delta, Y: alpha*delta,
   or M delta with axial targets, ``SampleParams.magnification``) and shared between a frame and its colour-perturbed twin.
3. Layers are composited back to front with the "over" operator (premultiplied alpha); the
   perturbation is composited alongside as an offset image, so X'_b = X_b + offsets exactly.
4. Gaussian anti-aliasing (std ``antialias_sigma`` output px) and decimation to the output grid.
   With ``dataset.linear_light`` (off by default), steps 1-4 act on linear light: source textures are
   decoded from sRGB first (:mod:`mmdata.render.color`) and each frame is encoded back to sRGB here,
   before the offsets are added.
5. Poisson photon noise on the input frames A, B and X'_b (independent draws); targets Y, Y' clean
   unless ``noise.noisy_target``; then stochastic rounding to uint8 of every frame.

Input-only photometric changes (``dataset.photometric``, off by default): frame B (X_b and X'_b) is
multiplied by ``params.gain_b`` after decimation (before encoding in linear light; the offsets are
added after it), and Gaussian read noise of std ``params.read_noise_std`` is added to every frame that
gets photon noise, after it.

All randomness (step 5) comes from ``SeedSequence(params.seed, spawn_key=(1, frame))``, and the read
noise from ``spawn_key=(READ_NOISE_STREAM, frame)``, so a sample re-renders byte-identically from its
parameters alone.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from mmdata.render.color import linear_to_srgb, srgb_to_linear
from mmdata.render.noise import photon_noise, read_noise, stochastic_round
from mmdata.scene import LayerParams, SampleParams
from mmdata.render.resample import (
    apply_separable,
    gaussian_decimation,
    render_margin,
    separable_transposed,
    spline_coefficients,
    transpose_into,
    warp_matrix,
)
from mmdata.render.sampling import sample_params
from mmdata.sources.base import Catalogue
from mmdata.spec import DatasetSpec

__all__ = ["FRAME_FIELDS", "INPUT_FIELDS", "render_clean", "render_sample", "render", "prefilter_sigma"]

#: The frames of one sample, in the order stored (SPEC section 1).
FRAME_FIELDS: tuple[str, ...] = ("frame_a", "frame_b", "frame_b_perturbed", "frame_y_perturbed", "frame_y")
#: Frames that are network inputs and always get photon noise.
INPUT_FIELDS: tuple[str, ...] = ("frame_a", "frame_b", "frame_b_perturbed")

#: First spawn_key entry of the read noise's per-frame streams (``(READ_NOISE_STREAM, frame)``).
READ_NOISE_STREAM = 4

_OBJECT_PAD = 8  # zero-alpha source pixels around an object box: spline coefficients beyond are < 3e-5 of the edge
_IIR_SETTLE = 12  # extra source pixels cropped around a background region for the spline prefilter


class _Grid:
    """Render-grid geometry: pixel j's centre sits at output coordinate -margin + (j + 0.5) / factor."""

    def __init__(self, size: int, factor: int, sigma: float) -> None:
        self.size, self.factor = size, factor
        self.margin = render_margin(factor, sigma)
        self.n = factor * (size + 2 * self.margin)
        self.centres = -self.margin + (np.arange(self.n) + 0.5) / factor

    def source_positions(self, scale: float, pos: float, shift: float, origin: float) -> np.ndarray:
        """Index coordinates, in an array whose index 0 is source pixel ``origin``, of every grid centre."""
        return (self.centres - pos - shift) / scale - 0.5 - origin


class _Warp:
    """The affine motion of one layer in one frame (``factor`` 1: B, alpha: Y), as maps of output coordinates.

    A point x of the layer in A appears at ``y = m x + b`` (``m = I + factor G``, ``b`` from the centre
    and ``factor * motion``); a render-grid point q shows the layer's point ``inv q + off`` of A.
    ``factor`` may be a (2, 2) magnification M (axial targets): ``m = I + M G``, translation ``M motion``.
    """

    def __init__(self, layer: LayerParams, factor: "float | np.ndarray") -> None:
        g = np.reshape(np.asarray(layer.motion_gradient, dtype=np.float64), (2, 2))
        c = np.asarray(layer.motion_centre, dtype=np.float64)
        if isinstance(factor, np.ndarray):
            t = factor @ np.asarray(layer.motion, dtype=np.float64)
            self.m = np.eye(2) + factor @ g
        else:
            t = factor * np.asarray(layer.motion, dtype=np.float64)
            self.m = np.eye(2) + factor * g
        self.b = c + t - self.m @ c
        self.inv = np.linalg.inv(self.m)
        self.off = c - self.inv @ (c + t)
        self.layer = layer

    def source(self, qx: np.ndarray, qy: np.ndarray, origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Source index coordinates (uy, ux), in an array whose index 0 is source pixel ``origin`` = (y, x)."""
        inv, off, layer = self.inv, self.off, self.layer
        xa = inv[0, 0] * qx + inv[0, 1] * qy + off[0]
        ya = inv[1, 0] * qx + inv[1, 1] * qy + off[1]
        s = layer.scale
        return (ya - layer.position[1]) / s - 0.5 - origin[0], (xa - layer.position[0]) / s - 0.5 - origin[1]

    def sample(self, coef: np.ndarray, rows: slice, cols: slice, grid: "_Grid", origin: tuple[float, float],
               mode: str) -> np.ndarray:
        """Evaluate row-planar spline coefficients (H, C, W) at the grid points [rows, cols]: (h, C, w) float32."""
        uy, ux = self.source(grid.centres[cols][None, :], grid.centres[rows][:, None], origin)
        out = np.empty((uy.shape[0], coef.shape[1], uy.shape[1]), dtype=np.float32)
        for ch in range(coef.shape[1]):
            out[:, ch, :] = ndimage.map_coordinates(
                np.ascontiguousarray(coef[:, ch, :]), [uy, ux], order=3, mode=mode, cval=0.0, prefilter=False,
                output=np.float32,
            )
        return out


def _warps(layer: LayerParams, params: SampleParams) -> list["_Warp | None"]:
    """The warps of a layer in A, B and Y: None where the layer only translates (all frames of a plain layer)."""
    if not layer.is_affine:
        return [None, None, None]
    return [None, _Warp(layer, 1.0), _Warp(layer, params.magnification if params.is_axial else params.alpha)]


def prefilter_sigma(scale: float, factor: int) -> float:
    """Source-pixel Gaussian std that band-limits a layer drawn smaller than the render grid.

    Zero when a source pixel covers at least one render pixel (``scale * factor >= 1``), otherwise
    ``(1 / (scale * factor) - 1) / 2`` (the usual anti-aliasing rule for downscaling).
    """
    return max(0.0, (1.0 / (scale * factor) - 1.0) / 2.0)


def _background_layer(
    params: SampleParams,
    catalogue: Catalogue,
    grid: _Grid,
    shifts: list[tuple[float, float]],
    canvases: list[np.ndarray],
    linear: bool = False,
    warps: list["_Warp | None"] | None = None,
) -> None:
    """Sample the background on the render grid in each frame, into the row-planar (n, 3, n) ``canvases``.

    With ``linear``, the source pixels are decoded from sRGB to linear light before the blur. A frame
    whose entry of ``warps`` is not None is sampled through that affine warp instead of its shift.
    """
    warps = warps or [None] * len(shifts)
    bg: LayerParams = params.background
    src = catalogue.background(bg.source_id)
    s = bg.scale
    sigma = math.hypot(params.background_blur / s, prefilter_sigma(s, grid.factor))
    extra = 3 + _IIR_SETTLE + int(math.ceil(4.0 * sigma))
    crops = []
    for axis, size in ((0, src.shape[0]), (1, src.shape[1])):
        pos = bg.position[1 - axis]
        lo = min(grid.source_positions(s, pos, sh[1 - axis], 0.0)[0] for sh, w in zip(shifts, warps) if w is None)
        hi = max(grid.source_positions(s, pos, sh[1 - axis], 0.0)[-1] for sh, w in zip(shifts, warps) if w is None)
        for w in warps:  # an affine frame's extent: its grid's corners, back-projected (the map is affine)
            if w is not None:
                ends = grid.centres[[0, -1]]
                u = w.source(ends[None, :], ends[:, None], (0.0, 0.0))[axis]
                lo, hi = min(lo, float(u.min())), max(hi, float(u.max()))
        crops.append((max(0, int(math.floor(lo)) - extra), min(size, int(math.ceil(hi)) + extra + 1)))
    (y0, y1), (x0, x1) = crops
    if y1 - y0 < 1 or x1 - x0 < 1:  # the frame lies entirely outside the image: mirror the whole image
        (y0, y1), (x0, x1) = (0, src.shape[0]), (0, src.shape[1])
    region = np.asarray(src[y0:y1, x0:x1], dtype=np.float32)
    if linear:
        region = srgb_to_linear(region)
    if sigma > 0:
        region = ndimage.gaussian_filter(region, sigma=(sigma, sigma, 0), mode="mirror", truncate=4.0)
    coef = spline_coefficients(region, planar=True)
    done: dict[tuple[float, float], np.ndarray] = {}
    for (dx, dy), canvas, warp in zip(shifts, canvases, warps):
        if warp is not None:
            every = slice(0, grid.n)
            np.copyto(canvas, warp.sample(coef, every, every, grid, (y0, x0), "mirror"))
            continue
        if (dx, dy) in done:  # a still background (parts 4, 5): the same operators give the same values
            np.copyto(canvas, done[dx, dy])
            continue
        done[dx, dy] = canvas
        wy = warp_matrix(grid.source_positions(s, bg.position[1], dy, y0), coef.shape[0])
        wx = warp_matrix(grid.source_positions(s, bg.position[0], dx, x0), coef.shape[2])
        apply_separable(wy, wx, coef, out=canvas)


def _object_coefficients(
    catalogue: Catalogue, layer: LayerParams, factor: int, linear: bool = False
) -> tuple[np.ndarray, int]:
    """Spline coefficients of an object's premultiplied RGB and alpha, zero-padded by P on each side.

    With ``linear``, the texture is decoded from sRGB to linear light before premultiplication.

    Returns:
        (coefficients, row-planar (h + 2P, 4, w + 2P); P).
    """
    rgb, alpha = catalogue.object(layer.source_id)
    a = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    sigma = prefilter_sigma(layer.scale, factor)
    pad = _OBJECT_PAD + int(math.ceil(4.0 * sigma))
    rgba = np.zeros((a.shape[0] + 2 * pad, a.shape[1] + 2 * pad, 4), dtype=np.float32)
    texture = srgb_to_linear(rgb) if linear else np.asarray(rgb, dtype=np.float32)
    rgba[pad:-pad, pad:-pad, :3] = texture * a[:, :, None]
    rgba[pad:-pad, pad:-pad, 3] = a
    if sigma > 0:
        rgba = ndimage.gaussian_filter(rgba, sigma=(sigma, sigma, 0), mode="constant", truncate=4.0)
    return spline_coefficients(rgba, mode="grid-constant", planar=True), pad


def _support(u: np.ndarray, n: int) -> tuple[int, int]:
    """Range [lo, hi) of grid indices whose spline taps touch coefficients 0..n-1 (u increasing)."""
    lo = int(np.searchsorted(u, -2.0, side="right"))
    hi = int(np.searchsorted(u, n + 1.0, side="left"))
    return lo, hi


def _warped_support(warp: _Warp, shape: tuple[int, ...], pad: int, grid: _Grid) -> tuple[tuple[int, int], tuple[int, int]]:
    """Grid index ranges ([y0, y1), [x0, x1)) that an affinely moved object's spline can touch.

    The object's coefficients (row-planar ``shape`` = (H, 4, W), zero-padded by ``pad``) reach index
    coordinates -2 < u < n + 1; the corners of that box, mapped to the frame, bound its footprint.
    """
    layer, s = warp.layer, warp.layer.scale
    xs = layer.position[0] + s * (np.array([-2.0, shape[2] + 1.0]) + 0.5 - pad)
    ys = layer.position[1] + s * (np.array([-2.0, shape[0] + 1.0]) + 0.5 - pad)
    corners = np.array([[x, y] for x in xs for y in ys]).T  # (2, 4) in A
    mapped = warp.m @ corners + warp.b[:, None]  # (2, 4) in the frame
    out = []
    for axis in (1, 0):
        lo = math.ceil((mapped[axis].min() + grid.margin) * grid.factor - 0.5)
        hi = math.floor((mapped[axis].max() + grid.margin) * grid.factor - 0.5) + 1
        out.append((min(max(lo, 0), grid.n), min(max(hi, 0), grid.n)))
    return out[0], out[1]


def _composite_object(
    canvas: np.ndarray,
    offsets: np.ndarray | None,
    coef: np.ndarray,
    pad: int,
    layer: LayerParams,
    shift: tuple[float, float],
    grid: _Grid,
    warp: _Warp | None = None,
) -> None:
    """Draw one object 'over' the canvas, in place.

    The canvas is row-planar RGB (rows, 3, columns); ``offsets``, when given, is the colour-offset
    image of the perturbed twin in the same layout, composited with the same alpha. With ``warp``
    the object moves by that affine warp instead of ``shift``.
    """
    if warp is None:
        s = layer.scale
        uy = grid.source_positions(s, layer.position[1], shift[1], -pad)
        ux = grid.source_positions(s, layer.position[0], shift[0], -pad)
        y0, y1 = _support(uy, coef.shape[0])
        x0, x1 = _support(ux, coef.shape[2])
        if y1 <= y0 or x1 <= x0:
            return
        patch = apply_separable(
            warp_matrix(uy[y0:y1], coef.shape[0], outside="zero"),
            warp_matrix(ux[x0:x1], coef.shape[2], outside="zero"),
            coef,
        )  # (h, 4, w): premultiplied RGB, alpha
    else:
        (y0, y1), (x0, x1) = _warped_support(warp, coef.shape, pad, grid)
        if y1 <= y0 or x1 <= x0:
            return
        patch = warp.sample(coef, slice(y0, y1), slice(x0, x1), grid, (-pad, -pad), "grid-constant")
    a = np.clip(patch[:, 3:4, :], 0.0, 1.0, out=patch[:, 3:4, :])  # (h, 1, w)
    premult = np.maximum(patch[:, :3, :], 0.0, out=patch[:, :3, :])
    np.minimum(premult, 255.0 * a, out=premult)
    keep = 1.0 - a
    view = canvas[y0:y1, :, x0:x1]
    view *= keep
    view += premult
    if offsets is not None:
        view = offsets[y0:y1, :, x0:x1]
        view *= keep
        view += a * np.asarray(layer.color_offset, dtype=np.float32)[None, :, None]


def _decimate(dec: sp.csr_matrix, canvas: np.ndarray) -> np.ndarray:
    """Anti-alias and decimate a row-planar (n, C, n) canvas to a C-contiguous (H, W, C) frame."""
    size, c = dec.shape[0], canvas.shape[1]
    small = separable_transposed(dec, dec, canvas)  # (W, H * C)
    frame = np.empty((size, size, c), dtype=np.float32)
    pixel = np.dtype((np.void, 4 * c))  # one pixel's C floats as one record: a 2-D transpose of pixels
    transpose_into(small.view(pixel).reshape(size, size), frame.reshape(size, size * c).view(pixel))
    return frame


def _frame_rng(params: SampleParams, field: str, stream: int = 1) -> np.random.Generator:
    seq = np.random.SeedSequence(list(params.seed), spawn_key=(stream, FRAME_FIELDS.index(field)))
    return np.random.default_rng(seq)


def render_clean(params: SampleParams, catalogue: Catalogue, spec: DatasetSpec) -> dict[str, np.ndarray]:
    """Render the noiseless, unquantized frames: every FRAME_FIELDS key, float32 (H, W, 3), 0-255 units.

    With ``spec.linear_light`` the layers are composited and decimated in linear light and every frame
    is returned encoded to sRGB (the colour offsets are added after encoding).
    """
    grid = _Grid(spec.image_size, spec.supersample, spec.antialias_sigma)
    layers = (params.background, *params.objects)
    shifts = {
        "a": [(0.0, 0.0)] * len(layers),
        "b": [tuple(float(v) for v in l.motion) for l in layers],
        "y": [params.magnify(l.motion) for l in layers],  # alpha * motion, or M motion (axial)
    }
    canvases = [np.empty((grid.n, 3, grid.n), dtype=np.float32) for _ in range(3)]  # RGB of A, B, Y
    linear = spec.linear_light
    warps = [_warps(layer, params) for layer in layers]  # per layer: A, B, Y (None: a translation)
    _background_layer(params, catalogue, grid, [shifts[f][0] for f in ("a", "b", "y")], canvases, linear, warps[0])  # type: ignore[index]  # shifts holds lists of (dx, dy)
    coefs = [_object_coefficients(catalogue, obj, spec.supersample, linear) for obj in params.objects]
    dec = gaussian_decimation(spec.image_size, spec.supersample, spec.antialias_sigma, grid.margin)
    out: dict[str, np.ndarray] = {}
    for k, (canvas, frame) in enumerate(zip(canvases, ("a", "b", "y"))):
        offsets = None
        if frame != "a":  # the perturbation's offset image, composited alongside the RGB
            offsets = np.empty_like(canvas)
            offsets[...] = np.asarray(params.background.color_offset, dtype=np.float32)[None, :, None]
        for obj, (coef, pad), shift, warp in zip(params.objects, coefs, shifts[frame][1:], warps[1:]):  # type: ignore[index]  # shifts holds lists of (dx, dy)
            _composite_object(canvas, offsets, coef, pad, obj, shift, grid, warp[k])
        rgb = _decimate(dec, canvas)
        if frame == "b" and params.gain_b != 1.0:  # exposure flicker of the input B only
            rgb *= np.float32(params.gain_b)
        if linear:
            rgb = linear_to_srgb(rgb)
        if frame == "a":
            out["frame_a"] = rgb
        else:
            out[f"frame_{frame}"] = rgb
            out[f"frame_{frame}_perturbed"] = rgb + _decimate(dec, offsets)  # type: ignore[arg-type]  # offsets is set for every frame but A
    return {k: out[k] for k in FRAME_FIELDS}


def render_sample(params: SampleParams, catalogue: Catalogue, spec: DatasetSpec) -> dict[str, np.ndarray]:
    """Render the five frames of one sample, deterministically from its parameters.

    Args:
        params: the scene (drawn by :func:`mmdata.render.sampling.sample_params` or written by hand: any
            motions, alpha, noise strength and object list are honoured).
        catalogue: provides the background and object pixels named in ``params``.
        spec: image size, supersampling, anti-aliasing and the noisy-target choice.

    Returns:
        Every FRAME_FIELDS key -> uint8 array (image_size, image_size, 3).

    Raises:
        KeyError / SourceError: an id in ``params`` is not in the catalogue.
        ValueError: a negative noise strength.
    """
    clean = render_clean(params, catalogue, spec)
    noisy = set(INPUT_FIELDS) | (set(FRAME_FIELDS) if spec.noise.noisy_target else set())
    frames = {}
    for field in FRAME_FIELDS:
        rng = _frame_rng(params, field)
        img = clean[field]
        if field in noisy:
            img = photon_noise(img, params.noise_std, rng)
            if params.read_noise_std > 0:
                img = read_noise(img, params.read_noise_std, _frame_rng(params, field, READ_NOISE_STREAM))
        frames[field] = stochastic_round(img, rng)
    return frames


def render(
    spec: DatasetSpec, part: int | str, index: int, catalogue: Catalogue
) -> tuple[SampleParams, dict[str, np.ndarray]]:
    """Draw and render sample ``index`` of ``part``: (its parameters, its frames)."""
    params = sample_params(spec, part, index, catalogue)
    return params, render_sample(params, catalogue, spec)

"""Per-case metrics of the evaluation: image similarity to the ground truth, and magnification accuracy.

Image metrics (every one on 8-bit RGB frames, data range 255, after cropping ``border`` pixels from
every side):

* ``ssim_gaussian11`` — SSIM of Wang et al. 2004 as their reference code computes it: an 11-tap
  Gaussian window of sigma 1.5 (scikit-image's ``gaussian_weights=True, sigma=1.5`` truncates at 3.5
  sigma, i.e. radius 5), population covariances, K1 = 0.01, K2 = 0.03, the SSIM map averaged over
  the "valid" positions (a window's half-width dropped at the edges) and over the RGB channels. This
  is the variant of the published re-evaluation, and the SSIM this toolkit has always reported.
* ``ssim_uniform7`` — scikit-image's defaults: a 7x7 uniform window with sample covariances; the
  SSIM many papers report without saying so.
* ``psnr`` (dB, ``inf`` for identical frames) and ``rmse`` (0-255 units), scikit-image's.

Magnification accuracy (:func:`magnification_ratio`): the displacement actually present in a
method's output, measured against input frame A by :func:`mmdata.render.estimate_shift` inside one
layer's mask, projected on the direction of the layer's input motion ``delta`` and divided by the
requested ``alpha * |delta|``. 1 is exact; the do-nothing output (frame B) scores ``1 / alpha``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from mmdata.errors import ConfigError
from mmdata.render import estimate_shift

__all__ = ["SSIM_VARIANTS", "IMAGE_METRICS", "crop", "ssim_gaussian11", "ssim_uniform7", "psnr", "rmse",
           "image_metrics", "magnification_ratio"]

#: The SSIM variants, by name.
SSIM_VARIANTS: tuple[str, ...] = ("gaussian11", "uniform7")
#: The image metrics of every case, in report order.
IMAGE_METRICS: tuple[str, ...] = ("ssim_gaussian11", "ssim_uniform7", "psnr", "rmse")


def crop(img: np.ndarray, border: int) -> np.ndarray:
    """``img`` without ``border`` pixels on every side.

    Raises:
        ConfigError: the crop leaves less than 7 pixels.
    """
    h, w = img.shape[:2]
    if min(h, w) - 2 * border < 7:
        raise ConfigError(f"evaluate.border: {border} px leaves less than 7 px of a {h}x{w} frame")
    return img[border : h - border, border : w - border]


def _pair(output: np.ndarray, truth: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    if output.shape != truth.shape:
        raise ConfigError(f"metrics: output shape {output.shape} differs from the ground truth's {truth.shape}")
    return crop(output, border), crop(truth, border)


def ssim_gaussian11(output: np.ndarray, truth: np.ndarray, border: int) -> float:
    """SSIM, 11-tap Gaussian window sigma 1.5, population covariance, RGB, data range 255."""
    out, gt = _pair(output, truth, border)
    return float(structural_similarity(gt, out, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def ssim_uniform7(output: np.ndarray, truth: np.ndarray, border: int) -> float:
    """SSIM with scikit-image's defaults: 7x7 uniform window, sample covariance, RGB, data range 255."""
    out, gt = _pair(output, truth, border)
    return float(structural_similarity(gt, out, data_range=255, channel_axis=-1, win_size=7, gaussian_weights=False,
                                       use_sample_covariance=True))


def psnr(output: np.ndarray, truth: np.ndarray, border: int) -> float:
    """Peak signal-to-noise ratio in dB (peak 255); ``inf`` when the frames are equal."""
    out, gt = _pair(output, truth, border)
    if np.array_equal(out, gt):
        return math.inf
    return float(peak_signal_noise_ratio(gt, out, data_range=255))


def rmse(output: np.ndarray, truth: np.ndarray, border: int) -> float:
    """Root-mean-square error over pixels and channels, 0-255 units."""
    out, gt = _pair(output, truth, border)
    return float(math.sqrt(mean_squared_error(gt.astype(np.float64), out.astype(np.float64))))


def image_metrics(output: np.ndarray, truth: np.ndarray, border: int) -> dict[str, float]:
    """Every metric of :data:`IMAGE_METRICS` for one output frame."""
    return {"ssim_gaussian11": ssim_gaussian11(output, truth, border), "ssim_uniform7": ssim_uniform7(output, truth, border),
            "psnr": psnr(output, truth, border), "rmse": rmse(output, truth, border)}


def _coarse_shift(a: np.ndarray, b: np.ndarray, mask: np.ndarray, direction: np.ndarray, reach: float) -> np.ndarray:
    """The best displacement, on a 1-px grid from -reach/4 to 2 reach along ``direction`` (+-1 px across),
    by the masked sum of squared differences of linearly interpolated ``b`` and ``a``."""
    ys, xs = np.nonzero(mask > 0)
    w = mask[ys, xs]
    ref = a[ys, xs]
    normal = np.array([-direction[1], direction[0]])
    best, best_cost = np.zeros(2), math.inf
    for t in np.arange(-0.25 * reach, 2.0 * reach + 1.0, 1.0):
        for s in (-1.0, 0.0, 1.0):
            d = t * direction + s * normal
            moved = ndimage.map_coordinates(b, [ys + d[1], xs + d[0]], order=1, mode="nearest")
            cost = float(np.sum(w * (moved - ref) ** 2))
            if cost < best_cost:
                best, best_cost = d, cost
    return best


def magnification_ratio(
    frame_a: np.ndarray, output: np.ndarray, mask: np.ndarray, motion: tuple[float, float], alpha: float,
    *, min_pixels: int = 64, min_gradient: float = 1.0,
) -> float:
    """Measured output motion of one layer over the requested ``alpha * |delta|``, along ``delta``.

    Args:
        frame_a: input frame A (H, W, 3).
        output: the method's output frame, same shape.
        mask: (H, W) weights in [0, 1]: where the layer is visible in A and still visible, unoccluded,
            at its magnified position (see :func:`mmtrain.evaluate.sets.layer_masks`).
        motion: the layer's input motion delta (dx, dy), px.
        alpha: the magnification factor.
        min_pixels: fewest mask pixels to measure on.
        min_gradient: least root-mean-square intensity gradient of A inside the mask (levels per px):
            a flatter region (a black sky) carries no measurable motion.

    Returns:
        The ratio (1 = exact), or NaN where it cannot be measured: no motion, too small a mask, a
        region without texture.
    """
    delta = np.asarray(motion, dtype=np.float64)
    norm = float(np.hypot(*delta))
    if norm == 0.0 or alpha == 0.0 or np.count_nonzero(mask > 0) < min_pixels:
        return math.nan
    a = np.asarray(frame_a, dtype=np.float64).mean(axis=2)
    b = np.asarray(output, dtype=np.float64).mean(axis=2)
    gy, gx = np.gradient(a)
    inside = mask > 0
    if math.sqrt(float(np.mean(gx[inside] ** 2 + gy[inside] ** 2))) < min_gradient:
        return math.nan
    direction = delta / norm
    reach = abs(alpha) * norm
    guess = _coarse_shift(a, b, mask, direction, reach)
    try:
        d = estimate_shift(a, b, guess=(float(guess[0]), float(guess[1])), mask=mask, border=2)
    except ValueError:
        return math.nan
    return float(np.dot(d, direction) / reach)

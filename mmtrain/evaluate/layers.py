"""Where each layer of a test case can be measured: the masks of the magnification-accuracy metric.

A case has two motions: every foreground object moves by the same ``delta`` (so together they form
one layer, whose occlusions among themselves never change), and the background by its own (zero in
the noise test). A layer's mask holds the pixels ``x`` of input frame A where

* the layer is visible in A (objects: full coverage; background: no object over it), and
* the same content is visible, unoccluded, at ``x + alpha * delta`` in the ground truth Y, inside
  the frame,

eroded by ``erode`` pixels so that the anti-aliased layer edges do not count. There brightness
constancy ``Y(x + alpha delta) = A(x)`` holds exactly, which is what :func:`estimate_shift` assumes.

The coverage of the objects is rendered by the scene's own renderer, with every object drawn white
over a black background (:class:`CoverageCatalogue`), so it follows the same geometry, supersampling
and anti-aliasing as the frames.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from mmdata.render.composite import render_clean
from mmdata.scene import SampleParams
from mmdata.sources.base import Catalogue, background_shape, object_shape
from mmdata.spec import DatasetSpec

__all__ = ["LAYERS", "CoverageCatalogue", "layer_masks"]

#: The measured layers, in the channel order of a stored ``layer_mask`` frame.
LAYERS: tuple[str, ...] = ("foreground", "background")


class CoverageCatalogue:
    """A catalogue with the same shapes and masks, whose objects are white and backgrounds black."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    @property
    def identity(self) -> str:
        return "coverage:" + self._cat.identity

    @property
    def background_ids(self) -> Sequence[str]:
        return self._cat.background_ids

    @property
    def object_ids(self) -> Sequence[str]:
        return self._cat.object_ids

    def background(self, bg_id: str) -> np.ndarray:
        h, w = background_shape(self._cat, bg_id)
        return np.zeros((h, w, 3), dtype=np.float32)

    def object(self, obj_id: str) -> tuple[np.ndarray, np.ndarray]:
        _, alpha = self._cat.object(obj_id)
        h, w = object_shape(self._cat, obj_id)
        return np.full((h, w, 3), 255.0, dtype=np.float32), alpha

    def describe(self, source_id: str) -> dict:
        return self._cat.describe(source_id)


def _inside(shape: tuple[int, int], shift: tuple[float, float], margin: int) -> np.ndarray:
    """Pixels x with x + shift at least ``margin`` px inside the frame."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    x, y = xs + shift[0], ys + shift[1]
    return (x >= margin) & (x <= w - 1 - margin) & (y >= margin) & (y <= h - 1 - margin)


def layer_masks(params: SampleParams, catalogue: Catalogue, spec: DatasetSpec, *, erode: int = 2) -> np.ndarray:
    """The masks of the foreground (channel 0) and background (channel 1) layers, uint8 (H, W, 3), 0/255.

    Args:
        params: the case.
        catalogue: the sources it was drawn from.
        spec: the renderer's settings.
        erode: pixels removed along every layer edge.
    """
    clean = render_clean(params, CoverageCatalogue(catalogue), spec)
    cov_a = clean["frame_a"][..., 0] / 255.0  # (H, W) objects' coverage in A
    cov_y = clean["frame_y"][..., 0] / 255.0  # ... and in Y
    alpha = params.alpha
    fg = (alpha * params.objects[0].motion[0], alpha * params.objects[0].motion[1]) if params.objects else (0.0, 0.0)
    bg = (alpha * params.background.motion[0], alpha * params.background.motion[1])
    structure = np.ones((3, 3), dtype=bool)
    fg_mask = (cov_a > 0.99) & _inside(cov_a.shape, fg, 2)
    cov_y_at = ndimage.shift(cov_y, (-bg[1], -bg[0]), order=1, mode="constant", cval=1.0)  # cov_y(x + bg)
    bg_mask = (cov_a < 0.01) & (cov_y_at < 0.01) & _inside(cov_a.shape, bg, 2)
    out = np.zeros(cov_a.shape + (3,), dtype=np.uint8)
    for channel, mask in enumerate((fg_mask, bg_mask)):
        if erode > 0:
            mask = ndimage.binary_erosion(mask, structure, iterations=erode)
        out[..., channel] = mask.astype(np.uint8) * 255
    return out

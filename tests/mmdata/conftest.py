"""Fixtures of the mmdata tests: a small catalogue of real photographs bundled with scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from scipy import ndimage

from mmdata.sources.base import InMemoryCatalogue
from mmdata.spec import DatasetSpec


def _ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    return (((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2 < 1.0).astype(np.float32)


def _blob(h: int, w: int, seed: int) -> np.ndarray:
    """An irregular mask with a soft (anti-aliased) edge, touching no side of its box."""
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((h, w)), 3.0)
    inside = _ellipse(h, w) * (0.6 + noise / (noise.std() * 4.0))
    return np.clip((inside - 0.4) * 4.0, 0.0, 1.0).astype(np.float32)


def photo_catalogue() -> InMemoryCatalogue:
    """Backgrounds: four photographs; objects: crops of them with elliptical and irregular masks."""
    photos = {
        "astronaut": skimage.data.astronaut(),
        "coffee": skimage.data.coffee(),
        "chelsea": skimage.data.chelsea(),
        "rocket": skimage.data.rocket(),
    }
    objects = {}
    for i, (name, img) in enumerate(photos.items()):
        for j, (h, w) in enumerate(((24, 18), (14, 30))):
            y, x = img.shape[0] // 3 + 17 * j, img.shape[1] // 3 + 23 * j
            crop = img[y : y + h, x : x + w].astype(np.float32)
            mask = _ellipse(h, w) if j == 0 else _blob(h, w, seed=i)
            objects[f"{name}-obj{j}"] = (crop, mask)
    return InMemoryCatalogue(photos, objects)


@pytest.fixture(scope="session")
def catalogue() -> InMemoryCatalogue:
    return photo_catalogue()


@pytest.fixture(scope="session")
def small_spec() -> DatasetSpec:
    """Paper distributions at a 64-pixel output (objects are 14-30 px, so they stay small)."""
    return DatasetSpec.from_config({"seed": 7, "dataset": {"image_size": 64}})

"""Compatibility: the scene contract moved to :mod:`mmdata.scene` (the ground floor of mmdata)."""

from __future__ import annotations

from mmdata.scene import (
    PART_NAMES,
    RECIPES,
    LayerParams,
    PartRecipe,
    SampleParams,
    magnification,
    magnify,
    part_name,
    part_number,
)

__all__ = ["PART_NAMES", "PartRecipe", "RECIPES", "part_number", "part_name", "LayerParams", "SampleParams", "magnification", "magnify"]

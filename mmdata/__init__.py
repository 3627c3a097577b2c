"""mmdata: the synthetic training dataset of learning-based motion magnification (Oh et al. 2018).

Sources (COCO, VOC, built-in) -> per-sample parameters from a seed -> continuous-domain rendering ->
anti-aliased downsampling -> noise -> Zarr shards with provenance.
"""

from __future__ import annotations

from mmdata.config import load_config, validate_config
from mmdata.version import __version__
from mmdata.errors import (
    CheckpointError,
    ConfigError,
    IntegrityError,
    MotionMagError,
    SourceError,
    SourceNotFound,
    StoreError,
    StoreNotFound,
    VideoError,
)
from mmdata.scene import PART_NAMES, LayerParams, SampleParams, part_name, part_number

__all__ = [
    "__version__",
    "load_config",
    "validate_config",
    "PART_NAMES",
    "part_name",
    "part_number",
    "LayerParams",
    "SampleParams",
    "MotionMagError",
    "ConfigError",
    "SourceError",
    "SourceNotFound",
    "StoreError",
    "StoreNotFound",
    "IntegrityError",
    "CheckpointError",
    "VideoError",
    "open_dataset",
    "Dataset",
]


def __getattr__(name: str):  # lazy: the store pulls in zarr and dask only when used
    if name in ("open_dataset", "Dataset"):
        from mmdata import store

        return getattr(store, name)
    raise AttributeError(f"module 'mmdata' has no attribute {name!r}")

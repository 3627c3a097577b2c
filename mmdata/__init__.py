"""mmdata: the synthetic training dataset of learning-based motion magnification (Oh et al. 2018).

Sources (COCO, VOC, built-in) -> per-sample parameters from a seed -> continuous-domain rendering ->
anti-aliased downsampling -> noise -> Zarr shards with provenance.
"""

from __future__ import annotations

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
from mmdata.lazy import lazy_exports

#: Where the other public names are defined; imported on first use (PEP 562): the config pulls in
#: jsonschema and yaml, the scene numpy, the store zarr and dask, the version the package metadata, and a
#: command that needs none of them (``mmtrain magnify --help``) does not import them.
_EXPORTS = {
    "mmdata.version": ["__version__"],
    "mmdata.config": ["load_config", "validate_config"],
    "mmdata.scene": ["PART_NAMES", "LayerParams", "SampleParams", "part_name", "part_number"],
    "mmdata.store": ["open_dataset", "Dataset"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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


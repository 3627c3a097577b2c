"""The Zarr v3 dataset store: the only code that touches zarr for datasets.

* :mod:`mmdata.store.layout` — settings, paths, the arrays of a shard store and per-sample records;
* :mod:`mmdata.store.writer` — exclusive, resumable, atomic writing of one shard store;
* :mod:`mmdata.store.reader` — reading one shard, or an indexed dataset as one lazy view;
* :mod:`mmdata.store.manifest` — the dataset manifest written by ``mmdata index``.
"""

from mmdata.store.layout import (
    STORE_FORMAT,
    SampleRecord,
    ShardLayout,
    StoreSettings,
    part_dir,
    partial_path,
    shard_path,
)
from mmdata.store.manifest import build_manifest, dir_bytes, find_shards, write_manifest
from mmdata.store.reader import (
    MANIFEST_NAME,
    Dataset,
    ShardReader,
    ShardRef,
    open_dataset,
    open_shard,
    read_manifest,
)
from mmdata.store.writer import ShardTarget, read_marker, write_block

__all__ = [
    "STORE_FORMAT",
    "MANIFEST_NAME",
    "SampleRecord",
    "ShardLayout",
    "StoreSettings",
    "ShardTarget",
    "ShardReader",
    "ShardRef",
    "Dataset",
    "open_dataset",
    "open_shard",
    "read_manifest",
    "read_marker",
    "write_block",
    "build_manifest",
    "write_manifest",
    "find_shards",
    "dir_bytes",
    "part_dir",
    "partial_path",
    "shard_path",
]

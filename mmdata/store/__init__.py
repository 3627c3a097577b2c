"""The Zarr v3 dataset store: the only code that touches zarr for datasets.

* :mod:`mmdata.store.codec` — the lossless image codec of the frame arrays (zarr codec ``mmdata_image``);
* :mod:`mmdata.store.layout` — settings, paths, the arrays of a shard store and per-sample records;
* :mod:`mmdata.store.writer` — exclusive, resumable, atomic writing of one shard store;
* :mod:`mmdata.store.reader` — reading one shard, or an indexed dataset as one lazy view (verified);
* :mod:`mmdata.store.sample` — one sample of a dataset (``ds[i]``): its fields and provenance;
* :mod:`mmdata.store.integrity` — the checks behind verified reads and the audit (frame digests,
  small-array checksums, the attribute hash, decode errors named by sample and chunk file);
* :mod:`mmdata.store.manifest` — the dataset manifest written by ``mmdata index``;
* :mod:`mmdata.store.provenance` — code version and code hash, config hashes, per-sample digests;
* :mod:`mmdata.store.generate` — rendering one shard's samples into its store (Dask inside a job);
* :mod:`mmdata.store.audit` — hashing every frame, checking every record, re-rendering samples;
* :mod:`mmdata.store.explain` — where one sample came from, in plain terms;
* :mod:`mmdata.store.card` — the dataset card (statistics and figures of an indexed dataset);
* :mod:`mmdata.store.cli` — ``mmdata generate``, ``index``, ``audit``, ``explain``, ``export-official``, ``import-official``.
"""

from mmdata.store.codec import CODEC_NAME, IMAGE_FORMATS, ImageCodec
from mmdata.store.layout import (
    AXIAL_FIELDS,
    STORE_FORMAT,
    SampleRecord,
    ShardLayout,
    StoreSettings,
    axial_maps,
    part_dir,
    partial_path,
    shard_path,
)
from mmdata.store.manifest import build_manifest, dir_bytes, find_shards, write_manifest
from mmdata.store.integrity import ATTRS_KEY, attrs_digest
from mmdata.store.reader import (
    MANIFEST_NAME,
    Dataset,
    ShardReader,
    ShardRef,
    check_manifest_hash,
    open_dataset,
    open_shard,
    read_manifest,
    shard_entry_path,
)
from mmdata.store.sample import Provenance, Sample
from mmdata.store.writer import ShardTarget, read_marker, write_block
from mmdata.store.provenance import code_version, render_code_hash, render_config_hash
from mmdata.store.generate import GenerateSpec, generate_shard, plan_shard
from mmdata.store.audit import AuditReport, audit_dataset, explain_sample, locate_sample
from mmdata.store.card import write_card

__all__ = [
    "CODEC_NAME",
    "IMAGE_FORMATS",
    "ImageCodec",
    "STORE_FORMAT",
    "AXIAL_FIELDS",
    "axial_maps",
    "MANIFEST_NAME",
    "SampleRecord",
    "ShardLayout",
    "StoreSettings",
    "ShardTarget",
    "ShardReader",
    "ShardRef",
    "Dataset",
    "Sample",
    "Provenance",
    "open_dataset",
    "open_shard",
    "read_manifest",
    "check_manifest_hash",
    "shard_entry_path",
    "ATTRS_KEY",
    "attrs_digest",
    "read_marker",
    "write_block",
    "build_manifest",
    "write_manifest",
    "find_shards",
    "dir_bytes",
    "part_dir",
    "partial_path",
    "shard_path",
    "code_version",
    "render_code_hash",
    "render_config_hash",
    "GenerateSpec",
    "generate_shard",
    "plan_shard",
    "AuditReport",
    "audit_dataset",
    "explain_sample",
    "locate_sample",
    "write_card",
]

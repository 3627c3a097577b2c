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

from __future__ import annotations

from mmdata.lazy import lazy_exports

#: Where each public name is defined; imported on first use (PEP 562): ``import mmdata.store.layout``
#: does not import the generator (dask, the renderer), the audit or the card (matplotlib).
_EXPORTS = {
    "mmdata.store.codec": ["CODEC_NAME", "IMAGE_FORMATS", "ImageCodec"],
    "mmdata.store.layout": [
        "AXIAL_FIELDS", "STORE_FORMAT", "SampleRecord", "ShardLayout", "StoreSettings", "axial_maps", "part_dir",
        "partial_path", "shard_path",
    ],
    "mmdata.store.manifest": ["build_manifest", "dir_bytes", "find_shards", "write_manifest"],
    "mmdata.store.integrity": ["ATTRS_KEY", "attrs_digest"],
    "mmdata.store.reader": [
        "MANIFEST_NAME", "Dataset", "ShardReader", "ShardRef", "check_manifest_hash", "open_dataset", "open_shard",
        "read_manifest", "shard_entry_path",
    ],
    "mmdata.store.sample": ["Provenance", "Sample"],
    "mmdata.store.writer": ["ShardTarget", "read_marker", "write_block"],
    "mmdata.store.provenance": ["code_version", "render_code_hash", "render_config_hash"],
    "mmdata.store.generate": ["GenerateSpec", "generate_shard", "plan_shard"],
    "mmdata.store.audit": ["AuditReport", "audit_dataset", "explain_sample", "locate_sample"],
    "mmdata.store.card": ["write_card"],
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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

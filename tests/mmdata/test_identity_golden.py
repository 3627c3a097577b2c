"""Every content digest of an existing dataset stays what it was: shards, manifest, configs, catalogue.

The golden values in ``data/identity_golden.json`` were written by ``record_identity_golden.py`` with
the code as it was before the digests shared one helper (commit e83eeac): the inputs of each digest
(shard attributes, the string arrays, the manifest, the catalogue document) and the digests that code
recorded. A difference here means existing datasets would fail their audit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmdata.config import config_hash
from mmdata.sources.catalogue import StoredCatalogue
from mmdata.store.integrity import attrs_digest
from mmdata.store.provenance import bytes_checksum, render_config_hash
from mmdata.store.reader import manifest_digest
from mmdata.store.writer import shard_checksum

GOLDEN = json.loads((Path(__file__).parent / "data" / "identity_golden.json").read_text())
SHARDS = GOLDEN["shards"]


@pytest.mark.parametrize("shard", SHARDS, ids=[s["path"] for s in SHARDS])
def test_shard_digests(shard):
    attrs = shard["attrs"]
    assert attrs_digest(attrs) == shard["attrs_sha256"]
    assert shard_checksum(attrs["checksums"]) == shard["shard_checksum"]
    assert config_hash(attrs["config"]) == attrs["config_hash"]
    assert render_config_hash(attrs["config"]) == attrs["render_config_hash"]
    for name, values in shard["string_arrays"].items():
        assert bytes_checksum(np.asarray(values, dtype=object)) == attrs["checksums"][name], name


@pytest.mark.parametrize("shard", SHARDS, ids=[s["path"] for s in SHARDS])
def test_manifest_lists_the_shard_digests(shard):
    entry = next(e for e in GOLDEN["manifest"]["shards"] if e["path"] == shard["path"])
    assert (entry["attrs_sha256"], entry["checksum"]) == (shard["attrs_sha256"], shard["shard_checksum"])


def test_manifest_digest():
    manifest = GOLDEN["manifest"]
    assert manifest_digest(manifest) == manifest["manifest_hash"]


def test_catalogue_content_digest():
    catalogue = object.__new__(StoredCatalogue)  # the document alone: no object bank needed for its digest
    catalogue._doc = dict(GOLDEN["catalogue"])
    assert catalogue.content_digest == GOLDEN["catalogue_content_sha256"]

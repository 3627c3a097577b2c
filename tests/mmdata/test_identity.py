"""mmdata.identity: the one canonical JSON and its digests equal every expression it replaced, byte for byte."""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mmdata.identity import bytes_sha256, canonical_json, file_sha256, json_sha256
from mmdata.store.provenance import bytes_checksum
from mmdata.store.writer import shard_checksum

INPUTS = [
    {},
    [],
    {"b": 1, "a": 2},
    {"z": {"y": [1, 2.5, {"x": None, "w": True}], "é": "ünïcödé ✓ 日本"}, "a": -0.0},
    {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "list": [math.nan, 1e-300, 1e300]},
    {"floats": [0.1, 1 / 3, 2.0, 1e16, 123456789.123456789], "ints": [0, -1, 2**63, 10**30]},
    {"emoji": "😀", "control": "\x00\n\t\"\\", "surrogate-free": "\u2028\u2029"},
    {"nested": {"deeper": {"deepest": {"k": ["v", {"b": 0, "a": [[], {}]}]}}}},
    ["mixed", 1, 2.0, None, False, {"k": "v"}],
    "a string",
    3.14,
]



def _old_config_hash(obj):  # mmdata.config.config_hash before the helper
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _old_attrs_digest(obj):  # mmdata.store.integrity.attrs_digest
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()).hexdigest()


def _old_plain_digest(obj):  # reader.manifest_digest, StoredCatalogue.content_digest
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.parametrize("obj", INPUTS, ids=range(len(INPUTS)))
def test_json_sha256_equals_the_expressions_it_replaced(obj):
    assert json_sha256(obj) == _old_attrs_digest(obj) == _old_plain_digest(obj) == _old_config_hash(obj)
    assert canonical_json(obj) == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def test_default_str_for_config_values():
    obj = {"when": datetime.date(2024, 1, 2), "path": Path("/x/ü"), "n": [1, {"t": datetime.time(3, 4)}]}
    assert json_sha256(obj, default=str) == _old_config_hash(obj)
    with pytest.raises(TypeError):
        json_sha256(obj)  # without a default, non-JSON values are refused (as attrs and manifests always were)


def test_canonical_json_is_ascii_and_sorted():
    assert canonical_json({"b": "é", "a": math.nan}) == b'{"a":NaN,"b":"\\u00e9"}'


@pytest.mark.parametrize("checksums", [
    {},
    {"frame_a": "00", "alpha": "ff", "Zeta": "1", "äöü": "2"},
    {f"k{i}": hashlib.sha256(str(i).encode()).hexdigest() for i in range(30)},
])
def test_shard_checksum_equals_old_expression(checksums):
    old = hashlib.sha256(json.dumps(dict(sorted(checksums.items())), separators=(",", ":")).encode()).hexdigest()
    assert shard_checksum(checksums) == old


@pytest.mark.parametrize("values", [
    np.asarray(["a", "ü", '{"x":1}', "日本", ""], dtype=object),
    np.asarray(["plain", "strings"]),
    np.asarray([], dtype=object),
])
def test_bytes_checksum_of_strings_equals_old_expression(values):
    old = hashlib.sha256(json.dumps([str(v) for v in values.ravel()], separators=(",", ":")).encode()).hexdigest()
    assert bytes_checksum(values) == old


def test_file_and_bytes_sha256(tmp_path):
    data = bytes(range(256)) * 9000  # more than one read block
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == bytes_sha256(data) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()

"""Sizes a config declares are bounded before anything is allocated; errors name the key."""

from __future__ import annotations

import pytest
import yaml

from mmdata.cli import main
from mmdata.config import MAX_SHARDS_PER_PART, load_config, load_schema, validate_config
from mmdata.errors import ConfigError


@pytest.mark.parametrize(
    "override, key",
    [
        ({"dataset": {"parts": {"fg_bg": 10**20}}}, "dataset.parts.fg_bg"),
        ({"dataset": {"parts": {"fg_bg": 1e20}}}, "dataset.parts.fg_bg"),  # a float is not an integer
        ({"dataset": {"parts": {"static": 2.0}}}, "dataset.parts.static"),
        ({"dataset": {"total": 10**15, "mix": {"fg_bg": 1.0}}}, "dataset.total"),
        ({"dataset": {"shard_size": 10**9}}, "dataset.shard_size"),
        ({"dataset": {"objects": {"count_max": 10**6}}}, "dataset.objects.count_max"),
        ({"dataset": {"blur": {"sigma_max": 1e9}}}, "dataset.blur.sigma_max"),
        ({"dataset": {"motion": {"max": 1e12}}}, "dataset.motion.max"),
        ({"dataset": {"custom_parts": {"many": {"number": 6, "recipe": "fg_bg", "count_max": 10**9}}}}, "dataset.custom_parts.many.count_max"),
        ({"store": {"zarr_shard_samples": 10**12}}, "store.zarr_shard_samples"),
        ({"sources": {"max_file_bytes": 10**15}}, "sources.max_file_bytes"),
        ({"sources": {"builtin": {"segment_max_side": 10**6}}}, "sources.builtin.segment_max_side"),
        ({"workflow": {"audit_samples": 10**12}}, "workflow.audit_samples"),
    ],
)
def test_huge_sizes_are_refused_naming_the_key(override, key):
    with pytest.raises(ConfigError) as info:
        validate_config(override)
    assert str(info.value).startswith(key + ":"), str(info.value)


def test_too_many_shards_per_part():
    n = (MAX_SHARDS_PER_PART + 1) * 10
    with pytest.raises(ConfigError, match=rf"dataset.parts.bg_only: {n} samples make {MAX_SHARDS_PER_PART + 1} shards"):
        validate_config({"dataset": {"parts": {"bg_only": n}, "shard_size": 10}})
    ok = validate_config({"dataset": {"parts": {"bg_only": n}, "shard_size": 20}})
    assert ok["dataset"]["parts"]["bg_only"] == n


def test_every_bounded_key_keeps_a_description():
    def walk(node, path):
        if isinstance(node, dict):
            if "maximum" in node and path.count(".") > 0:
                assert node.get("description"), path
            for k, v in node.items():
                walk(v, f"{path}.{k}")

    walk(load_schema()["properties"], "")


@pytest.mark.timeout(10)
def test_cli_generate_refuses_a_huge_part_before_work(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset:\n  image_size: 32\n  parts:\n    fg_bg: 1.0e+20\n")  # YAML 1.1 needs the dot
    assert yaml.safe_load(cfg.read_text())["dataset"]["parts"]["fg_bg"] == 1e20
    argv = ["generate", "--config", str(cfg), "--catalogue", str(tmp_path / "cat"), "--part", "1", "--shard", "0", "--root", str(tmp_path / "ds")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dataset.parts.fg_bg:" in err, err
    assert not (tmp_path / "ds").exists()
    cfg.write_text("dataset:\n  parts:\n    fg_bg: 100000000000000000000\n")
    with pytest.raises(ConfigError, match=r"dataset.parts.fg_bg: 100000000000000000000 is greater than the maximum"):
        load_config(cfg)

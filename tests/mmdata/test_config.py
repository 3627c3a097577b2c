"""Configuration loading: defaults, validation errors naming the key, CLI error plumbing."""

from __future__ import annotations

import pytest
import yaml

from mmdata.config import config_hash, load_config, validate_config
from mmdata.errors import ConfigError
from mmdata.scene import part_name, part_number


def test_defaults_are_the_paper_values():
    cfg = load_config()
    ds = cfg["dataset"]
    assert ds["image_size"] == 384
    assert ds["alpha"]["max"] == 100
    assert ds["motion"]["max"] == 10 and ds["motion"]["max_magnified"] == 30
    assert (ds["objects"]["count_min"], ds["objects"]["count_max"]) == (7, 15)
    assert ds["objects"]["scale_max"] == 2
    assert ds["noise"]["photon_std_max"] == 3
    assert all(ds["parts"][p] == 20000 for p in ("fg_bg", "bg_only", "blur_bg", "static", "fg_only"))


def test_partial_file_is_completed(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"image_size": 64, "parts": {"fg_bg": 3}}}))
    cfg = load_config(path)
    assert cfg["dataset"]["image_size"] == 64
    assert cfg["dataset"]["parts"]["fg_bg"] == 3
    assert cfg["dataset"]["parts"]["static"] == 20000


@pytest.mark.parametrize(
    "override, key",
    [
        ({"dataset": {"alpha": {"max": 0}}}, "dataset.alpha.max"),
        ({"dataset": {"alpha": {"max": -5}}}, "dataset.alpha.max"),
        ({"dataset": {"motion": {"max": -1}}}, "dataset.motion.max"),
        ({"dataset": {"motion": {"min": -0.5}}}, "dataset.motion.min"),
        ({"dataset": {"image_size": "big"}}, "dataset.image_size"),
        ({"dataset": {"parts": {"fg_bgg": 3}}}, "dataset.parts.fg_bgg"),
        ({"dataset": {"objects": {"scale_max": 3}}}, "dataset.objects.scale_max"),
        ({"seed": 1.5}, "seed"),
        ({"dataset": {"motion": {"min": 5, "max": 2}}}, "dataset.motion.min"),
    ],
)
def test_bad_values_name_the_key(override, key):
    with pytest.raises(ConfigError) as info:
        validate_config(override)
    assert str(info.value).startswith(key + ":"), str(info.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_config_hash_is_order_independent():
    a = validate_config({"seed": 3, "dataset": {"image_size": 32}})
    b = validate_config({"dataset": {"image_size": 32}, "seed": 3})
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(validate_config({"seed": 4, "dataset": {"image_size": 32}}))


def test_part_names_and_numbers():
    assert part_number("blur_bg") == 3 and part_number(5) == 5 and part_number("2") == 2
    assert part_name(4) == "static"
    for bad in ("part7", 0, 6, True):
        with pytest.raises(ConfigError, match="unknown part"):
            part_number(bad)


@pytest.mark.parametrize(
    "text, key",
    [
        ("dataset:\n  alpha:\n    max: .nan\n", "dataset.alpha.max: nan is not a finite number"),
        ("dataset:\n  motion:\n    max: .inf\n", "dataset.motion.max: inf is not a finite number"),
        ("dataset:\n  image_size: 100000000\n", "dataset.image_size: 100000000 is greater than the maximum of 4096"),
    ],
)
def test_nan_and_absurd_values_are_one_line_naming_the_key(tmp_path, capsys, text, key):
    from mmdata.cli import main

    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    out = tmp_path / "preview"
    assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(tmp_path / "none"), "--part", "1", "--shard", "0", "--root", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and key in err
    assert not out.exists()


def test_a_resolved_config_is_validated_once(monkeypatch) -> None:
    import mmdata.config

    from mmdata.config import ResolvedConfig, load_config, validate_config
    from mmdata.spec import DatasetSpec

    cfg = load_config(overrides={"dataset": {"image_size": 96}})
    assert isinstance(cfg, ResolvedConfig)

    def refuse(*args, **kwargs):
        raise AssertionError("validated a second time")

    monkeypatch.setattr(mmdata.config, "_validator_class", lambda: refuse)  # the schema validator class
    assert validate_config(cfg) is cfg
    assert DatasetSpec.from_config(cfg).image_size == 96
    with pytest.raises(AssertionError, match="second time"):
        validate_config(dict(cfg))  # a plain (possibly edited) copy is validated again


def test_cross_field_relations_are_checked_where_the_config_is_loaded() -> None:
    from mmdata.config import validate_config

    with pytest.raises(ConfigError, match=r"^dataset.blur.sigma_min: 3.0 exceeds dataset.blur.sigma_max"):
        validate_config({"dataset": {"blur": {"sigma_min": 3.0, "sigma_max": 1.0}}})
    with pytest.raises(ConfigError, match=r"^dataset.motion.max_magnified"):
        validate_config({"dataset": {"alpha": {"min": 50, "max": 100}, "motion": {"min": 1.0, "max_magnified": 10}}})

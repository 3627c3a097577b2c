"""The shipped configurations: both validate, and the paper's fully overrides the demo's.

Snakemake reads ``config/config.yaml`` (the Snakefile's ``configfile:``) and then every
``--configfile`` over it, merging nested keys; so ``config/paper.yaml`` must set every key the demo
sets, or demo values (a small decoder, a few training steps...) would leak into a paper-scale run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from snakemake.utils import update_config

from mmdata.config import validate_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def _read(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / name).read_text(encoding="utf-8"))


def _without_unused_sizes(config: dict[str, Any]) -> dict[str, Any]:
    """The config less the evaluation sizes it does not select (extra entries are inert)."""
    sizes = config["evaluate"]["sizes"]
    evaluate = {**config["evaluate"], "sizes": {config["evaluate"]["size"]: sizes[config["evaluate"]["size"]]}}
    return {**config, "evaluate": evaluate}


def test_demo_config_is_small_and_valid() -> None:
    demo = validate_config(_read("config.yaml"))
    assert demo["sources"]["kind"] == "builtin"
    assert demo["dataset"]["image_size"] <= 128
    assert sum(demo["dataset"]["parts"].values()) <= 200


def test_paper_config_over_the_demo_equals_the_paper_config_alone() -> None:
    paper = validate_config(_read("paper.yaml"))
    merged = _read("config.yaml")
    update_config(merged, _read("paper.yaml"))  # what Snakemake does with --configfile
    merged = validate_config(merged)
    assert _without_unused_sizes(merged) == _without_unused_sizes(paper)
    assert paper["dataset"]["parts"] == dict.fromkeys(paper["dataset"]["parts"], 20000)
    assert paper["dataset"]["image_size"] == 384
    assert paper["sources"]["kind"] == "coco_voc"


@pytest.mark.parametrize("name", ["reference.yaml", "reference-cpu.yaml"])
def test_reference_configs_over_the_demo_equal_themselves_alone(name: str) -> None:
    alone = validate_config(_read(name))
    merged = _read("config.yaml")
    update_config(merged, _read(name))
    assert _without_unused_sizes(validate_config(merged)) == _without_unused_sizes(alone)
    assert alone["train"]["preset"] == "paper" and alone["train"]["batch_size"] is None  # the paper's batch
    assert alone["train"]["lr"] is None and alone["dataset"]["alpha"]["max"] == 100.0
    assert sum(alone["dataset"]["parts"].values()) >= 10000  # not memorised by a CPU-sized run either


def test_the_384_px_evaluation_config_has_the_oh2018_levels_at_three_scenes() -> None:
    config = validate_config(_read("evaluate-384.yaml"))
    size, oh2018 = config["evaluate"]["sizes"][config["evaluate"]["size"]], config["evaluate"]["protocols"]["oh2018"]
    assert size["image_size"] == config["dataset"]["image_size"] == oh2018["image_size"] == 384 and size["samples"] == 3
    for key in ("subpixel_motions", "noise_factors", "magnification_alphas", "input_motions"):
        assert size[key] == oh2018[key], key
    assert config["evaluate"]["tests"] == oh2018["tests"]

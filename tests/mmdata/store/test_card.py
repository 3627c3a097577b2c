"""The dataset card names the generator options the dataset was rendered with, with their ranges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from store_helpers import builtin_catalogue_dir, small_config, write_config

from mmdata import open_dataset
from mmdata.cli import main
from mmdata.config import validate_config
from mmdata.store.card import generator_options

OPTIONS = {
    "total": 4,
    "mix": {"fg_bg": 0.5, "still_bg": 0.5},
    "parts": None,
    "custom_parts": {"still_bg": {"number": 6, "recipe": "fg_bg", "background_moves": False, "count_max": 2}},
    "motion": {"affine": {"rotation_deg": 1.5, "scale": 0.02, "shear": 0.01}},
    "linear_light": True,
    "photometric": {"gain_flicker": 0.1, "read_noise_std": {"min": 0.5, "max": 2.0}},
    "axial": {"enabled": True, "theta_deg": {"min": 0.0, "max": 90.0}, "ratio": {"min": 0.25, "max": 0.75}},
}

EXPECTED = {
    "dataset.mix": "4 samples split by ratio: fg_bg 0.5, still_bg 0.5",
    "dataset.custom_parts.still_bg": "part 6, recipe fg_bg with background_moves false, objects 1-2",
    "dataset.motion.affine": "rotation in [-1.5, 1.5] deg, scale change in [-0.02, 0.02], shear in [-0.01, 0.01] per moving layer",
    "dataset.linear_light": "composited, blurred and decimated in linear light (sRGB decoded, re-encoded)",
    "dataset.photometric.gain_flicker": "gain of input frame B in [0.9, 1.1]",
    "dataset.photometric.read_noise_std": "Gaussian read-noise std in [0.5, 2] (0-255)",
    "dataset.axial": "axial targets: theta in [0, 90] deg, alpha_x = alpha, alpha_y = r * alpha with r in [0.25, 0.75]",
}


def test_generator_options_names_each_active_option_with_its_ranges():
    dataset = validate_config(small_config(dataset=OPTIONS))["dataset"]
    assert generator_options(dataset) == EXPECTED
    assert generator_options(validate_config({})["dataset"]) == {}  # the paper's generator
    assert generator_options(None) == {}  # an imported dataset records no config


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    catalogue = builtin_catalogue_dir(tmp_path_factory)
    base = tmp_path_factory.mktemp("card")
    cfg = write_config(base / "c.yaml", small_config(dataset={**OPTIONS, "shard_size": 2}))
    out = base / "ds"
    for part in ("1", "still_bg"):
        assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", part, "--shard", "0", "--root", str(out)]) == 0
    assert main(["-q", "index", "--root", str(out)]) == 0
    return out


def test_the_card_of_an_optioned_dataset_lists_its_options_and_axial_statistics(root):
    card = json.loads((root / "card" / "card.json").read_text())
    assert card["generator_options"] == EXPECTED
    md = (root / "card" / "card.md").read_text()
    for key, text in EXPECTED.items():
        assert f"- `{key}`: {text}" in md
    fields = open_dataset(root, parts=[1]).fields
    alpha_y, theta = fields["alpha_y"].compute(), fields["theta"].compute()
    part = card["parts"]["1"]
    assert part["alpha_y"]["mean"] == pytest.approx(alpha_y.mean()) and part["theta_deg"]["max"] == pytest.approx(np.degrees(theta).max())
    motion, alpha = fields["motion"].compute(), fields["alpha"].compute()
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    along, across = motion[..., 0] * c + motion[..., 1] * s, -motion[..., 0] * s + motion[..., 1] * c
    magnified = np.hypot(alpha[:, None] * along, alpha_y[:, None] * across)
    assert part["magnified_motion"]["max"] == pytest.approx(float(np.nanmax(magnified)), rel=1e-6)
    assert "| part | alpha_y mean (min-max) | theta deg mean (min-max) |" in md


def test_the_card_of_a_default_dataset_says_so(tmp_path_factory):
    catalogue = builtin_catalogue_dir(tmp_path_factory)
    base = tmp_path_factory.mktemp("card-default")
    cfg = write_config(base / "c.yaml", small_config(dataset={"shard_size": 2, "parts": {"fg_bg": 2, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0}}))
    out = base / "ds"
    assert main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--part", "1", "--shard", "0", "--root", str(out)]) == 0
    assert main(["-q", "index", "--root", str(out)]) == 0
    card = json.loads((out / "card" / "card.json").read_text())
    assert card["generator_options"] == {} and "alpha_y" not in card["parts"]["1"]
    assert "None: the paper's generator (every option off)." in (out / "card" / "card.md").read_text()

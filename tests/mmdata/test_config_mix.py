"""dataset.total + dataset.mix: part counts by ratio of a total, resolved in the config layer."""

from __future__ import annotations

import pytest
import yaml

from mmdata.config import config_hash, load_config, mix_counts, validate_config
from mmdata.errors import ConfigError
from mmdata.scene import PART_NAMES
from mmdata.spec import DatasetSpec

def test_default_configs_resolve_exactly_as_before() -> None:
    """Without total/mix the part counts are the given ones (or the schema's 20000 each), untouched."""
    cfg = validate_config({})
    assert "total" not in cfg["dataset"] and "mix" not in cfg["dataset"]
    assert cfg["dataset"]["parts"] == dict.fromkeys(PART_NAMES, 20000)
    shipped = load_config("config/config.yaml")
    assert "total" not in shipped["dataset"] and "mix" not in shipped["dataset"]
    with open("config/config.yaml", encoding="utf-8") as fh:
        assert shipped["dataset"]["parts"] == yaml.safe_load(fh)["dataset"]["parts"]
    assert config_hash(shipped) == config_hash(load_config("config/config.yaml"))


def test_thirds_of_ten_go_four_three_three_lowest_part_number_first() -> None:
    third = 1 / 3
    counts = mix_counts(10, {"blur_bg": third, "fg_bg": third, "bg_only": third})
    assert counts == {"fg_bg": 4, "bg_only": 3, "blur_bg": 3, "static": 0, "fg_only": 0}


@pytest.mark.parametrize("total", [0, 1, 7, 10, 99, 1001, 100000, 123457])
@pytest.mark.parametrize(
    "mix",
    [
        {"fg_bg": 0.2, "bg_only": 0.3, "blur_bg": 0.1, "static": 0.15, "fg_only": 0.25},
        {"fg_bg": 1 / 3, "bg_only": 1 / 3, "fg_only": 1 / 3},
        {"static": 1.0},
        {"fg_bg": 0.1, "bg_only": 0.1, "blur_bg": 0.1, "static": 0.1, "fg_only": 0.6},
    ],
)
def test_counts_sum_to_the_total_exactly_and_stay_within_one_of_the_quota(total, mix) -> None:
    counts = mix_counts(total, mix)
    assert sum(counts.values()) == total
    for name in PART_NAMES:
        assert abs(counts[name] - total * mix.get(name, 0.0)) < 1.0


def test_largest_remainder_wins_the_leftover_samples() -> None:
    # quotas 1.6, 1.3, 2.1 of 5: floors 1, 1, 2; the one left goes to the largest remainder (fg_bg, 0.6)
    counts = mix_counts(5, {"fg_bg": 0.32, "bg_only": 0.26, "blur_bg": 0.42})
    assert counts == {"fg_bg": 2, "bg_only": 1, "blur_bg": 2, "static": 0, "fg_only": 0}


def test_a_config_file_with_a_mix_feeds_the_spec_and_records_the_mix(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    mix = {"fg_bg": 0.5, "bg_only": 0.25, "static": 0.25}
    path.write_text(yaml.safe_dump({"dataset": {"image_size": 32, "total": 9, "mix": mix}}))
    cfg = load_config(path)
    assert cfg["dataset"]["parts"] == {"fg_bg": 5, "bg_only": 2, "blur_bg": 0, "static": 2, "fg_only": 0}
    assert cfg["dataset"]["total"] == 9 and cfg["dataset"]["mix"] == mix
    assert DatasetSpec.from_config(cfg).parts == cfg["dataset"]["parts"]
    # a resolved config read back (a store's recorded config, a workflow config view) validates again
    again = validate_config(yaml.safe_load(yaml.safe_dump(dict(cfg))))
    assert again == cfg


@pytest.mark.parametrize(
    "dataset, key",
    [
        ({"total": 10, "mix": {"fg_bg": 1.0}, "parts": {"fg_bg": 3}}, "dataset.parts"),
        ({"total": 10, "mix": {"fg_bgg": 1.0}}, "dataset.mix.fg_bgg"),
        ({"total": 10, "mix": {"fg_bg": 1.5, "static": -0.5}}, "dataset.mix.static"),
        ({"total": -1, "mix": {"fg_bg": 1.0}}, "dataset.total"),
        ({"total": 2.5, "mix": {"fg_bg": 1.0}}, "dataset.total"),
        ({"total": 10, "mix": {"fg_bg": 0.5, "static": 0.4}}, "dataset.mix"),
        ({"total": 10}, "dataset.mix"),
        ({"mix": {"fg_bg": 1.0}}, "dataset.total"),
        ({"total": 10, "mix": {"fg_bg": "half", "static": 0.5}}, "dataset.mix.fg_bg"),
    ],
)
def test_bad_mixes_are_one_error_naming_the_key(dataset, key) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"dataset": dataset})
    assert str(err.value).startswith(f"{key}:"), str(err.value)


def test_ratios_within_the_tolerance_of_one_are_accepted() -> None:
    counts = validate_config({"dataset": {"total": 6, "mix": {"fg_bg": 0.3333333333, "bg_only": 0.3333333333, "static": 0.3333333333}}})
    assert counts["dataset"]["parts"] == {"fg_bg": 2, "bg_only": 2, "blur_bg": 0, "static": 2, "fg_only": 0}


def test_the_config_layer_knows_the_parts_in_part_number_order() -> None:
    from mmdata.config import _PART_ORDER

    assert _PART_ORDER == PART_NAMES


def test_parts_null_drops_inherited_counts_so_a_workflow_configfile_can_give_a_mix(tmp_path) -> None:
    # Snakemake merges --configfile files over config/config.yaml (which sets dataset.parts) key by key
    shipped = yaml.safe_load(open("config/config.yaml"))
    mine = {"dataset": {"parts": None, "total": 20, "mix": {"fg_bg": 0.5, "fg_only": 0.5}}}
    merged = {**shipped, "dataset": {**shipped["dataset"], **mine["dataset"]}}
    cfg = validate_config(merged)
    assert cfg["dataset"]["parts"] == {"fg_bg": 10, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 10}
    with pytest.raises(ConfigError, match=r"^dataset\.parts: give either"):
        validate_config({**shipped, "dataset": {**shipped["dataset"], "total": 20, "mix": {"fg_bg": 1.0}}})


def test_a_mix_is_layout_not_pixels_so_growing_the_total_keeps_the_render_config() -> None:
    from mmdata.store.provenance import render_config_hash

    by_parts = validate_config({"dataset": {"parts": {"fg_bg": 5, "bg_only": 5, "blur_bg": 0, "static": 0, "fg_only": 0}}})
    by_mix = validate_config({"dataset": {"total": 10, "mix": {"fg_bg": 0.5, "bg_only": 0.5}}})
    grown = validate_config({"dataset": {"total": 40, "mix": {"fg_bg": 0.25, "bg_only": 0.75}}})
    assert render_config_hash(by_parts) == render_config_hash(by_mix) == render_config_hash(grown)
    assert render_config_hash(by_parts) != render_config_hash(validate_config({"dataset": {"linear_light": True}}))


#: render_config_hash recorded by every shard of the reference dataset (config/reference-cpu.yaml),
#: rendered before the generator options (linear light, photometric, affine, axial, custom parts) existed.
REFERENCE_RENDER_CONFIG_HASH = "6fe41cd75609bdf2bae725cfc9a73f1aa45e369c239dbc6a4f92801279fee75f"


def test_generator_options_that_are_off_leave_the_render_config_as_before_they_existed() -> None:
    from mmdata.store.provenance import render_config_hash

    reference = load_config("config/reference-cpu.yaml")
    assert render_config_hash(reference) == REFERENCE_RENDER_CONFIG_HASH
    on = {
        "linear_light": True,
        "axial": {"enabled": True},
        "photometric": {"gain_flicker": 0.05},
        "motion": {**reference["dataset"]["motion"], "affine": {"rotation_deg": 1.0, "scale": 0.0, "shear": 0.0}},
        "custom_parts": {"busy": {"recipe": "fg_bg", "number": 6}},
    }
    for key, value in on.items():
        switched = validate_config({**reference, "dataset": {**reference["dataset"], key: value}})
        assert render_config_hash(switched) != REFERENCE_RENDER_CONFIG_HASH, key

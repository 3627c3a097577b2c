"""dataset.custom_parts: parts of your own, a built-in recipe with overrides, numbered from 6."""

from __future__ import annotations

import pytest

from mmdata.config import validate_config
from mmdata.errors import ConfigError
from mmdata.scene import RECIPES, part_name, part_number
from mmdata.render.sampling import sample_params
from mmdata.spec import DatasetSpec

CUSTOM = {
    "still_bg": {"number": 6, "recipe": "fg_bg", "background_moves": False, "count_min": 1, "count_max": 2},
    "moving_static": {"number": 7, "recipe": "static", "background_moves": True},
    "sharp_fg": {"number": 9, "recipe": "fg_only", "blur": False},
}


def _spec(custom=CUSTOM, **dataset) -> DatasetSpec:
    parts = {"still_bg": 4, "moving_static": 4, "sharp_fg": 2}
    return DatasetSpec.from_config({"seed": 7, "dataset": {"image_size": 32, "custom_parts": custom, "parts": parts, **dataset}})


def test_custom_parts_are_numbered_named_and_sized_from_the_config():
    spec = _spec()
    assert spec.part_numbers == (1, 2, 3, 4, 5, 6, 7, 9)
    assert [spec.part_name(n) for n in (6, 7, 9)] == ["still_bg", "moving_static", "sharp_fg"]
    assert spec.part_number("sharp_fg") == 9 and spec.part_number("9") == 9 and spec.part_number("fg_only") == 5
    assert spec.parts["still_bg"] == 4 and spec.parts["fg_bg"] == 20000
    assert spec.recipe("still_bg") == RECIPES["fg_bg"].__class__(objects=True, background_moves=False, objects_move=True, blur=False, count=(1, 2))
    assert spec.recipe("blur_bg") == RECIPES["blur_bg"]
    with pytest.raises(ConfigError, match=r"unknown part 8"):
        spec.part_number(8)
    with pytest.raises(ConfigError, match=r"unknown part 'still_bg'"):
        part_number("still_bg")  # without the config, a custom name is unknown
    assert part_name(6, spec.custom_numbers) == "still_bg"


def test_defining_custom_parts_leaves_the_built_in_samples_alone(catalogue):
    plain = DatasetSpec.from_config({"seed": 7, "dataset": {"image_size": 32}})
    for part in (1, 2, 3, 4, 5):
        assert sample_params(_spec(), part, 0, catalogue) == sample_params(plain, part, 0, catalogue)


def test_each_override_changes_what_it_says_and_nothing_else(catalogue):
    spec = _spec()
    for i in range(6):
        still = sample_params(spec, "still_bg", i, catalogue)
        assert still.part == 6 and still.seed == (7, 6, i)
        assert still.background.motion == (0.0, 0.0) and still.background_blur == 0.0
        assert 1 <= len(still.objects) <= 2 and any(o.motion != (0.0, 0.0) for o in still.objects)
        moving = sample_params(spec, "moving_static", i, catalogue)
        assert moving.background.motion != (0.0, 0.0) and moving.objects == ()
        sharp = sample_params(spec, "sharp_fg", i, catalogue)
        assert sharp.background.motion == (0.0, 0.0) and sharp.background_blur == 0.0 and sharp.objects
    # a custom part with no overrides is its recipe's part under another seed
    same = _spec({"again": {"number": 6, "recipe": "blur_bg"}}, parts={"again": 1})
    a, b = sample_params(same, "again", 0, catalogue), sample_params(same, "blur_bg", 0, catalogue)
    assert a.background_blur > 0 and a.objects and a.seed == (7, 6, 0) and a != b


@pytest.mark.parametrize(
    "dataset, key",
    [
        ({"custom_parts": {"fg_bg": {"number": 6, "recipe": "fg_bg"}}}, "dataset.custom_parts"),
        ({"custom_parts": {"mine": {"number": 5, "recipe": "fg_bg"}}}, "dataset.custom_parts.mine.number"),
        ({"custom_parts": {"mine": {"recipe": "fg_bg"}}}, "dataset.custom_parts.mine.number"),
        ({"custom_parts": {"mine": {"number": 6, "recipe": "nope"}}}, "dataset.custom_parts.mine.recipe"),
        ({"custom_parts": {"mine": {"number": 6, "recipe": "fg_bg", "alpha": 3}}}, "dataset.custom_parts.mine.alpha"),
        ({"custom_parts": {"a": {"number": 6, "recipe": "fg_bg"}, "b": {"number": 6, "recipe": "static"}}}, "dataset.custom_parts.b.number"),
        ({"custom_parts": {"mine": {"number": 6, "recipe": "bg_only", "count_max": 3}}}, "dataset.custom_parts.mine.count_max"),
        ({"custom_parts": {"mine": {"number": 6, "recipe": "fg_bg", "count_min": 9, "count_max": 3}}}, "dataset.custom_parts.mine.count_min"),
        ({"custom_parts": {"mine": {"number": 6, "recipe": "fg_bg", "count_min": 20}}}, "dataset.custom_parts.mine.count_min"),
        ({"parts": {"mine": 3}}, "dataset.parts.mine"),
    ],
)
def test_bad_custom_parts_are_one_error_naming_the_key(dataset, key):
    with pytest.raises(ConfigError) as err:
        validate_config({"dataset": dataset})
    assert str(err.value).startswith(f"{key}:") or str(err.value).startswith(f"{key} "), str(err.value)


def test_workflow_parts_and_mix_know_the_custom_parts():
    custom = {"mine": {"number": 6, "recipe": "fg_bg", "background_moves": False}}
    cfg = validate_config({"dataset": {"custom_parts": custom, "total": 10, "mix": {"fg_bg": 0.5, "mine": 0.5}},
                           "workflow": {"parts": ["mine", 6, "static"]}})
    assert cfg["dataset"]["parts"]["mine"] == 5 and cfg["dataset"]["parts"]["fg_bg"] == 5
    with pytest.raises(ConfigError, match=r"^workflow\.parts\[0\]: unknown part 'theirs'"):
        validate_config({"dataset": {"custom_parts": custom}, "workflow": {"parts": ["theirs"]}})
    with pytest.raises(ConfigError, match=r"^workflow\.parts\[0\]: unknown part 7"):
        validate_config({"dataset": {"custom_parts": custom}, "workflow": {"parts": [7]}})
    with pytest.raises(ConfigError, match=r"^dataset\.mix\.theirs: unknown part"):
        validate_config({"dataset": {"custom_parts": custom, "total": 10, "mix": {"theirs": 1.0}}})
